"""The machine-readable run record ``<workdir>/logs/run_*.json`` that the benchmark harness reads."""

from __future__ import annotations

import json

from bdw.contract import SOURCES

from conftest import query


def _record(sample_run: dict) -> dict:
    records = sorted((sample_run["work"] / "logs").glob("run_*.json"))
    assert len(records) == 1, records
    assert records[0].with_suffix(".log").exists()  # beside the run's log, with the same name
    return json.loads(records[0].read_text(encoding="utf-8"))


def test_steps_are_timed_one_after_another_within_the_run(sample_run: dict) -> None:
    record = _record(sample_run)
    assert record["success"] and record["published"] and record["status"] == "SUCCESS"  # Dagster's run status
    steps = record["steps"]
    names = {s["step"] for s in steps}
    assert {"raw__accounts", "bdw_dbt_models", "warehouse"} <= names
    assert [s["start"] for s in steps] == sorted(s["start"] for s in steps)
    for s, nxt in zip(steps, steps[1:], strict=False):
        assert s["start"] <= s["end"] <= nxt["start"] + 1e-3, (s, nxt)  # the in-process executor: one at a time
    assert record["started_at"] <= steps[0]["start"] and steps[-1]["end"] <= record["finished_at"]
    phases = {s["step"]: s["phase"] for s in steps}
    assert {k: phases[k] for k in ("raw__accounts", "raw__payments", "bdw_dbt_models", "great_expectations_checks",
                                   "warehouse", "report", "dbt_docs", "alerts")} == {
        "raw__accounts": "ingest", "raw__payments": "ingest", "bdw_dbt_models": "dbt",
        "great_expectations_checks": "validation", "warehouse": "publish", "report": "report", "dbt_docs": "report",
        "alerts": "report"}
    steps_by_name = {s["step"]: s for s in steps}  # the alerts are sent after the checks and the publishing
    assert steps_by_name["alerts"]["start"] >= steps_by_name["warehouse"]["end"] >= \
        steps_by_name["great_expectations_checks"]["end"]
    assert set(phases.values()) == {"ingest", "dbt", "validation", "publish", "report"}
    assert {"ingest", "dbt", "validation", "publish"} <= set(record["phases"])
    for phase, seconds in record["phases"].items():
        total = sum(s["end"] - s["start"] for s in steps if s["phase"] == phase)
        assert abs(seconds - total) <= 0.05 + 1e-9, phase


def test_rows_per_source_match_the_raw_tables(sample_run: dict) -> None:
    sources = _record(sample_run)["sources"]
    work_db = sample_run["work"] / "work.duckdb"
    for source, counts in sources.items():
        in_raw = query(work_db, f"SELECT count(*) FROM raw.{source}")[0][0]
        assert counts["rows_loaded"] == in_raw, source  # one run loaded everything the table holds
        assert counts["rows_read"] >= counts["rows_loaded"]
    assert set(sources) == set(SOURCES)  # every source of the contract
    assert sum(c["rows_read"] - c["rows_loaded"] for c in sources.values()) > 0  # the sample's bad rows
