"""The quarantine folder: what a user gets back to fix and drop into the inbox again.

``<quarantine>/<source>/`` holds
- ``<file>``: a quarantined file, as delivered;
- ``<file>.errors.csv``: why: a line for the whole file, then one per problem (file, row, column,
  rule, value);
- ``<file stem>.rejected.csv``: a partly loaded file's bad rows as exported, each with its row
  number (``_row``) and its reasons (``_reason``).

Nothing here touches the database's tables: the manifest and ``raw._load_issues`` are written by
the load, in the same step as the rows.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb

from bdw.ingest.bookkeeping import Issue
from bdw.settings import Settings
from bdw.sql import lit


def quarantine_folder(settings: Settings, source: str) -> Path:
    folder = settings.quarantine_dir / source
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep_file(settings: Settings, source: str, path: Path, file: str, issues: Sequence[Issue]) -> None:
    """Copy the file as delivered and write its ``.errors.csv`` (``file``: its path in the inbox)."""
    folder = quarantine_folder(settings, source)
    shutil.copy2(path, folder / path.name)
    with (folder / f"{path.name}.errors.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "row", "column", "rule", "value"])
        w.writerows([file, *i] for i in issues)


def write_rejected_rows(con: duckdb.DuckDBPyConnection, settings: Settings, source: str, path: Path,
                        rows: str, checked: str, file_idx: int) -> None:
    """The bad rows as exported, each with its reasons, for the user to fix and drop again.

    ``rows`` is the table of the file's rows as read (its headers as written, ``_row_number``);
    ``checked`` the checking query's table (``_file_idx``, ``_row_number``, ``_issues``)."""
    out = quarantine_folder(settings, source) / f"{path.stem}.rejected.csv"
    con.execute(
        "COPY (SELECT i.* EXCLUDE (_row_number), c._row_number AS _row, array_to_string(list_transform(c._issues, "
        f"lambda x: x.column || ': ' || x.rule), '; ') AS _reason FROM {rows} i JOIN {checked} c "
        f"ON c._file_idx = {int(file_idx)} AND c._row_number = i._row_number "
        f"WHERE len(c._issues) > 0 ORDER BY _row) TO {lit(str(out))} (HEADER, DELIMITER ',')")
