"""One memory limit (``limits.memory`` in config/bdw.yml) for every DuckDB connection that does heavy
work, with spilling to ``<workdir>/tmp/duckdb``: DuckDB's own default is 80% of the machine's RAM per
connection, so a scale-1000 run used three quarters of the machine (docs/performance.md). Checked on
the connections themselves: the working database's resource (ingestion, the checks' reads), the
ingestion's own setting, publishing's connection, and dbt's connection (``dbt show`` through the
profile, with the environment a run exports)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import duckdb

from bdw.ingest.load import limit_memory
from bdw.publish import publish
from bdw.resources import resources_for
from bdw.run_context import export_environment
from bdw.settings import DBT_PROJECT_DIR, dbt_executable

from conftest import settings_for

SHOWN = "SELECT current_setting('memory_limit') AS memory_limit, current_setting('temp_directory') AS temp_directory"
# DuckDB shows 300MB (10^6 bytes) in binary units: 300,000,000 / 2^20 = 286.1 MiB
SHOWN_300MB = "286.1 MiB"


def configured(tmp_path, monkeypatch, memory: str | None):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/bdw.yml").write_text(f"limits:\n  memory: {memory}\n" if memory else "{}\n")
    monkeypatch.setenv("BDW_CONFIG_DIR", str(tmp_path / "config"))
    return settings_for(tmp_path)


def test_the_limit_reaches_the_working_database_resource_and_ingestion(tmp_path, monkeypatch):
    settings = configured(tmp_path, monkeypatch, "300MB")
    resource = resources_for(settings)["duckdb"]
    with resource.get_connection() as con:
        assert con.execute(SHOWN).fetchone() == (SHOWN_300MB, str(tmp_path / "work/tmp/duckdb"))
    assert (tmp_path / "work/tmp/duckdb").is_dir()  # DuckDB would fail on a spill folder without parents
    con = duckdb.connect(str(settings.work_db))
    try:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] != SHOWN_300MB
        limit_memory(con, settings)  # what ingest_source does on any connection it is given
        assert con.execute(SHOWN).fetchone() == (SHOWN_300MB, str(settings.duckdb_spill))
    finally:
        con.close()


def test_the_default_is_2gb_for_every_connection(tmp_path, monkeypatch):
    settings = configured(tmp_path, monkeypatch, None)
    assert settings.duckdb_config() == {"memory_limit": "2GB", "temp_directory": str(tmp_path / "work/tmp/duckdb")}
    with resources_for(settings)["duckdb"].get_connection() as con:
        assert con.execute(SHOWN).fetchone()[0] == "1.8 GiB"  # 2,000,000,000 / 2^30


def test_publishing_copies_under_the_limit(tmp_path, monkeypatch):
    """A limit too small for the copy's checkpoint fails it: the limit is on publishing's connection."""
    settings = configured(tmp_path, monkeypatch, "300MB")
    settings.workdir.mkdir(parents=True)
    con = duckdb.connect(str(settings.work_db))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.t AS SELECT range AS i FROM range(10)")
    con.close()
    assert publish(settings.work_db, settings.warehouse, settings.duckdb_config()).tables == 1
    seen = duckdb.connect(str(settings.warehouse), read_only=True)
    assert seen.execute("SELECT count(*) FROM marts.t").fetchone()[0] == 10
    seen.close()
    tiny = {**settings.duckdb_config(), "memory_limit": "1KB"}
    try:
        publish(settings.work_db, settings.warehouse, tiny)
    except duckdb.OutOfMemoryException:
        pass
    else:
        raise AssertionError("a 1 KB memory limit did not reach publishing's connection")


def test_the_limit_reaches_dbts_connection(tmp_path, monkeypatch):
    settings = configured(tmp_path, monkeypatch, "300MB")
    for name in list(os.environ):
        if name.startswith("BDW_DUCKDB_"):
            monkeypatch.delenv(name)
    export_environment(settings)  # what the dbt step does before dbt starts
    monkeypatch.setenv("BDW_DUCKDB_PATH", os.environ["BDW_DUCKDB_PATH"])  # undone after the test
    monkeypatch.setenv("BDW_DUCKDB_MEMORY_LIMIT", os.environ["BDW_DUCKDB_MEMORY_LIMIT"])
    monkeypatch.setenv("BDW_DUCKDB_TEMP_DIRECTORY", os.environ["BDW_DUCKDB_TEMP_DIRECTORY"])
    dbt = shutil.which(dbt_executable())
    done = subprocess.run(
        [dbt, "show", "--inline", SHOWN, "--output", "json", "--log-format", "json", "--project-dir",
         str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs")],
        env={**os.environ, "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    previews = [json.loads(line)["data"]["preview"] for line in done.stdout.splitlines()
                if line.startswith("{") and "preview" in json.loads(line).get("data", {})]
    assert json.loads(previews[-1]) == [{"memory_limit": SHOWN_300MB, "temp_directory": str(settings.duckdb_spill)}]


def test_dbt_keeps_working_after_a_model_spilled(tmp_path, monkeypatch):
    """dbt-duckdb SETs a profile's ``settings`` on every cursor, and DuckDB refuses to set
    temp_directory again once something spilled: at scale 1000 every model after the first that
    spilled failed. The profile gives the limit and the spill folder as ``config_options`` (set once,
    when the database opens). A two-model project with the project's profile: the first model spills
    under a 256MB limit, the second must still build."""
    settings = configured(tmp_path, monkeypatch, "256MB")
    for name in list(os.environ):
        if name.startswith("BDW_DUCKDB_"):
            monkeypatch.delenv(name)
    for name, value in settings.dbt_env().items():
        monkeypatch.setenv(name, value)
    settings.duckdb_spill.mkdir(parents=True)
    project = tmp_path / "spill_project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: spill\nversion: '1.0'\nprofile: bdw\n"
                                            "models:\n  spill:\n    +materialized: table\n")
    (project / "models/big_sort.sql").write_text(
        "select range as i, md5(range::varchar) as s from range(6000000) order by s")
    (project / "models/after_it.sql").write_text("select count(*) as n from {{ ref('big_sort') }}")
    dbt = shutil.which(dbt_executable())
    done = subprocess.run(
        [dbt, "run", "--project-dir", str(project), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env={**os.environ, "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        assert con.execute("SELECT n FROM after_it").fetchone() == (6_000_000,)
    finally:
        con.close()
