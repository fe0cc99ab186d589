"""The Great Expectations suites as Dagster asset checks on the dbt staging assets.

One step (``great_expectations_checks``) runs every suite once per run, after dbt built the models,
and reports one asset check per rule. A check sits on the staging model whose rows it judges and
depends on the check model it reads (``dq/check_*``, dbt/models/dq/checks: the staging data with
the derived columns the rule compares), so Dagster runs it after both:

- ``completeness_<field>`` on ``staging/stg_crm__accounts`` and ``staging/stg_crm__opportunities``:
  severity WARN, not blocking (the warehouse is still published);
- the finance validity rules on ``staging/stg_finance__*``: severity ERROR and ``blocking=True``,
  so a failure stops the publish asset ``warehouse`` (it is downstream of every staging model).

Each result's metadata holds the observed value, the threshold, the failing rows (a sample, in
words) and the link to its Data Docs page. The same step appends the results to the ``dq`` schema
(bdw.quality.run); it sends nothing: the ``alerts`` asset reads them there (bdw.assets.alerts).
"""


import contextlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)

from bdw.assets.ingestion import WRITER_POOL
from bdw.quality.rules import Rule, all_rules
from bdw.quality.thresholds import load_quality_config
from bdw.resources import BdwSettings, WorkingDatabase

if TYPE_CHECKING:  # pandas and GX's runner load when the step runs
    from bdw.quality.gx_runner import RuleResult

def _spec(rule: Rule) -> AssetCheckSpec:
    return AssetCheckSpec(
        name=rule.name,
        asset=AssetKey(rule.asset_path),
        description=rule.description,
        blocking=rule.blocking,
        additional_deps=[AssetKey(rule.input_path)],
        metadata={"suite": rule.suite, "severity": rule.severity.upper(), "engine": "great_expectations"},
    )


def preload_in_background() -> threading.Thread:
    """Load the modules of the steps after dbt in a background thread: the checks step's (pandas,
    Great Expectations), then the report page's (matplotlib, its SVG writer and font list). The job's
    steps share one process (``bdw.definitions``: the in-process executor), so this is started while
    dbt builds in its own process and this one mostly waits; a failure here is ignored, the step's
    own import reports it."""

    def load() -> None:
        with contextlib.suppress(Exception):
            from bdw.quality.gx_runner import preload

            preload()
        with contextlib.suppress(Exception):
            from bdw.report import preload as preload_report

            preload_report()

    # Great Expectations imports sqlalchemy.orm, and once it has begun to, SQLAlchemy calls into it
    # from the queries of Dagster's event storage in this thread: while half-imported there, a dbt
    # event's storage failed the step ("partially initialized module 'sqlalchemy.orm.exc'"). So
    # that import is done here, before the thread starts.
    import sqlalchemy.orm  # noqa: F401

    thread = threading.Thread(target=load, name="gx-preload", daemon=True)
    thread.start()
    return thread


def check_result(r: "RuleResult") -> AssetCheckResult:
    metadata: dict[str, object] = {
        "observed_value": MetadataValue.float(r.observed) if r.observed is not None else None,
        "threshold": MetadataValue.float(float(r.threshold)),
        "comparison": f"observed {r.rule.comparison} threshold ({r.rule.measure.replace('_', ' ')})",
        "failing_rows": r.unexpected_count,
        "rows_checked": r.element_count,
        "failing_rows_sample": MetadataValue.md("\n".join(f"- {s}" for s in r.sample)) if r.sample else None,
        "message": r.message,
        "expectation": r.expectation_type,
        "suite": r.rule.suite,
        "data_docs": MetadataValue.url(r.data_docs_url) if r.data_docs_url else None,
        "error": r.error,
    }
    return AssetCheckResult(
        asset_key=AssetKey(r.rule.asset_path),
        check_name=r.rule.name,
        passed=r.success,
        severity=AssetCheckSeverity.WARN if r.rule.severity == "warn" else AssetCheckSeverity.ERROR,
        description=r.message,
        metadata={k: v for k, v in metadata.items() if v is not None},
    )


def great_expectations_checks(config_dir: Path) -> AssetChecksDefinition:
    """One asset check per rule of the quality configuration in ``config_dir`` (the thresholds and
    the seed of key fields), all evaluated by one step."""
    specs = [_spec(r) for r in all_rules(load_quality_config(config_dir))]

    @multi_asset_check(
        specs=specs,
        name="great_expectations_checks",
        description="Great Expectations suites (CRM completeness, finance validity) on the staging models; "
        "results appended to the dq schema (read by the alerts asset), Data Docs beside the warehouse.",
        compute_kind="great_expectations",
        pool=WRITER_POOL,
    )
    def _checks(context: AssetCheckExecutionContext, bdw: BdwSettings, duckdb: WorkingDatabase):
        yield from _run_checks(context, bdw, duckdb, specs)

    return _checks


def _run_checks(context: AssetCheckExecutionContext, bdw: BdwSettings, duckdb: WorkingDatabase,
                specs: list[AssetCheckSpec]):
    from bdw.faults import fault_point
    from bdw.quality.run import run_quality

    fault_point("checks:running")
    report = run_quality(bdw.settings(), as_of=bdw.as_of_date(), run_id=context.run.run_id,
                         connect=duckdb.get_connection)
    if report.data_docs_url:
        context.log.info(f"Data Docs: {report.data_docs_url}")
    for online in report.data_docs_online:  # a Vega chart, or a CDN file a GX upgrade added (bdw.quality.data_docs)
        context.log.warning(f"Data Docs still load from the network: {online}")
    expected = {(tuple(s.asset_key.path), s.name) for s in specs}
    for r in report.results:
        if (tuple(r.rule.asset_path), r.rule.name) in expected:
            yield check_result(r)
        else:  # the seed of key fields changed since Dagster loaded the definitions
            context.log.warning(f"{'/'.join(r.rule.asset_path)} {r.rule.name}: {r.message} "
                                "(not a declared check: reload the definitions)")
