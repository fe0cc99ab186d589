"""Publish the built warehouse for analysts, only after everything upstream succeeded."""


from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, Failure, MaterializeResult, asset

from bdw.assets.ingestion import TRANSIENT_RETRY, WRITER_POOL
from bdw.publish import PublishResult, publish
from bdw.resources import BdwSettings
from bdw.run_lock import RunLocked, step_lock
from bdw.settings import Settings

WAREHOUSE_KEY = AssetKey(["warehouse"])


def warehouse_asset(upstream: list[AssetsDefinition]) -> AssetsDefinition:
    """The publish step, downstream of every asset in ``upstream`` (the raw and dbt assets), so that
    it runs only once they and their blocking checks have passed."""
    return asset(
        key=WAREHOUSE_KEY,
        group_name="publish",
        deps=upstream,
        kinds={"duckdb"},
        pool=WRITER_POOL,
        owners=["team:sales-ops"],
        retry_policy=TRANSIENT_RETRY,
        description="The analysts' DuckDB file: a copy of the working database, swapped in atomically once "
        "ingestion, dbt models and blocking checks have passed.",
    )(_publish)


def publish_step(settings: Settings) -> PublishResult:
    """The publish step's work: under the step lock, the working database published as the warehouse."""
    with step_lock(settings):
        return publish(settings.work_db, settings.warehouse, settings.duckdb_config())


def _publish(context: AssetExecutionContext, bdw: BdwSettings) -> MaterializeResult:
    try:
        result = publish_step(bdw.settings())
    except RunLocked as e:
        raise Failure(description=str(e), allow_retries=False) from None
    context.log.info(f"published {result.path} ({result.tables} tables)")
    return MaterializeResult(metadata={
        "path": str(result.path),
        "tables": result.tables,
        "previous_version": str(result.previous) if result.previous else "none",
    })
