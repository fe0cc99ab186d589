"""What a run needs to know besides paths: its as-of date, and the environment dbt reads."""

from __future__ import annotations

import datetime as dt
import os
import re

import duckdb

from bdw.config import DUCKDB_PATH_ENV, Settings
from bdw.contract import SOURCES
from bdw.ingest import inbox_files

_LEADING_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def newest_file_date(settings: Settings) -> dt.date | None:
    """The date at the start of the newest file name in the inbox (exports are named by date)."""
    newest: dt.date | None = None
    for source in SOURCES:
        for path in inbox_files(settings.inbox / source):
            m = _LEADING_DATE.match(path.name)
            if not m:
                continue
            try:
                day = dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                continue
            newest = max(newest, day) if newest else day
    return newest


def resolve_as_of(settings: Settings, explicit: str | dt.date | None = None) -> dt.date:
    """``--as-of`` if given, else ``BDW_AS_OF``, else the newest file's date, else today."""
    value = explicit or os.environ.get("BDW_AS_OF")
    if isinstance(value, dt.date):
        return value
    if value:
        return dt.date.fromisoformat(value)
    return newest_file_date(settings) or dt.date.today()


def export_environment(settings: Settings) -> None:
    """Make this process's dbt and DuckDB resources point at ``settings``' working database.

    Only the working database's path is exported (dbt's profile reads it); the run's other paths
    travel in the ``bdw`` resource, so a later run in the same process starts from its own
    arguments, not from the previous run's."""
    settings.workdir.mkdir(parents=True, exist_ok=True)
    os.environ[DUCKDB_PATH_ENV] = str(settings.work_db)


def write_run_context(con: duckdb.DuckDBPyConnection, as_of: dt.date, run_id: str) -> None:
    """The run's as-of date for dbt (macro as_of_date() reads it at query time; a dbt var would
    change from night to night and make dbt re-parse the whole project)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE TABLE IF NOT EXISTS raw._run_context (as_of DATE, run_id VARCHAR, written_at TIMESTAMP)")
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM raw._run_context")
    con.execute("INSERT INTO raw._run_context VALUES (?, ?, ?)", [as_of, run_id, dt.datetime.now()])
    con.execute("COMMIT")
