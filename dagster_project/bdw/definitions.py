"""The one Dagster ``Definitions`` object: ``dagster dev`` from the repo root loads it."""

from __future__ import annotations

import os

from dagster import AssetSelection, Definitions, define_asset_job

from bdw.config import DUCKDB_PATH_ENV, load_settings
from bdw.dbt_project import dbt_project, ensure_manifest

os.environ.setdefault(DUCKDB_PATH_ENV, str(load_settings().work_db))
dbt_project.prepare_if_dev()
ensure_manifest()

from bdw.alerts.sensors import run_failure_alert_sensor  # noqa: E402
from bdw.assets.checks import great_expectations_checks  # noqa: E402
from bdw.assets.dbt import bdw_dbt_models  # noqa: E402 - needs the manifest prepared above
from bdw.assets.ingestion import raw_assets  # noqa: E402
from bdw.assets.publishing import warehouse  # noqa: E402
from bdw.assets.reporting import dbt_docs, report  # noqa: E402
from bdw.automation import inbox_sensor, nightly_schedule  # noqa: E402
from bdw.resources import default_resources  # noqa: E402

nightly_job = define_asset_job(
    "bdw_nightly",
    selection=AssetSelection.all(),
    description="Ingest the inbox, build the dbt models and checks, publish the warehouse.",
)

defs = Definitions(
    assets=[*raw_assets, bdw_dbt_models, warehouse, report, dbt_docs],
    asset_checks=[great_expectations_checks],
    jobs=[nightly_job],
    schedules=[nightly_schedule(nightly_job)],
    sensors=[inbox_sensor(nightly_job), run_failure_alert_sensor(nightly_job)],
    resources=default_resources(),
)
