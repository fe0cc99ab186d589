"""A read file onto the contract's columns, as text, ready for the row rules (docs/contract.md sections 1 and 4).

- a header names a contract column when it matches the column's name or one of the profile's
  aliases, case-insensitively after trimming (inner spaces and dashes count as ``_``); two headers
  meaning the same column make the file unreadable;
- the profile's ``fill`` takes another column's value when a column is empty, its ``constants``
  give a column the export lacks, its ``values`` translate values (case-insensitive);
- every value is trimmed, and a blank is NULL;
- a required or key column the file lacks (and the profile does not give) quarantines the file;
- any other header is kept as an extra column: its name made a plain identifier
  (:func:`extra_column_name`), never a contract column's, a lineage or bookkeeping (``_``) name,
  nor a name DuckDB gives a column of its own (``rowid``).

The read table's columns are named by position (``bdw.ingest.readers.position``), so a header is
only ever matched as text: whatever a header says, it cannot stand for a column of the loader's.
The prepared table holds the contract's columns, the extras, and the loader's own columns, all of
which start with ``_`` (``_row_number``, ``_file_idx``, ``_maybe_cut``): a name no header can be
given, because :func:`extra_column_name` never starts with ``_``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from bdw.contract import Source
from bdw.ingest.mapping import SourceMapping, normalise_header
from bdw.ingest.readers import ReadResult, UnreadableFile, position
from bdw.sql import lit, q

# column names DuckDB itself gives every table: a column of that name would shadow it
DUCKDB_PSEUDO_COLUMNS = frozenset({"rowid"})


class MissingColumns(UnreadableFile):
    """The file lacks a column it must have: it goes to quarantine as a whole."""


def extra_column_name(header: str) -> str:
    """A header the contract does not know, as a column name: lower-case letters, digits, CJK and ``_``."""
    name = re.sub(r"[^0-9a-z_\u4e00-\u9fff]+", "_", normalise_header(header)).strip("_")
    return name or "column"


@dataclass(frozen=True)
class HeaderMatch:
    """Which of the file's columns (by position, 0-based) feeds which column."""

    headers: list[str]  # as written, in order
    by_column: dict[str, int]  # contract column -> the file's column
    by_normalised: dict[str, int]  # normalised header -> the file's column (the first one)
    extras: dict[str, int]  # extra column name -> the file's column

    def header(self, col: str) -> str:
        """The header (as written) feeding contract column ``col``."""
        return self.headers[self.by_column[col]]


def match_headers(headers: list[str], source: Source, mapping: SourceMapping) -> HeaderMatch:
    """Match a file's headers (as written) to the contract's columns; the rest become extras."""
    contract_cols = set(source.column_names)
    by_column: dict[str, int] = {}
    by_normalised: dict[str, int] = {}
    extras: dict[str, int] = {}
    for i, header in enumerate(headers):
        n = normalise_header(header)
        by_normalised.setdefault(n, i)
        col = mapping.aliases.get(n) or (n if n in contract_cols else None)
        if col is None:
            name = extra_column_name(header)
            while name in extras or name in contract_cols or name in DUCKDB_PSEUDO_COLUMNS:
                name = f"{name}_2"
            extras[name] = i
        elif col in by_column:
            raise UnreadableFile(f"two headers, {headers[by_column[col]]!r} and {header!r}, both mean column {col}; "
                                 "keep one")
        else:
            by_column[col] = i
    return HeaderMatch(list(headers), by_column, by_normalised, extras)


def _text(index: int) -> str:
    """The trimmed text of the file's ``index``-th column, NULL when blank."""
    return f"NULLIF(trim(CAST({position(index)} AS VARCHAR)), '')"


def column_expression(col: str, match: HeaderMatch, mapping: SourceMapping) -> str | None:
    """The text of contract column ``col`` from the file's headers and the profile, or None when
    neither gives it."""
    expr = _text(match.by_column[col]) if col in match.by_column else None
    if col in mapping.fill:
        other = mapping.fill[col]
        other_index = match.by_column.get(other, match.by_normalised.get(other))
        if other_index is None:
            raise MissingColumns(f"the profile fills {col} from {other!r}, but the file has no such column")
        expr = f"COALESCE({expr}, {_text(other_index)})" if expr else _text(other_index)
    if expr is None and col in mapping.constants:
        expr = lit(mapping.constants[col])
    if expr is not None and col in mapping.values:
        whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in mapping.values[col].items())
        expr = f"(CASE lower({expr}) {whens} ELSE {expr} END)"
    return expr


def prepare(con: duckdb.DuckDBPyConnection, source: Source, mapping: SourceMapping, read: ReadResult,
            out: str, file_idx: int | None, last_row_may_be_cut: bool = False) -> list[str]:
    """Table ``out``: the contract columns and the extras of ``read`` as text, ``_row_number``,
    ``_file_idx`` (``file_idx``, or the read table's own column for files read together) and
    ``_maybe_cut``: true on the file's last row when ``last_row_may_be_cut`` (the file does not end
    with a line break, so its last field may be cut short; the row rules reject that row).
    Returns the extra columns' names; raises :class:`UnreadableFile` when the file cannot be mapped."""
    match = match_headers(read.headers, source, mapping)
    exprs = {col: column_expression(col, match, mapping) for col in source.column_names}
    missing = [c for c in source.mandatory_headers if exprs[c] is None]
    if missing:
        raise MissingColumns(
            f"lacks required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(the header row {read.header_row} has: {', '.join(read.headers)})")
    select = [f"{e or 'CAST(NULL AS VARCHAR)'} AS {q(c)}" for c, e in exprs.items()]
    select += [f"{_text(i)} AS {q(name)}" for name, i in match.extras.items()]
    file_col = "_file_idx" if file_idx is None else f"{int(file_idx)} AS _file_idx"
    cut = (f"_row_number = (SELECT max(_row_number) FROM {read.table})" if last_row_may_be_cut else "false")
    # a view: the checking query reads it once (bdw.ingest.load.check_rows), a table would be a copy
    con.execute(f"CREATE OR REPLACE TEMP VIEW {out} AS SELECT {', '.join(select)}, _row_number, {file_col}, "
                f"{cut} AS _maybe_cut FROM {read.table}")
    return list(match.extras)


def header_test(source: Source, mapping: SourceMapping) -> Callable[[list[str]], bool]:
    """Whether a spreadsheet row is the header: at least two cells, and at least half of the
    non-empty ones, name a contract column or an alias (a title row above the header does not)."""
    known = set(source.column_names)

    def is_header(cells: list[str]) -> bool:
        names = [normalise_header(c) for c in cells if c]
        hits = sum(1 for n in names if n in known or n in mapping.aliases)
        return hits >= 2 and hits * 2 >= len(names)

    return is_header
