"""Cash and cost: payment schedules (with refunds) and delivery costs steered to the margins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bdw.sample import dates as d
from bdw.sample import figures
from bdw.sample.book import Book
from bdw.sample.rake import rake
from bdw.sample.roster import rate_lookup

ELIGIBLE = ("delivery_labor", "cloud_hosting", "third_party", "outsourcing", "travel", "other")
# cost-type weights per line kind (KINDS order), eligible types only
TYPE_WEIGHTS = np.array(
    [
        [1.0, 3.0, 0.0, 0.0, 0.3, 0.2],  # saas
        [2.0, 0.0, 0.0, 1.0, 0.3, 0.2],  # support
        [1.0, 0.0, 0.3, 0.0, 0.2, 1.0],  # license_term
        [1.0, 0.0, 0.3, 0.0, 0.2, 1.0],  # license_perp
        [3.0, 0.0, 0.0, 2.0, 1.0, 0.2],  # service
        [0.3, 0.0, 3.0, 0.0, 0.2, 0.2],  # hardware
    ]
)


def payments(rng: np.random.Generator, book: Book, as_of: int, scale: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Installments of every contract (received by as-of), a partial refund per scale unit, and
    the cancelled contract paid back in full. Also returns each contract's first planned payment."""
    c = book.contracts
    n = len(c)
    n_inst = rng.choice(np.array([1, 2, 4]), n, p=[0.4, 0.3, 0.3])
    first = c["signed"].to_numpy() + rng.integers(*figures.PAYMENT_LAG_DAYS, n, endpoint=True)
    gap = np.where(n_inst == 2, 182, 91)
    ci = np.repeat(np.arange(n), n_inst)
    k = np.arange(len(ci)) - np.repeat(np.cumsum(n_inst) - n_inst, n_inst)
    day = first[ci] + k * gap[ci]
    total = c["cents"].to_numpy()
    part = total // n_inst
    cents = np.where(k == n_inst[ci] - 1, total[ci] - part[ci] * (n_inst[ci] - 1), part[ci])
    p = pd.DataFrame({"contract": ci, "received": day, "cents": cents})
    cancelled = c["cancelled"].to_numpy()
    p = p[~cancelled[ci] | (k == 0)]
    # the cancelled contract: its one payment goes back after the cancellation
    cx = np.flatnonzero(cancelled)
    back = pd.DataFrame(
        {"contract": cx, "received": c["cancelled_on"].to_numpy()[cx] + 12, "cents": -total[cx]}
    )
    p = pd.concat([p, back], ignore_index=True)
    p = p[p["received"] <= as_of]
    # a partial refund per scale unit, on a 2025 contract paid in several installments
    counts = p[p["cents"] > 0].groupby("contract").size()
    signed_2025 = d.year(c["signed"].to_numpy()) == 2025
    cands = [i for i in counts[counts >= 2].index if signed_2025[i] and not cancelled[i]]
    refunds = []
    for i in rng.permutation(cands)[:scale] if cands else []:
        rows = p[(p["contract"] == i) & (p["cents"] > 0)].sort_values("received")
        when = int(rows["received"].iloc[1]) + 15
        if when <= as_of:
            refunds.append((i, when, -int(round(rows["cents"].iloc[0] * figures.REFUND_SHARE, -2))))
    if refunds:
        p = pd.concat(
            [p, pd.DataFrame(refunds, columns=["contract", "received", "cents"])], ignore_index=True
        )
    p = p.sort_values(["received", "contract", "cents"], kind="stable").reset_index(drop=True)
    return p, first


def costs(
    rng: np.random.Generator, book: Book, a: pd.DataFrame, fx: pd.DataFrame, as_of: int
) -> pd.DataFrame:
    """Eligible delivery costs raked to each period's margins per region group, plus the
    excluded types (logistics, implementation add-ons) on top."""
    c, lines, win = book.contracts, book.lines, book.windows
    n = len(c)
    counted = ~c["cancelled"].to_numpy()
    overseas = a["overseas"].to_numpy()[c["account"].to_numpy()]
    signed = c["signed"].to_numpy()
    w_idx = np.searchsorted(win["lo"].to_numpy(), signed, side="right") - 1
    # each window's margin for overseas and (derived) domestic contracts
    rev = c["cny"].to_numpy()
    r_all = np.bincount(w_idx[counted], weights=rev[counted], minlength=len(win))
    r_ov = np.bincount(w_idx[counted & overseas], weights=rev[counted & overseas], minlength=len(win))
    m_all, m_ov = win["margin"].to_numpy(), win["overseas_margin"].to_numpy()
    m_dom = (m_all * r_all - m_ov * r_ov) / np.maximum(r_all - r_ov, 1.0)
    margin = np.where(overseas, m_ov[w_idx], m_dom[w_idx])
    target = rev * (1 - np.clip(rng.normal(margin, 0.07), -0.1, 0.7))

    n_rows = np.clip(2 + rng.poisson(rev / 1_500_000), 2, 8)
    ci = np.repeat(np.arange(n), n_rows)
    span = np.where(c["recurring"].to_numpy(), 240, 120)
    when = signed[ci] + np.floor(rng.random(len(ci)) ** 1.5 * span[ci]).astype(np.int64) + 3
    share = rng.gamma(1.0, 1.0, len(ci))
    share /= np.bincount(ci, weights=share)[ci]
    kind_rev = np.zeros((n, len(figures.KINDS)))
    np.add.at(kind_rev, (lines["contract"].to_numpy(), lines["kind"].to_numpy()), lines["cny"].to_numpy())
    type_w = kind_rev @ TYPE_WEIGHTS + 1e-9
    cum = np.cumsum(type_w / type_w.sum(axis=1, keepdims=True), axis=1)
    ctype = np.minimum((cum[ci] < rng.random(len(ci))[:, None]).sum(axis=1), len(ELIGIBLE) - 1)
    x = pd.DataFrame(
        {
            "contract": ci,
            "cost_date": when,
            "cny": target[ci] * share,
            "cost_type": np.array(ELIGIBLE, dtype=object)[ctype],
        }
    )
    x = x[(x["cost_date"] <= as_of) & counted[ci]]
    # steer what is booked by as-of to the margins
    cw = w_idx[x["contract"].to_numpy()]
    cov = overseas[x["contract"].to_numpy()]
    labels = cw * 2 + cov
    targets = np.column_stack([(r_all - r_ov) * (1 - m_dom), r_ov * (1 - m_ov)]).ravel()
    x["cny"] = rake(x["cny"].to_numpy(), [(labels, targets)])

    # excluded cost types, never in gross margin
    logistics, addon = figures.EXCLUDED_COST_TYPES
    hw = kind_rev[:, 5]
    sv = kind_rev[:, 4]
    lg = np.flatnonzero(counted & (hw > 0))
    ia = np.flatnonzero(counted & (sv > 0) & (rng.random(n) < 0.3))
    extra = pd.DataFrame(
        {
            "contract": np.concatenate([lg, ia]),
            "cost_date": np.concatenate(
                [signed[lg] + rng.integers(5, 40, len(lg)), signed[ia] + rng.integers(20, 90, len(ia))]
            ),
            "cny": np.concatenate(
                [hw[lg] * rng.uniform(0.03, 0.07, len(lg)), sv[ia] * rng.uniform(0.03, 0.06, len(ia))]
            ),
            "cost_type": np.array([logistics] * len(lg) + [addon] * len(ia), dtype=object),
        }
    )
    cx = np.flatnonzero(~counted)
    void = pd.DataFrame({"contract": cx, "cost_date": signed[cx] + 15, "cny": 8_000.0, "cost_type": "travel"})
    x = pd.concat([x, extra, void], ignore_index=True)
    x = x[x["cost_date"] <= as_of]
    currency = c["currency"].to_numpy()[x["contract"].to_numpy()]
    rate = rate_lookup(fx, currency, x["cost_date"].to_numpy())
    x["cents"] = np.maximum(np.round(x["cny"].to_numpy() / rate * 100), 1).astype(np.int64)
    x["currency"] = currency
    return x.sort_values(["cost_date", "contract"], kind="stable").reset_index(drop=True)
