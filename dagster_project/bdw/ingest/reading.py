"""A delivery's new files read and mapped onto the contract, ready for the row checks.

Each file becomes a temporary table of text in the contract's columns (``bdw.ingest.prepare``).
The per-statement cost dominates small files, so the UTF-8 CSV files that share a layout
(encoding, header and delimiter) are read by one ``read_csv`` and mapped by one statement; if
DuckDB cannot read the group, its files are read one by one, so that the error names the file.
A file that cannot be read or mapped is handed back with the reason, for quarantine.

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
from bdw.ingest.readers import CsvLayout, ReadResult, UnreadableFile

TEMP = "_ingest_"


@dataclass(frozen=True)
class Incoming:
    """A file of the delivery that is neither unchanged nor a known duplicate."""

    index: int  # its place in processing (name) order: ``_file_idx`` in the batch's tables
    path: Path
    rel: str  # relative to the inbox
    digest: str
    size_bytes: int


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

    def read_all(self, files: list[Incoming]) -> list[ReadFile | Unreadable]:
        """Every file read and mapped, or the reason it cannot be; in name order."""
        out: list[ReadFile | Unreadable] = []
        together: dict[CsvLayout, list[Incoming]] = {}
        for f in files:
            try:
                layout = _csv_layout(f.path)
            except UnreadableFile as e:
                out.append(Unreadable(f, str(e)))
                continue
            if layout is not None and layout.utf8:
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
                read = readers.read_parquet(self.con, f.path, table)
            else:
                read = readers.read_xlsx(self.con, f.path, table, header_test(self.source, self.mapping))
            (mapped,) = self._prepare(read, {f.index: read}, [f], f.index)
            return mapped
        except UnreadableFile as e:
            return Unreadable(f, str(e))

    def _read_together(self, layout: CsvLayout, members: list[Incoming]) -> list[ReadFile | Unreadable]:
        if len(members) > 1:
            try:
                group, reads = readers.read_csv_group(self.con, {f.index: f.path for f in members}, layout,
                                                      f"{TEMP}grp_{members[0].index}")
            except duckdb.Error:
                pass  # some file is malformed: read them one by one below, so that its error names it
            else:
                try:
                    return list(self._prepare(group, reads, members, None))
                except UnreadableFile as e:
                    return [Unreadable(f, str(e)) for f in members]
        return [self._read_alone(f, layout) for f in members]

    def _prepare(self, read: ReadResult, reads: dict[int, ReadResult], members: list[Incoming],
                 file_idx: int | None) -> list[ReadFile]:
        """Map ``read`` (one file's, or a group's with its own ``_file_idx``) into one table for all ``members``;
        ``reads`` holds each member's own rows."""
        out = f"{TEMP}prep_{members[0].index}"
        extras = tuple(prepare(self.con, self.source, self.mapping, read, out, file_idx))
        return [ReadFile(f, reads[f.index], out, extras) for f in members]


def _csv_layout(path: Path) -> CsvLayout | None:
    """The layout of a CSV file, None for another format; raises :class:`UnreadableFile` for a file
    of no accepted format, an empty one, or text in no accepted encoding."""
    fmt = readers.file_format(path)
    readers.check_not_empty(path, fmt)
    return readers.csv_layout(path) if fmt == "csv" else None
