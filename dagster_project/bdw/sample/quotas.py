"""Sales ops' quotas (docs/metrics.md section 7): each field rep's share of the year's plan.

2025 comes as one yearly row per rep (sales ops' old way), 2026 as quarterly rows (the back-loaded
plan, 38M / 42M / 45M / 55M). Sales ops sizes a rep's share by the book the rep carries into the year
(QUOTA_BOOK_WEIGHT: the rep's share of the year's signed revenue, blurred by a lognormal error, the
rest split equally), so most reps land between 60% and 140% of quota and a few far off. Reps hired
during the year get a ramp quota from the quarter after they start; a rep who leaves has the
remaining quarters withdrawn (a later file deletes them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bdw.sample import dates as d
from bdw.sample import figures
from bdw.sample.people import is_employed

FIELD_TEAMS = ("direct", "channel", "overseas")


def _book_share(c: pd.DataFrame, reps: np.ndarray, year: int) -> np.ndarray:
    """Each rep's share of the signed revenue (CNY) the reps sign in `year`."""
    counted = ~c["cancelled"].to_numpy() & (d.year(c["signed"].to_numpy()) == year)
    revenue = pd.Series(c["cny"].to_numpy()[counted]).groupby(c["owner"].to_numpy()[counted]).sum()
    mine = revenue.reindex(reps, fill_value=0.0).to_numpy()
    return mine / mine.sum() if mine.sum() > 0 else np.full(len(reps), 1 / len(reps))


def _round(amount: np.ndarray | float) -> np.ndarray:
    return np.round(np.asarray(amount, dtype=float) / figures.QUOTA_ROUNDING) * figures.QUOTA_ROUNDING


def quotas(rng: np.random.Generator, c: pd.DataFrame, roster: pd.DataFrame, as_of: int, scale: int) -> pd.DataFrame:
    """The quota files sales ops sent up to `as_of`: rep_id, period, quota_cny, is_deleted, _file."""
    field = np.flatnonzero(np.isin(roster["team"].to_numpy(), FIELD_TEAMS))
    hire, leave = roster["hire_date"].to_numpy(), roster["leave_date"].to_numpy()
    rows: list[tuple[int, str, float, bool, int]] = []  # (rep, period, quota, deleted, file day)
    for year, plan in figures.QUOTA_PLANS.items():
        start = d.day(f"{year}-01-01")
        shape = np.array(plan.quarters) / sum(plan.quarters) if plan.quarters else None
        level = plan.total * scale
        staff = field[is_employed(roster, field, np.full(len(field), start))]
        book = _book_share(c, staff, year) * rng.lognormal(0.0, figures.QUOTA_BOOK_ERROR, len(staff))
        weight = (1 - figures.QUOTA_BOOK_WEIGHT) / len(staff) + figures.QUOTA_BOOK_WEIGHT * book / book.sum()
        issued = d.day(plan.issued)
        if shape is not None:
            for q in range(4):
                rows += [(int(r), f"{year}-Q{q + 1}", float(a), False, issued)
                         for r, a in zip(staff, _round(level * shape[q] * weight), strict=True)]
        else:
            rows += [(int(r), str(year), float(a), False, issued)
                     for r, a in zip(staff, _round(level * weight), strict=True)]
        # hired during the year: a ramp quota from the next quarter on, sent the day they start
        average = level / len(staff) * figures.QUOTA_RAMP
        for r in field[(hire[field] > start) & (d.year(hire[field]) == year)]:
            first_q = (d.to_date(hire[r]).month - 1) // 3 + 2
            if shape is not None:
                rows += [(int(r), f"{year}-Q{q}", float(_round(average * shape[q - 1])), False, int(hire[r]))
                         for q in range(first_q, 5)]
            elif first_q <= 4:
                rows.append((int(r), str(year), float(_round(average * (5 - first_q) / 4)), False, int(hire[r])))
        # left during the year: the quarters after the one they leave in are withdrawn at its end
        if shape is not None:
            for r in staff[(leave[staff] != d.NONE) & (d.year(leave[staff]) == year)]:
                q_left = (d.to_date(leave[r]).month - 1) // 3 + 1
                withdrawn = int(d.month_end(d.month(np.array([d.day(f"{year}-{q_left * 3:02d}-01")])))[0])
                rows += [(int(r), f"{year}-Q{q}", 0.0, True, withdrawn) for q in range(q_left + 1, 5)]
    f = pd.DataFrame(rows, columns=["rep", "period", "quota_cny", "is_deleted", "_file"])
    f = f[f["_file"] <= as_of]
    # a withdrawn row repeats the quota it removes (an export of deleted rows keeps their values)
    kept = f[~f["is_deleted"]].set_index(["rep", "period"])["quota_cny"]
    gone = f["is_deleted"].to_numpy()
    f.loc[gone, "quota_cny"] = [kept.get((r, p), 0.0) for r, p in zip(f["rep"][gone], f["period"][gone], strict=True)]
    f["rep_id"] = roster["rep_id"].to_numpy()[f["rep"].to_numpy()]
    return f.sort_values(["_file", "rep_id", "period"], kind="stable").reset_index(drop=True)[
        ["rep_id", "period", "quota_cny", "is_deleted", "_file"]]


def pace(c: pd.DataFrame, roster: pd.DataFrame, quota_rows: pd.DataFrame, as_of: int) -> np.ndarray:
    """Per roster row, how hard the rep works the field this year: 0.6 + 0.4 x (signed revenue so far /
    the year's quota x elapsed share), between 0.5 and 1.4; 1 without a quota. The reps behind their
    quota are the ones who visit customers less (notebook 07)."""
    year = d.to_date(as_of).year
    start = d.day(f"{year}-01-01")
    share = (as_of - start + 1) / (d.day(f"{year}-12-31") - start + 1)
    live = quota_rows[~quota_rows["is_deleted"] & quota_rows["period"].str.startswith(str(year))]
    quota = live.groupby("rep_id")["quota_cny"].sum().reindex(roster["rep_id"]).to_numpy()
    signed = c["signed"].to_numpy()
    counted = ~c["cancelled"].to_numpy() & (signed >= start) & (signed <= as_of) & (c["owner"].to_numpy() >= 0)
    revenue = pd.Series(c["cny"].to_numpy()[counted]).groupby(c["owner"].to_numpy()[counted]).sum()
    revenue = revenue.reindex(range(len(roster)), fill_value=0.0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        performance = revenue / (quota * share)
    out = np.clip(0.6 + 0.4 * performance, 0.5, 1.4)
    return np.where(np.isfinite(out), out, 1.0)
