"""Load one inbox folder (one source) into the raw layer of the working database.

The rules of docs/contract.md sections 1 and 2:
- files in lexical order of their names; a file already loaded with the same content is skipped,
  and so is a file whose content equals another loaded file's (a duplicate re-export);
- each file is read, mapped through the mapping profile, checked row by row (files sharing a
  header are read together, and all of a source's rows are checked by one query);
- finance sources are all or nothing per file, CRM and HR sources load their good rows;
- a quarantined file or row is copied to the quarantine folder with its reasons, and every
  problem is recorded in ``raw._load_issues`` naming file, row, column and rule;
- the files that load are written in one transaction per source, a quarantined file in one of its
  own: a crash leaves either the old or the new state, never part of a file.

Raw tables hold every loaded row of every file with its lineage; the merge rules (later file
wins, ``is_deleted`` removes a key) are applied by the dbt staging models.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import duckdb

from bdw.contract import SOURCES, Source
from bdw.faults import fault_point
from bdw.ingest import readers
from bdw.ingest.mapping import (
    NO_PROFILE,
    Profile,
    SourceMapping,
    folder_profile_name,
    load_profile,
    normalise_header,
)
from bdw.ingest.row_rules import checked_select, install_macros
from bdw.settings import Settings
from bdw.sql import lit, q

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
    """Load a source's new files, in lexical order.

    The work is done per source, not per file, because per-statement costs dominate small files:
    the UTF-8 CSV files that share a header are read by one ``read_csv`` (a file DuckDB cannot read
    sends its group back to one read per file, so that the error names the file), the rows of all
    files are checked by one query, and the files that load are written in one transaction. Each
    file is still judged on its own: a file that cannot be read, or a finance file with a bad row,
    is quarantined in a transaction of its own and the others load."""
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
    batch = _Batch(con, settings, source, mapping, profile.name, run_id, scratch)
    try:
        for index, path in enumerate(files):
            batch.stage(index, path)
        batch.read()
        result.files = batch.finish()
    finally:
        batch.drop_temp_tables()
    return result


@dataclass
class _Pending:
    """A file read and mapped, waiting for the source's checking query."""

    index: int
    path: Path
    rel: str
    digest: str
    read: readers.ReadResult | None = None
    extras: list[str] = field(default_factory=list)


class _Batch:
    """One source's files in one pass: stage (skip known files), read, check, load."""

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings, source: Source,
                 mapping: SourceMapping, profile_name: str, run_id: str, scratch: Path) -> None:
        self.con, self.settings, self.source, self.mapping = con, settings, source, mapping
        self.profile_name, self.run_id, self.scratch = profile_name, run_id, scratch
        rows = con.execute("SELECT file, file_hash, status FROM raw._load_manifest WHERE source = ? ORDER BY file",
                           [source.name]).fetchall()
        self.known = {file: (digest, status) for file, digest, status in rows}
        self.loaded_by_digest: dict[str, list[str]] = {}  # the loaded or partial files of each content
        for file, digest, status in rows:
            if status in ("loaded", "partial"):
                self.loaded_by_digest.setdefault(digest, []).append(file)
        self.results: dict[int, FileResult | _Pending] = {}
        self.temps: list[str] = []
        self.groups: dict[str, list[int]] = {}  # group view -> its files' indexes

    def twin(self, rel: str, digest: str) -> str | None:
        """Another loaded file with this content (the first by name)."""
        return next((f for f in sorted(self.loaded_by_digest.get(digest, ())) if f != rel), None)

    def stage(self, index: int, path: Path) -> None:
        """Skip a file already loaded with the same content, or a duplicate of another one."""
        rel = path.relative_to(self.settings.inbox).as_posix()
        digest = readers.file_hash(path)
        known = self.known.get(rel)
        if known and known[0] == digest and known[1] in ("loaded", "partial", "duplicate"):
            self.results[index] = FileResult(self.source.name, rel, "unchanged",
                                             message="already loaded with the same content")
            return
        if twin := self.twin(rel, digest):  # a twin loaded by an earlier run; one of this run is caught in finish
            self.results[index] = self._duplicate(rel, digest, path, twin)
            return
        self.results[index] = _Pending(index, path, rel, digest)

    def _duplicate(self, rel: str, digest: str, path: Path, twin: str) -> FileResult:
        _record_manifest(self.con, self.source.name, rel, digest, path, None, self.profile_name, "duplicate",
                         0, 0, 0, f"same content as {twin}; skipped", self.run_id)
        return FileResult(self.source.name, rel, "duplicate", message=f"same content as {twin}; skipped")

    def _forget(self, rel: str) -> None:
        """``rel`` is being replaced: its earlier content no longer makes another file a duplicate."""
        if rel in self.known:
            self.loaded_by_digest[self.known[rel][0]] = [
                f for f in self.loaded_by_digest.get(self.known[rel][0], ()) if f != rel]

    def _quarantine(self, p: _Pending, reason: str, row_issues: list[tuple] | None = None,
                    rows_read: int = 0) -> None:
        self._forget(p.rel)
        self.results[p.index] = _quarantine_file(self.con, self.settings, self.source, p.path, p.rel, p.digest,
                                                 self.profile_name, self.run_id, reason, row_issues, rows_read)

    def read(self) -> None:
        """Read and map every pending file; UTF-8 CSV files sharing a header are read together."""
        groups: dict[readers.CsvLayout, list[_Pending]] = {}
        for p in [r for r in self.results.values() if isinstance(r, _Pending)]:
            table = f"_in_{p.index}"
            try:
                fmt = readers.file_format(p.path)
                readers.check_not_empty(p.path, fmt)
                if fmt == "csv":
                    layout = readers.csv_layout(p.path)
                    if layout.utf8:
                        groups.setdefault(layout, []).append(p)
                        continue
                    read = partial(readers.read_csv, self.con, p.path, table, self.scratch, layout)  # transcoded
                elif fmt == "parquet":
                    read = partial(readers.read_parquet, self.con, p.path, table)
                else:
                    read = partial(readers.read_xlsx, self.con, p.path, table, _header_test(self.source, self.mapping))
            except readers.UnreadableFile as e:
                self._quarantine(p, str(e))
                continue
            self._read_alone(p, read)
        for layout, members in groups.items():
            self._read_group(layout, members)

    def _read_alone(self, p: _Pending, read: Callable[[], readers.ReadResult]) -> None:
        try:
            p.read = read()
        except readers.UnreadableFile as e:
            self._quarantine(p, str(e))
            return
        self.temps.append(p.read.table)
        self._prepare(p.read, [p], p.index)

    def _read_group(self, layout: readers.CsvLayout, members: list[_Pending]) -> None:
        if len(members) > 1:
            table = f"_grp_{members[0].index}"
            self.groups[table] = [p.index for p in members]
            try:
                group, reads = readers.read_csv_group(self.con, {p.index: p.path for p in members}, layout, table)
            except duckdb.Error:
                pass  # some file is malformed: read them one by one below, so that its error names it
            else:
                for p in members:
                    p.read = reads[p.index]
                self._prepare(group, members, None)
                return
        for p in members:
            self._read_alone(p, partial(readers.read_csv, self.con, p.path, f"_in_{p.index}", self.scratch, layout))

    def _prepare(self, read: readers.ReadResult, members: list[_Pending], file_idx: int | None) -> None:
        """Map ``read`` (one file's, or a group's with its ``_file_idx``) into ``_prep_<first index>``."""
        out = f"_prep_{members[0].index}"
        try:
            extras = _prepare(self.con, self.source, self.mapping, read, out, file_idx)
        except (readers.UnreadableFile, MissingColumns) as e:
            for p in members:
                self._quarantine(p, str(e))
            return
        self.temps.append(out)
        for p in members:
            p.extras = extras

    def finish(self) -> list[FileResult]:
        """Check every read file's rows in one query, then judge and load the files in name order."""
        pending = [r for r in self.results.values() if isinstance(r, _Pending)]
        if not pending:
            return [self.results[i] for i in sorted(self.results)]
        con, source = self.con, self.source
        extras = list(dict.fromkeys(e for p in pending for e in p.extras))
        preps = [t for t in self.temps if t.startswith("_prep_")]
        rows = preps[0]
        if len(preps) > 1:
            rows = "_prep_all"
            union = " UNION ALL BY NAME ".join(f"SELECT * FROM {t}" for t in preps)
            con.execute(f"CREATE OR REPLACE TEMP TABLE _prep_all AS {union}")
            self.temps.append(rows)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS {checked_select(source, rows, extras)}")
        self.temps.append("_checked")
        bad = dict(con.execute("SELECT _file_idx, count(*) FROM _checked WHERE len(_issues) > 0 GROUP BY 1").fetchall())
        loads: list[tuple[_Pending, int, list[tuple]]] = []
        for index in sorted(self.results):
            p = self.results[index]
            if not isinstance(p, _Pending):
                continue
            if twin := self.twin(p.rel, p.digest):  # an earlier file of this run had the same content
                self.results[index] = self._duplicate(p.rel, p.digest, p.path, twin)
                continue
            bad_rows = bad.get(p.index, 0)
            issues = con.execute(
                "SELECT _row_number, i.column, i.rule, i.value FROM (SELECT _row_number, unnest(_issues) AS i "
                "FROM _checked WHERE _file_idx = ? AND len(_issues) > 0) ORDER BY _row_number",
                [p.index]).fetchall() if bad_rows else []
            if bad_rows and self.settings.policy(source.name) == "file":
                self._quarantine(p, f"{bad_rows} of {p.read.rows} rows break the contract; finance files load "
                                 "all or nothing", issues, p.read.rows)
                continue
            loads.append((p, bad_rows, issues))
            self._forget(p.rel)
            self.loaded_by_digest.setdefault(p.digest, []).append(p.rel)
        if loads:
            self._load(loads, extras)
        return [self.results[i] for i in sorted(self.results)]

    def _load(self, loads: list[tuple[_Pending, int, list[tuple]]], extras: list[str]) -> None:
        """The good rows of every loading file, their issues and manifest rows: one transaction."""
        con, source = self.con, self.source
        now = dt.datetime.now()
        values = ", ".join(f"({p.index}, {lit(p.rel)}, {lit(p.digest)})" for p, _, _ in loads)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _loading AS SELECT * FROM (VALUES {values}) "
                    "v(_file_idx, _source_file, _file_hash)")
        self.temps.append("_loading")
        replaced = [p.rel for p, _, _ in loads if p.rel in self.known]
        con.execute("BEGIN TRANSACTION")
        try:
            for extra in extras:
                con.execute(f"ALTER TABLE raw.{source.name} ADD COLUMN IF NOT EXISTS {q(extra)} VARCHAR")
            if replaced:  # a file delivered again with new content replaces its rows
                con.execute(f"DELETE FROM raw.{source.name} WHERE list_contains(?, _source_file)", [replaced])
            cols = ", ".join(f"c.{q(c)}" for c in [*source.column_names, *extras, "_row_number"])
            con.execute(
                f"INSERT INTO raw.{source.name} BY NAME SELECT {cols}, l._source_file, ? AS _loaded_at, l._file_hash "
                "FROM _checked c JOIN _loading l USING (_file_idx) WHERE len(c._issues) = 0 "
                "ORDER BY c._file_idx, c._row_number", [now])
            for p, bad_rows, issues in loads:
                _replace_issues(con, self.run_id, source.name, p.rel, issues, "rejected_row")
                message = f"{bad_rows} bad rows quarantined" if bad_rows else ""
                _record_manifest(con, source.name, p.rel, p.digest, p.path, p.read, self.profile_name,
                                 "partial" if bad_rows else "loaded", p.read.rows, p.read.rows - bad_rows,
                                 bad_rows, message, self.run_id)
                self.results[p.index] = FileResult(source.name, p.rel, "partial" if bad_rows else "loaded",
                                                   p.read.rows, p.read.rows - bad_rows, bad_rows, message,
                                                   [_issue_line(p.rel, *i) for i in issues[:20]])
            fault_point("ingest:mid_file")
            con.execute("COMMIT")
            fault_point("ingest:file_loaded")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        for p, bad_rows, _ in loads:
            if bad_rows:
                _write_rejected_rows(con, self.settings, source.name, p)

    def drop_temp_tables(self) -> None:
        for t in self.temps:
            self.con.execute(f"DROP TABLE IF EXISTS {t}")
        for g, indexes in self.groups.items():
            readers.drop_group(self.con, g, indexes)


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
             read: readers.ReadResult, out: str, file_idx: int | None) -> list[str]:
    """Rename headers to contract columns, apply the profile, trim blanks to NULL: table ``out``,
    with ``_file_idx`` (``file_idx``, or the read table's own column for a group of files)."""
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
    file_col = "_file_idx" if file_idx is None else f"{int(file_idx)} AS _file_idx"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT {', '.join(select)}, _row_number, {file_col} "
                f"FROM {read.table}")
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
