"""The performance harness of the nightly run (run by hand, not in CI).

    uv run python benchmarks/harness.py --scales 1 10 100 [--incremental] [--out benchmarks/results/DATE.json]

For each scale: the sample company's inbox (cached under ``$BDW_BENCH_CACHE``, default
/tmp/bdw-bench, as ``scale-N-seed-S/inbox``, generated only when missing), then

- the full run: ``bdw run`` on a fresh working folder, as a subprocess under ``/usr/bin/time -v``
  (whole-run wall time and max RSS), while this process samples the RSS of the run's whole process
  tree (``bdw`` and its dbt subprocess) every 50 ms. The run writes a record beside its log
  (``<workdir>/logs/run_*.json``) with each step's start and end; samples are attributed to the
  phases (ingest, dbt, validation, publish, report: ``bdw.pipeline.phase_of``) by those windows,
  giving each phase's wall time and peak memory;
- with ``--incremental``, the incremental scenario instead of the plain full run: the files of the
  inbox's newest day (the newest date prefix of any file name) are held back, ``bdw run`` loads the
  rest (that run is reported as the full run), then they are put back and ``bdw run`` runs again on
  the same working folder and warehouse: the incremental run, reported as a ratio to the full run;
- the plain-DuckDB floor (``benchmarks/floor.py``) on the complete inbox, timed the same way; the
  pipeline's time is reported as a ratio to it.

The runs execute a snapshot of the project (code, dbt project, seeds, config) copied when the
harness starts, so that edits made meanwhile cannot change what is measured (``--live`` runs the
working tree itself); its dbt manifest is parsed before any clock starts.

Writes a JSON file (machine, date, load average, rows per source, every measurement) and prints a
markdown table with the targets of the performance issue: scale 100 / scale 10 at most 10 for the
run and every phase, peak memory at scale 100 under 6 GiB, pipeline / floor at most 1.5 at scale 100,
incremental / full at most 0.2 at scale 100.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata as md
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("BDW_BENCH_CACHE", "/tmp/bdw-bench"))
PHASES = ("ingest", "dbt", "validation", "publish", "report")  # pipeline.phase_of; unknown ones are added
GIB = 1 << 30
MIB = 1 << 20
TARGETS = {"scale_ratio": 10.0, "peak_gib": 6.0, "floor_ratio": 1.5, "incremental_ratio": 0.2}
_LEADING_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")


# ---- the machine -------------------------------------------------------------------------------
def machine() -> dict[str, object]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    versions = {}
    for dist in ("duckdb", "dbt-core", "dbt-duckdb", "dagster", "dagster-dbt", "great-expectations"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(psutil.virtual_memory().total / GIB, 1),
            "os": platform.platform(), "python": platform.python_version(), "versions": versions}


# ---- the code measured ---------------------------------------------------------------------------
TREE = ROOT  # the project tree the runs execute (a snapshot unless --live)


def snapshot() -> Path:
    """A copy of the project's code, dbt project, seeds and config: the runs measure one version
    even while the working tree is being edited (``bdw`` is imported from it via PYTHONPATH)."""
    target = CACHE / "trees" / f"{dt.datetime.now():%Y%m%dT%H%M%S}"
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__", "*.duckdb", "*.wal")
    for part in ("dagster_project", "dbt", "seeds", "config", "benchmarks"):
        shutil.copytree(ROOT / part, target / part, ignore=ignore)
    return target


def tree_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(TREE / "dagster_project")}


def git_state() -> dict[str, object]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "changed_files": len(git("status", "--porcelain").splitlines())}


# ---- the inbox ---------------------------------------------------------------------------------
def cached_inbox(scale: int, seed: int) -> Path:
    """The sample inbox of this scale and seed, generated once (into a temporary folder, then renamed)."""
    folder = CACHE / f"scale-{scale}-seed-{seed}"
    inbox = folder / "inbox"
    if not inbox.is_dir():
        partial = folder / "inbox.partial"
        shutil.rmtree(partial, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"generating the scale-{scale} sample into {inbox} ...", flush=True)
        subprocess.run([sys.executable, "-m", "bdw.cli", "sample", "--out", str(partial), "--scale", str(scale),
                        "--seed", str(seed)], check=True, cwd=ROOT)
        partial.rename(inbox)
    return inbox


def data_files(inbox: Path) -> list[Path]:
    return sorted(p for p in inbox.glob("*/*") if p.is_file() and not p.name.startswith(("_", ".")))


def newest_day(inbox: Path) -> str:
    return max(m[1] for p in data_files(inbox) if (m := _LEADING_DATE.match(p.name)))


def link_inbox(inbox: Path, target: Path, skip_day: str | None = None) -> list[Path]:
    """Hard-link the inbox's files into ``target`` (folder layout kept), leaving out the files whose
    name starts with ``skip_day``; returns the files left out."""
    held: list[Path] = []
    for p in inbox.rglob("*"):
        if not p.is_file():
            continue
        if skip_day and p.name.startswith(skip_day):
            held.append(p)
            continue
        dest = target / p.relative_to(inbox)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            os.link(p, dest)
    return held


# ---- one measured process ----------------------------------------------------------------------
@dataclass
class Measured:
    returncode: int
    wall_seconds: float  # from /usr/bin/time -v
    max_rss_mib: float  # /usr/bin/time -v: the largest single process of the tree
    tree_peak_mib: float  # sampled: the whole tree's RSS at its largest
    started_at: float
    samples: list[tuple[float, int]] = field(repr=False, default_factory=list)  # (epoch seconds, tree RSS bytes)
    stdout: str = ""


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def _time_v(stderr: str) -> tuple[float, float]:
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    seconds = 0.0
    if wall:
        for part in wall[1].split(":"):
            seconds = seconds * 60 + float(part)
    return seconds, (int(rss[1]) / 1024 if rss else 0.0)


def measure(cmd: list[str], log: Path, interval: float = 0.05) -> Measured:
    """Run ``cmd`` under ``/usr/bin/time -v``, sampling its process tree's RSS every ``interval`` s."""
    log.parent.mkdir(parents=True, exist_ok=True)
    time_out = log.with_suffix(".time")
    started = time.time()
    with log.open("w") as out:
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", str(time_out), *cmd], stdout=out,
                                stderr=subprocess.STDOUT, cwd=TREE, env=tree_env())
        samples: list[tuple[float, int]] = []
        root = psutil.Process(proc.pid)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append((time.time(), _tree_rss(root)))
                stop.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        stop.set()
        sampler.join()
    wall, max_rss = _time_v(time_out.read_text() if time_out.exists() else "")
    return Measured(code, wall, max_rss, max((s for _, s in samples), default=0) / MIB, started, samples,
                    log.read_text(errors="replace"))


# ---- a pipeline run ----------------------------------------------------------------------------
def run_record(workdir: Path, after: float) -> dict:
    records = sorted((p for p in (workdir / "logs").glob("run_*.json") if p.stat().st_mtime >= after),
                     key=lambda p: p.stat().st_mtime)
    if not records:
        raise RuntimeError(f"no run record in {workdir / 'logs'}: does bdw.pipeline write run_*.json?")
    return json.loads(records[-1].read_text())


def pipeline_run(inbox: Path, folder: Path, label: str) -> dict:
    warehouse, workdir = folder / "warehouse.duckdb", folder / "work"
    m = measure([sys.executable, "-m", "bdw.cli", "run", "--inbox", str(inbox), "--warehouse", str(warehouse),
                 "--workdir", str(workdir)], folder / f"{label}.log")
    try:
        record = run_record(workdir, m.started_at)
    except RuntimeError as e:
        return {"returncode": m.returncode, "published": False, "wall_seconds": round(m.wall_seconds, 2),
                "tree_peak_mib": round(m.tree_peak_mib), "error": str(e), "output": m.stdout[-3000:],
                "phases": {}, "sources": {}, "startup_seconds": 0.0}
    phases: dict[str, dict[str, float]] = {}
    for phase in [*PHASES, *sorted({s["phase"] for s in record["steps"]} - set(PHASES))]:
        windows = [(s["start"], s["end"]) for s in record["steps"] if s["phase"] == phase]
        peak = max((rss for t, rss in m.samples if any(a <= t <= b for a, b in windows)), default=0)
        phases[phase] = {"seconds": round(sum(b - a for a, b in windows), 2), "peak_mib": round(peak / MIB),
                         "steps": len(windows)}
    first_step = min((s["start"] for s in record["steps"]), default=record["started_at"])
    last_step = max((s["end"] for s in record["steps"]), default=record["finished_at"])
    return {
        "returncode": m.returncode, "published": record["published"], "as_of": record["as_of"],
        "wall_seconds": round(m.wall_seconds, 2), "max_rss_mib": round(m.max_rss_mib),
        "tree_peak_mib": round(m.tree_peak_mib),
        "startup_seconds": round(first_step - m.started_at, 2),  # process start to the first step
        "steps_seconds": round(last_step - first_step, 2),
        "after_steps_seconds": round(m.started_at + m.wall_seconds - last_step, 2),  # summary, exit
        "phases": phases, "sources": record["sources"], "log": str(folder / f"{label}.log"),
        "steps": {s["step"]: round(s["end"] - s["start"], 2) for s in record["steps"]},
    }


def floor_run(inbox: Path, folder: Path, compare: Path | None) -> dict:
    cmd = [sys.executable, str(TREE / "benchmarks" / "floor.py"), "--inbox", str(inbox), "--dir", str(folder)]
    if compare:
        cmd += ["--compare", str(compare)]
    # dbt compile is preparation, not the floor's work: done (and cached) before the measured process
    subprocess.run([*cmd, "--compile-only"], check=True, cwd=TREE, env=tree_env(), stdout=subprocess.DEVNULL)
    m = measure(cmd, folder / "floor.log")
    lines = [line for line in m.stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"error": m.stdout[-2000:]}
    # "seconds" (floor.py's own clock: connect to checkpoint) is the floor; wall_seconds adds the
    # interpreter, imports and reading the compiled manifest
    return {"returncode": m.returncode, "wall_seconds": round(m.wall_seconds, 2),
            "tree_peak_mib": round(m.tree_peak_mib), **result}


def bench_scale(scale: int, seed: int, incremental: bool, keep: bool) -> dict:
    inbox = cached_inbox(scale, seed)
    files = data_files(inbox)
    out: dict[str, object] = {"scale": scale, "seed": seed, "files": len(files),
                              "inbox_mib": round(sum(p.stat().st_size for p in files) / MIB, 1),
                              "load_before": [round(x, 2) for x in os.getloadavg()]}
    folder = CACHE / "runs" / f"scale-{scale}-{dt.datetime.now():%Y%m%dT%H%M%S}"
    if incremental:
        day = newest_day(inbox)
        run_inbox = folder / "inbox"
        held = link_inbox(inbox, run_inbox, skip_day=day)
        print(f"scale {scale}: full run without the {len(held)} files of {day} ...", flush=True)
        out["full"] = pipeline_run(run_inbox, folder, "full")
        out["full"]["held_back"] = {"day": day, "files": len(held),
                                    "mib": round(sum(p.stat().st_size for p in held) / MIB, 1)}
        link_inbox(inbox, run_inbox)
        print(f"scale {scale}: incremental run with them ...", flush=True)
        out["incremental"] = pipeline_run(run_inbox, folder, "incremental")
    else:
        print(f"scale {scale}: full run ...", flush=True)
        out["full"] = pipeline_run(inbox, folder, "full")
    published = folder / "warehouse.duckdb"
    print(f"scale {scale}: plain-DuckDB floor ...", flush=True)
    # the floor is compared with the last run's warehouse, which was built from the complete inbox
    out["floor"] = floor_run(inbox, folder / "floor", published if published.exists() else None)
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return out


# ---- report ------------------------------------------------------------------------------------
def ratios(results: list[dict]) -> dict[str, object]:
    by_scale = {r["scale"]: r for r in results}
    out: dict[str, object] = {}
    if 10 in by_scale and 100 in by_scale:
        a, b = by_scale[10]["full"], by_scale[100]["full"]
        out["scale_100_vs_10"] = {"run": round(b["wall_seconds"] / a["wall_seconds"], 2)} | {
            p: round(b["phases"][p]["seconds"] / a["phases"][p]["seconds"], 2)
            for p in PHASES if a["phases"].get(p, {}).get("seconds") and p in b["phases"]}
    for r in results:
        s = r["scale"]
        if r["floor"].get("seconds"):
            out.setdefault("pipeline_vs_floor", {})[s] = round(r["full"]["wall_seconds"] / r["floor"]["seconds"], 2)
        if "incremental" in r:
            out.setdefault("incremental_vs_full", {})[s] = round(
                r["incremental"]["wall_seconds"] / r["full"]["wall_seconds"], 3)
    return out


def markdown(report: dict) -> str:
    head = ("| scale | rows read | files | run (s) | start-up (s) | ingest (s) | dbt (s) | validation (s) "
            "| publish (s) | report (s) | peak tree RSS (MiB): run / ingest / dbt / validation / publish / report "
            "| floor (s) | run / floor | incremental (s) |")
    lines = [head, "|" + "---:|" * 14]
    for r in report["scales"]:
        rows = sum(v["rows_read"] for v in r["full"]["sources"].values())
        if "incremental" in r:
            rows += sum(v["rows_read"] for v in r["incremental"]["sources"].values())
        lines.append(_row(r, rows, r["full"]["phases"], r.get("incremental", {}).get("wall_seconds")))
    lines.append("")
    if report["incremental"]:
        lines.append("Run = the full run without the newest day's files; incremental = the next run with them, "
                     "on the same warehouse. Rows read: both runs.")
    rat = report["ratios"]
    if "scale_100_vs_10" in rat:
        lines.append("Scale 100 / scale 10 (target ≤ 10): " + ", ".join(f"{k} {v}" for k, v in
                                                                        rat["scale_100_vs_10"].items()))
    if "pipeline_vs_floor" in rat:
        lines.append("Pipeline / plain-DuckDB floor (target ≤ 1.5 at scale 100): "
                     + ", ".join(f"scale {k}: {v}" for k, v in rat["pipeline_vs_floor"].items()))
    if "incremental_vs_full" in rat:
        lines.append("Incremental / full run (target ≤ 0.2 at scale 100): "
                     + ", ".join(f"scale {k}: {v}" for k, v in rat["incremental_vs_full"].items()))
    for r in report["scales"]:
        if r["scale"] == 100:
            peak = max(r[k]["tree_peak_mib"] for k in ("full", "incremental") if k in r) / 1024
            lines.append(f"Peak memory at scale 100 (target < 6 GiB): {peak:.2f} GiB (sum of the process tree's RSS)")
        mism = r["floor"].get("mismatched_rows")
        if mism is not None:
            lines.append(f"Scale {r['scale']}: floor kpi_values vs published: {mism} mismatching rows "
                         f"({r['floor'].get('floor_rows')} / {r['floor'].get('published_rows')} rows)")
    return "\n".join(lines)


def _row(r: dict, rows: int, ph: dict, inc: float | None) -> str:
    f, fl = r["full"], r["floor"]
    floor_s = fl.get("seconds")
    cells = [str(r["scale"]), f"{rows:,}", str(r["files"]), f"{f['wall_seconds']:.1f}", f"{f['startup_seconds']:.1f}",
             *(f"{ph.get(p, {}).get('seconds', 0):.1f}" for p in PHASES),
             f"{f['tree_peak_mib']:,} / " + " / ".join(f"{ph.get(p, {}).get('peak_mib', 0):,}" for p in PHASES),
             f"{floor_s:.1f}" if floor_s else "-",
             f"{f['wall_seconds'] / floor_s:.2f}" if floor_s else "-",
             f"{inc:.1f}" if inc else "-"]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--incremental", action="store_true",
                   help="hold back the newest day's files for the full run, then run again with them")
    p.add_argument("--out", default=None, help="results JSON (default benchmarks/results/<date>.json)")
    p.add_argument("--keep", action="store_true", help="keep the run folders under the cache")
    p.add_argument("--live", action="store_true", help="run the working tree itself, not a snapshot of it")
    p.add_argument("--show", default=None, help="only print the table of an earlier results JSON")
    args = p.parse_args()
    if args.show:
        print(markdown(json.loads(Path(args.show).read_text())))
        return
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"{dt.date.today()}.json"
    global TREE
    if not args.live:
        TREE = snapshot()
    # the dbt manifest the runs start from, parsed before any clock starts
    subprocess.run([sys.executable, "-c", "from bdw.dbt_project import ensure_manifest; ensure_manifest()"],
                   check=True, cwd=TREE, env=tree_env())
    report: dict[str, object] = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
                                 "code": git_state() | {"tree": str(TREE)}, "incremental": args.incremental,
                                 "scales": []}
    for scale in args.scales:
        report["scales"].append(bench_scale(scale, args.seed, args.incremental, args.keep))
        report["ratios"] = ratios(report["scales"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")  # after every scale: a crash keeps what was done
    print(markdown(report))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
