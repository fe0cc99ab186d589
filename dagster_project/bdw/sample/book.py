"""The contract book: new, expansion and renewal contracts, and their lines steered to the plans.

Structure first (who signs what when, which contracts renew), then amounts: contract amounts are
raked to each period's revenue, channel, overseas and named-account targets, line amounts to the
period's product mix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bdw.sample import dates as d
from bdw.sample import figures
from bdw.sample.accounts import draw_days
from bdw.sample.rake import rake
from bdw.sample.roster import partner_active, rate_lookup

N_KINDS = len(figures.KINDS)
KIND_BASE = np.array([1.0, 0.5, 0.5, 0.6, 0.5, 0.4])
TIER_WEIGHT = {"gold": 3.0, "silver": 2.0, "registered": 1.0}
CAP = 0.92 * figures.STRATEGIC_THRESHOLD  # accounts not meant to be strategic stay below this


@dataclass
class Book:
    contracts: pd.DataFrame
    lines: pd.DataFrame
    windows: pd.DataFrame


def strategic_at(a: pd.DataFrame, account: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Is the account meant to be strategic in that calendar year."""
    top = (a["kind"].to_numpy() == "top")[account]
    s24 = a["strat24"].to_numpy()[account] & (years <= 2025)
    s25 = a["strat25"].to_numpy()[account] & (years >= 2025)
    return top | s24 | s25


def pick_partner(rng: np.random.Generator, p: pd.DataFrame, days: np.ndarray, home: np.ndarray) -> np.ndarray:
    """The home partner when it is active that day, else an active one (gold and silver preferred)."""
    active = partner_active(p, days)
    idx = np.arange(len(days))
    ok = (home >= 0) & active[idx, np.maximum(home, 0)]
    w = active * np.array([TIER_WEIGHT[t] for t in p["tier"]])[None, :]
    cum = np.cumsum(w, axis=1)
    u = rng.random(len(days)) * cum[:, -1]
    fallback = (cum < u[:, None]).sum(axis=1)
    return np.where(ok, home, np.minimum(fallback, len(p) - 1))


def home_partners(rng: np.random.Generator, a: pd.DataFrame, p: pd.DataFrame) -> np.ndarray:
    w_tier = np.array([TIER_WEIGHT[t] for t in p["tier"]])
    home = np.empty(len(a), dtype=np.int64)
    for region, rows in a.groupby("region").indices.items():
        same = np.flatnonzero(p["region"].to_numpy() == region)
        pool = same if len(same) else np.arange(len(p))
        home[rows] = rng.choice(pool, len(rows), p=w_tier[pool] / w_tier[pool].sum())
    return home


def _kinds(rng: np.random.Generator, recurring: np.ndarray, big: np.ndarray) -> np.ndarray:
    """Which line kinds each contract has; big accounts buy broader bundles."""
    n = len(recurring)
    k = np.zeros((n, N_KINDS), dtype=bool)
    r = rng.random((n, N_KINDS))
    p_rec = np.where(big[:, None], [0.95, 0.6, 0.35], [0.75, 0.45, 0.35])
    p_non = np.where(big[:, None], [0.3, 0.6, 0.3], [0.15, 0.45, 0.2])
    k[:, :3] = r[:, :3] < p_rec
    k[~k[:, :3].any(axis=1), 0] = True
    k[:, 3:] = r[:, 3:] < p_non
    nr = ~recurring
    k[nr, :3] = False
    k[nr, 3:] = r[nr, 3:] < [0.5, 0.6, 0.3]
    k[nr & ~k[:, 3:].any(axis=1), 4] = True
    return k


def _base(rng: np.random.Generator, a: pd.DataFrame, scale: int, as_of: int) -> pd.DataFrame:
    """New-logo and expansion contracts: (account, type, signed, initial weight)."""
    last_year = d.to_date(as_of).year
    kind = a["kind"].to_numpy()
    logo_day = a["logo_day"].to_numpy()
    acc, ctype, lo, hi, weight = [], [], [], [], []

    def add(accounts: np.ndarray, t: str, lo_: np.ndarray, hi_: np.ndarray, w: np.ndarray) -> None:
        acc.append(accounts)
        ctype.append(np.full(len(accounts), t, dtype=object))
        lo.append(lo_)
        hi.append(hi_)
        weight.append(w)

    logos = np.flatnonzero((logo_day != d.NONE) & (a["special"].to_numpy() == ""))
    big = (kind[logos] == "strategic").astype(float)
    add(
        logos,
        "new",
        logo_day[logos],
        logo_day[logos],
        rng.lognormal(np.log(550_000) + big * np.log(3), 0.6, len(logos)),
    )

    s24 = a["strat24"].to_numpy() & (kind == "strategic")
    s25 = a["strat25"].to_numpy() & ~a["strat24"].to_numpy()
    for y in range(figures.START.year, last_year + 1):
        ys, ye = d.day(f"{y}-01-01"), d.day(f"{y}-12-31")
        vis = min(ye, as_of)
        frac = (vis - ys + 1) / (ye - ys + 1)
        for group, mask, mean, sigma in (
            ("top", kind == "top", 4_500_000, 0.3),
            ("strategic24", s24, 1_800_000, 0.35),
            ("strategic25", s25, 1_500_000, 0.35),
        ):
            per = figures.EXPANSIONS[group].get(y, figures.EXPANSIONS[group][2026])
            count = round(per * frac) * (scale if group == "top" else 1)
            rows = np.flatnonzero(mask)
            rows = np.repeat(rows, count)
            start = np.maximum(ys, np.where(logo_day[rows] != d.NONE, logo_day[rows] + 45, ys))
            keep = start <= vis
            add(
                rows[keep],
                "expansion",
                start[keep],
                np.full(keep.sum(), vis),
                rng.lognormal(np.log(mean), sigma, keep.sum()),
            )
        regular = np.flatnonzero(kind == "regular")
        legacy = a["legacy"].to_numpy()[regular]
        start = np.where(legacy, ys, np.maximum(ys, logo_day[regular] + 60))
        span = np.clip(vis - start + 1, 0, None) / (ye - ys + 1)
        lam = np.where(legacy, figures.EXPANSIONS["regular"], figures.EXPANSIONS["logo"]) * span
        special = a["special"].to_numpy()[regular] != ""
        count = np.where(special, 0, rng.poisson(lam))
        rows = np.repeat(regular, count)
        st = np.repeat(start, count)
        add(rows, "expansion", st, np.full(len(rows), vis), rng.lognormal(np.log(350_000), 0.7, len(rows)))

    c = pd.DataFrame(
        {
            "account": np.concatenate(acc),
            "ctype": np.concatenate(ctype),
            "lo": np.concatenate(lo).astype(np.int64),
            "hi": np.concatenate(hi).astype(np.int64),
            "weight": np.concatenate(weight),
        }
    )
    c["signed"] = np.where(
        c["lo"] == c["hi"], c["lo"], draw_days(rng, c["lo"].to_numpy(), c["hi"].to_numpy())
    )
    _top_in_every_quarter(c, kind, as_of)
    return c.drop(columns=["lo", "hi"])


def _top_in_every_quarter(c: pd.DataFrame, kind: np.ndarray, as_of: int) -> None:
    """In a year planned by quarters the top customer's target is steered quarter by quarter, which
    needs a contract of it in each quarter begun: a quarter its expansions missed takes one from the
    quarter with the most, at the same day of the quarter (no random draw: nothing else moves)."""
    top = np.flatnonzero((kind[c["account"].to_numpy()] == "top") & (c["ctype"].to_numpy() == "expansion"))
    signed = c["signed"].to_numpy().copy()
    for y in range(figures.START.year, d.to_date(as_of).year + 1):
        if figures.plan(y).quarters is None:
            continue
        starts = [d.day(f"{y}-{3 * q - 2:02d}-01") for q in range(1, 5)]
        begun = [q for q in range(4) if starts[q] <= as_of]
        rows = top[d.year(signed[top]) == y]
        for q in begun:
            quarter = np.searchsorted(starts, signed[rows], side="right") - 1
            counts = np.bincount(quarter, minlength=4)
            if counts[q] or counts.max() < 2:
                continue
            donor = rows[quarter == int(np.argmax(counts))][0]
            end = min(int(d.month_end(d.month(np.array([starts[q]]))[0] + 2)), as_of)
            signed[donor] = min(starts[q] + signed[donor] - starts[int(np.argmax(counts))], end)
    c["signed"] = signed


def _attributes(
    rng: np.random.Generator, c: pd.DataFrame, a: pd.DataFrame, p: pd.DataFrame, home: np.ndarray
) -> pd.DataFrame:
    n = len(c)
    acc = c["account"].to_numpy()
    partner = a["partner_pref"].to_numpy()[acc] & (rng.random(n) < 0.85)
    c["channel"] = np.where(partner, "partner", "direct")
    pid = np.full(n, -1, dtype=np.int64)
    if partner.any():
        pid[partner] = pick_partner(rng, p, c["signed"].to_numpy()[partner], home[acc[partner]])
    c["partner"] = pid
    rec_p = np.where(
        c["ctype"] == "new", figures.RECURRING_SHARE["new"], figures.RECURRING_SHARE["expansion"]
    )
    big = np.isin(a["kind"].to_numpy()[acc], ["top", "strategic"])
    recurring = (rng.random(n) < rec_p) | big  # big customers buy subscriptions
    c["recurring"] = recurring
    # one uniform draw per contract, read through its signing year's term mix (as rng.choice would);
    # the top customer keeps yearly terms (it renews through every quarter of the plan)
    u = rng.random(n)
    years = np.where(a["kind"].to_numpy()[acc] == "top", figures.START.year, d.year(c["signed"].to_numpy()))
    term = np.zeros(n, dtype=np.int64)
    for y in np.unique(years):
        terms, probs = zip(*figures.term_months(int(y)), strict=True)
        cdf = np.cumsum(probs) / np.sum(probs)
        rows = years == y
        term[rows] = np.array(terms)[cdf.searchsorted(u[rows], side="right")]
    c["term"] = np.where(recurring, term, 0)
    kinds = _kinds(rng, recurring, big)
    for i in range(N_KINDS):
        c[f"k{i}"] = kinds[:, i]
    c["start"] = c["signed"] + rng.integers(0, 21, n)
    c["end"] = np.where(recurring, d.add_months(c["start"].to_numpy(), c["term"].to_numpy()) - 1, d.NONE)
    c["renews"] = -1
    c["late"] = False
    return c


def _renewals(
    rng: np.random.Generator, c: pd.DataFrame, a: pd.DataFrame, p: pd.DataFrame, as_of: int
) -> pd.DataFrame:
    """Renew the contracts due each year: exactly the plan's share renews within the grace period,
    some of the rest renew late (after it), the others churn."""
    last_year = d.to_date(as_of).year
    for y in range(figures.START.year + 1, last_year + 2):
        ends = c["end"].to_numpy()
        due = np.flatnonzero(c["recurring"].to_numpy() & (ends != d.NONE) & (d.year(ends) == y))
        if not len(due):
            continue
        rates = figures.plan(min(y, max(figures.PLANS))).renewal
        strategic = strategic_at(a, c["account"].to_numpy()[due], d.year(c["signed"].to_numpy()[due]))
        channel = c["channel"].to_numpy()[due]
        group = np.where(strategic & ("strategic" in rates), "strategic", channel)
        renewed = np.zeros(len(due), dtype=bool)
        for g in np.unique(group):
            rows = np.flatnonzero(group == g)
            rows = _fit_due_count(rng, c, due, rows, rates[g])
            k = round(rates[g] * len(rows))
            keys = rng.random(len(rows)) ** (1 / np.where(strategic[rows], 3.0, 1.0))
            renewed[rows[np.argsort(-keys, kind="stable")[:k]]] = True
        late = ~renewed & (rng.random(len(due)) < figures.LATE_RENEWAL_SHARE)
        src = due[renewed | late]
        is_late = late[renewed | late]
        end = c["end"].to_numpy()[src]
        in_time = np.where(
            rng.random(len(src)) < 0.7,
            rng.integers(-45, 16, len(src)),
            rng.integers(16, figures.RENEWAL_GRACE_DAYS + 1, len(src)),
        )
        signed = end + np.where(is_late, rng.integers(100, 171, len(src)), in_time)
        keep = (signed <= as_of) & (signed >= d.day(figures.START))
        src, signed, is_late, end = src[keep], signed[keep], is_late[keep], end[keep]
        if not len(src):
            continue
        old = c.iloc[src]
        new = pd.DataFrame({"account": old["account"].to_numpy(), "ctype": "renewal", "signed": signed})
        new["weight"] = (
            old["weight"].to_numpy() * rng.uniform(0.6, 0.9, len(src)) * rng.uniform(0.95, 1.15, len(src))
        )
        new["channel"] = old["channel"].to_numpy()
        pid = old["partner"].to_numpy().copy()
        part = pid >= 0
        if part.any():
            pid[part] = pick_partner(rng, p, signed[part], pid[part])
        new["partner"] = pid
        new["recurring"] = True
        new["term"] = 12
        keepk = old[[f"k{i}" for i in range(3)]].to_numpy() & (rng.random((len(src), 3)) < 0.9)
        keepk[~keepk.any(axis=1), 0] = True
        for i in range(N_KINDS):
            new[f"k{i}"] = keepk[:, i] if i < 3 else False
        new["start"] = np.where(is_late, signed, end + 1)
        new["end"] = d.add_months(new["start"].to_numpy(), 12) - 1
        new["renews"] = src
        new["late"] = is_late
        c = pd.concat([c, new], ignore_index=True)
    return c


def _fit_due_count(
    rng: np.random.Generator, c: pd.DataFrame, due: np.ndarray, rows: np.ndarray, rate: float
) -> np.ndarray:
    """Whole contracts renew: move a few one-year contracts to two-year terms (out of this year's
    due set) until some whole number of renewals gives the rate within 0.0025."""
    rows = rows.copy()
    while len(rows) and abs(round(rate * len(rows)) / len(rows) - rate) > 0.0025:
        movable = rows[
            (c["ctype"].to_numpy()[due[rows]] != "renewal") & (c["term"].to_numpy()[due[rows]] == 12)
        ]
        if not len(movable):
            break
        r = movable[int(rng.integers(0, len(movable)))]
        i = due[r]
        c.loc[i, "term"] = 24
        c.loc[i, "end"] = int(d.add_months(np.array([c.at[i, "start"]]), 24)[0] - 1)
        rows = rows[rows != r]
    return rows


def windows(scale: int, as_of: int) -> pd.DataFrame:
    """The steering periods: years, or quarters where a plan has them; cut at as-of, pro rata."""
    rows = []
    for y in range(figures.START.year, d.to_date(as_of).year + 1):
        pl = figures.plan(y)
        spans = (
            [(f"{y}-01-01", f"{y}-12-31", pl.revenue, 0)]
            if pl.quarters is None
            else [(f"{y}-{3 * q - 2:02d}-01", None, pl.quarters[q - 1], q) for q in range(1, 5)]
        )
        for lo_s, _, revenue, q in spans:
            lo = d.day(lo_s)
            hi = d.day(f"{y}-12-31") if q == 0 else int(d.month_end(d.month(np.array([lo]))[0] + 2))
            if lo > as_of:
                continue
            frac = (min(hi, as_of) - lo + 1) / (hi - lo + 1)
            margin = figures.quarter_margin(y, q) if q else pl.margin
            rows.append(
                dict(
                    year=y,
                    quarter=q,
                    lo=lo,
                    hi=min(hi, as_of),
                    frac=frac,
                    revenue=revenue * scale * frac,
                    partner_share=pl.partner_share,
                    overseas_share=pl.overseas_share,
                    margin=margin,
                    overseas_margin=pl.overseas_margin,
                )
            )
    return pd.DataFrame(rows)


def _named_targets(rng: np.random.Generator, a: pd.DataFrame, win: pd.Series, scale: int) -> dict[int, float]:
    """Revenue targets of the accounts a window steers by name: the top customer, and in a year
    with strategic targets every account meant to be strategic."""
    year = int(win["year"])
    pl = figures.plan(year)
    if not pl.top_revenue:
        return {}
    kind = a["kind"].to_numpy()
    share = win["revenue"] / (scale * pl.revenue)
    targets = {int(np.flatnonzero(kind == "top")[0]): pl.top_revenue * scale * share}
    if pl.strategic_count:
        flag = a["strat24"].to_numpy() if year == 2024 else a["strat25"].to_numpy()
        strat = np.flatnonzero(flag & (kind == "strategic"))
        assert len(strat) == pl.strategic_count * scale, (year, len(strat))
        spread = 0.12 if year == 2024 else 0.004
        w = rng.uniform(1 - spread, 1 + spread, len(strat))
        total = pl.strategic_revenue * scale * share
        targets.update(zip(strat.tolist(), (total * w / w.sum()).tolist(), strict=True))
    return targets


def _rake_contracts(
    rng: np.random.Generator, c: pd.DataFrame, a: pd.DataFrame, win: pd.DataFrame, scale: int
) -> np.ndarray:
    signed = c["signed"].to_numpy()
    w_idx = np.searchsorted(win["lo"].to_numpy(), signed, side="right") - 1
    counted = ~c["cancelled"].to_numpy()
    w_idx = np.where(counted, w_idx, -1)
    overseas = a["overseas"].to_numpy()[c["account"].to_numpy()]
    partner = (c["channel"] == "partner").to_numpy()
    acc = c["account"].to_numpy()
    named = [_named_targets(rng, a, row, scale) for _, row in win.iterrows()]
    for wi, tgt in enumerate(named):  # an account without a contract in the window cannot carry a target
        present = set(acc[w_idx == wi].tolist())
        named[wi] = {k: v for k, v in tgt.items() if k in present}
    weight = c["weight"].to_numpy().copy()
    rev = win["revenue"].to_numpy()
    for _ in range(30):
        parts = [
            (
                np.where(w_idx >= 0, w_idx * 2 + partner, -1),
                np.column_stack([rev * (1 - win["partner_share"]), rev * win["partner_share"]]).ravel(),
            ),
            (
                np.where(w_idx >= 0, w_idx * 2 + overseas, -1),
                np.column_stack([rev * (1 - win["overseas_share"]), rev * win["overseas_share"]]).ravel(),
            ),
        ]
        labels = np.full(len(c), -1, dtype=np.int64)
        targets: list[float] = []
        for wi, tgt in enumerate(named):
            if not tgt:
                continue
            ids = list(tgt)
            slot = {acc_id: k + 1 for k, acc_id in enumerate(ids)}
            rows = np.flatnonzero(w_idx == wi)
            base = len(targets)
            labels[rows] = base + np.array([slot.get(x, 0) for x in acc[rows]])
            targets += [rev[wi] - sum(tgt.values()), *tgt.values()]
        if targets:
            parts.append((labels, np.array(targets)))
        x = rake(weight, parts)
        # accounts not meant to be strategic must stay below the threshold in steered years
        over = np.zeros(len(c), dtype=bool)
        for wi, tgt in enumerate(named):
            if not tgt:
                continue
            rows = np.flatnonzero(w_idx == wi)
            sums = pd.Series(x[rows]).groupby(acc[rows]).sum()
            big = [k for k, v in sums.items() if v >= CAP and k not in tgt]
            over[rows[np.isin(acc[rows], big)]] = True
        if not over.any():
            return x
        weight[over] *= 0.6
    raise RuntimeError("could not keep regular accounts below the strategic threshold")


def _lines(rng: np.random.Generator, c: pd.DataFrame, revenue: np.ndarray, win: pd.DataFrame) -> pd.DataFrame:
    kinds = c[[f"k{i}" for i in range(N_KINDS)]].to_numpy()
    ci, ki = np.nonzero(kinds)
    w0 = KIND_BASE[ki] * rng.uniform(0.5, 1.5, len(ci))
    signed = c["signed"].to_numpy()[ci]
    w_idx = np.searchsorted(win["lo"].to_numpy(), signed, side="right") - 1
    counted = ~c["cancelled"].to_numpy()[ci]
    shares = np.array([figures.plan(int(y)).kinds for y in win["year"]])
    targets = (win["revenue"].to_numpy()[:, None] * shares).ravel()
    parts = [
        (ci, revenue),
        (np.where(counted, w_idx * N_KINDS + ki, -1), targets),
    ]
    amount = rake(w0, parts)
    return pd.DataFrame({"contract": ci, "kind": ki, "cny": amount})


def build(
    rng: np.random.Generator,
    a: pd.DataFrame,
    p: pd.DataFrame,
    fx: pd.DataFrame,
    scale: int,
    as_of: int,
    home: np.ndarray,
    rises: np.random.Generator,
) -> Book:
    c = _attributes(rng, _base(rng, a, scale, as_of), a, p, home)
    c = _renewals(rng, c, a, p, as_of)
    c["cancelled"] = False
    c = pd.concat([c, _cancelled(rng, a, as_of)], ignore_index=True)
    c["cancelled_on"] = np.where(c["cancelled"], c["signed"] + rng.integers(50, 75, len(c)), d.NONE)
    win = windows(scale, as_of)
    revenue = _rake_contracts(rng, c, a, win, scale)
    revenue[c["cancelled"].to_numpy()] = c["weight"].to_numpy()[c["cancelled"].to_numpy()]
    lines = _lines(rng, c, revenue, win)
    _price_rises(rises, c, a, lines, win)
    # into the contract's currency at its signing month: CNY to the hundred, others to the ten
    currency = a["currency"].to_numpy()[c["account"].to_numpy()]
    c["currency"] = currency
    rate = rate_lookup(fx, currency, c["signed"].to_numpy())
    unit = np.where(currency == figures.CNY, 10_000, 1_000)[lines["contract"].to_numpy()]
    cents = np.round(lines["cny"].to_numpy() / rate[lines["contract"].to_numpy()] * 100 / unit) * unit
    lines["cents"] = np.maximum(cents, unit).astype(np.int64)
    lines["cny"] = lines["cents"] / 100 * rate[lines["contract"].to_numpy()]
    lines["line_no"] = lines.groupby("contract").cumcount() + 1
    c["cny"] = lines.groupby("contract")["cny"].sum().reindex(range(len(c)), fill_value=0.0).to_numpy()
    c["cents"] = lines.groupby("contract")["cents"].sum().reindex(range(len(c)), fill_value=0).to_numpy()
    c["strategic_design"] = strategic_at(a, c["account"].to_numpy(), d.year(c["signed"].to_numpy()))
    _steer_renewal_base(c, lines, scale, as_of)
    return Book(c, lines, win)


def _recurring_cny(c: pd.DataFrame, lines: pd.DataFrame) -> np.ndarray:
    """Each contract's recurring amount in CNY (E of docs/metrics.md section 9)."""
    rec = np.array(figures.KIND_RECURRING)[lines["kind"].to_numpy()]
    return np.bincount(lines["contract"].to_numpy()[rec], lines["cny"].to_numpy()[rec], minlength=len(c))


def _price_rises(rng: np.random.Generator, c: pd.DataFrame, a: pd.DataFrame, lines: pd.DataFrame,
                 win: pd.DataFrame) -> None:
    """The EU/NA price rise (figures.PRICE_RISE): each such renewal's lines are scaled so that it
    renews its contract's recurring amount times 1 + the rise; the lines of the same window, kind,
    region group and channel (the top customer's and the raised ones aside) give way pro rata."""
    signed = c["signed"].to_numpy()
    renews = c["renews"].to_numpy()
    region = a["region"].to_numpy()[c["account"].to_numpy()]
    raised = np.flatnonzero(
        (c["ctype"].to_numpy() == "renewal") & (renews >= 0) & ~c["cancelled"].to_numpy()
        & np.isin(region, list(figures.PRICE_RISE)) & (d.year(signed) >= figures.PRICE_RISE_FROM)
        & (d.year(signed[np.maximum(renews, 0)]) < figures.PRICE_RISE_FROM)
    )
    if not len(raised):
        return
    lo, hi = (np.array([figures.PRICE_RISE[r][k] for r in region[raised]]) for k in (0, 1))
    rise = lo + (hi - lo) * rng.random(len(raised))
    expiring = _recurring_cny(c, lines)[renews[raised]]
    ci = lines["contract"].to_numpy()
    cny = lines["cny"].to_numpy().copy()
    now = np.bincount(ci, cny, minlength=len(c))[raised]
    factor = np.ones(len(c))
    factor[raised] = np.where(now > 0, expiring * (1 + rise) / np.where(now > 0, now, 1), 1.0)
    new = cny * factor[ci]
    # the cells that give way: window, kind, overseas, channel
    w_idx = np.searchsorted(win["lo"].to_numpy(), signed, side="right") - 1
    overseas = a["overseas"].to_numpy()[c["account"].to_numpy()]
    channel = (c["channel"].to_numpy() == "partner").astype(np.int64)
    cell = ((w_idx[ci] * len(figures.KINDS) + lines["kind"].to_numpy()) * 2 + overseas[ci]) * 2 + channel[ci]
    is_raised = np.isin(ci, raised)
    pool = ~is_raised & ~c["cancelled"].to_numpy()[ci] & (a["kind"].to_numpy()[c["account"].to_numpy()][ci] != "top")
    for k in np.unique(cell[is_raised]):
        delta = (new - cny)[is_raised & (cell == k)].sum()
        give = pool & (cell == k)
        room = cny[give].sum()
        if room > 2 * abs(delta):
            new[give] *= (room - delta) / room
    lines["cny"] = new


def _steer_renewal_base(c: pd.DataFrame, lines: pd.DataFrame, scale: int, as_of: int) -> None:
    """The renewal base of the year after figures.RENEWAL_BASE_VIEW, seen on that day (E of the
    counting contracts signed by then that end in that year), comes out at RENEWAL_BASE_NEXT_YEAR: the
    term mix brings it near, then one-year contracts without a renewal - still pending at as-of, or
    direct and not strategic - the latest-ending first, are signed for two years instead until it is
    within 0.1%. Nothing signed or renewed changes, only when those contracts end."""
    view = d.day(figures.RENEWAL_BASE_VIEW)
    if as_of < view:
        return
    e = _recurring_cny(c, lines)
    ends = c["end"].to_numpy()
    in_base = (~c["cancelled"].to_numpy() & (c["signed"].to_numpy() <= view) & (ends != d.NONE)
               & (d.year(ends) == d.to_date(view).year + 1) & (e > 0))
    base = e[in_base].sum()
    target = figures.RENEWAL_BASE_NEXT_YEAR * scale
    tol = target * 0.001
    renewed = np.isin(np.arange(len(c)), c["renews"].to_numpy())
    # still pending at as-of (no renewal rate moves), else direct and not strategic (no targeted rate moves)
    pending = ends + figures.RENEWAL_GRACE_DAYS > as_of
    candidates = np.flatnonzero(
        in_base & (c["term"].to_numpy() == 12) & (c["ctype"].to_numpy() != "renewal") & ~renewed
        & (pending | ((c["channel"].to_numpy() == "direct") & ~c["strategic_design"].to_numpy()))
    )
    for i in candidates[np.argsort(-ends[candidates], kind="stable")]:
        if base <= target + tol:
            break
        if base - e[i] >= target - tol:
            c.at[i, "term"] = 24
            c.at[i, "end"] = int(d.add_months(np.array([c.at[i, "start"]]), 24)[0] - 1)
            base -= e[i]


def _cancelled(rng: np.random.Generator, a: pd.DataFrame, as_of: int) -> pd.DataFrame:
    rows = np.flatnonzero(a["special"].to_numpy() == "cancelled")
    n = len(rows)
    c = pd.DataFrame(
        {
            "account": rows,
            "ctype": "new",
            "signed": a["logo_day"].to_numpy()[rows],
            "weight": rng.uniform(900_000, 1_500_000, n),
            "channel": "direct",
            "partner": -1,
            "recurring": True,
            "term": 12,
        }
    )
    for i in range(N_KINDS):
        c[f"k{i}"] = i in (0, 4)
    c["start"] = c["signed"] + 10
    c["end"] = d.add_months(c["start"].to_numpy(), 12) - 1
    c["renews"] = -1
    c["late"] = False
    c["cancelled"] = True
    return c[c["signed"] <= as_of]
