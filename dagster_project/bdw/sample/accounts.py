"""The account base: who is a customer since when, where, in what industry, billed how."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bdw.sample import dates as d
from bdw.sample import figures, names

INDUSTRIES = (
    "manufacturing",
    "consumer_electronics",
    "retail",
    "healthcare",
    "energy",
    "finance",
    "education",
    "public_sector",
    "other",
)
INDUSTRY_P = (0.20, 0.15, 0.12, 0.10, 0.10, 0.10, 0.08, 0.10, 0.05)
OVERSEAS_REGIONS = ("SEA", "EU", "NA", "MEA", "LATAM", "APAC")
OVERSEAS_P = (0.34, 0.22, 0.12, 0.14, 0.08, 0.10)


def draw_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One day in [lo, hi] per row, months weighted by the sales seasonality (Q4 busier)."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    out = np.full(len(lo), d.NONE, dtype=np.int64)
    todo = np.flatnonzero(hi >= lo)
    weights = np.array(figures.MONTH_WEIGHTS) / max(figures.MONTH_WEIGHTS)
    for _ in range(60):
        if not len(todo):
            break
        cand = lo[todo] + np.floor(rng.random(len(todo)) * (hi[todo] - lo[todo] + 1)).astype(np.int64)
        ok = rng.random(len(todo)) < weights[d.month(cand) % 12]
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
    out[todo] = lo[todo]
    return out


def skeleton(rng: np.random.Generator, scale: int, as_of: int) -> pd.DataFrame:
    """One row per account with its role in the story; CRM fields are filled by `crm_fields`."""
    parts: list[dict] = [dict(kind="top", legacy=True, strat24=True, strat25=True, n=1, logo_year=0)]
    parts.append(
        dict(
            kind="strategic",
            legacy=True,
            strat24=True,
            strat25=True,
            n=figures.STRATEGIC_2024_LEGACY * scale,
            logo_year=0,
        )
    )
    parts.append(
        dict(
            kind="strategic",
            legacy=True,
            strat24=False,
            strat25=True,
            n=figures.STRATEGIC_2025_LEGACY * scale,
            logo_year=0,
        )
    )
    parts.append(
        dict(
            kind="strategic",
            legacy=False,
            strat24=False,
            strat25=True,
            n=figures.STRATEGIC_2025_LOGO_2024 * scale,
            logo_year=2024,
        )
    )
    parts.append(
        dict(
            kind="regular",
            legacy=True,
            strat24=False,
            strat25=False,
            n=figures.LEGACY_REGULAR * scale,
            logo_year=0,
        )
    )
    last_year = d.to_date(as_of).year
    for y in range(figures.START.year, last_year + 1):
        n = figures.NEW_LOGOS.get(y, figures.NEW_LOGOS[max(figures.NEW_LOGOS)]) * scale
        if y == 2024:
            n -= figures.STRATEGIC_2025_LOGO_2024 * scale
        parts.append(dict(kind="regular", legacy=False, strat24=False, strat25=False, n=n, logo_year=y))
    parts.append(
        dict(
            kind="prospect",
            legacy=False,
            strat24=False,
            strat25=False,
            n=figures.PROSPECTS * scale,
            logo_year=0,
        )
    )
    frames = [pd.DataFrame({k: [v] * p["n"] for k, v in p.items() if k != "n"}) for p in parts]
    a = pd.concat(frames, ignore_index=True)
    n = len(a)

    # where: the top account is domestic; 3 of every 13 other strategic ones are overseas
    overseas = rng.random(n) < np.where(a["kind"] == "prospect", 0.30, figures.OVERSEAS_ACCOUNT_SHARE)
    strat = np.flatnonzero((a["kind"] == "strategic").to_numpy())
    overseas[strat] = False
    per_unit = len(strat) // scale
    for u in range(scale):
        block = strat[u * per_unit : (u + 1) * per_unit]
        overseas[
            [block[0], block[figures.STRATEGIC_2024_LEGACY], block[-1]][: figures.STRATEGIC_OVERSEAS]
        ] = True
    overseas[a["kind"].to_numpy() == "top"] = False
    a["overseas"] = overseas
    region = np.where(overseas, rng.choice(np.array(OVERSEAS_REGIONS, dtype=object), n, p=OVERSEAS_P), "CN")
    a["region"] = region
    a["country"] = [
        names.COUNTRIES[r][i % len(names.COUNTRIES[r])]
        for r, i in zip(region, rng.integers(0, 100, n), strict=True)
    ]
    a["industry"] = rng.choice(np.array(INDUSTRIES, dtype=object), n, p=INDUSTRY_P)
    a.loc[a["kind"] == "top", "industry"] = "consumer_electronics"
    foreign = overseas & (rng.random(n) < figures.FOREIGN_BILLING_SHARE)
    a["currency"] = np.where(foreign, [figures.REGION_CURRENCY.get(r, "USD") for r in region], figures.CNY)
    a["partner_pref"] = (rng.random(n) < figures.PARTNER_SERVED_SHARE) & (a["kind"] != "top").to_numpy()

    # when: new logos sign their first contract in their logo year (never after as-of)
    logo = a["logo_year"].to_numpy()
    is_logo = logo > 0
    lo = np.array([d.day(f"{y}-01-05") if y else 0 for y in logo], dtype=np.int64)
    hi = np.array([d.day(f"{y}-12-28") if y else 0 for y in logo], dtype=np.int64)  # cut at as-of below
    big = (a["kind"] == "strategic").to_numpy() & is_logo
    hi[big] = np.minimum(hi[big], d.day("2024-09-30"))  # strategic logos grow into 2025 from early on
    logo_day = np.where(is_logo, draw_days(rng, lo, hi), d.NONE)
    keep = ~is_logo | ((logo_day != d.NONE) & (logo_day <= as_of))
    a["logo_day"] = logo_day
    a = a[keep].reset_index(drop=True)
    n = len(a)
    # legacy customers were created years ago; logos get their created_at from the first touch later
    a["created_at"] = np.where(a["legacy"], rng.integers(d.day("2019-01-01"), d.day("2023-06-30"), n), d.NONE)
    prospect = (a["kind"] == "prospect").to_numpy()
    a.loc[prospect, "created_at"] = rng.integers(d.day("2023-06-01"), as_of + 1, int(prospect.sum()))
    a["special"] = ""
    a["dup_of"] = -1
    return a


def add_special(a: pd.DataFrame, rng: np.random.Generator, scale: int, as_of: int) -> pd.DataFrame:
    """Per scale unit: the logo whose only contract gets cancelled, and a duplicate account
    created by mistake and deleted two months later."""
    rows = []
    for _ in range(scale):
        base_at = int(rng.integers(0, len(a)))
        base = a.iloc[base_at]
        cancelled = dict(
            kind="regular",
            legacy=False,
            strat24=False,
            strat25=False,
            logo_year=2025,
            overseas=False,
            region="CN",
            country="CN",
            industry="retail",
            currency=figures.CNY,
            partner_pref=False,
            logo_day=int(rng.integers(d.day("2025-02-03"), d.day("2025-02-26"))),
            created_at=d.NONE,
            special="cancelled",
            dup_of=-1,
        )
        dup = dict(base.to_dict())
        dup.update(
            kind="prospect",
            legacy=False,
            strat24=False,
            strat25=False,
            logo_year=0,
            logo_day=d.NONE,
            created_at=int(rng.integers(d.day("2025-05-05"), d.day("2025-05-28"))),
            special="duplicate",
            dup_of=base_at,
        )
        rows += [cancelled, dup]
    extra = pd.DataFrame(rows)
    extra = extra[(extra["logo_day"].where(extra["logo_day"] != d.NONE, extra["created_at"])) <= as_of]
    return pd.concat([a, extra], ignore_index=True)
