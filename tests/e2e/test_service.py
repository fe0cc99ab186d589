"""bdw as a service, as docs/operations.md installs it: the daemon and the webserver started by the
``ExecStart`` of their systemd units (deploy/), in the unit's working directory, with only the
variables of the unit's environment file (``env -i``: nothing activated, no PATH to .venv), a
DAGSTER_HOME holding deploy/dagster.yaml, a tiny inbox and an empty warehouse folder.

One daemon session: the inbox sensor's run publishes; a new file in the inbox starts a second run
that publishes again; then the schedule, switched on (``startSchedule``, as its toggle in the UI
does) with a cron of every minute, fires from the daemon's own scheduler and its run publishes too.
The runs are read through the webserver's GraphQL API, which is also how the test knows the webserver
serves on its port."""

from __future__ import annotations

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
        # the schedule fires every minute in this test: off until the sensor's runs are done
        assert gql.stop_schedule(SCHEDULE) == "STOPPED"
        with service(daemon.exec_start, env, daemon.working_directory, daemon_log):
            first = wait_for("the inbox sensor's run", lambda: gql.runs({"dagster/sensor_name": SENSOR}), 240,
                             daemon_log)[0]["runId"]
            assert wait_for_run(gql, first, 900, daemon_log) == "SUCCESS"
            assert published_run(wh) == first
            assert query(wh, "SELECT count(*) FROM staging.stg_finance__payments") == [(3,)]

            write_csv(inbox / "payments/2025-05-31_payments.csv", PAY_HEADER, [["P8", "C1", "2025-05-02", "7", "CNY"]])
            second = wait_for("the sensor's run for the new file",
                              lambda: [r for r in gql.runs({"dagster/sensor_name": SENSOR}) if r["runId"] != first],
                              120, daemon_log)[0]["runId"]
            assert wait_for_run(gql, second, 900, daemon_log) == "SUCCESS"
            assert published_run(wh) == second
            assert query(wh, "SELECT amount FROM staging.stg_finance__payments WHERE payment_id = 'P8'") == [(7,)]

            assert gql.start_schedule(SCHEDULE) == "RUNNING"
            scheduled = wait_for("the schedule's run", lambda: gql.runs({"dagster/schedule_name": SCHEDULE}), 150,
                                 daemon_log)[0]["runId"]
            assert gql.stop_schedule(SCHEDULE) == "STOPPED"  # one scheduled run is enough
            assert wait_for_run(gql, scheduled, 900, daemon_log) == "SUCCESS"
            assert published_run(wh) == scheduled
            # the files of the first two runs did not start a third
            assert {r["runId"] for r in gql.runs({"dagster/sensor_name": SENSOR})} == {first, second}
    assert "dbt executable" not in daemon_log.read_text(errors="replace")
