"""Rolling revenue forecasts and customers' published quarterly results."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bdw.sample import dates as d
from bdw.sample import figures
from bdw.sample.people import is_employed


def forecasts(rng: np.random.Generator, c: pd.DataFrame, roster: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """Submitted on the 25th: the company's next three months and next quarter, each rep's next
    month. Off by a normal error; some months by more than 15%."""
    counted = ~c["cancelled"].to_numpy()
    month = d.month(c["signed"].to_numpy())
    actual_m = pd.Series(c["cny"].to_numpy()[counted]).groupby(month[counted]).sum()
    first = d.month(np.array([d.day(figures.START)]))[0]
    last = d.month(np.array([as_of]))[0]
    rows = []
    per_rep = (
        pd.Series(c["cny"].to_numpy()[counted])
        .groupby([c["owner"].to_numpy()[counted], month[counted]])
        .sum()
    )
    forecasters = np.flatnonzero(np.isin(roster["team"].to_numpy(), ["direct", "channel", "overseas"]))
    for m in range(first, last + 1):
        sub = int(d.month_start(m)) + 24
        if sub > as_of:
            break
        nq = (m % 12) // 3 * 3 + 3 + (m // 12) * 12  # first month of the next quarter
        periods = [(m + k, d.month_label(m + k).item()) for k in (1, 2, 3)]
        y, q = divmod(nq, 12)
        periods.append((nq, f"{1970 + y}-Q{q // 3 + 1}"))
        for pm, label in periods:
            months = [pm] if "Q" not in label else [pm, pm + 1, pm + 2]
            actual = sum(_expected(actual_m, mm, as_of) for mm in months)
            err = rng.normal(0.02, 0.13)
            rows.append((sub, label, "company", round(actual * (1 + err), -4)))
        active = forecasters[is_employed(roster, forecasters, np.full(len(forecasters), sub))]
        for r in active:
            base = per_rep.get((r, m + 1), 0.0) + rng.uniform(100_000, 400_000)
            rows.append(
                (
                    sub,
                    d.month_label(m + 1).item(),
                    roster["rep_id"].iat[r],
                    round(base * (1 + rng.normal(0.05, 0.2)), -3),
                )
            )
    f = pd.DataFrame(rows, columns=["submitted_at", "period", "scope", "forecast_amount_cny"])
    f["_file"] = f["submitted_at"]
    return f


def _expected(actual_m: pd.Series, m: int, as_of: int) -> float:
    """A month's revenue as it turned out, or the plan for months after as-of."""
    if int(d.month_end(m)) <= as_of:
        return float(actual_m.get(m, 0.0))
    y = 1970 + m // 12
    pl = figures.plan(min(max(y, figures.START.year), max(figures.PLANS) + 1))
    return pl.revenue * figures.MONTH_WEIGHTS[m % 12] / sum(figures.MONTH_WEIGHTS)


def financials(rng: np.random.Generator, a: pd.DataFrame, as_of: int, scale: int) -> pd.DataFrame:
    """Quarterly net profit of the big customers (published 45 days after quarter end). Per scale
    unit two report losses in the last two published quarters (a red warning), one had two loss
    quarters in early 2025 and one a single loss quarter."""
    big = np.flatnonzero(np.isin(a["kind"].to_numpy(), ["top", "strategic"]))
    regular = np.flatnonzero((a["kind"].to_numpy() == "regular") & (a["special"].to_numpy() == ""))
    who = np.concatenate([big, rng.choice(regular, min(len(regular), 20 * scale), replace=False)])
    quarters = []
    for y in range(figures.START.year, d.to_date(as_of).year + 1):
        for q in range(1, 5):
            published = int(d.month_end(d.month(np.array([d.day(f"{y}-{3 * q:02d}-01")]))[0])) + 45
            if published <= as_of:
                quarters.append((f"{y}-Q{q}", published))
    nq = len(quarters)
    level = rng.lognormal(np.log(80_000_000), 1.0, len(who))
    noise = rng.normal(1.0, 0.25, (len(who), nq))
    profit = level[:, None] * noise
    order = rng.permutation(len(who))
    red, history, single = order[: 2 * scale], order[2 * scale : 3 * scale], order[3 * scale : 4 * scale]
    if nq >= 2:
        profit[red, -2:] = -np.abs(profit[red, -2:]) * 0.3
    labels = [q for q, _ in quarters]
    for i0 in (labels.index("2025-Q1"),) if "2025-Q2" in labels else ():
        profit[history, i0 : i0 + 2] = -np.abs(profit[history, i0 : i0 + 2]) * 0.2
    if nq >= 4:
        profit[single, -4] = -np.abs(profit[single, -4]) * 0.2
    overseas = a["overseas"].to_numpy()[who]
    ccy = np.where(overseas, "USD", figures.CNY)
    profit = np.where(overseas[:, None], profit / 7.2, profit)
    rows = pd.DataFrame(
        {
            "account": np.repeat(who, nq),
            "fiscal_quarter": np.tile(labels, len(who)),
            "net_profit": np.round(profit.ravel(), -3),
            "currency": np.repeat(ccy, nq),
            "_file": np.tile([p for _, p in quarters], len(who)),
        }
    )
    return rows
