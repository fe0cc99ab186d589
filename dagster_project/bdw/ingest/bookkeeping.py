"""The raw schema's layout: every source's table, and ingestion's bookkeeping tables.

- ``raw.<source>``: the contract's columns, typed (``Column.sql_type``), then the :data:`LINEAGE`
  columns; a file's extra columns are added as VARCHAR when it loads.
- ``raw._load_manifest``: one row per file seen (source, file): its content hash, size, format,
  profile, :class:`~bdw.ingest.outcome.FileStatus` and row counts. It is what makes a file dropped
  twice change nothing, and what the summary and the report count.
- ``raw._load_issues``: every problem found, naming file, row, column and rule (the first
  :data:`MAX_ISSUES_PER_FILE` of a file; every bad row still goes to quarantine). A file's issues
  are replaced whenever the file is judged again.
- ``raw._held_back_contracts``: the contracts named by a quarantined file (or a rejected row) of a
  source booked to contracts (``bdw.contract.HOLDS_BACK_CONTRACTS``), with the file and the first
  row naming each. dbt's staging leaves them, and everything booked to them, out of the KPIs, and
  ``dq.reference_issues`` lists them (docs/contract.md section 2). A file's rows are replaced
  whenever the file is judged again, and go when it loads or leaves the inbox.
- ``raw._run_context``: the run's as-of date for dbt (written by ``bdw.run_context``).
- ``raw._freshness_rules``: each source's cadence and freshness threshold from the run's settings
  (written with the run context; read by the dbt model ``dq.source_freshness``,
  bdw.quality.freshness).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import NamedTuple

import duckdb

from bdw.contract import SOURCES
from bdw.ingest.outcome import FileResult, FileStatus
from bdw.sql import q

LINEAGE = (("_source_file", "VARCHAR"), ("_row_number", "INTEGER"), ("_loaded_at", "TIMESTAMP"),
           ("_file_hash", "VARCHAR"))
MAX_ISSUES_PER_FILE = 1000

BOOKKEEPING_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS raw._load_manifest (
    source VARCHAR, file VARCHAR, file_hash VARCHAR, size_bytes BIGINT, format VARCHAR, encoding VARCHAR,
    profile VARCHAR, status VARCHAR, rows_read INTEGER, rows_loaded INTEGER, rows_rejected INTEGER,
    message VARCHAR, run_id VARCHAR, loaded_at TIMESTAMP, PRIMARY KEY (source, file)
);
CREATE TABLE IF NOT EXISTS raw._run_context (as_of DATE, run_id VARCHAR, written_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS raw._freshness_rules (source VARCHAR PRIMARY KEY, cadence VARCHAR, max_age_days INTEGER);
CREATE TABLE IF NOT EXISTS raw._load_issues (
    run_id VARCHAR, source VARCHAR, file VARCHAR, row_number INTEGER, "column" VARCHAR, rule VARCHAR,
    value VARCHAR, severity VARCHAR, message VARCHAR, recorded_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS raw._held_back_contracts (
    source VARCHAR, file VARCHAR, row_number INTEGER, contract_id VARCHAR, run_id VARCHAR, recorded_at TIMESTAMP
);
"""


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the bookkeeping tables and every source's raw table (empty when no file came)."""
    con.execute(BOOKKEEPING_DDL)
    for source in SOURCES.values():
        cols = [f"{q(c.name)} {c.sql_type}" for c in source.columns] + [f"{n} {t}" for n, t in LINEAGE]
        con.execute(f"CREATE TABLE IF NOT EXISTS raw.{source.name} ({', '.join(cols)})")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """A file's rows and its bookkeeping are written together or not at all: a crash leaves the
    old state or the new one, never a file half-recorded."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


class Severity(StrEnum):
    """``raw._load_issues.severity``: what the problem cost."""

    QUARANTINED_FILE = "quarantined_file"  # the whole file is in quarantine
    REJECTED_ROW = "rejected_row"  # the row is in quarantine, the file's other rows loaded


class Issue(NamedTuple):
    """One problem: a row's column breaking a rule, or (``row`` None) the whole file."""

    row: int | None
    column: str | None
    rule: str
    value: str | None

    def line(self, file: str) -> str:
        """The problem in a sentence, for the summary, the run log and ``raw._load_issues.message``."""
        if self.row is None:
            where = "whole file"
        else:
            where = f"row {self.row}" + (f", column {self.column}" if self.column is not None else "")
        found = f" (found {self.value!r})" if self.value is not None else ""
        return f"{file}, {where}: {self.rule}{found}"


def replace_issues(con: duckdb.DuckDBPyConnection, run_id: str, source: str, file: str,
                   issues: Sequence[Issue], severity: Severity) -> None:
    """The file's issues from this judgement replace those of any earlier one."""
    replace_files_issues(con, run_id, source, {file: issues}, severity)


def replace_files_issues(con: duckdb.DuckDBPyConnection, run_id: str, source: str,
                         issues: Mapping[str, Sequence[Issue]], severity: Severity) -> None:
    """``replace_issues`` for several files (``file -> its issues``) in two statements: a delivery
    of hundreds of files paid a DELETE per file (~1 ms each)."""
    con.execute("DELETE FROM raw._load_issues WHERE source = ? AND list_contains(?, file)", [source, list(issues)])
    now = dt.datetime.now()
    rows = [(run_id, source, file, *i, severity, i.line(file), now)
            for file, found in issues.items() for i in found[:MAX_ISSUES_PER_FILE]]
    if rows:
        con.executemany("INSERT INTO raw._load_issues VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def replace_held_back(con: duckdb.DuckDBPyConnection, run_id: str, source: str, file: str,
                      contracts: Sequence[tuple[int | None, str]]) -> None:
    """The contracts ``file`` holds back now (``(row, contract_id)``; none when it loads whole)."""
    replace_files_held_back(con, run_id, source, {file: contracts})


def replace_files_held_back(con: duckdb.DuckDBPyConnection, run_id: str, source: str,
                            contracts: Mapping[str, Sequence[tuple[int | None, str]]]) -> None:
    """``replace_held_back`` for several files (``file -> its (row, contract_id)``) at once."""
    con.execute("DELETE FROM raw._held_back_contracts WHERE source = ? AND list_contains(?, file)",
                [source, list(contracts)])
    now = dt.datetime.now()
    rows = [(source, file, row, contract, run_id, now) for file, held in contracts.items() for row, contract in held]
    if rows:
        con.executemany("INSERT INTO raw._held_back_contracts VALUES (?, ?, ?, ?, ?, ?)", rows)


def release_held_back(con: duckdb.DuckDBPyConnection, source: str, present: Sequence[str]) -> None:
    """A file no longer in the inbox holds nothing back (``present``: the source's files, relative to the inbox)."""
    con.execute("DELETE FROM raw._held_back_contracts WHERE source = ? AND NOT list_contains(?, file)",
                [source, list(present)])


class Seen(NamedTuple):
    """A file as the manifest remembers it."""

    file_hash: str
    status: FileStatus


def manifest_of(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, Seen]:
    """Every file of ``source`` the manifest remembers, by its path relative to the inbox."""
    rows = con.execute("SELECT file, file_hash, status FROM raw._load_manifest WHERE source = ? ORDER BY file",
                       [source]).fetchall()
    return {file: Seen(digest, FileStatus(status)) for file, digest, status in rows}


@dataclass(frozen=True)
class ManifestEntry:
    """One row of ``raw._load_manifest``: a file as ingestion judged it."""

    source: str
    file: str  # relative to the inbox
    file_hash: str
    size_bytes: int
    profile: str
    status: FileStatus
    run_id: str
    format: str | None = None  # how it was read: set for a file whose rows loaded
    encoding: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str = ""

    def record(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write (or overwrite) the file's manifest row, stamped now."""
        record_entries(con, [self])

    def result(self, issues: Sequence[Issue] = ()) -> FileResult:
        """The file's result for the caller, with ``issues`` as readable lines."""
        return FileResult(self.source, self.file, self.status, self.rows_read, self.rows_loaded,
                          self.rows_rejected, self.message, [i.line(self.file) for i in issues])


def record_entries(con: duckdb.DuckDBPyConnection, entries: Sequence[ManifestEntry]) -> None:
    """Write (or overwrite) the manifest rows of ``entries`` in one statement, stamped now (one
    statement per file cost ~1 ms each, a second for the sample's deliveries)."""
    if not entries:
        return
    names = [f.name for f in fields(ManifestEntry)]
    row = f"({', '.join('?' for _ in names)}, ?)"
    now = dt.datetime.now()
    con.execute(f"INSERT OR REPLACE INTO raw._load_manifest ({', '.join(names)}, loaded_at) "
                f"VALUES {', '.join(row for _ in entries)}",
                [v for e in entries for v in (*(getattr(e, n) for n in names), now)])
