"""Who owns what (reps employed on the day) and when a new customer was first touched."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bdw.sample import dates as d
from bdw.sample import figures


def pick_employed(
    rng: np.random.Generator, roster: pd.DataFrame, team: np.ndarray, on: np.ndarray
) -> np.ndarray:
    """A random rep of the row's team employed on the row's day (row index into roster)."""
    out = np.full(len(team), -1, dtype=np.int64)
    on = np.maximum(np.asarray(on, dtype=np.int64), d.day(figures.START))
    hire = roster["hire_date"].to_numpy()
    leave = roster["leave_date"].to_numpy()
    for t in np.unique(team):
        rows = np.flatnonzero(team == t)
        reps = np.flatnonzero(roster["team"].to_numpy() == t)
        day = on[rows][:, None]
        ok = (hire[reps][None, :] <= day) & ((leave[reps][None, :] == d.NONE) | (leave[reps][None, :] > day))
        cum = np.cumsum(ok, axis=1)
        u = np.floor(rng.random(len(rows)) * cum[:, -1]).astype(np.int64) + 1
        out[rows] = reps[np.minimum((cum < u[:, None]).sum(axis=1), len(reps) - 1)]
    return out


def is_employed(roster: pd.DataFrame, rep: np.ndarray, on: np.ndarray) -> np.ndarray:
    on = np.maximum(np.asarray(on, dtype=np.int64), d.day(figures.START))
    leave = roster["leave_date"].to_numpy()[rep]
    return (rep >= 0) & (roster["hire_date"].to_numpy()[rep] <= on) & ((leave == d.NONE) | (leave > on))


def account_teams(rng: np.random.Generator, a: pd.DataFrame) -> np.ndarray:
    domestic_partner = a["partner_pref"].to_numpy() & ~a["overseas"].to_numpy()
    team = np.where(a["overseas"].to_numpy(), "overseas", "direct").astype(object)
    team[domestic_partner & (rng.random(len(a)) < 0.4)] = "channel"
    return team


def owners(
    rng: np.random.Generator, roster: pd.DataFrame, team: np.ndarray, primary: np.ndarray, on: np.ndarray
) -> np.ndarray:
    """The account's primary owner when still employed that day, else a colleague of the team."""
    keep = is_employed(roster, primary, on)
    out = primary.copy()
    if (~keep).any():
        out[~keep] = pick_employed(rng, roster, team[~keep], on[~keep])
    return out


def first_touches(
    rng: np.random.Generator, c: pd.DataFrame, pay: pd.DataFrame, first_planned: np.ndarray
) -> np.ndarray:
    """First-touch day of each new contract: the cycle to its first positive payment has the mean of
    the payment year's plan (exactly, in whole days, over the counting contracts paid by as-of)."""
    n = len(c)
    touch = np.full(n, d.NONE, dtype=np.int64)
    new = np.flatnonzero((c["ctype"] == "new").to_numpy())
    pos = pay[pay["cents"] > 0].groupby("contract")["received"].min()
    p1 = pos.reindex(new).fillna(d.NONE).to_numpy(dtype=np.int64)
    paid = p1 != d.NONE
    base = np.where(paid, p1, first_planned[new])
    signed = c["signed"].to_numpy()[new]
    floor = base - signed + 14  # the deal takes at least two weeks before signing
    years = d.year(base)
    target = np.array([figures.plan(int(min(y, max(figures.PLANS)))).sales_cycle_days for y in years])
    cycle = np.maximum(rng.gamma(6.0, target / 6.0), floor)
    counted = paid & ~c["cancelled"].to_numpy()[new]
    for y in np.unique(years[counted]):
        g = np.flatnonzero(counted & (years == y))
        t = target[g[0]]
        for _ in range(100):
            gap = t - cycle[g].mean()
            if abs(gap) < 1e-6:
                break
            cycle[g] = np.maximum(cycle[g] + gap, floor[g])
        cyc = np.round(cycle[g]).astype(np.int64)
        diff = int(round(t * len(g))) - int(cyc.sum())
        order = rng.permutation(len(g))
        for i in order:
            if diff == 0:
                break
            step = 1 if diff > 0 else -1
            if cyc[i] + step >= floor[g][i]:
                cyc[i] += step
                diff -= step
        cycle[g] = cyc
    touch[new] = base - np.round(cycle).astype(np.int64)
    return touch
