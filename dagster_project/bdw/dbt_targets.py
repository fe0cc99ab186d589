"""The dbt step's target folders: one per invocation, seeded with a parse state dbt can reuse.

Apart from ``bdw.dbt_project`` (which imports dagster-dbt, a second or more) so that ``bdw run``
can make the folder and start dbt in it (bdw.dbt_warm) before it imports Dagster.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

from bdw.publish import replace_atomically
from bdw.settings import (
    DBT_PROJECT_DIR,
    DUCKDB_MEMORY_LIMIT_ENV,
    DUCKDB_PATH_ENV,
    DUCKDB_TEMP_DIRECTORY_ENV,
    WORK_DB_NAME,
)

DBT_TARGET_DIR = Path("target")  # dbt's target folder, under the dbt project (bdw.dbt_project.dbt_project)

PARTIAL_PARSE_FILE = "partial_parse.msgpack"

# dbt keeps a parse state (partial_parse.msgpack) only for the profile it was made with: the rendered
# connection and the values of the environment variables the profile read. The profile names the
# working database, its spill folder and memory limit, so a state made with a working folder's own
# values fits that folder only, and every new working folder parsed the whole project (~4 s of CPU).
# A parse needs no database: the process every run starts for its dbt step (bdw.dbt_warm) parses
# with these placeholders instead, the same for every working folder (the file has the working
# database's name, from which dbt names its database, as for the real one), and its state is kept
# once for the machine, beside the project (``SHARED_PARSE_STATE``). The build then runs on that
# manifest with the real values (bdw.dbt_warm.serve).
PARSE_ONLY_ENV = {DUCKDB_PATH_ENV: f"/bdw-parse-only/{WORK_DB_NAME}",
                  DUCKDB_TEMP_DIRECTORY_ENV: "/bdw-parse-only/tmp", DUCKDB_MEMORY_LIMIT_ENV: "1GB"}
SHARED_PARSE_STATE = DBT_PROJECT_DIR / DBT_TARGET_DIR / "parse_only_state.msgpack"


def invocation_target(op_name: str, run_id: str) -> Path:
    """A new target folder for one dbt invocation (named as dagster-dbt names its own,
    ``<op>-<run id's first 7>-<random>``), seeded with the machine's shared parse state
    (``seed_parse_state``), so that a parse there with ``PARSE_ONLY_ENV`` (bdw.dbt_warm) parses only
    what changed. dagster-dbt copies the project's own ``target/partial_parse.msgpack`` only into a
    target folder that has none."""
    target = DBT_PROJECT_DIR / DBT_TARGET_DIR / f"{op_name}-{run_id[:7]}-{uuid.uuid4().hex[:7]}"
    target.mkdir(parents=True)
    seed_parse_state(target)
    return target


def seed_parse_state(target: Path) -> None:
    """Copy the machine's shared parse state into ``target`` (none yet, none copied)."""
    if SHARED_PARSE_STATE.exists():
        shutil.copyfile(SHARED_PARSE_STATE, target / PARTIAL_PARSE_FILE)


def keep_partial_parse(invocation_target: Path) -> None:
    """Keep the parse state of the build that just ran (made with ``PARSE_ONLY_ENV``) as the
    machine's shared one, atomically, for the next parse."""
    src = invocation_target / PARTIAL_PARSE_FILE
    if src.exists():
        replace_atomically(SHARED_PARSE_STATE, lambda tmp: shutil.copyfile(src, tmp))


KEEP_INVOCATION_TARGETS = 3
KEEP_YOUNGER_THAN_SECONDS = 3600  # a folder written in the last hour may be another working folder's build


def prune_invocation_targets(target: Path, op_name: str, keep: int = KEEP_INVOCATION_TARGETS,
                             keep_younger_than: float = KEEP_YOUNGER_THAN_SECONDS) -> list[Path]:
    """dagster-dbt gives every invocation a target folder of its own (compiled SQL, run results:
    ~15 MB); keep the newest few so that nightly runs do not fill the disk. The project's target
    folder is shared by every working folder on the machine, so a folder written in the last hour is
    kept too: it may belong to another run still building, or one whose results are still read."""
    folders = sorted((p for p in target.glob(f"{op_name}-*") if p.is_dir()), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    now = time.time()
    removed = [old for old in folders[keep:] if now - old.stat().st_mtime > keep_younger_than]
    for old in removed:
        shutil.rmtree(old, ignore_errors=True)
    return removed
