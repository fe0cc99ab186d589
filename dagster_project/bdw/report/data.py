"""What the report page shows, read from the published warehouse in one short read-only session.

A table the warehouse lacks (an inbox without finance exports has no margins, a run without checks
has no ``dq.validation_results``) leaves its part of the page empty rather than failing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from bdw.quality.freshness import SourceFreshness, read_freshness

# the trend charts: KPI, the segments drawn (the first is the main line), Chinese and English titles
TREND_KPIS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("signed_revenue", ("all",)),
    ("gross_margin", ("all",)),
    ("renewable_share", ("all",)),
    ("overseas_gross_margin", ("all",)),
    ("channel_productivity", ("all",)),
    ("renewal_rate", ("all", "strategic=true")),
    ("sales_cycle_days", ("all",)),
    ("forecast_accuracy", ("all",)),
    ("crm_completeness", ("all",)),
)
TREND_PERIOD_TYPE = "quarter"
# the year's cumulative chart: this KPI's months against its plan (docs/metrics.md section 6)
PLAN_KPI = "signed_revenue"


@dataclass
class ReportData:
    warehouse: Path
    as_of: dt.date
    built_at: dt.datetime
    kpis: pd.DataFrame  # marts.dim_kpis: kpi_id, sort_order, family, unit, label_zh, label_en, prorate_in_progress
    scorecard: pd.DataFrame  # marts.kpi_scorecard (segment all)
    targets: pd.DataFrame  # marts.kpi_attainment rows of the as-of year (plan to date and status), every segment,
    # with how a KPI measured by hand was measured (marts.kpi_scorecard: is_measured_by_hand, measured_at, source_note)
    trends: pd.DataFrame  # marts.kpi_values rows of TREND_KPIS (quarters and years)
    warnings: pd.DataFrame  # marts.early_warnings
    checks: pd.DataFrame  # dq.validation_results of the latest validation run
    files: pd.DataFrame  # raw._load_manifest
    reference_issues: pd.DataFrame  # dq.reference_issues counted by rule
    plan_months: pd.DataFrame = field(default_factory=pd.DataFrame)  # PLAN_KPI by month of the as-of year
    plan_targets: pd.DataFrame = field(default_factory=pd.DataFrame)  # its year and quarter targets (segment all)
    team: pd.DataFrame = field(default_factory=pd.DataFrame)  # marts.rep_scorecard of the as-of year, reps with a quota
    pipeline: pd.DataFrame = field(default_factory=pd.DataFrame)  # marts.pipeline_movements of the as-of quarter
    # the as-of quarter's forecast call: its signed_revenue (won) and pipeline_open_amount by forecast
    # category (marts.kpi_values)
    forecast_call: pd.DataFrame = field(default_factory=pd.DataFrame)
    quarter_plan: pd.DataFrame = field(default_factory=pd.DataFrame)  # that quarter's target and plan to date
    renewal_base: pd.DataFrame = field(default_factory=pd.DataFrame)  # renewal_base(_open) of the next four quarters
    missing: list[str] = field(default_factory=list)  # tables the warehouse does not have
    freshness: list[SourceFreshness] | None = None  # dq.source_freshness (None: not in the warehouse)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() "
                       "UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE NOT internal")
    return {r[0] for r in rows.fetchall()}


# how a KPI measured by hand was measured, as marts.kpi_scorecard holds it (NULL from a warehouse built before it did)
BY_HAND = ("is_measured_by_hand", "measured_at", "source_note")


def _by_hand_columns(con: duckdb.DuckDBPyConnection, alias: str) -> str:
    have = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                                      "AND table_name = 'kpi_scorecard'").fetchall()}
    return ", ".join(f"{alias}.{c}" if c in have else f"NULL AS {c}" for c in BY_HAND)


def read_report_data(warehouse: Path, as_of: dt.date | None = None) -> ReportData:
    """Everything the page needs; the connection is closed before returning."""
    built_at = dt.datetime.fromtimestamp(warehouse.stat().st_mtime)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        present = _tables(con)
        missing: list[str] = []

        def frame(table: str, sql: str, params: list | None = None) -> pd.DataFrame:
            if table not in present:
                missing.append(table)
                return pd.DataFrame()
            return con.execute(sql, params or []).df()

        if as_of is None:
            as_of = _as_of(con, present) or built_at.date()
        year = str(as_of.year)
        kpis = frame("marts.dim_kpis", "SELECT kpi_id, sort_order, family, unit, label_zh, label_en, "
                     "prorate_in_progress FROM marts.dim_kpis ORDER BY sort_order")
        scorecard = frame("marts.kpi_scorecard", "SELECT * FROM marts.kpi_scorecard WHERE segment = 'all' "
                          "ORDER BY sort_order, period_type DESC, period")
        by_hand = _by_hand_columns(con, "s") if "marts.kpi_scorecard" in present else ", ".join(
            f"NULL AS {c}" for c in BY_HAND)
        scorecard_join = ("LEFT JOIN marts.kpi_scorecard AS s USING (kpi_id, period_type, period, segment)"
                          if "marts.kpi_scorecard" in present else "")
        targets = frame("marts.kpi_attainment", f"""
            SELECT a.*, p.period_year, {by_hand} FROM marts.kpi_attainment AS a
            JOIN marts.dim_periods AS p USING (period_type, period)
            {scorecard_join}
            WHERE p.period_year = ?
            ORDER BY a.kpi_id, a.segment <> 'all', a.segment, a.period_type DESC, a.period""", [int(year)]) \
            if "marts.dim_periods" in present else pd.DataFrame()
        plan_months = frame("marts.kpi_values", """
            SELECT kv.period, p.period_end, kv.value FROM marts.kpi_values AS kv
            JOIN marts.dim_periods AS p USING (period_type, period)
            WHERE kv.kpi_id = ? AND kv.segment = 'all' AND kv.period_type = 'month' AND p.period_year = ?
            ORDER BY kv.period""", [PLAN_KPI, int(year)]) if "marts.dim_periods" in present else pd.DataFrame()
        plan_targets = frame("seeds.kpi_targets", """
            SELECT period_type, period, target FROM seeds.kpi_targets
            WHERE kpi_id = ? AND segment = 'all' AND left(period, 4) = ? AND period_type IN ('year', 'quarter')
            ORDER BY period_type DESC, period""", [PLAN_KPI, year])
        team = frame("marts.rep_scorecard", """
            SELECT * FROM marts.rep_scorecard WHERE period_type = 'year' AND period = ? AND quota_cny IS NOT NULL
            ORDER BY attainment DESC NULLS LAST, rep_id""", [year])
        quarter = quarter_of(as_of)
        pipeline = frame("marts.pipeline_movements", "SELECT * FROM marts.pipeline_movements WHERE quarter = ? "
                         "ORDER BY step", [quarter])
        forecast_call = frame("marts.kpi_values", """
            SELECT kpi_id, segment, value FROM marts.kpi_values
            WHERE period_type = 'quarter' AND period = ?
              AND ((kpi_id = 'signed_revenue' AND segment = 'all')
                   OR (kpi_id = 'pipeline_open_amount' AND segment LIKE 'forecast_category=%'))""", [quarter])
        quarter_plan = frame("seeds.kpi_targets", """
            SELECT t.target, a.plan_to_date FROM seeds.kpi_targets AS t
            LEFT JOIN marts.kpi_attainment AS a USING (kpi_id, period_type, period, segment)
            WHERE t.kpi_id = 'signed_revenue' AND t.segment = 'all' AND t.period_type = 'quarter'
              AND t.period = ?""", [quarter]) if "marts.kpi_attainment" in present else pd.DataFrame()
        renewal_base = frame("marts.kpi_values", """
            SELECT kpi_id, period, value FROM marts.kpi_values
            WHERE kpi_id IN ('renewal_base', 'renewal_base_open') AND segment = 'all' AND period_type = 'quarter'
              AND list_contains(?, period)
            ORDER BY period, kpi_id""", [next_quarters(as_of)])
        trend_keys = [(k, s) for k, segments in TREND_KPIS for s in segments]
        trends = frame("marts.kpi_values", """
            SELECT kv.* FROM marts.kpi_values AS kv
            WHERE kv.period_type IN (?, 'year') AND (kv.kpi_id, kv.segment) IN (SELECT unnest(?), unnest(?))
            ORDER BY kv.kpi_id, kv.segment, kv.period_type, kv.period""",
                       [TREND_PERIOD_TYPE, [k for k, _ in trend_keys], [s for _, s in trend_keys]])
        warnings = frame("marts.early_warnings", """
            SELECT * FROM marts.early_warnings
            ORDER BY list_position(['red', 'orange', 'yellow', 'blue', 'purple', 'grey'], colour), warning_id""")
        checks = frame("dq.validation_results", """
            SELECT * FROM dq.validation_results
            WHERE run_id = (SELECT arg_max(run_id, validated_at) FROM dq.validation_results)
            ORDER BY success, severity, suite, asset, check_name""")
        files = frame("raw._load_manifest", "SELECT source, file, status, rows_read, rows_loaded, rows_rejected, "
                      "message, loaded_at FROM raw._load_manifest ORDER BY source, file")
        reference_issues = frame("dq.reference_issues", "SELECT rule, count(*) AS n FROM dq.reference_issues "
                                 "GROUP BY rule ORDER BY rule")
        freshness = read_freshness(con)
        if freshness is None:
            missing.append("dq.source_freshness")
    finally:
        con.close()
    return ReportData(warehouse, as_of, built_at, kpis, scorecard, targets, trends, warnings, checks, files,
                      reference_issues, plan_months, plan_targets, team, pipeline, forecast_call, quarter_plan,
                      renewal_base, sorted(set(missing)), freshness=freshness)


def quarter_of(day: dt.date) -> str:
    """The quarter a day falls in, as marts.kpi_values writes it: ``2026-Q4``."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def next_quarters(day: dt.date, count: int = 4) -> list[str]:
    """The ``count`` quarters after the one ``day`` falls in (renewal_base is known that far ahead)."""
    index = day.year * 4 + (day.month - 1) // 3
    return [f"{(index + k) // 4}-Q{(index + k) % 4 + 1}" for k in range(1, count + 1)]


def _as_of(con: duckdb.DuckDBPyConnection, present: set[str]) -> dt.date | None:
    """The run's --as-of date, as the models used it."""
    if "marts.dim_periods" in present:
        row = con.execute("SELECT max(as_of_date) FROM marts.dim_periods").fetchone()
        if row and row[0]:
            return row[0]
    if "dq.validation_results" in present:
        row = con.execute("SELECT arg_max(as_of, validated_at) FROM dq.validation_results").fetchone()
        if row and row[0]:
            return row[0]
    return None
