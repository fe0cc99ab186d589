"""The one place a run's alerts are sent from: the ``alerts`` asset, after publishing.

Its inputs are declared: ``marts/early_warnings``, ``dq/source_freshness`` (stale sources), the
assets the Great Expectations checks validate (their results are in ``dq.validation_results``,
with the run id: the checks step writes them and the blocking checks among them order this step
after it) and the published ``warehouse``.
So it runs only for a run that published, and what it announces is what analysts now read. A run
stopped by a blocking check does not reach it: that run's failure notice carries its errors
(bdw.alerts.run_failure).
"""

from dagster import (
    AssetChecksDefinition,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from bdw.assets.freshness import FRESHNESS_KEY
from bdw.assets.ingestion import WRITER_POOL
from bdw.assets.publishing import WAREHOUSE_KEY
from bdw.resources import BdwSettings, WorkingDatabase

ALERTS_KEY = AssetKey(["alerts"])
EARLY_WARNINGS_KEY = AssetKey(["marts", "early_warnings"])


def alerts_asset(quality_checks: AssetChecksDefinition) -> AssetsDefinition:
    """The ``alerts`` asset, reading the results of ``quality_checks`` and the early warnings."""
    checked = sorted({spec.asset_key for spec in quality_checks.check_specs}, key=lambda k: k.to_user_string())
    return asset(
        key=ALERTS_KEY,
        group_name="publish",
        deps=[WAREHOUSE_KEY, EARLY_WARNINGS_KEY, FRESHNESS_KEY, *checked],
        kinds={"apprise"},
        pool=WRITER_POOL,  # reads the working database: no writer may hold it meanwhile
        owners=["team:sales-ops"],
        description="Alerts to people: this run's data-quality results (dq.validation_results), stale sources "
        "(dq.source_freshness) and early warnings (marts.early_warnings), each breach announced once when it "
        "opens and once when it clears, to the alert log and the channels of alerts.yml (Apprise URLs from the "
        "environment).",
    )(_alerts)


def _alerts(context: AssetExecutionContext, bdw: BdwSettings, duckdb: WorkingDatabase) -> MaterializeResult:
    from bdw.alerts import announce_run

    settings = bdw.settings()
    report = announce_run(settings, duckdb.get_connection, run_id=context.run.run_id,
                          as_of=bdw.as_of_date().isoformat())
    for problem in report.problems:
        context.log.warning(f"alert configuration: {problem}")
    for channel, outcome in report.deliveries.items():
        if outcome != "sent":
            context.log.warning(f"alert channel {channel}: {outcome} (kept in {report.log_path}; re-sent next time)")
    context.log.info(f"alerts: {len(report.opened)} new, {len(report.cleared)} cleared, "
                     f"{len(report.still_open)} still open (log {report.log_path})")
    return MaterializeResult(metadata={
        "opened": len(report.opened),
        "cleared": len(report.cleared),
        "still_open": len(report.still_open),
        "deliveries": MetadataValue.json(report.deliveries),
        "channels_off": ", ".join(report.off) or "none",
        "log": MetadataValue.path(str(report.log_path)),
    })
