"""The one dbt project: its Dagster handle, the CLI resource, and its manifest.

Dagster needs dbt's manifest to define the dbt assets. ``ensure_manifest`` parses the project
when the manifest is missing or older than a dbt or seed file; ``bdw.definitions`` calls it when
the definitions are built (not when a module is imported).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from dagster_dbt import DbtProject

from bdw.dagster_dbt_overrides import BdwDbtCliResource
from bdw.dbt_targets import DBT_TARGET_DIR
from bdw.settings import DBT_PROJECT_DIR, DUCKDB_PATH_ENV, SEEDS_DIR, dbt_executable

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=DBT_TARGET_DIR)


def dbt_cli() -> BdwDbtCliResource:
    """The dbt CLI resource for this project (profiles.yml beside dbt_project.yml)."""
    return BdwDbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                             dbt_executable=dbt_executable())


_NOT_SOURCES = {"target", "logs", "dbt_packages"}  # dbt's output, not the project


def project_files() -> list[Path]:
    """Every file of the dbt project and the seeds, in a stable order (not dbt's output folders)."""
    files = []
    for root in (DBT_PROJECT_DIR, SEEDS_DIR):
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in _NOT_SOURCES and not d.startswith("."))
            files += [Path(folder) / n for n in sorted(names)]
    return files


def _newest_source_mtime() -> float:
    return max((p.stat().st_mtime for p in project_files()), default=0.0)


class DbtParseError(RuntimeError):
    """dbt could not parse the project: a model or YAML file is broken."""


def _is_current(manifest: Path) -> bool:
    return manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime()


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than any dbt or seed file.

    Several processes may ask at once (the daemon's and the webserver's code servers at boot, test
    workers): one parses, under a lock, into a folder of its own, and the manifest is renamed into
    place, so nobody reads half a file. A parse needs no database, but dbt's profile names one: a
    placeholder path, given to the dbt process only (this process's environment is left as it is)."""
    manifest = dbt_project.manifest_path
    if _is_current(manifest):
        return manifest
    target = DBT_PROJECT_DIR / dbt_project.target_path
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".parse.lock").open("a") as lock:
        with contextlib.suppress(ImportError):  # no fcntl on Windows: one process at a time there
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_current(manifest):  # another process parsed while this one waited
            return manifest
        private = Path(tempfile.mkdtemp(prefix=".parse-", dir=target))
        try:
            env = {**os.environ, DUCKDB_PATH_ENV: str(private / "parse_only.duckdb")}
            done = subprocess.run([dbt_executable(), "--no-send-anonymous-usage-stats", "parse", "--quiet",
                                   "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                                   "--target-path", str(private), "--log-path", str(private)],
                                  cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
            if done.returncode != 0 or not (private / "manifest.json").exists():
                raise DbtParseError(f"dbt could not parse {DBT_PROJECT_DIR}:\n{(done.stdout + done.stderr)[-3000:]}")
            os.replace(private / "manifest.json", manifest)
        finally:
            shutil.rmtree(private, ignore_errors=True)
    return manifest


# dbt's unit tests check model logic on fixed inputs, not the night's data: the nightly build leaves
# them out, as dbt advises for production builds, and the test suite runs them
# (tests/e2e/test_kpi_rules.py::test_dbt_unit_tests_pass).
NIGHTLY_BUILD = ("build", "--exclude-resource-type", "unit_test")
