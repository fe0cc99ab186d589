"""Every data-quality rule once, as data: the Dagster asset check it becomes, the Great
Expectations expectation that evaluates it, and how its result reads (observed value against the
threshold). Nothing here imports Great Expectations, so Dagster can list the checks cheaply."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from bdw.quality.thresholds import QualityConfig

Severity = Literal["warn", "error"]
# how the observed value of a rule is measured and compared with its threshold
Measure = Literal["filled_share", "failing_rows", "max_value"]

COMPLETENESS_SUITE = "crm_completeness"
VALIDITY_SUITE = "finance_validity"


@dataclass(frozen=True)
class Rule:
    name: str  # the Dagster asset check's name (unique per asset)
    model: str  # the staging model validated: Dagster asset ["staging", model]
    table: str  # the snapshot (bdw.quality.snapshots) Great Expectations validates
    suite: str
    severity: Severity
    kind: str  # see bdw.quality.gx_runner.build_expectation
    description: str
    column: str | None = None
    columns: tuple[str, ...] = ()
    measure: Measure = "failing_rows"
    measure_column: str | None = None  # for max_value: the column whose largest value is observed
    threshold: float = 0.0  # filled_share: the minimum share; failing_rows: 0; max_value: the maximum

    @property
    def asset_path(self) -> list[str]:
        return ["staging", self.model]

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    @property
    def comparison(self) -> str:
        return {"filled_share": ">=", "failing_rows": "=", "max_value": "<="}[self.measure]


def completeness_rules(cfg: QualityConfig) -> list[Rule]:
    pct = f"{cfg.completeness_threshold:.0%}"
    return [
        Rule(
            name=f"completeness_{column}",
            model=f"stg_crm__{table}",
            table=table,
            suite=COMPLETENESS_SUITE,
            severity="warn",
            kind="not_null",
            column=column,
            measure="filled_share",
            threshold=cfg.completeness_threshold,
            description=f"CRM completeness: at least {pct} of the current {table} have the key field {column} "
            f"filled (blank and placeholder values count as empty). Target: seed kpi_thresholds "
            f"(alert_crm_completeness); a warning, it does not block publishing.",
        )
        for table, column in cfg.key_fields
    ]


def _date_rule(cfg: QualityConfig, table: str, model: str, column: str, what: str) -> Rule:
    days = cfg.max_days_after_reference[f"{table}.{column}"]
    return Rule(
        name=f"{column}_plausible", model=model, table=table, suite=VALIDITY_SUITE, severity="error",
        kind="date_range", column=column,
        description=f"Every {what} {column} lies between {cfg.earliest_date} and {days} days after the run's "
        f"reference date (the latest of --as-of and the newest export file, in the inbox or loaded).",
    )


def validity_rules(cfg: QualityConfig) -> list[Rule]:
    fx_pct = f"{cfg.fx_max_change:.0%}"
    tol_pct = f"{cfg.payment_tolerance:.0%}"
    contracts, lines, payments = "stg_finance__contracts", "stg_finance__contract_lines", "stg_finance__payments"
    costs, fx = "stg_finance__costs", "stg_finance__fx_rates"
    e: Severity = "error"
    s = VALIDITY_SUITE
    return [
        # contracts
        Rule("contract_id_unique", contracts, "contracts", s, e, "unique", "Every contract_id appears once.",
             column="contract_id"),
        _date_rule(cfg, "contracts", contracts, "signed_date", "contract's"),
        _date_rule(cfg, "contracts", contracts, "start_date", "contract's"),
        _date_rule(cfg, "contracts", contracts, "end_date", "contract's"),
        Rule("end_date_after_start_date", contracts, "contracts", s, e, "a_greater_than_b",
             "A contract's end_date is after its start_date (where both are given).",
             columns=("end_date", "start_date")),
        # contract lines
        Rule("line_key_unique", lines, "contract_lines", s, e, "compound_unique",
             "Every (contract_id, line_no) appears once.", columns=("contract_id", "line_no")),
        Rule("amount_not_zero", lines, "contract_lines", s, e, "not_zero", "No contract line has a zero amount.",
             column="amount"),
        Rule("every_contract_has_a_line", lines, "contracts", s, e, "at_least_one",
             "Every contract has at least one line in contract_lines.", column="line_count"),
        # payments
        Rule("payment_id_unique", payments, "payments", s, e, "unique", "Every payment_id appears once.",
             column="payment_id"),
        Rule("amount_not_zero", payments, "payments", s, e, "not_zero", "No payment has a zero amount.",
             column="amount"),
        _date_rule(cfg, "payments", payments, "received_date", "payment's"),
        Rule("payments_within_contract_value", payments, "contracts", s, e, "at_most",
             f"The payments of a contract (refunds netted, in the contract's currency) exceed its value "
             f"(the sum of its lines) by at most {tol_pct} (config quality.yml: "
             f"payment_over_contract_value_tolerance).",
             column="paid_share", measure="max_value", measure_column="paid_share",
             threshold=1 + cfg.payment_tolerance),
        # costs
        Rule("cost_id_unique", costs, "costs", s, e, "unique", "Every cost_id appears once.", column="cost_id"),
        Rule("amount_not_zero", costs, "costs", s, e, "not_zero", "No cost has a zero amount.", column="amount"),
        _date_rule(cfg, "costs", costs, "cost_date", "cost's"),
        # fx rates
        Rule("month_currency_unique", fx, "fx_rates", s, e, "compound_unique",
             "Every (month, currency) has one rate.", columns=("month", "currency")),
        Rule("rate_positive", fx, "fx_rates", s, e, "positive", "Every rate_to_cny is above zero.",
             column="rate_to_cny"),
        Rule("rate_close_to_previous_month", fx, "fx_rates", s, e, "a_at_least_b",
             f"Every month's rate is within {fx_pct} of the previous month's rate of the same currency "
             f"(config quality.yml: fx_max_monthly_change; a rate typed 100x too large fails).",
             columns=("allowed_change", "abs_change"), measure="max_value", measure_column="abs_change",
             threshold=cfg.fx_max_change),
    ]


def all_rules(cfg: QualityConfig) -> list[Rule]:
    return [*completeness_rules(cfg), *validity_rules(cfg)]


def date_bounds(cfg: QualityConfig, rule: Rule, reference: dt.date) -> tuple[dt.date, dt.date]:
    return cfg.earliest_date, cfg.latest_date(rule.table, rule.column, reference)
