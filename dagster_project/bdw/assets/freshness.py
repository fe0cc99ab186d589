"""Stale sources as Dagster asset checks: one ``freshness`` check on each ``raw/<source>`` asset.

The check judges the source's data and reads the dbt model ``dq/source_freshness`` (the newest
file's date, its age on the run's as-of date, the threshold and the verdict: bdw.quality.freshness),
so Dagster runs it after the dbt build. Severity WARN and not blocking: a stale source is published
with what it has, and announced (the ``alerts`` asset reads the same model). A source with no data
passes, marked not judged.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from bdw.assets.ingestion import WRITER_POOL
from bdw.contract import SOURCES
from bdw.quality.freshness import SourceFreshness, read_freshness
from bdw.resources import WorkingDatabase

CHECK_NAME = "freshness"
FRESHNESS_KEY = AssetKey(["dq", "source_freshness"])


def _spec(source: str) -> AssetCheckSpec:
    return AssetCheckSpec(
        name=CHECK_NAME,
        asset=AssetKey(["raw", source]),
        description=f"The newest `{source}` export (the date its file name starts with) is not older than its "
        "threshold on the run's as-of date (config/bdw.yml freshness:; dq.source_freshness).",
        blocking=False,
        additional_deps=[FRESHNESS_KEY],
        metadata={"severity": "WARN", "model": "dq.source_freshness"},
    )


def check_result(row: SourceFreshness) -> AssetCheckResult:
    metadata: dict[str, object] = {
        "status": row.status,
        "cadence": row.cadence,
        "newest_file": row.newest_file,
        "newest_file_date": row.newest_file_date.isoformat() if row.newest_file_date else None,
        "age_days": row.age_days if row.judged else None,
        "max_age_days": row.max_age_days,
        "as_of": row.as_of_date.isoformat(),
        "files": row.files,
        "message": row.summary(),
    }
    return AssetCheckResult(
        asset_key=AssetKey(["raw", row.source]),
        check_name=CHECK_NAME,
        passed=not row.stale,
        severity=AssetCheckSeverity.WARN,
        description=row.summary(),
        metadata={k: v for k, v in metadata.items() if v is not None},
    )


def source_freshness_checks() -> AssetChecksDefinition:
    """One ``freshness`` check per inbox source, all evaluated by one step."""

    @multi_asset_check(
        specs=[_spec(source) for source in SOURCES],
        name="source_freshness_checks",
        description="Stale sources: each source's newest export against its threshold (dq.source_freshness).",
        compute_kind="duckdb",
        pool=WRITER_POOL,  # reads the working database: no writer may hold it meanwhile
    )
    def _checks(context: AssetCheckExecutionContext, duckdb: WorkingDatabase):
        with duckdb.get_connection() as con:
            rows = read_freshness(con) or []
        for row in rows:
            if row.source in SOURCES:
                if row.stale:
                    context.log.warning(f"stale source {row.source}: {row.summary()}")
                yield check_result(row)

    return _checks
