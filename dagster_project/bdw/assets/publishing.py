"""Publish the built warehouse for analysts, only after everything upstream succeeded."""


from dagster import AssetExecutionContext, MaterializeResult, asset

from bdw.assets.dbt import bdw_dbt_models
from bdw.assets.ingestion import TRANSIENT_RETRY, WRITER_POOL, raw_assets
from bdw.publish import publish
from bdw.resources import BdwSettings


@asset(
    key=["warehouse"],
    group_name="publish",
    deps=[bdw_dbt_models, *raw_assets],
    kinds={"duckdb"},
    pool=WRITER_POOL,
    owners=["team:sales-ops"],
    retry_policy=TRANSIENT_RETRY,
    description="The analysts' DuckDB file: a copy of the working database, swapped in atomically once "
    "ingestion, dbt models and blocking checks have passed.",
)
def warehouse(context: AssetExecutionContext, bdw: BdwSettings) -> MaterializeResult:
    settings = bdw.settings()
    result = publish(settings.work_db, settings.warehouse)
    context.log.info(f"published {result.path} ({result.tables} tables)")
    return MaterializeResult(metadata={
        "path": str(result.path),
        "tables": result.tables,
        "previous_version": str(result.previous) if result.previous else "none",
    })
