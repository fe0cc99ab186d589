"""bdw as a service, as docs/operations.md installs it: the daemon and the webserver started by the
``ExecStart`` of their systemd units (deploy/), in the unit's working directory, with only the
variables of the unit's environment file (``env -i``: nothing activated, no PATH to .venv), a
DAGSTER_HOME holding deploy/dagster.yaml, a tiny inbox and an empty warehouse folder.

One daemon session, both triggers switched on as their toggles in the UI do (``startSchedule``,
``startSensor``): the schedule, with a cron of every minute, fires from the daemon's own scheduler and
its run publishes the inbox; then a new file lands and the inbox sensor, switched on, starts a run
for the files it has not seen, which publishes the new file, and it starts no other. (How the sensor
tells new files from seen ones, run after run, is tests/integration/test_automation.py.) The runs
are read through the webserver's GraphQL API, which is also how the test knows the webserver serves
on its port."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from services import (
    DEPLOY,
    GraphQL,
    dagster_home,
    environment_file,
    free_port,
    read_unit,
    service,
    wait_for,
    wait_for_run,
)

from conftest import PAY_HEADER, query, tiny_inbox, write_csv

pytestmark = pytest.mark.slow
SENSOR, SCHEDULE = "bdw_inbox_sensor", "bdw_nightly_schedule"


def published_run(wh: Path) -> str:
    """The run whose data the published warehouse holds (dbt's step writes it into raw._run_context)."""
    return query(wh, "SELECT run_id FROM raw._run_context")[0][0]


def stays_stopped(gql: GraphQL, schedule: str) -> bool:
    """Switch the schedule off; whether it is still off 3 s later."""
    assert gql.stop_schedule(schedule) == "STOPPED"
    time.sleep(3)
    return gql.schedule_status(schedule) == "STOPPED"


def test_the_units_start_the_daemon_and_webserver_and_every_trigger_publishes(tmp_path):
    daemon = read_unit(DEPLOY / "bdw-dagster-daemon.service")
    webserver = read_unit(DEPLOY / "bdw-dagster-webserver.service")
    assert daemon.environment_file == webserver.environment_file == "/etc/bdw/bdw.env"
    assert daemon.exec_start[0].endswith("/.venv/bin/dagster-daemon")
    assert webserver.exec_start[0].endswith("/.venv/bin/dagster-webserver")

    port = free_port()
    inbox, published = tmp_path / "inbox", tmp_path / "published"
    published.mkdir()  # an empty warehouse folder: the service creates the rest
    wh = published / "warehouse.duckdb"
    env = environment_file(
        tmp_path / "bdw.env", DAGSTER_HOME=str(dagster_home(tmp_path / "dagster_home")), BDW_INBOX=str(inbox),
        BDW_WAREHOUSE=str(wh), BDW_SENSOR_INTERVAL_SECONDS="2", BDW_SCHEDULE_CRON="* * * * *",
        DAGSTER_WEBSERVER_PORT=str(port))
    assert "PATH" not in env and env["DAGSTER_WEBSERVER_HOST"] == "127.0.0.1"
    tiny_inbox(inbox)
    gql = GraphQL(port)
    web_log, daemon_log = tmp_path / "webserver.log", tmp_path / "daemon.log"

    with service(webserver.exec_start, env, webserver.working_directory, web_log):
        wait_for("the webserver to load the bdw code location", gql.loaded, 240, web_log)
        # both triggers off until the test switches them on, one after the other
        assert gql.stop_schedule(SCHEDULE) == "STOPPED"
        assert gql.stop_sensor(SENSOR) == "STOPPED"
        with service(daemon.exec_start, env, daemon.working_directory, daemon_log):
            assert gql.start_schedule(SCHEDULE) == "RUNNING"
            scheduled = wait_for("the schedule's run", lambda: gql.runs({"dagster/schedule_name": SCHEDULE}), 150,
                                 daemon_log)[0]["runId"]
            # one scheduled run is enough: switched off once the daemon has recorded the tick, and seen to
            # stay off (a stop while it still records the tick is overwritten, and it fires again a minute later)
            wait_for("the schedule's tick to be recorded", lambda: gql.schedule_tick_done(SCHEDULE, scheduled), 60,
                     daemon_log)
            wait_for("the schedule to stay off", lambda: stays_stopped(gql, SCHEDULE), 60, daemon_log)
            assert wait_for_run(gql, scheduled, 900, daemon_log) == "SUCCESS"
            assert published_run(wh) == scheduled
            assert query(wh, "SELECT count(*) FROM staging.stg_finance__payments") == [(3,)]

            write_csv(inbox / "payments/2025-05-31_payments.csv", PAY_HEADER, [["P8", "C1", "2025-05-02", "7", "CNY"]])
            assert gql.start_sensor(SENSOR) == "RUNNING"
            sensed = wait_for("the inbox sensor's run", lambda: gql.runs({"dagster/sensor_name": SENSOR}), 120,
                              daemon_log)[0]["runId"]
            assert wait_for_run(gql, sensed, 900, daemon_log) == "SUCCESS"
            assert published_run(wh) == sensed
            assert query(wh, "SELECT amount FROM staging.stg_finance__payments WHERE payment_id = 'P8'") == [(7,)]
            # the sensor keeps evaluating every 2 s: the files its run took start no other
            time.sleep(10)
            assert [r["runId"] for r in gql.runs({"dagster/sensor_name": SENSOR})] == [sensed]
            assert [r["runId"] for r in gql.runs()] == [sensed, scheduled]
            assert gql.schedule_status(SCHEDULE) == "STOPPED"
    assert "dbt executable" not in daemon_log.read_text(errors="replace")
