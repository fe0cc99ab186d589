"""Load one inbox folder (one source) into the raw layer of the working database.

The rules of CONTRACT.md sections 1 and 2:
- files in lexical order of their names; a file already loaded with the same content is skipped,
  and so is a file whose content equals another loaded file's (a duplicate re-export);
- each file is read, mapped through the mapping profile, checked row by row;
- finance sources are all or nothing per file, CRM and HR sources load their good rows;
- a quarantined file or row is copied to the quarantine folder with its reasons, and every
  problem is recorded in ``raw._load_issues`` naming file, row, column and rule;
- each file's load is one transaction: a crash leaves either the old or the new state.

Raw tables hold every loaded row of every file with its lineage; the merge rules (later file
wins, ``is_deleted`` removes a key) are applied by the dbt staging models.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from bdw import readers
from bdw.config import Settings
from bdw.contract import SOURCES, Source
from bdw.faults import fault_point
from bdw.mapping import (
    NO_PROFILE,
    Profile,
    SourceMapping,
    folder_profile_name,
    load_profile,
    normalise_header,
)
from bdw.validation import checked_select, install_macros, lit, q

LINEAGE = (("_source_file", "VARCHAR"), ("_row_number", "INTEGER"), ("_loaded_at", "TIMESTAMP"),
           ("_file_hash", "VARCHAR"))
MAX_ISSUES_PER_FILE = 1000  # every bad row is quarantined; the issue table keeps the first ones

BOOKKEEPING_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS raw._load_manifest (
    source VARCHAR, file VARCHAR, file_hash VARCHAR, size_bytes BIGINT, format VARCHAR, encoding VARCHAR,
    profile VARCHAR, status VARCHAR, rows_read INTEGER, rows_loaded INTEGER, rows_rejected INTEGER,
    message VARCHAR, run_id VARCHAR, loaded_at TIMESTAMP, PRIMARY KEY (source, file)
);
CREATE TABLE IF NOT EXISTS raw._run_context (as_of DATE, run_id VARCHAR, written_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS raw._load_issues (
    run_id VARCHAR, source VARCHAR, file VARCHAR, row_number INTEGER, "column" VARCHAR, rule VARCHAR,
    value VARCHAR, severity VARCHAR, message VARCHAR, recorded_at TIMESTAMP
);
"""


@dataclass
class FileResult:
    source: str
    file: str  # relative to the inbox
    status: str  # loaded | partial | quarantined | unchanged | duplicate
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str = ""
    issues: list[str] = field(default_factory=list)  # readable lines, first few


@dataclass
class SourceResult:
    source: str
    files: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the bookkeeping tables and every source's raw table (empty when no file came)."""
    con.execute(BOOKKEEPING_DDL)
    for source in SOURCES.values():
        cols = [f"{q(c.name)} {c.sql_type}" for c in source.columns] + [f"{n} {t}" for n, t in LINEAGE]
        con.execute(f"CREATE TABLE IF NOT EXISTS raw.{source.name} ({', '.join(cols)})")


def inbox_files(folder: Path) -> list[Path]:
    """Data files of one source folder, in processing (lexical) order; ``_`` and ``.`` files are not data."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(("_", "."))),
                  key=lambda p: p.name)


def profile_for(settings: Settings, folder: Path) -> Profile:
    name = folder_profile_name(folder) or settings.profile
    return load_profile(name, settings.profile_dirs) if name else NO_PROFILE


def ingest_source(con: duckdb.DuckDBPyConnection, settings: Settings, source_name: str,
                  run_id: str | None = None) -> SourceResult:
    """Load a source's new files. Every file is read and mapped on its own; the rows of all of
    them are then checked in one query (the checking query is costly to plan, not to run), and
    each file is loaded, or quarantined, in a transaction of its own, in lexical order."""
    source = SOURCES[source_name]
    run_id = run_id or uuid.uuid4().hex
    ensure_raw_tables(con)
    install_macros(con)
    folder = settings.inbox / source_name
    result = SourceResult(source_name)
    files = inbox_files(folder)
    if not files:
        return result
    profile = profile_for(settings, folder)
    mapping = profile.for_source(source_name)
    scratch = settings.workdir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    results: list[FileResult | _Pending] = []
    for index, path in enumerate(files):
        results.append(_stage_file(con, settings, source, mapping, profile.name, path, run_id, scratch, index))
    pending = [p for p in results if isinstance(p, _Pending)]
    if pending:
        extras = list(dict.fromkeys(e for p in pending for e in p.extras))
        union = " UNION ALL BY NAME ".join(f"SELECT *, {p.index} AS _file_idx FROM _prep_{p.index}" for p in pending)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _prep_all AS {union}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS {checked_select(source, '_prep_all', extras)}")
    for item in results:
        result.files.append(_finish_file(con, settings, source, profile.name, run_id, item)
                            if isinstance(item, _Pending) else item)
    for p in pending:
        con.execute(f"DROP TABLE IF EXISTS _in_{p.index}")
        con.execute(f"DROP TABLE IF EXISTS _prep_{p.index}")
    return result


@dataclass
class _Pending:
    """A file read and mapped, waiting for the source's checking query."""

    index: int
    path: Path
    rel: str
    digest: str
    read: readers.ReadResult
    extras: list[str]


def _manifest_state(con: duckdb.DuckDBPyConnection, source: str, rel: str,
                    digest: str) -> tuple[str | None, str | None]:
    """(status of this file with this content, name of another loaded file with the same content)."""
    same = con.execute(
        "SELECT status FROM raw._load_manifest WHERE source = ? AND file = ? AND file_hash = ?",
        [source, rel, digest]).fetchone()
    twin = con.execute(
        "SELECT file FROM raw._load_manifest WHERE source = ? AND file <> ? AND file_hash = ? "
        "AND status IN ('loaded', 'partial') ORDER BY file LIMIT 1", [source, rel, digest]).fetchone()
    return (same[0] if same else None), (twin[0] if twin else None)


def _stage_file(con: duckdb.DuckDBPyConnection, settings: Settings, source: Source, mapping: SourceMapping,
                profile_name: str, path: Path, run_id: str, scratch: Path, index: int) -> FileResult | _Pending:
    """Skip a file already loaded, quarantine one that cannot be read, or read and map it."""
    rel = path.relative_to(settings.inbox).as_posix()
    digest = readers.file_hash(path)
    status, twin = _manifest_state(con, source.name, rel, digest)
    if status in ("loaded", "partial", "duplicate"):
        return FileResult(source.name, rel, "unchanged", message="already loaded with the same content")
    if twin:
        # a twin loaded by an earlier run; a twin loaded earlier in this run is caught in _finish_file
        _record_manifest(con, source.name, rel, digest, path, None, profile_name, "duplicate", 0, 0, 0,
                         f"same content as {twin}; skipped", run_id)
        return FileResult(source.name, rel, "duplicate", message=f"same content as {twin}; skipped")
    try:
        read = readers.read_any(con, path, f"_in_{index}", scratch, _header_test(source, mapping))
        extras = _prepare(con, source, mapping, read, f"_prep_{index}")
    except (readers.UnreadableFile, MissingColumns) as e:
        return _quarantine_file(con, settings, source, path, rel, digest, profile_name, run_id, str(e))
    return _Pending(index, path, rel, digest, read, extras)


def _finish_file(con: duckdb.DuckDBPyConnection, settings: Settings, source: Source, profile_name: str,
                 run_id: str, p: _Pending) -> FileResult:
    """Load the file's good rows, or quarantine it, by the source's policy, in one transaction."""
    status, twin = _manifest_state(con, source.name, p.rel, p.digest)
    if twin:  # an earlier file of this run had the same content
        _record_manifest(con, source.name, p.rel, p.digest, p.path, None, profile_name, "duplicate", 0, 0, 0,
                         f"same content as {twin}; skipped", run_id)
        return FileResult(source.name, p.rel, "duplicate", message=f"same content as {twin}; skipped")
    rows_read = p.read.rows
    issues = con.execute(
        "SELECT _row_number, i.column, i.rule, i.value FROM (SELECT _row_number, unnest(_issues) AS i "
        "FROM _checked WHERE _file_idx = ? AND len(_issues) > 0) ORDER BY _row_number", [p.index]).fetchall()
    bad_rows = con.execute("SELECT count(*) FROM _checked WHERE _file_idx = ? AND len(_issues) > 0",
                           [p.index]).fetchone()[0]
    if bad_rows and settings.policy(source.name) == "file":
        return _quarantine_file(
            con, settings, source, p.path, p.rel, p.digest, profile_name, run_id,
            f"{bad_rows} of {rows_read} rows break the contract; finance files load all or nothing",
            issues, rows_read)
    status = "partial" if bad_rows else "loaded"
    loaded = rows_read - bad_rows
    now = dt.datetime.now()
    con.execute("BEGIN TRANSACTION")
    try:
        for extra in p.extras:
            con.execute(f"ALTER TABLE raw.{source.name} ADD COLUMN IF NOT EXISTS {q(extra)} VARCHAR")
        con.execute(f"DELETE FROM raw.{source.name} WHERE _source_file = ?", [p.rel])
        cols = ", ".join(q(c) for c in [*source.column_names, *p.extras, "_row_number"])
        con.execute(
            f"INSERT INTO raw.{source.name} BY NAME SELECT {cols}, ? AS _source_file, ? AS _loaded_at, "
            "? AS _file_hash FROM _checked WHERE _file_idx = ? AND len(_issues) = 0 ORDER BY _row_number",
            [p.rel, now, p.digest, p.index])
        _replace_issues(con, run_id, source.name, p.rel, issues, "rejected_row")
        message = f"{bad_rows} bad rows quarantined" if bad_rows else ""
        _record_manifest(con, source.name, p.rel, p.digest, p.path, p.read, profile_name, status, rows_read, loaded,
                         bad_rows, message, run_id)
        fault_point("ingest:mid_file")
        con.execute("COMMIT")
        fault_point("ingest:file_loaded")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if bad_rows:
        _write_rejected_rows(con, settings, source.name, p)
    return FileResult(source.name, p.rel, status, rows_read, loaded, bad_rows, message,
                      [_issue_line(p.rel, *i) for i in issues[:20]])


class MissingColumns(Exception):
    pass


def _header_test(source: Source, mapping: SourceMapping):
    known = set(source.column_names)

    def is_header(cells: list[str]) -> bool:
        names = [normalise_header(c) for c in cells if c]
        hits = sum(1 for n in names if n in known or n in mapping.aliases)
        return hits >= 2 and hits * 2 >= len(names)

    return is_header


def extra_column_name(header: str) -> str:
    name = re.sub(r"[^0-9a-z_\u4e00-\u9fff]+", "_", normalise_header(header)).strip("_")
    return name or "column"


def _prepare(con: duckdb.DuckDBPyConnection, source: Source, mapping: SourceMapping,
             read: readers.ReadResult, out: str) -> list[str]:
    """Rename headers to contract columns, apply the profile, trim blanks to NULL: table ``out``."""
    contract_cols = set(source.column_names)
    by_column: dict[str, str] = {}  # contract column -> header in the file
    by_normalised: dict[str, str] = {}  # normalised header -> header in the file
    extras: dict[str, str] = {}  # extra column name -> header in the file
    for header in read.headers:
        n = normalise_header(header)
        by_normalised.setdefault(n, header)
        col = mapping.aliases.get(n) or (n if n in contract_cols else None)
        if col:
            if col in by_column:
                raise readers.UnreadableFile(
                    f"two headers, {by_column[col]!r} and {header!r}, both mean column {col}; keep one")
            by_column[col] = header
        else:
            name = extra_column_name(header)
            while name in extras or name in contract_cols or name.startswith("_"):
                name = f"x{name}" if name.startswith("_") else f"{name}_2"
            extras[name] = header

    def text(header: str) -> str:
        return f"NULLIF(trim(CAST({q(header)} AS VARCHAR)), '')"

    exprs: dict[str, str] = {}
    for col in source.column_names:
        expr = text(by_column[col]) if col in by_column else None
        if col in mapping.fill:
            other = mapping.fill[col]
            other_header = by_column.get(other) or by_normalised.get(other)
            if other_header is None:
                raise MissingColumns(f"the profile fills {col} from {other!r}, but the file has no such column")
            expr = f"COALESCE({expr}, {text(other_header)})" if expr else text(other_header)
        if expr is None and col in mapping.constants:
            expr = lit(mapping.constants[col])
        if expr is not None and col in mapping.values:
            whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in mapping.values[col].items())
            expr = f"(CASE lower({expr}) {whens} ELSE {expr} END)"
        exprs[col] = expr or "CAST(NULL AS VARCHAR)"
    missing = [c for c in source.mandatory_headers if c not in by_column and c not in mapping.constants
               and c not in mapping.fill]
    if missing:
        found = ", ".join(read.headers)
        raise MissingColumns(
            f"lacks required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(the header row {read.header_row} has: {found})")
    select = [f"{e} AS {q(c)}" for c, e in exprs.items()]
    select += [f"{text(h)} AS {q(name)}" for name, h in extras.items()]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT {', '.join(select)}, _row_number FROM {read.table}")
    return list(extras)


def _issue_line(rel: str, row: int | None, column: str | None, rule: str, value: str | None) -> str:
    where = f"row {row}, column {column}" if row is not None else "whole file"
    found = f" (found {value!r})" if value is not None else ""
    return f"{rel}, {where}: {rule}{found}"


def _replace_issues(con: duckdb.DuckDBPyConnection, run_id: str, source: str, rel: str,
                    issues: list[tuple], severity: str) -> None:
    con.execute("DELETE FROM raw._load_issues WHERE source = ? AND file = ? AND severity <> 'reference'",
                [source, rel])
    if not issues:
        return
    now = dt.datetime.now()
    con.executemany(
        "INSERT INTO raw._load_issues VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(run_id, source, rel, row, col, rule, value, severity, _issue_line(rel, row, col, rule, value), now)
         for row, col, rule, value in issues[:MAX_ISSUES_PER_FILE]],
    )


def _record_manifest(con: duckdb.DuckDBPyConnection, source: str, rel: str, digest: str, path: Path,
                     read: readers.ReadResult | None, profile: str, status: str, rows_read: int,
                     rows_loaded: int, rows_rejected: int, message: str, run_id: str) -> None:
    con.execute(
        "INSERT OR REPLACE INTO raw._load_manifest VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [source, rel, digest, path.stat().st_size, read.format if read else None,
         read.encoding if read else None, profile, status, rows_read, rows_loaded, rows_rejected, message,
         run_id, dt.datetime.now()])


def _quarantine_dir(settings: Settings, source: str) -> Path:
    d = settings.quarantine_dir / source
    d.mkdir(parents=True, exist_ok=True)
    return d


def _quarantine_file(con: duckdb.DuckDBPyConnection, settings: Settings, source: Source, path: Path, rel: str,
                     digest: str, profile_name: str, run_id: str, reason: str,
                     row_issues: list[tuple] | None = None, rows_read: int = 0) -> FileResult:
    target = _quarantine_dir(settings, source.name)
    shutil.copy2(path, target / path.name)
    issues = [(None, None, f"file quarantined: {reason}", None), *(row_issues or [])]
    with (target / f"{path.name}.errors.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "row", "column", "rule", "value"])
        w.writerows([rel, *i] for i in issues)
    con.execute("BEGIN TRANSACTION")
    try:
        _replace_issues(con, run_id, source.name, rel, issues, "quarantined_file")
        _record_manifest(con, source.name, rel, digest, path, None, profile_name, "quarantined", rows_read, 0,
                         rows_read, reason, run_id)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return FileResult(source.name, rel, "quarantined", rows_read, 0, rows_read, reason,
                      [_issue_line(rel, *i) for i in issues[:21]])


def _write_rejected_rows(con: duckdb.DuckDBPyConnection, settings: Settings, source: str, p: _Pending) -> None:
    """The bad rows as exported, each with its reasons, for the user to fix and drop again."""
    out = _quarantine_dir(settings, source) / f"{p.path.stem}.rejected.csv"
    con.execute(
        "COPY (SELECT i.* EXCLUDE (_row_number), c._row_number AS _row, array_to_string(list_transform(c._issues, "
        f"lambda x: x.column || ': ' || x.rule), '; ') AS _reason FROM {p.read.table} i JOIN _checked c "
        f"ON c._file_idx = {p.index} AND c._row_number = i._row_number "
        f"WHERE len(c._issues) > 0 ORDER BY _row) TO {lit(str(out))} (HEADER, DELIMITER ',')")
