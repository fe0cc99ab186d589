"""Great Expectations Core 1.x: one ephemeral Data Context per run, a pandas Data Source reading
the run's snapshots (parquet files written from the dbt check models, bdw.quality.snapshots), one
Expectation Suite and Validation Definition per (suite, table), and one Checkpoint whose update-Data-Docs action
(GX's ``UpdateDataDocsAction``, building once per checkpoint) renders the Data Docs beside the
published warehouse.

Validation results are kept in a filesystem store in the working folder, so the Data Docs index
lists the last ``data_docs_keep_runs`` runs, not only this one."""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bdw.quality.gx_imports import defer_unused
from bdw.quality.rules import Rule, date_bounds
from bdw.quality.thresholds import QualityConfig

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

SITE_NAME = "bdw"
DATASOURCE = "bdw_staging"


@dataclass
class RuleResult:
    rule: Rule
    success: bool
    observed: float | None
    threshold: float
    element_count: int
    unexpected_count: int
    expectation_type: str
    sample: list[str] = field(default_factory=list)  # failing rows, in words
    files: list[str] = field(default_factory=list)  # inbox files of the sampled failing rows
    owners: list[str] = field(default_factory=list)  # reps owning the sampled failing rows
    message: str = ""
    error: str | None = None  # the expectation could not be evaluated
    data_docs_url: str | None = None


def build_expectation(rule: Rule, cfg: QualityConfig, reference: dt.date):
    import great_expectations.expectations as gxe

    common = {
        "severity": "warning" if rule.severity == "warn" else "critical",
        "meta": {"check": rule.name, "asset": "/".join(rule.asset_path), "suite": rule.suite},
        "notes": rule.description,
    }
    k = rule.kind
    if k == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=rule.column, mostly=rule.threshold, **common)
    if k == "date_range":
        lo, hi = date_bounds(cfg, rule, reference)
        return gxe.ExpectColumnValuesToBeBetween(
            column=rule.column, min_value=dt.datetime.combine(lo, dt.time()),
            max_value=dt.datetime.combine(hi, dt.time()), **common)
    if k in ("a_greater_than_b", "a_at_least_b"):
        a, b = rule.columns
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a, column_B=b, or_equal=k == "a_at_least_b", ignore_row_if="either_value_is_missing", **common)
    if k == "not_zero":
        return gxe.ExpectColumnValuesToNotBeInSet(column=rule.column, value_set=[0], **common)
    if k == "positive":
        return gxe.ExpectColumnValuesToBeBetween(column=rule.column, min_value=0, strict_min=True, **common)
    if k == "at_least_one":
        return gxe.ExpectColumnValuesToBeBetween(column=rule.column, min_value=1, **common)
    if k == "at_most":
        return gxe.ExpectColumnValuesToBeBetween(column=rule.column, max_value=rule.threshold, **common)
    raise ValueError(f"unknown rule kind {k!r} of {rule.name}")


def _prune_results(results_dir: Path, docs_dir: Path, keep_runs: int) -> None:
    """Keep the validation results (and their Data Docs pages) of the newest ``keep_runs`` runs.
    The store's layout is <suite parts>/<run_name>/<run_time>/<batch>.json."""
    files = list(results_dir.rglob("*.json")) if results_dir.exists() else []
    newest: dict[str, str] = {}
    for f in files:
        run_name, run_time = f.parts[-3], f.parts[-2]
        newest[run_name] = max(newest.get(run_name, ""), run_time)
    keep = set(sorted(newest, key=newest.get, reverse=True)[:max(keep_runs - 1, 0)])
    for f in files:
        if f.parts[-3] in keep:
            continue
        rel = f.relative_to(results_dir)
        f.unlink(missing_ok=True)
        page = docs_dir / "validations" / rel.with_suffix(".html")
        page.unlink(missing_ok=True)
    for root in (results_dir, docs_dir / "validations"):
        if root.exists():
            for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                if not any(d.iterdir()):
                    d.rmdir()


def preload() -> None:
    """Import Great Expectations and what this runner takes from it: several seconds of imports
    that a single-process run pays while dbt builds, not when the checks step starts."""
    defer_unused()
    import great_expectations  # noqa: F401
    import great_expectations.expectations  # noqa: F401
    from great_expectations.data_context.types.base import DataContextConfig  # noqa: F401

    from bdw.quality import gx_actions  # noqa: F401


def nanosecond_dates(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its date columns at nanosecond resolution where every value fits (1677-2262).

    GX compares a datetime64[ns] column with its bounds in one vectorised step, but a column of any
    other resolution (pandas 3 reads DuckDB dates as datetime64[us]) row by row in Python: 4 of the
    8 s the checks took at scale 100. A column holding a date beyond that range (9999-12-31 as "no
    end") keeps its resolution and GX's slow path, so the value is still judged and shown as is."""
    out = df
    for col in df.columns:
        dtype = df[col].dtype
        if not pd.api.types.is_datetime64_dtype(dtype) or pd.api.types.is_datetime64_ns_dtype(dtype):
            continue
        lo, hi = df[col].min(), df[col].max()
        if pd.isna(lo) or (lo >= pd.Timestamp.min and hi <= pd.Timestamp.max):
            if out is df:
                out = df.copy()
            out[col] = df[col].astype("datetime64[ns]")
    return out


def _context(results_dir: Path, docs_dir: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    cfg = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    cfg.stores["validation_results_store"] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(results_dir)},
    }
    cfg.data_docs_sites = {SITE_NAME: {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }}
    return gx.get_context(mode="ephemeral", project_config=cfg)


def _num(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "empty"
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, float):
        return f"{v:,.6g}" if abs(v) < 1000 else f"{v:,.2f}"
    return str(v)


def describe_row(rule: Rule, row: pd.Series) -> str:
    """One failing row in words, for the check's metadata, the summary and the alert."""
    if rule.name == "rate_close_to_previous_month":
        return (f"{row['currency']} rate of {row['month']} is {_fmt(row['rate_to_cny'])} CNY, "
                f"{row['change']:+.1%} against {row['previous_month']} ({_fmt(row['previous_rate'])}); "
                f"allowed ±{row['allowed_change']:.0%} ({row['source_file']}, row {row['source_row']})")
    if rule.name == "payments_within_contract_value":
        return (f"contract {row['contract_id']} (owner {row['owner_id']}): paid {_fmt(row['paid_total'])} "
                f"{row['currency']} of a value of {_fmt(row['contract_value'])} ({row['paid_share']:.1%}; "
                f"allowed up to {rule.threshold:.0%})")
    if rule.name == "every_contract_has_a_line":
        return f"{row['row_ref']} has no line in contract_lines"
    if rule.name == "new_contract_value_positive":
        return f"{row['row_ref']}: a new contract whose lines add up to {_fmt(row[rule.column])} {row['currency']}"
    if rule.kind in ("a_greater_than_b", "a_at_least_b") and rule.measure != "max_value":
        a, b = rule.columns
        return f"{row['row_ref']}: {a} {_fmt(row[a])} is not after {b} {_fmt(row[b])}"
    if rule.kind == "not_null":
        return str(row["row_ref"])
    return f"{row['row_ref']}: {rule.column} {_fmt(row[rule.column])}"


def _observed_text(rule: Rule, observed: float | None) -> str:
    if observed is None:
        return ""
    if rule.measure_column == "abs_change":
        return f"largest change from the previous month {observed:.1%}, allowed {rule.threshold:.0%}"
    if rule.measure_column == "paid_share":
        return f"largest share of a contract's value paid {observed:.1%}, allowed {rule.threshold:.0%}"
    return f"largest {rule.measure_column} {observed:g}, allowed {rule.threshold:g}"


def _message(r: RuleResult, cfg: QualityConfig, reference: dt.date) -> str:
    rule = r.rule
    if r.error:
        return f"could not be evaluated: {r.error}"
    if rule.measure == "filled_share":
        if not r.element_count:
            return f"no current {rule.table}: nothing to measure"
        return (f"{r.observed:.1%} of {r.element_count} current {rule.table} have {rule.column} filled "
                f"({r.unexpected_count} empty); target at least {rule.threshold:.0%}")
    notes = []
    if rule.kind == "date_range":
        lo, hi = date_bounds(cfg, rule, reference)
        notes.append(f"{rule.column} allowed from {lo} to {hi}")
    if rule.measure == "max_value":
        notes.append(_observed_text(rule, r.observed))
    note = f" ({'; '.join(n for n in notes if n)})" if any(notes) else ""
    if not r.unexpected_count:
        return f"all {r.element_count} rows pass{note}"
    head = f"{r.unexpected_count} of {r.element_count} rows break the rule{note}"
    return head + (": " + "; ".join(r.sample[:3]) if r.sample else "")


def run_suites(snapshots: dict[str, pd.DataFrame], rules: list[Rule], cfg: QualityConfig, *, workdir: Path,
               docs_dir: Path, run_name: str, reference: dt.date) -> tuple[list[RuleResult], str | None]:
    """Validate ``snapshots`` against ``rules``; returns one result per rule and the Data Docs index URL."""
    defer_unused()  # before Great Expectations is first imported (here, or in preload)
    import great_expectations as gx

    from bdw.quality.gx_actions import UpdateDataDocsOnceAction

    snap_dir = workdir / "dq" / "snapshots"
    shutil.rmtree(snap_dir, ignore_errors=True)
    snap_dir.mkdir(parents=True, exist_ok=True)
    results_dir = workdir / "dq" / "gx_validation_results"
    docs_dir.mkdir(parents=True, exist_ok=True)
    _prune_results(results_dir, docs_dir, cfg.data_docs_keep_runs)

    context = _context(results_dir, docs_dir)
    source = context.data_sources.add_pandas(DATASOURCE)
    by_suite_table: dict[tuple[str, str], list[Rule]] = {}
    for rule in rules:
        by_suite_table.setdefault((rule.suite, rule.table), []).append(rule)
    batches = {}
    for table in sorted({t for _, t in by_suite_table}):
        path = snap_dir / f"{table}.parquet"
        # GX reports failing rows by position in this file (see result_format below)
        snapshots[table] = snapshots[table].reset_index(drop=True)
        nanosecond_dates(snapshots[table]).to_parquet(path, index=False)
        batches[table] = source.add_parquet_asset(table, path=path).add_batch_definition(f"{table}_current")
    definitions = []
    for (suite_name, table), suite_rules in by_suite_table.items():
        suite = context.suites.add(gx.ExpectationSuite(
            name=f"{suite_name}.{table}",
            meta={"notes": f"bdw {suite_name} rules on the staging snapshot {table}"}))
        for rule in suite_rules:
            suite.add_expectation(build_expectation(rule, cfg, reference))
        definitions.append(context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite_name}.{table}", data=batches[table], suite=suite)))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name="bdw_quality",
        validation_definitions=definitions,
        actions=[UpdateDataDocsOnceAction(name="update_data_docs", site_names=[SITE_NAME])],
        # Failing rows come back as positions, mapped to their row_ref below. Naming the row_ref
        # column here instead (unexpected_index_column_names) makes GX build a dict for EVERY failing
        # row in Python before it keeps the first few: 100 s for 14 completeness rules on 640k rows.
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": cfg.sample_size},
    ))
    run_id = gx.RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))
    outcome = checkpoint.run(run_id=run_id)

    by_name = {(r.model, r.name): r for r in rules}
    results: list[RuleResult] = []
    for key, suite_result in outcome.run_results.items():
        urls = context.get_docs_sites_urls(resource_identifier=key, site_names=[SITE_NAME], only_if_exists=False)
        page = urls[0]["site_url"] if urls else None
        for er in suite_result.results:
            meta = er.expectation_config.meta or {}
            rule = by_name[(meta["asset"].split("/")[-1], meta["check"])]
            res = er.result or {}
            exc = er.exception_info or {}
            error = None
            if exc.get("raised_exception"):
                error = (exc.get("exception_message") or "error").splitlines()[0]
            else:
                for info in exc.values() if isinstance(exc, dict) else ():
                    if isinstance(info, dict) and info.get("raised_exception"):
                        error = (info.get("exception_message") or "error").splitlines()[0]
            n = int(res.get("element_count") or 0)
            bad = int(res.get("unexpected_count") or 0)
            snap = snapshots[rule.table]
            if rule.measure == "filled_share":
                observed = (n - bad) / n if n else None
            elif rule.measure == "max_value":
                observed = _num(snap[rule.measure_column].max()) if len(snap) else None
            else:
                observed = float(bad)
            positions = [int(i) for i in res.get("partial_unexpected_index_list") or []
                         if isinstance(i, int | np.integer) and 0 <= i < len(snap)]
            sample, files, owners = [], [], []
            for pos in positions[:cfg.sample_size]:
                row = snap.iloc[pos]
                sample.append(describe_row(rule, row))
                for col, acc in (("source_file", files), ("owner_id", owners), ("record_owner", owners)):
                    v = row.get(col)
                    if isinstance(v, str) and v not in acc:
                        acc.append(v)
            r = RuleResult(rule=rule, success=bool(er.success) and error is None, observed=observed,
                           threshold=rule.threshold, element_count=n, unexpected_count=bad,
                           expectation_type=er.expectation_config.type, sample=sample, files=files,
                           owners=owners, error=error,
                           data_docs_url=page)
            r.message = _message(r, cfg, reference)
            results.append(r)
    index = context.get_docs_sites_urls(site_names=[SITE_NAME], only_if_exists=False)
    order = {(r.model, r.name): i for i, r in enumerate(rules)}
    results.sort(key=lambda r: order[(r.rule.model, r.rule.name)])
    return results, (index[0]["site_url"] if index else None)
