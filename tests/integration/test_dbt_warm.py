"""The dbt process started with a run (bdw.dbt_warm): it parses while it waits, then runs the
command dagster-dbt would have started, as that command's process, with dbt's exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

from bdw import dbt_warm
from bdw.dagster_dbt_overrides import UPSTREAM_POPEN, serving
from bdw.dbt_project import dbt_cli
from bdw.settings import DBT_PROJECT_DIR, DUCKDB_PATH_ENV


def _start(tmp_path):
    workdir, target = tmp_path / "work", tmp_path / "target"
    workdir.mkdir()
    target.mkdir()
    return dbt_warm.start(workdir, target, {DUCKDB_PATH_ENV: str(workdir / "work.duckdb")})


def test_dagster_dbt_gets_the_waiting_process_which_runs_the_command_on_its_parse(tmp_path, monkeypatch):
    """Through dagster-dbt's own ``cli`` (the dbt step's call): the invocation's process is the one
    started before, it lists the project's models from the manifest it parsed while waiting (no
    parse of its own: dbt's "Found N models" line comes only from a parse), and dbt's JSON log
    lines reach dagster-dbt."""
    import importlib

    monkeypatch.setenv(DUCKDB_PATH_ENV, str(tmp_path / "work" / "work.duckdb"))
    warm = _start(tmp_path)
    assert dbt_warm.claim(tmp_path / "work") is warm
    parsed = tmp_path / "target" / "perf_info.json"  # the parse's last artifact (it writes no manifest.json)
    deadline = time.monotonic() + 300
    while not parsed.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    parsed_at = parsed.stat().st_mtime_ns
    assert not (tmp_path / "target" / "manifest.json").exists()
    (tmp_path / "target" / "partial_parse.msgpack").unlink()  # a parse now would be a full one, and say so
    with serving(warm):
        invocation = dbt_cli().cli(["ls", "--resource-type", "model", "--output", "name"],
                                   target_path=tmp_path / "target")
    assert getattr(importlib.import_module(UPSTREAM_POPEN[0]), UPSTREAM_POPEN[1]) is subprocess, "not put back"
    assert invocation.process is warm.process
    events = list(invocation.stream_raw_events())
    messages = [e.raw_event["info"]["msg"] for e in events]
    assert invocation.is_successful()
    assert "stg_crm__accounts" in messages and "kpi_scorecard" in messages
    assert "UnableToPartialParse" not in {e.raw_event["info"]["name"] for e in events}, "it parsed again"
    assert parsed.stat().st_mtime_ns == parsed_at
    assert not (tmp_path / "target" / "manifest.json").exists()  # a parse of `ls` would write one
    assert "Unable to do partial parsing" in warm.parse_output()  # for the run log (bdw.assets.dbt)


def test_a_failing_command_exits_as_dbt_does(tmp_path):
    """dbt's exit codes: 2 when dbt itself fails (an unknown macro for ``run-operation``), so
    dagster-dbt reports the step as failed."""
    warm = _start(tmp_path)
    env = {**_dbt_env(tmp_path), "DBT_LOG_FORMAT": "json"}
    process = warm.hand_over(["dbt", "run-operation", "no_such_macro_anywhere"], env, DBT_PROJECT_DIR)
    out = process.stdout.read()
    process.wait(timeout=300)
    assert process.returncode in (dbt_warm.EXIT_FAILED, dbt_warm.EXIT_ERROR)
    assert b"no_such_macro_anywhere" in out


def test_a_run_without_dbt_step_ends_the_waiting_process(tmp_path):
    """``release`` (a run that stopped before its dbt step) kills it; a waiting process whose
    parent went away (its standard input closed) ends by itself, exit 0, without running dbt."""
    (tmp_path / "a").mkdir()
    released = _start(tmp_path / "a")
    dbt_warm.release(released)
    assert released.process.returncode is not None
    assert dbt_warm.claim(tmp_path / "a" / "work") is None

    (tmp_path / "b").mkdir()
    orphan = _start(tmp_path / "b")
    orphan.process.stdin.close()
    assert orphan.process.wait(timeout=300) == dbt_warm.EXIT_OK
    assert orphan.process.stdout.read() == b""


def test_the_server_half_imports_dbt_only():
    """The started process imports dbt and the standard library, not Dagster nor this project's
    heavier modules (a second of start-up each)."""
    script = ("import sys, runpy; sys.argv = ['x']; import bdw.dbt_warm; "
              "print(__import__('json').dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
              "('dagster', 'dagster_dbt', 'pandas', 'great_expectations'))))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def _dbt_env(tmp_path) -> dict[str, str]:
    import os

    return {**os.environ, DUCKDB_PATH_ENV: str(tmp_path / "work" / "work.duckdb"),
            "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
            "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "target")}


def test_a_run_starts_dbt_before_it_imports_dagster(tmp_path):
    """``bdw run`` starts the dbt process first (bdw.dbt_warm.start_for_run), so that dbt's imports and
    parse overlap this process's own start-up: making its target folder must not import Dagster or
    dagster-dbt (a second or more). The folder is the dbt step's: named after the run's id."""
    script = ("import sys, json; from pathlib import Path; from bdw.settings import load_settings; "
              "from bdw import dbt_warm; from bdw.pipeline import DBT_STEP; "
              f"s = load_settings({str(tmp_path / 'inbox')!r}, {str(tmp_path / 'wh.duckdb')!r}); "
              "warm = dbt_warm.start_for_run(s, DBT_STEP, '1234567-run'); "
              "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'dagster_dbt')); "
              "dbt_warm.release(warm); print(json.dumps([loaded, warm.target.name]))")
    (tmp_path / "inbox").mkdir()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded, target = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == []
    assert target.startswith("bdw_dbt_models-1234567-")
    shutil.rmtree(DBT_PROJECT_DIR / "target" / target, ignore_errors=True)
