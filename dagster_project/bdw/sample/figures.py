"""Every figure the sample company is built around (docs/metrics.md sections 3 and 4), in one place.

Money is CNY. Sizes are per unit of ``--scale``; the roster (reps, partners) and fx rates do not
scale. At ``--scale N`` sums grow N-fold and ratios stay put: the top customer stays one account
with N times the revenue (so concentration shares hold) while the other strategic accounts
multiply (13N + 1 strategic customers in 2025); per-head productivity grows N-fold.
A year's plan applies to contracts signed in it; a period the as-of date cuts short gets its
pro-rata share of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

START = date(2024, 1, 1)  # the first day any transaction, snapshot or activity is dated
DEFAULT_AS_OF = date(2026, 11, 26)
CNY = "CNY"
STRATEGIC_THRESHOLD = 5_000_000.0
RENEWAL_GRACE_DAYS = 90
EXCLUDED_COST_TYPES = ("logistics", "implementation_addon")

# Line kinds: a product family plus whether the line is recurring (a term license is).
KINDS = ("saas", "support", "license_term", "license_perp", "service", "hardware")
KIND_FAMILY = ("saas", "support", "license", "license", "service", "hardware")
KIND_RECURRING = (True, True, True, False, False, False)


@dataclass(frozen=True)
class YearPlan:
    revenue: float  # signed revenue of the year
    quarters: tuple[float, float, float, float] | None  # when set, each quarter is steered on its own
    partner_share: float
    overseas_share: float
    kinds: tuple[float, ...]  # share of signed revenue per line kind (KINDS order)
    margin: float  # gross margin of the year's contracts, costs booked up to as-of
    overseas_margin: float
    top_revenue: float = 0.0  # the top customer's signed revenue (0: not steered), spread like revenue
    strategic_revenue: float = 0.0  # the other strategic customers' signed revenue, together
    strategic_count: int = 0  # how many other accounts are strategic (>= threshold) this year
    renewal: dict[str, float] = field(default_factory=dict)  # of contracts due: partner, direct, strategic
    forecast_set: int = 0  # opportunities in the months' forecast sets, per scale unit
    forecast_accuracy: float = 0.0
    crm_completeness: float = 0.0  # of key-field cells of records created in the year
    sales_cycle_days: float = 0.0  # first touch -> first positive payment of new contracts


_KINDS_2024 = (0.31, 0.20, 0.10, 0.12, 0.15, 0.12)
_KINDS_2025 = (0.48, 0.18, 0.11, 0.05, 0.11, 0.07)  # saas 0.48, recurring 0.77
_KINDS_2026 = (0.52, 0.17, 0.10, 0.04, 0.11, 0.06)

# 2025: the department's year-end report (docs/metrics.md section 3).
REVENUE_2025 = 137_000_000.0
TOP_SHARE_2025 = 0.18
STRATEGIC_SHARE_2025 = 0.66

PLANS: dict[int, YearPlan] = {
    2024: YearPlan(
        revenue=110_000_000.0,
        quarters=None,
        partner_share=0.26,
        overseas_share=0.15,
        kinds=_KINDS_2024,
        margin=0.224,
        overseas_margin=0.16,
        top_revenue=12_000_000.0,
        strategic_revenue=0.38 * 110_000_000.0 - 12_000_000.0,
        strategic_count=5,
        forecast_set=84,
        forecast_accuracy=0.50,
        crm_completeness=0.63,
        sales_cycle_days=127.0,
    ),
    2025: YearPlan(
        revenue=REVENUE_2025,
        quarters=None,
        partner_share=38_000_000.0 / REVENUE_2025,
        overseas_share=0.196,
        kinds=_KINDS_2025,
        margin=0.261,
        overseas_margin=0.185,
        top_revenue=TOP_SHARE_2025 * REVENUE_2025,
        strategic_revenue=(STRATEGIC_SHARE_2025 - TOP_SHARE_2025) * REVENUE_2025,
        strategic_count=13,
        renewal={"partner": 0.46, "direct": 0.68},
        forecast_set=100,
        forecast_accuracy=0.58,
        crm_completeness=0.69,
        sales_cycle_days=89.0,
    ),
    # 2026 meets its plan only partly: Q1 met, Q2/Q3 missed, Q4 off track, the year at risk.
    2026: YearPlan(
        revenue=170_000_000.0,
        quarters=(40_000_000.0, 39_000_000.0, 46_000_000.0, 45_000_000.0),
        partner_share=0.30,
        overseas_share=0.22,
        kinds=_KINDS_2026,
        margin=0.283,
        overseas_margin=0.23,
        top_revenue=0.16 * 170_000_000.0,
        renewal={"partner": 0.40, "direct": 0.74, "strategic": 0.86},
        forecast_set=88,
        forecast_accuracy=0.70,
        crm_completeness=0.80,
        sales_cycle_days=81.0,
    ),
}
QUARTER_MARGINS_2026 = (0.285, 0.27, 0.29, 0.30)
GROWTH_AFTER_2026 = 1.12
CRM_COMPLETENESS_BEFORE_2024 = 0.60


def plan(year: int) -> YearPlan:
    """The plan of a year; years after 2026 grow on 2026."""
    if year in PLANS:
        return PLANS[year]
    base = PLANS[2026]
    g = GROWTH_AFTER_2026 ** (year - 2026)
    assert base.quarters is not None
    return replace(base, revenue=base.revenue * g, quarters=tuple(q * g for q in base.quarters))


def quarter_margin(year: int, quarter: int) -> float:
    return QUARTER_MARGINS_2026[quarter - 1] if year >= 2026 else plan(year).margin


# ---- sizes per scale unit -------------------------------------------------------------------------
LEGACY_REGULAR = 60  # customers from before 2024 (their earlier contracts predate the exports)
STRATEGIC_2024_LEGACY = 5  # besides the top customer: strategic in 2024 and 2025
STRATEGIC_2025_LEGACY = 5  # legacy customers that become strategic in 2025
STRATEGIC_2025_LOGO_2024 = 3  # 2024 new logos that become strategic in 2025
STRATEGIC_OVERSEAS = 3  # of the 13 other 2025 strategic accounts
NEW_LOGOS = {2024: 55, 2025: 60, 2026: 55}  # per year, from the year after on: 2026's
PROSPECTS = 300
OVERSEAS_ACCOUNT_SHARE = 0.26
PARTNER_SERVED_SHARE = 0.36  # of regular and strategic accounts

EXPANSIONS = {  # expected expansion contracts per account and year
    "top": {2024: 3, 2025: 4, 2026: 4},
    "strategic24": {2024: 2, 2025: 3, 2026: 2},
    "strategic25": {2024: 1, 2025: 3, 2026: 2},
    "regular": 1.2,
    "logo": 0.8,
}
RECURRING_SHARE = {"new": 0.85, "expansion": 0.70}
TERM_MONTHS = ((12, 0.80), (24, 0.12), (36, 0.08))
# From 2025 on sales signs more multi-year subscriptions (the top customer aside), so less of the
# book comes due a year later: the renewal base of 2026 seen at the end of 2025 is about 85M
# ("0.85亿基础订单"; book._steer_renewal_base makes it exact).
TERM_MONTHS_FROM = {2025: ((12, 0.60), (24, 0.23), (36, 0.17))}


RENEWAL_BASE_VIEW = "2025-12-31"  # the renewal base of the next year, seen on this day ...
RENEWAL_BASE_NEXT_YEAR = 85_000_000.0  # ... is this (per scale unit): the review's "0.85亿基础订单"


def term_months(year: int) -> tuple[tuple[int, float], ...]:
    """The term mix (months, share) of recurring contracts signed in a year."""
    since = [y for y in TERM_MONTHS_FROM if y <= year]
    return TERM_MONTHS_FROM[max(since)] if since else TERM_MONTHS


# The 2026 price rise on EU and NA renewals ("欧美续约提价15%"): a renewal signed from 2026 on of a
# contract signed before is priced at the expiring recurring amount x (1 + a rise drawn from the
# region's range); other contracts of the same window, kind, region group and channel give way, so
# every steered total stays put.
PRICE_RISE_FROM = 2026
PRICE_RISE = {"EU": (0.14, 0.21), "NA": (0.10, 0.17)}
LATE_RENEWAL_SHARE = 0.15  # of contracts not renewed in time: renewed after the grace period

LOST_PER_WON = 1.9
FUTURE_WON = 70  # open deals at as-of that would close within ~4 months
PAYMENT_LAG_DAYS = (10, 60)
REFUND_SHARE = 0.35  # the partial refund: this share of one payment is paid back
SNAPSHOT_GAPS = (date(2024, 10, 7), date(2025, 2, 3))  # holiday weeks with no pipeline export
MONTH_WEIGHTS = (0.6, 0.55, 0.95, 0.8, 0.85, 1.0, 0.8, 0.8, 1.05, 0.95, 1.15, 1.5)

# ---- the roster: reps (HR) and partners (channel); the same at every scale ------------------------
# (code, team, hire_date, leave_date, role_tags, region). Built so that 2025 has 254 direct
# month-end heads (average 21.17: 99M / 21.17 = 4.68M), 28 heads at year end, 3 leavers
# (attrition 3 / 29.9 = 0.100, whole people) and two leavers in November (monthly attrition 0.071).
REPS: tuple[tuple[str, str, str, str | None, str, str], ...] = (
    ("d01", "direct", "2016-03-01", None, "big_deal_lead", "CN"),
    ("d02", "direct", "2017-05-15", None, "big_deal_lead", "CN"),
    ("d03", "direct", "2017-09-04", None, "", "CN"),
    ("d04", "direct", "2018-02-26", None, "big_deal_lead", "CN"),
    ("d05", "direct", "2018-06-11", "2025-11-14", "big_deal_lead", "CN"),
    ("d06", "direct", "2018-11-05", None, "", "CN"),
    ("d07", "direct", "2019-03-18", "2026-06-05", "", "CN"),
    ("d08", "direct", "2019-07-01", None, "big_deal_lead", "CN"),
    ("d09", "direct", "2019-10-14", None, "", "CN"),
    ("d10", "direct", "2020-04-07", None, "", "CN"),
    ("d11", "direct", "2020-08-17", "2025-11-20", "", "CN"),
    ("d12", "direct", "2020-12-01", None, "big_deal_lead", "CN"),
    ("d13", "direct", "2021-03-22", None, "", "CN"),
    ("d14", "direct", "2021-06-28", None, "", "CN"),
    ("d15", "direct", "2021-10-11", "2026-06-19", "", "CN"),
    ("d16", "direct", "2022-02-14", None, "big_deal_lead", "CN"),
    ("d17", "direct", "2022-05-09", None, "", "CN"),
    ("d18", "direct", "2022-09-13", None, "", "CN"),
    ("d19", "direct", "2023-03-06", None, "", "CN"),
    ("d20", "direct", "2024-03-11", None, "", "CN"),
    ("d21", "direct", "2024-09-02", None, "", "CN"),
    ("d22", "direct", "2019-01-07", "2024-06-28", "", "CN"),
    ("d23", "direct", "2025-07-07", None, "", "CN"),
    ("d24", "direct", "2026-03-02", None, "", "CN"),
    ("d25", "direct", "2026-07-13", None, "big_deal_lead", "CN"),
    ("d26", "direct", "2026-09-01", None, "", "CN"),
    ("c01", "channel", "2018-04-16", None, "", "CN"),
    ("c02", "channel", "2021-05-10", None, "", "CN"),
    ("o01", "overseas", "2019-05-20", None, "overseas_consultant", "SEA"),
    ("o02", "overseas", "2020-09-28", None, "overseas_consultant", "EU"),
    ("o03", "overseas", "2022-07-18", None, "", "MEA"),
    ("o04", "overseas", "2021-01-11", "2025-10-10", "overseas_consultant", "NA"),
    ("o05", "overseas", "2026-04-01", None, "overseas_consultant", "APAC"),
    ("p01", "presales", "2019-08-05", None, "overseas_consultant", "CN"),
    ("p02", "presales", "2023-06-19", None, "", "CN"),
    ("m01", "management", "2015-09-01", None, "big_deal_lead", "CN"),
)
# Annual reviews cover everyone employed at year end except management; half-year reviews the same
# at mid-year. Share of A/A+ grades per review period (rounded to whole people).
REVIEW_HIGH_SHARE = {"2024": 0.41, "2025-H1": 0.45, "2025": 0.52, "2026-H1": 0.56}
REVIEW_PUBLISHED = {
    "2024": "2025-01-20",
    "2025-H1": "2025-07-15",
    "2025": "2026-01-20",
    "2026-H1": "2026-07-15",
}

# Quotas (sales ops): 2025 as one yearly row per field rep summing to the year's 120M target, 2026
# as quarterly rows following the manager's back-loaded plan (docs/metrics.md section 4). A rep hired
# during the year gets QUOTA_RAMP of an average quota from the next quarter on.
@dataclass(frozen=True)
class QuotaPlan:
    issued: str  # the day sales ops sends the year's quota file
    total: float  # sum of the field reps' quotas, per scale unit
    quarters: tuple[float, float, float, float] | None  # the plan's quarters (its shape), or yearly rows


QUOTA_PLANS = {
    2025: QuotaPlan("2025-01-10", 120_000_000.0, None),
    2026: QuotaPlan("2026-01-08", 180_000_000.0, (38_000_000.0, 42_000_000.0, 45_000_000.0, 55_000_000.0)),
}
QUOTA_RAMP = 0.5
QUOTA_BOOK_WEIGHT = 0.8  # of a rep's share: the book the rep carries (the rest is an equal split)
QUOTA_BOOK_ERROR = 0.3  # sigma of the lognormal error on that book
QUOTA_ROUNDING = 10_000.0

# The 2026 push for two customer visits a day: check-ins per field rep and working day, rising from
# the first to the second figure over the year (on top of the visits logged with deals and accounts).
VISIT_PUSH_START = "2026-01-01"
VISIT_RATE = (1.4, 2.4)

# Presales (team presales) logs demos, meetings and calls on customers already in touch: this many a
# working day per presales rep, this share of them in consumer electronics ("40%售前资源押在消费电子").
PRESALES_RATE = 1.2
PRESALES_FOCUS = ("consumer_electronics", 0.40)

# Partners: 34 active all of 2025, two onboarded and one terminated during it -> 426 month-end
# heads, average 35.5 (38M / 35.5 = 1.07M). Certified share and health miss the 2026 plan partly.
PARTNERS_FULL_2025 = 34
PARTNER_EVENTS: tuple[tuple[str, str | None], ...] = (  # (onboarded, terminated) besides those 34
    ("2025-04-20", None),
    ("2025-06-10", None),
    ("2022-03-14", "2025-03-05"),
    ("2021-06-01", "2024-06-30"),
    ("2022-01-17", "2024-10-15"),
    ("2026-02-15", None),
    ("2026-08-03", None),
)
PARTNER_TERMINATED_2026 = "2026-05-20"  # one of the 34 leaves in 2026
PARTNER_TIERS = (("gold", 8), ("silver", 14))  # the rest are registered
PARTNER_UNCERTIFIED = 3  # active partners without certification at as-of
PARTNER_HEALTH_MEAN = 82.0
# The channel exports its partner list at every quarter end (and at as-of): health scores rise
# towards today's by this many points a year (the 2025 quarters scored lower than today), and this
# many of today's gold partners were silver until the export after this day.
PARTNER_HEALTH_TREND = 2.5
PARTNER_PROMOTED = (2, "2025-10-01")

# FX: monthly rate_to_cny (start, drift per month, monthly volatility)
FX = {"USD": (7.10, 0.004, 0.006), "EUR": (7.75, 0.006, 0.009), "SGD": (5.28, 0.003, 0.006)}
REGION_CURRENCY = {"SEA": "SGD", "EU": "EUR", "NA": "USD", "MEA": "USD", "LATAM": "USD", "APAC": "USD"}
FOREIGN_BILLING_SHARE = 0.8  # overseas accounts billed in their currency (the rest in CNY)
