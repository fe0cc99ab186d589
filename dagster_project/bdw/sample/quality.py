"""CRM completeness: empty exactly the plan's share of key-field cells per creation year.

Empty means blank or a placeholder a rep typed (free-text fields only: a placeholder in a typed
field would be a type error, not an empty cell). Sloppy reps leave more empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bdw.sample import dates as d
from bdw.sample import figures, names

# (table, field, weight, text): text fields may hold a placeholder
ACCOUNT_FIELDS = (
    ("industry", 0.4, False),
    ("owner_id", 0.4, False),
    ("pain_points", 3.0, True),
    ("procurement_cycle", 3.0, True),
    ("main_competitor", 2.5, True),
    ("decision_maker", 2.0, True),
)
DEAL_FIELDS = (
    ("account_id", 0.5, False),
    ("amount", 0.8, False),
    ("expected_close_date", 0.8, False),
    ("forecast_category", 0.8, False),
    ("pain_points", 3.0, True),
    ("main_competitor", 2.5, True),
    ("next_step", 3.0, True),
    ("budget_confirmed", 1.5, False),
)


def _target(year: int) -> float:
    if year < figures.START.year:
        return figures.CRM_COMPLETENESS_BEFORE_2024
    return figures.plan(min(year, max(figures.PLANS))).crm_completeness


def blank(rng: np.random.Generator, a: pd.DataFrame, x: pd.DataFrame, sloppiness: np.ndarray) -> None:
    """Set `empty_<field>` flags on accounts and deals (current records only)."""
    a_live = a["special"].to_numpy() != "duplicate"
    x_live = x["outcome"].to_numpy() != "deleted"
    prospect = a["kind"].to_numpy() == "prospect"
    not_won = np.isin(x["outcome"].to_numpy(), ["lost", "open"]) & ~x["designed"].to_numpy()
    lost = (x["outcome"].to_numpy() == "lost") & ~x["designed"].to_numpy()
    on_prospect = prospect[x["account"].to_numpy()]
    eligible = {
        ("a", "industry"): prospect,
        ("a", "owner_id"): prospect,
        ("x", "account_id"): not_won & on_prospect,
        ("x", "amount"): lost,
        ("x", "expected_close_date"): lost,
        ("x", "forecast_category"): lost,
    }
    cells = []
    for table, frame, fields, live in (("a", a, ACCOUNT_FIELDS, a_live), ("x", x, DEAL_FIELDS, x_live)):
        created = frame["created_at" if table == "a" else "created"].to_numpy()
        owner = frame["owner"].to_numpy()
        for f, w, _ in fields:
            ok = eligible.get((table, f), np.ones(len(frame), dtype=bool))
            cells.append(
                pd.DataFrame(
                    {
                        "table": table,
                        "field": f,
                        "row": np.arange(len(frame)),
                        "year": d.year(created),
                        "w": w * sloppiness[owner],
                        "ok": ok & live,
                        "live": live,
                    }
                )
            )
    c = pd.concat(cells, ignore_index=True)
    c = c[c["live"]]
    c["key"] = np.log(rng.random(len(c))) / c["w"].to_numpy()
    c.loc[~c["ok"], "key"] = -np.inf
    chosen = []
    for y, g in c.groupby("year"):
        k = round((1 - _target(int(y))) * len(g))
        assert k <= g["ok"].sum(), f"not enough optional cells to empty in {y}"
        chosen.append(g.nlargest(k, "key"))
    empty = pd.concat(chosen)
    for table, frame, fields in (("a", a, ACCOUNT_FIELDS), ("x", x, DEAL_FIELDS)):
        for f, _, _ in fields:
            flag = np.zeros(len(frame), dtype=bool)
            flag[empty.loc[(empty["table"] == table) & (empty["field"] == f), "row"].to_numpy()] = True
            frame[f"empty_{f}"] = flag


def apply_text(rng: np.random.Generator, frame: pd.DataFrame, fields: tuple) -> None:
    """Empty text cells become blank or a placeholder."""
    for f, _, text in fields:
        if not text or f not in frame:
            continue
        flag = frame[f"empty_{f}"].to_numpy()
        values = frame[f].to_numpy().astype(object)
        k = int(flag.sum())
        ph = rng.random(k) < 0.45
        fill = np.where(ph, names.pick(rng, names.PLACEHOLDERS, k), None)
        values[flag] = fill
        frame[f] = values
