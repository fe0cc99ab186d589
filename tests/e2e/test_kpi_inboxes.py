"""The KPI models on inboxes that lack sources: an empty inbox, and a real CRM-only export
(Maven Analytics' CRM data set through the shipped maven_crm profile). The dbt build stays green,
contract-based KPIs are absent and the CRM KPIs are there, with values computed here from the
export itself."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import statistics
from pathlib import Path

import duckdb
import pytest

from bdw.cli import main

from conftest import TEST_DATA, write_csv

MAVEN = TEST_DATA / "maven_crm"
MARTS = {"kpi_values", "kpi_scorecard", "early_warnings", "dim_kpis", "dim_periods", "dim_accounts", "dim_partners",
         "dim_reps", "fct_contracts", "fct_contract_lines", "fct_payments", "fct_costs", "fct_opportunities",
         "fct_renewals", "fct_account_years", "kpi_attainment", "rep_scorecard", "crm_record_completeness",
         "pipeline_movements", "forecast_commit_deals"}
CRM_KPIS = {"win_rate", "avg_won_deal_size", "win_cycle_days", "crm_completeness", "pipeline_created_amount"}


def q(wh: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def usd_rate(month: str) -> float:
    """A different USD rate every month (2016-10 -> 6.60, 2016-11 -> 6.61, ...)."""
    y, m = map(int, month.split("-"))
    return round(6.6 + 0.01 * ((y - 2016) * 12 + m - 10), 2)


def months(first: str, last: str) -> list[str]:
    out, (y, m) = [], map(int, first.split("-"))
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@pytest.fixture(scope="module")
def empty_wh(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kpi_empty")
    (root / "inbox").mkdir()
    # --workdir: an earlier run in this process leaves BDW_WORKDIR set, which would be reused
    assert main(["run", "--inbox", str(root / "inbox"), "--warehouse", str(root / "wh.duckdb"),
                 "--as-of", "2026-05-10", "--workdir", str(root / "work")]) == 0
    return root / "wh.duckdb"


@pytest.fixture(scope="module")
def maven_wh(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kpi_maven")
    inbox = root / "inbox"
    for source, file in (("accounts", "accounts.csv"), ("opportunities", "sales_pipeline.csv")):
        (inbox / source).mkdir(parents=True)
        shutil.copy(MAVEN / file, inbox / source / f"2017-12-31_{file}")
        (inbox / source / "_profile.yml").write_text("profile: maven_crm\n")
    write_csv(inbox / "fx_rates/2017-12-31_fx_rates.csv", ["month", "currency", "rate_to_cny"],
              [[m, "USD", usd_rate(m)] for m in months("2016-10", "2017-12")])
    assert main(["run", "--inbox", str(inbox), "--warehouse", str(root / "wh.duckdb"),
                 "--workdir", str(root / "work")]) == 0
    return root / "wh.duckdb"


def test_empty_inbox_builds_every_mart_with_no_kpi_values(empty_wh):
    tables = {t for (t,) in q(empty_wh, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'")}
    assert tables >= MARTS
    assert q(empty_wh, "SELECT count(*) FROM marts.kpi_values") == [(0,)]
    assert q(empty_wh, "SELECT count(*) FROM marts.early_warnings") == [(0,)]
    # the calendar still runs from 2024 to the year after --as-of (renewal_base is known in advance)
    assert q(empty_wh, "SELECT min(period), max(period), count(*) FROM marts.dim_periods WHERE period_type = 'year'"
             ) == [("2024", "2027", 4)]
    assert q(empty_wh, "SELECT count(*) FROM marts.pipeline_movements") == [(0,)]
    assert q(empty_wh, "SELECT is_complete, has_begun FROM marts.dim_periods WHERE period = '2026-05'"
             ) == [(False, True)]


@pytest.fixture(scope="module")
def maven_deals() -> list[dict[str, str]]:
    with (MAVEN / "sales_pipeline.csv").open(encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["engage_date"]]  # prospecting deals are rejected


def test_crm_only_export_has_crm_kpis_and_no_contract_kpis(maven_wh):
    kpis = {k for (k,) in q(maven_wh, "SELECT DISTINCT kpi_id FROM marts.kpi_values")}
    assert kpis == CRM_KPIS
    assert q(maven_wh, "SELECT min(period), max(period) FROM marts.dim_periods WHERE period_type = 'year'"
             ) == [("2016", "2018")]
    assert q(maven_wh, "SELECT count(*) FROM marts.fct_contracts") == [(0,)]


def in_period(day: str, period: str) -> bool:
    if "-Q" in period:
        year, quarter = period.split("-Q")
        return day[:4] == year and (int(day[5:7]) - 1) // 3 + 1 == int(quarter)
    return day.startswith(period)


def test_crm_only_win_rate_deal_size_and_cycle_match_the_export(maven_wh, maven_deals):
    def closed_in(period: str) -> list[dict[str, str]]:
        return [r for r in maven_deals if r["deal_stage"] in ("Won", "Lost") and in_period(r["close_date"], period)]

    got = {(p, s): v for p, s, v in q(maven_wh, "SELECT period, segment, value FROM marts.kpi_values "
                                                "WHERE kpi_id = 'win_rate'")}
    for period in ("2017", "2017-Q2", "2017-06"):
        deals = closed_in(period)
        assert got[(period, "all")] == pytest.approx(sum(r["deal_stage"] == "Won" for r in deals) / len(deals))
    agent = "Darcel Schlecht"
    deals = [r for r in closed_in("2017") if r["sales_agent"] == agent]
    assert got[("2017", f"owner={agent}")] == pytest.approx(sum(r["deal_stage"] == "Won" for r in deals) / len(deals))

    won = [r for r in closed_in("2017") if r["deal_stage"] == "Won"]
    size = q(maven_wh, "SELECT value FROM marts.kpi_values WHERE kpi_id = 'avg_won_deal_size' "
                       "AND period = '2017' AND segment = 'all'")[0][0]
    # USD at the rate of the month of close_date (each month its own rate), rounded to cents per deal
    expected = statistics.mean(round(float(r["close_value"]) * usd_rate(r["close_date"][:7]), 2) for r in won)
    assert size == pytest.approx(expected, rel=1e-7)
    cycle = q(maven_wh, "SELECT value FROM marts.kpi_values WHERE kpi_id = 'win_cycle_days' "
                        "AND period = '2017' AND segment = 'all'")[0][0]
    # no first_touch_at, no activities: first touch is the opportunity's created_at (engage_date)
    days = [(dt.date.fromisoformat(r["close_date"]) - dt.date.fromisoformat(r["engage_date"])).days for r in won]
    assert cycle == pytest.approx(statistics.mean(days))


def test_crm_only_completeness(maven_wh):
    # accounts: of the six key fields only industry (sector) is in the export -> 1/6
    assert q(maven_wh, "SELECT value FROM marts.kpi_values WHERE kpi_id = 'crm_completeness' "
                       "AND period = '2016' AND segment = 'table=accounts'") == [(pytest.approx(1 / 6),)]
    fields = {s for (s,) in q(maven_wh, "SELECT subject FROM marts.early_warnings WHERE kind = 'data'")}
    assert "accounts.decision_maker" in fields and "accounts.industry" not in fields
