"""Incremental nightly runs: only new files are ingested, the merged base models re-merge only the
keys new files touch, and what is published equals a full rebuild of the same inbox."""

from __future__ import annotations

import os
import re
import shutil
import time
from decimal import Decimal
from pathlib import Path

import duckdb

from bdw.cli import main
from bdw.dbt_project import dbt_project
from bdw.dbt_targets import KEEP_INVOCATION_TARGETS
from bdw.settings import DBT_PROJECT_DIR

from conftest import copy_tiny_run, dbt_on, dbt_results_of_run, ingest, query, write_csv

PAY_HEADER = ["payment_id", "contract_id", "received_date", "amount", "currency", "is_deleted"]
# history tables grow by one batch per run by design: a rebuilt warehouse has one run of history
HISTORY = {("dq", "validation_results"), ("dq", "crm_completeness_history")}
RUN_SPECIFIC = {"_loaded_at", "loaded_at", "run_id", "validated_at", "recorded_at"}


def published_differences(a: Path, b: Path, schemas=("seeds", "staging", "intermediate", "marts", "dq")) -> list:
    """Tables of `schemas` whose rows differ between two published files (multisets; doubles
    rounded to 6 decimals, as sums of doubles depend on the order rows are added in)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        tables = {db: {t for t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?", [db]).fetchall()
            if t[0] in schemas and t not in HISTORY} for db in ("a", "b")}
        found = [("tables only in one file", sorted(tables["a"] ^ tables["b"]))] if tables["a"] != tables["b"] else []
        for schema, name in sorted(tables["a"] & tables["b"]):
            cols = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'a' "
                "AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, name]).fetchall()
            sel = ", ".join(f'round("{c}", 6)' if t in ("DOUBLE", "FLOAT") else f'"{c}"'
                            for c, t in cols if c not in RUN_SPECIFIC)
            a_only, b_only = (con.execute(
                f'SELECT count(*) FROM (SELECT {sel} FROM {x}."{schema}"."{name}" '
                f'EXCEPT ALL SELECT {sel} FROM {y}."{schema}"."{name}")').fetchone()[0]
                for x, y in (("a", "b"), ("b", "a")))
            if a_only or b_only:
                found.append((f"{schema}.{name}", a_only, b_only))
        return found
    finally:
        con.close()


# --- the merge, incrementally, at the dbt level -------------------------------------------------------

def dbt_run(work_db: Path, tmp_path: Path) -> dict:
    """dbt builds the payments base model into the working file; returns that node's run result."""
    code, results = dbt_on(work_db, tmp_path, "run", "--select", "base_finance__payments")
    assert code == 0, results
    return next(r for uid, r in results.items() if uid.endswith("base_finance__payments"))


def on_file(path: Path, catalog: str, sql: str) -> list[tuple]:
    """The rows of ``sql`` on a working file attached (read-only) under ``catalog``: the name its
    compiled SQL uses for it (the working file's own stem)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{path}' AS \"{catalog}\" (READ_ONLY)")
        con.execute(f'USE "{catalog}"')
        return con.execute(sql).fetchall()
    finally:
        con.close()


def merged(work_db: Path, select: str = "SELECT * FROM staging.base_finance__payments") -> list[tuple]:
    """The payments base model's rows in the working file, or those of ``select`` (a compiled SELECT
    of the model) on it."""
    return on_file(work_db, work_db.stem, "SELECT payment_id, amount, coalesce(is_deleted, false), _source_file, "
                                          f"_row_number FROM ({select}) ORDER BY payment_id")


def rows_of(work_db: Path, catalog: str, select: str) -> int:
    """How many rows a model's compiled SELECT gives on a copy of the working file as it was
    before the build: for an incremental base model, the keys it re-merges."""
    return on_file(work_db, catalog, f"SELECT count(*) FROM ({select})")[0][0]


def test_incremental_merge_equals_a_full_merge_after_new_late_replaced_and_deleting_files(tmp_settings, tmp_path):
    work_db = tmp_settings.work_db
    pay = tmp_settings.inbox / "payments"

    full_merge: list[str] = []  # the first build's compiled SELECT: the model's full merge from raw

    def step(expected_live: dict[str, str], incremental: bool, remerged: int) -> None:
        con = duckdb.connect(str(work_db))
        assert all(f.status in ("loaded", "unchanged") for f in ingest(con, tmp_settings, "payments").files)
        con.close()
        before = tmp_path / "before.duckdb"
        shutil.copyfile(work_db, before)
        node = dbt_run(work_db, tmp_path)
        # an incremental build re-merges only the touched keys; the first build merges everything
        assert ("semi join touched" in node["compiled_code"]) is incremental
        if not incremental:
            full_merge.append(node["compiled_code"])
        assert rows_of(before, work_db.stem, node["compiled_code"]) == remerged
        built = merged(work_db)
        # same rows, tombstones included, as a full merge of every raw row now (what --full-refresh
        # builds: the first build's SELECT, run on the working file as it is after this build)
        assert merged(work_db, full_merge[0]) == built
        live = {pid: amount for pid, amount, deleted, *_ in built if not deleted}
        assert live == {k: Decimal(v) for k, v in expected_live.items()}

    write_csv(pay / "2025-01-31_payments.csv", PAY_HEADER, [
        ["P1", "C1", "2025-01-05", "100", "CNY", ""], ["P2", "C1", "2025-01-06", "5", "CNY", ""],
        ["P3", "C1", "2025-01-07", "7", "CNY", ""]])
    step({"P1": "100", "P2": "5", "P3": "7"}, incremental=False, remerged=3)

    # a newer file updates P1, deletes P2, adds P4; a late file whose name sorts earlier adds P5
    # and carries an old P1 that must not win
    write_csv(pay / "2025-02-28_payments.csv", PAY_HEADER, [
        ["P1", "C1", "2025-01-05", "120", "CNY", ""], ["P2", "C1", "2025-01-06", "5", "CNY", "true"],
        ["P4", "C1", "2025-02-01", "40", "CNY", ""]])
    write_csv(pay / "2025-01-15_payments.csv", PAY_HEADER, [
        ["P1", "C1", "2025-01-05", "999", "CNY", ""], ["P5", "C1", "2025-01-10", "50", "CNY", ""]])
    step({"P1": "120", "P3": "7", "P4": "40", "P5": "50"}, incremental=True, remerged=4)  # P1, P2, P4, P5

    # the January export is re-delivered without P3: P3 is in no file any more
    write_csv(pay / "2025-01-31_payments.csv", PAY_HEADER, [["P1", "C1", "2025-01-05", "130", "CNY", ""]])
    step({"P1": "120", "P4": "40", "P5": "50"}, incremental=True, remerged=1)  # P1 (P3 has no rows left)

    # a later re-export brings the deleted P2 back
    write_csv(pay / "2025-03-31_payments.csv", PAY_HEADER, [["P2", "C1", "2025-01-06", "6", "CNY", ""]])
    # P2, and P1 again: the re-delivered January row lost to February's, so the newest merged row
    # is older than it and it counts as new once more (harmless; a key's merge is always complete)
    step({"P1": "120", "P2": "6", "P4": "40", "P5": "50"}, incremental=True, remerged=2)


# --- a whole nightly run after one new day of files ----------------------------------------------------

def test_a_new_day_ingests_only_its_files_and_publishes_what_a_full_rebuild_does(sample_run, tiny_run, tmp_path):
    """The sample inbox without its newest day's files, run; then that day's files arrive and the
    next run loads only them. The result equals the session's full build of the whole inbox (the
    README's demo, conftest.sample_run). The tiny inbox's run (``tiny_run``) has left this checkout's
    shared parse state."""
    sample_warehouse = sample_run["wh"]
    inbox = tmp_path / "inbox"
    shutil.copytree(sample_run["inbox"], inbox)
    newest = max(p.name[:10] for p in inbox.glob("*/*.csv"))
    held = tmp_path / "held"
    new_day = sorted(p.relative_to(inbox).as_posix() for p in inbox.glob(f"*/{newest}_*"))
    assert len(new_day) >= 5, new_day
    for rel in new_day:
        (held / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(inbox / rel, held / rel)
    wh, work = tmp_path / "wh.duckdb", tmp_path / "work"
    # the same pseudonyms as the session's build: its vault (the key personal values are pseudonymised with)
    work.mkdir()
    shutil.copy(sample_run["work"] / "personal.duckdb", work / "personal.duckdb")
    args = ["run", "--inbox", str(inbox), "--warehouse", str(wh), "--workdir", str(work)]
    assert main(args) == 0
    for rel in new_day:
        shutil.move(held / rel, inbox / rel)
    assert main(args) == 0
    # dbt parsed only what changed in both runs, the first one too: a new working folder starts from
    # the parse state every `bdw run` on the machine shares (bdw.dbt_targets.SHARED_PARSE_STATE, made
    # with placeholders for the working folder's values; the tiny inbox's run left it)
    logs = [p.read_text() for p in sorted((work / "logs").glob("run_*.log"))]
    assert len(logs) == 2
    for log in logs:
        assert "Unable to do partial parsing" not in log and re.search(r"Found \d+ models", log)

    last_run = query(wh, "SELECT run_id FROM raw._load_manifest ORDER BY loaded_at DESC LIMIT 1")[0][0]
    loaded = sorted(f for (f,) in query(
        wh, "SELECT file FROM raw._load_manifest WHERE run_id = ? AND status IN ('loaded', 'partial')", [last_run]))
    assert loaded == new_day  # nothing else was read again
    assert base_models_merged_incrementally(wh) == BASE_MODELS
    assert published_differences(sample_warehouse, wh) == []


def test_full_refresh_rebuilds_the_merged_models_from_raw_to_the_same_result(tiny_run, tmp_path):
    """``--full-refresh`` on a working folder that published before (a copy of the tiny inbox's first
    run, nothing new in its inbox): the base models merge everything from raw again, and what is
    published equals that first run's."""
    inbox, wh = copy_tiny_run(tiny_run, tmp_path)
    # each dbt invocation leaves a target folder; runs keep only the newest few, and any written in
    # the last hour: a folder two hours old, behind as many newer ones as are kept, goes with the
    # next run; the others stay (whatever builds other test workers made meanwhile)
    target = dbt_project.project_dir / dbt_project.target_path
    assert KEEP_INVOCATION_TARGETS <= 3
    two_hours_ago = time.time() - 7200
    old, *newer = (target / f"bdw_dbt_models-testing-{age}" for age in ("old", *range(KEEP_INVOCATION_TARGETS)))
    for folder in (old, *newer):
        folder.mkdir()
        (folder / "run_results.json").write_text("{}")
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert main(["run", "--inbox", str(inbox), "--warehouse", str(wh), "--full-refresh"]) == 0
    assert base_models_merged_incrementally(wh) == set()
    assert published_differences(tiny_run["root"] / "wh.duckdb", wh) == []
    assert not old.exists() and all(folder.exists() for folder in newer)
    for folder in newer:
        shutil.rmtree(folder)


BASE_MODELS = {p.stem for p in (DBT_PROJECT_DIR / "models" / "staging" / "base").glob("base_*.sql")}


def base_models_merged_incrementally(wh: Path) -> set[str]:
    """The base models that the dbt build of the run that published ``wh`` compiled with the
    incremental filter."""
    results = dbt_results_of_run(wh)
    return {r["unique_id"].rsplit(".", 1)[-1] for r in results
            if r["unique_id"].startswith("model.") and "semi join touched" in (r.get("compiled_code") or "")}
