"""Plan to date, quotas and the rep scorecard (docs/metrics.md sections 4, 6 and 7) on one tiny
hand-built inbox run once through ``bdw run`` as of 2026-05-15 (a Friday): 2026-Q1 is complete, 45 of
the 91 days of 2026-Q2 and 135 of the 365 days of 2026 have run. The targets are the seed's (2026:
signed_revenue 175M, quarters 38M / 42M / 45M / 55M; renewable_revenue 135M; quota_attainment 1.0).

Every expected value is computed by hand from the rows written here; the comment beside it shows
the arithmetic. The inbox (reps R*, accounts A*, contracts C*, all CNY, all channel direct):

  contract  owner  signed      line                        notes
  C1        R1     2026-01-20  license 20,000,000
  C2        R1     2026-03-10  license 18,000,000          Q1 = 38M
  C3        R2     2026-04-15  saas 11,000,000             recurring (renewable_revenue)
  C4        R2     2026-05-15  license 10,000,000          on --as-of: counts; Q2 = 21M, 2026 = 59.0M
  C5        R1     2026-05-16  license 5,000,000           the day after --as-of: not counted

  quotas    R1 2026-Q1 20M, Q2 25M, Q3 25M, Q4 30M (quarterly rows only: the year is 100M)
            R2 2026 80M (a yearly row only: no quarterly value)
            R9 2026 10M (not in the roster: loads, reference problem, left out)
            a later file with a negative quota and a period 2026-Q5: quarantined whole
  reps      R1, R2 direct; R3 presales; R4 channel, hired 2026-05-11 (a Monday)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CONTRACT_HEADER, published, query, run_inbox, write_csv

AS_OF = "2026-05-15"
M = 1_000_000
Q2_SHARE = 45 / 91  # 2026-04-01 .. 2026-05-15 of 91 days
YEAR_SHARE = 135 / 365
approx = pytest.approx


def contract(cid: str, owner: str, account: str, signed: str, end: str = "") -> list[str]:
    return [cid, account, "", owner, signed, signed, end, "CNY", "new", "", "direct", "", "active"]


def build_inbox(inbox: Path) -> None:
    write_csv(inbox / "reps/2026-01-05_reps.csv",
              ["rep_id", "rep_name", "team", "region", "hire_date", "leave_date", "role_tags"], [
                  ["R1", "Wang Fang", "direct", "CN", "2020-01-01", "", ""],
                  ["R2", "Chen Jing", "direct", "CN", "2020-01-01", "", ""],
                  ["R3", "Liu Yang", "presales", "CN", "2020-01-01", "", ""],
                  ["R4", "Zhao Lei", "channel", "CN", "2026-05-11", "", ""],
              ])
    write_csv(inbox / "rep_reviews/2026-01-20_reviews.csv", ["rep_id", "period", "grade"], [
        ["R1", "2025-H2", "B"], ["R1", "2025", "A"],  # both end on 2025-12-31: the year's review is the latest
        ["R2", "2025-H1", "B+"],
    ])
    write_csv(inbox / "accounts/2026-01-05_accounts.csv",
              ["account_id", "account_name", "region", "industry", "owner_id", "created_at", "pain_points",
               "procurement_cycle", "main_competitor", "decision_maker"], [
                  ["A1", "Acme", "CN", "retail", "R1", "2025-06-01", "cost", "annual", "X", "Zhang San"],
                  ["A2", "Globex", "CN", "", "R2", "2025-06-01", "N/A", "q3", "", "Li Si"],
              ])
    write_csv(inbox / "opportunities/2026-05-15_opportunities.csv",
              ["opportunity_id", "account_id", "owner_id", "created_at", "stage", "amount", "currency",
               "expected_close_date", "closed_at", "forecast_category", "channel", "pain_points", "main_competitor",
               "next_step", "budget_confirmed"], [
                  ["O1", "A1", "R1", "2025-12-01", "closed_won", "20000000", "CNY", "2026-01-20", "2026-01-20",
                   "commit", "direct", "p", "m", "n", "true"],
                  ["O2", "A1", "R1", "2025-12-01", "closed_lost", "4000000", "CNY", "2026-02-01", "2026-02-01",
                   "commit", "direct", "p", "m", "n", "true"],
                  ["O3", "A2", "R1", "2026-03-01", "proposal", "3000000", "CNY", "2026-06-30", "",
                   "best_case", "direct", "p", "m", "n", "true"],
              ])
    write_csv(inbox / "contracts/2026-05-16_contracts.csv", CONTRACT_HEADER, [
        contract("C1", "R1", "A1", "2026-01-20"),
        contract("C2", "R1", "A2", "2026-03-10"),
        contract("C3", "R2", "A1", "2026-04-15", end="2027-04-14"),
        contract("C4", "R2", "A2", "2026-05-15"),
        contract("C5", "R1", "A1", "2026-05-16"),
    ])
    write_csv(inbox / "contract_lines/2026-05-16_contract_lines.csv",
              ["contract_id", "line_no", "product_family", "amount", "is_recurring"], [
                  ["C1", "1", "license", "20,000,000", ""], ["C2", "1", "license", "18000000", ""],
                  ["C3", "1", "saas", "11000000", ""], ["C4", "1", "license", "10000000", ""],
                  ["C5", "1", "license", "5000000", ""],
              ])
    write_csv(inbox / "quotas/2026-01-05_quotas.csv", ["rep_id", "period", "quota_cny"], [
        ["R1", "2026-Q1", "20,000,000"], ["R1", "2026-Q2", "25000000"], ["R1", "2026-Q3", "25000000"],
        ["R1", "2026-Q4", "30000000"],
        ["R2", "2026", "80000000"],
        ["R9", "2026", "10000000"],
    ])
    # a later file from sales ops with two bad rows: all or nothing, the whole file is quarantined
    write_csv(inbox / "quotas/2026-04-01_quotas.csv", ["rep_id", "period", "quota_cny"], [
        ["R1", "2026-Q2", "-5000000"],
        ["R2", "2026-Q5", "1000"],
        ["R1", "2026-Q3", "1000"],
    ])
    write_csv(inbox / "activities/2026-05-16_activities.csv",
              ["activity_id", "account_id", "opportunity_id", "owner_id", "activity_date", "activity_type"], [
                  ["V1", "A1", "", "R1", "2026-05-04", "visit"],
                  ["V2", "A1", "O1", "R1", "2026-05-04", "meeting"],  # same owner, account and day: once
                  ["V3", "A2", "", "R1", "2026-05-04", "visit"],  # another account the same day
                  ["V4", "A1", "", "R1", "2026-05-09", "visit"],  # a Saturday: counts, no working day
                  ["V5", "A1", "", "R1", "2026-05-06", "call"],  # not a visit
                  ["V6", "A2", "", "R1", "2026-05-16", "visit"],  # after --as-of
                  ["V7", "A2", "", "R2", "2026-05-12", "meeting"],
                  ["V8", "A1", "", "R3", "2026-05-05", "visit"],  # presales: left out
                  ["V9", "A1", "", "R4", "2026-05-12", "visit"],
                  ["V10", "A2", "", "R4", "2026-05-13", "visit"],
              ])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, int, str]:
    return run_inbox(tmp_path_factory.mktemp("plan"), build_inbox, AS_OF)


@pytest.fixture(scope="module")
def wh(run) -> Path:
    return published(run)


def q(wh: Path, sql: str, *params) -> list[tuple]:
    return query(wh, sql, list(params))


def kpi(wh: Path, kpi_id: str, period: str, segment: str = "all") -> float | None:
    rows = q(wh, "SELECT value FROM marts.kpi_values WHERE kpi_id = ? AND period = ? AND segment = ?",
             kpi_id, period, segment)
    return rows[0][0] if rows else None


def attainment(wh: Path, kpi_id: str, period: str, segment: str = "all") -> dict:
    cols = ["value", "target", "plan_to_date", "attainment", "gap_to_plan", "run_rate", "status", "is_complete"]
    found = q(wh, f"SELECT {', '.join(cols)} FROM marts.kpi_attainment WHERE kpi_id = ? AND period = ? "
                  "AND segment = ?", kpi_id, period, segment)
    assert len(found) == 1, f"{kpi_id} {period} {segment}: {found}"
    return dict(zip(cols, found[0], strict=True))


def test_the_worked_example_of_section_6(wh):
    # 59.0M signed by 2026-05-15; Q1 complete (38M), Q2 45 of 91 days: 42M x 45/91 = 20.769M;
    # plan to date = 175M x (38M + 20.769M) / 180M = 57.137M; attainment 1.0326, gap -1.863M
    plan = 175 * M * (38 * M + 42 * M * Q2_SHARE) / (180 * M)
    assert plan == approx(57.137 * M, abs=1_000)
    a = attainment(wh, "signed_revenue", "2026")
    assert a == {"value": approx(59 * M), "target": 175 * M, "plan_to_date": approx(plan),
                 "attainment": approx(59 * M / plan), "gap_to_plan": approx(plan - 59 * M),
                 "run_rate": approx(59 * M / YEAR_SHARE), "status": "on_track", "is_complete": False}
    assert a["attainment"] == approx(1.0326, abs=1e-4) and a["gap_to_plan"] == approx(-1.863 * M, abs=1_000)
    # the straight line would have said 175M x 135/365 = 64.7M: at risk; kpi_values uses the same rule
    assert 0.9 * 175 * M * YEAR_SHARE < 59 * M < 175 * M * YEAR_SHARE
    assert q(wh, "SELECT status FROM marts.kpi_values WHERE kpi_id = 'signed_revenue' AND period = '2026' "
                 "AND segment = 'all'") == [("on_track",)]


def test_plan_to_date_of_a_quarter_a_complete_period_and_a_year_without_quarterly_targets(wh):
    # a running quarter: 42M x 45/91 = 20.769M, 21M signed (C3 + C4; C4 on --as-of counts)
    q2 = attainment(wh, "signed_revenue", "2026-Q2")
    assert q2["plan_to_date"] == approx(42 * M * Q2_SHARE)
    assert (q2["value"], q2["status"]) == (approx(21 * M), "on_track")
    assert q2["run_rate"] == approx(21 * M / Q2_SHARE)
    # a complete period: plan to date = target; 38M = 38M is met
    q1 = attainment(wh, "signed_revenue", "2026-Q1")
    assert (q1["plan_to_date"], q1["attainment"], q1["gap_to_plan"], q1["run_rate"], q1["status"]) == (
        38 * M, approx(1.0), approx(0), None, "met")
    # a year without quarterly targets: 135M x 135/365 = 49.93M; C3's 11M is far behind
    r = attainment(wh, "renewable_revenue", "2026")
    assert r["plan_to_date"] == approx(135 * M * YEAR_SHARE)
    assert (r["value"], r["gap_to_plan"], r["status"]) == (approx(11 * M), approx(135 * M * YEAR_SHARE - 11 * M),
                                                           "off_track")


def test_a_contract_signed_the_day_after_as_of_does_not_count(wh):
    assert kpi(wh, "signed_revenue", "2026") == approx(59 * M)  # not 64M: C5 is dated 2026-05-16
    assert kpi(wh, "signed_revenue", "2026-05") == approx(10 * M)  # C4 only
    assert kpi(wh, "signed_revenue", "2026-Q2", "owner=R1") is None  # R1's only Q2 contract is C5
    assert kpi(wh, "signed_revenue", "2026", "owner=R1") == approx(38 * M)
    assert kpi(wh, "signed_revenue", "2026", "owner=R2") == approx(21 * M)
    assert kpi(wh, "signed_revenue", "2026-05", "owner=R2") is None  # segment owner: years and quarters only


def test_quota_attainment_of_quarterly_rows_a_yearly_row_and_all(wh):
    # R1 has quarterly rows only: its year is 20 + 25 + 25 + 30 = 100M; 38M signed
    assert kpi(wh, "quota_attainment", "2026-Q1", "owner=R1") == approx(38 / 20)
    assert kpi(wh, "quota_attainment", "2026-Q2", "owner=R1") == 0.0  # a quota and nothing signed yet
    assert kpi(wh, "quota_attainment", "2026", "owner=R1") == approx(38 / 100)
    # R2 has a yearly row only: no quarterly value
    assert kpi(wh, "quota_attainment", "2026", "owner=R2") == approx(21 / 80)
    assert kpi(wh, "quota_attainment", "2026-Q1", "owner=R2") is None
    # R9 is not in the roster: left out of every quota KPI
    assert kpi(wh, "quota_attainment", "2026", "owner=R9") is None
    # all: the reps with a quota for the period, (38 + 21) / (100 + 80); Q1 is R1's alone
    assert kpi(wh, "quota_attainment", "2026") == approx(59 / 180)
    assert kpi(wh, "quota_attainment", "2026-Q1") == approx(38 / 20)
    # paced by the quotas due: R1 (20 + 25 x 45/91) of 100M, R2 80M x 135/365 (no quarterly rows)
    due = (20 + 25 * Q2_SHARE + 80 * YEAR_SHARE) / 180
    a = attainment(wh, "quota_attainment", "2026")
    assert (a["target"], a["plan_to_date"]) == (1.0, approx(due))
    assert a["status"] == "at_risk"  # 0.328 vs 0.344: within 10%


def test_visits_once_per_owner_account_and_day_weekends_in_the_numerator_only(wh):
    # May 2026 up to Friday the 15th: 11 working days (1, 4-8, 11-15). Field reps at --as-of: R1, R2
    # and R4 (R3 is presales) = 3. Visits: R1 A1 on the 4th (a visit and a meeting: once), A2 on the
    # 4th, A1 on Saturday the 9th = 3; R2 1; R4 2; the call, the visit after --as-of and R3's are not
    # counted: 6 / (11 x 3)
    assert kpi(wh, "customer_visits_per_day", "2026-05") == approx(6 / 33)
    assert kpi(wh, "customer_visits_per_day", "2026-05", "owner=R1") == approx(3 / 11)
    assert kpi(wh, "customer_visits_per_day", "2026-05", "owner=R2") == approx(1 / 11)
    # R4 was employed on 5 working days (hired Monday the 11th)
    assert kpi(wh, "customer_visits_per_day", "2026-05", "owner=R4") == approx(2 / 5)
    assert kpi(wh, "customer_visits_per_day", "2026-05", "owner=R3") is None
    assert kpi(wh, "customer_visits_per_day", "2026-04") is None  # no visit data in April: absent
    assert attainment(wh, "customer_visits_per_day", "2026")["plan_to_date"] == 2  # a count: the target


def test_rep_scorecard(wh):
    cols = ["team", "signed_revenue_cny", "quota_cny", "quota_attainment", "plan_to_date", "attainment", "status",
            "rank_in_team", "deals_won", "win_rate", "open_pipeline_cny", "customer_visits_per_day",
            "crm_completeness", "latest_review_grade"]
    rows = {r[0]: dict(zip(cols, r[1:], strict=True)) for r in q(
        wh, f"SELECT rep_id, {', '.join(cols)} FROM marts.rep_scorecard WHERE period = '2026'")}
    assert set(rows) == {"R1", "R2", "R3", "R4"}  # the roster employed in 2026; R9 is not in it
    r1_due = (20 + 25 * Q2_SHARE) / 100
    assert rows["R1"] == {
        "team": "direct", "signed_revenue_cny": approx(38 * M), "quota_cny": 100 * M, "quota_attainment": approx(0.38),
        "plan_to_date": approx(r1_due), "attainment": approx(0.38 / r1_due), "status": "on_track", "rank_in_team": 1,
        "deals_won": 1, "win_rate": 0.5, "open_pipeline_cny": 3 * M,
        # visits of 2026: 3 on the 97 working days from Thursday January 1 to Friday May 15
        # (22 + 20 + 22 + 22 + 11)
        "customer_visits_per_day": approx(3 / 97),
        # A1 6 of 6 key fields and O1..O3 8 of 8 each; A2 is R2's
        "crm_completeness": 1.0, "latest_review_grade": "A"}
    # R2: 21M of 80M with 135/365 of the year due: 0.2625 / 0.3699 = 0.71, off track
    assert (rows["R2"]["attainment"], rows["R2"]["status"], rows["R2"]["rank_in_team"]) == (
        approx(21 / 80 / YEAR_SHARE), "off_track", 2)
    # A2: industry empty, pain_points 'N/A', main_competitor empty: 3 of 6 filled
    assert (rows["R2"]["crm_completeness"], rows["R2"]["latest_review_grade"]) == (0.5, "B+")
    assert (rows["R3"]["quota_cny"], rows["R3"]["status"], rows["R3"]["customer_visits_per_day"]) == (None, None, None)
    q1 = q(wh, "SELECT rep_id, status FROM marts.rep_scorecard WHERE period = '2026-Q1' AND quota_cny IS NOT NULL")
    assert q1 == [("R1", "met")]  # 38M of 20M; R2 has no quarterly quota
    empty = q(wh, "SELECT empty_field_names FROM marts.crm_record_completeness WHERE record_id = 'A2'")
    assert empty == [(["industry", "main_competitor", "pain_points"],)]


def test_a_bad_quotas_file_is_quarantined_and_an_unknown_rep_is_a_reference_problem(run, wh):
    _, _, out = run
    status = q(wh, "SELECT file, status FROM raw._load_manifest WHERE source = 'quotas' ORDER BY file")
    assert status == [("quotas/2026-01-05_quotas.csv", "loaded"), ("quotas/2026-04-01_quotas.csv", "quarantined")]
    issues = q(wh, """SELECT row_number, "column", rule FROM raw._load_issues
                      WHERE file = 'quotas/2026-04-01_quotas.csv' AND row_number IS NOT NULL ORDER BY 1""")
    assert issues == [(2, "quota_cny", "must be greater than 0"),
                      (3, "period", "not a year like 2026 or a quarter like 2026-Q1")]
    assert "quotas/2026-04-01_quotas.csv" in out
    # nothing of the quarantined file loaded: R1's Q3 quota is still 25M
    assert q(wh, "SELECT quota_cny FROM staging.stg_hr__quotas WHERE rep_id = 'R1' AND period = '2026-Q3'") == [
        (25 * M,)]
    found = q(wh, "SELECT source, source_file, source_row, column_name, rule, message FROM dq.reference_issues "
                  "WHERE rule = 'unknown_rep'")
    assert [f[:5] for f in found] == [("quotas", "quotas/2026-01-05_quotas.csv", 7, "rep_id", "unknown_rep")]
    assert "R9" in found[0][5] and "not in the reps data" in found[0][5]
