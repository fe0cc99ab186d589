"""What goes out, and what is re-sent: one message per channel with the lines it should get (its
``min_severity``), and redelivery of the messages a channel failed to take.

A delivery that failed (server down, refused, timed out) never breaks the run: the alert is in the
log with the failure, and the message waits in the state file (``pending``) to be re-sent, as it
was, at the next sending (a run's alerts or a failure notice), up to ``max_delivery_attempts`` in
all. A message for a channel that is off (its variable unset) waits until it is back.
"""

from __future__ import annotations

from dataclasses import asdict

from bdw.alerts.alert import RUN_FAILURE, SEVERITY_RANK, Event
from bdw.alerts.alert_log import now
from bdw.alerts.config import AlertConfig
from bdw.alerts.delivery import SENT, deliver
from bdw.alerts.masking import Masker

MAX_PENDING = 200  # failed deliveries kept for re-sending
BELOW_MIN_SEVERITY = "below min_severity"
RESENT = " (re-sent: the first delivery failed)"


def subject(events: list[Event], run_id: str | None, as_of: str | None) -> str:
    """The message's title: what it holds, counted (``[bdw] run failed, 1 error (run 1a2b3c4d as of ...)``)."""
    counts = {k: 0 for k in ("error", "warn", "info", "cleared")}
    run_failed = False
    for e in events:
        if e.alert.source == RUN_FAILURE and e.kind == "alert":
            run_failed = True
        else:
            counts["cleared" if e.kind == "cleared" else e.alert.severity] += 1
    words = ["run failed"] if run_failed else []
    words += [f"{n} {k if k != 'warn' else 'warning'}{'s' if n != 1 and k != 'cleared' else ''}"
              for k, n in counts.items() if n]
    where = " ".join(x for x in (f"run {run_id[:8]}" if run_id else "", f"as of {as_of}" if as_of else "") if x)
    return f"[bdw] {', '.join(words) or 'no alerts'}" + (f" ({where})" if where else "")


def _kind(events: list[Event]) -> str:
    alerts = [e.alert.severity for e in events if e.kind == "alert"]
    return max(alerts, key=SEVERITY_RANK.__getitem__) if alerts else "cleared"


def redeliver(cfg: AlertConfig, state: dict, masker: Masker, run_id: str | None) -> list[dict]:
    """Send the waiting messages once more; returns their log records."""
    records, keep = [], []
    for item in state["pending"]:
        channel = cfg.channel(item["channel"])
        if channel is None:
            keep.append(item)
            continue
        result = deliver(channel, item["subject"] + RESENT, item["text"], item.get("kind", "info"), masker=masker,
                         timeout=cfg.timeout_seconds)
        item["attempts"] = item.get("attempts", 1) + 1
        records.append({"time": now(), "event": "redelivery", "channel": channel.name, "subject": item["subject"],
                        "keys": item.get("keys", []), "attempt": item["attempts"], "result": result,
                        "run_id": run_id})
        if result != SENT and item["attempts"] < cfg.max_delivery_attempts:
            keep.append(item)
    state["pending"] = keep[-MAX_PENDING:]
    return records


def send(cfg: AlertConfig, state: dict, events: list[Event], masker: Masker, *, run_id: str | None,
         as_of: str | None) -> tuple[dict[str, str], list[dict]]:
    """Re-send what waits, then send ``events`` as one message per channel; returns the outcome per
    channel and the log records (one per event, with the outcome of each channel)."""
    records = redeliver(cfg, state, masker, run_id)
    deliveries: dict[str, str] = {}
    for channel in cfg.channels:
        mine = [e for e in events if channel.gets(e.severity)]
        if not mine:
            continue
        title = subject(mine, run_id, as_of)
        body = "\n".join(f"- {e.text}" for e in mine)
        deliveries[channel.name] = deliver(channel, title, body, _kind(mine), masker=masker,
                                           timeout=cfg.timeout_seconds)
        if deliveries[channel.name] != SENT:
            state["pending"].append({"channel": channel.name, "subject": title, "text": body, "kind": _kind(mine),
                                     "attempts": 1, "first_failed_at": now(), "keys": [e.alert.key for e in mine]})
    names = [c.name for c in cfg.channels] or ["log only"]
    for e in events:
        outcome = {c.name: deliveries[c.name] if c.gets(e.severity) else BELOW_MIN_SEVERITY for c in cfg.channels}
        records.append({"time": now(), "event": e.kind, **{k: v for k, v in asdict(e.alert).items() if k != "active"},
                        "text": e.text, "deliveries": outcome, "channels": names, **e.extra})
    return deliveries, records
