"""Shared fixtures: tiny hand-written inboxes, throwaway working databases, and one sample
warehouse built once per session (dbt and Dagster start-up are the slow part)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
# the tests' runs never go into the instance of whoever runs them (a service's DAGSTER_HOME); the
# tests of the persistent instance set their own
os.environ.pop("DAGSTER_HOME", None)

from bdw.ingest import ingest_source  # noqa: E402
from bdw.settings import DBT_PROJECT_DIR, DUCKDB_PATH_ENV, Settings, dbt_executable, load_settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).parent / "data"


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of one query on a DuckDB file, opened read-only and closed again (an open connection
    would block the next run's writer)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def run_inbox(root: Path, build_inbox, as_of: str) -> tuple[Path, int, str]:
    """One real ``bdw run`` of a hand-built inbox: ``build_inbox(root / "inbox")`` writes it, the
    warehouse is ``root / "wh.duckdb"``. Returns the warehouse, the exit code and what the run printed.
    Its own ``--workdir``: an earlier run in this process leaves BDW_WORKDIR set, which would be reused."""
    import contextlib
    import io

    from bdw.cli import main

    build_inbox(root / "inbox")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["run", "--inbox", str(root / "inbox"), "--warehouse", str(root / "wh.duckdb"),
                     "--as-of", as_of, "--workdir", str(root / "work")])
    return root / "wh.duckdb", code, out.getvalue()


def published(run: tuple[Path, int, str]) -> Path:
    """The warehouse of a ``run_inbox`` that must have published (its output tells why not)."""
    path, code, out = run
    assert code == 0, f"bdw run did not publish:\n{out[-3000:]}"
    return path


def dbt_results_of_run(warehouse: Path) -> list[dict]:
    """dbt's run_results of the nightly build of the run that published ``warehouse`` (its invocation
    folder is named after the run's id: test workers running side by side each find their own)."""
    run_id = query(warehouse, "SELECT run_id FROM raw._run_context")[0][0]
    (path,) = (DBT_PROJECT_DIR / "target").glob(f"bdw_dbt_models-{run_id[:7]}-*/run_results.json")
    return json.loads(path.read_text())["results"]


def dbt_on(database: Path, tmp_path: Path, *args: str) -> tuple[int, dict[str, dict]]:
    """dbt on ``database`` (a copy of a working database) with its own target folder; the exit code
    and the results by node name."""
    dbt = Path(shutil.which(dbt_executable()))
    done = subprocess.run(
        [str(dbt), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env={DUCKDB_PATH_ENV: str(database), "PATH": str(dbt.parent) + ":/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=300)
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    return done.returncode, {r["unique_id"]: r for r in results}


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def settings_for(root: Path, inbox: Path | None = None) -> Settings:
    return load_settings(inbox or root / "inbox", root / "warehouse.duckdb", root / "work")


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The default sample company through one real ``bdw run``, built once per session and shared by
    every test that only reads it (KPI figures, notebooks, the report page). Read it read-only."""
    from bdw.cli import main

    root = tmp_path_factory.mktemp("sample")
    assert main(["sample", "--out", str(root / "inbox")]) == 0
    assert main(["run", "--inbox", str(root / "inbox"), "--warehouse", str(root / "wh.duckdb"),
                 "--workdir", str(root / "work")]) == 0
    return root / "wh.duckdb"


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    s = settings_for(tmp_path)
    s.inbox.mkdir(parents=True)
    s.workdir.mkdir(parents=True)
    return s


@pytest.fixture
def con(tmp_settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(str(tmp_settings.work_db))
    yield c
    c.close()


def ingest(con: duckdb.DuckDBPyConnection, settings: Settings, source: str):
    return ingest_source(con, settings, source, run_id="test")


CONTRACT_HEADER = ["contract_id", "account_id", "opportunity_id", "owner_id", "signed_date", "start_date",
                   "end_date", "currency", "contract_type", "renews_contract_id", "channel", "partner_id", "status"]


def contract_row(cid: str, signed: str = "2025-03-01", currency: str = "CNY", channel: str = "direct",
                 partner: str = "", ctype: str = "new", renews: str = "", status: str = "active",
                 account: str = "A1") -> list[str]:
    return [cid, account, "", "R1", signed, signed, "2026-02-28", currency, ctype, renews, channel, partner, status]
