"""Reps (HR roster), their reviews, channel partners and fx rates: fixed-size, at every scale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bdw.sample import dates as d
from bdw.sample import figures, names
from bdw.sample.people import is_employed


def reps(rng: np.random.Generator) -> pd.DataFrame:
    spec = pd.DataFrame(figures.REPS, columns=["code", "team", "hire", "leave", "role_tags", "region"])
    spec["hire_date"] = [d.day(x) for x in spec["hire"]]
    spec["leave_date"] = [d.day(x) if isinstance(x, str) else d.NONE for x in spec["leave"]]
    spec = spec.sort_values(["hire_date", "code"]).reset_index(drop=True)
    spec["rep_id"] = [f"E{1001 + i}" for i in range(len(spec))]
    chinese = (spec["region"] == "CN").to_numpy()
    spec["rep_name"], _ = names.people(rng, len(spec), chinese)
    return spec[["rep_id", "code", "rep_name", "team", "region", "hire_date", "leave_date", "role_tags"]]


def roster_files(roster: pd.DataFrame, as_of: int, keys: str, start: str, end: str) -> pd.DataFrame:
    """HR/channel roster snapshots at each year end and at as-of: who had started by then, with
    the end dates known by then."""
    files = [d.day(f"{y}-12-31") for y in range(figures.START.year, d.to_date(as_of).year)] + [as_of]
    parts = []
    for f in files:
        part = roster[roster[start] <= f].copy()
        if part.empty:
            continue
        part.loc[part[end] > f, end] = d.NONE
        part["_file"] = f
        parts.append(part)
    return pd.concat(parts, ignore_index=True).sort_values(["_file", keys]).reset_index(drop=True)


def partner_files(rng: np.random.Generator, partners: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """The channel's partner exports at each quarter end and at as-of: the partners onboarded by
    then, with what was known that day - a termination only once it happened, the health score of
    that quarter (today's less PARTNER_HEALTH_TREND a year, with noise), the tier of that time (the
    promoted gold partners were silver before PARTNER_PROMOTED's day). The certification date is
    left out before it happens by the caller."""
    first = d.month(np.array([d.day(figures.START)]))[0]
    quarter_ends = d.month_end(np.arange(first + 2, d.month(np.array([as_of]))[0] + 1, 3))
    files = [int(f) for f in quarter_ends if f < as_of] + [as_of]
    count, on = figures.PARTNER_PROMOTED
    gold = np.flatnonzero(partners["tier"].to_numpy() == "gold")
    promoted = rng.permutation(gold)[:count]
    parts = []
    for f in files:
        part = partners[partners["onboarded_date"] <= f].copy()
        if part.empty:
            continue
        part.loc[part["terminated_date"] > f, "terminated_date"] = d.NONE
        years_before = (as_of - f) / 365.25
        noise = rng.normal(0.0, 1.5, len(part)) if f < as_of else np.zeros(len(part))
        part["health_score"] = np.clip(
            np.round(part["health_score"].to_numpy() - figures.PARTNER_HEALTH_TREND * years_before + noise), 0, 100)
        if f < d.day(on):
            part.loc[part.index.isin(promoted), "tier"] = "silver"
        part["_file"] = f
        parts.append(part)
    return pd.concat(parts, ignore_index=True).sort_values(["_file", "partner_id"]).reset_index(drop=True)


def reviews(rng: np.random.Generator, roster: pd.DataFrame, as_of: int) -> pd.DataFrame:
    rows = []
    for period, share in figures.REVIEW_HIGH_SHARE.items():
        published = d.day(figures.REVIEW_PUBLISHED[period])
        if published > as_of:
            continue
        y = int(period[:4])
        period_end = d.day(f"{y}-06-30" if period.endswith("H1") else f"{y}-12-31")
        everyone = np.arange(len(roster))
        on = np.full(len(roster), period_end)
        who = roster[is_employed(roster, everyone, on) & (roster["team"] != "management").to_numpy()]
        n = len(who)
        high = round(share * n)
        grades = np.empty(n, dtype=object)
        order = rng.permutation(n)
        grades[order[:high]] = np.where(rng.random(high) < 0.25, "A+", "A")
        rest = order[high:]
        grades[rest] = rng.choice(np.array(["B+", "B", "C"], dtype=object), len(rest), p=[0.5, 0.35, 0.15])
        rows.append(
            pd.DataFrame(
                {"rep_id": who["rep_id"].to_numpy(), "period": period, "grade": grades, "_file": published}
            )
        )
    if not rows:
        return pd.DataFrame(columns=["rep_id", "period", "grade", "_file"])
    return pd.concat(rows, ignore_index=True)


def partners(rng: np.random.Generator) -> pd.DataFrame:
    n_full = figures.PARTNERS_FULL_2025
    onboarded = list(rng.integers(d.day("2020-06-01"), d.day("2024-11-30"), n_full))
    terminated = [d.NONE] * n_full
    terminated[int(rng.integers(0, n_full))] = d.day(figures.PARTNER_TERMINATED_2026)
    for on, off in figures.PARTNER_EVENTS:
        onboarded.append(d.day(on))
        terminated.append(d.day(off) if off else d.NONE)
    n = len(onboarded)
    df = pd.DataFrame(
        {
            "onboarded_date": np.array(onboarded, dtype=np.int64),
            "terminated_date": np.array(terminated, dtype=np.int64),
        }
    )
    df = df.sort_values("onboarded_date", kind="stable").reset_index(drop=True)
    df["partner_id"] = [f"P{101 + i}" for i in range(n)]
    regions = np.array(["CN"] * 30 + ["SEA"] * 4 + ["EU"] * 3 + ["MEA"] * 2 + ["NA"] + ["APAC"], dtype=object)
    df["region"] = rng.permutation(regions)[:n]
    tiers = np.array(["registered"] * n, dtype=object)
    order = rng.permutation(n)
    k = 0
    for tier, count in figures.PARTNER_TIERS:
        tiers[order[k : k + count]] = tier
        k += count
    df["tier"] = tiers
    city = rng.integers(0, len(names.CITIES), n)
    brand = rng.integers(0, len(names.BRANDS), n)
    pre = rng.integers(0, len(names.PREFIX_EN), n)
    df["partner_name"] = [
        f"{names.CITIES[c]}{names.BRANDS[b]}信息技术有限公司"
        if r == "CN"
        else f"{names.PREFIX_EN[p]} Digital {names.LEGAL[r]}"
        for c, b, p, r in zip(city, brand, pre, df["region"], strict=True)
    ]
    # certification: everyone but the newest two and one registered partner, within a year of onboarding
    certified = df["onboarded_date"].to_numpy() + rng.integers(40, 330, n)
    uncertified = list(np.argsort(-df["onboarded_date"].to_numpy(), kind="stable")[:2])
    reg = [
        i
        for i in rng.permutation(n)
        if tiers[i] == "registered" and i not in uncertified and df["terminated_date"].iat[i] == d.NONE
    ]
    uncertified += reg[: figures.PARTNER_UNCERTIFIED - 2]
    certified[uncertified] = d.NONE
    df["certified_date"] = certified
    health = np.clip(rng.normal(figures.PARTNER_HEALTH_MEAN + 3, 4.5, n), 80, 99).round()
    low = rng.permutation(n)[:6]
    health[low] = rng.integers(62, 79, len(low))
    df["health_score"] = health
    suspended = np.zeros(n, dtype=bool)
    suspended[low[0]] = True  # one weak partner is already on credit hold; the others are not
    df["credit_suspended"] = suspended
    return df[
        [
            "partner_id",
            "partner_name",
            "region",
            "tier",
            "onboarded_date",
            "terminated_date",
            "certified_date",
            "health_score",
            "credit_suspended",
        ]
    ]


def partner_active(p: pd.DataFrame, on: np.ndarray) -> np.ndarray:
    """Matrix [day, partner]: active on that day."""
    on = np.asarray(on)[:, None]
    term = p["terminated_date"].to_numpy()[None, :]
    return (p["onboarded_date"].to_numpy()[None, :] <= on) & ((term == d.NONE) | (term > on))


def fx_rates(rng: np.random.Generator, first_month: int, last_month: int) -> pd.DataFrame:
    months = np.arange(first_month, last_month + 1)
    rows = []
    for ccy, (start, drift, vol) in figures.FX.items():
        steps = rng.normal(drift / 12, vol, len(months))
        steps[0] = 0.0
        rate = start * np.exp(np.cumsum(steps))
        rows.append(pd.DataFrame({"month": months, "currency": ccy, "rate_to_cny": rate.round(4)}))
    return pd.concat(rows, ignore_index=True)


def rate_lookup(fx: pd.DataFrame, currency: np.ndarray, days: np.ndarray) -> np.ndarray:
    """rate_to_cny of each row's currency in the month of its date (1 for CNY)."""
    ccys = [figures.CNY, *figures.FX]
    first = int(fx["month"].min())
    grid = np.ones((len(ccys), int(fx["month"].max()) - first + 1))
    grid[pd.Categorical(fx["currency"], categories=ccys).codes, fx["month"].to_numpy() - first] = fx[
        "rate_to_cny"
    ]
    code = pd.Categorical(np.asarray(currency, dtype=object), categories=ccys).codes
    out = np.ones(len(code))
    foreign = code > 0
    out[foreign] = grid[code[foreign], d.month(np.asarray(days)[foreign]) - first]
    return out
