"""The manager's team's measurements by hand (docs/metrics.md, "Nodes measured by hand").

The battle map's nodes that no system reports come as small files the team sends when it has
measured something: the 2025 year-end figures in January, each quarter's survey and budget report
after the quarter, and the year to date for the November review. Some nodes are measured, some are
not (industry_consultants and successors_ready have no value: the report shows them as missing data),
and one value is corrected by a later file (the Q2 survey typed as 0.68, corrected to 0.86). The rows
are fixed: the team is the same at any --scale, and an earlier --as-of sees the files sent by then.

With the default --as-of (2026-11-26) the 2026 nodes stand (plan to date of a ratio or count = the
target; budget_spent is a sum with direction lower, paced by 330/365 of the year): customer_satisfaction
0.843 and partner_portal_registration 0.92 at risk, certified_scrum_masters 2 of 3 and
delivery_cost_reduction 0.28 of 0.35 off track, certified_itil4 5, plugin_gross_margin 0.62 and
budget_spent 11.65M (plan to date 12.48M) on track.
"""

from __future__ import annotations

import pandas as pd

from bdw.sample import dates as d

# (file day, kpi_id, period, segment (None: left blank, the default all), value, measured_at, source_note)
ROWS: tuple[tuple[str, str, str, str | None, float, str, str], ...] = (
    ("2026-01-15", "customer_satisfaction", "2025", "all", 0.81, "2026-01-12", "2025 customer surveys pooled, n=512"),
    ("2026-01-15", "budget_spent", "2025", "all", 12_900_000, "2026-01-10", "finance budget report FY2025"),
    ("2026-01-15", "delivery_cost_reduction", "2025", "all", 0.22, "2026-01-14",
     "delivery cost per project against the 2024 baseline"),
    ("2026-04-15", "customer_satisfaction", "2026-Q1", None, 0.83, "2026-04-10", "Q1 survey, n=121"),
    ("2026-04-15", "budget_spent", "2026-Q1", None, 2_950_000, "2026-04-08", "finance budget report Q1"),
    ("2026-04-15", "certified_itil4", "2026-Q1", None, 3, "2026-04-12", "HR certification list"),
    ("2026-07-15", "customer_satisfaction", "2026-Q2", "all", 0.68, "2026-07-10", "Q2 survey, n=143"),
    ("2026-07-15", "budget_spent", "2026-Q2", "all", 3_400_000, "2026-07-08", "finance budget report Q2"),
    ("2026-07-15", "partner_portal_registration", "2026-Q2", "all", 0.84, "2026-07-12",
     "partner portal admin report"),
    ("2026-10-15", "customer_satisfaction", "2026-Q2", "all", 0.86, "2026-10-12",
     "Q2 survey, n=143 (corrected: 0.68 was a typo)"),
    ("2026-10-15", "customer_satisfaction", "2026-Q3", "all", 0.84, "2026-10-12", "Q3 survey, n=150"),
    ("2026-10-15", "budget_spent", "2026-Q3", "all", 3_600_000, "2026-10-09", "finance budget report Q3"),
    ("2026-10-15", "plugin_gross_margin", "2026-Q3", "all", 0.61, "2026-10-14", "plug-in P&L Q3 (product team)"),
    ("2026-11-20", "customer_satisfaction", "2026", "all", 0.843, "2026-11-18", "surveys Q1-Q3 pooled, n=414"),
    ("2026-11-20", "partner_portal_registration", "2026", "all", 0.92, "2026-11-19", "partner portal admin report"),
    ("2026-11-20", "certified_scrum_masters", "2026", "all", 2, "2026-11-16",
     "HR certification list; one exam booked for December"),
    ("2026-11-20", "certified_itil4", "2026", "all", 5, "2026-11-16", "HR certification list"),
    ("2026-11-20", "budget_spent", "2026", "all", 11_650_000, "2026-11-17", "finance budget report to 2026-11-15"),
    ("2026-11-20", "delivery_cost_reduction", "2026", "all", 0.28, "2026-11-18",
     "delivery cost per project against the 2025 baseline"),
    ("2026-11-20", "plugin_gross_margin", "2026", "all", 0.62, "2026-11-19", "plug-in P&L January to October"),
)


def measurements(as_of: int) -> pd.DataFrame:
    """The rows of the files sent up to `as_of`: kpi_id, period, segment, value, measured_at, source_note, _file."""
    f = pd.DataFrame(ROWS, columns=["_file", "kpi_id", "period", "segment", "value", "measured_at", "source_note"])
    f["_file"] = [d.day(x) for x in f["_file"]]
    f["measured_at"] = [d.day(x) for x in f["measured_at"]]
    f["value"] = f["value"].astype(float)
    return f[f["_file"] <= as_of].reset_index(drop=True)
