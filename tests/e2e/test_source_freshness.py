"""Stale sources end to end: four ``bdw run`` of one tiny inbox (about 30 s each), recorded in a
Dagster instance (for the asset checks), with the alerts going to a local webhook.

Thresholds are the defaults: CRM daily (1 day), finance monthly (35 days). The inbox:

  accounts/2026-03-01_accounts.csv            9 days old on 2026-03-10: stale
  opportunities/2026-03-09_opportunities.csv  1 day old on 2026-03-10: exactly at the threshold, fresh
  fx_rates/2026-03-01_fx_rates.csv            9 days old, monthly: fresh
  (no payments, contracts, ... at all: not judged)

1. ``--as-of 2026-03-10``: one warning (raw/accounts freshness), one alert, a summary line, a report line;
2. ``--as-of 2026-03-11``, nothing new: accounts is still stale and is NOT announced again; opportunities
   is now one day past its threshold: its own alert;
3. the same as-of and inbox again: nothing changed, so the run publishes and sends nothing (the
   verdict of a run depends only on its as-of date and the inbox, so there is nothing to re-judge);
4. new accounts and opportunities exports dated 2026-03-11: both clear, each announced once as cleared.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey, DagsterInstance

from alert_servers import WebhookSink, bdw, use_channels
from bdw.alerts import read_log
from bdw.contract import SOURCES
from services import dagster_home

from conftest import query, write_csv

ACCOUNTS = ["account_id", "account_name", "region", "created_at", "industry", "owner_id", "pain_points",
            "procurement_cycle", "main_competitor", "decision_maker"]
OPPORTUNITIES = ["opportunity_id", "account_id", "owner_id", "created_at", "stage", "amount", "currency", "channel",
                 "expected_close_date", "forecast_category", "pain_points", "main_competitor", "next_step",
                 "budget_confirmed"]


def accounts(inbox: Path, day: str) -> None:
    write_csv(inbox / f"accounts/{day}_accounts.csv", ACCOUNTS,
              [["A1", "Acme", "CN", "2025-01-05", "retail", "R1", "slow quotes", "annual", "Globex", "Wang Wu"]])


def opportunities(inbox: Path, day: str) -> None:
    write_csv(inbox / f"opportunities/{day}_opportunities.csv", OPPORTUNITIES,
              [["O1", "A1", "R1", "2026-01-06", "proposal", "1000", "CNY", "direct", "2026-06-30", "pipeline",
                "slow quotes", "Globex", "demo", "true"]])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("freshness")
    inbox, wh, work, home = root / "inbox", root / "pub" / "wh.duckdb", root / "work", dagster_home(root / "home")
    accounts(inbox, "2026-03-01")
    opportunities(inbox, "2026-03-09")
    write_csv(inbox / "fx_rates/2026-03-01_fx_rates.csv", ["month", "currency", "rate_to_cny"],
              [["2026-02", "USD", "7.2"]])
    out: list[dict] = []
    with WebhookSink() as hook, pytest.MonkeyPatch.context() as mp:
        use_channels(mp, root / "alerts_config", {"webhook": hook.url()})
        mp.setenv("DAGSTER_HOME", str(home))

        def run(as_of: str) -> None:
            before = len(hook.texts)
            code, text = bdw("run", "--inbox", str(inbox), "--warehouse", str(wh), "--workdir", str(work),
                             "--as-of", as_of)
            report = wh.with_name("wh_report.html").read_text(encoding="utf-8")
            out.append({"code": code, "out": text, "messages": hook.texts[before:], "report": report})

        run("2026-03-10")
        run("2026-03-11")
        run("2026-03-11")
        accounts(inbox, "2026-03-11")
        opportunities(inbox, "2026-03-11")
        run("2026-03-11")
    log = read_log(wh.parent / "alerts.jsonl")
    return {"runs": out, "log": log, "wh": wh, "home": home}


def run_id(runs: dict, n: int) -> str:
    short = runs["runs"][n]["out"].split()[2]
    return next(r["run_id"] for r in runs["log"] if str(r.get("run_id", "")).startswith(short))


def freshness_events(runs: dict, n: int, event: str) -> dict[str, dict]:
    rid = run_id(runs, n)
    return {r["key"]: r for r in runs["log"]
            if r.get("run_id") == rid and r.get("event") == event and r["key"].startswith("freshness:")}


def checks(runs: dict, source: str) -> list:
    """The ``freshness`` check of ``raw/<source>``, oldest run first."""
    with DagsterInstance.from_config(str(runs["home"])) as instance:
        records = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey(["raw", source]), "freshness"), limit=10)
    return [(r.run_id, r.event.asset_check_evaluation) for r in reversed(records)]


def test_a_source_older_than_its_threshold_raises_one_warning_and_one_alert(runs):
    first = runs["runs"][0]
    assert first["code"] == 0 and "Published" in first["out"], first["out"]
    (check_run, accounts_check), *_ = checks(runs, "accounts")
    assert check_run == run_id(runs, 0)
    assert not accounts_check.passed and accounts_check.severity == AssetCheckSeverity.WARN
    meta = {k: v.value for k, v in accounts_check.metadata.items()}
    assert {k: meta[k] for k in ("newest_file", "newest_file_date", "age_days", "max_age_days", "cadence", "as_of")} \
        == {"newest_file": "accounts/2026-03-01_accounts.csv", "newest_file_date": "2026-03-01", "age_days": 9,
            "max_age_days": 1, "cadence": "daily", "as_of": "2026-03-10"}
    # exactly at the threshold (1 day), a monthly source 9 days old, and the sources with no data pass
    first_checks = {source: checks(runs, source)[0][1] for source in SOURCES}
    assert [s for s, e in first_checks.items() if not e.passed] == ["accounts"]
    assert first_checks["opportunities"].metadata["age_days"].value == 1
    assert first_checks["fx_rates"].metadata["age_days"].value == 9
    assert first_checks["payments"].metadata["status"].value == "no_data"

    (alert,) = freshness_events(runs, 0, "alert").values()
    assert alert["key"] == "freshness:accounts" and alert["severity"] == "warn"
    assert (alert["observed"], alert["threshold"]) == (9, 1)
    assert alert["owner"] == "the CRM admin (accounts exports)"
    assert alert["text"].startswith("[WARN] Stale source accounts (no new daily export): newest file "
                                    "accounts/2026-03-01_accounts.csv is dated 2026-03-01, 9 days before the as-of "
                                    "date 2026-03-10; older than the 1 day allowed for a daily export.")
    assert len(first["messages"]) == 1 and alert["text"] in first["messages"][0]
    assert ("  WARN  accounts: newest file accounts/2026-03-01_accounts.csv is dated 2026-03-01, 9 days before "
            "the as-of date 2026-03-10") in first["out"]
    assert "Stale sources (dq.source_freshness; thresholds: freshness in config/bdw.yml): 1" in first["out"]
    # the report page's data-quality section: one line, with its age
    section = first["report"].split('id="stale-sources"')[1].split("</div>")[0]
    assert section.count("<li") == 1 and 'data-source="accounts"' in section
    assert "newest file accounts/2026-03-01_accounts.csv is 9 days old on 2026-03-10, 1 allowed" in section


def test_a_lasting_breach_is_not_announced_again_and_one_day_past_the_threshold_is_stale(runs):
    second = runs["runs"][1]
    assert second["code"] == 0 and "as of 2026-03-11" in second["out"]
    assert list(freshness_events(runs, 1, "alert")) == ["freshness:opportunities"]
    assert not freshness_events(runs, 1, "cleared")
    (message,) = second["messages"]
    assert "Stale source opportunities" in message and "Stale source accounts" not in message
    assert "2 days before the as-of date 2026-03-11; older than the 1 day allowed" in message
    assert [e.passed for _, e in checks(runs, "accounts")][:2] == [False, False]
    assert [e.passed for _, e in checks(runs, "opportunities")][:2] == [True, False]
    section = second["report"].split('id="stale-sources"')[1].split("</div>")[0]
    assert section.count("<li") == 2 and "is 10 days old on 2026-03-11" in section


def test_a_run_with_nothing_changed_publishes_and_sends_nothing(runs):
    third = runs["runs"][2]
    assert third["code"] == 0 and "nothing changed since run" in third["out"]
    assert third["messages"] == []
    assert len(checks(runs, "accounts")) == 3  # runs 1, 2 and 4


def test_a_new_file_clears_the_breach(runs):
    fourth = runs["runs"][3]
    assert fourth["code"] == 0 and "Stale sources" not in fourth["out"]
    assert not freshness_events(runs, 3, "alert")
    cleared = freshness_events(runs, 3, "cleared")
    assert sorted(cleared) == ["freshness:accounts", "freshness:opportunities"]
    assert cleared["freshness:accounts"]["text"].startswith(
        "[CLEARED] Stale source accounts (no new daily export): newest file accounts/2026-03-11_accounts.csv is "
        "dated 2026-03-11, 0 days before the as-of date 2026-03-11; within the 1 day allowed for a daily export "
        "(open since ")
    (message,) = fourth["messages"]
    assert message.count("[CLEARED]") == 2
    assert [e.passed for _, e in checks(runs, "accounts")][-1]
    assert "None: every source's newest export is within its threshold." in fourth["report"]
    # over the four runs each breach opened once and cleared once
    opened = [r["key"] for r in runs["log"] if r.get("event") == "alert" and r["key"].startswith("freshness:")]
    assert sorted(opened) == ["freshness:accounts", "freshness:opportunities"]
    assert query(runs["wh"], "SELECT source, status, age_days FROM dq.source_freshness WHERE files > 0 "
                             "ORDER BY source") == [("accounts", "fresh", 0), ("fx_rates", "fresh", 10),
                                                   ("opportunities", "fresh", 0)]
