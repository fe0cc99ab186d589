"""Shared fixtures: tiny hand-written inboxes, throwaway working databases, and one sample
warehouse (the README's demo in a fresh copy of the repository) built once per session and shared by
the test workers (dbt and Dagster start-up are the slow part)."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
# the tests' runs never go into the instance of whoever runs them (a service's DAGSTER_HOME); the
# tests of the persistent instance set their own
os.environ.pop("DAGSTER_HOME", None)

from bdw import dbt_warm, gc_tuning  # noqa: E402
from bdw.dbt_targets import PARSE_ONLY_ENV, seed_parse_state  # noqa: E402
from bdw.ingest import ingest_source  # noqa: E402
from bdw.settings import DBT_PROJECT_DIR, DUCKDB_PATH_ENV, Settings, dbt_executable, load_settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).parent / "data"

# the test workers run the project's code in-process, as `bdw` does: with its collector thresholds
gc_tuning.tune()


# The test files that take longest (summed test time of a full run with three workers on the
# project's 2-core machine, 2026-12-06), started first so that none of them is left running alone at
# the end; every other file follows in collection order (pyproject.toml: --no-loadscope-reorder).
LONGEST_FIRST = (
    "e2e/test_operations.py", "e2e/test_run.py", "e2e/test_service.py",
    "integration/test_incremental.py", "e2e/test_source_freshness.py", "e2e/test_dagster_ui.py",
    "e2e/test_readme_demo.py", "e2e/test_alerts_run.py", "integration/test_dq_layers.py",
    "e2e/test_kpi_inboxes.py", "e2e/test_kpi_rules.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    if missing := [name for name in LONGEST_FIRST if not (here / name).exists()]:
        raise pytest.UsageError(f"tests/conftest.py LONGEST_FIRST names files that do not exist: {missing}")
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def order(item: pytest.Item) -> int:
        rel = Path(item.path).relative_to(here).as_posix()
        return rank.get(rel, len(rank))

    items.sort(key=order)  # stable: the tests of a file keep their order


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
    """dbt ARGS on ``database`` (a copy of a working database) with its own target folder; the exit
    code and the results by node name. dbt runs as in a ``bdw run`` (bdw.dbt_warm): it parses with the
    placeholder profile, from the machine's shared parse state (the session's runs left it), then runs
    the command with the real environment; a parse of its own would be a whole one (~5 s of CPU)."""
    target = tmp_path / "target"
    target.mkdir(parents=True, exist_ok=True)
    seed_parse_state(target)
    warm = dbt_warm.start(tmp_path, target, PARSE_ONLY_ENV)
    assert dbt_warm.claim(tmp_path) is warm
    dbt = Path(shutil.which(dbt_executable()))
    done = warm.hand_over(
        [str(dbt), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(tmp_path / "logs")],
        env={DUCKDB_PATH_ENV: str(database), "PATH": str(dbt.parent) + ":/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=DBT_PROJECT_DIR)
    output = done.stdout.read().decode(errors="replace")  # its standard input is closed: no communicate()
    done.wait(timeout=300)
    assert (target / "run_results.json").exists(), output[-3000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    return done.returncode, {r["unique_id"]: r for r in results}


def sha256(path: Path) -> str:
    """A file's SHA-256: whether a published warehouse is byte-identical."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def throwaway_venv(folder: Path, requirement: str) -> Path:
    """A virtual environment in ``folder`` holding ``requirement`` (an analyst's older DuckDB, say),
    made by uv beside this environment's Python; returns its folder."""
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "venv", "-q", str(folder)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(folder / "bin/python"), requirement], check=True)
    return folder


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def settings_for(root: Path, inbox: Path | None = None) -> Settings:
    return load_settings(inbox or root / "inbox", root / "warehouse.duckdb", root / "work")


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on a file: one test worker at a time gets through."""
    with lock.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def readme_commands() -> tuple[str, str]:
    """The README's two commands: the demo and the tests."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)[1]
    demo, tests = [re.sub(r"\s+#.*$", "", line).strip() for line in block.strip().splitlines()[:2]]
    return demo, tests


def repository_copy(dest: Path) -> Path:
    """The repository as a newcomer's clone holds it: the files git tracks and the new files it does
    not ignore (what a commit of the working tree would hold; on CI's clean clone, the clone itself),
    and nothing this checkout made (no .venv, data, dbt target folder)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout
    for rel in filter(None, listed.decode().split("\0")):
        src = REPO / rel
        if src.is_file():  # a tracked file deleted in the working tree is not in the commit either
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


NO_UV_CONFIG = {"UV_NO_CONFIG": "1"}


def newcomer_environment() -> dict[str, str]:
    """This process's environment as a newcomer's shell has it: no virtual environment active, no
    ``BDW_*`` settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
           and not k.startswith("BDW_")}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    return env


def _build_sample(root: Path) -> dict:
    """The README's demo command, as written, in a fresh copy of the repository (``repository_copy``)
    with a newcomer's environment (uv makes the copy's own .venv from uv.lock); its alert channels, a
    local webhook (its URL carrying a secret token) and a local SMTP server, are set in that
    environment as an operator would set them. What the command printed (both streams) and what the
    two channels received, as JSON."""
    from alert_servers import SmtpSink, WebhookSink, channel_variable, use_channels

    clone = repository_copy(root / "clone")
    demo, _ = readme_commands()
    with WebhookSink() as hook, SmtpSink() as smtp, pytest.MonkeyPatch.context() as mp:
        use_channels(mp, root / "alerts_config", {"webhook": hook.url(), "email": smtp.url("sales-ops@example.com")})
        channels = {k: os.environ[k] for k in ("BDW_ALERTS_CONFIG", channel_variable("webhook"),
                                                channel_variable("email"))}
        # uv without pyproject.toml's [tool.uv] settings (UV_NO_CONFIG), whose one setting is the
        # environment's bytecode compile (test_readme_demo checks that it stays the only one): ~40
        # CPU-seconds of compiling 12,000 files a newcomer waits for once, not what the demo shows
        done = subprocess.run(["bash", "-c", demo], cwd=clone, env=newcomer_environment() | channels | NO_UV_CONFIG,
                              capture_output=True, text=True, timeout=1800)
    return {"code": done.returncode, "out": done.stdout + done.stderr, "hook_bodies": hook.bodies,
            "hook_texts": hook.texts, "mail_bodies": smtp.bodies(), "mail_to": [m["To"] for m in smtp.messages]}


def shared_once(tmp_path_factory, name: str, build) -> Path:
    """A folder ``name`` built once for the whole session by ``build(folder)`` (which returns what
    to keep, as JSON, in ``folder/run.json``): the first test worker that needs it builds it, the
    others wait and share it (it sits in the session's common temporary folder)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / name
    with _exclusive(shared / f"{name}.lock"):
        if not (root / "run.json").exists():
            root.mkdir(exist_ok=True)
            (root / "run.json").write_text(json.dumps(build(root)), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> dict:
    """The default sample company as the README's demo publishes it in a fresh copy of the
    repository (``_build_sample``: alerts to a local webhook and a local SMTP server), built once
    for the whole session and shared by the test workers (``shared_once``). Every test that uses it
    only reads it (KPI figures, notebooks, the report page, the checks and alerts). Keys: root (the
    copy), inbox, wh, work (its working folder), run_id and what ``_build_sample`` keeps."""
    root = shared_once(tmp_path_factory, "sample", _build_sample)
    run = json.loads((root / "run.json").read_text(encoding="utf-8"))
    assert run["code"] == 0, f"the README's demo did not publish:\n{run['out'][-3000:]}"
    data = root / "clone" / "data"
    wh = data / "warehouse.duckdb"
    run_id = query(wh, "SELECT run_id FROM raw._run_context")[0][0]
    return {**run, "root": root / "clone", "inbox": data / "inbox", "wh": wh, "work": data / ".bdw", "run_id": run_id}


@pytest.fixture(scope="session")
def sample_warehouse(sample_run) -> Path:
    """The published warehouse of the session's sample run (``sample_run``). Read it read-only."""
    return sample_run["wh"]


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


PAY_HEADER = ["payment_id", "contract_id", "received_date", "amount", "currency"]
LINE_HEADER = ["contract_id", "line_no", "product_family", "amount", "is_recurring"]
OPP_HEADER = ["opportunity_id", "account_id", "owner_id", "created_at", "stage", "amount", "currency", "channel",
              "partner_id", "closed_at"]


def tiny_inbox(inbox: Path) -> None:
    write_csv(inbox / "accounts/2025-03-31_accounts.csv",
              ["account_id", "account_name", "region", "created_at", "industry", "decision_maker"],
              [["A1", "Acme", "CN", "2024-05-01", "retail", "Zhang San"],
               ["A2", "Globex", "EU", "2024-06-01", "N/A", "Jane Roe"]])
    write_csv(inbox / "opportunities/2025-03-31_opportunities.csv", OPP_HEADER, [
        ["O1", "A1", "R1", "2025-01-02", "closed_won", "1000", "CNY", "direct", "", "2025-03-01"],
        ["O2", "A2", "R1", "2025-01-03", "proposal", "500", "USD", "partner", "", ""],
    ])
    write_csv(inbox / "contracts/2025-03-31_contracts.csv", CONTRACT_HEADER, [
        contract_row("C1", signed="2025-03-01"),
        contract_row("C2", signed="2025-03-15", currency="USD", account="A2"),
    ])
    write_csv(inbox / "contract_lines/2025-03-31_contract_lines.csv", LINE_HEADER, [
        ["C1", "1", "saas", "1,000,000", ""], ["C1", "2", "service", "200000", ""],
        ["C2", "1", "license", "100000", ""],
    ])
    write_csv(inbox / "fx_rates/2025-03-31_fx_rates.csv", ["month", "currency", "rate_to_cny"],
              [["2025-03", "USD", "7.2"]])
    write_csv(inbox / "payments/2025-04-30_payments.csv", PAY_HEADER, [
        ["P1", "C1", "2025-04-02", "600000", "CNY"],
        ["P2", "C2", "2025-04-03", "50000", "USD"],  # no USD rate for 2025-04
        ["P3", "C9", "2025-04-04", "10", "CNY"],  # contract C9 does not exist
    ])


def _build_tiny(root: Path) -> dict:
    """The tiny inbox and one ``bdw run`` of it with the default working folder (``.bdw`` beside
    the warehouse)."""
    from alert_servers import bdw

    tiny_inbox(root / "inbox")
    code, out = bdw("run", "--inbox", str(root / "inbox"), "--warehouse", str(root / "wh.duckdb"))
    return {"code": code, "out": out}


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> dict:
    """The tiny inbox's first ``bdw run``, built once for the session and shared by the test workers
    like ``sample_run``. Tests that only read use it as it is; tests that go on from a first run
    (a later delivery, a broken run, a rollback) take a copy (``copy_tiny_run``)."""
    root = shared_once(tmp_path_factory, "tiny", _build_tiny)
    run = json.loads((root / "run.json").read_text(encoding="utf-8"))
    assert run["code"] == 0, f"the tiny inbox did not publish:\n{run['out'][-3000:]}"
    run_id = query(root / "wh.duckdb", "SELECT run_id FROM raw._run_context")[0][0]
    return {**run, "root": root, "run_id": run_id}


def copy_tiny_run(tiny_run: dict, dest: Path) -> tuple[Path, Path]:
    """A copy of the tiny run's folder (inbox, warehouse, working folder, everything beside them) in
    ``dest``, files' times kept: the next ``bdw run`` there goes on from that first run exactly as it
    would in the original folder (nothing in those files names the folder). Returns (inbox, warehouse)."""
    shutil.copytree(tiny_run["root"], dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("run.json"))
    return dest / "inbox", dest / "wh.duckdb"
