"""Dagster resources. Paths come from ``bdw.settings`` (environment variables), so the Dagster UI,
the schedule and ``bdw run`` all build the same thing: ``resources_for(settings)``."""


import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, InitResourceContext
from dagster_duckdb import DuckDBResource

from bdw import gc_tuning
from bdw.dbt_project import dbt_cli
from bdw.publish import STORAGE_VERSION
from bdw.run_context import resolve_as_of
from bdw.settings import Settings, load_settings


class BdwSettings(ConfigurableResource):
    """Where the inbox and the published warehouse are, and the run's as-of date.

    Empty values fall back to the environment (``BDW_INBOX``, ``BDW_WAREHOUSE``, ``BDW_WORKDIR``,
    ``BDW_AS_OF``) and then to the defaults of ``bdw.settings``."""

    inbox: str = ""
    warehouse: str = ""
    workdir: str = ""
    profile: str = ""
    as_of: str = ""
    full_refresh: bool = False  # rebuild the incremental dbt models from raw (`bdw run --full-refresh`)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        gc_tuning.tune()  # a run the daemon or the UI launched: its process holds the definitions

    def settings(self) -> Settings:
        return load_settings(self.inbox or None, self.warehouse or None, self.workdir or None, self.profile or None)

    def as_of_date(self) -> dt.date:
        return resolve_as_of(self.settings(), self.as_of or None)


def connect_writer(path: str, config: dict | None = None, wait_seconds: float = 120.0) -> duckdb.DuckDBPyConnection:
    """Open the working database for writing, waiting while another process holds its lock (the
    dbt child of a run that was killed finishes on its own and releases it)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)  # a first run creates the working folder
    if (config or {}).get("temp_directory"):  # the spill folder (Settings.duckdb_config): DuckDB needs its parents
        Path(config["temp_directory"]).mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    delay = 0.5
    while True:
        try:
            return duckdb.connect(path, read_only=False, config={
                # a new working file is created in the published format, so publishing can copy it
                "storage_compatibility_version": STORAGE_VERSION, "custom_user_agent": "bdw", **(config or {})})
        except duckdb.IOException as e:
            if "lock" not in str(e).lower() or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


class WorkingDatabase(DuckDBResource):
    """dagster-duckdb's resource, closing the connection also when the work inside fails
    (upstream closes it only on success, and an open handle would lock the file for the rest of
    an in-process run)."""

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = connect_writer(self.database, self.connection_config)
        try:
            yield con
        finally:
            con.close()


def resources_for(settings: Settings, **run: object) -> dict[str, object]:
    """The resources of a run on ``settings``: its paths, the working database (the one DuckDB path,
    ``settings.work_db``, which dbt's profile gets as BDW_DUCKDB_PATH when the dbt step starts) and
    dbt. ``run`` sets the run's other ``BdwSettings`` fields (as_of, full_refresh)."""
    return {
        "bdw": BdwSettings(inbox=str(settings.inbox), warehouse=str(settings.warehouse),
                           workdir=str(settings.workdir), profile=settings.profile or "", **run),
        # every connection of the run's steps (ingestion, the checks' reads) under limits.memory
        "duckdb": WorkingDatabase(database=str(settings.work_db), connection_config=settings.duckdb_config()),
        "dbt": dbt_cli(),
    }
