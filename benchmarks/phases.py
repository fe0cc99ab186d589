"""Time a whole `bdw run` on the sample company at a given scale, per phase (run by hand).

    uv run python benchmarks/phases.py --scale 10 [--keep DIR]

Prints one JSON line: scale, rows per source, wall seconds and peak RSS of the run, and the
seconds per phase from Dagster's event log (ingest, dbt, validation, publish, report). The harness
(benchmarks/harness.py) measures more: memory per phase, the plain-DuckDB floor, incremental runs.
Results are recorded in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bdw.config import load_settings
from bdw.pipeline import run_pipeline
from bdw.sample import write_sample


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--keep", default=None, help="folder to keep the inbox and warehouse in")
    args = p.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bdw-bench-"))
    inbox = root / "inbox"
    t0 = time.perf_counter()
    rows = write_sample(inbox, scale=args.scale)
    sample_s = time.perf_counter() - t0
    settings = load_settings(inbox, root / "warehouse.duckdb", root / "work")
    t0 = time.perf_counter()
    outcome = run_pipeline(settings)
    wall = time.perf_counter() - t0
    print(json.dumps({
        "scale": args.scale, "rows": rows, "total_rows": sum(rows.values()), "sample_seconds": round(sample_s, 1),
        "run_seconds": round(wall, 1), "phases": outcome.phases, "published": outcome.published,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_children_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "machine": f"{platform.machine()} {platform.processor() or ''} cpus={__import__('os').cpu_count()}",
    }))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
