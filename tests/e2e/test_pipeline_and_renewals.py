"""Battle map 3 (docs/metrics.md sections 8-10 and the amended section 2) on one tiny hand-built inbox
run once through ``bdw run`` as of 2026-05-12, a Tuesday: 2026-Q1 is complete, 42 of the 91 days of
2026-Q2 have run (less than half), the next four quarters are 2026-Q3 to 2027-Q2.

Every expected value is computed by hand from the rows written here; the comment beside it shows the
arithmetic. All amounts CNY unless said; fx: EUR 2025-03 7.8, 2026-02 8.0; USD 2026-03 6.9, 2026-04
7.0, 2026-05 7.2.

Pipeline of 2026-Q2 (opportunities; S0 = the 2026-04-06 snapshot, S1 = 2026-05-11; the 05-18
snapshot is after --as-of):

  opp  at S0 (04-06)                 at S1 (05-11)                  now                     movement
  X1   500,000 commit, exp. 04-15    -                              won 04-15 (contract     won
                                                                    CX cancelled)
  W1   100,000 commit, exp. 04-28    -                              won 05-08               won
  L1   50,000                        closed_lost                    lost 05-01              lost
  P1   80,000, exp. 06-20            80,000, exp. 08-15             open                    pushed_out
  R1   200,000                       260,000 commit                 same                    increased +60,000
  U1   10,000 USD x 7.0 = 70,000     10,000 USD x 7.2 = 72,000      same                    increased +2,000
  R2   150,000                       120,000 best_case              same                    decreased -30,000
  D1   70,000                        -                              deleted                 removed
  B1   40,000, category blank        40,000, category blank         same                    (no change)
  N1   - (created 04-20)             90,000 pipeline                same                    created
  I1   60,000, exp. 07-20 (Q3)       60,000, exp. 06-10 best_case   same                    pulled_in
  O1r  closed_lost 30,000            35,000 omitted, exp. 06-05     same                    reopened

  opening 1,260,000 (9 deals) - 600,000 won - 50,000 lost - 80,000 pushed out - 70,000 removed
  + 62,000 increased - 30,000 decreased + 90,000 created + 60,000 pulled in + 35,000 reopened
  = closing 677,000 (7 deals)

Contracts (accounts AE EU manufacturing, AR CN consumer_electronics, AC CN healthcare):

  contract  account  signed      end         lines                                    notes
  E1        AE       2025-03-10  2026-02-28  saas 100,000 EUR + service 20,000 EUR    E = 100,000 x 7.8
  RE1       AE       2026-02-20  2027-02-28  saas 110,000 EUR                         renews E1: R = 110,000 x 8.0
  LP        AC       2025-02-11  2026-02-10  saas 300,000                             lapsed: grace ended 05-11
  PD        AC       2025-02-13  2026-02-12  saas 400,000                             pending: grace ends 05-13
  LT        AC       2024-12-01  2025-11-30  support 40,000                           renewed 10 days late by RLT
  RLT       AC       2026-03-10  2027-03-09  support 50,000
  FY        AR       2026-03-01  2027-02-28  saas 500,000                             renewal base 2027-Q1
  FZ        AC       2025-09-01  2027-08-31  saas 250,000                             2027-Q3: beyond four quarters
  CG1       AC       2026-02-15  2029-02-14  saas 100,000                             partner PA (silver then)
  CC1       AC       2026-04-10  2029-04-09  saas 600,000 + service 400,000           partner PA (gold then)
  CC2       AC       2026-04-20  2029-04-30  saas 300,000 + license 200,000
  CX        AC       2026-04-16  2027-04-15  saas 500,000                             cancelled; closes X1

  signed revenue 2026-Q1 = 100,000 + 880,000 + 50,000 + 500,000 = 1,530,000; 2026-Q2 = 1,500,000
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CONTRACT_HEADER, published, query, run_inbox, write_csv

AS_OF = "2026-05-12"
Q2_SHARE = 42 / 91  # 2026-04-01 .. 2026-05-12
approx = pytest.approx

OPP_HEADER = ["opportunity_id", "account_id", "owner_id", "created_at", "first_touch_at", "stage", "amount", "currency",
              "expected_close_date", "closed_at", "forecast_category", "channel", "partner_id", "product_family",
              "pain_points", "main_competitor", "next_step", "budget_confirmed"]
SNAP_HEADER = ["snapshot_date", "opportunity_id", "stage", "amount", "currency", "expected_close_date",
               "forecast_category"]
PARTNER_HEADER = ["partner_id", "partner_name", "region", "tier", "onboarded_date", "terminated_date",
                  "certified_date", "health_score", "credit_suspended"]


def opp(oid, account, owner, created, stage, amount, close, fc, closed="", currency="CNY", touch="", channel="direct",
        partner=""):
    return [oid, account, owner, created, touch, stage, amount, currency, close, closed, fc, channel, partner, "saas",
            "p", "m", "n", "true"]


def contract(cid, account, signed, end, owner="S1", currency="CNY", ctype="new", renews="", channel="direct",
             partner="", status="active", opportunity=""):
    return [cid, account, opportunity, owner, signed, signed, end, currency, ctype, renews, channel, partner, status]


def build_inbox(inbox: Path) -> None:
    write_csv(inbox / "reps/2026-01-05_reps.csv",
              ["rep_id", "rep_name", "team", "region", "hire_date", "leave_date", "role_tags"], [
                  ["S1", "Wang Fang", "direct", "CN", "2020-01-01", "", ""],
                  ["S2", "Chen Jing", "direct", "CN", "2020-01-01", "", ""],
                  ["PS1", "Liu Yang", "presales", "CN", "2020-01-01", "", ""],
              ])
    write_csv(inbox / "accounts/2026-01-05_accounts.csv",
              ["account_id", "account_name", "region", "country", "industry", "owner_id", "created_at"], [
                  ["AE", "Berlin Motors", "EU", "DE", "manufacturing", "S2", "2024-06-01"],
                  ["AR", "Shenzhen Gadgets", "CN", "CN", "consumer_electronics", "S1", "2024-06-01"],
                  ["AC", "Hangzhou Care", "CN", "CN", "healthcare", "S2", "2024-06-01"],
                  ["AX", "Nameless Ltd", "CN", "CN", "", "S1", "2024-06-01"],
              ])
    # an earlier export with D1, deleted by the current one
    write_csv(inbox / "opportunities/2026-04-01_opportunities.csv", OPP_HEADER, [
        opp("D1", "AC", "S1", "2026-03-20", "prospecting", "70000", "2026-06-18", "pipeline"),
    ])
    current = [
        opp("X1", "AC", "S2", "2026-01-10", "closed_won", "500000", "2026-04-15", "commit", closed="2026-04-15",
            touch="2026-01-05"),
        opp("W1", "AR", "S1", "2026-02-15", "closed_won", "100000", "2026-05-08", "commit", closed="2026-05-08"),
        opp("L1", "AC", "S2", "2026-02-01", "closed_lost", "50000", "2026-06-15", "omitted", closed="2026-05-01"),
        opp("P1", "AC", "S1", "2026-02-20", "proposal", "80000", "2026-08-15", "best_case"),
        opp("R1", "AR", "S1", "2026-03-01", "negotiation", "260000", "2026-06-20", "commit"),
        opp("R2", "AR", "S2", "2026-03-05", "proposal", "120000", "2026-06-25", "best_case"),
        opp("B1", "AC", "S2", "2026-03-10", "qualification", "40000", "2026-06-30", ""),
        opp("U1", "AE", "S2", "2026-03-12", "negotiation", "10000", "2026-06-12", "commit", currency="USD"),
        opp("N1", "AC", "S1", "2026-04-20", "prospecting", "90000", "2026-06-30", "pipeline"),
        opp("I1", "AE", "S1", "2026-03-15", "solution", "60000", "2026-06-10", "best_case"),
        opp("O1r", "AC", "S2", "2026-01-20", "proposal", "35000", "2026-06-05", "omitted"),
    ]
    deleted = opp("D1", "AC", "S1", "2026-03-20", "prospecting", "70000", "2026-06-18", "pipeline")
    write_csv(inbox / "opportunities/2026-05-12_opportunities.csv", [*OPP_HEADER, "is_deleted"],
              [[*r, "false"] for r in current] + [[*deleted, "true"]])
    write_csv(inbox / "opportunity_snapshots/2026-03-30_snapshot.csv", SNAP_HEADER, [
        ["2026-03-30", "O1r", "proposal", "30000", "CNY", "2026-03-31", "best_case"],
        ["2026-03-30", "X1", "negotiation", "500000", "CNY", "2026-04-15", "commit"],
    ])
    write_csv(inbox / "opportunity_snapshots/2026-04-06_snapshot.csv", SNAP_HEADER, [
        ["2026-04-06", "X1", "negotiation", "500000", "CNY", "2026-04-15", "commit"],
        ["2026-04-06", "W1", "negotiation", "100000", "CNY", "2026-04-28", "commit"],
        ["2026-04-06", "L1", "proposal", "50000", "CNY", "2026-06-15", "best_case"],
        ["2026-04-06", "P1", "proposal", "80000", "CNY", "2026-06-20", "best_case"],
        ["2026-04-06", "R1", "proposal", "200000", "CNY", "2026-06-20", "best_case"],
        ["2026-04-06", "U1", "negotiation", "10000", "USD", "2026-06-12", "commit"],
        ["2026-04-06", "R2", "proposal", "150000", "CNY", "2026-06-25", "best_case"],
        ["2026-04-06", "D1", "prospecting", "70000", "CNY", "2026-06-18", "pipeline"],
        ["2026-04-06", "B1", "qualification", "40000", "CNY", "2026-06-30", ""],
        ["2026-04-06", "I1", "solution", "60000", "CNY", "2026-07-20", "best_case"],
        ["2026-04-06", "O1r", "closed_lost", "30000", "CNY", "2026-03-31", "omitted"],
    ])
    write_csv(inbox / "opportunity_snapshots/2026-04-13_snapshot.csv", SNAP_HEADER, [
        ["2026-04-13", "W1", "negotiation", "100000", "CNY", "2026-04-28", "commit"],
        ["2026-04-13", "R1", "proposal", "200000", "CNY", "2026-06-20", "best_case"],
    ])
    write_csv(inbox / "opportunity_snapshots/2026-05-11_snapshot.csv", SNAP_HEADER, [
        ["2026-05-11", "L1", "closed_lost", "50000", "CNY", "2026-06-15", "omitted"],
        ["2026-05-11", "P1", "proposal", "80000", "CNY", "2026-08-15", "best_case"],
        ["2026-05-11", "R1", "negotiation", "260000", "CNY", "2026-06-20", "commit"],
        ["2026-05-11", "U1", "negotiation", "10000", "USD", "2026-06-12", "commit"],
        ["2026-05-11", "R2", "proposal", "120000", "CNY", "2026-06-25", "best_case"],
        ["2026-05-11", "B1", "qualification", "40000", "CNY", "2026-06-30", ""],
        ["2026-05-11", "N1", "prospecting", "90000", "CNY", "2026-06-30", "pipeline"],
        ["2026-05-11", "I1", "solution", "60000", "CNY", "2026-06-10", "best_case"],
        ["2026-05-11", "O1r", "proposal", "35000", "CNY", "2026-06-05", "omitted"],
    ])
    write_csv(inbox / "opportunity_snapshots/2026-05-18_snapshot.csv", SNAP_HEADER, [  # after --as-of
        ["2026-05-18", "R1", "negotiation", "300000", "CNY", "2026-06-20", "commit"],
    ])
    write_csv(inbox / "activities/2026-05-13_activities.csv",
              ["activity_id", "account_id", "opportunity_id", "owner_id", "activity_date", "activity_type"], [
                  ["A1", "AR", "", "PS1", "2026-04-14", "demo"],
                  ["A2", "AR", "", "PS1", "2026-04-21", "demo"],
                  ["A3", "AC", "", "PS1", "2026-05-05", "meeting"],
                  ["A4", "AX", "", "PS1", "2026-05-06", "demo"],  # an account without industry
                  ["A5", "AR", "", "PS1", "2026-05-13", "demo"],  # after --as-of
                  ["A6", "AR", "", "S1", "2026-04-15", "visit"],  # not presales
                  ["A7", "AR", "", "S1", "2025-01-02", "call"],  # the account's history, not W1's
                  ["A8", "AR", "W1", "S1", "2026-02-10", "call"],  # W1's own first activity
              ])
    write_csv(inbox / "contracts/2026-05-12_contracts.csv", CONTRACT_HEADER, [
        contract("E1", "AE", "2025-03-10", "2026-02-28", owner="S2", currency="EUR"),
        contract("RE1", "AE", "2026-02-20", "2027-02-28", owner="S2", currency="EUR", ctype="renewal", renews="E1"),
        contract("LP", "AC", "2025-02-11", "2026-02-10"),
        contract("PD", "AC", "2025-02-13", "2026-02-12"),
        contract("LT", "AC", "2024-12-01", "2025-11-30"),
        contract("RLT", "AC", "2026-03-10", "2027-03-09", ctype="renewal", renews="LT"),
        contract("FY", "AR", "2026-03-01", "2027-02-28"),
        contract("FZ", "AC", "2025-09-01", "2027-08-31", owner="S2"),
        contract("CG1", "AC", "2026-02-15", "2029-02-14", owner="S2", channel="partner", partner="PA"),
        contract("CC1", "AC", "2026-04-10", "2029-04-09", channel="partner", partner="PA"),
        contract("CC2", "AC", "2026-04-20", "2029-04-30", owner="S2"),
        contract("CX", "AC", "2026-04-16", "2027-04-15", owner="S2", status="cancelled", opportunity="X1"),
    ])
    write_csv(inbox / "contract_lines/2026-05-12_contract_lines.csv",
              ["contract_id", "line_no", "product_family", "amount", "is_recurring"], [
                  ["E1", "1", "saas", "100000", ""], ["E1", "2", "service", "20000", ""],
                  ["RE1", "1", "saas", "110000", ""], ["LP", "1", "saas", "300000", ""],
                  ["PD", "1", "saas", "400000", ""], ["LT", "1", "support", "40000", ""],
                  ["RLT", "1", "support", "50000", ""], ["FY", "1", "saas", "500000", ""],
                  ["FZ", "1", "saas", "250000", ""], ["CG1", "1", "saas", "100000", ""],
                  ["CC1", "1", "saas", "600000", ""], ["CC1", "2", "service", "400000", ""],
                  ["CC2", "1", "saas", "300000", ""], ["CC2", "2", "license", "200000", ""],
                  ["CX", "1", "saas", "500000", ""],
              ])
    write_csv(inbox / "fx_rates/2026-05-01_fx_rates.csv", ["month", "currency", "rate_to_cny"], [
        ["2025-03", "EUR", "7.8"], ["2026-02", "EUR", "8.0"],
        ["2026-03", "USD", "6.9"], ["2026-04", "USD", "7.0"], ["2026-05", "USD", "7.2"],
    ])
    write_csv(inbox / "costs/2026-05-12_costs.csv",
              ["cost_id", "contract_id", "cost_date", "cost_type", "amount", "currency"], [
                  ["K1", "CC1", "2026-04-20", "outsourcing", "10000", "USD"],  # at April's 7.0
                  ["K2", "CC1", "2026-05-10", "outsourcing", "20000", "CNY"],
                  ["K3", "CC1", "2026-05-11", "logistics", "5000", "CNY"],  # not in margin, in cost_ratio
                  ["K4", "CC1", "2026-05-13", "travel", "9999", "CNY"],  # after --as-of
                  ["K5", "CC2", "2026-05-01", "delivery_labor", "100000", "CNY"],
              ])
    # two partners exports: PA moves from silver (health 70) to gold (health 90, certified 03-15);
    # PT (EU) is terminated on 2026-02-10; PB (SEA) appears only in the later export
    write_csv(inbox / "partners/2025-12-31_partners.csv", PARTNER_HEADER, [
        ["PA", "Alpha Channel", "CN", "silver", "2025-01-01", "", "", "70", "false"],
        ["PT", "Euro Partner", "EU", "registered", "2025-06-01", "", "", "60", "false"],
    ])
    write_csv(inbox / "partners/2026-03-31_partners.csv", PARTNER_HEADER, [
        ["PA", "Alpha Channel", "CN", "gold", "2025-01-01", "", "2026-03-15", "90", "false"],
        ["PT", "Euro Partner", "EU", "registered", "2025-06-01", "2026-02-10", "", "50", "false"],
        ["PB", "Lion Digital", "SEA", "silver", "2026-01-15", "", "2026-02-01", "80", "false"],
    ])
    write_csv(inbox / "customer_financials/2026-05-01_financials.csv",
              ["account_id", "fiscal_quarter", "net_profit", "currency"], [
                  ["AR", "2025-Q4", "-100", "CNY"], ["AR", "2026-Q1", "-200", "CNY"],
              ])


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> Path:
    return published(run_inbox(tmp_path_factory.mktemp("battle_map_3"), build_inbox, AS_OF))


def q(wh: Path, sql: str, *params) -> list[tuple]:
    return query(wh, sql, list(params))


def kpi(wh: Path, kpi_id: str, period: str, segment: str = "all") -> float | None:
    rows = q(wh, "SELECT value FROM marts.kpi_values WHERE kpi_id = ? AND period = ? AND segment = ?",
             kpi_id, period, segment)
    assert len(rows) <= 1
    return rows[0][0] if rows else None


def segments(wh: Path, kpi_id: str, period: str, dimension: str) -> dict[str, float]:
    return dict(q(wh, "SELECT segment, value FROM marts.kpi_values WHERE kpi_id = ? AND period = ? "
                      "AND segment LIKE ?", kpi_id, period, f"{dimension}=%"))


# ---- section 8: the pipeline -----------------------------------------------------------------------
def test_every_movement_kind_of_the_quarter_and_the_identity(wh):
    rows = q(wh, "SELECT movement, deal_count, amount_cny FROM marts.pipeline_movements WHERE quarter = '2026-Q2' "
                 "ORDER BY step")
    assert [(m, n, float(a)) for m, n, a in rows] == [
        ("opening", 9, 1_260_000.0),  # X1 500k, W1 100k, L1 50k, P1 80k, R1 200k, U1 70k, R2 150k, D1 70k, B1 40k
        ("created", 1, 90_000.0),  # N1, absent from S0
        ("pulled_in", 1, 60_000.0),  # I1: expected in July at S0, in June at S1
        ("reopened", 1, 35_000.0),  # O1r: closed_lost at S0, open at S1 (at its S1 amount)
        ("increased", 2, 62_000.0),  # R1 +60,000; U1 10,000 USD at 7.0 then 7.2: +2,000
        ("decreased", 1, -30_000.0),  # R2 150k -> 120k
        ("won", 2, -600_000.0),  # X1 and W1: missing from S1, closed_won by then (the CRM's stage)
        ("lost", 1, -50_000.0),  # L1, closed_lost in S1 itself
        ("pushed_out", 1, -80_000.0),  # P1 now expected in August
        ("removed", 1, -70_000.0),  # D1, deleted between the snapshots
        ("closing", 7, 677_000.0),  # R1 260k + R2 120k + B1 40k + U1 72k + N1 90k + I1 60k + O1r 35k
    ]
    assert 1_260_000 + 90_000 + 60_000 + 35_000 + 62_000 - 30_000 - 600_000 - 50_000 - 80_000 - 70_000 == 677_000
    dates = q(wh, "SELECT DISTINCT opening_snapshot_date::varchar, closing_snapshot_date::varchar, is_complete "
                  "FROM marts.pipeline_movements WHERE quarter = '2026-Q2'")
    assert dates == [("2026-04-06", "2026-05-11", False)]  # the 05-18 snapshot is after --as-of
    # a quarter with one snapshot: opening = closing, nothing moved
    assert q(wh, "SELECT movement, deal_count, amount_cny::double FROM marts.pipeline_movements "
                 "WHERE quarter = '2026-Q1' ORDER BY step") == [("opening", 1, 30_000.0), ("closing", 1, 30_000.0)]
    moved = dict(q(wh, "SELECT opportunity_id, movement FROM intermediate.int_pipeline_movements "
                       "WHERE quarter = '2026-Q2'"))
    assert moved["B1"] is None and moved["P1"] == "pushed_out"


def test_pipeline_open_amount_by_forecast_category_blank_counts_as_pipeline(wh):
    # the running quarter in its current state (USD at May's 7.2): the closing pipeline above
    assert kpi(wh, "pipeline_open_amount", "2026-Q2") == approx(677_000)
    assert segments(wh, "pipeline_open_amount", "2026-Q2", "forecast_category") == {
        "forecast_category=commit": approx(332_000),  # R1 260k + U1 72k
        "forecast_category=best_case": approx(180_000),  # R2 120k + I1 60k
        "forecast_category=pipeline": approx(130_000),  # B1 40k (blank) + N1 90k
        "forecast_category=omitted": approx(35_000),  # O1r
    }
    assert kpi(wh, "pipeline_open_amount", "2026-Q2", "owner=S1") == approx(410_000)  # R1 + N1 + I1
    assert kpi(wh, "pipeline_open_amount", "2026-Q2", "region_group=overseas") == approx(132_000)  # U1 + I1 (AE)
    # a complete month: the last snapshot on or before its end (04-13): W1 expected on 04-28
    assert kpi(wh, "pipeline_open_amount", "2026-04") == approx(100_000)
    assert kpi(wh, "pipeline_open_amount", "2026-04", "forecast_category=commit") == approx(100_000)
    # a complete quarter: the 03-30 snapshot, O1r expected on 03-31 (X1 is expected in April)
    assert kpi(wh, "pipeline_open_amount", "2026-Q1") == approx(30_000)
    assert kpi(wh, "pipeline_open_amount", "2026-05") is None  # nothing open is expected in May
    assert kpi(wh, "pipeline_open_amount", "2026-Q3") is None  # not begun


def test_pipeline_created_amount_at_current_amounts(wh):
    assert kpi(wh, "pipeline_created_amount", "2026-01") == approx(535_000)  # X1 + O1r
    assert kpi(wh, "pipeline_created_amount", "2026-03") == approx(552_000)  # R1 + R2 + B1 + U1 72k + I1; D1 deleted
    assert kpi(wh, "pipeline_created_amount", "2026-Q2") == approx(90_000)  # N1
    assert kpi(wh, "pipeline_created_amount", "2026") == approx(535_000 + 230_000 + 552_000 + 90_000)
    assert kpi(wh, "pipeline_created_amount", "2026-Q1", "owner=S1") == approx(500_000)  # W1 + P1 + R1 + I1


def test_the_forecast_sets_deal_by_deal(wh):
    # April's set: the 04-06 snapshot's commits expected in April
    rows = q(wh, "SELECT opportunity_id, owner_id, commit_amount_cny::double, outcome FROM marts.forecast_commit_deals "
                 "ORDER BY month, opportunity_id")
    assert rows == [("W1", "S1", 100_000.0, "won_later"), ("X1", "S2", 500_000.0, "hit")]
    assert kpi(wh, "forecast_accuracy", "2026-04") == 0.5


# ---- section 2 amended: wins, win cycle, partners as of then ---------------------------------------
def test_a_won_deal_whose_contract_was_cancelled_is_no_win(wh):
    # closed in Q2: X1 (won, contract CX cancelled: lost), L1 lost, W1 won
    assert kpi(wh, "win_rate", "2026-Q2") == approx(1 / 3)
    assert kpi(wh, "avg_won_deal_size", "2026-Q2") == approx(100_000)
    assert q(wh, "SELECT is_won, contract_cancelled, counts_as_won FROM marts.fct_opportunities "
                 "WHERE opportunity_id = 'X1'") == [(True, True, False)]
    won = dict(q(wh, "SELECT rep_id, deals_won FROM marts.rep_scorecard WHERE period = '2026-Q2'"))
    assert (won["S1"], won["S2"]) == (1, 0)


def test_win_cycle_from_the_opportunitys_own_first_touch(wh):
    # W1 has no first_touch_at: its own first activity (A8, 2026-02-10), not the account's (2025-01-02)
    # -> closed 2026-05-08: 87 days (the account's history would give 491)
    assert kpi(wh, "win_cycle_days", "2026-Q2") == 87
    assert q(wh, "SELECT first_touch_source FROM marts.fct_opportunities WHERE opportunity_id = 'W1'"
             ) == [("opportunity_first_activity",)]


def test_partner_attributes_as_of_each_period_end(wh):
    # 2025-12-31: PA 70, PT 60 (the 2025-12-31 export); 2026-03-31: PA 90, PB 80 (the 2026-03-31 export)
    assert kpi(wh, "partner_health_avg", "2025-Q4") == 65
    assert kpi(wh, "partner_health_avg", "2026-Q1") == 85
    # January: PA and PT as of the 2025-12-31 export, PB (first exported in March) from its first export
    assert kpi(wh, "partner_health_avg", "2026-01") == approx((70 + 60 + 80) / 3)
    # February: PA not certified yet in the export then valid, PB certified 02-01
    assert kpi(wh, "partner_certified_share", "2026-02") == 0.5
    assert kpi(wh, "partner_certified_share", "2026-Q1") == 1.0
    # the tier when the contract was signed: CG1 (02-15) through a silver PA, CC1 (04-10) through a gold one
    assert kpi(wh, "gold_partner_revenue", "2026-Q1") == 0
    assert kpi(wh, "gold_partner_revenue", "2026-Q2") == approx(1_000_000)
    assert q(wh, "SELECT contract_id, partner_tier FROM marts.fct_contracts WHERE partner_id = 'PA' ORDER BY 1"
             ) == [("CC1", "gold"), ("CG1", "silver")]


# ---- section 9: recurring revenue --------------------------------------------------------------------
def test_retention_with_a_renewal_in_another_currency_and_a_lapsed_one(wh):
    # due in 2026-Q1: E1 (E 100,000 EUR x 7.8 = 780,000; the service line is not recurring), renewed by
    # RE1 (R 110,000 EUR x 8.0 = 880,000); LP lapsed (E 300,000, R 0); PD pending: left out
    e, r = 780_000, 880_000
    assert q(wh, "SELECT expiring_recurring_cny::double, renewed_recurring_cny::double FROM marts.fct_renewals "
                 "WHERE contract_id = 'E1'") == [(e, r)]
    assert kpi(wh, "net_revenue_retention", "2026-Q1") == approx(r / (e + 300_000))
    assert kpi(wh, "gross_revenue_retention", "2026-Q1") == approx(e / (e + 300_000))
    assert kpi(wh, "recurring_churn_rate", "2026-Q1") == approx(300_000 / (e + 300_000))
    assert kpi(wh, "renewal_price_uplift", "2026-Q1") == approx(r / e - 1)  # renewed contracts only
    assert kpi(wh, "renewal_price_uplift", "2026-Q1", "region=EU") == approx(r / e - 1)
    assert kpi(wh, "recurring_churn_rate", "2026", "region=CN") == 1.0  # LP
    assert kpi(wh, "renewal_rate", "2026-Q1") == 0.5  # E1 renewed, LP not, PD pending
    # the 2026 targets for EU: uplift 0.128 < 0.15 x 0.9 (off track), churn 0 <= 0.05 (on track)
    assert q(wh, "SELECT status FROM marts.kpi_values WHERE kpi_id = 'renewal_price_uplift' AND period = '2026' "
                 "AND segment = 'region=EU'") == [("off_track",)]
    assert q(wh, "SELECT status FROM marts.kpi_values WHERE kpi_id = 'recurring_churn_rate' AND period = '2026' "
                 "AND segment = 'region=EU'") == [("on_track",)]


def test_lapsed_and_pending_one_day_each_side_of_the_grace(wh):
    found = {c: rest for c, *rest in q(wh, "SELECT contract_id, grace_end_date::varchar, is_pending, is_open "
                                           "FROM marts.fct_renewals WHERE contract_id IN ('LP', 'PD')")}
    assert found == {"LP": ["2026-05-11", False, False], "PD": ["2026-05-13", True, True]}
    # renewal_base 2026-Q1 = E1 780k + LP 300k + PD 400k, of which only PD is still open
    assert kpi(wh, "renewal_base", "2026-Q1") == approx(1_480_000)
    assert kpi(wh, "renewal_base_open", "2026-Q1") == approx(400_000)
    assert kpi(wh, "renewal_base_open", "2026") == approx(400_000)


def test_a_late_renewal_is_flagged_with_its_days(wh):
    # LT ends 2025-11-30, grace to 2026-02-28; RLT signed 2026-03-10: 10 days late, no renewed amount
    assert q(wh, "SELECT is_renewed, is_renewed_late, days_late, renewed_recurring_cny::double FROM marts.fct_renewals "
                 "WHERE contract_id = 'LT'") == [(False, True, 10, 0.0)]
    assert kpi(wh, "recurring_churn_rate", "2025-Q4") == 1.0


def test_renewal_base_of_the_next_four_quarters_and_the_next_year(wh):
    # known in advance: 2027-Q1 = FY 500k + RE1 880k + RLT 50k; 2027 adds FZ's 250k (2027-Q3, beyond the
    # next four quarters: no quarterly row)
    assert kpi(wh, "renewal_base", "2027-Q1") == approx(1_430_000)
    assert kpi(wh, "renewal_base", "2027") == approx(1_680_000)
    assert kpi(wh, "renewal_base", "2027-Q3") is None
    assert kpi(wh, "renewal_base_open", "2027") == approx(1_680_000)
    assert kpi(wh, "renewal_base", "2026-Q3") is None  # nothing ends then
    assert kpi(wh, "renewal_base", "2027", "channel=direct") == approx(1_680_000)
    assert q(wh, "SELECT has_begun FROM marts.dim_periods WHERE period = '2027-Q1'") == [(False,)]
    # the retention ratios are for periods that have begun only
    assert kpi(wh, "net_revenue_retention", "2027") is None


# ---- section 10: channel and cost drivers -------------------------------------------------------------
def test_a_partner_terminated_mid_period(wh):
    # PT terminated on 2026-02-10: active at January's end (with PA and PB), not at February's
    assert kpi(wh, "active_partner_count", "2026-01") == 3
    assert segments(wh, "active_partner_count", "2026-01", "region_group") == {
        "region_group=domestic": 1, "region_group=overseas": 2}
    assert kpi(wh, "active_partner_count", "2026-02") == 2
    assert segments(wh, "active_partner_count", "2026-Q1", "tier") == {"tier=gold": 1, "tier=silver": 1}
    assert segments(wh, "active_partner_count", "2026-01", "tier") == {"tier=silver": 2, "tier=registered": 1}


def test_signed_revenue_by_partner(wh):
    assert kpi(wh, "signed_revenue", "2026", "partner=PA") == approx(1_100_000)  # CG1 + CC1
    assert kpi(wh, "signed_revenue", "2026", "channel=partner") == approx(1_100_000)


def test_cost_ratio_with_costs_in_usd(wh):
    # Q2 signed revenue: CC1 1,000,000 + CC2 500,000; outsourcing 10,000 USD x 7.0 + 20,000
    assert kpi(wh, "cost_ratio", "2026-Q2", "cost_type=outsourcing") == approx(90_000 / 1_500_000)
    assert kpi(wh, "cost_ratio", "2026-Q2", "cost_type=logistics") == approx(5_000 / 1_500_000)
    assert kpi(wh, "cost_ratio", "2026-Q2", "cost_type=travel") is None  # booked after --as-of
    assert kpi(wh, "cost_ratio", "2026-Q2") is None  # no `all` row
    assert kpi(wh, "cost_ratio", "2026", "cost_type=outsourcing") == approx(90_000 / 3_030_000)
    assert q(wh, "SELECT status FROM marts.kpi_values WHERE kpi_id = 'cost_ratio' AND period = '2026' "
                 "AND segment = 'cost_type=outsourcing'") == [("on_track",)]  # <= 0.08


def test_gross_margin_by_product_family_allocates_costs_pro_rata(wh):
    # CC1: eligible 90,000 (logistics excluded) -> saas 600/1000 = 54,000, service 36,000;
    # CC2: 100,000 -> saas 300/500 = 60,000, license 40,000
    assert kpi(wh, "gross_profit", "2026-Q2", "product_family=saas") == approx(900_000 - 114_000)
    assert kpi(wh, "gross_margin", "2026-Q2", "product_family=saas") == approx(786_000 / 900_000)
    assert kpi(wh, "gross_margin", "2026-Q2", "product_family=service") == approx(364_000 / 400_000)
    assert kpi(wh, "gross_margin", "2026-Q2", "product_family=license") == approx(160_000 / 200_000)
    assert kpi(wh, "gross_margin", "2026-Q2") == approx(1_310_000 / 1_500_000)


def test_presales_effort_share(wh):
    # PS1's activities up to --as-of on accounts with an industry: AR twice, AC once (AX has none;
    # A5 is after --as-of; S1's visit is not presales)
    assert segments(wh, "presales_effort_share", "2026-Q2", "industry") == {
        "industry=consumer_electronics": approx(2 / 3), "industry=healthcare": approx(1 / 3)}
    assert kpi(wh, "presales_effort_share", "2026-Q2") is None  # no `all` row
    assert kpi(wh, "presales_effort_share", "2026-Q1", "industry=healthcare") is None  # no activity then


# ---- early warnings -------------------------------------------------------------------------------------
def test_the_red_warning_states_the_amount_at_risk(wh):
    # AR: open pipeline R1 260,000 + R2 120,000; renewal base in the next 12 months FY 500,000
    (message, at_risk), = q(wh, "SELECT message, amount_at_risk_cny FROM marts.early_warnings "
                                "WHERE kind = 'budget_freeze' AND subject = 'AR'")
    assert at_risk == 880_000
    assert "880,000 CNY" in message and "open pipeline 380,000 CNY" in message and "500,000 CNY" in message


def test_concentration_waits_for_half_the_quarter(wh):
    found = {(k, p) for k, p in q(wh, "SELECT kind, period FROM marts.early_warnings WHERE kind = 'concentration'")}
    # AC makes all of 2026-Q2 so far, but 42 of 91 days is less than half; the year (AC 1.65M of 3.03M) warns
    assert found == {("concentration", "2026")}


def test_the_forecast_call_warning(wh):
    # won 1,500,000 (signed in Q2) + commit 332,000 against the plan to date 42M x 42/91
    ((value, threshold, message),) = q(wh, "SELECT value, threshold, message FROM marts.early_warnings "
                                           "WHERE kind = 'forecast_call'")
    assert (value, threshold) == (approx((1_500_000 + 332_000) / (42_000_000 * Q2_SHARE)), 0.8)
    assert "2026-Q2" in message and "won 1,500,000 CNY + commit 332,000 CNY" in message
