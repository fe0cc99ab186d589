"""The data-quality section of the run summary (``bdw run``): the dbt tests (structural rules)
that failed this run's build, this run's failing checks with their observed values, the Data
Docs link, and the stale sources (the alerts have their own section: bdw.alerts.summary)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from bdw.catalog import relation_exists
from bdw.quality.freshness import read_freshness, stale_lines
from bdw.settings import DBT_PROJECT_DIR, Settings

DBT_TARGET = DBT_PROJECT_DIR / "target"


def quality_summary(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, max_lines: int = 20) -> list[str]:
    return (dbt_test_lines(run_id, max_lines=max_lines, con=con) + _gx_lines(con, settings, run_id, max_lines)
            + stale_lines(read_freshness(con)))


RULE_WORDS = {"not_null": "empty", "unique": "the same value twice", "accepted_values": "a value not allowed",
              "expression_is_true": "rows break it", "grain": "two rows for one key"}


def failing_columns(con: duckdb.DuckDBPyConnection | None, result: dict) -> list[str]:
    """The failing (column, rule) rows of a ``column_rules`` test (dbt/tests/generic/column_rules.sql),
    by running its compiled query again on the working database: the test's own rows name them."""
    code = result.get("compiled_code")
    if con is None or not code or not str(result.get("unique_id", "")).startswith("test.bdw.column_rules_"):
        return []
    try:
        rows = con.execute(code).fetchall()
    except duckdb.Error:
        return []
    return [f"{column}: {RULE_WORDS.get(rule, rule)} ({n} row{'' if n == 1 else 's'})" for column, rule, n in rows]


def dbt_test_lines(run_id: str, target: Path = DBT_TARGET, max_lines: int = 20,
                   con: duckdb.DuckDBPyConnection | None = None) -> list[str]:
    """The dbt tests that failed with severity error in the run's build (dbt's run_results.json in
    the run's invocation folder, ``<op>-<run id's first 7>-<hash>``): a failing structural rule stops
    the build, and its name says which rule (docs/data_quality.md). Nothing when all passed."""
    failed = []
    for path in sorted(target.glob(f"*-{run_id[:7]}-*/run_results.json")):
        try:
            results = json.loads(path.read_text(encoding="utf-8")).get("results") or []
        except (OSError, ValueError):
            continue
        failed += [r for r in results if str(r.get("unique_id", "")).startswith("test.")
                   and r.get("status") in ("fail", "error")]
    if not failed:
        return []
    lines = [f"dbt tests (structural rules; docs/data_quality.md): {len(failed)} failed, the build stopped:"]
    for r in failed[:max_lines]:
        name = str(r["unique_id"]).split(".")[2]
        if r["status"] == "fail":
            n = int(r.get("failures") or 0)
            columns = failing_columns(con, r)
            counted = f"{n} failing row{'' if n == 1 else 's'}"
            lines.append(f"  ERROR {name}: " + ("; ".join(columns) if columns else counted))
        else:
            lines.append(f"  ERROR {name}: could not run: {str(r.get('message') or '').strip().splitlines()[0]}")
    if len(failed) > max_lines:
        lines.append(f"  ... and {len(failed) - max_lines} more (the run log has dbt's output)")
    return lines


def _gx_lines(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, max_lines: int) -> list[str]:
    if not relation_exists(con, "dq", "validation_results"):
        return []
    rows = con.execute("""
        SELECT severity, success, asset, check_name, message
        FROM dq.validation_results WHERE run_id = ?
        ORDER BY severity = 'error' DESC, success, asset, check_name""", [run_id]).fetchall()
    if not rows:
        return []
    failed = [r for r in rows if not r[1]]
    errors = sum(1 for r in failed if r[0] == "error")
    warnings = len(failed) - errors
    lines = [f"Data quality (Great Expectations, {len(rows)} checks; history in dq.validation_results): "
             + (f"{errors} blocking error(s), " if errors else "no errors, ")
             + f"{warnings} warning(s)"]
    for severity, _, asset, check, message in failed[:max_lines]:
        lines.append(f"  {severity.upper():<5} {asset} {check}: {message}")
    if len(failed) > max_lines:
        lines.append(f"  ... and {len(failed) - max_lines} more (dq.validation_results)")
    if errors:
        lines.append("  Blocking checks failed: the warehouse is not published until the data is corrected.")
    docs = _docs_index(settings)
    if docs:
        lines.append(f"Data Docs: {docs}")
    return lines


def _docs_index(settings: Settings) -> str | None:
    from bdw.quality.thresholds import load_quality_config

    try:
        folder = settings.warehouse.parent / load_quality_config(settings.config_dir).data_docs_folder
    except Exception:  # noqa: BLE001
        return None
    index = folder / "index.html"
    return index.as_uri() if index.exists() else None
