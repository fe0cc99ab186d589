"""Every CSV file the project writes for people to open goes through :func:`write_csv`.

A cell that starts like a formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage return, and
their full-width forms) is what a spreadsheet evaluates when the file is opened: an export's
``=HYPERLINK(...)`` in a rejected row would run on the analyst's machine. Such a cell is written
with a leading ``'`` (OWASP's advice for CSV injection), so the spreadsheet shows it as text; the
value itself is still readable, and the user fixes it in the source system anyway.

A cell that is a plain number (``-1,234.50``, ``+7``) is written as it is, in any column: a
spreadsheet reads it as that number, which is no formula, and a refund's negative amount stays a
number. Everything else starting with one of those characters, a phone number like ``+86 138...``
included, gets the ``'``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?|[-+]?\.\d+")


def neutralise(cell: object) -> str:
    """The cell as text a spreadsheet will not evaluate (None is an empty cell)."""
    text = "" if cell is None else str(cell)
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(path: Path, header: Sequence[object], rows: Iterable[Sequence[object]]) -> Path:
    """``path`` as UTF-8 CSV, every cell, the header's included, through :func:`neutralise`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow([neutralise(h) for h in header])
        for row in rows:
            w.writerow([neutralise(c) for c in row])
    return path
