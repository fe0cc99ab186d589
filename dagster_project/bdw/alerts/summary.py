"""The alerts section of the run summary (``bdw run``): what this run announced and how each
channel took it, the channels that are off, and the configuration's problems (a retired variable
still set, a secret refused in the file), from the alert log."""

from __future__ import annotations

from collections import Counter

from bdw.alerts.alert_log import read_log
from bdw.alerts.config import load_alert_config
from bdw.settings import Settings


def alerts_summary(settings: Settings, run_id: str) -> list[str]:
    try:
        cfg = load_alert_config(settings)
        records = read_log(cfg.log_path, run_id)
    except Exception:  # noqa: BLE001 - the summary must not fail because of the log
        return []
    events = Counter(r.get("event") for r in records)
    deliveries: dict[str, str] = {}
    for r in records:  # one message per channel and sending: the first outcome of each channel
        for channel, outcome in (r.get("deliveries") or {}).items():
            if outcome != "below min_severity":
                deliveries.setdefault(channel, outcome)
    channels = ", ".join(f"{c}: {o}" for c, o in deliveries.items()) or (
        "log only" if not cfg.channels else "nothing to send")
    lines = [f"Alerts: {events.get('alert', 0)} new, {events.get('cleared', 0)} cleared ({channels}); "
             f"log {cfg.log_path}"]
    if cfg.off and cfg.user_file:
        lines.append("  channels off (their variable is not set): "
                     + ", ".join(f"{c.name} ({c.url_env})" for c in cfg.off))
    lines += [f"  Alert configuration: {r['problem']}" for r in records if r.get("event") == "config_problem"]
    return lines
