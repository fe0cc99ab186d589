"""The Dagster UI as the README's ``dagster dev`` serves it, opened in a real headless Chromium.

``dagster dev`` runs from this checkout's .venv with only a handful of variables set (no PATH to
.venv: dbt must be found without it) against a tiny inbox and an empty warehouse folder. The page
lists the ``bdw_nightly`` job and the ``raw``, ``staging``, ``marts`` and ``publish`` asset
groups; the job is launched through Dagster's GraphQL API with the mutation the Launch button sends
(``LaunchPipelineExecution``), runs, publishes and records its checks. A ``bdw run`` with the same
DAGSTER_HOME then appears in the UI's runs list, with its asset checks."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_report import CHROMIUM, CHROMIUM_ARGS

from bdw.dbt_warm import PARSE_LOG
from services import GraphQL, dagster_home, free_port, service, wait_for, wait_for_run

from conftest import REPO, query, tiny_inbox

pytestmark = pytest.mark.slow
VENV_BIN = Path(sys.executable).parent
GROUPS = ("raw", "staging", "marts", "publish")
GX_CHECK = (["staging", "stg_crm__accounts"], "completeness_industry")  # 1 of 2 tiny accounts: fails (warn)
DBT_CHECK = (["staging", "stg_finance__payments"], "column_rules_stg_finance__payments")  # P1-P3: passes


def minimal_env(home: Path, inbox: Path, wh: Path) -> dict[str, str]:
    return {"DAGSTER_HOME": str(home), "BDW_INBOX": str(inbox), "BDW_WAREHOUSE": str(wh),
            "GX_ANALYTICS_ENABLED": "False", "DAGSTER_DISABLE_TELEMETRY": "1"}


def page_text(page, url: str, shows: Callable[[str], object], timeout: float = 60) -> str:
    """The visible text of ``url`` once ``shows(text)`` holds (the UI renders after its GraphQL calls)."""
    page.goto(url)

    def shown() -> str | None:
        text = page.inner_text("body")
        return text if shows(text) else None

    return wait_for(f"{url} to show what the test expects", shown, timeout, interval=0.5)


def lines_of(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines()}


def group_assets() -> dict[str, set[str]]:
    """The names of each group's assets, from the definitions the UI loads."""
    from bdw.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    groups: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name, set()).add(key.path[-1])
    return groups


def test_dagster_dev_shows_the_job_and_groups_and_runs_what_the_launch_button_launches(tiny_run, tmp_path):
    """``tiny_run``: a ``bdw run`` of this checkout has left the machine's shared dbt parse state,
    from which the launched run's dbt step parses only what changed (bdw.dbt_warm.start_for_run)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("the UI test needs Debian's chromium: apt-get install chromium (CI installs it)")
    port = free_port()
    home, inbox, wh = dagster_home(tmp_path / "dagster_home"), tmp_path / "inbox", tmp_path / "published" / "wh.duckdb"
    inbox.mkdir()
    wh.parent.mkdir()
    env = minimal_env(home, inbox, wh)
    gql, log, url = GraphQL(port), tmp_path / "dagster_dev.log", f"http://127.0.0.1:{port}"

    with service([str(VENV_BIN / "dagster"), "dev", "-p", str(port)], env, REPO, log):
        wait_for("dagster dev to load the bdw code location", gql.loaded, 300, log)
        # the automation would start runs of its own: this test launches the job by hand
        assert gql.stop_sensor("bdw_inbox_sensor") == "STOPPED"
        assert gql.stop_schedule("bdw_nightly_schedule") == "STOPPED"
        tiny_inbox(inbox)

        with sync_playwright() as p:
            # Playwright gives the browser a new empty profile (user data dir) of its own
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page_text(page, f"{url}/jobs", lambda t: "bdw_nightly" in lines_of(t))
                assets = group_assets()
                for group in GROUPS:
                    # the group's page, titled with its name, shows its assets (as many as fit)
                    page_text(page, f"{url}/locations/bdw/asset-groups/{group}",
                              lambda t, g=group: f"{g}\nAsset Group in" in t and lines_of(t) & assets[g])

                # while the runs go, no page is open: an open Dagster page polls the webserver every
                # two seconds, and the webserver and the page then took ~35 CPU-s from the runs
                page.goto("about:blank")
                run_id = gql.launch_job("bdw_nightly")
                assert wait_for_run(gql, run_id, 900, log) == "SUCCESS"
                assert query(wh, "SELECT run_id FROM raw._run_context") == [(run_id,)]
                assert query(wh, "SELECT count(*) > 0 FROM marts.kpi_values") == [(True,)]
                assert query(wh, "SELECT count(*), count(*) FILTER (WHERE NOT success) FROM dq.validation_results "
                                 "WHERE run_id = ? AND check_name = ?", [run_id, GX_CHECK[1]]) == [(1, 1)]
                gx, dbt_test = gql.check_executions(*GX_CHECK)[0], gql.check_executions(*DBT_CHECK)[0]
                assert (gx["runId"], gx["evaluation"]["success"]) == (run_id, False)
                assert (dbt_test["runId"], dbt_test["evaluation"]["success"]) == (run_id, True)
                (parse_log,) = (REPO / "dbt" / "target").glob(f"bdw_dbt_models-{run_id[:7]}-*/{PARSE_LOG}")
                assert "Unable to do partial parsing" not in parse_log.read_text(), parse_log.read_text()[-2000:]

                # `bdw run` from the command line (cron, an operator) with the same DAGSTER_HOME
                done = subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in env.items()), str(VENV_BIN / "bdw"),
                                       "run", "--inbox", str(inbox), "--warehouse", str(wh)],
                                      capture_output=True, text=True, timeout=900)
                assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
                assert f"Dagster: recorded in the instance at DAGSTER_HOME={home}" in done.stdout
                cli_run = query(wh, "SELECT run_id FROM raw._run_context")[0][0]
                assert cli_run != run_id and done.stdout.startswith(f"bdw run {cli_run[:8]} ")
                # the runs list shows it, succeeded, beside the run launched from the UI
                runs_page = page_text(page, f"{url}/runs", lambda t: {cli_run[:8], run_id[:8]} <= lines_of(t))
                assert lines_of(runs_page) >= {"bdw_nightly", "Success"}
                assert gql.check_executions(*GX_CHECK)[0]["runId"] == cli_run
                assert gql.check_executions(*DBT_CHECK)[0]["runId"] == cli_run
                # its page: succeeded, with its assets and checks and the checks' evaluations in its event log
                page_text(page, f"{url}/runs/{cli_run}",
                          lambda t: "Success" in lines_of(t) and re.search(r"^\d+ assets\n\d+ checks$", t, re.M)
                          and "ASSET_CHECK_EVALUATION" in lines_of(t), timeout=120)
            finally:
                browser.close()
