"""The ``bdw`` command line (docs/contract.md section 3)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

from bdw import gc_tuning
from bdw.settings import REPO_ROOT, load_settings


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def cmd_sample(args: argparse.Namespace) -> int:
    from bdw.sample import write_sample

    counts = write_sample(Path(args.out), scale=args.scale, seed=args.seed, as_of=args.as_of)
    total = sum(counts.values())
    print(f"wrote the sample inbox to {args.out}: {total} rows in {len(counts)} sources")
    return 0


EXIT_LOCKED = 3  # another run holds the working folder


def cmd_run(args: argparse.Namespace) -> int:
    """Exit 0 when published (or nothing changed), 1 when not, 2 for a wrong argument or
    configuration, 3 when another run is in progress. Errors are one line on stderr; a traceback
    goes to a log file it names."""
    from bdw.ingest.readers import remembered_scans
    from bdw.run_lock import RunLocked, run_lock

    try:
        settings = load_settings(args.inbox, args.warehouse, args.workdir, args.profile)
    except (ValueError, OSError) as e:  # a bad config/bdw.yml, BDW_AS_OF, ...
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not settings.inbox.is_dir():
        print(f"error: inbox folder {settings.inbox} does not exist", file=sys.stderr)
        return 2
    try:
        with run_lock(settings), remembered_scans():  # the "nothing changed" scan serves the run's own
            if not args.full_refresh and (message := _nothing_changed(settings, args.as_of)):
                print(message)
                return 0
            from bdw.instance import InstanceError
            from bdw.pipeline import run_pipeline

            try:
                outcome = run_pipeline(settings, args.as_of, full_refresh=args.full_refresh)
            except InstanceError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
    except RunLocked as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_LOCKED
    except Exception as e:  # the user gets a sentence, the log the traceback
        log = _crash_log(settings.workdir)
        print(f"error: the run broke ({type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''})"
              f"; the warehouse is unchanged; details in {log}", file=sys.stderr)
        return 1
    print(outcome.summary)
    return 0 if outcome.published else 1


def _nothing_changed(settings, as_of: dt.date | None) -> str | None:
    """The run's message when it would publish what the last run published (bdw.run_state)."""
    from bdw.run_context import resolve_as_of
    from bdw.run_state import nothing_changed

    as_of = resolve_as_of(settings, as_of)
    last = nothing_changed(settings, as_of)
    if last is None:
        return None
    return (f"bdw run as of {as_of}: nothing changed since run {last.run_id[:8]} (no new, changed or removed file "
            f"in {settings.inbox}, the same as-of date, project and configuration).\n"
            f"Published {settings.warehouse} is left as it is.")


def _crash_log(workdir: Path) -> Path:
    """The current exception's traceback in ``<workdir>/logs/crash_<time>_<pid>.log``."""
    import traceback

    folder = workdir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"crash_{dt.datetime.now():%Y%m%dT%H%M%S}_{os.getpid()}.log"
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return path


def cmd_rollback(args: argparse.Namespace) -> int:
    from bdw.publish import rollback, rolled_back_path

    warehouse = Path(args.warehouse).resolve()
    try:
        rollback(warehouse)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"rolled back {warehouse} to its previous version (the replaced one is {rolled_back_path(warehouse)})")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from bdw.report import build_report

    warehouse = load_settings(warehouse=args.warehouse).warehouse
    if not warehouse.is_file():
        print(f"error: warehouse {warehouse} does not exist (run `bdw run` first, or pass --warehouse FILE)",
              file=sys.stderr)
        return 1
    result = build_report(warehouse, Path(args.out).resolve() if args.out else None)
    print(f"wrote {result.path}: {result.kpis} KPIs, {result.targets} targets, {result.charts} charts, "
          f"{result.warnings} open warnings (as of {result.as_of})")
    if result.cjk_font is None:
        print("warning: no CJK font installed; the charts' Chinese labels are left to the browser "
              "(apt-get install fonts-noto-cjk)", file=sys.stderr)
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from bdw.manual_template import write_manual_template

    out = Path(args.out)
    try:
        kpis = write_manual_template(out)
    except OSError as e:
        print(f"error: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"wrote {out}: the template for the KPIs measured by hand ({kpis} KPIs on its sheet KPIs). Fill in "
          "sheet Measurements and drop the file in the inbox folder manual_measurements/")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    data = Path(args.data)
    inbox = data / "inbox"
    cmd_sample(argparse.Namespace(out=inbox, scale=1, seed=42, as_of=dt.date(2026, 11, 26)))
    return cmd_run(argparse.Namespace(inbox=inbox, warehouse=data / "warehouse.duckdb", workdir=None,
                                      profile=None, as_of=None, full_refresh=False))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bdw", description="Business-development warehouse")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sample", help="write the sample company's inbox")
    s.add_argument("--out", required=True)
    s.add_argument("--scale", type=int, default=1)
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--as-of", type=_date, default=dt.date(2026, 11, 26))
    s.set_defaults(func=cmd_sample)

    r = sub.add_parser("run", help="ingest the inbox, build the models and checks, publish the warehouse")
    r.add_argument("--inbox", required=True)
    r.add_argument("--warehouse", required=True)
    r.add_argument("--as-of", type=_date, default=None,
                   help="'today' for periods in progress (default: the date of the newest file in the inbox)")
    r.add_argument("--profile", default=None, help="mapping profile for every source (config/profiles/NAME.yml)")
    r.add_argument("--workdir", default=None, help="private working folder (default: .bdw beside the warehouse)")
    r.add_argument("--full-refresh", action="store_true",
                   help="rebuild the incremental dbt models from the raw layer (after changing their SQL)")
    r.set_defaults(func=cmd_run)

    b = sub.add_parser("rollback", help="put the previously published warehouse back in place")
    b.add_argument("--warehouse", required=True)
    b.set_defaults(func=cmd_rollback)

    p_report = sub.add_parser("report", help="write the KPI report page (HTML) from the published warehouse")
    p_report.add_argument("--warehouse", default=None, help="the published warehouse (default: BDW_WAREHOUSE or "
                          "data/warehouse.duckdb)")
    p_report.add_argument("--out", default=None, help="the HTML file (default: <warehouse stem>_report.html beside it)")
    p_report.set_defaults(func=cmd_report)

    t = sub.add_parser("template", help="write a template to fill in by hand (manual-measurements: the KPIs "
                       "measured by hand)")
    t.add_argument("name", choices=["manual-measurements"])
    t.add_argument("--out", required=True, help="the .xlsx file to write")
    t.set_defaults(func=cmd_template)

    d = sub.add_parser("demo", help="write the sample inbox into data/ and run the pipeline on it")
    d.add_argument("--data", default=str(REPO_ROOT / "data"))
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    gc_tuning.tune()
    args = build_parser().parse_args(argv)
    return args.func(args)


def entry() -> NoReturn:
    """The ``bdw`` console script and ``python -m bdw.cli``: ``main``, then exit at once.

    A run leaves some 600,000 objects behind (Dagster's definitions, dbt's manifest, Great
    Expectations), and Python's own teardown frees them one by one: 1.8 s after the work is done.
    By then every file the command wrote is closed (DuckDB connections, the run log, the published
    warehouse) and no thread of ours runs, so the process leaves without the teardown, once the
    output and the log handlers are flushed. An exception still exits the normal way, with its
    traceback."""
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
