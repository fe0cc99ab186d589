"""One data-quality pass of a run: snapshots from the working database, the Great Expectations
checkpoint (and its Data Docs), the history appended to ``dq``, and the alerts. The Dagster asset
checks (bdw.assets.checks) call ``run_quality`` and report its results."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from bdw.alerts import Alert, DispatchReport, dispatch
from bdw.catalog import relation_exists
from bdw.ingest.outcome import ROWS_IN_RAW
from bdw.quality.gx_runner import RuleResult, run_suites
from bdw.quality.history import append_completeness, append_results
from bdw.quality.rules import COMPLETENESS_SUITE, all_rules
from bdw.quality.snapshots import completeness_by_owner, read_snapshots
from bdw.quality.thresholds import QualityConfig, load_quality_config
from bdw.run_context import newest_date, newest_file_date
from bdw.settings import Settings

log = logging.getLogger(__name__)

SCOPE_GX = "great_expectations"
SCOPE_EARLY_WARNINGS = "early_warnings"

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


@dataclass
class QualityReport:
    results: list[RuleResult]
    as_of: dt.date
    reference_date: dt.date
    data_docs_url: str | None = None
    alerts: DispatchReport | None = None
    alert_error: str | None = None
    early_warnings: int | None = None  # None: marts.early_warnings does not exist (yet)
    config: QualityConfig | None = None
    by_owner: pd.DataFrame | None = field(default=None, repr=False)


def newest_loaded_file_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The newest export date (leading date of the file name) of the files loaded into the working
    database: its rows came from them, even if a file has since left the inbox."""
    if not relation_exists(con, "raw", "_load_manifest"):
        return None
    return newest_date(str(f) for (f,) in con.execute(
        "SELECT file FROM raw._load_manifest WHERE list_contains(?, status)", [list(ROWS_IN_RAW)]).fetchall())


def reference_date(settings: Settings, as_of: dt.date, loaded: dt.date | None = None) -> dt.date:
    """The date the 'not in the future' rules count from: the latest of --as-of, the newest file in
    the inbox and the newest file loaded into the working database."""
    return max(d for d in (as_of, newest_file_date(settings), loaded) if d)


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


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _worst_owners(by_owner: pd.DataFrame, table: str, column: str, n: int = 3) -> str:
    d = by_owner[(by_owner["table_name"] == table) & (by_owner["field"] == column)].copy()
    d["empty"] = d["cells"] - d["filled"]
    d = d[d["empty"] > 0].sort_values(["empty", "owner_id"], ascending=[False, True], na_position="last").head(n)
    return ", ".join(f"{o if isinstance(o, str) else 'no owner'} ({e} of {c} empty)"
                     for o, e, c in zip(d["owner_id"], d["empty"], d["cells"], strict=True))


def result_alert(r: RuleResult, by_owner: pd.DataFrame, *, run_id: str, as_of: dt.date) -> Alert:
    rule = r.rule
    common = {"source": SCOPE_GX, "scope": SCOPE_GX, "active": not r.success, "run_id": run_id,
              "as_of": as_of.isoformat(), "link": r.data_docs_url, "observed": r.observed,
              "threshold": r.threshold, "severity": rule.severity}
    if rule.suite == COMPLETENESS_SUITE:
        worst = _worst_owners(by_owner, rule.table, rule.column)
        return Alert(
            key=f"completeness:{rule.table}.{rule.column}",
            title=f"CRM completeness of {rule.table}.{rule.column}",
            summary=(f"{_pct(r.observed)} of the current {rule.table} have it filled, target at least "
                     f"{rule.threshold:.0%}" if not r.error else r.message),
            owner=f"field {rule.table}.{rule.column}" + (f"; reps with the most empty cells: {worst}" if worst else ""),
            detail="Ask the owners to fill it in the CRM (a warning: the warehouse is still published).",
            **common)
    owner = f"finance data ({rule.table} exports" + (": " + ", ".join(r.files[:3]) if r.files else "") + ")"
    if r.owners:
        owner += "; contract owners: " + ", ".join(r.owners[:5])
    return Alert(
        key=f"validity:{rule.model}.{rule.name}",
        title=f"{rule.name.replace('_', ' ')} ({rule.table} data, staging.{rule.model})",
        summary=r.message,
        owner=owner,
        detail=f"Rule: {rule.description} The warehouse is not published until the data passes: correct the "
               f"export and drop the corrected file in the inbox.",
        **common)


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


def early_warning_alerts(df: pd.DataFrame, covered_fields: set[str], *, run_id: str, as_of: dt.date) -> list[Alert]:
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
            source=SCOPE_EARLY_WARNINGS, scope=SCOPE_EARLY_WARNINGS, run_id=run_id, as_of=as_of.isoformat()))
    return out


def run_quality(settings: Settings, *, as_of: dt.date, run_id: str, connect: Connect,
                send_alerts: bool = True) -> QualityReport:
    cfg = load_quality_config(settings.config_dir)
    rules = all_rules(cfg)
    with connect() as con:
        snaps = read_snapshots(con, cfg)
        warnings = read_early_warnings(con)
        reference = reference_date(settings, as_of, newest_loaded_file_date(con))
    by_owner = completeness_by_owner(snaps, cfg)
    docs_dir = settings.warehouse.parent / cfg.data_docs_folder
    results, docs_url = run_suites(snaps, rules, cfg, workdir=settings.workdir, docs_dir=docs_dir,
                                   run_name=run_id, reference=reference)
    validated_at = dt.datetime.now()
    with connect() as con:
        append_results(con, results, run_id=run_id, validated_at=validated_at, as_of=as_of, reference=reference)
        append_completeness(con, by_owner, run_id=run_id, validated_at=validated_at, as_of=as_of)
    report = QualityReport(results=results, as_of=as_of, reference_date=reference, data_docs_url=docs_url,
                           early_warnings=None if warnings is None else len(warnings), config=cfg,
                           by_owner=by_owner)
    if not send_alerts:
        return report
    try:
        evaluations = [result_alert(r, by_owner, run_id=run_id, as_of=as_of) for r in results]
        scopes = {SCOPE_GX}
        if warnings is not None:
            covered = {f"{r.rule.table}.{r.rule.column}" for r in results if r.rule.suite == COMPLETENESS_SUITE}
            evaluations += early_warning_alerts(warnings, covered, run_id=run_id, as_of=as_of)
            scopes.add(SCOPE_EARLY_WARNINGS)
        report.alerts = dispatch(settings, evaluations, scopes, run_id=run_id, as_of=as_of.isoformat())
    except Exception as e:  # noqa: BLE001 - alerting must never break the run
        log.exception("alert dispatch failed")
        report.alert_error = f"{type(e).__name__}: {e}"
    return report
