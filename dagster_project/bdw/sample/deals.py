"""CRM opportunities and their history: won (one per contract), lost and still-open deals.

Each deal has up to four versions before it closes: A at creation (prospecting, pipeline),
B mid-way (solution/proposal, best case), C committed (negotiation, commit) and D slipped (back to
best case). Commits are placed so that the forecast sets of the months' first snapshots hold
exactly the plan's number of deals and hits (docs/metrics.md forecast_accuracy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bdw.sample import dates as d
from bdw.sample import figures
from bdw.sample.accounts import draw_days
from bdw.sample.book import Book, pick_partner

FAMILY_P = {"saas": 0.5, "license": 0.15, "service": 0.2, "hardware": 0.1, "support": 0.05}
V = 4  # version slots: A, B, C, D
FAR = np.iinfo(np.int64).max // 4


def _choose_accounts(
    rng: np.random.Generator, since: np.ndarray, pool: np.ndarray, before: np.ndarray
) -> np.ndarray:
    """For each deal, a random account of `pool` whose `since` day is on or before `before`."""
    order = pool[np.argsort(since[pool], kind="stable")]
    s = since[order]
    k = np.searchsorted(s, before, side="right")
    k = np.maximum(k, 1)
    return order[np.floor(rng.random(len(before)) * k).astype(np.int64)]


def build(
    rng: np.random.Generator,
    book: Book,
    a: pd.DataFrame,
    p: pd.DataFrame,
    home: np.ndarray,
    touch: np.ndarray,
    as_of: int,
    scale: int,
) -> pd.DataFrame:
    c = book.contracts
    start = d.day(figures.START)
    acc_created = a["created_at"].to_numpy()
    logo_day = a["logo_day"].to_numpy()
    kind = a["kind"].to_numpy()
    special = a["special"].to_numpy()

    # won: one per contract
    lines = book.lines
    main_kind = lines.sort_values(["contract", "cny"], ascending=[True, False]).drop_duplicates("contract")
    fam = np.array(figures.KIND_FAMILY, dtype=object)[
        main_kind.set_index("contract")["kind"].reindex(range(len(c))).to_numpy()
    ]
    signed = c["signed"].to_numpy()
    ctype = c["ctype"].to_numpy()
    acc = c["account"].to_numpy()
    n = len(c)
    created = signed - rng.integers(25, 141, n)
    created = np.where(ctype == "renewal", signed - rng.integers(30, 101, n), created)
    since_logo = np.where(logo_day[acc] != d.NONE, logo_day[acc] + 1, acc_created[acc])
    created = np.where(ctype == "new", created, np.maximum(created, since_logo))
    gap = np.maximum(signed - touch - 1, 0)
    created = np.where(ctype == "new", touch + np.minimum(rng.integers(0, 11, n), gap), created)
    ft = np.where(rng.random(n) < 0.5, np.maximum(created - rng.integers(0, 21, n), acc_created[acc]), d.NONE)
    ft = np.where(ctype == "new", touch, np.where(ctype == "renewal", d.NONE, ft))
    won = pd.DataFrame(
        {
            "outcome": "won",
            "account": acc,
            "contract": np.arange(n),
            "channel": c["channel"].to_numpy(),
            "partner": c["partner"].to_numpy(),
            "currency": c["currency"].to_numpy(),
            "family": fam,
            "cents": c["cents"].to_numpy(),
            "created": created,
            "first_touch": ft,
            "closed": signed,
            "end": signed,
        }
    )

    # lost deals (some still open at as-of: they close later) and deals that will be won after as-of
    customers = np.flatnonzero(np.isin(kind, ["top", "strategic", "regular"]) & (special == ""))
    prospects = np.flatnonzero((kind == "prospect") & (special == ""))
    cust_since = np.where(logo_day != d.NONE, logo_day + 1, acc_created)
    n_lost = round(figures.LOST_PER_WON * n)
    closed = draw_days(rng, np.full(n_lost, start + 20), np.full(n_lost, as_of + 150))
    lcreated = closed - rng.integers(20, 201, n_lost)
    to_cust = rng.random(n_lost) < 0.35
    lacc = np.where(
        to_cust,
        _choose_accounts(rng, cust_since, customers, closed - 10),
        _choose_accounts(rng, acc_created, prospects, closed - 10),
    )
    first_ok = np.where(to_cust, cust_since[lacc], acc_created[lacc])
    lcreated = np.minimum(np.maximum(lcreated, first_ok), closed - 5)
    n_fut = figures.FUTURE_WON * scale
    fclose = as_of + rng.integers(1, 121, n_fut)
    fcreated = np.minimum(fclose - rng.integers(40, 161, n_fut), as_of - 5)
    fcust = rng.random(n_fut) < 0.5
    facc = np.where(
        fcust,
        _choose_accounts(rng, cust_since, customers, fcreated),
        _choose_accounts(rng, acc_created, prospects, fcreated),
    )
    fcreated = np.minimum(
        np.maximum(fcreated, np.where(fcust, cust_since[facc], acc_created[facc])), as_of - 1
    )
    # one junk deal per scale unit, deleted from the CRM two months later
    junk_acc = rng.choice(prospects[acc_created[prospects] <= d.day("2025-03-01")], scale)
    junk_created = rng.integers(d.day("2025-03-03"), d.day("2025-03-28"), scale)
    other = pd.DataFrame(
        {
            "outcome": np.concatenate(
                [
                    np.full(n_lost, "lost", dtype=object),
                    np.full(n_fut, "open", dtype=object),
                    np.full(scale, "deleted", dtype=object),
                ]
            ),
            "account": np.concatenate([lacc, facc, junk_acc]),
            "contract": -1,
            "created": np.concatenate([lcreated, fcreated, junk_created]),
            "closed": np.concatenate([closed, np.full(n_fut, d.NONE), np.full(scale, d.NONE)]),
            "end": np.concatenate([closed, fclose, junk_created + 90]),
        }
    )
    m = len(other)
    oacc = other["account"].to_numpy()
    partner = a["partner_pref"].to_numpy()[oacc] & (rng.random(m) < 0.7)
    other["channel"] = np.where(partner, "partner", "direct")
    pid = np.full(m, -1, dtype=np.int64)
    if partner.any():
        pid[partner] = pick_partner(rng, p, other["created"].to_numpy()[partner], home[oacc[partner]])
    other["partner"] = pid
    other["currency"] = a["currency"].to_numpy()[oacc]
    other["family"] = rng.choice(np.array(list(FAMILY_P), dtype=object), m, p=list(FAMILY_P.values()))
    cny = rng.lognormal(np.log(np.where(other["outcome"] == "open", 700_000, 400_000)), 0.8)
    rough_rate = {figures.CNY: 1.0, **{k: v[0] for k, v in figures.FX.items()}}  # a deal size, not a booking
    fxr = other["currency"].map(rough_rate).to_numpy(dtype=float)
    other["cents"] = (np.round(cny / fxr / 100) * 10_000).astype(np.int64)
    other["first_touch"] = np.where(rng.random(m) < 0.4, other["created"] - rng.integers(0, 15, m), d.NONE)
    other["first_touch"] = np.where(
        other["first_touch"] != d.NONE, np.maximum(other["first_touch"], acc_created[oacc]), d.NONE
    )
    deals = pd.concat([won, other], ignore_index=True)
    deals["cancelled"] = False
    deals.loc[deals["contract"] >= 0, "cancelled"] = c["cancelled"].to_numpy()[
        deals["contract"][deals["contract"] >= 0]
    ]
    # what is known at as-of: deals closing later are open
    later = (deals["closed"] > as_of).to_numpy()
    deals.loc[later, "closed"] = d.NONE
    deals = deals[deals["created"] <= as_of].reset_index(drop=True)
    _versions(rng, deals, as_of, scale)
    return deals


def snapshot_days(as_of: int) -> np.ndarray:
    days = d.mondays(d.day(figures.START), as_of)
    return days[~np.isin(days, [d.day(x) for x in figures.SNAPSHOT_GAPS])]


def _versions(rng: np.random.Generator, x: pd.DataFrame, as_of: int, scale: int) -> None:
    """Fill version slots v0..v3 (day, stage, fc, ecd, factor) and the commit design."""
    n = len(x)
    created = x["created"].to_numpy()
    end = x["end"].to_numpy()
    closed = x["closed"].to_numpy()
    vday = np.full((n, V), FAR, dtype=np.int64)
    vstage = np.empty((n, V), dtype=object)
    vfc = np.empty((n, V), dtype=object)
    vecd = np.full((n, V), d.NONE, dtype=np.int64)
    vf = np.ones((n, V))
    vday[:, 0] = created
    vstage[:, 0] = np.where(rng.random(n) < 0.7, "prospecting", "qualification")
    vfc[:, 0] = np.where(rng.random(n) < 0.7, "pipeline", "omitted")
    vecd[:, 0] = created + rng.integers(45, 151, n)
    vf[:, 0] = 1.25
    cday = np.full(n, FAR, dtype=np.int64)
    cecd = np.full(n, d.NONE, dtype=np.int64)
    dday = np.full(n, FAR, dtype=np.int64)

    snaps = snapshot_days(as_of)
    smonth = d.month(snaps)
    first = pd.Series(snaps).groupby(smonth).min()
    outcome = x["outcome"].to_numpy()
    won = (outcome == "won") & (closed != d.NONE)
    lost = (outcome == "lost") & (closed != d.NONE)
    cmonth = np.where(closed != d.NONE, d.month(np.where(closed != d.NONE, closed, 0)), -1)
    used = np.zeros(n, dtype=bool)
    for y in range(figures.START.year, d.to_date(as_of).year + 1):
        pl = figures.plan(min(y, max(figures.PLANS)))
        months = [m for m in first.index if d.year(d.month_start(np.array([m])))[0] == y]
        if not months or not pl.forecast_set:
            continue
        size = pl.forecast_set * scale * len(months) / 12
        sizes = _spread(round(size), len(months))
        hits = _spread(round(pl.forecast_accuracy * round(size)), len(months))
        short_h = short_m = 0  # a month without enough candidates hands its share to the next one
        for m, s_m, h_m in zip(months, sizes, hits, strict=True):
            s = int(first[m])
            me = int(d.month_end(m))
            room = (created <= s - 3) & ~used
            hc = np.flatnonzero(won & (cmonth == m) & (closed > s + 1) & room)
            h = rng.permutation(hc)[: h_m + short_h]
            short_h = h_m + short_h - len(h)
            room[h] = False
            lc = np.flatnonzero(lost & (closed > s + 1) & (closed <= me) & room)
            sc = np.flatnonzero(won & (closed > me) & (closed <= me + 60) & room)
            miss = s_m - h_m + short_m
            n_lost = min(len(lc), round(0.6 * miss))
            ml = rng.permutation(lc)[:n_lost]
            ms = rng.permutation(sc)[: miss - n_lost]
            if len(ml) + len(ms) < miss:  # not enough slipping deals: more lost ones
                ml = rng.permutation(lc)[: miss - len(ms)]
            short_m = miss - len(ml) - len(ms)
            for rows, kind in ((h, "hit"), (ml, "lost"), (ms, "slip")):
                if not len(rows):
                    continue
                used[rows] = True
                lo = np.maximum(created[rows] + 1, s - 35)
                cday[rows] = lo + np.floor(rng.random(len(rows)) * (s - lo + 1)).astype(np.int64)
                if kind == "hit":
                    cecd[rows] = closed[rows]
                else:
                    cecd[rows] = s + 1 + np.floor(rng.random(len(rows)) * (me - s)).astype(np.int64)
                if kind == "slip":
                    dday[rows] = s + 1 + np.floor(rng.random(len(rows)) * (me - s)).astype(np.int64)
    # other won deals commit after their month's first snapshot (or close before it): never in a set
    rest = np.flatnonzero(won & ~used & (rng.random(n) < 0.5))
    s_of = first.reindex(cmonth[rest]).to_numpy()
    snapped = ~np.isnan(s_of)
    s_of = np.where(snapped, s_of, 0).astype(np.int64)
    after = snapped & (closed[rest] > s_of)
    lo = np.where(after, s_of + 1, np.maximum(created[rest] + 1, closed[rest] - 20))
    ok = lo <= closed[rest] - 1
    r = rest[ok]
    cday[r] = lo[ok] + np.floor(rng.random(len(r)) * (closed[r] - lo[ok])).astype(np.int64)
    cecd[r] = closed[r]
    # open deals at as-of that will be won: some already committed, for a later month
    fut = np.flatnonzero((outcome == "open") & (rng.random(n) < 0.4))
    lo = np.maximum(created[fut] + 1, as_of - 30)
    cday[fut] = lo + np.floor(rng.random(len(fut)) * (as_of - lo + 1)).astype(np.int64)
    cecd[fut] = end[fut]

    has_c = cday < FAR
    vday[has_c, 2] = cday[has_c]
    vstage[:, 2] = "negotiation"
    vfc[:, 2] = "commit"
    vecd[:, 2] = cecd
    vday[dday < FAR, 3] = dday[dday < FAR]
    vstage[:, 3] = "proposal"
    vfc[:, 3] = "best_case"
    vecd[:, 3] = np.where(closed != d.NONE, closed, end)
    # B: mid-way between creation and the commit (or the end)
    upto = np.where(has_c, cday, np.where(closed != d.NONE, closed, end))
    bday = created + np.floor((upto - created) * rng.uniform(0.3, 0.7, n)).astype(np.int64)
    has_b = (bday > created) & (bday < upto)
    vday[has_b, 1] = bday[has_b]
    vstage[:, 1] = np.where(rng.random(n) < 0.5, "solution", "proposal")
    vfc[:, 1] = np.where(rng.random(n) < 0.6, "best_case", "pipeline")
    vecd[:, 1] = np.where(closed != d.NONE, closed, end) + rng.integers(-10, 41, n)
    vecd[:, 1] = np.maximum(vecd[:, 1], bday + 1)
    vf[:, 1] = 1.1
    for j in range(V):
        x[f"v{j}_day"] = vday[:, j]
        x[f"v{j}_stage"] = vstage[:, j]
        x[f"v{j}_fc"] = vfc[:, j]
        x[f"v{j}_ecd"] = vecd[:, j]
        x[f"v{j}_f"] = vf[:, j]
    x["designed"] = used


def _spread(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def version_arrays(x: pd.DataFrame) -> dict[str, np.ndarray]:
    """The version slots of every deal as (deals x V) arrays: read once when states are asked for
    many times (the weekly snapshots, one export day at a time)."""
    return {field: x[[f"v{j}_{field}" for j in range(V)]].to_numpy() for field in ("day", "stage", "fc", "ecd", "f")}


def state_at(
    x: pd.DataFrame, rows: np.ndarray, day: np.ndarray, versions: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Stage, forecast category, expected close and amount factor of deals on given days
    (``versions``: ``version_arrays(x)``, if already at hand)."""
    versions = versions if versions is not None else version_arrays(x)
    vday = versions["day"][rows]
    v = np.argmax(np.where(vday <= day[:, None], vday, -1), axis=1)  # the latest version by then
    pick = np.arange(len(rows))
    out = {}
    for field in ("stage", "fc", "ecd", "f"):
        out[field] = versions[field][rows][pick, v]
    return out
