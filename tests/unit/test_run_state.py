"""A run with nothing new publishes nothing (bdw.run_state): the same as-of date, no new, changed or
removed inbox file, the same project and configuration, and the published file as the last run
left it. Anything else makes the next run rebuild."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from bdw import run_state
from bdw.settings import load_settings

from conftest import write_csv

AS_OF = dt.date(2025, 4, 30)


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config", config)
    monkeypatch.setenv("BDW_CONFIG_DIR", str(config))
    settings = load_settings(tmp_path / "inbox", tmp_path / "wh.duckdb", tmp_path / "work")
    write_csv(settings.inbox / "payments/2025-04-30_payments.csv", ["payment_id"], [["P1"]])
    write_csv(settings.inbox / "accounts/2025-04-30_accounts.csv", ["account_id"], [["A1"]])
    settings.workdir.mkdir()
    inbox = run_state.scan_before_run(settings)
    settings.warehouse.write_bytes(b"published")
    run_state.record_published(settings, "run-1", AS_OF, inbox)
    return settings


def test_the_same_inbox_and_date_change_nothing(published):
    assert run_state.nothing_changed(published, AS_OF).run_id == "run-1"


def test_a_touched_file_with_the_same_content_changes_nothing(published):
    path = published.inbox / "payments/2025-04-30_payments.csv"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert run_state.nothing_changed(published, AS_OF).run_id == "run-1"  # the last run stands


@pytest.mark.parametrize("change", ["as_of", "new_file", "changed_file", "removed_file", "config", "warehouse"])
def test_anything_else_rebuilds(published, change):
    as_of = AS_OF
    if change == "as_of":
        as_of = AS_OF + dt.timedelta(days=1)
    elif change == "new_file":
        write_csv(published.inbox / "payments/2025-05-01_payments.csv", ["payment_id"], [["P2"]])
    elif change == "changed_file":
        write_csv(published.inbox / "payments/2025-04-30_payments.csv", ["payment_id"], [["P9"]])
    elif change == "removed_file":
        (published.inbox / "accounts/2025-04-30_accounts.csv").unlink()
    elif change == "config":
        (published.config_dir / "quality.yml").write_text("# edited\n", encoding="utf-8")
    elif change == "warehouse":  # rolled back, or replaced by hand
        published.warehouse.write_bytes(b"another version")
    assert run_state.nothing_changed(published, as_of) is None


def test_a_file_that_lands_during_the_run_is_new_to_the_next(published):
    before = run_state.scan_before_run(published)
    write_csv(published.inbox / "payments/2025-05-01_payments.csv", ["payment_id"], [["P2"]])
    run_state.record_published(published, "run-2", AS_OF, before)
    assert run_state.nothing_changed(published, AS_OF) is None


def test_no_record_no_skip(tmp_path):
    settings = load_settings(tmp_path / "inbox", tmp_path / "wh.duckdb", tmp_path / "work")
    assert run_state.nothing_changed(settings, AS_OF) is None
