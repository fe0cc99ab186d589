"""The dbt model ``dq.source_freshness`` on a hand-made working database: ingestion's manifest and
the run's thresholds written as a run writes them, then ``dbt build`` of the model (and its test).
One source per case, the expected status and age (on 2026-03-10) worked out by hand:

  source                 files in raw._load_manifest (status)        max  age  status
  accounts               03-01 loaded, 03-09 quarantined              1    9   stale (quarantined: nothing delivered)
  opportunities          03-09 partial                                1    1   fresh (exactly at the threshold)
  activities             03-08 loaded                                 1    2   stale (one day past)
  opportunity_snapshots  03-02 loaded, 03-03 duplicate                7    7   fresh (an unchanged export still came)
  forecasts              03-12 loaded                                35   -2   fresh (dated after --as-of)
  payments               payments.csv loaded (no date in the name)   35    -   undated
  costs                  03-01_a.csv, 03-01_b.csv loaded             35    9   fresh, the newest is _b (name order)
  fx_rates               2025-01-01 loaded                           off 433   off
  contracts              2026-01-01 quarantined                      35    -   no_data (nothing delivered)
  every other source     none                                                  no_data
"""

from __future__ import annotations

import datetime as dt

import duckdb

from bdw.ingest import ensure_raw_tables
from bdw.quality.freshness import read_freshness
from bdw.run_context import write_run_context
from bdw.settings import parse_freshness

from conftest import dbt_on

AS_OF = dt.date(2026, 3, 10)
MANIFEST = [
    ("accounts", "accounts/2026-03-01_accounts.csv", "loaded"),
    ("accounts", "accounts/2026-03-09_accounts.csv", "quarantined"),
    ("opportunities", "opportunities/2026-03-09_opportunities.csv", "partial"),
    ("activities", "activities/2026-03-08_activities.csv", "loaded"),
    ("opportunity_snapshots", "opportunity_snapshots/2026-03-02_snap.csv", "loaded"),
    ("opportunity_snapshots", "opportunity_snapshots/2026-03-03_snap.csv", "duplicate"),
    ("forecasts", "forecasts/2026-03-12_forecasts.csv", "loaded"),
    ("payments", "payments/payments.csv", "loaded"),
    ("costs", "costs/2026-03-01_b.csv", "loaded"),
    ("costs", "costs/2026-03-01_a.csv", "loaded"),
    ("fx_rates", "fx_rates/2025-01-01_fx_rates.csv", "loaded"),
    ("contracts", "contracts/2026-01-01_contracts.csv", "quarantined"),
]
EXPECTED = {  # source: (status, newest_file, age_days, max_age_days)
    "accounts": ("stale", "accounts/2026-03-01_accounts.csv", 9, 1),
    "opportunities": ("fresh", "opportunities/2026-03-09_opportunities.csv", 1, 1),
    "activities": ("stale", "activities/2026-03-08_activities.csv", 2, 1),
    "opportunity_snapshots": ("fresh", "opportunity_snapshots/2026-03-03_snap.csv", 7, 7),
    "forecasts": ("fresh", "forecasts/2026-03-12_forecasts.csv", -2, 35),
    "payments": ("undated", None, None, 35),
    "costs": ("fresh", "costs/2026-03-01_b.csv", 9, 35),
    "fx_rates": ("off", "fx_rates/2025-01-01_fx_rates.csv", 433, None),
    "contracts": ("no_data", None, None, 35),
}


def test_each_source_is_judged_by_its_newest_delivered_file(tmp_path):
    db = tmp_path / "work.duckdb"
    with duckdb.connect(str(db)) as con:
        ensure_raw_tables(con)
        con.executemany("INSERT INTO raw._load_manifest (source, file, status) VALUES (?, ?, ?)", MANIFEST)
        write_run_context(con, AS_OF, "run-1", parse_freshness({"fx_rates": "off"}))
    code, results = dbt_on(db, tmp_path, "build", "--select", "source_freshness")
    assert code == 0, {k: r["status"] for k, r in results.items()}
    assert {r["status"] for r in results.values()} == {"success", "pass"}  # the model and its column_rules test
    with duckdb.connect(str(db), read_only=True) as con:
        rows = {r.source: r for r in read_freshness(con)}
    assert len(rows) == 16
    for source, (status, newest, age, max_age) in EXPECTED.items():
        r = rows[source]
        assert (r.status, r.newest_file, r.age_days, r.max_age_days) == (status, newest, age, max_age), source
        assert r.as_of_date == AS_OF
    assert rows["opportunity_snapshots"].files == 2 and rows["accounts"].files == 1
    assert {s for s, r in rows.items() if r.status == "no_data"} == {
        "contracts", "contract_lines", "customer_financials", "manual_measurements", "partners", "quotas",
        "rep_reviews", "reps"}
    assert rows["quotas"].files == 0 and rows["quotas"].newest_file_date is None
