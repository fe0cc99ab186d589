"""The nightly schedule and the inbox sensor, evaluated with Dagster's own test utilities."""

from __future__ import annotations

import os

import pytest
from dagster import DefaultScheduleStatus, DefaultSensorStatus, SensorResult, build_sensor_context

from bdw.resources import BdwSettings

from conftest import write_csv

PAY = ["payment_id", "contract_id", "received_date", "amount", "currency"]


@pytest.fixture(scope="module")
def defs():
    from bdw.definitions import build_definitions

    return build_definitions()


def test_nightly_schedule_defaults_to_two_am_shanghai_and_runs_everything(defs):
    schedule = defs.resolve_schedule_def("bdw_nightly_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "bdw_nightly"


def test_schedule_cron_and_timezone_are_configurable(defs, monkeypatch):
    from bdw.automation import nightly_schedule

    monkeypatch.setenv("BDW_SCHEDULE_CRON", "30 23 * * 1-5")
    monkeypatch.setenv("BDW_SCHEDULE_TIMEZONE", "Europe/Berlin")
    s = nightly_schedule(defs.resolve_job_def("bdw_nightly"))
    assert (s.cron_schedule, s.execution_timezone) == ("30 23 * * 1-5", "Europe/Berlin")


def test_inbox_sensor_runs_once_per_new_content(defs, tmp_path):
    sensor = defs.resolve_sensor_def("bdw_inbox_sensor")
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    assert sensor.job_name == "bdw_nightly"
    inbox = tmp_path / "inbox"
    resources = {"bdw": BdwSettings(inbox=str(inbox), warehouse=str(tmp_path / "wh.duckdb"))}

    def evaluate(cursor: str | None) -> SensorResult:
        with build_sensor_context(cursor=cursor, resources=resources) as ctx:
            return sensor(ctx)

    assert evaluate(None).skip_reason is not None  # empty inbox
    first_file = write_csv(inbox / "payments/2026-01-31_payments.csv", PAY, [["P1", "C1", "2026-01-05", "1", "CNY"]])
    first = evaluate(None)
    assert len(first.run_requests) == 1
    # the same files again: no run
    again = evaluate(first.cursor)
    assert not again.run_requests and again.skip_reason is not None
    # a touched but unchanged file is not new either
    st = first_file.stat()
    os.utime(first_file, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    touched = evaluate(again.cursor)
    assert not touched.run_requests
    # a new export is, and asks for a run with a different run key
    write_csv(inbox / "payments/2026-02-28_payments.csv", PAY, [["P2", "C1", "2026-02-05", "1", "CNY"]])
    second = evaluate(touched.cursor)
    assert len(second.run_requests) == 1
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    # files that are not data (a folder's profile choice) never trigger a run
    (inbox / "payments/_profile.yml").write_text("profile: zh\n")
    assert not evaluate(second.cursor).run_requests


def test_service_instance_config_limits_writers_to_one(tmp_path, monkeypatch):
    """deploy/dagster.yaml (copied into DAGSTER_HOME for the daemon) loads and sets the limits."""
    import shutil
    from pathlib import Path

    from dagster import DagsterInstance

    shutil.copy(Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
