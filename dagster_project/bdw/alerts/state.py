"""Once per breach: the state file (``<workdir>/alerts_state.json``, locked while a run or a
failure notice changes it) and the open/clear state machine.

A breach (an alert key) is announced when it opens and again when it clears, not on every run
while it lasts. A key clears only when its scope was evaluated and the key is no longer active: an
open breach of a scope that was not evaluated (the early warnings mart missing) stays open.

The state file holds, besides the open breaches, the deliveries waiting to be re-sent (``pending``,
bdw.alerts.outbox), the runs whose failure notice was sent (``notified_runs``) and how far the
data-quality results have been read (``results_read_until``, bdw.alerts.dispatch).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bdw.alerts.alert import Alert, Event
from bdw.alerts.alert_log import now
from bdw.alerts.masking import Masker

MAX_NOTIFIED_RUNS = 200


@contextlib.contextmanager
def locked_state(path: Path, masker: Masker) -> Iterator[dict]:
    """The state, read and written back under an exclusive lock on ``<state>.lock`` (two processes,
    e.g. a run and the daemon's failure sensor, take turns). An unreadable state starts afresh."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_suffix(".lock").open("a") as lock:
        with contextlib.suppress(ImportError):  # no fcntl on Windows: one process at a time is assumed
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        except (OSError, ValueError):
            state = {}
        for key, empty in (("open", {}), ("pending", []), ("notified_runs", [])):
            state.setdefault(key, empty)
        yield state
        state["notified_runs"] = state["notified_runs"][-MAX_NOTIFIED_RUNS:]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(masker(json.dumps(state, ensure_ascii=False, indent=1, default=str)), encoding="utf-8")
        os.replace(tmp, path)


def peek_state(path: Path) -> dict:
    """The state as it is now, without the lock (to decide what to read before sending; what is
    sent is decided again under the lock)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        return {}


@dataclass
class Changes:
    """What one evaluation changed: the breaches opened and cleared (as message lines) and the keys
    still open."""

    opened: list[Alert] = field(default_factory=list)
    cleared: list[Alert] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def open_and_clear(state: dict, evaluations: Iterable[Alert], scopes: Iterable[str], *, run_id: str | None,
                   as_of: str | None, extra: dict | None = None) -> Changes:
    """Open the active evaluations not open yet; clear the open keys of ``scopes`` that are not
    active. ``extra`` goes into the log record of each opened alert."""
    scopes = set(scopes)
    evaluations = list(evaluations)
    active = {a.key: a for a in evaluations if a.active}
    fine = {a.key: a for a in evaluations if not a.active}
    changes = Changes()
    for key, alert in active.items():
        alert.run_id, alert.as_of = alert.run_id or run_id, alert.as_of or as_of
        if key in state["open"]:
            state["open"][key]["last_seen_run"] = run_id
            changes.still_open.append(key)
            continue
        state["open"][key] = {"opened_at": now(), "run_id": alert.run_id, "scope": alert.scope,
                              "severity": alert.severity, "title": alert.title, "owner": alert.owner}
        changes.opened.append(alert)
        changes.events.append(Event("alert", alert, alert.text(), dict(extra or {})))
    for key, info in list(state["open"].items()):
        if key in active or info.get("scope") not in scopes:
            continue
        now_fine = fine.get(key) or Alert(key=key, severity=info.get("severity", "warn"),
                                          title=info.get("title", key), summary="no longer reported",
                                          owner=info.get("owner", ""), scope=info.get("scope", ""))
        now_fine.run_id, now_fine.as_of = run_id, as_of
        changes.cleared.append(now_fine)
        changes.events.append(Event("cleared", now_fine, now_fine.clearing_text(info.get("opened_at"))))
        del state["open"][key]
    return changes
