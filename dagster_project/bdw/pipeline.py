"""``bdw run``: the Dagster job executed in-process, the same code path as the schedule.

What the user reads is the summary: one line per problem, never a traceback. Dagster's and dbt's
output, stack traces of failed steps included, go to the run log (``<workdir>/logs/run_*.log``),
which the summary names."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from bdw import dbt_warm
from bdw.alerts.run_failure import AFTER_PUBLISH_STEPS, notify_run_failure, root_cause_line
from bdw.alerts.summary import alerts_summary
from bdw.catalog import relation_exists
from bdw.ingest.inbox import survey
from bdw.ingest.outcome import FileStatus
from bdw.ingest.readers import remembered_scans
from bdw.quality.summary import quality_summary
from bdw.run_context import resolve_as_of
from bdw.run_state import Seen, record_published, scan_before_run
from bdw.settings import Settings
from bdw.sql import lit


@dataclass
class RunOutcome:
    success: bool
    published: bool
    run_id: str
    as_of: dt.date
    warehouse: Path
    failures: list[str] = field(default_factory=list)
    log: Path | None = None
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase (phase_of)
    record: Path | None = None  # the machine-readable run record (JSON) beside the log
    instance: str = ""  # which Dagster instance holds the run (bdw.instance.RunInstance.describe)
    summary: str = ""


def run_pipeline(settings: Settings, as_of: dt.date | None = None, log_level: str = "ERROR",
                 full_refresh: bool = False) -> RunOutcome:
    """Execute the nightly job in this process, recorded in the persistent Dagster instance when
    ``DAGSTER_HOME`` is set (bdw.instance), and write the run's record and summary.

    Raises ``InstanceError`` when ``DAGSTER_HOME`` names no folder (before anything runs)."""
    run_id = str(uuid.uuid4())  # a Dagster run id, known before the run exists (bdw.instance.claim_run)
    # first: dbt imports and parses while this process starts and ingests
    warm = dbt_warm.start_for_run(settings, DBT_STEP, run_id)
    # the inbox as the run starts, scanned while Dagster loads (hashing releases the GIL); its files'
    # scans serve ingestion too, so each file's bytes are read once
    with remembered_scans(), ThreadPoolExecutor(1, thread_name_prefix="inbox-scan") as pool:
        inbox_scan = pool.submit(scan_before_run, settings)
        try:
            return _run(settings, run_id, as_of, log_level, full_refresh, inbox_scan)
        finally:
            dbt_warm.release(warm)


DBT_STEP = "bdw_dbt_models"  # the dbt step's key (bdw.assets.dbt)


def _run(settings: Settings, run_id: str, as_of: dt.date | None, log_level: str, full_refresh: bool,
         inbox_scan: Future[Seen]) -> RunOutcome:
    from bdw.assets.ingestion import WRITER_POOL
    from bdw.instance import claim_run, cli_run_tags, fail_abandoned_runs, open_instance, pool_holders

    as_of = as_of or resolve_as_of(settings)
    from bdw.definitions import NIGHTLY_JOB, build_definitions
    from bdw.resources import resources_for

    job = build_definitions().resolve_job_def(NIGHTLY_JOB)
    before = _mtime(settings.warehouse)
    log_dir = settings.workdir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"run_{dt.datetime.now():%Y%m%dT%H%M%S}_{os.getpid()}.log"
    with open_instance() as where, claim_run(where, run_id):
        for abandoned in fail_abandoned_runs(where):
            print(f"marked run {abandoned} failed: its bdw run process had ended without finishing it",
                  file=sys.stderr)
        for holder in pool_holders(where, WRITER_POOL):
            print(f"waiting for run {holder} to release the working database (pool {WRITER_POOL})", file=sys.stderr)
        inbox_state = inbox_scan.result()
        # dbt's own output (dagster-dbt echoes it to stdout) and Dagster's log lines with the stack
        # traces of failed steps (its console logger writes to stderr) go to the run log, not the terminal
        with log_path.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log), \
                contextlib.redirect_stderr(log):
            result = job.execute_in_process(
                instance=where.instance,
                run_id=run_id,
                tags=cli_run_tags(as_of.isoformat()),
                raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
                resources=resources_for(settings, as_of=as_of.isoformat(), full_refresh=full_refresh),
            )
        failures = [f"{ev.step_key}: {root_cause_line(ev)}" for ev in result.all_events if ev.is_step_failure]
        steps = step_windows(where.instance, run_id)
        times = run_times(where.instance, run_id)
        instance_line = where.describe()
    phases = phase_seconds(steps)
    # published once the warehouse step succeeded: a failing report page afterwards does not undo that
    published = not any(f.startswith("warehouse:") for f in failures) and _mtime(settings.warehouse) != before
    outcome = RunOutcome(result.success, published, run_id, as_of, settings.warehouse, failures,
                         log=log_path, phases=phases, instance=instance_line)
    if result.success:
        record_published(settings, run_id, as_of, inbox_state)
    else:
        # under the daemon the run-failure sensor sends this; a run of `bdw run` is not one of the
        # code location's runs (it has no remote origin), so the sensor leaves it to this call
        notify_run_failure(settings, run_id=run_id, failures=failures, as_of=as_of, log=log_path)
    with read_work_db(settings) as con:
        outcome.record = write_run_record(con, outcome, steps, times)
        outcome.summary = summarise(con, settings, outcome)
    return outcome


@contextlib.contextmanager
def read_work_db(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """The working database, read-only; None when there is none yet, or when a failed step's dbt
    process still holds it for a moment (the record and summary then go without its figures)."""
    con = None
    if settings.work_db.exists():
        with contextlib.suppress(duckdb.Error):
            con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        yield con
    finally:
        if con is not None:
            con.close()


def phase_of(step_key: str) -> str:
    if step_key.startswith("raw__"):
        return "ingest"
    if step_key == DBT_STEP:
        return "dbt"
    if step_key == "warehouse":
        return "publish"
    if step_key in AFTER_PUBLISH_STEPS:  # the pages written beside the published file, and the alerts
        return "report"
    return "validation"


@dataclass(frozen=True)
class StepWindow:
    step: str
    phase: str
    start: float  # wall clock, seconds since the epoch
    end: float


def step_windows(instance, run_id: str) -> list[StepWindow]:
    """Each finished step's start and end from the run's event log, in order of start."""
    from dagster import DagsterEventType

    started: dict[str, float] = {}
    windows: list[StepWindow] = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            started[event.step_key] = entry.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE) \
                and event.step_key in started:
            windows.append(StepWindow(event.step_key, phase_of(event.step_key), started.pop(event.step_key),
                                      entry.timestamp))
    return sorted(windows, key=lambda w: w.start)


def phase_seconds(steps: list[StepWindow]) -> dict[str, float]:
    """Wall time per phase: the sum of its steps' durations (the in-process executor runs one step at a time)."""
    totals: dict[str, float] = {}
    for w in steps:
        totals[w.phase] = totals.get(w.phase, 0.0) + w.end - w.start
    return {k: round(v, 1) for k, v in totals.items()}


@dataclass(frozen=True)
class RunTimes:
    """What Dagster recorded about the run as a whole."""

    status: str  # DagsterRunStatus: SUCCESS, FAILURE, ...
    start: float | None  # wall clock, seconds since the epoch: the run's start and end events
    end: float | None


def run_times(instance, run_id: str) -> RunTimes:
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        return RunTimes("UNKNOWN", None, None)
    return RunTimes(record.dagster_run.status.value, record.start_time, record.end_time)


def write_run_record(con: duckdb.DuckDBPyConnection | None, outcome: RunOutcome, steps: list[StepWindow],
                     times: RunTimes) -> Path | None:
    """``run_<...>.json`` beside the run log, for the benchmark harness (benchmarks/harness.py) and
    anyone timing runs: rows per source from the working database, and what Dagster recorded (the
    run's status, start and end, each step's window) copied from its event log, so that the harness
    reads one file whichever instance held the run."""
    if outcome.log is None:
        return None
    rows: dict[str, dict[str, int]] = {}
    if con is not None and relation_exists(con, "raw", "_load_manifest"):
        for source, files, read, loaded in con.execute(
                "SELECT source, count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0) "
                "FROM raw._load_manifest WHERE run_id = ? GROUP BY source ORDER BY source",
                [outcome.run_id]).fetchall():
            rows[source] = {"files": files, "rows_read": int(read), "rows_loaded": int(loaded)}
    seconds = round(times.end - times.start, 3) if times.start is not None and times.end is not None else None
    record = {
        "run_id": outcome.run_id, "as_of": outcome.as_of.isoformat(), "status": times.status,
        "success": outcome.success, "published": outcome.published, "started_at": times.start,
        "finished_at": times.end, "seconds": seconds, "phases": outcome.phases,
        "steps": [{"step": w.step, "phase": w.phase, "start": w.start, "end": w.end} for w in steps],
        "sources": rows,
    }
    path = outcome.log.with_suffix(".json")
    path.write_text(json.dumps(record, indent=1), encoding="utf-8")
    return path


def _mtime(path: Path) -> float | None:
    return path.stat().st_mtime_ns if path.exists() else None


def summarise(con: duckdb.DuckDBPyConnection | None, settings: Settings, outcome: RunOutcome) -> str:
    lines = [f"bdw run {outcome.run_id[:8]} as of {outcome.as_of}: inbox {settings.inbox}"]
    lines += inbox_summary(settings)
    if con is not None and relation_exists(con, "raw", "_load_manifest"):
        lines += _load_summary(con, outcome.run_id)
        lines += quality_summary(con, settings, outcome.run_id)
    lines += alerts_summary(settings, outcome.run_id)
    if outcome.failures:
        lines.append("FAILED steps:")
        lines += [f"  - {f}" for f in outcome.failures]
    if outcome.phases:
        lines.append("Time: " + ", ".join(f"{k} {v:.1f} s" for k, v in outcome.phases.items()))
    if outcome.log:
        lines.append(f"dbt and step logs: {outcome.log}")
    if outcome.instance:
        lines.append(outcome.instance)
    if outcome.published:
        lines.append(f"Published {outcome.warehouse}")
    else:
        lines.append(f"NOT published: {outcome.warehouse} is unchanged")
    return "\n".join(lines)


def _load_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    lines = ["Sources (files this run: loaded / with bad rows / quarantined / skipped; rows in raw):"]
    loaded, partial, quarantined, duplicate = (lit(s) for s in (  # as SQL literals
        FileStatus.LOADED, FileStatus.PARTIAL, FileStatus.QUARANTINED, FileStatus.DUPLICATE))
    rows = con.execute(f"""
        SELECT source,
               count(*) FILTER (WHERE run_id = $1 AND status = {loaded}),
               count(*) FILTER (WHERE run_id = $1 AND status = {partial}),
               count(*) FILTER (WHERE status = {quarantined}),
               count(*) FILTER (WHERE run_id = $1 AND status = {duplicate}),
               sum(rows_loaded) FILTER (WHERE run_id = $1), sum(rows_rejected) FILTER (WHERE status <> {duplicate})
        FROM raw._load_manifest GROUP BY source ORDER BY source""", [run_id]).fetchall()
    for source, n_loaded, n_partial, n_quarantined, n_duplicate, rows_loaded, rejected in rows:
        lines.append(f"  {source:<22} {n_loaded:>3} / {n_partial:>2} / {n_quarantined:>2} / {n_duplicate:>2}   "
                     f"+{rows_loaded or 0} rows, {rejected or 0} rejected rows in quarantine")
    files, rows = con.execute(
        f"SELECT count(*) FILTER (WHERE status = {quarantined}), "
        f"coalesce(sum(rows_rejected) FILTER (WHERE status = {partial}), 0) FROM raw._load_manifest").fetchone()
    if files or rows:
        lines.append(f"Input problems: {files} file(s) quarantined, {rows} row(s) rejected "
                     "(all listed in raw._load_issues; each file, then its first rows:)")
        lines += _issue_lines(con)
    if relation_exists(con, "dq", "reference_issues"):
        counts = con.execute("SELECT rule, count(*) FROM dq.reference_issues GROUP BY 1 ORDER BY 1").fetchall()
        if counts:
            lines.append("Reference problems (rows loaded, left out of the KPIs they affect; dq.reference_issues): "
                         + ", ".join(f"{n} {rule.replace('_', ' ')}" for rule, n in counts))
            # held-back contracts first: what a quarantined finance file keeps out of the published KPIs
            for (message,) in con.execute(
                    "SELECT message FROM dq.reference_issues ORDER BY rule <> 'held_back_by_quarantine', source, "
                    "source_file, source_row LIMIT ?", [REFERENCE_LINES]).fetchall():
                lines.append(f"  - {message}")
            if sum(n for _, n in counts) > REFERENCE_LINES:
                lines.append(f"  ... and {sum(n for _, n in counts) - REFERENCE_LINES} more (dq.reference_issues)")
    return lines


REFERENCE_LINES = 20
ISSUE_LINES = 60  # the summary's lines of input problems (raw._load_issues has every one)
ROWS_PER_FILE = 3  # of each file with problems, its first rows


def _issue_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every file with a problem (quarantined, or with rejected rows), then its first rows'
    problems: each bad file is named, however many there are, up to :data:`ISSUE_LINES` lines."""
    rows = con.execute(f"""
        SELECT file, row_number IS NULL AS whole_file, message, row_problems FROM (
            SELECT file, row_number, message,
                   row_number() OVER (PARTITION BY file, row_number IS NULL
                                      ORDER BY row_number, "column" NULLS FIRST) AS nth,
                   count(row_number) OVER (PARTITION BY file) AS row_problems
            FROM raw._load_issues)
        WHERE row_number IS NULL OR nth <= {ROWS_PER_FILE}
        ORDER BY file, row_number NULLS FIRST, nth""").fetchall()  # a row's own problem (a cut) before its columns
    by_file: dict[str, list[tuple[bool, str, int]]] = {}
    for file, whole_file, message, problem_rows in rows:
        by_file.setdefault(file, []).append((whole_file, message, problem_rows))
    lines: list[str] = []
    for n, (file, items) in enumerate(by_file.items()):
        if len(lines) >= ISSUE_LINES:
            lines.append(f"  ... and {len(by_file) - n} more file(s) with problems (raw._load_issues)")
            break
        quarantined = any(whole for whole, _, _ in items)
        for whole, message, _ in items:
            lines.append(f"  - {message}" if whole or not quarantined else f"      {message}")
        shown = sum(1 for whole, _, _ in items if not whole)
        if items[0][2] > shown:
            lines.append(f"      ... and {items[0][2] - shown} more problem(s) in rows of {file}")
    return lines


def inbox_summary(settings: Settings) -> list[str]:
    """What in the inbox was not read and why (links, paths outside it, misplaced files and folders)."""
    ignored = survey(settings.inbox).ignored
    if not ignored:
        return []
    return [f"Not read ({len(ignored)} entr{'y' if len(ignored) == 1 else 'ies'} of the inbox; nothing of them "
            "is loaded):"] + [f"  - {i.line()}" for i in ignored]
