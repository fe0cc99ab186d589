"""Publish the working database as the analysts' file: a private copy, then an atomic rename.

Readers that have the old file open keep their snapshot; new connections see the new file; the
path never points at a half-written or missing file. The previous version is kept beside it as
``<name>.previous.duckdb`` for one-step rollback. The published file is in a storage format that
DuckDB 1.x clients (older CLIs, DBeaver) can read.

The working database is created in that storage format, so publishing is normally a byte copy of
the checkpointed file (seconds, whatever the size; DuckDB stores a view's SQL without its own
catalog's name, so views work under the published file's name). A working file in DuckDB 2's
format (created before this) is copied table by table instead, which re-encodes every row.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from bdw.catalog import storage_version
from bdw.faults import fault_point
from bdw.sql import lit, q

PUBLISHED_SCHEMAS = ("raw", "seeds", "staging", "intermediate", "marts", "dq")
STORAGE_VERSION = "v1.0.0"  # readable by every DuckDB from 1.0 on


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: int
    previous: Path | None


def previous_path(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.stem}.previous{warehouse.suffix}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_file(work_db: Path, target: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS,
              duckdb_config: dict[str, str] | None = None) -> int | None:
    """The fast path: checkpoint the working file and copy its bytes. Returns the number of tables
    and views, or None when the file does not qualify (see the module's docstring). ``duckdb_config``
    bounds the connection's memory (``Settings.duckdb_config``)."""
    con = duckdb.connect(str(work_db), config=duckdb_config or {})
    try:
        version = storage_version(con)
        objects = con.execute(
            "SELECT schema_name FROM duckdb_tables() WHERE database_name = current_database() "
            "UNION ALL SELECT schema_name FROM duckdb_views() WHERE database_name = current_database() "
            "AND NOT internal").fetchall()
        if not version.startswith(STORAGE_VERSION) or {schema for (schema,) in objects} - set(schemas):
            return None
        con.execute("CHECKPOINT")
    finally:
        con.close()
    if Path(f"{work_db}.wal").exists():  # not fully checkpointed: copy table by table
        return None
    shutil.copyfile(work_db, target)
    _fsync(target)
    return len(objects)


def replace_atomically(dst: Path, write: Callable[[Path], object]) -> Path:
    """Write ``dst`` through ``write(tmp)`` on a temporary file beside it, then rename it into place:
    readers see the old file or the new one, never half of one. The temporary is named like the
    warehouse's (``.<name>.<uuid>.tmp``), so ``remove_stale_temporaries`` finds a killed write's."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def build_copy(work_db: Path, target: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS,
               duckdb_config: dict[str, str] | None = None) -> int:
    """Copy every table and view of ``schemas`` from the working database into a new file."""
    con = duckdb.connect(config=duckdb_config or {})
    tables = 0
    try:
        con.execute(f"ATTACH {lit(work_db)} AS work (READ_ONLY)")
        con.execute(f"ATTACH {lit(target)} AS pub (STORAGE_VERSION '{STORAGE_VERSION}')")
        objects = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'work' "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'work' "
            "AND NOT internal ORDER BY 1, 2").fetchall()
        for schema, name in objects:
            if schema not in schemas:
                continue
            con.execute(f"CREATE SCHEMA IF NOT EXISTS pub.{q(schema)}")
            con.execute(f"CREATE TABLE pub.{q(schema)}.{q(name)} AS SELECT * FROM work.{q(schema)}.{q(name)}")
            tables += 1
        con.execute("DETACH pub")
        con.execute("DETACH work")
    finally:
        con.close()
    _fsync(target)
    return tables


def remove_stale_temporaries(warehouse: Path) -> list[Path]:
    """Temporary files a killed publish left behind (``.<name>.<uuid>.tmp``)."""
    stale = sorted(warehouse.parent.glob(f".{warehouse.name}.*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def publish(work_db: Path, warehouse: Path, duckdb_config: dict[str, str] | None = None) -> PublishResult:
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    if duckdb_config and duckdb_config.get("temp_directory"):
        Path(duckdb_config["temp_directory"]).mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(warehouse)
    tmp = warehouse.with_name(f".{warehouse.name}.{uuid.uuid4().hex}.tmp")
    try:
        tables = copy_file(work_db, tmp, duckdb_config=duckdb_config)
        if tables is None:
            tables = build_copy(work_db, tmp, duckdb_config=duckdb_config)
        fault_point("publish:copied")
        prev: Path | None = None
        if warehouse.exists():
            prev = previous_path(warehouse)
            link = warehouse.with_name(f".{warehouse.name}.{uuid.uuid4().hex}.tmp")
            os.link(warehouse, link)  # the current file stays in place while it becomes "previous"
            os.replace(link, prev)
            link.unlink(missing_ok=True)  # rename is a no-op when prev already is this file (a killed publish)
        fault_point("publish:linked")
        os.replace(tmp, warehouse)
        _fsync(warehouse.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return PublishResult(warehouse, tables, prev)


def rolled_back_path(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.stem}.rolled_back{warehouse.suffix}")


def rollback(warehouse: Path) -> Path:
    """Put the previous version back in place, atomically; the replaced one is kept as
    ``<name>.rolled_back.duckdb``. One step only: afterwards there is no previous version."""
    prev = previous_path(warehouse)
    if not prev.exists():
        raise FileNotFoundError(f"no previous version of {warehouse} to roll back to ({prev} does not exist)")
    if warehouse.exists():
        link = warehouse.with_name(f".{warehouse.name}.{uuid.uuid4().hex}.rb")
        os.link(warehouse, link)
        os.replace(link, rolled_back_path(warehouse))
        link.unlink(missing_ok=True)
    os.replace(prev, warehouse)
    _fsync(warehouse.parent)
    return warehouse
