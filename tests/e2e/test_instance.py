"""``bdw run`` with ``DAGSTER_HOME`` set: its run, materialisations and check results are in the
persistent Dagster instance the daemon and the UI use (bdw.instance), and a ``bdw run`` killed
while it held the working database's writer slot does not keep later runs waiting for it.

Runs are real ``bdw`` subprocesses on a tiny inbox, as cron would start them."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance, DagsterRunStatus

from bdw.cli import main
from bdw.settings import FAULT_POINT_ENV
from services import dagster_home

from conftest import query, tiny_inbox

POOL = "duckdb_writer"


def bdw_run(inbox: Path, wh: Path, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != FAULT_POINT_ENV}
    env["DAGSTER_HOME"] = str(home)
    # a run that waited for a slot nobody will give back would never end: the timeout fails it
    return subprocess.run([sys.executable, "-m", "bdw.cli", "run", "--inbox", str(inbox), "--warehouse", str(wh)],
                          env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> dict:
    """A ``bdw run`` started while a daemon's run holds the writer slot: it waits, and once the slot
    is free it runs until it is killed in its checks step (holding the slot itself); then a clean one."""
    root = tmp_path_factory.mktemp("instance")
    home, inbox, wh = dagster_home(root / "dagster_home"), root / "inbox", root / "wh.duckdb"
    tiny_inbox(inbox)
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(POOL)  # limit 1, from deploy/dagster.yaml
        assert storage.claim_concurrency_slot(POOL, "daemon-run", "raw__accounts").is_claimed
        env = {k: v for k, v in os.environ.items() if k != FAULT_POINT_ENV} | {
            "DAGSTER_HOME": str(home), FAULT_POINT_ENV: "checks:running"}
        proc = subprocess.Popen([sys.executable, "-m", "bdw.cli", "run", "--inbox", str(inbox), "--warehouse",
                                 str(wh)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            ready, _, _ = select.select([proc.stderr], [], [], 300)  # the run says so before its first step
            said = proc.stderr.readline() if ready else "(nothing said within 300 s)"
            time.sleep(10)  # the run goes on waiting: nothing is ingested meanwhile
            waiting = {"said": said, "still_running": proc.poll() is None,
                       "ingested": (root / ".bdw" / "work.duckdb").exists()}
            storage.free_concurrency_slot_for_step("daemon-run", "raw__accounts")
            out, err = proc.communicate(timeout=900)
        finally:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, out[-2000:] + err[-2000:]
    with DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        slots_after_kill = [(s.run_id, s.step_key) for s in instance.event_log_storage.get_concurrency_info(POOL)
                            .claimed_slots]
        status_after_kill = run.status
    clean = bdw_run(inbox, wh, home)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    return {"home": home, "wh": wh, "root": root, "killed_id": run.run_id, "slots_after_kill": slots_after_kill,
            "status_after_kill": status_after_kill, "clean": clean, "waiting": waiting}


def test_a_bdw_run_is_in_the_persistent_instance_with_its_materialisations_and_checks(two_runs):
    home, clean = two_runs["home"], two_runs["clean"]
    assert f"Dagster: recorded in the instance at DAGSTER_HOME={home} (shown in the Dagster UI)" in clean.stdout
    with DagsterInstance.from_config(str(home)) as instance:
        runs = [r for r in instance.get_runs() if r.run_id != two_runs["killed_id"]]
        assert len(runs) == 1
        run = runs[0]
        assert clean.stdout.startswith(f"bdw run {run.run_id[:8]} as of 2025-04-30")
        assert (run.job_name, run.status) == ("bdw_nightly", DagsterRunStatus.SUCCESS)
        assert run.tags["bdw/launched_by"] == "bdw run" and run.tags["bdw/as_of"] == "2025-04-30"
        for key in (AssetKey(["raw", "payments"]), AssetKey(["staging", "stg_finance__payments"]),
                    AssetKey(["warehouse"])):
            assert instance.get_latest_materialization_event(key).run_id == run.run_id, key
        storage = instance.event_log_storage
        # a Great Expectations check: 1 of the 2 tiny accounts has an industry ("N/A" is a placeholder)
        (gx,) = storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey(["staging", "stg_crm__accounts"]), "completeness_industry"), limit=1)
        evaluation = gx.event.asset_check_evaluation
        assert gx.run_id == run.run_id and not evaluation.passed
        assert evaluation.metadata["observed_value"].value == 0.5
        # a dbt test as an asset check: the three payment ids are unique
        (dbt_test,) = storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey(["staging", "stg_finance__payments"]), "column_rules_stg_finance__payments"),
            limit=1)
        assert dbt_test.run_id == run.run_id and dbt_test.event.asset_check_evaluation.passed
        # the run record the benchmark harness reads copies Dagster's status and times
        record = next(p for p in (two_runs["root"] / ".bdw" / "logs").glob("run_*.json")
                      if run.run_id in p.read_text())
        data = json.loads(record.read_text())
        stats = instance.get_run_record_by_id(run.run_id)
        assert (data["run_id"], data["status"]) == (run.run_id, "SUCCESS")
        assert (data["started_at"], data["finished_at"]) == (stats.start_time, stats.end_time)
    assert query(two_runs["wh"], "SELECT run_id FROM raw._run_context") == [(run.run_id,)]


def test_a_killed_bdw_run_is_marked_failed_and_frees_the_writer_slot(two_runs):
    """Killed in the checks step, the run held the pool's one slot; the next ``bdw run`` found its
    process gone, marked it failed, freed the slot and completed (it would otherwise wait forever)."""
    killed_id = two_runs["killed_id"]
    assert two_runs["status_after_kill"] == DagsterRunStatus.STARTED
    assert two_runs["slots_after_kill"] == [(killed_id, "great_expectations_checks")]
    assert f"marked run {killed_id} failed: its bdw run process had ended without finishing it" in \
        two_runs["clean"].stderr
    with DagsterInstance.from_config(str(two_runs["home"])) as instance:
        assert instance.get_run_by_id(killed_id).status == DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []
    assert list((two_runs["home"] / "bdw_cli_runs").iterdir()) == []  # no lock file left behind


def test_a_bdw_run_waits_while_another_run_holds_the_writer_slot(two_runs):
    """The daemon's run and a ``bdw run`` share the instance's pool: while another run holds its one
    slot, ``bdw run`` says so and writes nothing; once the slot is free it runs (here until it is
    killed in its checks step, after ingestion and dbt: it then held the slot)."""
    assert two_runs["waiting"] == {
        "said": "waiting for run daemon-run (raw__accounts) to release the working database (pool duckdb_writer)\n",
        "still_running": True, "ingested": False}
    assert two_runs["slots_after_kill"] == [(two_runs["killed_id"], "great_expectations_checks")]


def test_a_dagster_home_that_is_no_folder_is_refused_in_words(tmp_path, monkeypatch, capsys):
    tiny_inbox(tmp_path / "inbox")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "missing"))
    code = main(["run", "--inbox", str(tmp_path / "inbox"), "--warehouse", str(tmp_path / "wh.duckdb")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: DAGSTER_HOME={tmp_path / 'missing'} is not a folder: create it and copy "
                          "deploy/dagster.yaml into it")
    assert "Traceback" not in err and not (tmp_path / "wh.duckdb").exists()
