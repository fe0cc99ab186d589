"""The dbt step's target folders: one per invocation, seeded with the working folder's parse state.

Apart from ``bdw.dbt_project`` (which imports dagster-dbt, a second or more) so that ``bdw run``
can make the folder and start dbt in it (bdw.dbt_warm) before it imports Dagster.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from bdw.publish import replace_atomically
from bdw.settings import DBT_PROJECT_DIR

DBT_TARGET_DIR = Path("target")  # dbt's target folder, under the dbt project (bdw.dbt_project.dbt_project)

PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def invocation_target(op_name: str, run_id: str, workdir: Path) -> Path:
    """A new target folder for one dbt invocation (named as dagster-dbt names its own,
    ``<op>-<run id's first 7>-<random>``), seeded with the parse state of the last build on the
    same working database.

    dbt re-parses the whole project (~7 s of CPU) unless its saved parse state was written under
    the same profile, and the profile holds the working database's path: so each working folder
    keeps its own state (``keep_partial_parse``), and the next build on it parses partially.
    dagster-dbt copies the project's own ``target/partial_parse.msgpack`` only into a target
    folder that has none."""
    target = DBT_PROJECT_DIR / DBT_TARGET_DIR / f"{op_name}-{run_id[:7]}-{uuid.uuid4().hex[:7]}"
    target.mkdir(parents=True)
    saved = workdir / PARTIAL_PARSE_FILE
    if saved.exists():
        shutil.copyfile(saved, target / PARTIAL_PARSE_FILE)
    return target


def keep_partial_parse(invocation_target: Path, workdir: Path) -> None:
    """Keep the parse state of the build that just ran (atomically) for the next build on the same
    working database (``invocation_target``)."""
    src = invocation_target / PARTIAL_PARSE_FILE
    if src.exists():
        replace_atomically(workdir / PARTIAL_PARSE_FILE, lambda tmp: shutil.copyfile(src, tmp))


KEEP_INVOCATION_TARGETS = 3


def prune_invocation_targets(target: Path, op_name: str, keep: int = KEEP_INVOCATION_TARGETS) -> list[Path]:
    """dagster-dbt gives every invocation a target folder of its own (compiled SQL, run results:
    ~15 MB); keep the newest few so that nightly runs do not fill the disk."""
    folders = sorted((p for p in target.glob(f"{op_name}-*") if p.is_dir()), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return folders[keep:]
