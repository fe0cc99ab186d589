"""The dbt project as Dagster assets: keys and groups come from dbt's own metadata."""


from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, Failure
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from bdw import dbt_warm
from bdw.assets.checks import preload_in_background
from bdw.assets.ingestion import WRITER_POOL
from bdw.dagster_dbt_overrides import serving
from bdw.dbt_project import NIGHTLY_BUILD, dbt_project
from bdw.dbt_targets import keep_partial_parse, prune_invocation_targets
from bdw.faults import fault_point
from bdw.resources import BdwSettings, WorkingDatabase
from bdw.run_context import export_environment, write_run_context
from bdw.run_lock import RunLocked, step_lock
from bdw.settings import Settings


class BdwTranslator(DagsterDbtTranslator):
    """Models are keyed ``<schema>/<name>`` and grouped by their folder (staging, intermediate,
    marts...); sources keep dbt's ``<source>/<table>`` key, which is the ingestion asset's key."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props["schema"]
            return AssetKey([schema, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


def dbt_models(manifest: Path) -> AssetsDefinition:
    """The dbt project's models, seeds and tests as one multi-asset (``bdw_dbt_models``), from a
    parsed manifest (``bdw.dbt_project.ensure_manifest``)."""
    translator = BdwTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    @dbt_assets(manifest=manifest, project=dbt_project, dagster_dbt_translator=translator, pool=WRITER_POOL)
    def bdw_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, bdw: BdwSettings,
                       duckdb: WorkingDatabase):
        """``dbt build``: seeds, models and their data tests in dependency order, as of the run's date.
        The merged base models build incrementally unless the run asks for a full refresh."""
        yield from _build(context, dbt, bdw, duckdb)

    return bdw_dbt_models


def _build(context: AssetExecutionContext, dbt: DbtCliResource, bdw: BdwSettings, duckdb: WorkingDatabase):
    settings = bdw.settings()
    try:
        with step_lock(settings):
            yield from _build_locked(context, dbt, bdw, duckdb, settings)
    except RunLocked as e:
        raise Failure(description=str(e), allow_retries=False) from None


def _build_locked(context: AssetExecutionContext, dbt: DbtCliResource, bdw: BdwSettings, duckdb: WorkingDatabase,
                  settings: Settings):
    export_environment(settings)
    preload_in_background()  # the job runs in one process (bdw.definitions): the checks step comes next
    with duckdb.get_connection() as con:
        write_run_context(con, bdw.as_of_date(), context.run.run_id, settings.freshness)
    # the dbt process `bdw run` started with the run, done importing and parsing (bdw.dbt_warm); a
    # run the daemon or the UI launched starts it now (it parses from the same shared parse state)
    warm = dbt_warm.claim(settings.workdir) or dbt_warm.start_for_run(settings, context.op_def.name,
                                                                       context.run.run_id, waiting=False)
    with serving(warm):
        invocation = dbt.cli([*NIGHTLY_BUILD, *(["--full-refresh"] if bdw.full_refresh else [])], context=context,
                             target_path=warm.target)
    try:
        for i, event in enumerate(invocation.stream()):
            if i == 0:
                fault_point("dbt:running")
            yield event
    finally:  # its parse's output, into the run log with the build's (`bdw run` sends stdout there)
        print(warm.parse_output(), end="", flush=True)
    keep_partial_parse(invocation.target_path)
    prune_invocation_targets(dbt_project.project_dir / dbt_project.target_path, context.op_def.name)

