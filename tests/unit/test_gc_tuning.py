"""The garbage collector's thresholds (bdw.gc_tuning) are in effect where this project's processes
start their work: the ``bdw`` command, a run's dbt process, and a run the daemon or the UI launched
(whose resources Dagster initialises)."""

from __future__ import annotations

import gc
import io

import pytest
from dagster import build_resources

from bdw import dbt_warm, gc_tuning
from bdw.cli import main
from bdw.resources import BdwSettings

PYTHON_DEFAULTS = (700, 10, 10)


@pytest.fixture(autouse=True)
def python_defaults():
    """Each test starts from Python's thresholds, which the project's must differ from (or the tests
    below would pass without anything being set)."""
    assert gc_tuning.THRESHOLDS[0] > PYTHON_DEFAULTS[0]
    saved = gc.get_threshold()
    gc.set_threshold(*PYTHON_DEFAULTS)
    yield
    gc.set_threshold(*saved)


def test_the_bdw_command(tmp_path):
    assert main(["rollback", "--warehouse", str(tmp_path / "wh.duckdb")]) != 0  # nothing to roll back
    assert gc.get_threshold() == gc_tuning.THRESHOLDS


def test_the_dbt_process_of_a_run(monkeypatch):
    monkeypatch.setattr(dbt_warm, "_parse", lambda *args: None)  # dbt's parse is not what this shows
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # the run ended without a dbt step
    assert dbt_warm.serve("project", "profiles", "target") == dbt_warm.EXIT_OK
    assert gc.get_threshold() == gc_tuning.THRESHOLDS


def test_a_run_the_daemon_or_the_ui_launched():
    with build_resources({"bdw": BdwSettings()}) as resources:
        assert isinstance(resources.bdw, BdwSettings)
        assert gc.get_threshold() == gc_tuning.THRESHOLDS
