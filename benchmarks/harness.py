"""The performance harness of the nightly run (run by hand, not in CI): issue 15's four targets.

    uv run python benchmarks/harness.py --scales 1 10 100 1000 --baseline-repo DIR \
        --out benchmarks/results/DATE.json

For each scale: the sample company's inbox (cached under ``$BDW_BENCH_CACHE``, default
/tmp/bdw-bench, as ``scale-N-seed-S/inbox``, generated when missing or with ``--regenerate``; the
generation is measured like a run and its time and peak memory kept beside it in
``generation.json``), read once untimed so that every measured process finds it in the page cache
(``inbox_read_seconds``; before 2026-12-06 late, the full run alone read it from disk), then

- the full run: ``bdw run`` on a fresh working folder, as a subprocess under ``/usr/bin/time -v``
  (whole-run wall time and max RSS), while this process samples the RSS of the run's whole process
  tree (``bdw`` and its dbt subprocess) every 50 ms. The run writes a record beside its log
  (``<workdir>/logs/run_*.json``) with each step's start and end; samples are attributed to the
  phases (ingest, dbt, validation, publish, report: ``bdw.pipeline.phase_of``) by those windows,
  giving each phase's wall time and peak memory;
- with ``--incremental``, the incremental scenario instead of the plain full run: the files of the
  inbox's newest day (the newest date prefix of any file name) are held back, ``bdw run`` loads the
  rest (that run is reported as the full run), then they are put back and ``bdw run`` runs again on
  the same working folder and warehouse: the incremental run. The floor then checks that it
  published the same ``kpi_values`` as DuckDB alone computes from the complete inbox;
- "nothing changed": ``bdw run`` once more with the same inbox, warehouse and as-of date: it must
  finish in a few seconds and leave the published file as it was (modification time and SHA-256);
- the plain-DuckDB floor (``benchmarks/floor.py``) on the complete inbox, timed the same way, under
  the same DuckDB memory limit as the pipeline (``limits.memory`` of the project's config) and
  writing the storage format the pipeline publishes (readable by DuckDB 1.x): every model and data
  test of the nightly build; at scales 1 and 100 also, reported for the record and not judged, the
  same floor in DuckDB's newest storage format (the floor before 2026-12-06 late) and the floor of
  ``kpi_values`` and its upstream models alone (the floor's scope before 2026-12-06), both in the
  newest format as they were measured then;
- at scale 1 with ``--baseline-repo DIR`` (a checkout with its own ``.venv``, e.g. the old main):
  that checkout's ``bdw run`` on the same inbox, right after the full run and timed the same way
  (``--repeat N`` alternates the pair N times and keeps the medians).

The runs execute a snapshot of the project (code, dbt project, seeds, config) copied when the
harness starts, so that edits made meanwhile cannot change what is measured (``--live`` runs the
working tree itself); the baseline runs a snapshot of its checkout with its own interpreter, and
nothing is written into that checkout. Each snapshot's dbt manifest is parsed before any clock
starts.

Writes a JSON file (machine, date, load average, rows per source, every measurement) and prints a
markdown table and the targets of issue 15 with their measured values and pass/fail (``TARGETS``):

1. cost per row: (run(100) - run(1)) / (floor(100) - floor(1)) <= 1.2, wall times of one harness run;
2. scale 1000: published, peak memory of the process tree < 8 GiB, run / floor <= 1.3 (wall
   times); the inbox's generation time and peak memory are reported with it;
3. scale 1: run <= 0.5 x the baseline's run, measured back to back;
4. nothing changed: the second run <= 5 s and the published file untouched, at every scale.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import importlib.metadata as md
import json
import os
import platform
import re
import shutil
import statistics
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
TARGETS = {
    "cost_per_row": 1.2,  # (run(100) - run(1)) / (floor(100) - floor(1)), at most
    "scale_1000_peak_gib": 8.0,  # peak RSS of the run's process tree at scale 1000, below
    "scale_1000_floor_ratio": 1.3,  # run / floor at scale 1000, at most
    "fixed_cost_ratio": 0.5,  # scale-1 run / the baseline's scale-1 run, at most
    "unchanged_seconds": 5.0,  # a run with nothing new, at most (and the published file untouched)
}
# scales at which the floor of kpi_values alone (the floor's scope before 2026-12-06) is measured too
KPI_FLOOR_SCALES = (1, 100)
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
@dataclass(frozen=True)
class Tree:
    """A copy of a project's code, dbt project, seeds and config, run by ``python`` with
    ``bdw`` imported from the copy (PYTHONPATH), so edits made meanwhile change nothing measured."""

    root: Path
    python: str = sys.executable

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.root / "dagster_project")}


TREE = Tree(ROOT)  # the project tree the runs execute (a snapshot unless --live)


def snapshot(source: Path = ROOT, name: str = "") -> Path:
    """Copy ``source``'s code, dbt project, seeds and config under the cache."""
    target = CACHE / "trees" / f"{dt.datetime.now():%Y%m%dT%H%M%S}{name}"
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__", "*.duckdb", "*.wal")
    for part in ("dagster_project", "dbt", "seeds", "config", "benchmarks"):
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, ignore=ignore)
    return target


def parse_manifest(tree: Tree) -> None:
    """The dbt manifest the runs start from, parsed before any clock starts (a checkout without
    ``bdw.dbt_project.ensure_manifest`` parses on its first run, as it always did)."""
    code = ("try:\n from bdw.dbt_project import ensure_manifest\nexcept ImportError:\n pass\n"
            "else:\n ensure_manifest()")
    subprocess.run([tree.python, "-c", code], check=True, cwd=tree.root, env=tree.env())


def git_state(repo: Path = ROOT) -> dict[str, object]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "changed_files": len(git("status", "--porcelain").splitlines())}


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


def measure(cmd: list[str], log: Path, tree: Tree | None = None, interval: float = 0.05) -> Measured:
    """Run ``cmd`` under ``/usr/bin/time -v`` in ``tree`` (default: the measured project),
    sampling its process tree's RSS every ``interval`` s."""
    tree = tree or TREE
    log.parent.mkdir(parents=True, exist_ok=True)
    time_out = log.with_suffix(".time")
    started = time.time()
    with log.open("w") as out:
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", str(time_out), *cmd], stdout=out,
                                stderr=subprocess.STDOUT, cwd=tree.root, env=tree.env())
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


# ---- the inbox ---------------------------------------------------------------------------------
def cached_inbox(scale: int, seed: int, regenerate: bool = False) -> tuple[Path, dict | None]:
    """The sample inbox of this scale and seed, generated once (into a temporary folder, then
    renamed) by the measured project, and the record of its generation (None if unknown)."""
    folder = CACHE / f"scale-{scale}-seed-{seed}"
    inbox, record = folder / "inbox", folder / "generation.json"
    if regenerate:
        shutil.rmtree(inbox, ignore_errors=True)
        record.unlink(missing_ok=True)
    if not inbox.is_dir():
        partial = folder / "inbox.partial"
        shutil.rmtree(partial, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"generating the scale-{scale} sample into {inbox} ...", flush=True)
        m = measure([TREE.python, "-m", "bdw.cli", "sample", "--out", str(partial), "--scale", str(scale),
                     "--seed", str(seed)], folder / "generation.log")
        if m.returncode:
            raise RuntimeError(f"bdw sample --scale {scale} failed: {m.stdout[-2000:]}")
        partial.rename(inbox)
        record.write_text(json.dumps({"wall_seconds": round(m.wall_seconds, 1), "max_rss_mib": round(m.max_rss_mib),
                                      "tree_peak_mib": round(m.tree_peak_mib),
                                      "generated_at": dt.datetime.now().isoformat(timespec="seconds"),
                                      "code": git_state()["commit"]}) + "\n")
    return inbox, (json.loads(record.read_text()) if record.exists() else None)


def data_files(inbox: Path) -> list[Path]:
    return sorted(p for p in inbox.glob("*/*") if p.is_file() and not p.name.startswith(("_", ".")))


def read_into_page_cache(files: list[Path]) -> float:
    """Read every file once, untimed, so that each measured process finds the inbox in the page cache:
    else the first one (the full run, whose start-up scan hashes every file) alone would pay the
    disk reads, and the floor after it none. Returns the seconds it took (a few when it was cold)."""
    started = time.monotonic()
    for path in files:
        with path.open("rb") as f:
            while f.read(1 << 22):
                pass
    return round(time.monotonic() - started, 2)


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


# ---- a pipeline run ----------------------------------------------------------------------------
def run_record(workdir: Path, after: float) -> dict:
    records = sorted((p for p in (workdir / "logs").glob("run_*.json") if p.stat().st_mtime >= after),
                     key=lambda p: p.stat().st_mtime)
    if not records:
        raise RuntimeError(f"no run record in {workdir / 'logs'}: does bdw.pipeline write run_*.json?")
    return json.loads(records[-1].read_text())


def pipeline_run(inbox: Path, folder: Path, label: str, tree: Tree | None = None) -> dict:
    warehouse, workdir = folder / "warehouse.duckdb", folder / "work"
    tree = tree or TREE
    m = measure([tree.python, "-m", "bdw.cli", "run", "--inbox", str(inbox), "--warehouse", str(warehouse),
                 "--workdir", str(workdir)], folder / f"{label}.log", tree)
    base = {"returncode": m.returncode, "wall_seconds": round(m.wall_seconds, 2), "max_rss_mib": round(m.max_rss_mib),
            "tree_peak_mib": round(m.tree_peak_mib), "log": str(folder / f"{label}.log")}
    try:
        record = run_record(workdir, m.started_at)
    except RuntimeError as e:
        return {**base, "published": False, "error": str(e), "output": m.stdout[-3000:], "phases": {},
                "sources": {}, "startup_seconds": 0.0}
    phases: dict[str, dict[str, float]] = {}
    for phase in [*PHASES, *sorted({s["phase"] for s in record["steps"]} - set(PHASES))]:
        windows = [(s["start"], s["end"]) for s in record["steps"] if s["phase"] == phase]
        peak = max((rss for t, rss in m.samples if any(a <= t <= b for a, b in windows)), default=0)
        phases[phase] = {"seconds": round(sum(b - a for a, b in windows), 2), "peak_mib": round(peak / MIB),
                         "steps": len(windows)}
    first_step = min((s["start"] for s in record["steps"]), default=record["started_at"])
    last_step = max((s["end"] for s in record["steps"]), default=record["finished_at"])
    return {
        **base, "published": record["published"], "as_of": record["as_of"],
        "startup_seconds": round(first_step - m.started_at, 2),  # process start to the first step
        "steps_seconds": round(last_step - first_step, 2),
        "after_steps_seconds": round(m.started_at + m.wall_seconds - last_step, 2),  # summary, exit
        "phases": phases, "sources": record["sources"],
        "steps": {s["step"]: round(s["end"] - s["start"], 2) for s in record["steps"]},
    }


def file_state(path: Path) -> dict[str, object] | None:
    if not path.exists():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    st = path.stat()
    return {"mtime_ns": st.st_mtime_ns, "size": st.st_size, "sha256": digest.hexdigest()}


def unchanged_run(inbox: Path, folder: Path) -> dict:
    """``bdw run`` again on the same inbox, warehouse and working folder (so the same as-of date):
    it should stop at once and leave the published file as it was."""
    warehouse, workdir = folder / "warehouse.duckdb", folder / "work"
    before = file_state(warehouse)
    m = measure([TREE.python, "-m", "bdw.cli", "run", "--inbox", str(inbox), "--warehouse", str(warehouse),
                 "--workdir", str(workdir)], folder / "unchanged.log")
    after = file_state(warehouse)
    return {"returncode": m.returncode, "wall_seconds": round(m.wall_seconds, 2),
            "tree_peak_mib": round(m.tree_peak_mib), "said_nothing_changed": "nothing changed" in m.stdout,
            "published_untouched": before == after,
            "published_before": before, "published_after": after, "output": m.stdout[-1500:]}


def floor_run(inbox: Path, folder: Path, compare: Path | None, scope: str = "nightly",
              storage: str = "published") -> dict:
    cmd = [TREE.python, str(TREE.root / "benchmarks" / "floor.py"), "--inbox", str(inbox), "--dir", str(folder),
           "--scope", scope, "--storage", storage]
    if compare:
        cmd += ["--compare", str(compare)]
    # dbt compile is preparation, not the floor's work: done (and cached) before the measured process
    subprocess.run([*cmd, "--compile-only"], check=True, cwd=TREE.root, env=TREE.env(), stdout=subprocess.DEVNULL)
    m = measure(cmd, folder / "floor.log")
    lines = [line for line in m.stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"error": m.stdout[-2000:]}
    # "seconds" (floor.py's own clock: connect to checkpoint); wall_seconds adds the interpreter,
    # imports and reading the compiled manifest, and is what the targets compare with the run's
    return {"returncode": m.returncode, "wall_seconds": round(m.wall_seconds, 2),
            "tree_peak_mib": round(m.tree_peak_mib), **result}


def baseline_runs(inbox: Path, folder: Path, baseline: Tree, repeat: int) -> tuple[list[dict], list[dict]]:
    """The measured project's and the baseline's scale-1 runs, alternately, ``repeat`` times each
    (the measured project first), each on a fresh working folder."""
    ours, theirs = [], []
    for i in range(repeat):
        print(f"scale 1: back to back, pair {i + 1} of {repeat}: this project, then the baseline ...", flush=True)
        ours.append(pipeline_run(inbox, folder / f"pair-{i}-ours", "full"))
        theirs.append(pipeline_run(inbox, folder / f"pair-{i}-baseline", "full", baseline))
    return ours, theirs


def bench_scale(scale: int, seed: int, incremental: bool, keep: bool, regenerate: bool,
                baseline: Tree | None, repeat: int) -> dict:
    inbox, generation = cached_inbox(scale, seed, regenerate)
    files = data_files(inbox)
    out: dict[str, object] = {"scale": scale, "seed": seed, "files": len(files),
                              "inbox_mib": round(sum(p.stat().st_size for p in files) / MIB, 1),
                              "generation": generation, "load_before": [round(x, 2) for x in os.getloadavg()]}
    out["inbox_read_seconds"] = read_into_page_cache(files)
    folder = CACHE / "runs" / f"scale-{scale}-{dt.datetime.now():%Y%m%dT%H%M%S}"
    run_inbox = inbox
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
    print(f"scale {scale}: the same run again, nothing changed ...", flush=True)
    out["unchanged"] = unchanged_run(run_inbox, folder)
    published = folder / "warehouse.duckdb"
    print(f"scale {scale}: plain-DuckDB floor ...", flush=True)
    # the floor is compared with the last run's warehouse, which was built from the complete inbox
    out["floor"] = floor_run(inbox, folder / "floor", published if published.exists() else None)
    if scale in KPI_FLOOR_SCALES:
        print(f"scale {scale}: plain-DuckDB floor in DuckDB's newest storage format ...", flush=True)
        out["floor_latest_format"] = floor_run(inbox, folder / "floor_latest_format", None, storage="latest")
        print(f"scale {scale}: plain-DuckDB floor of kpi_values alone (the floor before 2026-12-06) ...", flush=True)
        out["floor_kpi_values"] = floor_run(inbox, folder / "floor_kpi_values", None, scope="kpi_values",
                                            storage="latest")
    if baseline is not None and scale == 1:
        ours, theirs = baseline_runs(inbox, folder, baseline, repeat)
        out["baseline"] = {"ours": ours, "baseline": theirs,
                           "ours_seconds": statistics.median(r["wall_seconds"] for r in ours),
                           "baseline_seconds": statistics.median(r["wall_seconds"] for r in theirs),
                           "all_published": all(r.get("published") for r in ours + theirs)}
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return out


# ---- the targets -------------------------------------------------------------------------------
def verdicts(results: list[dict]) -> list[dict]:
    """Each target of issue 15 with its measured value and whether it is met (None: not measured)."""
    by = {r["scale"]: r for r in results}
    out: list[dict] = []

    def add(target: str, value: str, met: bool | None, goal: str) -> None:
        out.append({"target": target, "measured": value, "goal": goal, "met": met})

    if 1 in by and 100 in by:
        run = by[100]["full"]["wall_seconds"] - by[1]["full"]["wall_seconds"]
        for key, name in (("floor", "1. cost per row"),
                          ("floor_latest_format", "1. cost per row, against a floor in DuckDB's newest storage "
                                                  "format (for the record: the floor before 2026-12-06 late)"),
                          ("floor_kpi_values", "1. cost per row, against the floor of kpi_values alone (for the "
                                               "record: the floor before 2026-12-06)")):
            if key not in by[1] or key not in by[100]:
                continue
            floor = by[100][key]["wall_seconds"] - by[1][key]["wall_seconds"]
            ratio = run / floor if floor > 0 else float("inf")
            add(name, f"({by[100]['full']['wall_seconds']:.1f} − {by[1]['full']['wall_seconds']:.1f}) / "
                f"({by[100][key]['wall_seconds']:.1f} − {by[1][key]['wall_seconds']:.1f}) = {ratio:.2f}",
                ratio <= TARGETS["cost_per_row"] if key == "floor" else None, f"≤ {TARGETS['cost_per_row']}")
    else:
        add("1. cost per row", "scales 1 and 100 not both measured", None, f"≤ {TARGETS['cost_per_row']}")
    if 1000 in by:
        r = by[1000]
        full = r["full"]
        peak = max(r[k]["tree_peak_mib"] for k in ("full", "incremental") if k in r) / 1024
        add("2. scale 1000 completes", "published" if full.get("published") else f"not published "
            f"(exit {full['returncode']})", bool(full.get("published")), "published")
        add("2. scale 1000 peak memory (process tree)", f"{peak:.2f} GiB", peak < TARGETS["scale_1000_peak_gib"],
            f"< {TARGETS['scale_1000_peak_gib']:.0f} GiB")
        ratio = full["wall_seconds"] / r["floor"]["wall_seconds"] if r["floor"].get("wall_seconds") else float("inf")
        add("2. scale 1000 run / floor", f"{full['wall_seconds']:.0f} / {r['floor'].get('wall_seconds', 0):.0f} s = "
            f"{ratio:.2f}", ratio <= TARGETS["scale_1000_floor_ratio"], f"≤ {TARGETS['scale_1000_floor_ratio']}")
        g = r.get("generation")
        add("2. scale 1000 inbox generation", f"{g['wall_seconds'] / 60:.1f} min, {g['max_rss_mib'] / 1024:.2f} GiB "
            f"peak, {r['inbox_mib'] / 1024:.1f} GiB inbox" if g else "not measured (inbox cached before "
            "generation.json; --regenerate)", None, "practical (minutes)")
    else:
        add("2. scale 1000", "not measured", None, f"peak < {TARGETS['scale_1000_peak_gib']:.0f} GiB, run / floor ≤ "
            f"{TARGETS['scale_1000_floor_ratio']}")
    b = by.get(1, {}).get("baseline")
    if b:
        ratio = b["ours_seconds"] / b["baseline_seconds"]
        add("3. scale-1 run / baseline's", f"{b['ours_seconds']:.1f} / {b['baseline_seconds']:.1f} s = {ratio:.2f}"
            f" (medians of {len(b['ours'])})", ratio <= TARGETS["fixed_cost_ratio"] and b["all_published"],
            f"≤ {TARGETS['fixed_cost_ratio']}")
    else:
        add("3. scale-1 run / baseline's", "no --baseline-repo", None, f"≤ {TARGETS['fixed_cost_ratio']}")
    for r in results:
        u = r.get("unchanged")
        if not u:
            continue
        ok = (u["returncode"] == 0 and u["published_untouched"] and u["said_nothing_changed"]
              and u["wall_seconds"] <= TARGETS["unchanged_seconds"])
        add(f"4. nothing changed, scale {r['scale']}", f"{u['wall_seconds']:.1f} s, published file "
            f"{'untouched' if u['published_untouched'] else 'CHANGED'}"
            f"{'' if u['said_nothing_changed'] else ', no «nothing changed» in the summary'}", ok,
            f"≤ {TARGETS['unchanged_seconds']:.0f} s, untouched")
    return out


# ---- report ------------------------------------------------------------------------------------
def markdown(report: dict) -> str:
    head = ("| scale | rows read | inbox (MiB) | generation (s / GiB) | run (s) | start-up | ingest | dbt | validation "
            "| publish | report | peak tree RSS (GiB): run / ingest / dbt / validation / publish / report "
            "| floor (s) | floor peak (GiB) | run / floor | incremental (s) | unchanged (s) |")
    lines = [head, "|" + "---:|" * 17]
    for r in report["scales"]:
        lines.append(_row(r))
    lines.append("")
    if report.get("incremental"):
        lines.append("Run = the full run without the newest day's files; incremental = the next run with them, "
                     "on the same warehouse. Rows read: both runs.")
    for r in report["scales"]:
        mism = r["floor"].get("mismatched_rows")
        if mism is not None:
            lines.append(f"Scale {r['scale']}: floor kpi_values vs published: {mism} mismatching rows "
                         f"({r['floor'].get('floor_rows')} / {r['floor'].get('published_rows')} rows)")
        if "baseline" in r:
            b = r["baseline"]
            lines.append(f"Scale {r['scale']} back to back (this project / baseline, s): "
                         + ", ".join(f"{o['wall_seconds']:.1f} / {t['wall_seconds']:.1f}"
                                     for o, t in zip(b["ours"], b["baseline"], strict=True)))
    lines += ["", "| target | measured | goal | met |", "|---|---|---|---|"]
    for v in verdicts(report["scales"]):
        met = {True: "**met**", False: "**not met**", None: "-"}[v["met"]]
        lines.append(f"| {v['target']} | {v['measured']} | {v['goal']} | {met} |")
    return "\n".join(lines)


def _row(r: dict) -> str:
    f, fl = r["full"], r["floor"]
    ph = f["phases"]
    rows = sum(v["rows_read"] for v in f["sources"].values())
    if "incremental" in r:
        rows += sum(v["rows_read"] for v in r["incremental"]["sources"].values())
    floor_s = fl.get("wall_seconds")
    g = r.get("generation")
    cells = [str(r["scale"]), f"{rows:,}", f"{r['inbox_mib']:,.0f}",
             f"{g['wall_seconds']:.0f} / {g['max_rss_mib'] / 1024:.1f}" if g else "-",
             f"{f['wall_seconds']:.1f}", f"{f['startup_seconds']:.1f}",
             *(f"{ph.get(p, {}).get('seconds', 0):.1f}" for p in PHASES),
             f"{f['tree_peak_mib'] / 1024:.2f} / " + " / ".join(f"{ph.get(p, {}).get('peak_mib', 0) / 1024:.2f}"
                                                               for p in PHASES),
             f"{floor_s:.1f}" if floor_s else "-", f"{fl.get('tree_peak_mib', 0) / 1024:.2f}",
             f"{f['wall_seconds'] / floor_s:.2f}" if floor_s else "-",
             f"{r['incremental']['wall_seconds']:.1f}" if "incremental" in r else "-",
             f"{r['unchanged']['wall_seconds']:.1f}" if "unchanged" in r else "-"]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100, 1000])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--incremental", action="store_true",
                   help="hold back the newest day's files for the full run, then run again with them")
    p.add_argument("--baseline-repo", default=None,
                   help="a checkout with its own .venv (e.g. the old main) whose scale-1 run is timed back to back")
    p.add_argument("--repeat", type=int, default=1, help="pairs of scale-1 runs against the baseline (medians)")
    p.add_argument("--regenerate", action="store_true", help="generate the inboxes again (and measure it)")
    p.add_argument("--generate-only", action="store_true", help="only generate (and measure) the inboxes")
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
        TREE = Tree(snapshot())
    baseline = None
    if args.baseline_repo:
        repo = Path(args.baseline_repo).resolve()
        python = repo / ".venv" / "bin" / "python"
        if not python.exists():
            sys.exit(f"--baseline-repo {repo}: no .venv/bin/python there")
        baseline = Tree(snapshot(repo, "-baseline"), str(python))
        parse_manifest(baseline)
    if args.generate_only:
        for scale in args.scales:
            inbox, generation = cached_inbox(scale, args.seed, args.regenerate)
            print(f"scale {scale}: {inbox}: {json.dumps(generation)}")
        return
    parse_manifest(TREE)
    report: dict[str, object] = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
                                 "code": git_state() | {"tree": str(TREE.root)}, "incremental": args.incremental,
                                 "baseline": (git_state(Path(args.baseline_repo)) | {"repo": args.baseline_repo,
                                              "tree": str(baseline.root)}) if baseline else None,
                                 "targets": TARGETS, "scales": []}
    for scale in args.scales:
        report["scales"].append(bench_scale(scale, args.seed, args.incremental, args.keep, args.regenerate,
                                            baseline, args.repeat))
        report["verdicts"] = verdicts(report["scales"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")  # after every scale: a crash keeps what was done
    print(markdown(report))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
