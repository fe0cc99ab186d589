"""Great Expectations on the default sample: the session's ``bdw sample`` and ``bdw run``
(conftest.sample_run), with a local webhook and a local SMTP server as its alert channels.

The completeness suite must warn exactly where the data says: the expected failing fields are
computed here independently, with SQL over the published staging tables and the seeds read with
``csv``. Every warning reaches the alert log, the webhook and the mailbox; the results history,
the weekly leaderboard and the Data Docs are there; and the same checks run as Dagster asset
checks report WARN (not blocking) for completeness and blocking ERROR checks for finance
validity, with the observed value, the threshold and the failing rows in their metadata."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from alert_servers import restored_environment

from conftest import query

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"


def seed_threshold(name: str) -> float:
    with (SEEDS / "kpi_thresholds.csv").open(encoding="utf-8") as f:
        return next(float(r["value"]) for r in csv.DictReader(f) if r["parameter"] == name)


def key_fields() -> list[tuple[str, str]]:
    with (SEEDS / "crm_key_fields.csv").open(encoding="utf-8") as f:
        return [(r["table_name"], r["column_name"]) for r in csv.DictReader(f)]


@pytest.fixture(scope="module")
def sample(sample_run) -> dict:
    """The session's sample run (conftest.sample_run: alerts to a local webhook and SMTP server), with
    the run id its validation results carry."""
    run_id = query(sample_run["wh"], "SELECT any_value(run_id) FROM dq.validation_results")[0][0]
    return {**sample_run, "run_id": run_id}


@pytest.fixture(scope="module")
def key_field_shares(sample) -> dict[str, float]:
    """The filled share of every CRM key field, computed here from the published staging tables."""
    shares = {}
    for table, column in key_fields():
        filled, total = query(sample["wh"], f'SELECT count("{column}"), count(*) FROM staging.stg_crm__{table}')[0]
        shares[f"{table}.{column}"] = filled / total
    return shares


@pytest.fixture(scope="module")
def expected_failing(key_field_shares) -> dict[str, float]:
    """Key fields below the target."""
    target = seed_threshold("alert_crm_completeness")
    return {field: share for field, share in key_field_shares.items() if share < target}


def test_the_sample_is_published_with_warnings_only(sample):
    assert sample["code"] == 0, sample["out"]
    assert f"Published {sample['wh']}" in sample["out"]
    assert "Data quality (Great Expectations" in sample["out"] and "no errors" in sample["out"]


def test_completeness_warns_exactly_where_the_data_says(sample, expected_failing):
    assert expected_failing, "the sample has incomplete CRM key fields"
    rows = query(sample["wh"], """
        SELECT replace(asset, 'staging.stg_crm__', '') || '.' || column_name, success, observed_value, threshold,
               severity
        FROM dq.validation_results WHERE run_id = ? AND suite = 'crm_completeness'""", [sample["run_id"]])
    assert len(rows) == len(key_fields())
    failing = {field: observed for field, success, observed, _, _ in rows if not success}
    assert failing.keys() == expected_failing.keys()
    for field, share in expected_failing.items():
        assert failing[field] == pytest.approx(share, abs=1e-12)
    assert {(threshold, severity) for *_, threshold, severity in rows} == {(0.95, "warn")}
    for field in failing:
        assert f"completeness_{field.split('.')[1]}: " in sample["out"]  # named in the run summary


def test_every_warning_reaches_the_log_the_webhook_and_the_mailbox(sample, expected_failing):
    log = [r for r in _log(sample) if r.get("run_id") == sample["run_id"]]
    completeness = {r["key"].removeprefix("completeness:"): r for r in log
                    if r["event"] == "alert" and r["key"].startswith("completeness:")}
    assert completeness.keys() == expected_failing.keys()
    for field, rec in completeness.items():
        assert rec["severity"] == "warn" and rec["observed"] == pytest.approx(expected_failing[field])
        assert rec["threshold"] == 0.95 and rec["owner"].startswith(f"field {field}")
        assert f"{expected_failing[field]:.1%} of the current" in rec["text"] and "target at least 95%" in rec["text"]
        assert rec["deliveries"] == {"webhook": "sent", "email": "sent"}
    hook_text = "\n".join(sample["hook_texts"])
    mail = sample["mail_bodies"]
    assert len(sample["hook_bodies"]) == 1 and len(mail) == 1  # one digest per channel and run
    assert sample["mail_to"] == ["sales-ops@example.com"]
    for rec in completeness.values():
        assert rec["text"] in hook_text and rec["text"] in mail[0]
    assert "SECRET-TOKEN" not in _log_text(sample) and "SECRET-TOKEN" not in sample["out"]


def test_early_warnings_become_alerts_naming_the_owner(sample):
    warnings = query(sample["wh"], "SELECT warning_id, subject_type, subject FROM marts.early_warnings "
                                   "WHERE subject_type <> 'crm_field'")
    log = {r["key"]: r for r in _log(sample) if r.get("run_id") == sample["run_id"] and r["event"] == "alert"}
    for warning_id, subject_type, subject in warnings:
        rec = log[f"early_warning:{warning_id}"]
        assert "against the threshold" in rec["text"]
        if subject_type == "account":
            owner = query(sample["wh"], "SELECT owner_id FROM staging.stg_crm__accounts WHERE account_id = ?",
                          [subject])[0][0]
            assert (f"rep {owner}" if owner else "has no owner") in rec["owner"]
    # a CRM field below target is announced once (by the completeness suite), not twice
    assert not [r for r in log.values() if r["source"] == "early_warnings" and "crm_field" in r["title"]]


def test_history_by_field_and_owner_is_appended_in_dq(sample, expected_failing):
    wh, run_id = sample["wh"], sample["run_id"]
    by_field = dict(((t + "." + f), c) for t, f, c in query(
        wh, "SELECT table_name, field, completeness FROM dq.crm_completeness_by_field_history WHERE run_id = ?",
        [run_id]))
    assert {k for k, c in by_field.items() if c < 0.95} == expected_failing.keys()
    per_owner = query(wh, "SELECT table_name, owner_id, sum(cells) FROM dq.crm_completeness_history "
                          "WHERE run_id = ? GROUP BY ALL", [run_id])
    n_fields = {t: sum(1 for tt, _ in key_fields() if tt == t) for t in ("accounts", "opportunities")}
    records = query(wh, "SELECT 'accounts', owner_id, count(*) FROM staging.stg_crm__accounts GROUP BY ALL "
                        "UNION ALL SELECT 'opportunities', owner_id, count(*) FROM staging.stg_crm__opportunities "
                        "GROUP BY ALL")
    assert {(t, o): c for t, o, c in per_owner} == {(t, o): n * n_fields[t] for t, o, n in records}
    owners = {o for _, o, _ in records}
    assert query(wh, "SELECT count(*) FROM dq.crm_completeness_by_owner_history WHERE run_id = ?", [run_id])[0][0] \
        == len(owners)


def test_weekly_leaderboard_and_bottom_reps(sample):
    wh = sample["wh"]
    weeks = query(wh, "SELECT count(DISTINCT week_start), min(rank_best), bool_and(completeness BETWEEN 0 AND 1) "
                      "FROM dq.crm_completeness_weekly")[0]
    assert weeks[0] > 100 and weeks[1] == 1 and weeks[2]
    bottom = {r[0] for r in query(wh, "SELECT owner_id FROM dq.crm_completeness_bottom_reps")}
    reps = {r[0] for r in query(wh, "SELECT subject FROM marts.early_warnings WHERE subject_type = 'rep'")}
    assert bottom == reps  # the same rule as the early warning


def test_data_docs_are_built_beside_the_warehouse_and_linked(sample):
    index = sample["wh"].parent / "data_docs" / "index.html"
    assert index.exists()
    assert f"Data Docs: {index.as_uri()}" in sample["out"]
    pages = list((sample["wh"].parent / "data_docs" / "validations").rglob("*.html"))
    assert len(pages) == 7  # one page per (suite, table) validated
    assert any(sample["run_id"] in str(p) for p in pages)


def test_the_checks_are_dagster_asset_checks_with_metadata(sample, expected_failing, key_field_shares, tmp_path):
    """The Great Expectations step alone, as Dagster runs it, on a copy of the published data."""
    from dagster import (
        AssetCheckSeverity,
        AssetSelection,
        DagsterInstance,
        Definitions,
        define_asset_job,
    )

    from bdw.definitions import build_definitions
    from bdw.resources import BdwSettings, WorkingDatabase

    shutil.copy(sample["wh"], tmp_path / "work.duckdb")
    defs = build_definitions()
    gx_checks = next(c for c in defs.asset_checks if c.node_def.name == "great_expectations_checks")
    keys = list(gx_checks.check_keys)
    job = Definitions.merge(defs, Definitions(jobs=[define_asset_job("dq_only", AssetSelection.checks(*keys))])) \
        .resolve_job_def("dq_only")
    with restored_environment(), DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False, resources={
            "bdw": BdwSettings(inbox=str(sample["inbox"]), warehouse=str(tmp_path / "wh.duckdb"),
                               workdir=str(tmp_path / "work"), as_of="2026-11-26"),
            "duckdb": WorkingDatabase(database=str(tmp_path / "work.duckdb"))})
    assert result.success
    assert not (tmp_path / "alerts.jsonl").exists()  # the checks step sends nothing: the alerts asset does
    evaluations = {(e.asset_key.path[1], e.check_name): e for e in result.get_asset_check_evaluations()}
    assert len(evaluations) == len(keys)
    for table, column in key_fields():
        e = evaluations[(f"stg_crm__{table}", f"completeness_{column}")]
        assert e.severity == AssetCheckSeverity.WARN and not e.blocking
        assert e.passed == (f"{table}.{column}" not in expected_failing)
        assert e.metadata["threshold"].value == 0.95
        assert e.metadata["observed_value"].value == pytest.approx(key_field_shares[f"{table}.{column}"])
        if not e.passed:
            assert e.metadata["failing_rows"].value > 0 and "(owner " in e.metadata["failing_rows_sample"].value
    validity = [e for (model, name), e in evaluations.items()
                if model.startswith("stg_finance__") and name != "new_contract_value_positive"]
    # 12 rules: unique keys and positive rates are dbt tests (docs/data_quality.md)
    assert len(validity) == 12 and all(e.passed and e.blocking and e.severity == AssetCheckSeverity.ERROR
                                       for e in validity)
    # one finance rule only warns: a new contract whose lines sum to zero or less
    sign = evaluations[("stg_finance__contracts", "new_contract_value_positive")]
    assert sign.passed and not sign.blocking and sign.severity == AssetCheckSeverity.WARN
    fx = evaluations[("stg_finance__fx_rates", "rate_close_to_previous_month")]
    assert fx.metadata["threshold"].value == 0.2 and 0 < fx.metadata["observed_value"].value < 0.2
    assert fx.metadata["data_docs"].value.startswith("file://")


def _log_text(sample) -> str:
    return (sample["wh"].parent / "alerts.jsonl").read_text(encoding="utf-8")


def _log(sample) -> list[dict]:
    from bdw.alerts import read_log

    return read_log(sample["wh"].parent / "alerts.jsonl")


@pytest.mark.parametrize("beyond_2262", [False, True], ids=["nanosecond dates", "a date beyond 2262"])
def test_date_rules_fail_exactly_the_dates_outside_their_bounds(tmp_path, beyond_2262):
    """A date rule's bounds are inclusive. GX judges dates at nanosecond resolution in one vectorised
    step (bdw.quality.gx_runner.nanosecond_dates); a column holding 9999-12-31, which nanoseconds
    cannot hold, keeps its resolution and GX's row-by-row path. Both find the same rows."""
    import datetime as dt

    import pandas as pd

    from bdw.quality.gx_runner import nanosecond_dates, run_suites
    from bdw.quality.rules import date_bounds, validity_rules
    from bdw.quality.thresholds import load_quality_config

    cfg = load_quality_config()
    rule = next(r for r in validity_rules(cfg) if r.name == "end_date_plausible")
    reference = dt.date(2026, 11, 26)
    lo, hi = date_bounds(cfg, rule, reference)
    day = dt.timedelta(days=1)
    dates = {"C1": lo, "C2": hi, "C3": lo - day, "C4": hi + day, "C5": None, "C6": reference}
    if beyond_2262:
        dates["C7"] = dt.date(9999, 12, 31)
    snapshot = pd.DataFrame({"contract_id": list(dates), "row_ref": [f"contract {c}" for c in dates],
                             "end_date": pd.Series(list(dates.values()), dtype="datetime64[us]")})
    assert str(nanosecond_dates(snapshot)["end_date"].dtype) == ("datetime64[us]" if beyond_2262 else "datetime64[ns]")
    assert str(snapshot["end_date"].dtype) == "datetime64[us]"  # the snapshot itself is left as it is

    (result,), _ = run_suites({"contracts": snapshot}, [rule], cfg, workdir=tmp_path / "work",
                              docs_dir=tmp_path / "docs", run_name="dates", reference=reference)
    expected = [f"contract C3: end_date {lo - day}", f"contract C4: end_date {hi + day}"]
    if beyond_2262:
        expected.append("contract C7: end_date 9999-12-31")
    assert not result.success and result.error is None
    assert (result.element_count, result.unexpected_count) == (len(dates), len(expected))
    assert result.sample == expected
