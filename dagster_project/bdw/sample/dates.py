"""Dates as int64 day numbers (days since 1970-01-01), vectorised; -1 means no date."""

from __future__ import annotations

from datetime import date

import numpy as np

NONE = -1
_EPOCH = np.datetime64("1970-01-01", "D")


def day(d: date | str) -> int:
    return int((np.datetime64(d, "D") - _EPOCH).astype(np.int64))


def to_date(d: int) -> date:
    return (np.datetime64(int(d), "D")).astype(object)


def _d64(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]")


def iso(days: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD' strings; None where there is no date."""
    days = np.asarray(days, dtype=np.int64)
    out = _d64(days).astype(str).astype(object)
    out[days == NONE] = None
    return out


def month(days: np.ndarray) -> np.ndarray:
    """Month index (months since 1970-01)."""
    return _d64(days).astype("datetime64[M]").astype(np.int64)


def year(days: np.ndarray) -> np.ndarray:
    return _d64(days).astype("datetime64[Y]").astype(np.int64) + 1970


def month_start(months: np.ndarray | int) -> np.ndarray:
    return np.asarray(months, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def month_end(months: np.ndarray | int) -> np.ndarray:
    return month_start(np.asarray(months, dtype=np.int64) + 1) - 1


def month_label(months: np.ndarray | int) -> np.ndarray:
    return np.asarray(months, dtype=np.int64).astype("datetime64[M]").astype(str)


def add_months(days: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """The same day n months later (overflowing into the next month like a calendar does)."""
    d = _d64(days)
    m = d.astype("datetime64[M]")
    dom = (d - m.astype("datetime64[D]")).astype(np.int64)
    return (m + np.asarray(n, dtype=np.int64)).astype("datetime64[D]").astype(np.int64) + dom


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday."""
    return (np.asarray(days, dtype=np.int64) + 3) % 7


def mondays(first: int, last: int) -> np.ndarray:
    start = first + (-weekday(np.array([first]))[0]) % 7
    return np.arange(start, last + 1, 7, dtype=np.int64)


def fmt(days: np.ndarray, style: str) -> np.ndarray:
    """Dates as an export writes them: 'iso', 'slash' (YYYY/MM/DD) or 'zh' (YYYY年M月D日)."""
    s = iso(days)
    if style == "iso":
        return s
    out = np.empty(len(s), dtype=object)
    for i, v in enumerate(s):
        if v is None:
            out[i] = None
        elif style == "slash":
            out[i] = v.replace("-", "/")
        else:
            y, m, d = v.split("-")
            out[i] = f"{y}年{int(m)}月{int(d)}日"
    return out
