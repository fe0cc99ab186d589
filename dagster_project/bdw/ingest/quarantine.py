"""The quarantine folder: what a user gets back to fix and drop into the inbox again.

``<quarantine>/<source>/`` holds
- ``<file>``: a quarantined file, as delivered;
- ``<file>.errors.csv``: why: a line for the whole file, then one per problem (file, row, column,
  rule, value);
- ``<file stem>.rejected.csv``: a partly loaded file's bad rows as exported, each with its row
  number (``_row``) and its reasons (``_reason``).

Both CSV files go through ``bdw.csv_export.write_csv``: a cell that a spreadsheet would evaluate
as a formula is written as text. A file is never copied through a link (the inbox lists none, and
a file swapped for one after the listing is not copied).

Nothing here touches the database's tables: the manifest and ``raw._load_issues`` are written by
the load, in the same step as the rows.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb

from bdw.csv_export import write_csv
from bdw.ingest.bookkeeping import Issue
from bdw.ingest.readers import ReadResult, positions
from bdw.settings import Settings

_BATCH = 10_000


def quarantine_folder(settings: Settings, source: str) -> Path:
    folder = settings.quarantine_dir / source
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep_file(settings: Settings, source: str, path: Path, file: str, issues: Sequence[Issue],
              copy: bool = True) -> None:
    """Copy the file as delivered (unless ``copy`` is false, or it is no longer a regular file) and
    write its ``.errors.csv`` (``file``: its path in the inbox)."""
    folder = quarantine_folder(settings, source)
    if copy and path.is_file() and not path.is_symlink():
        shutil.copyfile(path, folder / path.name, follow_symlinks=False)
    write_csv(folder / f"{path.name}.errors.csv", ["file", "row", "column", "rule", "value"],
              ([file, *i] for i in issues))


def write_rejected_rows(con: duckdb.DuckDBPyConnection, settings: Settings, source: str, path: Path,
                        read: ReadResult, checked: str, file_idx: int) -> None:
    """The bad rows as exported (under the file's own headers), each with its row number (``_row``)
    and reasons (``_reason``), for the user to fix and drop again.

    ``read`` is the file's rows as read (columns by position, ``_row_number``); ``checked`` the
    checking query's table (``_file_idx``, ``_row_number``, ``_issues``)."""
    out = quarantine_folder(settings, source) / f"{path.stem}.rejected.csv"
    cols = ", ".join(f"i.{c}" for c in positions(len(read.headers)))
    cur = con.execute(
        f"SELECT {cols}, c._row_number AS _row, array_to_string(list_transform(c._issues, "
        f"lambda x: coalesce(x.column || ': ', '') || x.rule), '; ') AS _reason FROM {read.table} i JOIN {checked} c "
        f"ON c._file_idx = {int(file_idx)} AND c._row_number = i._row_number "
        "WHERE len(c._issues) > 0 ORDER BY _row")

    def rows():
        while batch := cur.fetchmany(_BATCH):
            yield from batch

    write_csv(out, [*read.headers, "_row", "_reason"], rows())
