"""Read one export file into a DuckDB table of text columns, whatever its format and encoding.

CSV and Parquet are read by DuckDB's own readers (fast at any size); only GB18030/GBK text is
first transcoded to UTF-8 in Python, in chunks. XLSX goes through openpyxl (first sheet; the
header is the first row that looks like one, so a title row above it is skipped).

Every reader produces a table of VARCHAR columns named by position (:func:`position`: ``c1``,
``c2``, ...; the headers as written are kept in :attr:`ReadResult.headers`), plus ``_row_number``:
the row as a person opening the file sees it (the header is row 1 of a CSV). No header ever becomes
a column name here, so none can collide with the reader's own columns or DuckDB's ``rowid``.

Each reader checks the file's bounds before it reads rows: its columns (``max_columns``) and, for
CSV, the bytes of one line (``max_line_bytes``); a file past one is unreadable with a message
naming the limit (``limits:`` in config/bdw.yml).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from bdw.sql import lit, q

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


LIMITS_HELP = "limits in config/bdw.yml"


def position(index: int) -> str:
    """The column name of a file's ``index``-th column (0-based) in a reader's table."""
    return f"c{index + 1}"


def positions(count: int) -> list[str]:
    return [position(i) for i in range(count)]


def file_hash(path: Path) -> str:
    return scan_file(path).digest


def open_no_follow(path: Path):
    """``path`` opened for reading bytes, refusing a symbolic link (a link swapped in after the inbox
    was listed is not followed either) and anything but a regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnreadableFile("not a regular file")
    return os.fdopen(fd, "rb")


@dataclass(frozen=True)
class FileScan:
    """What one pass over a file's bytes tells: its content hash and size, and two signs that a CSV
    file was cut off: an odd number of ``"`` (RFC 4180 quotes come in pairs; a quote byte is never
    part of a multi-byte UTF-8 or GBK character) and the bytes it ends with."""

    digest: str
    size: int
    quotes: int
    tail: bytes  # the last two bytes

    @property
    def quotes_unbalanced(self) -> bool:
        return self.quotes % 2 == 1

    @property
    def ends_cleanly(self) -> bool:
        """The last row cannot have been cut inside a field: the file ends with a line break, or
        with the closing quote of a quoted field (the quotes balanced). An empty file ends cleanly."""
        if not self.tail:
            return True
        last = self.tail[-1:]
        return last in (b"\n", b"\r") or (last == b'"' and not self.quotes_unbalanced)


def scan_file(path: Path) -> FileScan:
    """The file's :class:`FileScan`, in one pass (ingestion reads every file's bytes to hash it anyway).
    Within :func:`remembered_scans`, a file scanned before and not changed since is not read again."""
    h = hashlib.sha256()
    size = quotes = 0
    tail = b""
    with open_no_follow(path) as f:
        st = os.fstat(f.fileno())
        version = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if _remembered is not None and (known := _remembered.get(version)) is not None:
            return known
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
            quotes += chunk.count(b'"')
            tail = (tail + chunk)[-2:]
    scan = FileScan(h.hexdigest(), size, quotes, tail)
    if _remembered is not None:
        _remembered[version] = scan
    return scan


# the scans of the current run, by file version (device, inode, size, modification and change times)
_remembered: dict[tuple[int, ...], FileScan] | None = None


@contextlib.contextmanager
def remembered_scans() -> Iterator[None]:
    """Remember every file's scan for the duration: ``bdw run`` scans the inbox as it starts
    (bdw.run_state.scan_before_run, for "nothing changed" next time) and its ingestion steps, in the
    same process, scan the same files again; each file's bytes are read once (a scale-1000 inbox is
    4.4 GB). A file written since its scan has another version and is read again."""
    global _remembered
    outer = _remembered
    _remembered = {} if outer is None else outer
    try:
        yield
    finally:
        _remembered = outer


def detect_encoding(path: Path) -> str:
    """'utf-8-sig', 'utf-8' or 'gb18030' (a superset of GBK); anything else is unreadable."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile("the file is UTF-16 text; export it as UTF-8 (or GBK) CSV")
    cut_in = None
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        try:
            with open_no_follow(path) as f:
                while chunk := f.read(_CHUNK):
                    if b"\x00" in chunk:
                        raise UnreadableFile("the file holds binary data (NUL bytes), not text")
                    decoder.decode(chunk)
                    offset += len(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                # every character decoded but the last one, which the end of the file cuts in two
                cut_in = cut_in or encoding
                bad_at = offset
                continue
            return encoding
        except UnicodeDecodeError as e:
            bad_at = offset + e.start
            continue
    if cut_in:
        raise UnreadableFile(
            f"the file ends in the middle of a character ({'UTF-8' if cut_in == 'utf-8' else 'GBK'} text cut "
            "off): it is truncated; export it again")
    raise UnreadableFile(
        f"the text is neither UTF-8 nor GB18030/GBK (undecodable byte at offset {bad_at}); "
        "save the export as UTF-8 CSV"
    )


GLOB_CHARACTERS = frozenset("*?[]{}")


def is_literal(path: Path) -> bool:
    """Whether DuckDB reads ``path`` as itself: its file readers expand ``*``, ``?``, ``[...]`` and
    ``{...}`` as a glob, so ``x[1].csv`` would read ``x1.csv`` (perhaps a link to anywhere)."""
    return not GLOB_CHARACTERS & set(str(path))


def literal_copy(path: Path, workdir: Path, suffix: str) -> Path:
    """A copy of ``path`` in ``workdir`` under a name DuckDB reads as itself (the caller removes it)."""
    out = Path(tempfile.mkstemp(suffix=suffix, dir=workdir)[1])
    with open_no_follow(path) as src, out.open("wb") as dst:
        while chunk := src.read(_CHUNK):
            dst.write(chunk)
    return out


def _duckdb_source(path: Path, layout: CsvLayout, workdir: Path) -> Path:
    """The file DuckDB is given for a CSV file: itself, or a copy in ``workdir`` when it is GBK text
    (transcoded to UTF-8) or its name holds glob characters."""
    if not layout.utf8:
        return _transcode(path, layout.encoding, workdir)
    return path if is_literal(path) else literal_copy(path, workdir, ".csv")


def _transcode(path: Path, encoding: str, workdir: Path) -> Path:
    out = Path(tempfile.mkstemp(suffix=".csv", dir=workdir)[1])
    with path.open("r", encoding=encoding, newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(_CHUNK):
            dst.write(chunk)
    return out


def _is_blank_file(path: Path) -> bool:
    with open_no_follow(path) as f:
        while chunk := f.read(_CHUNK):
            if chunk.strip(b" \t\r\n\xef\xbb\xbf"):
                return False
    return True


def csv_header(path: Path, encoding: str, max_line_bytes: int | None = None) -> tuple[list[str], str]:
    """The header's names and delimiter (the separator the header line uses most, comma unless
    told otherwise). Read here rather than sniffed by DuckDB, whose guess from the data rows
    misleads it on a truncated file. A header line longer than ``max_line_bytes`` is unreadable
    (it is never read whole)."""
    first = ""
    with path.open("r", encoding=encoding, newline="") as f:
        while True:
            line = f.readline(max_line_bytes + 1) if max_line_bytes else f.readline()
            if max_line_bytes and len(line) > max_line_bytes:
                raise UnreadableFile(f"its header line is longer than {max_line_bytes:,} bytes, the limit of one line "
                                     f"(max_line_bytes, {LIMITS_HELP})")
            if not line or line.strip():
                first = line
                break
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    delim = best if counts[best] else ","
    names = next(csv.reader([first.rstrip("\r\n")], delimiter=delim), [])
    return names, delim


@dataclass(frozen=True)
class CsvLayout:
    """What DuckDB must be told to read a CSV file: its encoding, header names (as written) and
    delimiter, and the longest line it may have."""

    encoding: str
    headers: tuple[str, ...]
    delim: str
    max_line_bytes: int = 1 << 20

    @property
    def utf8(self) -> bool:
        return self.encoding in ("utf-8", "utf-8-sig")


def csv_layout(path: Path, max_columns: int | None = None, max_line_bytes: int = 1 << 20) -> CsvLayout:
    """The file's layout; unreadable when its header has more than ``max_columns`` columns or a
    header line longer than ``max_line_bytes``."""
    encoding = detect_encoding(path)
    names, delim = csv_header(path, encoding, max_line_bytes)
    check_columns(len(names), max_columns)
    return CsvLayout(encoding, tuple(n.replace("\ufeff", "") for n in names), delim, max_line_bytes)


def check_columns(count: int, max_columns: int | None) -> None:
    """Unreadable when a file has more than ``max_columns`` columns: each costs memory in every
    step of the load (and a column in the raw table), so a hostile header could exhaust it."""
    if max_columns is not None and count > max_columns:
        raise UnreadableFile(f"has {count:,} columns, more than the limit of {max_columns:,} "
                             f"(max_columns, {LIMITS_HELP}); export only the columns the contract lists")


def _csv_options(layout: CsvLayout) -> tuple[str, list]:
    return ("auto_detect = false, header = true, columns = ?, delim = ?, quote = '\"', escape = '\"', "
            f"strict_mode = true, null_padding = false, skip = 0, max_line_size = {int(layout.max_line_bytes)}",
            [{n: "VARCHAR" for n in positions(len(layout.headers))}, layout.delim])


def read_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, workdir: Path,
             layout: CsvLayout | None = None) -> ReadResult:
    layout = layout or csv_layout(path)
    source = _duckdb_source(path, layout, workdir)
    options, params = _csv_options(layout)
    try:
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv(?, {options})",
                        [str(source), *params])
        except duckdb.Error as e:
            raise UnreadableFile(_csv_error(e, layout)) from None
        _number_rows(con, table, first=2)
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


def read_column_leniently(con: duckdb.DuckDBPyConnection, path: Path, layout: CsvLayout, index: int,
                          workdir: Path) -> list[str]:
    """The distinct values of one column of a CSV file that cannot be read as a whole (a truncated
    export): the rows DuckDB can make out, skipping the malformed ones. Only to learn which keys
    such a file names; its rows are never loaded from here."""
    source = _duckdb_source(path, layout, workdir)
    options, params = _csv_options(layout)
    options = options.replace("strict_mode = true, null_padding = false",
                              "strict_mode = false, null_padding = true, ignore_errors = true")
    try:
        rows = con.execute(f"SELECT DISTINCT trim({position(index)}) AS v FROM read_csv(?, {options}) "
                           "WHERE nullif(trim(v), '') IS NOT NULL ORDER BY 1", [str(source), *params]).fetchall()
    finally:
        if source != path:
            source.unlink(missing_ok=True)
    return [v for (v,) in rows]


def _csv_error(e: duckdb.Error, layout: CsvLayout) -> str:
    """DuckDB's CSV error in a sentence: the line, what was expected, what was found. The line's
    content is not quoted: it may be anyone's personal data, and the message is published (the
    line number finds it in the file)."""
    msg = str(e)
    line = re.search(r"CSV Error on Line: (\d+)", msg)
    expected = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", msg)
    where = f"line {line[1]}" if line else "a line"
    if isinstance(e, duckdb.OutOfMemoryException):
        return memory_error()
    if "Maximum line size" in msg:
        return (f"cannot be read as CSV: {where} is longer than {layout.max_line_bytes:,} bytes, the limit of one "
                f"line (max_line_bytes, {LIMITS_HELP}); a field that large is no CRM or finance value")
    if expected:
        what = f"has {expected[2]} fields where the header has {expected[1]}"
    elif "unterminated quote" in msg.lower():
        what = "has a quote that is never closed"
    else:
        what = "is not well-formed CSV"
    return f"cannot be read as CSV: {where} {what}; is the file truncated or edited by hand?"


def memory_error() -> str:
    return (f"reading it needs more memory than ingestion may use (memory, {LIMITS_HELP}); "
            "split the export into smaller files")


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str, max_columns: int | None = None,
                 workdir: Path | None = None) -> ReadResult:
    """Every leaf column as text, by position; ``_row_number`` is the row's place in the file (the
    table keeps the file's order). A name with glob characters is read from a copy in ``workdir``."""
    source = path if is_literal(path) or workdir is None else literal_copy(path, workdir, ".parquet")
    if not is_literal(source):
        raise UnreadableFile("its name holds one of * ? [ ] { }: rename the file")
    try:
        cols = con.execute("SELECT name FROM parquet_schema(?) WHERE num_children IS NULL", [str(source)]).fetchall()
        names = [c[0] for c in cols]
        check_columns(len(names), max_columns)
        select = ", ".join(f"CAST({q(n)} AS VARCHAR) AS {position(i)}" for i, n in enumerate(names))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select} FROM read_parquet(?)", [str(source)])
    except duckdb.OutOfMemoryException:
        raise UnreadableFile(memory_error()) from None
    except duckdb.Error as e:
        raise UnreadableFile(f"cannot be read as Parquet: {str(e).splitlines()[0]}") from None
    finally:
        if source != path:
            source.unlink(missing_ok=True)
    _number_rows(con, table, first=1)
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return ReadResult(table, names, rows, "parquet", None, 1)


def _number_rows(con: duckdb.DuckDBPyConnection, table: str, first: int) -> None:
    """``_row_number`` of a reader's table: the row's place in the file, counting from ``first``.
    ``rowid`` is the table's own (no column of a reader's table is named after a header)."""
    con.execute(f"ALTER TABLE {table} ADD COLUMN _row_number INTEGER")
    con.execute(f"UPDATE {table} SET _row_number = rowid + {int(first)}")


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
    con: duckdb.DuckDBPyConnection, path: Path, table: str, is_header: Callable[[list[str]], bool],
    max_columns: int | None = None,
) -> ReadResult:
    """First sheet; the header is the first non-empty row that ``is_header`` accepts (a title row
    above the header is skipped), or the first non-empty row when none is accepted. The sheet is
    streamed (openpyxl read-only), at most ``max_columns`` + 1 cells a row: a value beyond the
    limit makes the file unreadable before it costs memory."""
    import openpyxl  # imported here: only xlsx files pay for it

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise UnreadableFile(f"cannot be read as an Excel .xlsx workbook ({type(e).__name__}: {e})") from None
    try:
        ws = wb.worksheets[0]
        rows: Iterable[tuple] = _bounded_rows(ws, max_columns)
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
            buffered = [(n, c) for n, c in _reread(_bounded_rows(ws, max_columns), header[0])]
    except (zipfile.BadZipFile, EOFError, OSError) as e:  # a workbook cut off: its sheet's stream ends early
        raise UnreadableFile(f"cannot be read as an Excel .xlsx workbook ({type(e).__name__}: {e}); "
                             "is the file truncated?") from None
    finally:
        wb.close()
    header_row, names = header
    width = max((i + 1 for i, n in enumerate(names) if n), default=0)
    names = [n if n else f"column{i + 1}" for i, n in enumerate(names[:width])]
    data: list[list] = [[] for _ in names]
    numbers: list[int] = []
    for number, cells in buffered:
        numbers.append(number)
        for i, column in enumerate(data):
            column.append(cells[i] if i < len(cells) else None)
    arrow = pa.table({**{position(i): pa.array(v, pa.string()) for i, v in enumerate(data)},
                      "_row_number": pa.array(numbers, pa.int32())})
    con.register("_xlsx_arrow", arrow)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _xlsx_arrow")
    finally:
        con.unregister("_xlsx_arrow")
    return ReadResult(table, names, len(numbers), "xlsx", None, header_row)


def _bounded_rows(ws, max_columns: int | None) -> Iterable[tuple]:
    """The sheet's rows as values, cut after ``max_columns`` + 1 cells; unreadable when a row has a
    value beyond ``max_columns`` (the sheet's declared size is checked first, when it has one)."""
    if max_columns is None:
        yield from ws.iter_rows(values_only=True)
        return
    for raw in ws.iter_rows(values_only=True, max_col=max_columns + 1):
        if len(raw) > max_columns and any(v is not None for v in raw[max_columns:]):
            check_columns(max(ws.max_column or 0, max_columns + 1), max_columns)
        yield raw


def _reread(rows: Iterable[tuple], header_row: int) -> Iterable[tuple[int, list[str | None]]]:
    for number, raw in enumerate(rows, start=1):
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
