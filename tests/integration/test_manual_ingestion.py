"""The manual_measurements source at ingestion (docs/contract.md section 1 and 2): the rows the
manager's team types in are checked against the seed's KPIs measured by hand, each bad row is
rejected with its reason and the good rows load; and the XLSX template (``bdw template
manual-measurements``) loads as it is, and filled in, through a real working database."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from bdw.cli import main
from bdw.manual_kpis import manual_kpis, manual_targets
from bdw.manual_template import DATA_SHEET, HEADER_ROW, KPI_SHEET, write_manual_template

from conftest import ingest, write_csv

HEADER = ["kpi_id", "period", "segment", "value", "measured_at", "source_note"]
SHIPPED_MANUAL = {"customer_satisfaction", "partner_portal_registration", "certified_scrum_masters",
                  "certified_itil4", "industry_consultants", "successors_ready", "budget_spent",
                  "delivery_cost_reduction", "plugin_gross_margin"}


def issues(con) -> list[tuple]:
    return con.execute('SELECT row_number, "column", rule, value FROM raw._load_issues '
                       "WHERE row_number IS NOT NULL ORDER BY row_number, \"column\"").fetchall()


def loaded(con) -> list[tuple]:
    return con.execute("SELECT kpi_id, period, segment, value, measured_at, source_note, _row_number "
                       "FROM raw.manual_measurements ORDER BY _source_file, _row_number").fetchall()


def test_the_seed_ships_the_battle_maps_nodes_measured_by_hand():
    assert {k.kpi_id for k in manual_kpis()} == SHIPPED_MANUAL
    targets = {(t.kpi_id, t.period, t.segment): (t.target, t.direction) for t in manual_targets()}
    assert targets[("customer_satisfaction", "2026", "all")] == (0.85, "higher")
    assert targets[("budget_spent", "2026", "all")] == (13_800_000, "lower")
    assert {k for k, _, _ in targets} == SHIPPED_MANUAL  # every node has its 2026 target
    shares = {k.kpi_id for k in manual_kpis() if k.is_share}
    assert shares == {"customer_satisfaction", "partner_portal_registration"}


def test_each_bad_row_is_rejected_with_its_reason_and_the_good_rows_load(con, tmp_settings):
    write_csv(tmp_settings.inbox / "manual_measurements/2026-07-05_manual.csv", HEADER, [
        ["customer_satisfaction", "2026-Q2", "", "0.86", "2026-07-03", "Q2 survey, n=143"],  # 2: good, segment all
        ["certified_itil4", "2026", "all", "4", "2026/06/30", "HR list"],  # 3: good
        ["nps_score", "2026-Q2", "", "0.5", "2026-07-01", ""],  # 4: unknown kpi_id
        ["signed_revenue", "2026-Q2", "", "1000", "2026-07-01", ""],  # 5: a computed KPI
        ["customer_satisfaction", "2026-13", "", "0.8", "2026-07-01", ""],  # 6: no such month
        ["customer_satisfaction", "2026-Q4", "", "0.8", "2026-09-30", ""],  # 7: measured before Q4 began
        ["customer_satisfaction", "2026-Q1", "", "eighty", "2026-07-01", ""],  # 8: not a number
        ["customer_satisfaction", "2026-05", "", "85", "2026-07-01", ""],  # 9: a share above 1
        ["certified_itil4", "2026-Q1", "region=CN", "4", "2026-06-30", ""],  # 10: a segment it does not have
        ["certified_itil4", "2026-Q2", "", "-1", "2026-06-30", ""],  # 11: a negative count
        ["budget_spent", "2026-Q2", "all", "3,400,000", "", ""],  # 12: no measured_at
        ["customer_satisfaction", "2026-Q3", "", "0.84", "2026-07-01", "first day of Q3"],  # 13: good
    ])
    (f,) = ingest(con, tmp_settings, "manual_measurements").files
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_rejected) == ("partial", 12, 3, 9)
    assert issues(con) == [
        (4, "kpi_id", "not a KPI of the battle map: use a kpi_id measured by hand (the template's KPIs sheet "
                      "lists them)", "nps_score"),
        (5, "kpi_id", "a KPI the warehouse computes from the exports, not one measured by hand: leave it out of "
                      "this file", "signed_revenue"),
        (6, "period", "not a year like 2026, a quarter like 2026-Q2 or a month like 2026-05", "2026-13"),
        (7, "period", "the period begins after measured_at: a value cannot be measured before its period starts",
         "2026-Q4"),
        (8, "value", "not a valid number", "eighty"),
        (9, "value", "a share must lie between 0 and 1 (write 0.85 for 85%)", "85"),
        (10, "segment", "this KPI has no segments: leave segment empty or write all", "region=CN"),
        (11, "value", "a count cannot be negative", "-1"),
        (12, "measured_at", "required value is missing", None),
    ]
    assert loaded(con) == [
        ("customer_satisfaction", "2026-Q2", "all", 0.86, dt.date(2026, 7, 3), "Q2 survey, n=143", 2),
        ("certified_itil4", "2026", "all", 4.0, dt.date(2026, 6, 30), "HR list", 3),
        ("customer_satisfaction", "2026-Q3", "all", 0.84, dt.date(2026, 7, 1), "first day of Q3", 13),
    ]
    rejected = (tmp_settings.workdir / "quarantine" / "manual_measurements").glob("*.rejected.csv")
    assert len(next(rejected).read_text(encoding="utf-8").splitlines()) == 1 + 9  # the bad rows, with reasons


def test_a_file_without_the_segment_column_loads_as_segment_all(con, tmp_settings):
    """segment is part of the key but has a default: a file may leave the column out."""
    write_csv(tmp_settings.inbox / "manual_measurements/2026-07-05_manual.csv",
              ["kpi_id", "period", "value", "measured_at"],
              [["budget_spent", "2026-Q2", "3400000", "2026-07-08"], ["budget_spent", "2026-Q1", "2,950,000",
                                                                       "2026-04-08"]])
    (f,) = ingest(con, tmp_settings, "manual_measurements").files
    assert (f.status, f.rows_loaded) == ("loaded", 2), f.issues
    assert con.execute("SELECT segment, value FROM raw.manual_measurements ORDER BY period").fetchall() == [
        ("all", 2_950_000.0), ("all", 3_400_000.0)]


def test_blank_and_all_are_the_same_key_within_a_file(con, tmp_settings):
    write_csv(tmp_settings.inbox / "manual_measurements/2026-07-05_manual.csv", HEADER, [
        ["customer_satisfaction", "2026-Q2", "", "0.86", "2026-07-03", ""],
        ["customer_satisfaction", "2026-Q2", "all", "0.87", "2026-07-04", ""],
    ])
    ingest(con, tmp_settings, "manual_measurements")
    assert [(r, c) for r, c, *_ in issues(con)] == [(2, "kpi_id, period, segment"), (3, "kpi_id, period, segment")]


def test_chinese_headers_load_through_the_zh_profile(con, tmp_settings):
    """指标编号 / 期间 / 维度 / 数值 / 测量日期 / 来源说明 (docs/contract.md section 4)."""
    folder = tmp_settings.inbox / "manual_measurements"
    folder.mkdir(parents=True)
    (folder / "_profile.yml").write_text("profile: zh\n")
    write_csv(folder / "2026-07-05_手工指标.csv", ["指标编号", "期间", "维度", "数值", "测量日期", "来源说明"],
              [["customer_satisfaction", "2026-Q2", "", "0.86", "2026年7月3日", "二季度调查，n=143"]], encoding="gbk")
    (f,) = ingest(con, tmp_settings, "manual_measurements").files
    assert (f.status, f.rows_loaded) == ("loaded", 1), f.issues
    assert loaded(con) == [("customer_satisfaction", "2026-Q2", "all", 0.86, dt.date(2026, 7, 3),
                            "二季度调查，n=143", 2)]


# ---- the template ----------------------------------------------------------------------------------
def test_the_template_lists_the_seeds_nodes_and_its_header_is_the_contracts(tmp_path):
    path = tmp_path / "template.xlsx"
    assert main(["template", "manual-measurements", "--out", str(path)]) == 0
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:2] == [DATA_SHEET, KPI_SHEET]  # the inbox reads the first sheet
    data = wb[DATA_SHEET]
    assert [c.value for c in data[HEADER_ROW]] == HEADER
    assert HEADER_ROW == 1  # docs/contract.md section 1: the header in the first non-empty row of the first sheet
    assert data.max_row == HEADER_ROW + 500 and all(c.value is None for row in data.iter_rows(min_row=HEADER_ROW + 1)
                                                    for c in row)
    assert "指标编号" in data["A1"].comment.text  # the Chinese name, as a comment
    listed = [r for r in wb[KPI_SHEET].iter_rows(min_row=2, values_only=True)]
    assert [r[0] for r in listed] == [k.kpi_id for k in manual_kpis()]
    satisfaction = next(r for r in listed if r[0] == "customer_satisfaction")
    assert satisfaction[1:4] == ("客户满意度", "Customer satisfaction", "ratio") and satisfaction[6] == "2026: ≥ 85%"
    budget = next(r for r in listed if r[0] == "budget_spent")
    assert budget[6] == "2026: ≤ 13,800,000"
    (pick,) = data.data_validations.dataValidation
    assert pick.formula1 == f"={KPI_SHEET}!$A$2:$A${len(listed) + 1}" and "A2:A501" in str(pick.sqref)


def test_the_template_loads_as_it_is_and_filled_in(con, tmp_settings, tmp_path):
    """Written, dropped in the inbox unfilled (no rows, nothing rejected), then filled in the way a
    person does in Excel (numbers, a date cell, a blank segment) and dropped again under a later name;
    also under the zh profile, since the header is the contract's own names."""
    folder = tmp_settings.inbox / "manual_measurements"
    folder.mkdir(parents=True)
    (folder / "_profile.yml").write_text("profile: zh\n")
    blank = folder / "2026-07-01_manual.xlsx"
    write_manual_template(blank)
    (f,) = ingest(con, tmp_settings, "manual_measurements").files
    assert (f.status, f.rows_read, f.rows_rejected) == ("loaded", 0, 0), f.issues

    filled = tmp_path / "filled.xlsx"
    write_manual_template(filled)
    wb = openpyxl.load_workbook(filled)
    ws = wb[DATA_SHEET]
    for i, row in enumerate([
        ["customer_satisfaction", "2026-Q2", None, 0.86, dt.date(2026, 7, 3), "Q2 survey, n=143"],
        ["budget_spent", "2026", "all", 11_650_000, dt.date(2026, 11, 17), "finance budget report"],
        ["certified_itil4", "2026", None, 5, "2026-11-16", None],
    ], start=HEADER_ROW + 1):
        for j, value in enumerate(row, start=1):
            ws.cell(i, j, value)
    wb.save(folder / "2026-11-20_manual.xlsx")
    r = ingest(con, tmp_settings, "manual_measurements")
    (f,) = [f for f in r.files if f.file.endswith("2026-11-20_manual.xlsx")]
    assert (f.status, f.rows_loaded, f.rows_rejected) == ("loaded", 3, 0), f.issues
    assert loaded(con) == [
        ("customer_satisfaction", "2026-Q2", "all", 0.86, dt.date(2026, 7, 3), "Q2 survey, n=143", 2),
        ("budget_spent", "2026", "all", 11_650_000.0, dt.date(2026, 11, 17), "finance budget report", 3),
        ("certified_itil4", "2026", "all", 5.0, dt.date(2026, 11, 16), None, 4),
    ]


def test_the_template_command_says_when_it_cannot_write(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert main(["template", "manual-measurements", "--out", str(blocker / "template.xlsx")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and "Traceback" not in err


@pytest.mark.parametrize("name", ["quotas", "nonsense"])
def test_the_template_command_knows_one_template(name, capsys):
    with pytest.raises(SystemExit):
        main(["template", name, "--out", "x.xlsx"])
    assert "manual-measurements" in capsys.readouterr().err
