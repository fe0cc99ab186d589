"""Mapping profiles (docs/contract.md section 4): Salesforce names, Chinese GBK headers, and a real
export nobody here wrote (Maven Analytics' CRM data set) through a user-written profile."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from decimal import Decimal

import pytest

from bdw.ingest.mapping import ProfileError, load_profile, parse_profile
from bdw.settings import SHIPPED_PROFILES_DIR

from conftest import TEST_DATA, ingest, write_csv

MAVEN = TEST_DATA / "maven_crm"


def use_profile(settings, source: str, name: str) -> None:
    folder = settings.inbox / source
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_profile.yml").write_text(f"profile: {name}\n")


def test_salesforce_opportunity_report_loads_through_its_profile(con, tmp_settings):
    use_profile(tmp_settings, "opportunities", "salesforce")
    write_csv(tmp_settings.inbox / "opportunities/2025-03-31_sf_opportunities.csv",
              ["Id", "AccountId", "OwnerId", "Name", "CreatedDate", "StageName", "Amount", "CurrencyIsoCode",
               "CloseDate", "ForecastCategoryName", "IsDeleted", "LeadSource"],
              [["0061", "0011", "0051", "Big deal", "2025-01-03T09:30:00.000+0000", "Closed Won", "1,200.00", "USD",
                "2025-03-10", "Closed", "false", "Web"],
               ["0062", "0011", "0051", "Next deal", "2025-02-01T10:00:00.000+0000", "Proposal/Price Quote", "300",
                "EUR", "2025-06-30", "Best Case", "0", "Partner"]])
    f = ingest(con, tmp_settings, "opportunities").files[0]
    assert (f.status, f.rows_loaded) == ("loaded", 2)
    rows = con.execute(
        "SELECT opportunity_id, account_id, created_at, stage, amount, currency, expected_close_date, closed_at, "
        "forecast_category, channel, leadsource FROM raw.opportunities ORDER BY 1").fetchall()
    assert rows[0] == ("0061", "0011", dt.date(2025, 1, 3), "closed_won", Decimal("1200.00"), "USD",
                       dt.date(2025, 3, 10), dt.date(2025, 3, 10), "commit", "direct", "Web")
    assert rows[1][3] == "proposal" and rows[1][8] == "best_case"
    assert con.execute("SELECT DISTINCT profile FROM raw._load_manifest").fetchall() == [("salesforce",)]


def test_chinese_gbk_contract_export_loads_through_the_zh_profile(con, tmp_settings):
    use_profile(tmp_settings, "contracts", "zh")
    write_csv(tmp_settings.inbox / "contracts/2025-03-31_合同导出.csv",
              ["合同编号", "客户编号", "负责人", "签约日期", "到期日期", "币种", "合同类型", "原合同编号", "渠道",
               "合作伙伴编号", "状态", "备注"],
              [["HT-001", "KH-01", "R1", "2025年3月1日", "2026年2月28日", "CNY", "新签", "", "直销", "", "生效",
                "首单"],
               ["HT-002", "KH-02", "R2", "2025/3/5", "2026/3/4", "USD", "续约", "HT-000", "渠道", "P-9", "作废", ""]],
              encoding="gbk")
    f = ingest(con, tmp_settings, "contracts").files[0]
    assert (f.status, f.rows_loaded) == ("loaded", 2), f.issues
    rows = con.execute("SELECT contract_id, signed_date, end_date, contract_type, renews_contract_id, channel, "
                       "status, 备注 FROM raw.contracts ORDER BY 1").fetchall()
    assert rows == [
        ("HT-001", dt.date(2025, 3, 1), dt.date(2026, 2, 28), "new", None, "direct", "active", "首单"),
        ("HT-002", dt.date(2025, 3, 5), dt.date(2026, 3, 4), "renewal", "HT-000", "partner", "cancelled", None),
    ]


def test_profile_for_the_whole_run(con, tmp_settings):
    from bdw.settings import load_settings

    settings = load_settings(tmp_settings.inbox, tmp_settings.warehouse, tmp_settings.workdir, profile="zh")
    write_csv(settings.inbox / "payments/2025-03-31_回款.csv", ["回款编号", "合同编号", "回款日期", "金额", "币种"],
              [["HK-1", "HT-001", "2025-03-09", "50,000", "CNY"]])
    assert ingest(con, settings, "payments").files[0].status == "loaded"


def test_unknown_profile_and_bad_profile_are_clear_errors(con, tmp_settings):
    use_profile(tmp_settings, "payments", "no_such_profile")
    write_csv(tmp_settings.inbox / "payments/2025-03-31_p.csv", ["payment_id"], [["P1"]])
    with pytest.raises(ProfileError, match="no mapping profile named 'no_such_profile'"):
        ingest(con, tmp_settings, "payments")
    with pytest.raises(ProfileError, match="names 'amout', not a column of payments"):
        parse_profile("typo", {"sources": {"payments": {"columns": {"amout": "Betrag"}}}})


def test_shipped_profiles_parse():
    for name in ("salesforce", "zh", "maven_crm"):
        assert load_profile(name, (SHIPPED_PROFILES_DIR,)).sources


@pytest.fixture
def maven_inbox(tmp_settings):
    for source, file in (("accounts", "accounts.csv"), ("opportunities", "sales_pipeline.csv")):
        folder = tmp_settings.inbox / source
        folder.mkdir(parents=True)
        shutil.copy(MAVEN / file, folder / f"2017-12-31_{file}")
        (folder / "_profile.yml").write_text("profile: maven_crm\n")
    return tmp_settings


def test_real_maven_crm_export_loads_through_a_user_profile(con, maven_inbox):
    accounts = ingest(con, maven_inbox, "accounts").files[0]
    opps = ingest(con, maven_inbox, "opportunities").files[0]
    assert (accounts.status, accounts.rows_loaded) == ("loaded", 85)
    # 8,800 deals; the 500 in Prospecting have no engage_date, so no created_at: reported, not loaded
    assert (opps.status, opps.rows_read, opps.rows_loaded, opps.rows_rejected) == ("partial", 8800, 8300, 500)
    reasons = con.execute("SELECT DISTINCT \"column\", rule FROM raw._load_issues").fetchall()
    assert reasons == [("created_at", "required value is missing")]
    stages = dict(con.execute("SELECT stage, count(*) FROM raw.opportunities GROUP BY 1").fetchall())
    assert stages == {"qualification": 1589, "closed_won": 4238, "closed_lost": 2473}
    # both spellings of the same product land in one family, open deals keep their missing account
    assert con.execute("SELECT count(*) FROM raw.opportunities WHERE product_family IS NULL").fetchone()[0] == 0
    with (MAVEN / "sales_pipeline.csv").open(encoding="utf-8") as f:
        engaged = [r for r in csv.DictReader(f) if r["deal_stage"] != "Prospecting"]
    assert con.execute("SELECT count(*) FROM raw.opportunities WHERE product = 'GTXPro'").fetchone()[0] == sum(
        r["product"] == "GTXPro" for r in engaged)
    assert con.execute("SELECT count(*) FROM raw.opportunities WHERE account_id IS NULL").fetchone()[0] == sum(
        r["account"] == "" for r in engaged) > 0
    regions = dict(con.execute("SELECT region, count(*) FROM raw.accounts GROUP BY 1").fetchall())
    assert regions["NA"] == 71 and sum(regions.values()) == 85


def test_maven_crm_only_inbox_runs_end_to_end(tmp_path, capsys):
    """The real export as a CRM-only inbox (no contracts, payments or costs) through `bdw run`."""
    from bdw.cli import main

    inbox = tmp_path / "inbox"
    for source, file in (("accounts", "accounts.csv"), ("opportunities", "sales_pipeline.csv")):
        (inbox / source).mkdir(parents=True)
        shutil.copy(MAVEN / file, inbox / source / f"2017-12-31_{file}")
    wh = tmp_path / "maven.duckdb"
    code = main(["run", "--inbox", str(inbox), "--warehouse", str(wh), "--profile", "maven_crm"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "500 row(s) rejected" in out
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM staging.stg_crm__opportunities").fetchone() == (8300,)
        assert con.execute("SELECT count(*) FROM staging.stg_crm__accounts").fetchone() == (85,)
        assert con.execute("SELECT count(*) FROM staging.stg_finance__contracts").fetchone() == (0,)
        # no fx file: the USD amounts are flagged, not turned into 0
        zero = con.execute("SELECT count(*) FROM staging.stg_crm__opportunities WHERE amount_cny = 0").fetchone()
        assert zero == (0,)
    finally:
        con.close()


def test_chinese_quota_export_loads_through_the_zh_profile(con, tmp_settings):
    """Sales ops' quotas with Chinese headers (员工编号 / 期间 / 指标金额), as docs/contract.md section 4 says."""
    use_profile(tmp_settings, "quotas", "zh")
    write_csv(tmp_settings.inbox / "quotas/2026-01-08_销售指标.csv", ["员工编号", "期间", "指标金额"],
              [["E1002", "2026-Q1", "6,610,000"], ["E1003", "2026", "4000000"]], encoding="gbk")
    f = ingest(con, tmp_settings, "quotas").files[0]
    assert (f.status, f.rows_loaded) == ("loaded", 2), f.issues
    assert con.execute("SELECT rep_id, period, quota_cny FROM raw.quotas ORDER BY 1").fetchall() == [
        ("E1002", "2026-Q1", Decimal("6610000.00")), ("E1003", "2026", Decimal("4000000.00"))]
