"""The Great Expectations rules, once each, as data: the Dagster asset check it becomes, the
expectation that evaluates it, the check model it reads, and how its result reads (observed value
against the threshold). Nothing here imports Great Expectations, so Dagster can list the checks
cheaply.

GX owns the CRM completeness target and the finance validity rules that judge accepted data
(plausible dates and amounts, and rules across rows: a line for every contract, payments within
its value, a new contract's value above zero (a warning), an fx rate close to the previous
month's). Row rules of the input are ingestion's and structural rules (unique keys, rates above
zero) are dbt tests: docs/data_quality.md."""

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

# The dbt model (dbt/models/dq/checks) each table's rules read: the staging data with the derived
# columns the rules compare and a readable row_ref. The table name names the GX data asset and suite.
CHECKS_SCHEMA = "dq"
INPUT_MODELS = {
    "accounts": "check_crm_accounts",
    "opportunities": "check_crm_opportunities",
    "contracts": "check_contracts",
    "contract_lines": "check_contract_lines",
    "payments": "check_payments",
    "costs": "check_costs",
    "fx_rates": "check_fx_rates",
}


@dataclass(frozen=True)
class Rule:
    name: str  # the Dagster asset check's name (unique per asset)
    model: str  # the staging model whose rows the rule judges: Dagster asset ["staging", model]
    table: str  # the data Great Expectations validates: its check model is INPUT_MODELS[table]
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
    def input_path(self) -> list[str]:
        """The Dagster asset of the check model the rule reads (a dependency of its asset check)."""
        return [CHECKS_SCHEMA, INPUT_MODELS[self.table]]

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
        _date_rule(cfg, "contracts", contracts, "signed_date", "contract's"),
        _date_rule(cfg, "contracts", contracts, "start_date", "contract's"),
        _date_rule(cfg, "contracts", contracts, "end_date", "contract's"),
        Rule("end_date_after_start_date", contracts, "contracts", s, e, "a_greater_than_b",
             "A contract's end_date is after its start_date (where both are given).",
             columns=("end_date", "start_date")),
        # contract lines
        Rule("amount_not_zero", lines, "contract_lines", s, e, "not_zero", "No contract line has a zero amount.",
             column="amount"),
        Rule("every_contract_has_a_line", lines, "contracts", s, e, "at_least_one",
             "Every contract has at least one line in contract_lines.", column="line_count"),
        Rule("new_contract_value_positive", contracts, "contracts", s, "warn", "positive",
             "A new contract's value (the sum of its lines, in its currency) is above zero: lines of a new "
             "contract that add up to zero or less were probably entered with the wrong sign (a warning: the "
             "contract still publishes; a refund belongs in payments, as a negative payment).",
             column="new_contract_value"),
        # payments
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
        Rule("amount_not_zero", costs, "costs", s, e, "not_zero", "No cost has a zero amount.", column="amount"),
        _date_rule(cfg, "costs", costs, "cost_date", "cost's"),
        # fx rates
        Rule("rate_close_to_previous_month", fx, "fx_rates", s, e, "a_at_least_b",
             f"Every month's rate is within {fx_pct} of the previous month's rate of the same currency "
             f"(seed fx_rate_tolerances: `default`, or the currency's own row; a rate typed 100x too large "
             f"fails).",
             columns=("allowed_change", "abs_change"), measure="max_value", measure_column="abs_change",
             threshold=cfg.fx_max_change),
    ]


def all_rules(cfg: QualityConfig) -> list[Rule]:
    return [*completeness_rules(cfg), *validity_rules(cfg)]


def date_bounds(cfg: QualityConfig, rule: Rule, reference: dt.date) -> tuple[dt.date, dt.date]:
    return cfg.earliest_date, cfg.latest_date(rule.table, rule.column, reference)
