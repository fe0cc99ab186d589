"""The one dbt project, and its manifest prepared before Dagster loads the dbt assets."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from bdw.config import DBT_PROJECT_DIR, DUCKDB_PATH_ENV, SEEDS_DIR, dbt_executable
from bdw.publish import replace_atomically

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class BdwDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two start-up costs it pays on every ``dbt.cli(...)`` call
    (~5 s of each run's dbt step, before dbt itself starts):

    - ``dbt --version`` in a subprocess (~3 s: it imports all of dbt) to tell dbt Core from
      Fusion; the dbt beside this interpreter is the dbt-core package installed here, so its
      version is read from the package metadata instead;
    - an in-process dbt adapter with every dbt macro loaded (~2 s), which dagster-dbt only uses
      for ``fetch_row_counts()`` / ``fetch_column_metadata()``; this project calls neither, so
      none is made (dagster-dbt runs without one when making it fails).

    Both override private methods of dagster-dbt 0.29 (pinned in uv.lock): after an upgrade that
    renames them the saving is lost, nothing else; ``test_dbt_resource_skips_start_up_work`` says so."""

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == Path(sys.executable).parent / "dbt":
            return version.parse(importlib.metadata.version("dbt-core"))
        return DbtCliResource._cli_version.func(self)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # noqa: ARG002
        return None


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


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than any dbt or seed file.

    ``prepare_if_dev`` only runs under ``dagster dev``; the CLI, tests and CI call this instead.
    """
    manifest = dbt_project.manifest_path
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime():
        return manifest
    os.environ.setdefault(DUCKDB_PATH_ENV, str(DBT_PROJECT_DIR / "target" / "parse_only.duckdb"))
    dbt_cli().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    return manifest


# dbt's unit tests check model logic on fixed inputs, not the night's data: the nightly build leaves
# them out, as dbt advises for production builds, and the test suite runs them
# (test_kpi_rules.py::test_dbt_unit_tests_pass).
NIGHTLY_BUILD = ("build", "--exclude-resource-type", "unit_test")

PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def keep_partial_parse(invocation_target: Path) -> Path | None:
    """Make the parse state of the build that just ran the one the next build starts from.

    dagster-dbt seeds each invocation's target folder with the project's ``partial_parse.msgpack``,
    but dbt re-parses the whole project (~3 s) unless that file was written under the same profile,
    and the profile holds the working database's path, which ``ensure_manifest``'s parse does not
    know. Copied back (atomically), the next run on the same working database parses partially."""
    src = invocation_target / PARTIAL_PARSE_FILE
    if not src.exists():
        return None
    dst = dbt_project.project_dir / dbt_project.target_path / PARTIAL_PARSE_FILE
    return replace_atomically(dst, lambda tmp: shutil.copyfile(src, tmp))


KEEP_INVOCATION_TARGETS = 3


def prune_invocation_targets(target: Path, op_name: str, keep: int = KEEP_INVOCATION_TARGETS) -> list[Path]:
    """dagster-dbt gives every invocation a target folder of its own (compiled SQL, run results:
    ~15 MB); keep the newest few so that nightly runs do not fill the disk."""
    folders = sorted((p for p in target.glob(f"{op_name}-*") if p.is_dir()), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return folders[keep:]
