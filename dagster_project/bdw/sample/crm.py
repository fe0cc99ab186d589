"""CRM exports: account and deal fields, monthly deal exports, weekly snapshots, activities."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from bdw.sample import dates as d
from bdw.sample import figures, names
from bdw.sample.deals import FAR, V, snapshot_days, state_at, version_arrays

ACTIVITY_TYPES = np.array(["visit", "call", "email", "meeting", "demo", "event"], dtype=object)
ACTIVITY_P = [0.2, 0.3, 0.25, 0.15, 0.07, 0.03]


def file_day(days: np.ndarray, as_of: int) -> np.ndarray:
    """The monthly export a change lands in: its month's end (or as-of for the running month);
    anything before the first export is in the initial load of 2024-01-01."""
    start = d.day(figures.START)
    out = np.minimum(d.month_end(d.month(days)), as_of)
    return np.where(days < start, start, out)


def account_fields(rng: np.random.Generator, a: pd.DataFrame) -> None:
    n = len(a)
    region = a["region"].to_numpy()
    cn = region == "CN"
    a["account_name"] = names.companies(rng, region, a["industry"].to_numpy())
    dup = a["dup_of"].to_numpy()
    for i in np.flatnonzero(dup >= 0):
        a.at[i, "account_name"] = str(a.at[dup[i], "account_name"]).replace("有限公司", "有限公司（重复）")
    a["decision_maker"], handle = names.people(rng, n, cn)
    domain = np.where(cn, "example.cn", "example.com")
    a["contact_email"] = [f"{h}@{dm}" for h, dm in zip(handle, domain, strict=True)]
    a["contact_phone"] = names.phones(rng, region)
    a["pain_points"] = np.where(cn, names.pick(rng, names.PAIN_ZH, n), names.pick(rng, names.PAIN_EN, n))
    a["procurement_cycle"] = names.pick(rng, names.CYCLES, n)
    a["main_competitor"] = names.pick(rng, names.COMPETITORS, n)


def deal_fields(rng: np.random.Generator, x: pd.DataFrame, a: pd.DataFrame) -> None:
    n = len(x)
    acc = x["account"].to_numpy()
    cn = (a["region"].to_numpy() == "CN")[acc]
    short = np.array(
        [
            str(s)[2:6] if r == "CN" else str(s).split(" ")[0]
            for s, r in zip(a["account_name"].to_numpy()[acc], a["region"].to_numpy()[acc], strict=True)
        ],
        dtype=object,
    )
    year = d.year(x["created"].to_numpy())
    x["opportunity_name"] = [f"{s} {f} {y}" for s, f, y in zip(short, x["family"], year, strict=True)]
    x["pain_points"] = np.where(cn, names.pick(rng, names.PAIN_ZH, n), names.pick(rng, names.PAIN_EN, n))
    x["main_competitor"] = names.pick(rng, names.COMPETITORS, n)
    x["next_step"] = names.pick(rng, names.NEXT_STEPS, n)
    x["budget_confirmed"] = np.where(x["outcome"] == "won", rng.random(n) < 0.9, rng.random(n) < 0.4).astype(
        object
    )
    x["lost_reason"] = names.pick(rng, names.LOST_REASONS, n)


def deal_rows(x: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """The monthly opportunity exports: a deal is in the month it was created and in every month it
    changed (new stage, commit, slip, close), as it stood at that month's export."""
    n = len(x)
    ev = np.column_stack([x[f"v{j}_day"].to_numpy() for j in range(V)] + [x["closed"].to_numpy()])
    ev = np.where((ev == d.NONE) | (ev >= FAR) | (ev > as_of), FAR, ev)
    fd = np.where(ev < FAR, file_day(np.where(ev < FAR, ev, 0), as_of), FAR)
    fd.sort(axis=1)
    keep = (fd < FAR) & np.concatenate([np.ones((n, 1), bool), fd[:, 1:] != fd[:, :-1]], axis=1)
    rows, slot = np.nonzero(keep)
    day = fd[rows, slot]
    out = _state_frame(x, rows, day)
    out["_file"] = day
    deleted = np.flatnonzero(x["outcome"].to_numpy() == "deleted")
    if len(deleted):
        gone = _state_frame(x, deleted, x["created"].to_numpy()[deleted])
        gone["_file"] = np.minimum(d.month_end(d.month(x["created"].to_numpy()[deleted]) + 2), as_of)
        gone["is_deleted"] = True
        gone = gone[gone["_file"] > x["created"].to_numpy()[deleted]]
        until = pd.Series(gone["_file"].to_numpy(), index=gone["deal"].to_numpy())
        later = out["deal"].map(until).to_numpy()
        out = out[~(later <= out["_file"].to_numpy())]  # nothing is exported about it after the deletion
        out = pd.concat([out, gone], ignore_index=True)
    return out


def _state_frame(x: pd.DataFrame, rows: np.ndarray, day: np.ndarray) -> pd.DataFrame:
    st = state_at(x, rows, day)
    closed = x["closed"].to_numpy()[rows]
    is_closed = (closed != d.NONE) & (closed <= day)
    won = x["outcome"].to_numpy()[rows] == "won"
    stage = np.where(is_closed, np.where(won, "closed_won", "closed_lost"), st["stage"])
    fc = np.where(is_closed, np.where(won, "commit", "omitted"), st["fc"])
    ecd = np.where(is_closed & won, closed, st["ecd"])
    factor = np.where(is_closed, 1.0, st["f"])
    cents = x["cents"].to_numpy()[rows]
    unit = np.where(x["currency"].to_numpy()[rows] == figures.CNY, 10_000, 1_000)
    amount = np.round(cents * factor / unit) * unit / 100
    return pd.DataFrame(
        {
            "deal": rows,
            "stage": stage,
            "forecast_category": fc,
            "expected_close_date": ecd,
            "amount": amount,
            "closed_at": np.where(is_closed, closed, d.NONE),
            "is_deleted": False,
        }
    )


def snapshot_parts(x: pd.DataFrame, as_of: int) -> Iterator[pd.DataFrame]:
    """Weekly pipeline exports (Mondays, a holiday week missing): every open deal as it stood, one
    export day at a time (deals in index order), so that memory does not grow with the weeks x deals
    of a large scale."""
    snaps = snapshot_days(as_of)
    live = np.flatnonzero(x["outcome"].to_numpy() != "deleted")
    created = x["created"].to_numpy()[live]
    closed = x["closed"].to_numpy()[live]
    lo = np.searchsorted(snaps, created, side="left")
    hi = np.where(closed == d.NONE, len(snaps), np.searchsorted(snaps, closed, side="left"))
    versions = version_arrays(x)
    all_cents = x["cents"].to_numpy()
    cny = x["currency"].to_numpy() == figures.CNY
    for k, snap in enumerate(snaps):
        rows = live[(lo <= k) & (k < hi)]
        if not len(rows):
            continue
        day = np.full(len(rows), snap, dtype=snaps.dtype)
        st = state_at(x, rows, day, versions)
        cents = all_cents[rows]
        unit = np.where(cny[rows], 10_000, 1_000)
        yield pd.DataFrame(
            {
                "deal": rows,
                "snapshot_date": day,
                "stage": st["stage"],
                "amount": np.round(cents * st["f"] / unit) * unit / 100,
                "expected_close_date": st["ecd"],
                "forecast_category": st["fc"],
                "_file": day,
            }
        )


def activity_rows(
    rng: np.random.Generator,
    x: pd.DataFrame,
    a: pd.DataFrame,
    first_contact: np.ndarray,
    account_owner: np.ndarray,
    as_of: int,
) -> pd.DataFrame:
    """Touches on deals (between first touch and close) and on accounts; none before 2024."""
    start = d.day(figures.START)
    outcome = x["outcome"].to_numpy()
    lo = np.where(x["first_touch"].to_numpy() != d.NONE, x["first_touch"].to_numpy(), x["created"].to_numpy())
    lo = np.maximum(lo, start)
    hi = np.where(x["closed"].to_numpy() != d.NONE, x["closed"].to_numpy(), as_of)
    has_acc = x["account"].to_numpy() >= 0
    count = np.where(outcome == "won", rng.integers(3, 9, len(x)), rng.integers(1, 5, len(x)))
    count = np.where((hi >= lo) & has_acc & (outcome != "deleted"), count, 0)
    rows = np.repeat(np.arange(len(x)), count)
    day = lo[rows] + np.floor(rng.random(len(rows)) * (hi[rows] - lo[rows] + 1)).astype(np.int64)
    # the fallback deals (no first_touch_at) are touched on the day the deal was first touched
    fb = np.flatnonzero(x["fallback_touch"].to_numpy())
    deal_part = pd.DataFrame(
        {
            "deal": np.concatenate([rows, fb]),
            "account": x["account"].to_numpy()[np.concatenate([rows, fb])],
            "owner": x["owner"].to_numpy()[np.concatenate([rows, fb])],
            "activity_date": np.concatenate([day, x["touch"].to_numpy()[fb]]),
        }
    )
    live = np.flatnonzero(a["special"].to_numpy() != "duplicate")
    acc_lo = np.maximum(first_contact[live], start)
    n_acc = np.where(
        acc_lo <= as_of, rng.poisson(np.where(a["kind"].to_numpy()[live] == "prospect", 1.5, 3.0)), 0
    )
    arows = np.repeat(live, n_acc)
    aday = acc_lo[np.repeat(np.arange(len(live)), n_acc)]
    aday = aday + np.floor(rng.random(len(arows)) * (as_of - aday + 1)).astype(np.int64)
    acc_part = pd.DataFrame(
        {"deal": -1, "account": arows, "owner": account_owner[arows], "activity_date": aday}
    )
    acts = pd.concat([deal_part, acc_part], ignore_index=True)
    acts["activity_type"] = rng.choice(ACTIVITY_TYPES, len(acts), p=ACTIVITY_P)
    acts = acts.sort_values(["activity_date", "account", "deal"], kind="stable").reset_index(drop=True)
    acts["_file"] = file_day(acts["activity_date"].to_numpy(), as_of)
    return acts


def field_visits(
    rng: np.random.Generator,
    roster: pd.DataFrame,
    a: pd.DataFrame,
    team: np.ndarray,
    acts: pd.DataFrame,
    pace: np.ndarray,
    as_of: int,
) -> pd.DataFrame:
    """The visit check-ins of the 2026 push for two customer visits a day (每天拜访≥2名客户): on each
    working day from VISIT_PUSH_START up to as-of, each field rep employed visits Poisson(rate)
    different customers, the rate rising through the year (VISIT_RATE) and scaled by the rep's
    `pace` (reps behind their quota visit less). Customers are the rep's own accounts, else the
    team's, and only those already touched before that day, so no account's first activity (and no
    first touch) moves. Returns account, owner (roster rows), activity_date, activity_type, _file."""
    first, last = d.day(figures.VISIT_PUSH_START), as_of
    days = np.arange(first, last + 1)
    days = days[d.weekday(days) < 5]
    if not len(days):
        return pd.DataFrame(columns=["account", "owner", "activity_date", "activity_type", "_file"])
    touched = acts.groupby("account")["activity_date"].min()
    first_touched = touched.reindex(range(len(a)), fill_value=d.NONE).to_numpy()
    owner = a["owner"].to_numpy()
    year_start, year_end = d.day(f"{d.to_date(first).year}-01-01"), d.day(f"{d.to_date(first).year}-12-31")
    lo, hi = figures.VISIT_RATE
    rate = lo + (hi - lo) * (days - year_start) / (year_end - year_start)
    field = np.flatnonzero(np.isin(roster["team"].to_numpy(), ("direct", "channel", "overseas")))
    out: list[tuple[int, int, int]] = []
    for r in field:
        own = np.flatnonzero(owner == r)
        pool = np.flatnonzero(team == roster["team"].iat[r])
        employed = roster["hire_date"].iat[r] <= days
        if roster["leave_date"].iat[r] != d.NONE:
            employed &= days < roster["leave_date"].iat[r]
        counts = rng.poisson(rate * pace[r]) * employed
        for day, k in zip(days[counts > 0], counts[counts > 0], strict=True):
            mine = own[(first_touched[own] != d.NONE) & (first_touched[own] < day)]
            if len(mine) < k:
                others = np.setdiff1d(pool, own)
                others = others[(first_touched[others] != d.NONE) & (first_touched[others] < day)]
                mine = np.concatenate([mine, rng.choice(others, min(k - len(mine), len(others)), replace=False)])
            for acc in rng.choice(mine, min(k, len(mine)), replace=False):
                out.append((int(acc), int(r), int(day)))
    f = pd.DataFrame(out, columns=["account", "owner", "activity_date"])
    f["activity_type"] = np.where(rng.random(len(f)) < 0.75, "visit", "meeting")
    f["_file"] = file_day(f["activity_date"].to_numpy(), as_of)
    return f


def presales_activities(
    rng: np.random.Generator, roster: pd.DataFrame, a: pd.DataFrame, acts: pd.DataFrame, as_of: int
) -> pd.DataFrame:
    """Where presales time goes (presales_effort_share): on each working day from the start up to
    as-of, each presales rep employed logs Poisson(PRESALES_RATE) demos, meetings or calls, a share
    PRESALES_FOCUS of them on consumer-electronics customers. Only customers already touched before
    that day (by the deal and account touches), and no opportunity: no first touch moves. Returns
    account, owner (roster rows), activity_date, activity_type, _file."""
    days = np.arange(d.day(figures.START), as_of + 1)
    days = days[d.weekday(days) < 5]
    touched = acts.groupby("account")["activity_date"].min().reindex(range(len(a)), fill_value=d.NONE).to_numpy()
    industry, share = figures.PRESALES_FOCUS
    focus = a["industry"].to_numpy() == industry
    pools = []
    for in_focus in (True, False):
        rows = np.flatnonzero((focus == in_focus) & (touched != d.NONE))
        rows = rows[np.argsort(touched[rows], kind="stable")]
        pools.append((rows, touched[rows]))
    out = []
    for r in np.flatnonzero(roster["team"].to_numpy() == "presales"):
        employed = roster["hire_date"].iat[r] <= days
        if roster["leave_date"].iat[r] != d.NONE:
            employed &= days < roster["leave_date"].iat[r]
        day = np.repeat(days, rng.poisson(figures.PRESALES_RATE, len(days)) * employed)
        pick = rng.random(len(day)) < share
        u = rng.random(len(day))
        account = np.full(len(day), -1, dtype=np.int64)
        for k, (rows, since) in enumerate(pools):
            mine = pick if k == 0 else ~pick
            known = np.searchsorted(since, day[mine], side="left")  # touched before that day
            account[mine] = np.where(known > 0, rows[np.minimum((u[mine] * known).astype(np.int64),
                                                                np.maximum(known - 1, 0))], -1)
        keep = account >= 0
        out.append(pd.DataFrame({"account": account[keep], "owner": r, "activity_date": day[keep]}))
    f = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["account", "owner", "activity_date"])
    f["activity_type"] = rng.choice(np.array(["demo", "meeting", "call"], dtype=object), len(f), p=[0.6, 0.25, 0.15])
    f["_file"] = file_day(f["activity_date"].to_numpy().astype(np.int64), as_of)
    return f

