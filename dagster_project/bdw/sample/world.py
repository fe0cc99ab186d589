"""Generate the sample company and lay it out as the sources' rows (typed, with their export file).

``sources`` builds the company (accounts, deals, contracts, payments: what every source is made
from) and returns each source's rows as a function that makes them when asked, in parts that each
hold whole export files, so that ``bdw sample`` writes one source (the weekly snapshots: one
export day) at a time and frees it: at scale 1000 holding every source's rows at once took 15 GB.
``generate`` makes them all at once (the tests read them whole). Either way the rows are the same:
each source draws from its own random stream (``rng(stream)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import numpy as np
import pandas as pd

from bdw.sample import accounts, book, crm, deals, extras, figures, finance, manual, people, quality, quotas, roster
from bdw.sample import dates as d

Frames = dict[str, pd.DataFrame]
Parts = Callable[[], Iterator[pd.DataFrame]]  # a source's rows, made when called, in parts of whole files


def _ids(prefix: str, order_keys: list[np.ndarray], width: int, first: int = 1) -> np.ndarray:
    """IDs numbered in the order of the keys (the last key is the primary one)."""
    n = len(order_keys[0])
    order = np.lexsort(order_keys)
    ids = np.empty(n, dtype=object)
    ids[order] = [f"{prefix}{first + i:0{width}d}" for i in range(n)]
    return ids


def generate(scale: int, seed: int, as_of_date: date) -> Frames:
    """Every source's rows at once (and ``activities_bad``, the rows no valid export holds)."""
    frames: Frames = {}
    for name, make in sources(scale, seed, as_of_date).items():
        parts = list(make())
        frames[name] = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return frames


def _one(make: Callable[[], pd.DataFrame]) -> Parts:
    def parts() -> Iterator[pd.DataFrame]:
        yield make()

    return parts


def sources(scale: int, seed: int, as_of_date: date) -> dict[str, Parts]:
    """The company, built; each source's rows (and ``activities_bad``) made when asked for."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    as_of = d.day(as_of_date)
    if as_of < d.day("2024-03-01"):
        raise ValueError("as_of must be 2024-03-01 or later (the sample starts on 2024-01-01)")

    def rng(stream: int) -> np.random.Generator:
        return np.random.default_rng([seed, stream])

    reps = roster.reps(rng(1))
    partners = roster.partners(rng(2))
    first_month = int(d.month(np.array([d.day(figures.START)]))[0])
    fx = roster.fx_rates(rng(3), first_month, int(d.month(np.array([as_of]))[0]))
    a = accounts.add_special(accounts.skeleton(rng(4), scale, as_of), rng(5), scale, as_of)
    home = book.home_partners(rng(6), a, partners)
    bk = book.build(rng(7), a, partners, fx, scale, as_of, home, rng(27))
    c = bk.contracts
    pay, first_planned = finance.payments(rng(8), bk, as_of, scale)
    cost = finance.costs(rng(9), bk, a, fx, as_of)

    # new customers exist in the CRM from (just before) the first touch of their first deal
    touch = people.first_touches(rng(10), c, pay, first_planned)
    new = np.flatnonzero((c["ctype"] == "new").to_numpy())
    acc_touch = np.full(len(a), d.NONE, dtype=np.int64)
    acc_touch[c["account"].to_numpy()[new]] = touch[new]
    created = a["created_at"].to_numpy().copy()
    logo = acc_touch != d.NONE
    created[logo] = acc_touch[logo] - rng(11).integers(0, 4, int(logo.sum()))
    a["created_at"] = created
    first_contact = np.where(logo, acc_touch, created)

    x = deals.build(rng(12), bk, a, partners, home, touch, as_of, scale)
    r = rng(13)
    team = people.account_teams(r, a)
    a["owner"] = people.pick_employed(r, reps, team, a["created_at"].to_numpy())
    acc = x["account"].to_numpy()
    x["owner"] = people.owners(r, reps, team[acc], a["owner"].to_numpy()[acc], x["created"].to_numpy())
    won = x["contract"].to_numpy()
    c["owner"] = -1
    c.loc[won[won >= 0], "owner"] = x["owner"].to_numpy()[won >= 0]
    # a tenth of new deals carry no first_touch_at: the account's first activity tells it instead
    x["touch"] = np.where(won >= 0, touch[np.maximum(won, 0)], d.NONE)
    fallback = (
        (x["outcome"] == "won").to_numpy()
        & np.isin(won, new)
        & (x["touch"].to_numpy() >= d.day(figures.START))
    )
    fallback &= r.random(len(x)) < 0.1
    x["fallback_touch"] = fallback
    x.loc[fallback, "first_touch"] = d.NONE

    crm.account_fields(rng(14), a)
    crm.deal_fields(rng(15), x, a)
    sloppiness = rng(16).lognormal(0.0, 0.6, len(reps))
    quality.blank(rng(17), a, x, sloppiness)
    quality.apply_text(rng(18), a, quality.ACCOUNT_FIELDS)
    quality.apply_text(rng(18), x, quality.DEAL_FIELDS)

    a["account_id"] = _ids("CUS", [np.arange(len(a)), a["created_at"].to_numpy()], 6, 100001)
    x["opportunity_id"] = _ids("OPP", [np.arange(len(x)), x["created"].to_numpy()], 7, 1000001)
    c["contract_id"] = _contract_ids(c)
    acts = crm.activity_rows(rng(19), x, a, first_contact, a["owner"].to_numpy(), as_of)
    quota_rows = quotas.quotas(rng(24), c, reps, as_of, scale)
    visits = crm.field_visits(rng(23), reps, a, team, acts, quotas.pace(c, reps, quota_rows, as_of), as_of)
    presales = crm.presales_activities(rng(25), reps, a, acts, as_of)

    def financials() -> pd.DataFrame:
        fin = extras.financials(rng(22), a, as_of, scale)
        fin["account_id"] = a["account_id"].to_numpy()[fin["account"].to_numpy()]
        return fin

    return {
        "reps": _one(lambda: _reps(reps, as_of)),
        "partners": _one(lambda: _partners(roster.partner_files(rng(26), partners, as_of))),
        "rep_reviews": _one(lambda: roster.reviews(rng(20), reps, as_of)),
        "fx_rates": _one(lambda: _fx(fx, as_of)),
        "accounts": _one(lambda: _accounts(a, reps, as_of)),
        "opportunities": lambda: _opportunity_parts(x, a, reps, partners, as_of),
        "opportunity_snapshots": lambda: _snapshot_parts(x, as_of),
        "activities": lambda: _activity_parts(acts, visits, presales, x, a, reps),
        "contracts": _one(lambda: _contracts(c, a, x, reps, partners, as_of)),
        "contract_lines": _one(lambda: _lines(bk, c, as_of)),
        "payments": _one(lambda: _payments(pay, c, as_of)),
        "costs": _one(lambda: _costs(cost, c, as_of)),
        "forecasts": _one(lambda: extras.forecasts(rng(21), c, reps, as_of)),
        "customer_financials": _one(financials),
        "quotas": _one(lambda: quota_rows),
        "manual_measurements": _one(lambda: manual.measurements(as_of)),
        "activities_bad": _one(lambda: _bad_activities(a, reps, as_of)),
    }


def _contract_ids(c: pd.DataFrame) -> np.ndarray:
    signed = c["signed"].to_numpy()
    year = d.year(signed)
    order = np.lexsort([np.arange(len(c)), signed])
    ids = np.empty(len(c), dtype=object)
    seq: dict[int, int] = {}
    for i in order:
        seq[year[i]] = seq.get(year[i], 0) + 1
        ids[i] = f"HT{year[i]}{seq[year[i]]:05d}"
    return ids


def _rep_id(reps: pd.DataFrame, idx: np.ndarray) -> np.ndarray:
    ids = reps["rep_id"].to_numpy().astype(object)[np.maximum(idx, 0)]
    return np.where(idx >= 0, ids, None)


def _partner_id(partners: pd.DataFrame, idx: np.ndarray) -> np.ndarray:
    ids = partners["partner_id"].to_numpy().astype(object)[np.maximum(idx, 0)]
    return np.where(idx >= 0, ids, None)


def _reps(reps: pd.DataFrame, as_of: int) -> pd.DataFrame:
    f = roster.roster_files(reps, as_of, "rep_id", "hire_date", "leave_date")
    f["role_tags"] = f["role_tags"].replace("", None)
    return f


def _partners(f: pd.DataFrame) -> pd.DataFrame:
    late = f["certified_date"].to_numpy() > f["_file"].to_numpy()
    f.loc[late, "certified_date"] = d.NONE
    return f


def _fx(fx: pd.DataFrame, as_of: int) -> pd.DataFrame:
    f = fx.copy()
    year = 1970 + f["month"].to_numpy() // 12
    f["_file"] = np.minimum([d.day(f"{y}-12-31") for y in year], as_of)
    f["month"] = d.month_label(f["month"].to_numpy())
    return f.sort_values(["_file", "month", "currency"]).reset_index(drop=True)


def _accounts(a: pd.DataFrame, reps: pd.DataFrame, as_of: int) -> pd.DataFrame:
    f = a[
        [
            "account_id",
            "account_name",
            "region",
            "country",
            "industry",
            "pain_points",
            "procurement_cycle",
            "main_competitor",
            "decision_maker",
            "contact_email",
            "contact_phone",
        ]
    ].copy()
    f["owner_id"] = _rep_id(reps, a["owner"].to_numpy())
    f["created_at"] = a["created_at"].to_numpy()
    f.loc[a["empty_industry"].to_numpy(), "industry"] = None
    f.loc[a["empty_owner_id"].to_numpy(), "owner_id"] = None
    f["is_deleted"] = False
    f["_file"] = crm.file_day(f["created_at"].to_numpy(), as_of)
    dup = a["special"].to_numpy() == "duplicate"
    gone = f[dup].copy()
    gone["is_deleted"] = True
    gone["_file"] = np.minimum(d.month_end(d.month(gone["created_at"].to_numpy()) + 2), as_of)
    f = pd.concat([f, gone[gone["_file"] > gone["created_at"]]], ignore_index=True)
    return f.sort_values(["_file", "account_id"], kind="stable").reset_index(drop=True)


def _file_groups(files: np.ndarray) -> Iterator[np.ndarray]:
    """Positions of the rows of each export file (file by file, in row order within a file)."""
    order = np.argsort(files, kind="stable")
    yield from (idx for idx in np.split(order, np.flatnonzero(np.diff(files[order])) + 1) if len(idx))


def _opportunity_parts(
    x: pd.DataFrame, a: pd.DataFrame, reps: pd.DataFrame, partners: pd.DataFrame, as_of: int
) -> Iterator[pd.DataFrame]:
    """The monthly deal exports, one file at a time."""
    rows = crm.deal_rows(x, as_of)
    for idx in _file_groups(rows["_file"].to_numpy()):
        yield _opportunities(x, a, reps, partners, rows.iloc[idx])


def _opportunities(
    x: pd.DataFrame, a: pd.DataFrame, reps: pd.DataFrame, partners: pd.DataFrame, rows: pd.DataFrame
) -> pd.DataFrame:
    i = rows["deal"].to_numpy()
    acc = x["account"].to_numpy()[i]
    f = pd.DataFrame(
        {
            "opportunity_id": x["opportunity_id"].to_numpy()[i],
            "account_id": np.where(
                x["empty_account_id"].to_numpy()[i], None, a["account_id"].to_numpy()[acc]
            ),
            "owner_id": _rep_id(reps, x["owner"].to_numpy()[i]),
            "opportunity_name": x["opportunity_name"].to_numpy()[i],
            "created_at": x["created"].to_numpy()[i],
            "first_touch_at": x["first_touch"].to_numpy()[i],
            "stage": rows["stage"].to_numpy(),
            "amount": np.where(x["empty_amount"].to_numpy()[i], np.nan, rows["amount"].to_numpy()),
            "currency": x["currency"].to_numpy()[i],
            "expected_close_date": np.where(
                x["empty_expected_close_date"].to_numpy()[i], d.NONE, rows["expected_close_date"].to_numpy()
            ),
            "closed_at": rows["closed_at"].to_numpy(),
            "forecast_category": np.where(
                x["empty_forecast_category"].to_numpy()[i], None, rows["forecast_category"].to_numpy()
            ),
            "channel": x["channel"].to_numpy()[i],
            "partner_id": _partner_id(partners, x["partner"].to_numpy()[i]),
            "product_family": x["family"].to_numpy()[i],
            "pain_points": x["pain_points"].to_numpy()[i],
            "main_competitor": x["main_competitor"].to_numpy()[i],
            "next_step": x["next_step"].to_numpy()[i],
            "budget_confirmed": np.where(
                x["empty_budget_confirmed"].to_numpy()[i], None, x["budget_confirmed"].to_numpy()[i]
            ),
            "lost_reason": np.where(
                rows["stage"].to_numpy() == "closed_lost", x["lost_reason"].to_numpy()[i], None
            ),
            "is_deleted": rows["is_deleted"].to_numpy(),
            "_file": rows["_file"].to_numpy(),
        }
    )
    return f.sort_values(["_file", "opportunity_id"], kind="stable").reset_index(drop=True)


def _snapshot_parts(x: pd.DataFrame, as_of: int) -> Iterator[pd.DataFrame]:
    """The weekly snapshots, one export day at a time, each in opportunity_id order."""
    opportunity_id = x["opportunity_id"].to_numpy()
    currency = x["currency"].to_numpy()
    empty_amount = x["empty_amount"].to_numpy()
    empty_ecd = x["empty_expected_close_date"].to_numpy()
    empty_fc = x["empty_forecast_category"].to_numpy()
    for s in crm.snapshot_parts(x, as_of):
        i = s["deal"].to_numpy()
        f = pd.DataFrame(
            {
                "snapshot_date": s["snapshot_date"].to_numpy(),
                "opportunity_id": opportunity_id[i],
                "stage": s["stage"].to_numpy(),
                "amount": np.where(empty_amount[i], np.nan, s["amount"].to_numpy()),
                "currency": currency[i],
                "expected_close_date": np.where(empty_ecd[i], d.NONE, s["expected_close_date"].to_numpy()),
                "forecast_category": np.where(empty_fc[i], None, s["forecast_category"].to_numpy()),
                "_file": s["_file"].to_numpy(),
            }
        )
        yield f.sort_values(["_file", "opportunity_id"], kind="stable").reset_index(drop=True)


def _activity_parts(
    acts: pd.DataFrame, visits: pd.DataFrame, presales: pd.DataFrame, x: pd.DataFrame, a: pd.DataFrame,
    reps: pd.DataFrame,
) -> Iterator[pd.DataFrame]:
    """The activity exports, one file at a time: in each, the touches on deals and accounts, then the
    visit check-ins, then presales' activities (each numbered by its place in its own list)."""
    pieces = [acts, visits, presales]
    ends = np.cumsum([len(p) for p in pieces])
    starts = ends - np.array([len(p) for p in pieces])
    files = np.concatenate([p["_file"].to_numpy() for p in pieces])
    for idx in _file_groups(files):
        sel = [idx[(idx >= lo) & (idx < hi)] - lo for lo, hi in zip(starts, ends, strict=True)]
        yield pd.concat(
            [_activities(acts, x, a, reps, sel[0]), _visits(visits, a, reps, 50_000_000, sel[1]),
             _visits(presales, a, reps, 60_000_000, sel[2])],
            ignore_index=True,
        )


def _activities(
    acts: pd.DataFrame, x: pd.DataFrame, a: pd.DataFrame, reps: pd.DataFrame, sel: np.ndarray
) -> pd.DataFrame:
    """Rows ``sel`` of the touches on deals and accounts (ACT00000001 ... by their place)."""
    deal = acts["deal"].to_numpy()[sel]
    f = pd.DataFrame(
        {
            "activity_id": [f"ACT{i + 1:08d}" for i in sel],
            "account_id": a["account_id"].to_numpy()[acts["account"].to_numpy()[sel]],
            "opportunity_id": np.where(deal >= 0, x["opportunity_id"].to_numpy()[np.maximum(deal, 0)], None),
            "owner_id": _rep_id(reps, acts["owner"].to_numpy()[sel]),
            "activity_date": acts["activity_date"].to_numpy()[sel],
            "activity_type": acts["activity_type"].to_numpy()[sel],
            "_file": acts["_file"].to_numpy()[sel],
        }
    )
    return f


def _visits(visits: pd.DataFrame, a: pd.DataFrame, reps: pd.DataFrame, first_id: int, sel: np.ndarray) -> pd.DataFrame:
    """Rows ``sel`` of the activities of a fixed team, numbered apart from the touches on deals and
    accounts: the 2026 visit check-ins (ACT5...) and presales' activities (ACT6...)."""
    return pd.DataFrame(
        {
            "activity_id": [f"ACT{first_id + i + 1:08d}" for i in sel],
            "account_id": a["account_id"].to_numpy()[visits["account"].to_numpy()[sel].astype(np.int64)],
            "opportunity_id": None,
            "owner_id": _rep_id(reps, visits["owner"].to_numpy()[sel].astype(np.int64)),
            "activity_date": visits["activity_date"].to_numpy()[sel],
            "activity_type": visits["activity_type"].to_numpy()[sel],
            "_file": visits["_file"].to_numpy()[sel],
        }
    )


def _bad_activities(a: pd.DataFrame, reps: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """A handful of rows a CRM export really holds: an impossible date, a free-text date, an
    unknown type, a missing owner. All on prospects, so no KPI depends on them."""
    prospects = a["account_id"].to_numpy()[
        (a["kind"] == "prospect").to_numpy() & (a["special"] == "").to_numpy()
    ]
    rep = reps["rep_id"].iat[0]
    return pd.DataFrame(
        {
            "activity_id": ["ACT90000001", "ACT90000002", "ACT90000003", "ACT90000004"],
            "account_id": prospects[:4].tolist(),
            "opportunity_id": [None] * 4,
            "owner_id": [rep, rep, rep, None],
            "activity_date": ["2025-02-30", "下周一", "2025-10-14", "2025-10-20"],
            "activity_type": ["call", "visit", "lunch", "email"],
        }
    )


def _contracts(
    c: pd.DataFrame, a: pd.DataFrame, x: pd.DataFrame, reps: pd.DataFrame, partners: pd.DataFrame, as_of: int
) -> pd.DataFrame:
    deal_of = pd.Series(x.index[x["contract"] >= 0], index=x["contract"][x["contract"] >= 0])
    deal = deal_of.reindex(range(len(c))).to_numpy()
    renews = c["renews"].to_numpy()
    f = pd.DataFrame(
        {
            "contract_id": c["contract_id"].to_numpy(),
            "account_id": a["account_id"].to_numpy()[c["account"].to_numpy()],
            "opportunity_id": x["opportunity_id"].to_numpy()[deal],
            "owner_id": _rep_id(reps, c["owner"].to_numpy()),
            "signed_date": c["signed"].to_numpy(),
            "start_date": c["start"].to_numpy(),
            "end_date": c["end"].to_numpy(),
            "currency": c["currency"].to_numpy(),
            "contract_type": c["ctype"].to_numpy(),
            "renews_contract_id": np.where(
                renews >= 0, c["contract_id"].to_numpy()[np.maximum(renews, 0)], None
            ),
            "channel": c["channel"].to_numpy(),
            "partner_id": _partner_id(partners, c["partner"].to_numpy()),
            "status": "active",
            "_file": crm.file_day(c["signed"].to_numpy(), as_of),
        }
    )
    cancelled = c["cancelled"].to_numpy() & (c["cancelled_on"].to_numpy() <= as_of)
    later = f[cancelled].copy()
    later["status"] = "cancelled"
    later["_file"] = crm.file_day(c["cancelled_on"].to_numpy()[cancelled], as_of)
    f = pd.concat([f, later], ignore_index=True)
    return f.sort_values(["_file", "contract_id"], kind="stable").reset_index(drop=True)


def _lines(bk: book.Book, c: pd.DataFrame, as_of: int) -> pd.DataFrame:
    ln = bk.lines
    ci = ln["contract"].to_numpy()
    kind = ln["kind"].to_numpy()
    f = pd.DataFrame(
        {
            "contract_id": c["contract_id"].to_numpy()[ci],
            "line_no": ln["line_no"].to_numpy(),
            "product_family": np.array(figures.KIND_FAMILY, dtype=object)[kind],
            "amount": ln["cents"].to_numpy() / 100,
            "is_recurring": np.array(figures.KIND_RECURRING, dtype=object)[kind],
            "_file": crm.file_day(c["signed"].to_numpy()[ci], as_of),
            "_explicit": kind == figures.KINDS.index("license_term"),
        }
    )
    return f.sort_values(["_file", "contract_id", "line_no"], kind="stable").reset_index(drop=True)


def _payments(pay: pd.DataFrame, c: pd.DataFrame, as_of: int) -> pd.DataFrame:
    ci = pay["contract"].to_numpy()
    return pd.DataFrame(
        {
            "payment_id": [f"PAY{i:08d}" for i in range(1, len(pay) + 1)],
            "contract_id": c["contract_id"].to_numpy()[ci],
            "received_date": pay["received"].to_numpy(),
            "amount": pay["cents"].to_numpy() / 100,
            "currency": c["currency"].to_numpy()[ci],
            "_file": crm.file_day(pay["received"].to_numpy(), as_of),
        }
    )


def _costs(cost: pd.DataFrame, c: pd.DataFrame, as_of: int) -> pd.DataFrame:
    ci = cost["contract"].to_numpy()
    return pd.DataFrame(
        {
            "cost_id": [f"CST{i:08d}" for i in range(1, len(cost) + 1)],
            "contract_id": c["contract_id"].to_numpy()[ci],
            "cost_date": cost["cost_date"].to_numpy(),
            "cost_type": cost["cost_type"].to_numpy(),
            "amount": cost["cents"].to_numpy() / 100,
            "currency": cost["currency"].to_numpy(),
            "_file": crm.file_day(cost["cost_date"].to_numpy(), as_of),
        }
    )
