"""Read one export file into a DuckDB table of text columns, whatever its format and encoding.

CSV and Parquet are read by DuckDB's own readers (fast at any size); only GB18030/GBK text is
first transcoded to UTF-8 in Python, in chunks. XLSX goes through openpyxl (first sheet; the
header is the first row that looks like one, so a title row above it is skipped).

Every reader produces a table whose columns are the file's headers as written, all VARCHAR, plus
``_row_number``: the row as a person opening the file sees it (the header is row 1 of a CSV).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from bdw.sql import lit

FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
_CHUNK = 1 << 20


class UnreadableFile(Exception):
    """The file cannot be read as a whole: it goes to quarantine with this message."""


@dataclass(frozen=True)
class ReadResult:
    table: str
    headers: list[str]  # as written in the file, in order
    rows: int
    format: str
    encoding: str | None
    header_row: int  # the row number of the header (1 for CSV and Parquet)


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def detect_encoding(path: Path) -> str:
    """'utf-8-sig', 'utf-8' or 'gb18030' (a superset of GBK); anything else is unreadable."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile("the file is UTF-16 text; export it as UTF-8 (or GBK) CSV")
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        try:
            with path.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    if b"\x00" in chunk:
                        raise UnreadableFile("the file holds binary data (NUL bytes), not text")
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError as e:
            bad_at = offset + e.start
            continue
    raise UnreadableFile(
        f"the text is neither UTF-8 nor GB18030/GBK (undecodable byte at offset {bad_at}); "
        "save the export as UTF-8 CSV"
    )


def _transcode(path: Path, encoding: str, workdir: Path) -> Path:
    out = Path(tempfile.mkstemp(suffix=".csv", dir=workdir)[1])
    with path.open("r", encoding=encoding, newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(_CHUNK):
            dst.write(chunk)
    return out


def _is_blank_file(path: Path) -> bool:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            if chunk.strip(b" \t\r\n\xef\xbb\xbf"):
                return False
    return True


def csv_header(path: Path, encoding: str) -> tuple[list[str], str]:
    """The header's names and delimiter (the separator the header line uses most, comma unless
    told otherwise). Read here rather than sniffed by DuckDB, whose guess from the data rows
    misleads it on a truncated file."""
    with path.open("r", encoding=encoding, newline="") as f:
        first = next((line for line in f if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    delim = best if counts[best] else ","
    names = next(csv.reader([first.rstrip("\r\n")], delimiter=delim), [])
    return names, delim


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(names):
        n = n.strip() or f"column{i + 1}"
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


@dataclass(frozen=True)
class CsvLayout:
    """What DuckDB must be told to read a CSV file: its encoding, header names and delimiter."""

    encoding: str
    headers: tuple[str, ...]
    delim: str

    @property
    def utf8(self) -> bool:
        return self.encoding in ("utf-8", "utf-8-sig")


def csv_layout(path: Path) -> CsvLayout:
    encoding = detect_encoding(path)
    names, delim = csv_header(path, encoding)
    return CsvLayout(encoding, tuple(_unique([n.replace("\ufeff", "") for n in names])), delim)


def _csv_options(layout: CsvLayout) -> tuple[str, list]:
    return ("auto_detect = false, header = true, columns = ?, delim = ?, quote = '\"', escape = '\"', "
            "strict_mode = true, null_padding = false, skip = 0",
            [{h: "VARCHAR" for h in layout.headers}, layout.delim])


def read_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, workdir: Path,
             layout: CsvLayout | None = None) -> ReadResult:
    layout = layout or csv_layout(path)
    source = path if layout.utf8 else _transcode(path, layout.encoding, workdir)
    options, params = _csv_options(layout)
    try:
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv(?, {options})",
                        [str(source), *params])
        except duckdb.Error as e:
            raise UnreadableFile(_csv_error(e)) from None
        con.execute(f"ALTER TABLE {table} ADD COLUMN _row_number INTEGER")
        con.execute(f"UPDATE {table} SET _row_number = rowid + 2")
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        if source != path:
            source.unlink(missing_ok=True)
    return ReadResult(table, list(layout.headers), rows, "csv", layout.encoding, 1)


def read_csv_group(con: duckdb.DuckDBPyConnection, paths: dict[int, Path], layout: CsvLayout,
                   table: str) -> tuple[ReadResult, dict[int, ReadResult]]:
    """Several UTF-8 CSV files with the same header in one read (DuckDB reads them in parallel,
    and the per-statement cost is paid once, not per file).

    Returns the group, a view ``table`` of every file's rows with ``_row_number`` (as in
    :func:`read_csv`) and ``_file_idx`` (the key of ``paths``), and each file's own read: a view of
    its rows alone, like a table :func:`read_csv` makes.

    Raises ``duckdb.Error`` when any file is malformed: the caller then reads the files one by
    one, so that the error names the file."""
    options, params = _csv_options(layout)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_text AS SELECT * FROM read_csv(?, {options}, "
                "filename = '_bdw_file')", [[str(p) for p in paths.values()], *params])
    values = ", ".join(f"({lit(str(p))}, {i})" for i, p in paths.items())
    # the text table holds each file's rows in file order (DuckDB preserves insertion order), so a
    # row's number is its rowid's distance from its file's first row
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_files AS SELECT v._bdw_file, v._file_idx, "
                f"min(t.rowid) AS _first, count(t.rowid) AS _rows FROM (VALUES {values}) v(_bdw_file, _file_idx) "
                f"LEFT JOIN {table}_text t USING (_bdw_file) GROUP BY ALL")
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT t.* EXCLUDE (_bdw_file), "
        f"CAST(t.rowid - f._first + 2 AS INTEGER) AS _row_number, f._file_idx "
        f"FROM {table}_text t JOIN {table}_files f USING (_bdw_file)")
    rows = dict(con.execute(f"SELECT _file_idx, _rows FROM {table}_files").fetchall())
    files = {}
    for i in paths:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {table}_{i} AS SELECT * EXCLUDE (_file_idx) FROM {table} "
                    f"WHERE _file_idx = {int(i)}")
        files[i] = ReadResult(f"{table}_{i}", list(layout.headers), rows[i], "csv", layout.encoding, 1)
    group = ReadResult(table, list(layout.headers), sum(rows.values()), "csv", layout.encoding, 1)
    return group, files


def drop_group(con: duckdb.DuckDBPyConnection, table: str, indexes: Iterable[int]) -> None:
    for i in indexes:
        con.execute(f"DROP VIEW IF EXISTS {table}_{int(i)}")
    con.execute(f"DROP VIEW IF EXISTS {table}")
    con.execute(f"DROP TABLE IF EXISTS {table}_text")
    con.execute(f"DROP TABLE IF EXISTS {table}_files")


def _csv_error(e: duckdb.Error) -> str:
    """DuckDB's CSV error in a sentence: the line, what was expected, what was found."""
    msg = str(e)
    line = re.search(r"CSV Error on Line: (\d+)", msg)
    expected = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", msg)
    original = re.search(r"Original Line: (.*)", msg)
    where = f"line {line[1]}" if line else "a line"
    if expected:
        what = f"has {expected[2]} fields where the header has {expected[1]}"
    elif "quote" in msg.lower():
        what = "has a quote that is never closed"
    else:
        what = "is not well-formed CSV"
    shown = f" ({original[1][:80]!r})" if original else ""
    return f"cannot be read as CSV: {where}{shown} {what}; is the file truncated or edited by hand?"


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> ReadResult:
    try:
        cols = con.execute("SELECT name FROM parquet_schema(?) WHERE num_children IS NULL", [str(path)]).fetchall()
        names = [c[0] for c in cols]
        select = ", ".join(f'CAST("{n}" AS VARCHAR) AS "{n}"' for n in names)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select}, "
            "CAST(file_row_number + 1 AS INTEGER) AS _row_number "
            "FROM read_parquet(?, file_row_number = true)",
            [str(path)],
        )
    except duckdb.Error as e:
        raise UnreadableFile(f"cannot be read as Parquet: {str(e).splitlines()[0]}") from None
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return ReadResult(table, names, rows, "parquet", None, 1)


def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    text = str(v)
    return text if text.strip() else None


def read_xlsx(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, is_header: Callable[[list[str]], bool]
) -> ReadResult:
    """First sheet; the header is the first non-empty row that ``is_header`` accepts (a title row
    above the header is skipped), or the first non-empty row when none is accepted."""
    import openpyxl  # imported here: only xlsx files pay for it

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise UnreadableFile(f"cannot be read as an Excel .xlsx workbook ({type(e).__name__}: {e})") from None
    try:
        ws = wb.worksheets[0]
        rows: Iterable[tuple] = ws.iter_rows(values_only=True)
        first_nonempty: tuple[int, list[str]] | None = None
        header: tuple[int, list[str]] | None = None
        buffered: list[tuple[int, list[str | None]]] = []
        for number, raw in enumerate(rows, start=1):
            cells = [_cell_text(v) for v in raw]
            if header is None:
                if not any(c is not None for c in cells):
                    continue
                texts = [c.strip() if c else "" for c in cells]
                if first_nonempty is None:
                    first_nonempty = (number, texts)
                if is_header(texts):
                    header = (number, texts)
                    buffered = []
                    continue
                buffered.append((number, cells))
                if len(buffered) > 20:
                    break
                continue
            if any(c is not None for c in cells):
                buffered.append((number, cells))
        if header is None:
            if first_nonempty is None:
                raise UnreadableFile("the first sheet is empty")
            # no row looked like a header: take the first non-empty one and read on from there
            header = first_nonempty
            buffered = [(n, c) for n, c in _reread(ws, header[0])]
    except zipfile.BadZipFile as e:
        raise UnreadableFile(f"cannot be read as an Excel .xlsx workbook ({e})") from None
    finally:
        wb.close()
    header_row, names = header
    width = max((i + 1 for i, n in enumerate(names) if n), default=0)
    names = [n if n else f"column{i + 1}" for i, n in enumerate(names[:width])]
    data: dict[str, list] = {n: [] for n in names}
    numbers: list[int] = []
    for number, cells in buffered:
        numbers.append(number)
        for i, n in enumerate(names):
            data[n].append(cells[i] if i < len(cells) else None)
    arrow = pa.table({**{n: pa.array(v, pa.string()) for n, v in data.items()},
                      "_row_number": pa.array(numbers, pa.int32())})
    con.register("_xlsx_arrow", arrow)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _xlsx_arrow")
    finally:
        con.unregister("_xlsx_arrow")
    return ReadResult(table, names, len(numbers), "xlsx", None, header_row)


def _reread(ws, header_row: int) -> Iterable[tuple[int, list[str | None]]]:
    for number, raw in enumerate(ws.iter_rows(values_only=True), start=1):
        if number <= header_row:
            continue
        cells = [_cell_text(v) for v in raw]
        if any(c is not None for c in cells):
            yield number, cells


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UnreadableFile(f"unsupported file type {path.suffix!r}: use .csv, .xlsx or .parquet")
    return fmt


def check_not_empty(path: Path, fmt: str) -> None:
    if path.stat().st_size == 0 or (fmt == "csv" and _is_blank_file(path)):
        raise UnreadableFile("the file is empty (not even a header row)")
