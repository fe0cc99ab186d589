"""The one Dagster ``Definitions``: ``dagster dev`` from the repo root loads it, ``bdw run`` executes its job.

Nothing happens when this module is imported. Dagster calls ``defs`` (a ``@definitions`` function)
when it loads the code location; ``build_definitions`` then does the start-up work in the open:
it reads the settings, makes sure dbt's manifest is parsed, and builds the assets from it.
"""

from __future__ import annotations

from functools import cache

from dagster import AssetSelection, Definitions, define_asset_job, definitions, in_process_executor

from bdw.settings import load_settings

NIGHTLY_JOB = "bdw_nightly"


@cache
def build_definitions() -> Definitions:
    """Every asset, check, job, schedule, sensor and resource of the project, for the settings of
    the environment (``bdw run`` gives a run its own paths through the job's resources)."""
    from bdw.alerts.sensors import run_failure_alert_sensor
    from bdw.assets.alerts import alerts_asset
    from bdw.assets.checks import great_expectations_checks
    from bdw.assets.dbt import dbt_models
    from bdw.assets.freshness import source_freshness_checks
    from bdw.assets.ingestion import raw_assets
    from bdw.assets.publishing import warehouse_asset
    from bdw.assets.reporting import dbt_docs, report
    from bdw.automation import inbox_sensor, nightly_schedule
    from bdw.dbt_project import ensure_manifest
    from bdw.resources import resources_for

    settings = load_settings()
    models = dbt_models(ensure_manifest())
    quality_checks = great_expectations_checks(settings.config_dir)
    # every step of the job runs in the run's one process, under the daemon as in `bdw run`: its
    # writers take turns anyway (pool duckdb_writer), and a process per step would add ~5 s of
    # start-up and imports to each of its steps (a tiny inbox's run: 143 s instead of ~30 s)
    nightly_job = define_asset_job(
        NIGHTLY_JOB,
        selection=AssetSelection.all(),
        executor_def=in_process_executor,
        description="Ingest the inbox, build the dbt models and checks, publish the warehouse, send the alerts.",
    )
    return Definitions(
        assets=[*raw_assets, models, warehouse_asset([*raw_assets, models]), report, dbt_docs,
                alerts_asset(quality_checks)],
        asset_checks=[quality_checks, source_freshness_checks()],
        jobs=[nightly_job],
        schedules=[nightly_schedule(nightly_job)],
        sensors=[inbox_sensor(nightly_job), run_failure_alert_sensor(nightly_job)],
        resources=resources_for(settings),
    )


@definitions
def defs() -> Definitions:
    return build_definitions()
