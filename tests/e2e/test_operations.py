"""Nightly operations: readers are never blocked, and a run killed anywhere leaves the published
warehouse valid and unchanged and the next run completes. Runs are real subprocesses, as the
Dagster daemon or cron would start them."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from bdw.faults import POINTS
from bdw.settings import FAULT_POINT_ENV

from conftest import PAY_HEADER, copy_tiny_run, query, write_csv

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


def bdw_run(inbox: Path, wh: Path, fault: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != FAULT_POINT_ENV}
    if fault:
        env[FAULT_POINT_ENV] = fault
    return subprocess.run([sys.executable, "-m", "bdw.cli", "run", "--inbox", str(inbox), "--warehouse", str(wh)],
                          env=env, capture_output=True, text=True, timeout=600)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def payments(wh: Path) -> int:
    return query(wh, "SELECT count(*) FROM staging.stg_finance__payments")[0][0]


def duckdb_cli(tmp_path: Path) -> Path:
    """The DuckDB command-line client of the 1.x line (analysts' older CLI), in a throwaway venv."""
    import shutil

    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    venv = tmp_path / "cli"
    subprocess.run([uv, "venv", "-q", str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin/python"), "duckdb-cli==1.5.*"], check=True)
    return venv / "bin" / "duckdb"


def test_readers_keep_working_while_a_run_publishes(tiny_run, tmp_path):
    import threading

    inbox, wh = copy_tiny_run(tiny_run, tmp_path)
    before = payments(wh)
    cli = duckdb_cli(tmp_path)
    cli_results: list[tuple[int, str]] = []
    cli_stop = threading.Event()

    def cli_loop() -> None:  # the CLI opens the file, queries, exits: over and over during the run
        while not cli_stop.is_set():
            done = subprocess.run([str(cli), "-readonly", "-csv", "-noheader", str(wh), "-c",
                                   "SELECT count(*) FROM staging.stg_finance__payments"],
                                  capture_output=True, text=True, timeout=60)
            cli_results.append((done.returncode, (done.stdout + done.stderr).strip()))
            time.sleep(0.5)
    write_csv(inbox / "payments/2025-05-31_payments.csv", PAY_HEADER, [["P8", "C1", "2025-05-02", "1", "CNY"]])
    stop = tmp_path / "stop"
    readers = {mode: subprocess.Popen([sys.executable, "-c", READER, str(wh), str(stop), str(tmp_path / mode), mode])
               for mode in ("hold", "reconnect")}
    cli_thread = threading.Thread(target=cli_loop)
    cli_thread.start()
    time.sleep(1.0)  # both readers have the file open before the run starts
    done = bdw_run(inbox, wh)
    seen_file = tmp_path / "reconnect.seen"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (json.loads(seen_file.read_text())[-1] == before
                                           or cli_results[-1][1] == str(before)):
        time.sleep(0.2)  # the reconnecting reader and the CLI get to see the new file
    time.sleep(0.5)  # and both go on querying a little longer
    stop.touch()
    cli_stop.set()
    cli_thread.join(timeout=120)
    results = {}
    for mode, proc in readers.items():
        assert proc.wait(timeout=60) == 0
        results[mode] = json.loads((tmp_path / mode).read_text())
    assert done.returncode == 0, done.stdout + done.stderr
    assert results["hold"]["errors"] == [] and results["reconnect"]["errors"] == []
    assert results["hold"]["queries"] > 10 and results["reconnect"]["queries"] > 10
    assert results["hold"]["seen"] == [before]  # an open connection keeps its snapshot
    assert results["reconnect"]["seen"] == [before, before + 1]  # a new connection sees the new file
    assert payments(wh) == before + 1
    assert len(cli_results) > 5 and all(code == 0 for code, _ in cli_results), cli_results[:5]
    outputs = [out for _, out in cli_results]
    assert outputs[0] == str(before) and outputs[-1] == str(before + 1)
    assert set(outputs) == {str(before), str(before + 1)}


PUBLISH_STEP = r"""
import sys
from bdw.assets.publishing import publish_step
from bdw.settings import load_settings
publish_step(load_settings(sys.argv[1], sys.argv[2]))
"""


def publish_step(inbox: Path, wh: Path, fault: str) -> subprocess.CompletedProcess:
    """The publish step's work (``bdw.assets.publishing.publish_step``) in a process of its own."""
    env = {k: v for k, v in os.environ.items() if k != FAULT_POINT_ENV} | {FAULT_POINT_ENV: fault}
    return subprocess.run([sys.executable, "-c", PUBLISH_STEP, str(inbox), str(wh)], env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_run_killed_anywhere_leaves_the_published_file_and_the_next_run_completes(tiny_run, tmp_path):
    """A ``bdw run`` killed at each point before publishing; the publish step's own points are killed
    in a process that does only that step's work, on the working file the killed runs left (a whole
    run to reach them would repeat the runs above). Then one clean run completes."""
    inbox, wh = copy_tiny_run(tiny_run, tmp_path)
    published, before = sha256(wh), payments(wh)
    write_csv(inbox / "payments/2025-05-31_payments.csv", PAY_HEADER, [["P8", "C1", "2025-05-02", "1", "CNY"]])
    write_csv(inbox / "payments/2025-06-30_payments.csv", PAY_HEADER, [["P9", "C1", "2025-06-02", "1", "CNY"]])
    in_publish = [p for p in POINTS if p.startswith("publish:")]
    assert in_publish == ["publish:copied", "publish:linked"] and POINTS[-2:] == tuple(in_publish)
    for point in POINTS:
        killed = bdw_run(inbox, wh, fault=point) if point not in in_publish else publish_step(inbox, wh, point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stdout[-2000:], killed.stderr[-2000:])
        assert sha256(wh) == published, point
        assert payments(wh) == before, point  # still a valid DuckDB file with the old data
    assert list(tmp_path.glob(".wh.duckdb.*.tmp")), "the killed publish left its temporary file"
    clean = bdw_run(inbox, wh)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    assert payments(wh) == before + 2
    assert not list(tmp_path.glob(".wh.duckdb.*.tmp")), "a killed publish's temporary file was left behind"


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
