"""Nodes measured by hand (docs/metrics.md, "Nodes measured by hand") through one real ``bdw run`` of a
tiny inbox as of 2027-01-10: 2026 is complete, so its targets (the seed's) are met, missed or, with
no value, missing data. The running year's statuses (on track, at risk, off track) are checked on the
sample company, as of 2026-11-26.

The inbox holds only the manager's team's files (every expected value is typed here):

  file                             rows
  2026-07-05_manual.csv            customer_satisfaction 2026-Q2 0.68 (a typo) and 2026 0.80 (H1 only);
                                   certified_scrum_masters 2026 2; budget_spent 2026-Q1 2,900,000;
                                   four bad rows: an unknown kpi_id, a computed KPI, 2026-13, "eighty"
  2026-10-20_manual.xlsx           the template (bdw template manual-measurements), filled in:
                                   customer_satisfaction 2026-Q2 0.86 (corrects the typo), certified_itil4 6
  2027-01-08_manual.csv            customer_satisfaction 2026 0.87 (corrects 0.80), budget_spent 2026
                                   13,600,000, delivery_cost_reduction 2026 0.30, plugin_gross_margin 2026
                                   0.62 measured on 2027-01-12 (after --as-of: not counted yet)

No value at all: partner_portal_registration, industry_consultants, successors_ready.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pytest

from bdw.cli import main
from bdw.manual_template import DATA_SHEET, HEADER_ROW

from conftest import dbt_on, published, query, run_inbox, write_csv

AS_OF = "2027-01-10"
HEADER = ["kpi_id", "period", "segment", "value", "measured_at", "source_note"]
M = 1_000_000
NOT_MEASURED = {"partner_portal_registration", "industry_consultants", "successors_ready", "plugin_gross_margin"}
approx = pytest.approx


def build_inbox(inbox: Path) -> None:
    folder = inbox / "manual_measurements"
    write_csv(folder / "2026-07-05_manual.csv", HEADER, [
        ["customer_satisfaction", "2026-Q2", "", "0.68", "2026-07-03", "Q2 survey, n=143"],
        ["customer_satisfaction", "2026", "", "0.80", "2026-07-03", "H1 surveys pooled"],
        ["certified_scrum_masters", "2026", "all", "2", "2026-12-20", "HR certification list"],
        ["budget_spent", "2026-Q1", "all", "2,900,000", "2026-04-05", "finance budget report Q1"],
        ["nps_score", "2026-Q2", "", "0.5", "2026-07-01", ""],  # row 6
        ["signed_revenue", "2026-Q2", "", "1000", "2026-07-01", ""],  # row 7
        ["customer_satisfaction", "2026-13", "", "0.8", "2026-07-01", ""],  # row 8
        ["customer_satisfaction", "2026-Q1", "", "eighty", "2026-07-01", ""],  # row 9
    ])
    template = folder / "2026-10-20_manual.xlsx"
    assert main(["template", "manual-measurements", "--out", str(template)]) == 0
    wb = openpyxl.load_workbook(template)
    ws = wb[DATA_SHEET]
    for i, row in enumerate([
        ["customer_satisfaction", "2026-Q2", None, 0.86, dt.date(2026, 10, 18), "Q2 survey re-weighted, n=143"],
        ["certified_itil4", "2026", "all", 6, dt.date(2026, 10, 15), "HR certification list"],
    ], start=HEADER_ROW + 1):
        for j, value in enumerate(row, start=1):
            ws.cell(i, j, value)
    wb.save(template)
    write_csv(folder / "2027-01-08_manual.csv", HEADER, [
        ["customer_satisfaction", "2026", "all", "0.87", "2027-01-05", "2026 surveys pooled, n=560"],
        ["budget_spent", "2026", "all", "13600000", "2027-01-06", "finance year-end close"],
        ["delivery_cost_reduction", "2026", "all", "0.30", "2027-01-07", "against the 2025 baseline"],
        ["plugin_gross_margin", "2026", "all", "0.62", "2027-01-12", "plug-in P&L 2026"],
    ])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, int, str]:
    return run_inbox(tmp_path_factory.mktemp("manual"), build_inbox, AS_OF)


@pytest.fixture(scope="module")
def wh(run) -> Path:
    return published(run)


def q(wh: Path, sql: str, *params) -> list[tuple]:
    return query(wh, sql, list(params))


def judged(wh: Path, kpi_id: str, period: str = "2026") -> dict:
    cols = ["value", "target", "direction", "plan_to_date", "attainment", "gap_to_plan", "run_rate", "status",
            "is_complete"]
    (row,) = q(wh, f"SELECT {', '.join(cols)} FROM marts.kpi_attainment WHERE kpi_id = ? AND period = ? "
                   "AND segment = 'all'", kpi_id, period)
    return dict(zip(cols, row, strict=True))


def test_a_later_file_corrects_an_earlier_value(wh):
    values = dict(q(wh, "SELECT kpi_id || ' ' || period, value FROM marts.kpi_values "
                        "WHERE kpi_id IN (SELECT kpi_id FROM marts.dim_kpis WHERE family = 'manual')"))
    assert values == {
        "customer_satisfaction 2026-Q2": approx(0.86),  # the xlsx of 2026-10-20 corrects the 0.68 of July
        "customer_satisfaction 2026": approx(0.87),  # the year-end file corrects July's 0.80
        "certified_scrum_masters 2026": 2, "certified_itil4 2026": 6, "budget_spent 2026-Q1": 2.9 * M,
        "budget_spent 2026": 13.6 * M, "delivery_cost_reduction 2026": approx(0.30),
    }  # plugin_gross_margin 2026 was measured on 2027-01-12, after --as-of: not counted yet
    (note,) = q(wh, "SELECT measured_at, source_note, source_file FROM staging.stg_manual__measurements "
                    "WHERE kpi_id = 'customer_satisfaction' AND period = '2026-Q2'")
    assert note == (dt.date(2026, 10, 18), "Q2 survey re-weighted, n=143", "manual_measurements/2026-10-20_manual.xlsx")


def test_a_target_met_and_missed_in_a_complete_period(wh):
    assert judged(wh, "customer_satisfaction") == {
        "value": approx(0.87), "target": 0.85, "direction": "higher", "plan_to_date": 0.85,
        "attainment": approx(0.87 / 0.85), "gap_to_plan": approx(-0.02), "run_rate": None, "status": "met",
        "is_complete": True}
    assert judged(wh, "certified_scrum_masters") == {
        "value": 2, "target": 3, "direction": "higher", "plan_to_date": 3, "attainment": approx(2 / 3),
        "gap_to_plan": 1, "run_rate": None, "status": "missed", "is_complete": True}
    assert judged(wh, "certified_itil4")["status"] == "met"  # 6 of at least 5
    assert judged(wh, "delivery_cost_reduction")["status"] == "missed"  # 0.30 of at least 0.35
    # a sum with direction lower: 13.6M spent of at most 13.8M is met; attainment = plan / value
    assert judged(wh, "budget_spent") == {
        "value": 13.6 * M, "target": 13.8 * M, "direction": "lower", "plan_to_date": 13.8 * M,
        "attainment": approx(13.8 / 13.6), "gap_to_plan": approx(-0.2 * M), "run_rate": None, "status": "met",
        "is_complete": True}
    assert q(wh, "SELECT status FROM marts.kpi_values WHERE kpi_id = 'budget_spent' AND period = '2026'") == [("met",)]


def test_a_complete_period_without_a_value_is_missing_data_not_missed(wh):
    for kpi_id in NOT_MEASURED:
        a = judged(wh, kpi_id)
        assert (a["value"], a["attainment"], a["status"], a["is_complete"]) == (None, None, "no_data", True), kpi_id
        assert a["plan_to_date"] == a["target"]
    # no value means no row in kpi_values (absent, not zero), but the scorecard shows the node
    assert q(wh, "SELECT count(*) FROM marts.kpi_values WHERE kpi_id = 'successors_ready'") == [(0,)]
    rows = q(wh, "SELECT kpi_id, value, target, status, is_measured_by_hand, measured_at FROM marts.kpi_scorecard "
                 "WHERE status = 'no_data' ORDER BY kpi_id")
    assert rows == [(k, None, t, "no_data", True, None) for k, t in sorted(
        {"partner_portal_registration": 1.0, "industry_consultants": 5, "successors_ready": 3,
         "plugin_gross_margin": 0.6}.items())]
    marked = q(wh, "SELECT measured_at, source_note FROM marts.kpi_scorecard WHERE kpi_id = 'customer_satisfaction' "
                   "AND period = '2026'")
    assert marked == [(dt.date(2027, 1, 5), "2026 surveys pooled, n=560")]


def test_a_missing_measurement_is_an_early_warning_and_an_alert(run, wh):
    warnings = q(wh, "SELECT warning_id, colour, subject_type, value, threshold, message FROM marts.early_warnings "
                     "ORDER BY warning_id")
    assert [w[0] for w in warnings] == sorted(f"data:{k}:2026" for k in NOT_MEASURED)
    by_id = {w[0]: w for w in warnings}
    assert by_id["data:successors_ready:2026"][1:5] == ("grey", "kpi", None, 3)
    assert by_id["data:successors_ready:2026"][5] == (
        "Nobody has measured Successors ready (储备接班人数) for 2026, which ended on 2026-12-31, although its "
        "target is at least 3: ask the manager's team to add the value to the manual measurements template "
        "(bdw template manual-measurements) and drop it in the inbox.")
    assert "at least 100.0%" in by_id["data:partner_portal_registration:2026"][5]
    path, _, _ = run
    alerts = [json.loads(line) for line in path.with_name("alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {a["key"] for a in alerts if a.get("source") == "early_warnings"} == {
        f"early_warning:data:{k}:2026" for k in NOT_MEASURED}


def test_bad_rows_are_rejected_with_their_reasons_and_the_rest_publishes(run, wh):
    _, _, out = run
    manifest = q(wh, "SELECT file, status, rows_loaded, rows_rejected FROM raw._load_manifest ORDER BY file")
    assert manifest == [("manual_measurements/2026-07-05_manual.csv", "partial", 4, 4),
                        ("manual_measurements/2026-10-20_manual.xlsx", "loaded", 2, 0),
                        ("manual_measurements/2027-01-08_manual.csv", "loaded", 4, 0)]
    issues = q(wh, 'SELECT row_number, "column", value FROM raw._load_issues WHERE row_number IS NOT NULL ORDER BY 1')
    assert issues == [(6, "kpi_id", "nps_score"), (7, "kpi_id", "signed_revenue"), (8, "period", "2026-13"),
                      (9, "value", "eighty")]
    assert "manual_measurements/2026-07-05_manual.csv, row 7, column kpi_id: a KPI the warehouse computes" in out
    assert q(wh, "SELECT count(*) FROM marts.kpi_values WHERE kpi_id = 'signed_revenue'") == [(0,)]


def test_a_value_the_seed_no_longer_has_as_measured_by_hand_is_a_reference_problem(wh, tmp_path):
    """Ingestion checks a row against the seed of its day; after the seed changes (here: a row of
    win_rate, a computed KPI, as if win_rate had been measured by hand when it loaded) dbt reports the
    row and leaves it out rather than lose it silently."""
    work = wh.parent / "work" / "work.duckdb"
    copy = tmp_path / "work.duckdb"
    shutil.copy(work, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("INSERT INTO raw.manual_measurements (kpi_id, period, segment, value, measured_at, _source_file, "
                    "_row_number, _loaded_at, _file_hash) VALUES ('win_rate', '2026', 'all', 0.4, DATE '2026-12-01', "
                    "'manual_measurements/2026-12-01_old.csv', 2, now(), 'x')")
    code, _ = dbt_on(copy, tmp_path, "run", "--select", "stg_manual__measurements", "int_kpi_manual",
                     "reference_issues", "--vars", f"{{as_of: '{AS_OF}'}}")
    assert code == 0
    with duckdb.connect(str(copy), read_only=True) as con:
        found = con.execute("SELECT source, source_file, source_row, rule, value FROM dq.reference_issues").fetchall()
        assert found == [("manual_measurements", "manual_measurements/2026-12-01_old.csv", 2, "not_a_manual_kpi",
                          "win_rate")]
        assert con.execute("SELECT count(*) FROM intermediate.int_kpi_manual WHERE kpi_id = 'win_rate'").fetchone() \
            == (0,)


def test_the_sample_measures_some_nodes_and_not_others(sample_warehouse):
    """The sample company as of 2026-11-26 (330 of 365 days of 2026; bdw/sample/manual.py): a ratio or
    count is judged against its target, budget_spent (a sum, lower) against 13.8M x 330/365."""
    rows = dict(q(sample_warehouse, "SELECT kpi_id, status FROM marts.kpi_attainment WHERE period = '2026' AND "
                                    "kpi_id IN (SELECT kpi_id FROM marts.dim_kpis WHERE family = 'manual')"))
    assert rows == {
        "customer_satisfaction": "at_risk",  # 0.843 of 0.85, within 10%
        "partner_portal_registration": "at_risk",  # 0.92 of 1.0
        "certified_scrum_masters": "off_track",  # 2 of 3: below 2.7
        "delivery_cost_reduction": "off_track",  # 0.28 of 0.35: below 0.315
        "certified_itil4": "on_track", "plugin_gross_margin": "on_track",  # 5 of 5, 0.62 of 0.60
        "budget_spent": "on_track",  # 11.65M spent, plan to date 12.48M
        "industry_consultants": "no_data", "successors_ready": "no_data",
    }
    (budget,) = q(sample_warehouse, "SELECT plan_to_date, attainment, run_rate FROM marts.kpi_attainment "
                                    "WHERE kpi_id = 'budget_spent' AND period = '2026'")
    plan = 13.8 * M * 330 / 365
    assert budget == (approx(plan), approx(plan / (11.65 * M)), approx(11.65 * M * 365 / 330))
    # the Q2 survey typed as 0.68 in July was corrected to 0.86 in October
    assert q(sample_warehouse, "SELECT value FROM marts.kpi_values WHERE kpi_id = 'customer_satisfaction' "
                               "AND period = '2026-Q2'") == [(approx(0.86),)]
