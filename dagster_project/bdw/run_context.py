"""What a run needs to know besides paths: its as-of date, its freshness thresholds, and the
environment dbt reads."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping

import duckdb

from bdw.contract import SOURCES
from bdw.ingest import ensure_raw_tables, inbox_files
from bdw.quality.freshness import FreshnessRule
from bdw.settings import Settings

_LEADING_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def file_date(name: str) -> dt.date | None:
    """The export date a file name starts with (``2026-03-01_contracts.csv``), or None."""
    m = _LEADING_DATE.match(name.rsplit("/", 1)[-1])
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def newest_date(names) -> dt.date | None:
    """The newest export date among file names (those without one are left out)."""
    return max((d for d in map(file_date, names) if d), default=None)


def newest_file_date(settings: Settings) -> dt.date | None:
    """The date at the start of the newest file name in the inbox (exports are named by date)."""
    return newest_date(path.name for source in SOURCES for path in inbox_files(settings.inbox / source))


def resolve_as_of(settings: Settings, explicit: str | dt.date | None = None) -> dt.date:
    """``--as-of`` if given, else ``BDW_AS_OF`` (``settings.as_of``), else the newest file's date, else today."""
    if isinstance(explicit, dt.date):
        return explicit
    if explicit:
        return dt.date.fromisoformat(explicit)
    return settings.as_of or newest_file_date(settings) or dt.date.today()


def export_environment(settings: Settings) -> None:
    """Make this process's dbt and DuckDB resources point at ``settings``' working database.

    Only what dbt's profile reads is exported (the working database's path, its memory limit and
    spill folder: ``Settings.dbt_env``); the run's other paths travel in the ``bdw`` resource, so a
    later run in the same process starts from its own arguments, not from the previous run's."""
    settings.duckdb_spill.mkdir(parents=True, exist_ok=True)  # inside the working folder
    os.environ.update(settings.dbt_env())


def write_run_context(con: duckdb.DuckDBPyConnection, as_of: dt.date, run_id: str,
                      freshness: Mapping[str, FreshnessRule]) -> None:
    """The run's as-of date and its freshness thresholds (``settings.freshness``) for dbt (macro
    as_of_date() and the model dq.source_freshness read them at query time; dbt vars would make dbt
    re-parse the whole project whenever they change)."""
    ensure_raw_tables(con)  # raw._run_context and raw._freshness_rules are ingestion's bookkeeping tables
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM raw._run_context")
    con.execute("INSERT INTO raw._run_context VALUES (?, ?, ?)", [as_of, run_id, dt.datetime.now()])
    con.execute("DELETE FROM raw._freshness_rules")
    con.executemany("INSERT INTO raw._freshness_rules VALUES (?, ?, ?)",
                    [(r.source, r.cadence, r.max_age_days) for r in freshness.values()])
    con.execute("COMMIT")
