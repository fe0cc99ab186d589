"""The data-quality section of the run summary (``bdw run``): this run's failing checks with
their observed values, and the Data Docs link (the alerts have their own section: bdw.alerts.summary)."""

from __future__ import annotations

import duckdb

from bdw.catalog import relation_exists
from bdw.settings import Settings


def quality_summary(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, max_lines: int = 20) -> list[str]:
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
