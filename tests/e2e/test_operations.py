"""Nightly operations: one night on a copy of the tiny run, with DAGSTER_HOME set as the service has
it (the runs go into the persistent Dagster instance the daemon and the UI use, bdw.instance). Every
run is a real ``bdw`` subprocess, as cron starts it:

1. a run started while a daemon's run holds the working database's writer slot says so and waits,
   writing nothing; once the slot is free it runs, until it is killed in its first load transaction;
2. runs killed at every other point before publishing, and the publish step's own points killed in a
   process that does only that step's work: the published warehouse stays valid and unchanged, and
   each next run finds the killed run's process gone, marks the run failed and frees its slot;
3. a clean run while readers query the published file (a held connection, a reconnecting one, and
   DuckDB's 1.x command-line client): nobody is blocked, the run publishes both new payments, and its
   run, materialisations and check results are in the instance."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance, DagsterRunStatus

from bdw.cli import main
from bdw.faults import POINTS
from bdw.settings import FAULT_POINT_ENV
from services import dagster_home

from conftest import PAY_HEADER, copy_tiny_run, query, sha256, throwaway_venv, tiny_inbox, write_csv

POOL = "duckdb_writer"  # deploy/dagster.yaml: the working database's writer slot, limit 1
NEW_PAYMENTS = {"2025-05-31": "P8", "2025-06-30": "P9"}

READER = r"""
import duckdb, json, sys, time, pathlib
wh, stop, out, mode = sys.argv[1:5]
seen, errors, queries = [], [], 0
con = duckdb.connect(wh, read_only=True)
while not pathlib.Path(stop).exists():
    try:
        if mode == "reconnect":
            con.close()
            con = duckdb.connect(wh, read_only=True)
        n = con.execute("SELECT count(*) FROM staging.stg_finance__payments").fetchone()[0]
        queries += 1
        if not seen or seen[-1] != n:
            seen.append(n)
            pathlib.Path(out + ".seen").write_text(json.dumps(seen))
    except Exception as e:  # every error is a failure of the test
        errors.append(repr(e))
    time.sleep(0.2)  # a query every 0.2 s: dozens during a run, without taking the run's CPU
con.close()
pathlib.Path(out).write_text(json.dumps({"seen": seen, "errors": errors, "queries": queries}))
"""


def run_env(fault: str | None = None, home: Path | None = None) -> dict[str, str]:
    """This process's environment with the fault point to kill at (none: no fault) and DAGSTER_HOME."""
    env = {k: v for k, v in os.environ.items() if k != FAULT_POINT_ENV}
    return env | ({FAULT_POINT_ENV: fault} if fault else {}) | ({"DAGSTER_HOME": str(home)} if home else {})


def bdw_command(inbox: Path, wh: Path) -> list[str]:
    return [sys.executable, "-m", "bdw.cli", "run", "--inbox", str(inbox), "--warehouse", str(wh)]


def bdw_run(inbox: Path, wh: Path, home: Path, fault: str | None = None) -> subprocess.CompletedProcess:
    # a run that waited for a slot nobody gives back would never end: the timeout fails it
    return subprocess.run(bdw_command(inbox, wh), env=run_env(fault, home), capture_output=True, text=True,
                          timeout=900)


def payments(wh: Path) -> int:
    return query(wh, "SELECT count(*) FROM staging.stg_finance__payments")[0][0]


def duckdb_cli(folder: Path) -> Path:
    """The DuckDB command-line client of the 1.x line (analysts' older CLI), in a throwaway venv."""
    return throwaway_venv(folder / "cli", "duckdb-cli==1.5.*") / "bin" / "duckdb"


PUBLISH_STEP = r"""
import sys
from bdw.assets.publishing import publish_step
from bdw.settings import load_settings
publish_step(load_settings(sys.argv[1], sys.argv[2]))
"""


def publish_step(inbox: Path, wh: Path, fault: str) -> subprocess.CompletedProcess:
    """The publish step's work (``bdw.assets.publishing.publish_step``) in a process of its own."""
    return subprocess.run([sys.executable, "-c", PUBLISH_STEP, str(inbox), str(wh)], env=run_env(fault),
                          capture_output=True, text=True, timeout=120)


def newest_run_id(home: Path) -> str:
    with DagsterInstance.from_config(str(home)) as instance:
        return instance.get_runs(limit=1)[0].run_id


def wait_then_run(inbox: Path, wh: Path, home: Path, fault: str, work_db: Path) -> dict:
    """A run started while a daemon's run holds the pool's one slot (claimed here as the daemon
    would); the slot is given back after 10 s of waiting. What the run said and did meanwhile, how it
    ended, and the slot and status its run had when it was killed."""
    def working_file() -> tuple[str, bool]:
        return sha256(work_db), work_db.with_name(work_db.name + ".wal").exists()

    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(POOL)  # limit 1, from deploy/dagster.yaml
        assert storage.claim_concurrency_slot(POOL, "daemon-run", "raw__accounts").is_claimed
        proc = subprocess.Popen(bdw_command(inbox, wh), env=run_env(fault, home), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            ready, _, _ = select.select([proc.stderr], [], [], 300)  # the run says so before its first step
            said = proc.stderr.readline() if ready else "(nothing said within 300 s)"
            before = working_file()
            time.sleep(10)  # the run goes on waiting: nothing is ingested meanwhile
            waiting = {"said": said, "still_running": proc.poll() is None, "wrote": working_file() != before}
            storage.free_concurrency_slot_for_step("daemon-run", "raw__accounts")
            out, err = proc.communicate(timeout=900)
        finally:
            proc.kill()
    with DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        slots = [(s.run_id, s.step_key) for s in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots]
        status = run.status
    return {"waiting": waiting, "done": subprocess.CompletedProcess(proc.args, proc.returncode, out, err),
            "run_id": run.run_id, "slots_after_kill": slots, "status_after_kill": status}


def read_while(inbox: Path, wh: Path, home: Path, folder: Path) -> dict:
    """A clean run while two reader processes (one holds its connection, one reconnects before every
    query) and DuckDB's 1.x command-line client (open, query, exit, over and over) query the
    published file; what each saw."""
    cli = duckdb_cli(folder)
    cli_results: list[tuple[int, str]] = []
    cli_stop = threading.Event()
    before = payments(wh)

    def cli_loop() -> None:
        while not cli_stop.is_set():
            done = subprocess.run([str(cli), "-readonly", "-csv", "-noheader", str(wh), "-c",
                                   "SELECT count(*) FROM staging.stg_finance__payments"],
                                  capture_output=True, text=True, timeout=60)
            cli_results.append((done.returncode, (done.stdout + done.stderr).strip()))
            time.sleep(0.5)

    stop = folder / "stop"
    readers = {mode: subprocess.Popen([sys.executable, "-c", READER, str(wh), str(stop), str(folder / mode), mode])
               for mode in ("hold", "reconnect")}
    cli_thread = threading.Thread(target=cli_loop)
    cli_thread.start()
    time.sleep(1.0)  # both readers have the file open before the run starts
    done = bdw_run(inbox, wh, home)
    seen_file = folder / "reconnect.seen"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (json.loads(seen_file.read_text())[-1] == before
                                           or cli_results[-1][1] == str(before)):
        time.sleep(0.2)  # the reconnecting reader and the CLI get to see the new file
    time.sleep(0.5)  # and both go on querying a little longer
    stop.touch()
    cli_stop.set()
    cli_thread.join(timeout=120)
    readers_saw = {}
    for mode, proc in readers.items():
        assert proc.wait(timeout=60) == 0
        readers_saw[mode] = json.loads((folder / mode).read_text())
    return {"done": done, "readers": readers_saw, "cli": cli_results}


@pytest.fixture(scope="module")
def night(tiny_run, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("night")
    inbox, wh = copy_tiny_run(tiny_run, root)
    home = dagster_home(root / "dagster_home")
    published, before = sha256(wh), payments(wh)
    for day, payment in NEW_PAYMENTS.items():
        write_csv(inbox / f"payments/{day}_payments.csv", PAY_HEADER, [[payment, "C1", day[:8] + "02", "1", "CNY"]])
    in_publish = [p for p in POINTS if p.startswith("publish:")]
    first, *others = [p for p in POINTS if p not in in_publish]
    assert first == "ingest:mid_file" and in_publish == ["publish:copied", "publish:linked"]
    assert POINTS[-2:] == tuple(in_publish)

    kills: dict[str, dict] = {}

    def killed(point: str, done: subprocess.CompletedProcess, run_id: str | None) -> None:
        kills[point] = {"done": done, "run_id": run_id, "sha": sha256(wh), "payments": payments(wh),
                        "tmp_left": bool(list(root.glob(".wh.duckdb.*.tmp")))}

    waited = wait_then_run(inbox, wh, home, first, root / ".bdw" / "work.duckdb")
    killed(first, waited["done"], waited["run_id"])
    for point in others:
        done = bdw_run(inbox, wh, home, fault=point)
        killed(point, done, newest_run_id(home))
    for point in in_publish:  # on the working file the killed runs left
        killed(point, publish_step(inbox, wh, point), None)
    clean = read_while(inbox, wh, home, root)
    return {"root": root, "wh": wh, "home": home, "published": published, "before": before, "kills": kills,
            "waited": waited, "clean": clean["done"], "readers": clean["readers"], "cli": clean["cli"],
            "clean_tmp_left": bool(list(root.glob(".wh.duckdb.*.tmp")))}


def test_readers_keep_working_while_a_run_publishes(night):
    before, readers, cli_results = night["before"], night["readers"], night["cli"]
    after = before + len(NEW_PAYMENTS)
    assert night["clean"].returncode == 0, night["clean"].stdout + night["clean"].stderr
    assert readers["hold"]["errors"] == [] and readers["reconnect"]["errors"] == []
    assert readers["hold"]["queries"] > 10 and readers["reconnect"]["queries"] > 10
    assert readers["hold"]["seen"] == [before]  # an open connection keeps its snapshot
    assert readers["reconnect"]["seen"] == [before, after]  # a new connection sees the new file
    assert payments(night["wh"]) == after
    assert len(cli_results) > 5 and all(code == 0 for code, _ in cli_results), cli_results[:5]
    outputs = [out for _, out in cli_results]
    assert outputs[0] == str(before) and outputs[-1] == str(after)
    assert set(outputs) == {str(before), str(after)}


def test_a_run_killed_anywhere_leaves_the_published_file_and_the_next_run_completes(night):
    """A ``bdw run`` killed at each point before publishing; the publish step's own points are killed
    in a process that does only that step's work, on the working file the killed runs left (a whole
    run to reach them would repeat the runs before). Then one clean run completes."""
    kills = night["kills"]
    assert list(kills) == list(POINTS)
    for point, kill in kills.items():
        done = kill["done"]
        assert done.returncode == -signal.SIGKILL, (point, done.stdout[-2000:], done.stderr[-2000:])
        assert kill["sha"] == night["published"], point
        assert kill["payments"] == night["before"], point  # still a valid DuckDB file with the old data
    assert kills["publish:linked"]["tmp_left"], "the killed publish left its temporary file"
    clean = night["clean"]
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    assert payments(night["wh"]) == night["before"] + len(NEW_PAYMENTS)
    assert not night["clean_tmp_left"], "a killed publish's temporary file was left behind"


def test_a_bdw_run_waits_while_another_run_holds_the_writer_slot(night):
    """The daemon's run and a ``bdw run`` share the instance's pool: while another run holds its one
    slot, ``bdw run`` says so and writes nothing; once the slot is free it runs (here until it is
    killed in its first load transaction: it then held the slot)."""
    waited = night["waited"]
    assert waited["waiting"] == {
        "said": "waiting for run daemon-run (raw__accounts) to release the working database (pool duckdb_writer)\n",
        "still_running": True, "wrote": False}
    assert waited["slots_after_kill"] == [(waited["run_id"], "raw__payments")]


def test_a_killed_bdw_run_is_marked_failed_and_frees_the_writer_slot(night):
    """Each killed run held the pool's one slot; the next ``bdw run`` found its process gone, marked it
    failed, freed the slot and went on (it would otherwise wait forever)."""
    assert night["waited"]["status_after_kill"] == DagsterRunStatus.STARTED
    runs = [kill["run_id"] for kill in night["kills"].values() if kill["run_id"]]
    assert len(set(runs)) == len(POINTS) - 2
    followers = [night["kills"][p]["done"] for p in POINTS[1:len(runs)]] + [night["clean"]]
    for run_id, follower in zip(runs, followers, strict=True):
        assert f"marked run {run_id} failed: its bdw run process had ended without finishing it" in follower.stderr
    with DagsterInstance.from_config(str(night["home"])) as instance:
        assert [instance.get_run_by_id(r).status for r in runs] == [DagsterRunStatus.FAILURE] * len(runs)
        assert instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []
    assert list((night["home"] / "bdw_cli_runs").iterdir()) == []  # no lock file left behind


def test_a_bdw_run_is_in_the_persistent_instance_with_its_materialisations_and_checks(night):
    home, clean = night["home"], night["clean"]
    killed = {kill["run_id"] for kill in night["kills"].values() if kill["run_id"]}
    assert len(killed) == len(POINTS) - 2  # every killed run but the publish step's two
    assert f"Dagster: recorded in the instance at DAGSTER_HOME={home} (shown in the Dagster UI)" in clean.stdout
    with DagsterInstance.from_config(str(home)) as instance:
        runs = [r for r in instance.get_runs() if r.run_id not in killed]
        assert len(runs) == 1
        run = runs[0]
        assert clean.stdout.startswith(f"bdw run {run.run_id[:8]} as of {max(NEW_PAYMENTS)}")
        assert (run.job_name, run.status) == ("bdw_nightly", DagsterRunStatus.SUCCESS)
        assert run.tags["bdw/launched_by"] == "bdw run" and run.tags["bdw/as_of"] == max(NEW_PAYMENTS)
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
        # a dbt test as an asset check: the payment ids are unique
        (dbt_test,) = storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey(["staging", "stg_finance__payments"]), "column_rules_stg_finance__payments"),
            limit=1)
        assert dbt_test.run_id == run.run_id and dbt_test.event.asset_check_evaluation.passed
        # the run record the benchmark harness reads copies Dagster's status and times
        record = next(p for p in (night["root"] / ".bdw" / "logs").glob("run_*.json")
                      if run.run_id in p.read_text())
        data = json.loads(record.read_text())
        stats = instance.get_run_record_by_id(run.run_id)
        assert (data["run_id"], data["status"]) == (run.run_id, "SUCCESS")
        assert (data["started_at"], data["finished_at"]) == (stats.start_time, stats.end_time)
    assert query(night["wh"], "SELECT run_id FROM raw._run_context") == [(run.run_id,)]


def test_a_dagster_home_that_is_no_folder_is_refused_in_words(tmp_path, monkeypatch, capsys):
    tiny_inbox(tmp_path / "inbox")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "missing"))
    code = main(["run", "--inbox", str(tmp_path / "inbox"), "--warehouse", str(tmp_path / "wh.duckdb")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: DAGSTER_HOME={tmp_path / 'missing'} is not a folder: create it and copy "
                          "deploy/dagster.yaml into it")
    assert "Traceback" not in err and not (tmp_path / "wh.duckdb").exists()


def test_old_dbt_invocation_folders_are_pruned(tmp_path):
    """dagster-dbt writes a target folder per invocation; a nightly run keeps only the newest few and
    any written in the last hour."""
    from bdw.dbt_targets import prune_invocation_targets

    for i in range(5):
        folder = tmp_path / f"bdw_dbt_models-{i:07d}-abc"
        folder.mkdir()
        (folder / "run_results.json").write_text("{}")
        os.utime(folder, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "docs_cache").mkdir()
    # two folders beyond the newest three are younger than an hour: another working folder's build
    # may be writing or reading them (the project's target folder is shared by every working folder)
    now = time.time()
    for name, age in (("bdw_dbt_models-young01-abc", 3500), ("bdw_dbt_models-old0001-abc", 3700)):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (now - age, now - age))
    for i in range(3):
        os.utime(tmp_path / f"bdw_dbt_models-{i + 2:07d}-abc", (now - 60 + i, now - 60 + i))
    removed = prune_invocation_targets(tmp_path, "bdw_dbt_models", keep=3)
    assert sorted(p.name for p in removed) == [
        "bdw_dbt_models-0000000-abc", "bdw_dbt_models-0000001-abc", "bdw_dbt_models-old0001-abc"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bdw_dbt_models-0000002-abc", "bdw_dbt_models-0000003-abc", "bdw_dbt_models-0000004-abc",
        "bdw_dbt_models-young01-abc", "docs_cache"]


def test_publish_copies_a_working_file_in_the_published_format_byte_for_byte(tmp_path):
    """The working file is created in the published storage format: publishing copies its bytes, and
    its views work under the published file's name. A file in DuckDB 2's format (which DuckDB 1.x
    clients cannot open) is copied table by table instead, its views becoming tables."""
    from bdw.publish import copy_file, publish
    from bdw.resources import connect_writer

    def fill(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE SCHEMA marts; CREATE TABLE marts.t AS SELECT 42 AS a; "
                    "CREATE VIEW marts.v AS SELECT a + 1 AS b FROM marts.t")
        con.close()

    def read(path: Path) -> list[tuple]:
        return query(path, "SELECT b, (SELECT table_type FROM information_schema.tables WHERE table_name = 'v') "
                           "FROM marts.v")

    work, wh = tmp_path / "work.duckdb", tmp_path / "wh.duckdb"
    fill(connect_writer(str(work)))
    assert publish(work, wh).tables == 2
    assert wh.read_bytes() == work.read_bytes()
    assert read(wh) == [(43, "VIEW")]

    v2 = tmp_path / "v2.duckdb"
    fill(duckdb.connect(str(v2)))  # DuckDB 2's default format
    assert copy_file(v2, tmp_path / "not_written.duckdb") is None
    assert not (tmp_path / "not_written.duckdb").exists()
    assert publish(v2, wh).tables == 2
    assert read(wh) == [(43, "BASE TABLE")]
