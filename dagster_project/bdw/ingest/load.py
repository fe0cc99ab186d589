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
  own: a crash leaves either the old or the new state, never part of a file;
- a quarantined file (or rejected row) of a source booked to contracts records the contracts it
  names in ``raw._held_back_contracts``: dbt's staging leaves those contracts, and everything
  booked to them, out until the file is fixed (docs/contract.md section 2);
- personal values are stored as pseudonyms, the real ones in the vault (``bdw.privacy``);
- only what :func:`~bdw.ingest.inbox.source_files` lists is read: never a link, never a path
  outside the inbox; and within the bounds of ``settings.limits`` (columns, line size, memory).

Raw tables hold every loaded row of every file with its lineage; the merge rules (later file
wins, ``is_deleted`` removes a key) are applied by the dbt staging models.

A source's files go through five steps (:meth:`_Batch.run`): ``stage`` each file (skip what is
known), read the others (``bdw.ingest.reading``), check all their rows (:func:`check_rows`, the
rules of ``bdw.ingest.row_rules``), ``judge`` each in name order (a duplicate, quarantined, or
loading) and ``load`` the loading files together.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import duckdb

from bdw.contract import HOLDS_BACK_CONTRACTS, SOURCES, Source
from bdw.faults import fault_point
from bdw.ingest import readers
from bdw.ingest.bookkeeping import (
    Issue,
    ManifestEntry,
    Severity,
    ensure_raw_tables,
    manifest_of,
    record_entries,
    release_held_back,
    replace_files_held_back,
    replace_files_issues,
    replace_held_back,
    replace_issues,
    transaction,
)
from bdw.ingest.inbox import source_files
from bdw.ingest.mapping import NO_PROFILE, Profile, folder_profile_name, load_profile
from bdw.ingest.outcome import FileResult, FileStatus, SourceResult
from bdw.ingest.prepare import match_headers
from bdw.ingest.quarantine import keep_file, write_rejected_rows
from bdw.ingest.reading import TEMP, FileReader, Incoming, ReadFile, Unreadable, drop_temp_tables
from bdw.ingest.row_rules import checked_select, install_macros
from bdw.privacy import Vault, ensure_protected, personal_columns
from bdw.settings import Settings
from bdw.sql import lit, q

SHOWN_ISSUES = 20  # a file's result carries its first problems; raw._load_issues has the rest
CHECKED = f"{TEMP}checked"  # the checking query's result: typed columns, _file_idx, _row_number, _issues
HeldBack = list[tuple[int | None, str]]  # (row number, contract_id) of the contracts a file names


def inbox_files(folder: Path) -> list[Path]:
    """Data files of one source folder, in processing (lexical) order: regular files only, never a
    link; ``_`` and ``.`` files are not data (``bdw.ingest.inbox``)."""
    return source_files(folder.parent, folder.name)[0]


def profile_for(settings: Settings, folder: Path) -> Profile:
    """The folder's own profile (``_profile.yml``), else the run's, else none."""
    name = folder_profile_name(folder) or settings.profile
    return load_profile(name, settings.profile_dirs) if name else NO_PROFILE


def limit_memory(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Bound the ingestion's DuckDB memory (``limits.memory``); beyond it DuckDB spills to the
    working folder's scratch space, and a file that still does not fit is quarantined."""
    config = settings.duckdb_config()
    spill = config["temp_directory"]
    Path(spill).mkdir(parents=True, exist_ok=True)
    con.execute(f"SET memory_limit = {lit(config['memory_limit'])}")
    if con.execute("SELECT current_setting('temp_directory')").fetchone()[0] != spill:
        con.execute(f"SET temp_directory = {lit(spill)}")  # once: DuckDB refuses to move one in use


def ingest_source(con: duckdb.DuckDBPyConnection, settings: Settings, source_name: str,
                  run_id: str | None = None) -> SourceResult:
    """Load a source's new files, in lexical order.

    The work is done per source, not per file, because per-statement costs dominate small files:
    the UTF-8 CSV files that share a header are read by one ``read_csv``, the rows of all files
    are checked by one query, and the files that load are written in one transaction. Each file is
    still judged on its own: a file that cannot be read, or a finance file with a bad row, is
    quarantined in a transaction of its own and the others load."""
    ensure_raw_tables(con)
    ensure_protected(con)
    install_macros(con)
    folder = settings.inbox / source_name
    files = inbox_files(folder)
    rels = [p.relative_to(settings.inbox).as_posix() for p in files]
    release_held_back(con, source_name, rels)  # a quarantined file removed from the inbox holds nothing back
    if not files:
        return SourceResult(source_name)
    profile = profile_for(settings, folder)
    settings.ingest_scratch.mkdir(parents=True, exist_ok=True)
    limit_memory(con, settings)
    source = SOURCES[source_name]
    reader = FileReader(con, source, profile.for_source(source_name), settings.ingest_scratch, settings.limits)
    vault = Vault(con, settings.personal_vault)
    batch = _Batch(con, settings, source, reader, profile.name, run_id or uuid.uuid4().hex, vault)
    try:
        return SourceResult(source_name, batch.run(files))
    finally:
        drop_temp_tables(con)
        vault.detach()


def twin(rows_in_raw: dict[str, str], file: str, digest: str) -> str | None:
    """The first file by name, other than ``file``, whose rows in the raw layer have content ``digest``
    (``rows_in_raw``: file -> content hash of the files whose rows are loaded)."""
    return min((f for f, d in rows_in_raw.items() if d == digest and f != file), default=None)


class _Batch:
    """One source's files in one pass."""

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings, source: Source, reader: FileReader,
                 profile: str, run_id: str, vault: Vault) -> None:
        self.con, self.settings, self.source, self.reader = con, settings, source, reader
        self.profile, self.run_id = profile, run_id  # for the manifest
        self.vault = vault
        self.known = manifest_of(con, source.name)
        # file -> content, of the files whose rows are in the raw layer; kept up to date as this
        # delivery's files are judged (a file quarantined or replaced no longer makes another a duplicate)
        self.rows_in_raw = {file: seen.file_hash for file, seen in self.known.items() if seen.status.holds_rows}

    @property
    def holds_back(self) -> bool:
        """Whether a quarantined row of this source holds its contract back (docs/contract.md section 2)."""
        return self.source.name in HOLDS_BACK_CONTRACTS

    def run(self, paths: list[Path]) -> list[FileResult]:
        """Each file's result, in name order."""
        results: dict[int, FileResult] = {}
        incoming: list[Incoming] = []
        for index, path in enumerate(paths):
            staged = self.stage(index, path)
            if isinstance(staged, Incoming):
                incoming.append(staged)
            else:
                results[index] = staged
        read: list[ReadFile] = []
        for r in self.reader.read_all(incoming):
            if isinstance(r, Unreadable):
                results[r.file.index] = self.quarantine(r.file, r.reason, held_back=self.keys_of_unreadable(r.file))
            else:
                read.append(r)
        issues = check_rows(self.con, self.source, read, self.vault) if read else {}
        loading: list[ReadFile] = []
        for f in read:
            if (skipped := self.judge(f, issues[f.file.index])) is None:
                loading.append(f)
            else:
                results[f.file.index] = skipped
        if loading:
            results |= self.load(loading, _extras(read), issues)
        return [results[i] for i in sorted(results)]

    def stage(self, index: int, path: Path) -> FileResult | Incoming:
        """Skip a file already loaded with the same content, or a duplicate of a file loaded before."""
        rel = path.relative_to(self.settings.inbox).as_posix()
        try:
            scan = readers.scan_file(path)
        except (OSError, readers.UnreadableFile) as e:  # gone, or swapped for a link, since it was listed
            reason = f"cannot be opened ({e.strerror or type(e).__name__})" if isinstance(e, OSError) else str(e)
            return self.quarantine(Incoming(index, path, rel, readers.FileScan("", 0, 0, b"")), reason, copy=False)
        f = Incoming(index, path, rel, scan)
        seen = self.known.get(f.rel)
        if seen and seen.file_hash == f.digest and (seen.status.holds_rows or seen.status is FileStatus.DUPLICATE):
            return FileResult(self.source.name, f.rel, FileStatus.UNCHANGED,
                              message="already loaded with the same content")
        if other := twin(self.rows_in_raw, f.rel, f.digest):  # a twin in this delivery: judge() finds it
            return self.duplicate(f, other)
        return f

    def judge(self, f: ReadFile, issues: list[Issue]) -> FileResult | None:
        """A checked file, judged in name order: a duplicate of an earlier file of this delivery, or
        a finance file with a bad row (quarantined), is skipped with its result; None: the file loads."""
        if other := twin(self.rows_in_raw, f.file.rel, f.file.digest):
            return self.duplicate(f.file, other)
        bad_rows = _bad_rows(issues)
        if bad_rows and self.settings.policy(self.source.name) == "file":
            return self.quarantine(
                f.file, f"{bad_rows} of {f.read.rows} rows break the contract; finance files load all or nothing",
                issues, f.read.rows, self.keys_named(f.prepared, f.file.index))
        self.rows_in_raw[f.file.rel] = f.file.digest
        return None

    def load(self, files: list[ReadFile], extras: list[str], issues: dict[int, list[Issue]]) -> dict[int, FileResult]:
        """The good rows of every loading file, their issues and manifest rows in one transaction;
        then each bad row goes to quarantine (``.rejected.csv``). ``extras``: the extra columns of
        every file read (the raw table gains them even from a file that did not load)."""
        entries = {f.file.index: self.loaded_entry(f, _bad_rows(issues[f.file.index])) for f in files}
        replaced = [f.file.rel for f in files if f.file.rel in self.known]  # seen before: its older rows go
        held_back = {f.file.index: self.keys_named(CHECKED, f.file.index, "len(_issues) > 0")
                     if self.holds_back and entries[f.file.index].rows_rejected else [] for f in files}
        add_extra_columns(self.con, self.source, extras)
        personal = personal_columns(self.source.name, extras)
        self.vault.record(CHECKED, personal, f"len(_issues) = 0 AND list_contains({_indexes(files)}, _file_idx)")
        with transaction(self.con):
            insert_good_rows(self.con, self.source, files, extras, replaced, personal)
            replace_files_issues(self.con, self.run_id, self.source.name,
                                 {f.file.rel: issues[f.file.index] for f in files}, Severity.REJECTED_ROW)
            replace_files_held_back(self.con, self.run_id, self.source.name,
                                    {f.file.rel: held_back[f.file.index] for f in files})
            record_entries(self.con, [entries[f.file.index] for f in files])
            fault_point("ingest:mid_file")
        fault_point("ingest:file_loaded")
        for f in files:
            if entries[f.file.index].rows_rejected:
                write_rejected_rows(self.con, self.settings, self.source.name, f.file.path, f.read, CHECKED,
                                    f.file.index)
        return {i: e.result(issues[i][:SHOWN_ISSUES]) for i, e in entries.items()}

    def quarantine(self, f: Incoming, reason: str, row_issues: list[Issue] | None = None,
                   rows_read: int = 0, held_back: HeldBack | None = None, copy: bool = True) -> FileResult:
        """Nothing of the file loads: it goes to quarantine with its reasons, in a transaction of its own."""
        self.rows_in_raw.pop(f.rel, None)
        issues = [Issue(None, None, f"file quarantined: {reason}", None), *(row_issues or [])]
        keep_file(self.settings, self.source.name, f.path, f.rel, issues, copy=copy)
        entry = self.entry(f, FileStatus.QUARANTINED, rows_read=rows_read, rows_rejected=rows_read, message=reason)
        with transaction(self.con):
            replace_issues(self.con, self.run_id, self.source.name, f.rel, issues, Severity.QUARANTINED_FILE)
            replace_held_back(self.con, self.run_id, self.source.name, f.rel, held_back or [])
            entry.record(self.con)
        return entry.result(issues[:1 + SHOWN_ISSUES])

    def keys_named(self, table: str, file_idx: int, where: str = "true") -> HeldBack:
        """The contracts the rows of ``table`` (of file ``file_idx``, matching ``where``) name, with
        the first row naming each; none for a source not booked to contracts."""
        if not self.holds_back:
            return []
        return self.con.execute(
            f"SELECT min(_row_number), CAST(contract_id AS VARCHAR) FROM {table} WHERE _file_idx = ? AND {where} "
            "AND contract_id IS NOT NULL GROUP BY 2 ORDER BY 1, 2", [file_idx]).fetchall()

    def keys_of_unreadable(self, f: Incoming) -> HeldBack:
        """The contracts an unreadable CSV file names, read leniently (a truncated file's readable
        rows): what its quarantine holds back. None from a file of another format, or whose
        header is past a limit or lacks contract_id."""
        if not self.holds_back or readers.FORMATS.get(f.path.suffix.lower()) != "csv":
            return []
        try:
            layout = readers.csv_layout(f.path, self.settings.limits.max_columns, self.settings.limits.max_line_bytes)
            index = match_headers(list(layout.headers), self.source, self.reader.mapping).by_column.get("contract_id")
            if index is None:
                return []
            values = readers.read_column_leniently(self.con, f.path, layout, index, self.settings.ingest_scratch)
        except (readers.UnreadableFile, duckdb.Error, OSError, UnicodeError):
            return []
        return [(None, v) for v in values]

    def duplicate(self, f: Incoming, other: str) -> FileResult:
        entry = self.entry(f, FileStatus.DUPLICATE, message=f"same content as {other}; skipped")
        entry.record(self.con)
        return entry.result()

    def loaded_entry(self, f: ReadFile, bad_rows: int) -> ManifestEntry:
        return self.entry(f.file, FileStatus.PARTIAL if bad_rows else FileStatus.LOADED, format=f.read.format,
                          encoding=f.read.encoding, rows_read=f.read.rows, rows_loaded=f.read.rows - bad_rows,
                          rows_rejected=bad_rows, message=f"{bad_rows} bad rows quarantined" if bad_rows else "")

    def entry(self, f: Incoming, status: FileStatus, **outcome) -> ManifestEntry:
        return ManifestEntry(self.source.name, f.rel, f.digest, f.size_bytes, self.profile, status, self.run_id,
                             **outcome)


def check_rows(con: duckdb.DuckDBPyConnection, source: Source, files: list[ReadFile],
               vault: Vault | None = None) -> dict[int, list[Issue]]:
    """Check every read file's rows in one query (table :data:`CHECKED`): each file's problems, by
    ``_file_idx``, in row order (a row's problems in the order of the rules). The value of a
    personal column is named by its pseudonym (``vault``)."""
    tables = list(dict.fromkeys(f.prepared for f in files))
    rows = tables[0]
    if len(tables) > 1:
        rows = f"{TEMP}prep_all"
        union = " UNION ALL BY NAME ".join(f"SELECT * FROM {t}" for t in tables)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {rows} AS {union}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS {checked_select(source, rows, _extras(files))}")
    personal = set(personal_columns(source.name, _extras(files)))
    issues: dict[int, list[Issue]] = {f.file.index: [] for f in files}
    for file_idx, row, column, rule, value in con.execute(
            "SELECT _file_idx, _row_number, i.column, i.rule, i.value FROM (SELECT _file_idx, _row_number, "
            f"unnest(_issues) AS i, generate_subscripts(_issues, 1) AS n FROM {CHECKED} WHERE len(_issues) > 0) "
            "ORDER BY _file_idx, _row_number, n").fetchall():
        if column in personal and vault is not None:
            value = vault.pseudonym(value)
        issues[file_idx].append(Issue(row, column, rule, value))
    return issues


def add_extra_columns(con: duckdb.DuckDBPyConnection, source: Source, extras: list[str]) -> None:
    """The raw table gains the extra columns it lacks, one statement each, outside the load's
    transaction: many ``ADD COLUMN`` in one transaction cost memory quadratic in their number
    (a 2,000-column file: 1.1 GB). An empty extra column left by a crash before the rows is harmless."""
    have = {c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'raw' "
        "AND table_name = ?", [source.name]).fetchall()}
    for extra in extras:
        if extra not in have:
            con.execute(f"ALTER TABLE raw.{source.name} ADD COLUMN IF NOT EXISTS {q(extra)} VARCHAR")


def insert_good_rows(con: duckdb.DuckDBPyConnection, source: Source, files: list[ReadFile], extras: list[str],
                     replaced: list[str], personal: list[str] | tuple[str, ...] = ()) -> None:
    """The checked rows without a problem of ``files`` into the raw table, with their lineage and
    ``personal`` columns as pseudonyms (macro ``bdw_pseudonym`` of ``bdw.privacy.Vault``); the rows
    of the ``replaced`` files' earlier versions go. The caller holds the transaction and has added
    the extra columns (:func:`add_extra_columns`)."""
    values = ", ".join(f"({f.file.index}, {lit(f.file.rel)}, {lit(f.file.digest)})" for f in files)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TEMP}loading AS SELECT * FROM (VALUES {values}) "
                "v(_file_idx, _source_file, _file_hash)")
    if replaced:
        con.execute(f"DELETE FROM raw.{source.name} WHERE list_contains(?, _source_file)", [replaced])
    cols = ", ".join(f"bdw_pseudonym(c.{q(c)}) AS {q(c)}" if c in personal else f"c.{q(c)}"
                     for c in [*source.column_names, *extras, "_row_number"])
    con.execute(
        f"INSERT INTO raw.{source.name} BY NAME SELECT {cols}, l._source_file, ? AS _loaded_at, l._file_hash "
        f"FROM {CHECKED} c JOIN {TEMP}loading l USING (_file_idx) WHERE len(c._issues) = 0 "
        "ORDER BY c._file_idx, c._row_number", [dt.datetime.now()])


def _indexes(files: list[ReadFile]) -> str:
    return "[" + ", ".join(str(int(f.file.index)) for f in files) + "]"


def _extras(files: list[ReadFile]) -> list[str]:
    """The extra columns of ``files``, in the order they first appear."""
    return list(dict.fromkeys(e for f in files for e in f.extras))


def _bad_rows(issues: list[Issue]) -> int:
    return len({i.row for i in issues})
