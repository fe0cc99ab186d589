"""Which Dagster instance a ``bdw run`` records into, and what a killed ``bdw run`` leaves behind.

With ``DAGSTER_HOME`` set (``bdw.settings.dagster_home``), ``bdw run`` executes the job in-process
on the persistent instance the daemon and the webserver use: its run, its asset materialisations
and its check results appear in the Dagster UI beside the scheduled runs, and its writer steps take
slots of the ``duckdb_writer`` pool like every other run's, so a ``bdw run`` and a run of the daemon
never write the working database at the same time (the later one waits). Without ``DAGSTER_HOME``
the run goes to a throwaway (ephemeral) instance that nothing else reads.

A pool slot is given back when its step ends. A ``bdw run`` killed inside a step (``kill -9``, power
loss) never gives it back, and every later run, the daemon's included, would wait for it forever.
So each ``bdw run`` on a persistent instance holds an exclusive lock on a file named after its run
(``$DAGSTER_HOME/bdw_cli_runs/<run id>.lock``) for as long as its process lives: the operating
system drops the lock when the process dies, however it dies. Before executing, ``bdw run`` marks
every unfinished run of an earlier ``bdw run`` whose lock is free as failed, and frees its slots.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from bdw.settings import DAGSTER_HOME_ENV, dagster_home

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; abandoned runs are then freed in the UI by hand
    fcntl = None

LAUNCHED_BY_TAG = "bdw/launched_by"  # on every run ``bdw run`` starts; the daemon's runs do not have it
LAUNCHED_BY_CLI = "bdw run"
LOCKS_FOLDER = "bdw_cli_runs"
UNFINISHED = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


class InstanceError(RuntimeError):
    """DAGSTER_HOME names something that cannot hold a Dagster instance."""


@dataclass(frozen=True)
class RunInstance:
    instance: DagsterInstance
    home: Path | None  # None: the ephemeral instance

    def describe(self) -> str:
        """One line of the run summary: which instance holds this run, and so whether the UI shows it."""
        if self.home is None:
            return (f"Dagster: a throwaway instance (set {DAGSTER_HOME_ENV} to keep runs, materialisations "
                    "and checks in the Dagster UI)")
        return f"Dagster: recorded in the instance at {DAGSTER_HOME_ENV}={self.home} (shown in the Dagster UI)"

    @property
    def locks(self) -> Path | None:
        return self.home / LOCKS_FOLDER if self.home is not None and fcntl is not None else None


@contextlib.contextmanager
def open_instance() -> Iterator[RunInstance]:
    """The persistent instance of ``DAGSTER_HOME`` when it is set, else an ephemeral one."""
    home = dagster_home()
    if home is None:
        with DagsterInstance.ephemeral() as instance:
            yield RunInstance(instance, None)
        return
    if not home.is_dir():
        raise InstanceError(f"{DAGSTER_HOME_ENV}={home} is not a folder: create it and copy deploy/dagster.yaml "
                            f"into it (docs/operations.md), or unset {DAGSTER_HOME_ENV} for a run Dagster does not "
                            "keep")
    with DagsterInstance.from_config(str(home)) as instance:
        yield RunInstance(instance, home)


def cli_run_tags(as_of: str) -> dict[str, str]:
    """The tags of a ``bdw run``'s Dagster run (the run-failure alert reads ``bdw/as_of`` too)."""
    return {LAUNCHED_BY_TAG: LAUNCHED_BY_CLI, "bdw/as_of": as_of}


@contextlib.contextmanager
def claim_run(where: RunInstance, run_id: str) -> Iterator[None]:
    """Hold the lock that says run ``run_id``'s process is alive, from before the run exists until it
    has finished (nothing to hold on an ephemeral instance)."""
    folder = where.locks
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


def _process_is_gone(folder: Path, run_id: str) -> bool:
    path = folder / f"{run_id}.lock"
    if not path.exists():  # the lock is taken before the run exists: no file, no live process
        return True
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live ``bdw run`` holds it
        path.unlink(missing_ok=True)
        return True


def fail_abandoned_runs(where: RunInstance) -> list[str]:
    """Mark every unfinished run of a ``bdw run`` whose process is gone as failed and free the pool
    slots it held; returns their run ids."""
    folder = where.locks
    if folder is None:
        return []
    instance = where.instance
    runs = instance.get_runs(RunsFilter(statuses=UNFINISHED, tags={LAUNCHED_BY_TAG: LAUNCHED_BY_CLI}))
    failed = []
    for run in runs:
        if not _process_is_gone(folder, run.run_id):
            continue
        instance.report_run_failed(run, "the bdw run process of this run ended before the run did (killed?); "
                                        "marked failed by a later bdw run")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        failed.append(run.run_id)
    return failed


def pool_holders(where: RunInstance, pool: str) -> list[str]:
    """Runs that hold a slot of ``pool`` now (another run, still writing): ``<run id> (<step>)``."""
    storage = where.instance.event_log_storage
    if where.home is None or not storage.supports_global_concurrency_limits:
        return []
    info = storage.get_concurrency_info(pool)
    return [f"{slot.run_id} ({slot.step_key})" for slot in info.claimed_slots]
