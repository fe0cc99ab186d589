"""The inbox contract (docs/contract.md section 1) as data.

Everything that checks, types or documents an input column reads it from here: the ingestion
validator, the raw table layout, the sample generator's headers and the tests. dbt's declaration of
the raw layer (dbt/models/staging/_sources.yml) repeats the columns with their descriptions;
tests/unit/test_contract_sources.py fails, naming source and column, when the two part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["str", "date", "money", "bool", "int", "enum", "decimal", "month", "score"]
Policy = Literal["file", "row"]

REGIONS = ("CN", "SEA", "EU", "NA", "MEA", "LATAM", "APAC")
INDUSTRIES = (
    "consumer_electronics", "healthcare", "energy", "retail", "manufacturing", "finance",
    "education", "public_sector", "other",
)
STAGES = (
    "prospecting", "qualification", "solution", "proposal", "negotiation", "closed_won", "closed_lost",
)
FORECAST_CATEGORIES = ("commit", "best_case", "pipeline", "omitted")
CHANNELS = ("direct", "partner")
PRODUCT_FAMILIES = ("saas", "license", "service", "hardware", "support")
CONTRACT_TYPES = ("new", "renewal", "expansion")
CONTRACT_STATUSES = ("active", "cancelled")
ACTIVITY_TYPES = ("visit", "call", "email", "meeting", "demo", "event")
COST_TYPES = (
    "delivery_labor", "cloud_hosting", "third_party", "outsourcing", "travel", "logistics",
    "implementation_addon", "other",
)
PARTNER_TIERS = ("gold", "silver", "registered")
TEAMS = ("direct", "channel", "overseas", "presales", "management")
GRADES = ("A+", "A", "B+", "B", "C")


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "str"
    required: bool = False
    key: bool = False
    crm_key: bool = False  # a "c" column: counted for CRM completeness
    enum: tuple[str, ...] = ()
    personal: bool = False
    pattern: str | None = None  # regular expression a str value must match (after trimming)
    pattern_help: str | None = None  # the pattern in words, for the report
    positive: bool = False  # a number that must be greater than 0 (an fx rate, a quota)
    default: str | None = None  # the value of a blank cell, or of a column the file lacks (segment: all)
    manual_kpi: bool = False  # a kpi_id that must name a KPI measured by hand (family manual in the seed)

    @property
    def sql_type(self) -> str:
        return {
            "str": "VARCHAR", "enum": "VARCHAR", "month": "VARCHAR", "date": "DATE",
            "money": "DECIMAL(18,2)", "decimal": "DOUBLE", "bool": "BOOLEAN", "int": "INTEGER",
            "score": "DOUBLE",
        }[self.type]


@dataclass(frozen=True)
class RequiredWhen:
    """`column` must be filled when `when_column` holds one of `when_values`."""

    column: str
    when_column: str
    when_values: tuple[str, ...]
    reference: bool = False  # a reference problem: reported and flagged, the row still loads


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[Column, ...]
    policy: Policy
    system: str  # the system that exports it, for the staging models' names: crm, finance, hr, manual
    required_when: tuple[RequiredWhen, ...] = ()
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.key)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name}")

    @property
    def mandatory_headers(self) -> tuple[str, ...]:
        """Columns a file must have (a missing one quarantines the file); a column with a default
        may be left out."""
        return tuple(c.name for c in self.columns if (c.required or c.key) and c.default is None)


def _c(name: str, type: ColumnType = "str", **kw) -> Column:  # noqa: A002 - mirrors the contract
    return Column(name, type, **kw)


_DELETED = _c("is_deleted", "bool")
_PERIOD_MONTH_OR_QUARTER = r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$"
_PERIOD_YEAR_QUARTER_OR_MONTH = r"^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]))?$"

_SOURCES: tuple[Source, ...] = (
    Source("accounts", (
        _c("account_id", key=True),
        _c("account_name", required=True),
        _c("region", "enum", required=True, enum=REGIONS),
        _c("country", pattern=r"^[A-Za-z]{2}$", pattern_help="a two-letter ISO 3166 country code"),
        _c("industry", "enum", crm_key=True, enum=INDUSTRIES),
        _c("owner_id", crm_key=True),
        _c("created_at", "date", required=True),
        _c("pain_points", crm_key=True),
        _c("procurement_cycle", crm_key=True),
        _c("main_competitor", crm_key=True),
        _c("decision_maker", crm_key=True, personal=True),
        _c("contact_email", personal=True),
        _c("contact_phone", personal=True),
    ), "row", "crm", description="CRM customers"),
    Source("opportunities", (
        _c("opportunity_id", key=True),
        _c("account_id", crm_key=True),
        _c("owner_id", required=True),
        _c("opportunity_name"),
        _c("created_at", "date", required=True),
        _c("first_touch_at", "date"),
        _c("stage", "enum", required=True, enum=STAGES),
        _c("amount", "money", crm_key=True),
        _c("currency", required=True, pattern=r"^[A-Za-z]{3}$", pattern_help="a three-letter ISO 4217 code"),
        _c("expected_close_date", "date", crm_key=True),
        _c("closed_at", "date"),
        _c("forecast_category", "enum", crm_key=True, enum=FORECAST_CATEGORIES),
        _c("channel", "enum", required=True, enum=CHANNELS),
        _c("partner_id"),
        _c("product_family", "enum", enum=PRODUCT_FAMILIES),
        _c("pain_points", crm_key=True),
        _c("main_competitor", crm_key=True),
        _c("next_step", crm_key=True),
        _c("budget_confirmed", "bool", crm_key=True),
        _c("lost_reason"),
    ), "row", "crm", required_when=(
        RequiredWhen("closed_at", "stage", ("closed_won", "closed_lost")),
        RequiredWhen("partner_id", "channel", ("partner",), reference=True),
    ), description="CRM opportunities (deals)"),
    Source("activities", (
        _c("activity_id", key=True),
        _c("account_id", required=True),
        _c("opportunity_id"),
        _c("owner_id", required=True),
        _c("activity_date", "date", required=True),
        _c("activity_type", "enum", enum=ACTIVITY_TYPES),
    ), "row", "crm", description="CRM touches: visits, calls, emails, meetings, demos, events"),
    Source("opportunity_snapshots", (
        _c("snapshot_date", "date", key=True),
        _c("opportunity_id", key=True),
        _c("stage", "enum", required=True, enum=STAGES),
        _c("amount", "money"),
        _c("currency", pattern=r"^[A-Za-z]{3}$", pattern_help="a three-letter ISO 4217 code"),
        _c("expected_close_date", "date"),
        _c("forecast_category", "enum", enum=FORECAST_CATEGORIES),
    ), "row", "crm", description="weekly pipeline export"),
    Source("forecasts", (
        _c("submitted_at", "date", key=True),
        _c("period", key=True, pattern=_PERIOD_MONTH_OR_QUARTER,
           pattern_help="a month like 2026-07 or a quarter like 2026-Q3"),
        _c("scope", key=True),
        _c("forecast_amount_cny", "money", required=True),
    ), "row", "crm", description="rolling revenue forecast"),
    Source("contracts", (
        _c("contract_id", key=True),
        _c("account_id", required=True),
        _c("opportunity_id"),
        _c("owner_id", required=True),
        _c("signed_date", "date", required=True),
        _c("start_date", "date"),
        _c("end_date", "date"),
        _c("currency", required=True, pattern=r"^[A-Za-z]{3}$", pattern_help="a three-letter ISO 4217 code"),
        _c("contract_type", "enum", required=True, enum=CONTRACT_TYPES),
        _c("renews_contract_id"),
        _c("channel", "enum", required=True, enum=CHANNELS),
        _c("partner_id"),
        _c("status", "enum", required=True, enum=CONTRACT_STATUSES),
    ), "file", "finance", required_when=(
        RequiredWhen("renews_contract_id", "contract_type", ("renewal",)),
        RequiredWhen("partner_id", "channel", ("partner",), reference=True),
    ), description="contract system (contract_id is the CRM contract number)"),
    Source("contract_lines", (
        _c("contract_id", key=True),
        _c("line_no", "int", key=True),
        _c("product_family", "enum", required=True, enum=PRODUCT_FAMILIES),
        _c("amount", "money", required=True),
        _c("is_recurring", "bool"),
    ), "file", "finance", description="contract lines, amounts in the contract's currency"),
    Source("payments", (
        _c("payment_id", key=True),
        _c("contract_id", required=True),
        _c("received_date", "date", required=True),
        _c("amount", "money", required=True),
        _c("currency", required=True, pattern=r"^[A-Za-z]{3}$", pattern_help="a three-letter ISO 4217 code"),
    ), "file", "finance", description="cash received (negative = refund)"),
    Source("costs", (
        _c("cost_id", key=True),
        _c("contract_id", required=True),
        _c("cost_date", "date", required=True),
        _c("cost_type", "enum", required=True, enum=COST_TYPES),
        _c("amount", "money", required=True),
        _c("currency", required=True, pattern=r"^[A-Za-z]{3}$", pattern_help="a three-letter ISO 4217 code"),
    ), "file", "finance", description="delivery cost booked to a contract"),
    Source("fx_rates", (
        _c("month", "month", key=True),
        _c("currency", key=True, pattern=r"^[A-Za-z]{3}$", pattern_help="a three-letter ISO 4217 code"),
        _c("rate_to_cny", "decimal", required=True, positive=True),
    ), "file", "finance", description="monthly rate: 1 unit of currency = rate_to_cny CNY"),
    Source("partners", (
        _c("partner_id", key=True),
        _c("partner_name", required=True),
        _c("region", required=True),
        _c("tier", "enum", enum=PARTNER_TIERS),
        _c("onboarded_date", "date", required=True),
        _c("terminated_date", "date"),
        _c("certified_date", "date"),
        _c("health_score", "score"),
        _c("credit_suspended", "bool"),
    ), "row", "crm", description="channel partners"),
    Source("reps", (
        _c("rep_id", key=True),
        _c("rep_name", required=True, personal=True),
        _c("team", "enum", required=True, enum=TEAMS),
        _c("region"),
        _c("hire_date", "date", required=True),
        _c("leave_date", "date"),
        _c("role_tags"),
    ), "row", "hr", description="team roster"),
    Source("rep_reviews", (
        _c("rep_id", key=True),
        _c("period", key=True, pattern=r"^\d{4}(-H[12])?$", pattern_help="a year like 2025 or a half like 2025-H2"),
        _c("grade", "enum", required=True, enum=GRADES),
    ), "row", "hr", description="performance reviews"),
    Source("customer_financials", (
        _c("account_id", key=True),
        _c("fiscal_quarter", key=True, pattern=r"^\d{4}-Q[1-4]$", pattern_help="a quarter like 2026-Q1"),
        _c("net_profit", "money", required=True),
        _c("currency", required=True, pattern=r"^[A-Za-z]{3}$", pattern_help="a three-letter ISO 4217 code"),
    ), "row", "crm", description="customers' published quarterly results (optional)"),
    Source("quotas", (
        _c("rep_id", key=True),
        _c("period", key=True, pattern=r"^\d{4}(-Q[1-4])?$", pattern_help="a year like 2026 or a quarter like 2026-Q1"),
        _c("quota_cny", "money", required=True, positive=True),
    ), "file", "hr", description="sales quotas per rep and year or quarter, from sales ops (optional)"),
    Source("manual_measurements", (
        _c("kpi_id", key=True, manual_kpi=True),
        _c("period", key=True, pattern=_PERIOD_YEAR_QUARTER_OR_MONTH,
           pattern_help="a year like 2026, a quarter like 2026-Q2 or a month like 2026-05"),
        _c("segment", key=True, default="all"),
        _c("value", "decimal", required=True),
        _c("measured_at", "date", required=True),
        _c("source_note"),
    ), "row", "manual",
        description="KPIs measured by hand, typed in by the manager's team (optional)"),
)


def _with_deleted(source: Source) -> Source:
    """Section 1: a row with is_deleted = true removes its key, in every source."""
    if "is_deleted" in source.column_names:
        return source
    return Source(source.name, (*source.columns, _DELETED), source.policy, source.system,
                  source.required_when, source.description)


SOURCES: dict[str, Source] = {s.name: _with_deleted(s) for s in _SOURCES}

# Sources booked to a contract: a quarantined file (or rejected row) of one of them holds back
# the contracts it names, and everything booked to them (docs/contract.md section 2).
HOLDS_BACK_CONTRACTS = ("contracts", "contract_lines", "payments", "costs")

TRUE_WORDS = ("true", "1", "yes", "y", "是")
FALSE_WORDS = ("false", "0", "no", "n", "否")
