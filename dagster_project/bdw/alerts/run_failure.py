"""A run that failed: one message that says so, what failed, and whether the published warehouse
changed. Sent by ``bdw run`` itself, or by the run-failure sensor under the Dagster daemon
(bdw.alerts.sensors).

A blocking check that fails (severity error) stops its run before publishing: Dagster skips every
asset downstream of the checked asset, the ``alerts`` asset included. Its errors are held in
``dq.validation_results`` (the checks step writes them there) and go out here, with the failure
notice, in the same message: the notice names every failed blocking check of the run, and each
breach that opens with this run follows as its own line (a breach already open, from an earlier
blocked run, is named but not repeated). They are then open, and clear once a run passes them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from collections.abc import Iterable

import duckdb

from bdw.alerts.alert import RUN_FAILURE, Alert, Event
from bdw.alerts.config import AlertConfig, load_alert_config
from bdw.alerts.dispatch import session
from bdw.alerts.evaluations import quality_results, result_alerts
from bdw.alerts.outbox import send
from bdw.alerts.state import open_and_clear
from bdw.settings import Settings

PAGE_STEPS = ("report", "dbt_docs")  # the pages written beside the published file (bdw.assets.reporting)
# steps that run after the warehouse is published: their failure leaves it published
AFTER_PUBLISH_STEPS = (*PAGE_STEPS, "alerts")
MAX_NAMED = 5


def root_cause_line(event) -> str:
    """The first line of a failed step's root cause: Dagster wraps the user's exception in its own.
    A first line ending in a colon goes on ("1 blocking asset check failed with ERROR severity:"
    is followed by the checks' names); the exception's class is named without its module."""
    error = event.step_failure_data.error if event.step_failure_data else None
    while error is not None and error.cause is not None:
        error = error.cause
    lines = [x.strip() for x in error.message.strip().splitlines() if x.strip()] if error else []
    if not lines:
        return "failed"
    first = re.sub(r"^(?:\w+\.)+(?=\w+: )", "", lines[0])  # the exception's class without its module path
    return f"{first} {'; '.join(lines[1:])}" if first.endswith(":") and len(lines) > 1 else first


def blocked_checks(settings: Settings, run_id: str) -> list[Alert]:
    """The failed blocking checks of run ``run_id``, as alerts, from ``dq.validation_results`` of the
    working database; none when it cannot be read (the notice then names the failed steps only)."""
    if not settings.work_db.exists():
        return []
    with contextlib.suppress(duckdb.Error), duckdb.connect(str(settings.work_db), read_only=True) as con:
        return result_alerts(con, quality_results(con, run_id, failed_errors_only=True), settings.config_dir,
                             run_id=run_id, as_of=None)
    return []


def _published(settings: Settings, failures: list[str]) -> str:
    steps = {f.split(":", 1)[0] for f in failures}
    if not steps <= set(AFTER_PUBLISH_STEPS):
        return f"The published warehouse {settings.warehouse} is unchanged."
    if steps <= set(PAGE_STEPS):
        return (f"The warehouse {settings.warehouse} was published; only the pages written after it failed "
                "(the previous ones stay).")
    return (f"The warehouse {settings.warehouse} was published; only the steps after it failed: the previous "
            "pages stay, and alerts this run did not send go out with the next run.")


def _named(checks: list[Alert]) -> str:
    names = [c.title for c in checks[:MAX_NAMED]] + ([f"{len(checks) - MAX_NAMED} more"] if len(checks) > MAX_NAMED
                                                     else [])
    return f"Blocking checks failed (dq.validation_results): {'; '.join(names)}."


def notify_run_failure(settings: Settings, *, run_id: str, failures: Iterable[str], job_name: str = "bdw_nightly",
                       as_of: str | dt.date | None = None, log: str | os.PathLike | None = None,
                       config: AlertConfig | None = None) -> dict[str, str]:
    """Send the failure notice of run ``run_id`` (see the module doc); returns the outcome per channel.
    Never raises because of a channel."""
    failures = [f for f in failures if f] or ["the run failed"]
    as_of = str(as_of) if as_of else None
    checks = blocked_checks(settings, run_id)
    detail = " ".join(x for x in (_named(checks) if checks else "", _published(settings, failures),
                                  f"Run log: {log}" if log else "") if x)
    notice = Alert(
        key=f"run_failure:{run_id}", severity="error", title=f"Run {run_id[:8]} of {job_name} failed",
        summary="; ".join(failures[:MAX_NAMED]) + (f" (and {len(failures) - MAX_NAMED} more)"
                                                    if len(failures) > MAX_NAMED else ""),
        owner="data team (pipeline operations)", detail=detail, source=RUN_FAILURE, scope=RUN_FAILURE,
        run_id=run_id, as_of=as_of)
    cfg = config or load_alert_config(settings)
    with session(cfg, run_id) as s:
        opened = open_and_clear(s.state, checks, (), run_id=run_id, as_of=as_of,
                                extra={"held": f"sent with {notice.key}"})
        s.state["notified_runs"].append(run_id)
        deliveries, records = send(cfg, s.state, [Event("alert", notice, notice.text()), *opened.events], s.masker,
                                   run_id=run_id, as_of=as_of)
        s.records += records
    return deliveries
