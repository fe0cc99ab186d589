"""Write the sources' rows as export files, with the quirks real exports have (docs/metrics.md section 3).

Every file is named `<date>_<source>.<ext>` after its export date. Most are plain UTF-8 CSV;
`MESSINESS` lists the files that come out otherwise. Output is byte-for-byte reproducible.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bdw.contract import SOURCES
from bdw.sample import dates as d

Parts = Callable[[], Iterator[pd.DataFrame]]  # as bdw.sample.world.Parts
BOOL_WORDS = {"true": ("true", "false"), "yes": ("yes", "no"), "zh": ("是", "否")}


@dataclass(frozen=True)
class Style:
    fmt: str = "csv"  # csv, xlsx, parquet
    encoding: str = "utf-8"  # utf-8, utf-8-sig, gbk
    dates: str = "iso"  # iso, slash (YYYY/MM/DD), zh (YYYY年M月D日)
    money: str = "plain"  # plain or thousands (1,234,567.00)
    bools: str = "true"  # true, yes, zh
    odd_enums: bool = False  # enum values in odd case and padding (" Closed_Won ")
    implicit_recurring: bool = False  # is_recurring left blank where the default applies
    title: str | None = None  # xlsx: a title row and a blank row above the header
    header_case: bool = False  # headers as a person types them (Contract_ID)
    duplicate_as: str | None = None  # the same file dropped again under this name


# (source, export date) -> how that file comes out; every other file is plain UTF-8 CSV
MESSINESS: dict[tuple[str, str], Style] = {}


def _mess(source: str, first: str, last: str | None = None, **quirks: object) -> None:
    """Give the month-end exports of a source from `first` to `last` (YYYY-MM) these quirks."""
    for p in pd.period_range(first, last or first, freq="M"):
        key = (source, str(p.end_time.date()))
        MESSINESS[key] = replace(MESSINESS.get(key, Style()), **quirks)


_mess("accounts", "2025-03", encoding="gbk", dates="zh")
_mess("opportunities", "2024-12", encoding="utf-8-sig")
_mess("opportunities", "2025-01", "2025-06", bools="yes")
_mess("opportunities", "2025-07", "2025-12", bools="zh")
_mess("opportunities", "2025-11", odd_enums=True)
_mess("activities", "2025-04", dates="slash")
_mess("contracts", "2025-06", fmt="xlsx", title="Contract export 2025-06", header_case=True)
_mess("contracts", "2025-09", odd_enums=True)
_mess("contract_lines", "2024-01", "2024-12", implicit_recurring=True)
_mess("contract_lines", "2025-10", "2025-12", money="thousands")
_mess("contract_lines", "2025-11", odd_enums=True)
_mess("payments", "2025-04", dates="slash")
_mess("payments", "2025-06", duplicate_as="2025-06-30_payments (1).csv")
_mess("payments", "2026-01", "2026-12", money="thousands")
_mess("costs", "2025-09", fmt="parquet")
_mess("partners", "2025-12", bools="yes")
BAD_ROWS_FILE = ("activities", "2025-10-31")


def write_all(out: Path, frames: Mapping[str, pd.DataFrame | Parts]) -> dict[str, int]:
    """Write every source's files; a source is its rows, or (``world.sources``) a function that makes
    them in parts of whole files, each written and dropped before the next is made."""
    counts: dict[str, int] = {}
    bad = frames.get("activities_bad")
    if callable(bad):
        bad = pd.concat(list(bad()), ignore_index=True)
    for source in SOURCES:
        counts[source] = 0
        made = frames[source]
        for frame in (made() if callable(made) else [made]):
            if frame.empty:  # nothing of it exists yet at as-of
                continue
            counts[source] += _write_source_part(out, source, frame, bad)
    return counts


def _write_source_part(out: Path, source: str, frame: pd.DataFrame, bad: pd.DataFrame | None) -> int:
    """Write the export files whose rows ``frame`` holds (all of each file's rows)."""
    folder = out / source
    folder.mkdir(parents=True, exist_ok=True)
    columns = [c for c in SOURCES[source].column_names if c in frame.columns]
    files = frame["_file"].to_numpy()
    order = np.argsort(files, kind="stable")
    bounds = np.flatnonzero(np.diff(files[order])) + 1
    total = 0
    for idx in np.split(order, bounds):
        if not len(idx):
            continue
        day = str(d.iso(files[idx[:1]])[0])
        style = MESSINESS.get((source, day), Style())
        part = frame.iloc[idx]
        extra = bad if (source, day) == BAD_ROWS_FILE and bad is not None else None
        total += _write_file(folder, source, day, part, columns, style, extra)
    return total


def _write_file(
    folder: Path,
    source: str,
    day: str,
    part: pd.DataFrame,
    columns: list[str],
    style: Style,
    extra: pd.DataFrame | None,
) -> int:
    path = folder / f"{day}_{source}.{style.fmt}"
    rows = len(part)
    if style.fmt == "parquet":
        pq.write_table(_typed_table(source, part, columns), path, compression="snappy")
    elif style.fmt == "xlsx":
        path.write_bytes(_xlsx(source, part, columns, style))
    else:
        text = {c: _text(source, c, part[c].to_numpy(), style) for c in columns}
        if style.implicit_recurring and "_explicit" in part:  # the default applies: leave it blank
            text["is_recurring"] = np.where(part["_explicit"].to_numpy(), text["is_recurring"], None)
        if extra is not None:
            for c in columns:
                text[c] = np.concatenate([text[c], _objects(extra[c].to_numpy())])
            rows += len(extra)
        path.write_bytes(_csv(text, style))
    if style.duplicate_as:
        (folder / style.duplicate_as).write_bytes(path.read_bytes())
        rows *= 2
    return rows


# ---- values as text ----------------------------------------------------------------------------
def _text(source: str, column: str, values: np.ndarray, style: Style) -> np.ndarray:
    col = SOURCES[source].column(column)
    t = col.type
    if t == "date":
        return d.fmt(values.astype(np.int64), style.dates)
    if t == "money":
        return _money(values.astype(float), style.money == "thousands")
    if t == "bool":
        yes, no = BOOL_WORDS[style.bools]
        return np.array([None if pd.isna(v) else (yes if v else no) for v in values], dtype=object)
    if t == "int":
        return values.astype(np.int64).astype(str).astype(object)
    if t == "decimal":
        return np.array([f"{v:.4f}" for v in values], dtype=object)
    if t == "score":
        return np.array([f"{v:.0f}" for v in values], dtype=object)
    out = _objects(values)
    if t == "enum" and style.odd_enums:
        out = np.array(
            [
                None if v is None else (f" {v.title()} " if i % 2 == 0 else v.upper())
                for i, v in enumerate(out)
            ],
            dtype=object,
        )
    return out


def _objects(values: np.ndarray) -> np.ndarray:
    """Strings with None for missing (pandas may hand back NaN)."""
    out = np.asarray(values, dtype=object).copy()
    out[pd.isna(out)] = None
    return out


def _money(values: np.ndarray, thousands: bool) -> np.ndarray:
    missing = np.isnan(values)
    cents = np.round(np.where(missing, 0, values) * 100).astype(np.int64)
    if thousands:
        out = np.array([f"{c / 100:,.2f}" for c in cents], dtype=object)
    else:
        whole = pc.cast(pa.array(np.abs(cents) // 100), pa.string())
        frac = pc.utf8_lpad(pc.cast(pa.array(np.abs(cents) % 100), pa.string()), 2, "0")
        signed = pc.binary_join_element_wise(pa.array(np.where(cents < 0, "-", "")), whole, "")
        out = np.array(pc.binary_join_element_wise(signed, frac, ".").to_pylist(), dtype=object)
    out[missing] = None
    return out


def _csv(text: dict[str, np.ndarray], style: Style) -> bytes:
    if style.encoding == "gbk":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(list(text))
        cols = list(text.values())
        for i in range(len(cols[0]) if cols else 0):
            w.writerow(["" if col[i] is None else col[i] for col in cols])
        return buf.getvalue().encode("gbk")
    table = pa.table({k: pa.array(v.tolist(), type=pa.string()) for k, v in text.items()})
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    data = buf.getvalue()
    return (b"\xef\xbb\xbf" + data) if style.encoding == "utf-8-sig" else data


# ---- xlsx and parquet ----------------------------------------------------------------------------
def _header(name: str) -> str:
    return "_".join("ID" if p == "id" else p.capitalize() for p in name.split("_"))


def _cell_values(source: str, column: str, values: np.ndarray) -> list:
    t = SOURCES[source].column(column).type
    if t == "date":
        return [None if v == d.NONE else d.to_date(v) for v in values.astype(np.int64)]
    if t in ("money", "decimal", "score"):
        return [None if np.isnan(v) else round(float(v), 2) for v in values.astype(float)]
    if t == "int":
        return [int(v) for v in values]
    return list(_objects(values))


def _xlsx(source: str, part: pd.DataFrame, columns: list[str], style: Style) -> bytes:
    """First sheet: an optional title row and blank row, the header, rows with real date cells."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    ws = wb.active
    ws.title = "Export"
    if style.title:
        ws.append([style.title])
        ws.append([])
    ws.append([_header(c) if style.header_case else c for c in columns])
    cols = [_cell_values(source, c, part[c].to_numpy()) for c in columns]
    for row in zip(*cols, strict=True):
        ws.append(list(row))
    for j, c in enumerate(columns, start=1):
        if SOURCES[source].column(c).type == "date":
            for (cell,) in ws.iter_rows(min_row=ws.max_row - len(part) + 1, min_col=j, max_col=j):
                cell.number_format = "yyyy-mm-dd"
    stamp = datetime(2000, 1, 1)
    if len(part):
        stamp = datetime.combine(d.to_date(int(part["_file"].iat[0])), datetime.min.time())
    wb.properties.created = stamp
    wb.properties.modified = stamp
    buf = io.BytesIO()
    archive = zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(wb, archive).save()  # save_workbook would stamp the current time
    return _fixed_zip(buf.getvalue(), stamp)


def _fixed_zip(raw: bytes, stamp: datetime) -> bytes:
    """Re-pack a zip with a fixed timestamp on every entry (zipfile stamps the current time)."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            z.writestr(entry, src.read(info.filename))
    return out.getvalue()


def _typed_table(source: str, part: pd.DataFrame, columns: list[str]) -> pa.Table:
    """A parquet export keeps types: dates as dates, money as decimal(18,2)."""
    from decimal import Decimal

    arrays = {}
    for c in columns:
        t = SOURCES[source].column(c).type
        v = part[c].to_numpy()
        if t == "date":
            arrays[c] = pa.array(
                [None if x == d.NONE else d.to_date(x) for x in v.astype(np.int64)], pa.date32()
            )
        elif t == "money":
            arrays[c] = pa.array(
                [None if np.isnan(x) else Decimal(int(round(x * 100))).scaleb(-2) for x in v.astype(float)],
                pa.decimal128(18, 2),
            )
        elif t == "bool":
            arrays[c] = pa.array([None if pd.isna(x) else bool(x) for x in v], pa.bool_())
        elif t == "int":
            arrays[c] = pa.array(v.astype(np.int32), pa.int32())
        else:
            arrays[c] = pa.array(list(_objects(v)), pa.string())
    return pa.table(arrays)
