"""A delivery's new files read and mapped onto the contract, ready for the row checks.

Each file becomes a temporary table of text in the contract's columns (``bdw.ingest.prepare``).
The per-statement cost dominates small files, so the UTF-8 CSV files that share a layout
(encoding, header and delimiter) are read by one ``read_csv`` and mapped by one statement; if
DuckDB cannot read the group, its files are read one by one, so that the error names the file.
A file that cannot be read or mapped is handed back with the reason, for quarantine.

A CSV file that may have been cut off is always read alone: one whose ``"`` are unbalanced, or
that does not end cleanly (:class:`~bdw.ingest.readers.FileScan`). DuckDB's multi-file read drops
an unterminated quote at the end of a file without an error (a file read alone raises, naming the
line), and a file cut inside its last unquoted field reads as if whole: its last row is marked
(``_maybe_cut``) and the row rules reject it (a finance file is then quarantined whole). A file
whose name holds glob characters is read alone too, from a copy (``readers.is_literal``).

Every temporary table or view of the ingestion (these, and the checking and loading tables of
``bdw.ingest.load``) starts with :data:`TEMP`; :func:`drop_temp_tables` removes them all when the
source is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from bdw.contract import Source
from bdw.ingest import readers
from bdw.ingest.mapping import SourceMapping
from bdw.ingest.prepare import header_test, prepare
from bdw.ingest.readers import CsvLayout, FileScan, ReadResult, UnreadableFile
from bdw.settings import IngestLimits

TEMP = "_ingest_"


@dataclass(frozen=True)
class Incoming:
    """A file of the delivery that is neither unchanged nor a known duplicate."""

    index: int  # its place in processing (name) order: ``_file_idx`` in the batch's tables
    path: Path
    rel: str  # relative to the inbox
    scan: FileScan

    @property
    def digest(self) -> str:
        return self.scan.digest

    @property
    def size_bytes(self) -> int:
        return self.scan.size

    @property
    def may_be_cut(self) -> bool:
        """Signs of a CSV file cut off (only meaningful for CSV): read it alone."""
        return self.scan.quotes_unbalanced or not self.scan.ends_cleanly


@dataclass(frozen=True)
class ReadFile:
    """A file read and mapped, waiting for the checks."""

    file: Incoming
    read: ReadResult  # its rows as read, headers as written (the rejected-rows export shows them)
    prepared: str  # the table of its mapped rows (shared with the files read together with it)
    extras: tuple[str, ...]  # the extra columns of that table


@dataclass(frozen=True)
class Unreadable:
    file: Incoming
    reason: str


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every temporary view and table of the ingestion (names starting with :data:`TEMP`)."""
    for kind, catalog, column in (("VIEW", "duckdb_views", "view_name"), ("TABLE", "duckdb_tables", "table_name")):
        names = con.execute(f"SELECT {column} FROM {catalog}() WHERE temporary AND starts_with({column}, ?)",
                            [TEMP]).fetchall()
        for (name,) in names:
            con.execute(f"DROP {kind} IF EXISTS {name}")


@dataclass(frozen=True)
class FileReader:
    """Reads one source's files with its mapping profile into the working database's temp tables."""

    con: duckdb.DuckDBPyConnection
    source: Source
    mapping: SourceMapping
    scratch: Path  # for GBK text transcoded to UTF-8
    limits: IngestLimits = IngestLimits()

    def read_all(self, files: list[Incoming]) -> list[ReadFile | Unreadable]:
        """Every file read and mapped, or the reason it cannot be; in name order."""
        out: list[ReadFile | Unreadable] = []
        together: dict[CsvLayout, list[Incoming]] = {}
        for f in files:
            try:
                layout = _csv_layout(f.path, self.limits)
            except UnreadableFile as e:
                out.append(Unreadable(f, str(e)))
                continue
            if layout is not None and layout.utf8 and not f.may_be_cut and readers.is_literal(f.path):
                together.setdefault(layout, []).append(f)
            else:
                out.append(self._read_alone(f, layout))
        for layout, members in together.items():
            out += self._read_together(layout, members)
        return sorted(out, key=lambda r: r.file.index)

    def _read_alone(self, f: Incoming, layout: CsvLayout | None) -> ReadFile | Unreadable:
        table = f"{TEMP}in_{f.index}"
        try:
            if layout is not None:
                read = readers.read_csv(self.con, f.path, table, self.scratch, layout)
            elif readers.file_format(f.path) == "parquet":
                read = readers.read_parquet(self.con, f.path, table, self.limits.max_columns, self.scratch)
            else:
                read = readers.read_xlsx(self.con, f.path, table, header_test(self.source, self.mapping),
                                         self.limits.max_columns)
            cut = layout is not None and not f.scan.ends_cleanly
            (mapped,) = self._prepare(read, {f.index: read}, [f], f.index, cut)
            return mapped
        except UnreadableFile as e:
            return Unreadable(f, str(e))
        except duckdb.OutOfMemoryException:
            return Unreadable(f, readers.memory_error())

    def _read_together(self, layout: CsvLayout, members: list[Incoming]) -> list[ReadFile | Unreadable]:
        if len(members) > 1:
            try:
                group, reads = readers.read_csv_group(self.con, {f.index: f.path for f in members}, layout,
                                                      f"{TEMP}grp_{members[0].index}")
            except duckdb.Error:
                pass  # some file is malformed (or too big together): read them one by one, so that its error names it
            else:
                try:
                    return list(self._prepare(group, reads, members, None))
                except UnreadableFile as e:
                    return [Unreadable(f, str(e)) for f in members]
        return [self._read_alone(f, layout) for f in members]

    def _prepare(self, read: ReadResult, reads: dict[int, ReadResult], members: list[Incoming],
                 file_idx: int | None, last_row_may_be_cut: bool = False) -> list[ReadFile]:
        """Map ``read`` (one file's, or a group's with its own ``_file_idx``) into one table for all ``members``;
        ``reads`` holds each member's own rows."""
        out = f"{TEMP}prep_{members[0].index}"
        extras = tuple(prepare(self.con, self.source, self.mapping, read, out, file_idx, last_row_may_be_cut))
        return [ReadFile(f, reads[f.index], out, extras) for f in members]


def _csv_layout(path: Path, limits: IngestLimits) -> CsvLayout | None:
    """The layout of a CSV file, None for another format; raises :class:`UnreadableFile` for a file
    of no accepted format, an empty one, text in no accepted encoding, or one past a limit."""
    fmt = readers.file_format(path)
    readers.check_not_empty(path, fmt)
    return readers.csv_layout(path, limits.max_columns, limits.max_line_bytes) if fmt == "csv" else None
