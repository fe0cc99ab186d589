"""Where the fixed start-up cost of a run goes (run by hand; the performance issue's last target).

    uv run python benchmarks/startup.py [--runs DIR]

Measures, each in a fresh subprocess so nothing is cached in memory:
- Python imports: ``import dagster``, ``import dagster_dbt``, ``import great_expectations``,
  ``import bdw.definitions`` (which loads every asset, the dbt manifest and the resources);
- dbt: ``dbt parse`` from scratch (``--no-partial-parse``) and with dbt's partial parse file, and
  a ``dbt build`` of one small model (dbt's own start-up: adapter, connection, graph);
- Dagster: the time from the run's start (Dagster's RUN_START event: after imports, loading the
  definitions and creating the run) to its first step, taken from the run records
  (``<workdir>/logs/run_*.json``) of the runs under ``--runs`` (default: the harness's folder).
Prints one JSON document; results are copied into benchmarks/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bdw.settings import DBT_PROJECT_DIR, DUCKDB_PATH_ENV, dbt_executable

IMPORTS = ("dagster", "dagster_dbt", "great_expectations", "bdw.definitions")


def seconds(cmd: list[str], env: dict[str, str] | None = None, repeat: int = 2) -> float:
    """Best wall time of ``repeat`` runs (the first can pay for a cold disk cache)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, env={**os.environ, **(env or {})}, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return round(best, 2)


def dbt_seconds(work_db: Path, target: Path) -> dict[str, float]:
    env = {DUCKDB_PATH_ENV: str(work_db)}
    base = [dbt_executable(), "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    where = ["--target-path", str(target)]
    cold = seconds([*base[:1], "parse", "--no-partial-parse", *base[1:], *where], env)
    seconds([*base[:1], "parse", *base[1:], *where], env, repeat=1)  # writes partial_parse.msgpack
    warm = seconds([*base[:1], "parse", *base[1:], *where], env)
    one_model = seconds([*base[:1], "build", "--select", "kpi_thresholds", *base[1:], *where], env)
    return {"dbt_parse_full": cold, "dbt_parse_partial": warm, "dbt_build_one_seed": one_model}


def dagster_startup(runs: Path) -> list[dict[str, float]]:
    found = []
    for record in sorted(runs.glob("**/logs/run_*.json")):
        r = json.loads(record.read_text())
        if r.get("steps"):
            first = min(s["start"] for s in r["steps"])
            found.append({"run": record.parent.parent.parent.name,
                          "job_start_to_first_step": round(first - r["started_at"], 1), "total": r["seconds"]})
    return found


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", default="/tmp/bdw-bench/runs", help="folder with harness runs (run records)")
    args = p.parse_args()
    out: dict[str, object] = {"python": sys.version.split()[0]}
    out["imports"] = {m: seconds([sys.executable, "-c", f"import {m}"]) for m in IMPORTS}
    out["python_bare"] = seconds([sys.executable, "-c", "pass"])
    tmp = Path(tempfile.mkdtemp(prefix="bdw-startup-"))
    try:
        out["dbt"] = dbt_seconds(tmp / "work.duckdb", tmp / "target")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["dagster_job_start_to_first_step"] = dagster_startup(Path(args.runs))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
