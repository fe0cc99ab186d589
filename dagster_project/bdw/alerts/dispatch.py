"""Sending: one session under the state lock, which opens and clears breaches, re-sends what
waits, sends one message per channel and writes the log (masked), whatever fails.

- ``announce_run`` — the ``alerts`` asset's: this run's data-quality results and early warnings,
  read from the working database (bdw.alerts.evaluations), announced once per breach. It also
  announces, late, the errors of earlier blocked runs whose failure notice never went out.
- ``dispatch`` — the same for observations already in hand (``evaluations``, ``scopes``).
- ``session`` — for bdw.alerts.run_failure, which sends a run's failure notice in the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from bdw.alerts.alert import Alert, Event
from bdw.alerts.alert_log import append_log, now
from bdw.alerts.config import AlertConfig, load_alert_config
from bdw.alerts.evaluations import blocked_runs_since, evaluate_run, quality_results, result_alerts
from bdw.alerts.masking import Masker, masker_for
from bdw.alerts.outbox import send
from bdw.alerts.state import locked_state, open_and_clear, peek_state
from bdw.settings import Settings

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
SENT_LATE = "sent late: the failure notice of its run did not come"


@dataclass
class DispatchReport:
    opened: list[Alert] = field(default_factory=list)
    cleared: list[Alert] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)
    deliveries: dict[str, str] = field(default_factory=dict)  # channel -> sent / failed: ...
    log_path: Path | None = None
    problems: tuple[str, ...] = ()
    off: tuple[str, ...] = ()  # channels named in alerts.yml whose variable is not set


@dataclass
class Session:
    cfg: AlertConfig
    state: dict
    masker: Masker
    records: list[dict]  # the log records to write when the session ends


@contextlib.contextmanager
def session(cfg: AlertConfig, run_id: str | None) -> Iterator[Session]:
    """The state, locked; the log records (configuration problems first) are written at the end,
    masked, even when sending fails half-way."""
    masker = masker_for(cfg.urls)
    records = [{"time": now(), "event": "config_problem", "problem": p, "run_id": run_id} for p in cfg.problems]
    try:
        with locked_state(cfg.state_path, masker) as state:
            yield Session(cfg, state, masker, records)
    finally:
        append_log(cfg.log_path, records, masker)


def _report(cfg: AlertConfig) -> DispatchReport:
    return DispatchReport(log_path=cfg.log_path, problems=cfg.problems, off=tuple(c.name for c in cfg.off))


def _announce(s: Session, report: DispatchReport, evaluations: Iterable[Alert], scopes: Iterable[str], *,
              run_id: str | None, as_of: str | None, late: Iterable[list[Alert]] = ()) -> None:
    events: list[Event] = []
    for alerts in late:  # before this run's evaluations: a late error this run no longer has is cleared too
        changes = open_and_clear(s.state, alerts, (), run_id=None, as_of=None, extra={"held": SENT_LATE})
        for e in changes.events:
            e.text += (f" Sent late: run {str(e.alert.run_id)[:8]} did not publish because of it, and its failure "
                       "notice did not come.")
        events += changes.events
        report.opened += changes.opened
    changes = open_and_clear(s.state, evaluations, scopes, run_id=run_id, as_of=as_of)
    events += changes.events
    report.opened += changes.opened
    report.cleared += changes.cleared
    report.still_open += changes.still_open
    report.deliveries, records = send(s.cfg, s.state, events, s.masker, run_id=run_id, as_of=as_of)
    s.records += records


def dispatch(settings: Settings, evaluations: Iterable[Alert], scopes: Iterable[str], *, run_id: str | None = None,
             as_of: str | None = None, config: AlertConfig | None = None) -> DispatchReport:
    """Announce each breach once when it opens and once when it clears (bdw.alerts.state)."""
    cfg = config or load_alert_config(settings)
    report = _report(cfg)
    with session(cfg, run_id) as s:
        _announce(s, report, evaluations, scopes, run_id=run_id, as_of=as_of)
    return report


def announce_run(settings: Settings, connect: Connect, *, run_id: str, as_of: str | None,
                 config: AlertConfig | None = None) -> DispatchReport:
    """Announce run ``run_id``'s observations (bdw.alerts.evaluations), and the errors of the runs
    blocked since the last announcement whose failure notice never went out. ``connect`` opens the
    working database; it is closed before anything is sent."""
    cfg = config or load_alert_config(settings)
    seen = peek_state(cfg.state_path)
    since = seen.get("results_read_until")
    with connect() as con:
        evaluation = evaluate_run(con, settings.config_dir, run_id=run_id, as_of=as_of)
        blocked = {run: result_alerts(con, quality_results(con, run, failed_errors_only=True), settings.config_dir,
                                      run_id=run, as_of=None)
                   for run in blocked_runs_since(con, since, {run_id, *seen.get("notified_runs", [])})}
    report = _report(cfg)
    with session(cfg, run_id) as s:
        late = [alerts for run, alerts in blocked.items() if run not in s.state["notified_runs"]]
        if evaluation.results_at is not None:
            s.state["results_read_until"] = max(s.state.get("results_read_until") or "",
                                                evaluation.results_at.isoformat())
        _announce(s, report, evaluation.alerts, evaluation.scopes, run_id=run_id, as_of=as_of, late=late)
    return report
