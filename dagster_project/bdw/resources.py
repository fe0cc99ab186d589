"""Dagster resources. Paths come from ``bdw.config`` (environment variables), so the Dagster UI,
the schedule and ``bdw run`` all build the same thing."""


import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster import ConfigurableResource, EnvVar
from dagster_duckdb import DuckDBResource

from bdw.config import DUCKDB_PATH_ENV, Settings, load_settings
from bdw.dbt_project import dbt_cli
from bdw.publish import STORAGE_VERSION
from bdw.run_context import resolve_as_of


class BdwSettings(ConfigurableResource):
    """Where the inbox and the published warehouse are, and the run's as-of date.

    Empty values fall back to the environment (``BDW_INBOX``, ``BDW_WAREHOUSE``, ``BDW_WORKDIR``,
    ``BDW_AS_OF``) and then to the defaults of ``bdw.config``."""

    inbox: str = ""
    warehouse: str = ""
    workdir: str = ""
    profile: str = ""
    as_of: str = ""
    full_refresh: bool = False  # rebuild the incremental dbt models from raw (`bdw run --full-refresh`)
    # every step runs in this one process (`bdw run`): modules a later step needs can be loaded early
    single_process: bool = False

    def settings(self) -> Settings:
        return load_settings(self.inbox or None, self.warehouse or None, self.workdir or None, self.profile or None)

    def as_of_date(self) -> dt.date:
        return resolve_as_of(self.settings(), self.as_of or None)


def connect_writer(path: str, config: dict | None = None, wait_seconds: float = 120.0) -> duckdb.DuckDBPyConnection:
    """Open the working database for writing, waiting while another process holds its lock (the
    dbt child of a run that was killed finishes on its own and releases it)."""
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


def default_resources() -> dict[str, object]:
    return {
        "bdw": BdwSettings(),
        # the working database: the one DuckDB path setting, shared with dbt's profiles.yml
        "duckdb": WorkingDatabase(database=EnvVar(DUCKDB_PATH_ENV)),
        "dbt": dbt_cli(),
    }
