"""This run's observations as alerts, read from the working database: the data-quality results the
Great Expectations step appended to ``dq.validation_results`` (with ``dq.crm_completeness_history``
for the reps with the most empty cells), the stale sources of ``dq.source_freshness`` and
``marts.early_warnings``.

Each observation is an ``Alert`` whose ``active`` says whether it is breached; ``scopes`` are the
families evaluated (a family whose table is missing, or has no rows of this run, is not evaluated,
and its open breaches stay open).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from bdw.alerts.alert import EARLY_WARNINGS, GREAT_EXPECTATIONS, SOURCE_FRESHNESS, Alert
from bdw.catalog import relation_exists
from bdw.contract import SOURCES
from bdw.quality.freshness import SourceFreshness, read_freshness

if TYPE_CHECKING:  # pandas loads when a function needs it: `bdw run` imports this module at start-up
    import pandas as pd

COMPLETENESS_SUITE = "crm_completeness"  # bdw.quality.rules.COMPLETENESS_SUITE, as stored in dq.validation_results
_RESULT_COLUMNS = ("run_id, validated_at, suite, asset, check_name, column_name, severity, success, observed_value, "
                   "threshold, message, data_docs_url")


@dataclass
class Evaluation:
    alerts: list[Alert] = field(default_factory=list)
    scopes: set[str] = field(default_factory=set)
    results_at: dt.datetime | None = None  # when this run's data-quality results were written


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _fmt(v: float | None) -> str:
    if v is None:
        return "n/a"
    if abs(v) < 1.5 and v != int(v):
        return f"{v:.1%}"
    return f"{v:,.2f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v):,}"


# ---- data-quality results --------------------------------------------------------------------------
def quality_results(con: duckdb.DuckDBPyConnection, run_id: str, *, failed_errors_only: bool = False) -> pd.DataFrame:
    """``dq.validation_results`` of one run (empty when there are none)."""
    if not relation_exists(con, "dq", "validation_results"):
        import pandas as pd

        return pd.DataFrame()
    only = " AND severity = 'error' AND NOT success" if failed_errors_only else ""
    return con.execute(f"SELECT {_RESULT_COLUMNS} FROM dq.validation_results WHERE run_id = ?{only} "
                       "ORDER BY suite, asset, check_name", [run_id]).df()


def blocked_runs_since(con: duckdb.DuckDBPyConnection, since: str | None, exclude: set[str]) -> list[str]:
    """The runs whose data-quality results, written after ``since``, include a failed error (a
    blocking check: the run did not publish), oldest first, except ``exclude``."""
    if since is None or not relation_exists(con, "dq", "validation_results"):
        return []
    rows = con.execute("SELECT run_id, min(validated_at) AS first_at FROM dq.validation_results WHERE validated_at > ? "
                       "AND severity = 'error' AND NOT success GROUP BY run_id ORDER BY first_at",
                       [dt.datetime.fromisoformat(since)]).fetchall()
    return [r for r, _ in rows if r not in exclude]


def _rule_facts(config_dir: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(asset, check) -> (the rule's table, its description), from the quality configuration; empty
    when it cannot be read (the alert then goes without the description)."""
    try:
        from bdw.quality.rules import all_rules
        from bdw.quality.thresholds import load_quality_config

        return {(".".join(r.asset_path), r.name): (r.table, r.description)
                for r in all_rules(load_quality_config(config_dir))}
    except Exception:  # noqa: BLE001 - a description is a nicety, never a reason to lose the alert
        return {}


def completeness_by_owner(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """The run's filled key-field cells per table, field and owner (dq.crm_completeness_history)."""
    if not relation_exists(con, "dq", "crm_completeness_history"):
        import pandas as pd

        return pd.DataFrame(columns=["table_name", "field", "owner_id", "cells", "filled"])
    return con.execute("SELECT table_name, field, owner_id, cells, filled_cells AS filled "
                       "FROM dq.crm_completeness_history WHERE run_id = ?", [run_id]).df()


def _worst_owners(by_owner: pd.DataFrame, table: str, column: str, n: int = 3) -> str:
    d = by_owner[(by_owner["table_name"] == table) & (by_owner["field"] == column)].copy()
    d["empty"] = d["cells"] - d["filled"]
    d = d[d["empty"] > 0].sort_values(["empty", "owner_id"], ascending=[False, True], na_position="last").head(n)
    return ", ".join(f"{o if isinstance(o, str) else 'no owner'} ({e} of {c} empty)"
                     for o, e, c in zip(d["owner_id"], d["empty"], d["cells"], strict=True))


def result_alert(row: dict, by_owner: pd.DataFrame, facts: dict[tuple[str, str], tuple[str, str]], *,
                 run_id: str, as_of: str | None) -> Alert:
    """One row of dq.validation_results as an alert: a completeness warning or a validity error."""
    model = str(row["asset"]).split(".")[-1]
    table, description = facts.get((row["asset"], row["check_name"]), (model.split("__", 1)[-1], ""))
    observed, threshold = _num(row["observed_value"]), _num(row["threshold"])
    common = {"source": GREAT_EXPECTATIONS, "scope": GREAT_EXPECTATIONS, "active": not bool(row["success"]),
              "run_id": run_id, "as_of": as_of, "link": row["data_docs_url"] or None, "observed": observed,
              "threshold": threshold, "severity": row["severity"]}
    if row["suite"] == COMPLETENESS_SUITE:
        column = row["column_name"]
        worst = _worst_owners(by_owner, table, column)
        target = f"{threshold:.0%}" if threshold is not None else "n/a"
        return Alert(
            key=f"completeness:{table}.{column}",
            title=f"CRM completeness of {table}.{column}",
            summary=(f"{_pct(observed)} of the current {table} have it filled, target at least {target}"
                     if observed is not None else str(row["message"])),
            owner=f"field {table}.{column}" + (f"; reps with the most empty cells: {worst}" if worst else ""),
            detail="Ask the owners to fill it in the CRM (a warning: the warehouse is still published).",
            **common)
    rule = f"Rule: {description} " if description else ""
    return Alert(
        key=f"validity:{model}.{row['check_name']}",
        title=f"{str(row['check_name']).replace('_', ' ')} ({table} data, {row['asset']})",
        summary=str(row["message"]),
        owner=f"finance data ({table} exports)",
        detail=f"{rule}The warehouse is not published until the data passes: correct the export and drop the "
               "corrected file in the inbox.",
        **common)


def result_alerts(con: duckdb.DuckDBPyConnection, results: pd.DataFrame, config_dir: Path, *, run_id: str,
                  as_of: str | None) -> list[Alert]:
    facts = _rule_facts(config_dir)
    by_owner = completeness_by_owner(con, run_id)
    return [result_alert(row, by_owner, facts, run_id=run_id, as_of=as_of) for row in results.to_dict("records")]


# ---- stale sources ----------------------------------------------------------------------------------
SYSTEM_OWNERS = {"crm": "the CRM admin", "finance": "finance data", "hr": "HR", "manual": "the manager's team"}


def freshness_alert(row: SourceFreshness, *, run_id: str, as_of: str | None) -> Alert:
    """A row of dq.source_freshness as an alert: active while the source is stale; its key is the
    source, so a source stays one breach however many runs it lasts."""
    system = SOURCES[row.source].system if row.source in SOURCES else ""
    folder = f"{row.source}/"
    return Alert(
        key=f"freshness:{row.source}", severity="warn",
        title=f"Stale source {row.source} (no new {row.cadence_label} export)",
        summary=row.summary(),
        owner=f"{SYSTEM_OWNERS.get(system, 'the data team')} ({row.source} exports)",
        detail=f"Check that the export still runs and lands in the inbox folder {folder}; until a newer file comes, "
               f"what the warehouse shows of {row.source} is as of {row.newest_file_date} (a warning: the warehouse "
               "is still published).",
        observed=float(row.age_days) if row.age_days is not None else None,
        threshold=float(row.max_age_days) if row.max_age_days is not None else None,
        source=SOURCE_FRESHNESS, scope=SOURCE_FRESHNESS, active=row.stale, run_id=run_id, as_of=as_of)


# ---- early warnings ---------------------------------------------------------------------------------
def read_early_warnings(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """marts.early_warnings with the account owner of account subjects; None when it does not exist."""
    if not relation_exists(con, "marts", "early_warnings"):
        return None
    cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                      "table_schema = 'marts' AND table_name = 'early_warnings'").fetchall()}
    df = con.execute("SELECT * FROM marts.early_warnings").df()
    if "subject_type" in cols and "subject" in cols and relation_exists(con, "staging", "stg_crm__accounts"):
        owners = con.execute("SELECT account_id AS subject, owner_id AS account_owner "
                             "FROM staging.stg_crm__accounts").df()
        df = df.merge(owners, how="left", on="subject")
        df.loc[df["subject_type"] != "account", "account_owner"] = None
    return df


def early_warning_alerts(df: pd.DataFrame, covered_fields: set[str], *, run_id: str, as_of: str | None) -> list[Alert]:
    """marts.early_warnings rows as alerts. A CRM field warning that the completeness suite already
    reports (same field, same target) is left out, so it is announced once."""
    out = []
    for row in df.to_dict("records"):
        stype, subject = row.get("subject_type"), str(row.get("subject"))
        if stype == "crm_field" and subject in covered_fields:
            continue
        value, threshold = _num(row.get("value")), _num(row.get("threshold"))
        owner = {
            "account": f"rep {row.get('account_owner')} (owner of account {subject})"
            if isinstance(row.get("account_owner"), str) else f"BD management (account {subject} has no owner)",
            "rep": f"rep {subject}",
            "partner": f"channel team (partner {subject})",
            "crm_field": f"field {subject}",
        }.get(stype, "BD management")
        period = row.get("period")
        period = f" in {period}" if isinstance(period, str) and period else ""
        wid = row.get("warning_id") or f"{row.get('kind')}:{subject}{':' + row['period'] if period else ''}"
        out.append(Alert(
            key=f"early_warning:{wid}", severity="warn",
            title=f"Early warning ({row.get('colour')}, {row.get('kind')}): {stype} {subject}{period}",
            summary=f"observed {_fmt(value)} against the threshold {_fmt(threshold)} ({row.get('rule')})",
            owner=owner, detail=str(row.get("message") or ""), observed=value, threshold=threshold,
            source=EARLY_WARNINGS, scope=EARLY_WARNINGS, run_id=run_id, as_of=as_of))
    return out


# ---- one run ----------------------------------------------------------------------------------------
def evaluate_run(con: duckdb.DuckDBPyConnection, config_dir: Path, *, run_id: str, as_of: str | None) -> Evaluation:
    """Every observation of run ``run_id``: its data-quality results, the stale sources and the early
    warnings."""
    out = Evaluation()
    results = quality_results(con, run_id)
    if not results.empty:
        out.alerts += result_alerts(con, results, config_dir, run_id=run_id, as_of=as_of)
        out.scopes.add(GREAT_EXPECTATIONS)
        import pandas as pd

        out.results_at = pd.Timestamp(results["validated_at"].max()).to_pydatetime()
    freshness = read_freshness(con)
    if freshness is not None:
        out.alerts += [freshness_alert(row, run_id=run_id, as_of=as_of) for row in freshness if row.judged]
        out.scopes.add(SOURCE_FRESHNESS)
    warnings = read_early_warnings(con)
    if warnings is not None:
        covered = {a.key.removeprefix("completeness:") for a in out.alerts if a.key.startswith("completeness:")}
        out.alerts += early_warning_alerts(warnings, covered, run_id=run_id, as_of=as_of)
        out.scopes.add(EARLY_WARNINGS)
    return out
