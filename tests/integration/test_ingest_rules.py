"""docs/contract.md section 2, rule by rule, on the ingestion of a throwaway working database."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bdw.settings import load_settings

from conftest import CONTRACT_HEADER, contract_row, ingest, write_csv

PAY_HEADER = ["payment_id", "contract_id", "received_date", "amount", "currency"]
ACT_HEADER = ["activity_id", "account_id", "opportunity_id", "owner_id", "activity_date", "activity_type"]


def issues(con, file_part: str) -> list[tuple]:
    return con.execute(
        "SELECT row_number, \"column\", rule, value, message FROM raw._load_issues WHERE file LIKE ? "
        "ORDER BY row_number NULLS FIRST, \"column\"", [f"%{file_part}%"]).fetchall()


def by_file(result, name: str):
    return next(f for f in result.files if f.file.endswith(name))


def test_good_finance_file_loads_typed_with_lineage(con, tmp_settings):
    write_csv(tmp_settings.inbox / "payments/2025-01-31_payments.csv", [*PAY_HEADER, "memo"], [
        ["P1", "C1", "2025-01-05", "1,234,567.50", "cny", "first"],
        ["P2", "C1", "2025/01/20", "-100", "CNY", "refund"],
        ["P3", "C1", "2025年1月21日", "10", "USD", ""],
    ])
    r = ingest(con, tmp_settings, "payments")
    assert [(f.status, f.rows_loaded) for f in r.files] == [("loaded", 3)]
    rows = con.execute("SELECT payment_id, received_date, amount, memo, _source_file, _row_number "
                       "FROM raw.payments ORDER BY payment_id").fetchall()
    assert rows == [
        ("P1", dt.date(2025, 1, 5), Decimal("1234567.50"), "first", "payments/2025-01-31_payments.csv", 2),
        ("P2", dt.date(2025, 1, 20), Decimal("-100.00"), "refund", "payments/2025-01-31_payments.csv", 3),
        ("P3", dt.date(2025, 1, 21), Decimal("10.00"), None, "payments/2025-01-31_payments.csv", 4),
    ]


def test_bad_date_quarantines_a_finance_file_whole_and_names_row_and_column(con, tmp_settings):
    write_csv(tmp_settings.inbox / "payments/2025-01-31_payments.csv", PAY_HEADER,
              [["P1", "C1", "2025-01-05", "100", "CNY"]])
    write_csv(tmp_settings.inbox / "payments/2025-02-28_payments.csv", PAY_HEADER, [
        ["P2", "C1", "2025-02-03", "100", "CNY"],
        ["P3", "C1", "2025-02-30", "100", "CNY"],
    ])
    r = ingest(con, tmp_settings, "payments")
    assert by_file(r, "01-31_payments.csv").status == "loaded"
    bad = by_file(r, "02-28_payments.csv")
    assert bad.status == "quarantined" and bad.rows_loaded == 0
    assert "finance files load all or nothing" in bad.message
    found = issues(con, "02-28")
    assert (3, "received_date") in [(i[0], i[1]) for i in found]
    line = next(i[4] for i in found if i[0] == 3)
    assert line.startswith("payments/2025-02-28_payments.csv, row 3, column received_date: not a valid date")
    assert "'2025-02-30'" in line
    # the good file's row is there, none of the bad file's rows (not even the good one)
    assert con.execute("SELECT list(payment_id ORDER BY payment_id) FROM raw.payments").fetchone()[0] == ["P1"]
    q = tmp_settings.quarantine_dir / "payments"
    assert (q / "2025-02-28_payments.csv").exists()
    assert "2025-02-30" in (q / "2025-02-28_payments.csv.errors.csv").read_text()


def test_bad_enum_and_bad_date_reject_only_those_crm_rows(con, tmp_settings):
    write_csv(tmp_settings.inbox / "activities/2025-01-31_activities.csv", ACT_HEADER, [
        ["X1", "A1", "", "R1", "2025-01-05", "Visit "],
        ["X2", "A1", "", "R1", "2025-13-05", "call"],
        ["X3", "A1", "", "R1", "2025-01-07", "carrier pigeon"],
        ["X4", "A1", "", "R1", "2025/1/8", " DEMO"],
    ])
    r = ingest(con, tmp_settings, "activities")
    f = r.files[0]
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_rejected) == ("partial", 4, 2, 2)
    assert con.execute("SELECT list(activity_id || ':' || activity_type ORDER BY activity_id) "
                       "FROM raw.activities").fetchone()[0] == ["X1:visit", "X4:demo"]
    found = {(i[0], i[1]): i[2] for i in issues(con, "activities")}
    assert found[(3, "activity_date")].startswith("not a valid date")
    assert found[(4, "activity_type")].startswith("not one of the allowed values: visit, call")
    rejected = (tmp_settings.quarantine_dir / "activities/2025-01-31_activities.rejected.csv").read_text()
    assert "X2" in rejected and "carrier pigeon" in rejected and "X1" not in rejected


def test_duplicate_key_in_one_file_rejects_every_copy(con, tmp_settings):
    write_csv(tmp_settings.inbox / "activities/2025-01-31_activities.csv", ACT_HEADER, [
        ["X1", "A1", "", "R1", "2025-01-05", "visit"],
        ["X2", "A1", "", "R1", "2025-01-06", "call"],
        ["X1", "A1", "", "R1", "2025-01-09", "email"],
    ])
    r = ingest(con, tmp_settings, "activities")
    assert r.files[0].rows_loaded == 1
    found = issues(con, "activities")
    assert [(i[0], i[3]) for i in found] == [(2, "X1"), (4, "X1")]
    assert "appears on rows 2, 4 of this file" in found[0][2]


def test_duplicate_key_quarantines_a_finance_file(con, tmp_settings):
    write_csv(tmp_settings.inbox / "contracts/2025-03-31_contracts.csv", CONTRACT_HEADER,
              [contract_row("C1"), contract_row("C1", signed="2025-03-02")])
    r = ingest(con, tmp_settings, "contracts")
    assert r.files[0].status == "quarantined"
    assert con.execute("SELECT count(*) FROM raw.contracts").fetchone()[0] == 0


def test_missing_required_column_quarantines_the_file(con, tmp_settings):
    write_csv(tmp_settings.inbox / "contracts/2025-03-31_contracts.csv",
              [h for h in CONTRACT_HEADER if h != "signed_date"], [contract_row("C1")[:4] + contract_row("C1")[5:]])
    write_csv(tmp_settings.inbox / "accounts/2025-03-31_accounts.csv", ["account_id", "region", "created_at"],
              [["A1", "CN", "2025-01-01"]])
    c = ingest(con, tmp_settings, "contracts").files[0]
    a = ingest(con, tmp_settings, "accounts").files[0]
    assert c.status == a.status == "quarantined"  # even for a CRM source: the whole file lacks it
    assert "lacks required column signed_date" in c.message
    assert "lacks required column account_name" in a.message


def test_required_when_closed_stage(con, tmp_settings):
    header = ["opportunity_id", "owner_id", "created_at", "stage", "currency", "channel", "closed_at"]
    write_csv(tmp_settings.inbox / "opportunities/2025-03-31_opportunities.csv", header, [
        ["O1", "R1", "2025-01-01", "closed_won", "CNY", "direct", ""],
        ["O2", "R1", "2025-01-01", "negotiation", "CNY", "direct", ""],
    ])
    ingest(con, tmp_settings, "opportunities")
    assert [(i[0], i[1], i[2]) for i in issues(con, "opportunities")] == [
        (2, "closed_at", "required when stage is closed_won or closed_lost")]


def test_placeholders_are_empty_typed_values_but_text_stays_raw(con, tmp_settings):
    header = ["opportunity_id", "owner_id", "created_at", "stage", "currency", "channel", "amount",
              "forecast_category", "pain_points", "budget_confirmed"]
    write_csv(tmp_settings.inbox / "opportunities/2025-03-31_opportunities.csv", header, [
        ["O1", "R1", "2025-01-01", "proposal", "CNY", "direct", "N/A", " TBD ", "未知", "是"],
        ["O2", "", "2025-01-01", "proposal", "CNY", "direct", "10", "commit", "x", "否"],
    ])
    ingest(con, tmp_settings, "opportunities")
    row = con.execute("SELECT amount, forecast_category, pain_points, budget_confirmed FROM raw.opportunities "
                      "WHERE opportunity_id = 'O1'").fetchone()
    assert row == (None, None, "未知", True)
    # a required value that is missing is a bad row (O2 has no owner)
    assert [(i[0], i[1]) for i in issues(con, "opportunities")] == [(3, "owner_id")]


def test_wrong_encoding_is_quarantined_and_other_files_still_load(con, tmp_settings):
    folder = tmp_settings.inbox / "accounts"
    write_csv(folder / "2025-01-01_accounts.csv", ["account_id", "account_name", "region", "created_at"],
              [["A1", "Acme", "CN", "2025-01-01"]])
    (folder / "2025-02-01_accounts.csv").write_bytes(
        "account_id,account_name,region,created_at\nA2,Ünïcode,EU,2025-02-01\n".encode("utf-16"))
    r = ingest(con, tmp_settings, "accounts")
    bad = by_file(r, "2025-02-01_accounts.csv")
    assert bad.status == "quarantined" and "UTF-16" in bad.message
    assert by_file(r, "2025-01-01_accounts.csv").status == "loaded"
    assert con.execute("SELECT list(account_id) FROM raw.accounts").fetchone()[0] == ["A1"]


def test_gbk_file_is_detected_without_being_told(con, tmp_settings):
    write_csv(tmp_settings.inbox / "accounts/2025-01-01_accounts.csv",
              ["account_id", "account_name", "region", "created_at", "pain_points"],
              [["A1", "华为技术有限公司", "CN", "2025年1月1日", "预算紧张"]], encoding="gbk")
    r = ingest(con, tmp_settings, "accounts")
    assert r.files[0].status == "loaded"
    row = con.execute("SELECT account_name, pain_points FROM raw.accounts").fetchone()
    assert row == ("华为技术有限公司", "预算紧张")
    assert con.execute("SELECT encoding FROM raw._load_manifest").fetchone()[0] == "gb18030"


def test_utf8_bom_header_matches(con, tmp_settings):
    write_csv(tmp_settings.inbox / "accounts/2025-01-01_accounts.csv",
              ["account_id", " Account_Name ", "REGION", "created_at"], [["A1", "Acme", "cn", "2025-01-01"]],
              encoding="utf-8-sig")
    assert ingest(con, tmp_settings, "accounts").files[0].status == "loaded"
    assert con.execute("SELECT account_id, account_name, region FROM raw.accounts").fetchone() == ("A1", "Acme", "CN")


@pytest.mark.parametrize("cut", ["mid-row", "open-quote"])
def test_truncated_csv_is_quarantined(con, tmp_settings, cut):
    text = "payment_id,contract_id,received_date,amount,currency\nP1,C1,2025-01-05,100,CNY\n"
    text += "P2,C1,2025-01-0" if cut == "mid-row" else 'P2,C1,2025-01-06,"1,00'
    (tmp_settings.inbox / "payments").mkdir()
    (tmp_settings.inbox / "payments/2025-01-31_payments.csv").write_text(text)
    f = ingest(con, tmp_settings, "payments").files[0]
    assert f.status == "quarantined"
    assert "cannot be read as CSV" in f.message


def test_empty_file_is_reported_and_header_only_file_loads_nothing(con, tmp_settings):
    folder = tmp_settings.inbox / "payments"
    folder.mkdir()
    (folder / "2025-01-31_payments.csv").write_bytes(b"")
    write_csv(folder / "2025-02-28_payments.csv", PAY_HEADER, [])
    r = ingest(con, tmp_settings, "payments")
    assert by_file(r, "01-31_payments.csv").status == "quarantined"
    assert "empty" in by_file(r, "01-31_payments.csv").message
    assert (by_file(r, "02-28_payments.csv").status, by_file(r, "02-28_payments.csv").rows_loaded) == ("loaded", 0)


def test_xlsx_with_a_title_row_above_the_header(con, tmp_settings):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Contract export 2025-03"])
    ws.append([])
    ws.append(CONTRACT_HEADER)
    ws.append([*contract_row("C1")[:4], dt.datetime(2025, 3, 1), *contract_row("C1")[5:]])
    ws.append([*contract_row("C2")[:4], dt.datetime(2025, 3, 2), *contract_row("C2")[5:]])
    path = tmp_settings.inbox / "contracts/2025-03-31_contracts.xlsx"
    path.parent.mkdir()
    wb.save(path)
    f = ingest(con, tmp_settings, "contracts").files[0]
    assert (f.status, f.rows_loaded) == ("loaded", 2)
    rows = con.execute("SELECT contract_id, signed_date, _row_number FROM raw.contracts ORDER BY 1").fetchall()
    assert rows == [("C1", dt.date(2025, 3, 1), 4), ("C2", dt.date(2025, 3, 2), 5)]


def test_a_file_that_is_not_what_its_name_says(con, tmp_settings):
    folder = tmp_settings.inbox / "contracts"
    folder.mkdir()
    (folder / "2025-03-31_contracts.xlsx").write_text(",".join(CONTRACT_HEADER) + "\n")
    (folder / "2025-04-30_contracts.parquet").write_bytes(b"PAR1 not really")
    r = ingest(con, tmp_settings, "contracts")
    assert [f.status for f in r.files] == ["quarantined", "quarantined"]
    assert "Excel" in r.files[0].message and "Parquet" in r.files[1].message


def test_parquet_loads(con, tmp_settings):
    table = pa.table({"payment_id": ["P1"], "contract_id": ["C1"], "received_date": [dt.date(2025, 1, 5)],
                      "amount": [1234.5], "currency": ["CNY"]})
    path = tmp_settings.inbox / "payments/2025-01-31_payments.parquet"
    path.parent.mkdir()
    pq.write_table(table, path)
    assert ingest(con, tmp_settings, "payments").files[0].status == "loaded"
    assert con.execute("SELECT received_date, amount FROM raw.payments").fetchone() == (
        dt.date(2025, 1, 5), Decimal("1234.50"))


def test_same_file_twice_and_a_duplicate_re_export_change_nothing(con, tmp_settings):
    folder = tmp_settings.inbox / "payments"
    write_csv(folder / "2025-01-31_payments.csv", PAY_HEADER, [["P1", "C1", "2025-01-05", "100", "CNY"]])
    first = ingest(con, tmp_settings, "payments")
    snapshot = con.execute("SELECT * FROM raw.payments").fetchall()
    (folder / "2025-01-31_payments (1).csv").write_bytes((folder / "2025-01-31_payments.csv").read_bytes())
    second = ingest(con, tmp_settings, "payments")
    assert [f.status for f in first.files] == ["loaded"]
    assert sorted(f.status for f in second.files) == ["duplicate", "unchanged"]
    assert con.execute("SELECT * FROM raw.payments").fetchall() == snapshot


def test_a_changed_file_with_the_same_name_replaces_its_rows(con, tmp_settings):
    path = tmp_settings.inbox / "payments/2025-01-31_payments.csv"
    write_csv(path, PAY_HEADER, [["P1", "C1", "2025-01-05", "100", "CNY"], ["P2", "C1", "2025-01-06", "5", "CNY"]])
    ingest(con, tmp_settings, "payments")
    write_csv(path, PAY_HEADER, [["P1", "C1", "2025-01-05", "150", "CNY"]])
    ingest(con, tmp_settings, "payments")
    assert con.execute("SELECT payment_id, amount FROM raw.payments").fetchall() == [("P1", Decimal("150.00"))]


def test_a_bad_new_version_keeps_the_good_old_rows(con, tmp_settings):
    path = tmp_settings.inbox / "payments/2025-01-31_payments.csv"
    write_csv(path, PAY_HEADER, [["P1", "C1", "2025-01-05", "100", "CNY"]])
    ingest(con, tmp_settings, "payments")
    write_csv(path, PAY_HEADER, [["P1", "C1", "someday", "150", "CNY"]])
    assert ingest(con, tmp_settings, "payments").files[0].status == "quarantined"
    assert con.execute("SELECT payment_id, amount FROM raw.payments").fetchall() == [("P1", Decimal("100.00"))]


def test_policy_is_configurable(tmp_path: Path, monkeypatch, con, tmp_settings):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "bdw.yml").write_text("policies:\n  activities: file\n  payments: row\n")
    monkeypatch.setenv("BDW_CONFIG_DIR", str(cfg))
    settings = load_settings(tmp_settings.inbox, tmp_settings.warehouse, tmp_settings.workdir)
    write_csv(settings.inbox / "activities/2025-01-31_activities.csv", ACT_HEADER, [
        ["X1", "A1", "", "R1", "2025-01-05", "visit"], ["X2", "A1", "", "R1", "bad", "call"]])
    write_csv(settings.inbox / "payments/2025-01-31_payments.csv", PAY_HEADER, [
        ["P1", "C1", "2025-01-05", "100", "CNY"], ["P2", "C1", "2025-01-05", "many", "CNY"]])
    assert ingest(con, settings, "activities").files[0].status == "quarantined"
    assert ingest(con, settings, "payments").files[0].status == "partial"
    assert con.execute("SELECT list(payment_id) FROM raw.payments").fetchone()[0] == ["P1"]


def test_unknown_policy_is_a_clear_error(tmp_path: Path, monkeypatch):
    (tmp_path / "bdw.yml").write_text("policies:\n  payments: sometimes\n")
    monkeypatch.setenv("BDW_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="policy of payments must be 'file' or 'row'"):
        load_settings(tmp_path / "inbox", tmp_path / "w.duckdb")


def test_a_text_value_that_looks_like_a_placeholder_is_kept(con, tmp_settings):
    write_csv(tmp_settings.inbox / "partners/2025-12-31_partners.csv",
              ["partner_id", "partner_name", "region", "onboarded_date"], [["PA1", "Acme Channel", "NA", "2024-01-01"]])
    assert ingest(con, tmp_settings, "partners").files[0].status == "loaded"
    assert con.execute("SELECT region FROM raw.partners").fetchone() == ("NA",)


def test_a_duplicate_re_export_in_the_same_delivery_loads_once(con, tmp_settings):
    folder = tmp_settings.inbox / "payments"
    write_csv(folder / "2025-01-31_payments.csv", PAY_HEADER, [["P1", "C1", "2025-01-05", "100", "CNY"]])
    (folder / "2025-01-31_payments (1).csv").write_bytes((folder / "2025-01-31_payments.csv").read_bytes())
    r = ingest(con, tmp_settings, "payments")
    assert sorted(f.status for f in r.files) == ["duplicate", "loaded"]
    assert con.execute("SELECT count(*) FROM raw.payments").fetchone()[0] == 1


def test_duplicate_keys_across_files_are_not_a_problem(con, tmp_settings):
    """A later export repeating a key is the merge rule at work, not a duplicate within a file."""
    folder = tmp_settings.inbox / "payments"
    write_csv(folder / "2025-01-31_payments.csv", PAY_HEADER, [["P1", "C1", "2025-01-05", "100", "CNY"]])
    write_csv(folder / "2025-02-28_payments.csv", PAY_HEADER, [["P1", "C1", "2025-01-05", "120", "CNY"]])
    r = ingest(con, tmp_settings, "payments")
    assert [f.status for f in r.files] == ["loaded", "loaded"]


def test_files_read_together_keep_their_own_row_numbers_and_rejects(con, tmp_settings):
    """Files sharing a header are read in one go; each row still names its own file and row."""
    folder = tmp_settings.inbox / "activities"
    write_csv(folder / "2025-01-31_activities.csv", ACT_HEADER, [
        ["X1", "A1", "", "R1", "2025-01-05", "visit"], ["X2", "A1", "", "R1", "2025-01-06", "call"]])
    write_csv(folder / "2025-02-28_activities.csv", ACT_HEADER, [
        ["X3", "A1", "", "R1", "2025-02-05", "visit"], ["X4", "A1", "", "R1", "2025-02-30", "call"],
        ["X5", "A1", "", "R1", "2025-02-07", "fax"], ["X6", "A1", "", "R1", "2025-02-08", "email"]])
    r = ingest(con, tmp_settings, "activities")
    assert [(f.status, f.rows_read, f.rows_loaded) for f in r.files] == [("loaded", 2, 2), ("partial", 4, 2)]
    rows = con.execute("SELECT activity_id, _source_file, _row_number FROM raw.activities ORDER BY 1").fetchall()
    jan, feb = "activities/2025-01-31_activities.csv", "activities/2025-02-28_activities.csv"
    assert rows == [("X1", jan, 2), ("X2", jan, 3), ("X3", feb, 2), ("X6", feb, 5)]
    assert [(i[0], i[1]) for i in issues(con, "2025-02-28")] == [(3, "activity_date"), (4, "activity_type")]
    with (tmp_settings.quarantine_dir / "activities/2025-02-28_activities.rejected.csv").open() as f:
        rejected = [(r["activity_id"], r["_row"], r["_reason"][:14]) for r in csv.DictReader(f)]
    assert rejected == [("X4", "3", "activity_date:"), ("X5", "4", "activity_type:")]  # rows of its own file


def test_a_malformed_file_among_files_read_together_is_named_and_the_others_load(con, tmp_settings):
    folder = tmp_settings.inbox / "payments"
    write_csv(folder / "2025-01-31_payments.csv", PAY_HEADER, [["P1", "C1", "2025-01-05", "100", "CNY"]])
    (folder / "2025-02-28_payments.csv").write_text(
        "payment_id,contract_id,received_date,amount,currency\nP2,C1,2025-02-05,100,CNY\nP3,C1,2025-02-0")
    write_csv(folder / "2025-03-31_payments.csv", PAY_HEADER, [["P4", "C1", "2025-03-05", "100", "CNY"]])
    r = ingest(con, tmp_settings, "payments")
    assert [f.status for f in r.files] == ["loaded", "quarantined", "loaded"]
    assert "cannot be read as CSV: line 3" in r.files[1].message
    assert con.execute("SELECT list(payment_id || '@' || _row_number ORDER BY payment_id) FROM raw.payments"
                       ).fetchone()[0] == ["P1@2", "P4@2"]


def test_numbers_that_must_be_positive(con, tmp_settings):
    """A rate or a quota of 0 or less quarantines its (all-or-nothing) file; the rule is named once,
    per column of the contract marked positive."""
    write_csv(tmp_settings.inbox / "fx_rates/2025-01-31_fx.csv", ["month", "currency", "rate_to_cny"],
              [["2025-01", "USD", "7.1"], ["2025-01", "EUR", "0"]])
    write_csv(tmp_settings.inbox / "quotas/2026-01-08_quotas.csv", ["rep_id", "period", "quota_cny"],
              [["R1", "2026-Q1", "-5"], ["R2", "2026", "1,000,000"]])
    assert by_file(ingest(con, tmp_settings, "fx_rates"), "_fx.csv").status == "quarantined"
    assert by_file(ingest(con, tmp_settings, "quotas"), "_quotas.csv").status == "quarantined"
    assert [i[:3] for i in issues(con, "_fx.csv") if i[0]] == [(3, "rate_to_cny", "must be greater than 0")]
    assert [i[:3] for i in issues(con, "_quotas.csv") if i[0]] == [(2, "quota_cny", "must be greater than 0")]
