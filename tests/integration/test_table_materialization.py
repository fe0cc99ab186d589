"""The project's table materialization (dbt/macros/materialization_table.sql: one ``create or replace
table``), run by real dbt on a throwaway project that uses that macro file and nothing else of ours:
a rebuild replaces the rows, a view in the table's place is replaced by the table, a model that
fails leaves the previous table as it was, and a model asking for what the macro does not do
(here grants, table comments) is refused in words and builds nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bdw.settings import DBT_PROJECT_DIR, dbt_executable

from conftest import query

MACRO = DBT_PROJECT_DIR / "macros" / "materialization_table.sql"


def project(root: Path, models: dict[str, str]) -> Path:
    """A dbt project in ``root`` with the project's table materialization and ``models`` (name -> SQL)."""
    (root / "macros").mkdir(parents=True, exist_ok=True)
    shutil.copy(MACRO, root / "macros" / MACRO.name)
    (root / "dbt_project.yml").write_text(
        "name: lean\nversion: '1.0'\nconfig-version: 2\nprofile: lean\n"
        "models:\n  lean:\n    +materialized: table\n", encoding="utf-8")
    (root / "profiles.yml").write_text(
        f"lean:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: '{root / 'lean.duckdb'}'\n"
        "      threads: 1\n", encoding="utf-8")
    models_dir = root / "models"
    shutil.rmtree(models_dir, ignore_errors=True)
    models_dir.mkdir()
    for name, sql in models.items():
        (models_dir / f"{name}.sql").write_text(sql, encoding="utf-8")
    return root


def dbt_run(root: Path) -> tuple[int, str]:
    done = subprocess.run([dbt_executable(), "--no-send-anonymous-usage-stats", "run", "--project-dir", str(root),
                           "--profiles-dir", str(root), "--log-path", str(root / "logs"),
                           "--target-path", str(root / "target")],
                          capture_output=True, text=True, timeout=300, cwd=root)
    return done.returncode, done.stdout + done.stderr


def test_the_table_materialization_replaces_keeps_on_failure_and_refuses_what_it_does_not_do(tmp_path):
    db = tmp_path / "lean.duckdb"
    code, out = dbt_run(project(tmp_path, {
        "kept": "select 1 as n",
        "was_view": "{{ config(materialized='view') }} select 'view' as kind",
    }))
    assert code == 0, out[-3000:]
    assert query(db, "SELECT table_type FROM information_schema.tables WHERE table_name = 'was_view'") == [("VIEW",)]

    code, out = dbt_run(project(tmp_path, {
        "kept": "select * from no_such_table",  # fails: the table of the first build stays
        "was_view": "select 'table' as kind",  # now a table where the view was
        "replaced": "select 2 as n union all select 3",
        "asks_for_grants": "{{ config(grants={'select': ['analyst']}) }} select 4 as n",
        "asks_for_comments": "{{ config(persist_docs={'relation': true}) }} select 6 as n",
    }))
    assert code == 1
    assert query(db, "SELECT n FROM main.kept") == [(1,)]
    assert query(db, "SELECT table_type FROM information_schema.tables WHERE table_name = 'was_view'") == [
        ("BASE TABLE",)]
    assert query(db, "SELECT kind FROM main.was_view") == [("table",)]
    assert query(db, "SELECT n FROM main.replaced ORDER BY n") == [(2,), (3,)]
    assert "model asks_for_grants sets grants, which the project's table materialization" in out
    assert "model asks_for_comments sets persist_docs, which the project's table materialization" in out
    assert query(db, "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'asks_for_%'") == [(0,)]

    code, out = dbt_run(project(tmp_path, {"replaced": "select 5 as n"}))
    assert code == 0, out[-3000:]
    assert query(db, "SELECT n FROM main.replaced") == [(5,)]
