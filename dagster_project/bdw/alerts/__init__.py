"""Alerts: data-quality results, early warnings and run failures as messages to people.

Every alert names what broke, the observed value against the threshold and who owns it. It goes
to a local JSON-lines log beside the warehouse (always) and to the configured channels: a webhook
(Slack-compatible body ``{"text": ...}``) and e-mail over SMTP.

Two ways in:

- ``dispatch(settings, evaluations, scopes, ...)`` — the data-quality step's: it keeps state, so
  a breach is announced once when it opens and once when it clears, not on every run while it
  lasts. ``evaluations`` are this run's observations (``active`` = breached); ``scopes`` are the
  families evaluated this run: an open breach of a scope that was not evaluated (e.g. the early
  warnings mart is missing) is left open, not cleared.
- ``send(alert, settings)`` and ``notify_run_failure(settings, ...)`` — send now, no once-per-breach state.

An error a run opens (a blocking check) stops that run from publishing, so it is not sent on its own:
it is held, and logged and sent with the run's failure notice (``notify_run_failure``, from ``bdw
run`` or the run-failure sensor) as one message that says the run failed, what failed and that the
published warehouse is unchanged. Should no notice come, the next dispatch or send delivers it.

Configuration: ``BDW_ALERTS_CONFIG`` or ``<config dir>/alerts.yml`` (see config/alerts.example.yml),
and the environment, which wins. Secrets (the webhook URL, the SMTP password) are read from
environment variables only, and never written to the log or to error messages (nor the part of
the URL an error message quotes: its path, where the token is).

A channel that fails (server down, timeout) never breaks the run: the alert is in the log with the
failure, and the delivery is retried on the next dispatch (up to ``max_delivery_attempts``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

import yaml

from bdw.settings import Settings

Severity = Literal["error", "warn", "info"]
SEVERITY_RANK = {"info": 0, "warn": 1, "error": 2}
LOG_NAME = "alerts.jsonl"
STATE_NAME = "alerts_state.json"
CONFIG_NAME = "alerts.yml"
MIN_SECRET_PATH = 8  # a webhook path or query shorter than this ("/hook") holds no token; masking it mangles text
RUN_FAILURE = "run"  # the source of a run-failure notice (notify_run_failure)
MAX_PENDING = 200  # failed deliveries kept for re-sending (a channel that stays unconfigured keeps its own)

ENV_CONFIG = "BDW_ALERTS_CONFIG"
ENV_LOG = "BDW_ALERT_LOG"
ENV_WEBHOOK_URL = "BDW_ALERT_WEBHOOK_URL"
ENV_SMTP_HOST = "BDW_ALERT_SMTP_HOST"
ENV_SMTP_PORT = "BDW_ALERT_SMTP_PORT"
ENV_SMTP_USER = "BDW_ALERT_SMTP_USER"
ENV_SMTP_PASSWORD = "BDW_ALERT_SMTP_PASSWORD"
ENV_SMTP_SECURITY = "BDW_ALERT_SMTP_SECURITY"  # none | starttls | ssl
ENV_EMAIL_FROM = "BDW_ALERT_EMAIL_FROM"
ENV_EMAIL_TO = "BDW_ALERT_EMAIL_TO"  # comma-separated


# ---- the alert ----------------------------------------------------------------------------------
@dataclass
class Alert:
    key: str  # the breach's identity: the same key on the next run is the same breach
    severity: Severity
    title: str  # what broke
    summary: str  # the observed value against the threshold, in words
    owner: str  # who owns it: a rep, a field, a team
    observed: float | None = None
    threshold: float | None = None
    detail: str = ""  # what to do, failing rows
    source: str = "bdw"  # great_expectations | early_warning | run
    scope: str = ""  # the family of evaluations the key belongs to (for clearing)
    active: bool = True  # False: an observation that is fine now (used to word the clearing)
    link: str | None = None
    run_id: str | None = None
    as_of: str | None = None

    def text(self, event: str = "alert", opened_at: str | None = None) -> str:
        if event == "cleared":
            since = f" (open since {opened_at[:10]})" if opened_at else ""
            now = self.summary if not self.active else "no longer reported"
            return f"[CLEARED] {self.title}: {now}{since}. Owner: {self.owner}."
        tag = {"error": "[ERROR]", "warn": "[WARN]", "info": "[INFO]"}[self.severity]
        parts = [f"{tag} {self.title}: {self.summary}. Owner: {self.owner}."]
        if self.detail:
            parts.append(self.detail)
        if self.link:
            parts.append(f"Details: {self.link}")
        return " ".join(parts)


# ---- configuration -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # none | starttls | ssl
    username: str | None
    password: str | None = field(repr=False)  # from the environment only
    sender: str
    recipients: tuple[str, ...]
    timeout: float


@dataclass(frozen=True)
class AlertConfig:
    log_path: Path
    state_path: Path
    webhook_url: str | None = field(default=None, repr=False)  # a secret: from the environment only
    webhook_timeout: float = 10.0
    smtp: SmtpConfig | None = None
    channels_min_severity: Severity = "warn"
    max_delivery_attempts: int = 5
    problems: tuple[str, ...] = ()

    @property
    def secrets(self) -> tuple[str, ...]:
        """What is never written, longest first: the webhook URL and the parts of it that error
        messages quote on their own (the path and query, where the token is), the SMTP password."""
        found = {self.webhook_url, self.smtp.password if self.smtp else None}
        if self.webhook_url:
            url = urllib.parse.urlsplit(self.webhook_url)
            tail = url.path + (f"?{url.query}" if url.query else "")
            found |= {part for part in (tail, url.query) if len(part) >= MIN_SECRET_PATH}
        return tuple(sorted((s for s in found if s), key=len, reverse=True))

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(n for n, on in (("webhook", self.webhook_url), ("email", self.smtp)) if on)


def _env(name: str | None) -> str | None:
    value = os.environ.get(name) if name else None
    return value.strip() if value and value.strip() else None


def load_alert_config(settings: Settings) -> AlertConfig:
    """The file (``BDW_ALERTS_CONFIG`` or ``<config dir>/alerts.yml``) and the environment, which
    wins. Problems (a secret written in the file, a bad port) disable the channel concerned and are
    reported in the log; they never stop the run."""
    problems: list[str] = []
    path = Path(_env(ENV_CONFIG) or settings.config_dir / CONFIG_NAME)
    raw: dict = {}
    if path.exists():
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            problems.append(f"{path}: cannot read the alert configuration ({type(e).__name__})")
    elif _env(ENV_CONFIG):
        problems.append(f"{ENV_CONFIG} names {path}, which does not exist")
    hook = raw.get("webhook") or {}
    mail = raw.get("email") or {}
    for section, key, env in (("webhook", "url", ENV_WEBHOOK_URL), ("email", "password", ENV_SMTP_PASSWORD)):
        if key in (raw.get(section) or {}):
            problems.append(f"{path}: {section}.{key} is a secret and is ignored in a file; set the environment "
                            f"variable {env} (or name another one with {section}.{key}_env)")

    log = _env(ENV_LOG) or raw.get("log")
    log_path = Path(log) if log else settings.warehouse.parent / LOG_NAME
    webhook_url = _env(hook.get("url_env") or ENV_WEBHOOK_URL)
    smtp = None
    host = _env(ENV_SMTP_HOST) or mail.get("smtp_host")
    if host:
        to = _env(ENV_EMAIL_TO) or mail.get("to") or []
        recipients = tuple(a.strip() for a in (to.split(",") if isinstance(to, str) else to) if str(a).strip())
        security = (_env(ENV_SMTP_SECURITY) or mail.get("security") or "starttls").lower()
        try:
            port = int(_env(ENV_SMTP_PORT) or mail.get("smtp_port") or (465 if security == "ssl" else 587))
        except ValueError:
            port = 0
        sender = _env(ENV_EMAIL_FROM) or mail.get("from")
        if security not in ("none", "starttls", "ssl"):
            problems.append(f"e-mail alerts are off: security must be none, starttls or ssl, not {security!r}")
        elif not port:
            problems.append("e-mail alerts are off: the SMTP port is not a number")
        elif not recipients or not sender:
            problems.append("e-mail alerts are off: a sender (from) and at least one recipient (to) are needed")
        else:
            smtp = SmtpConfig(host=host, port=port, security=security,
                              username=_env(ENV_SMTP_USER) or mail.get("username"),
                              password=_env(mail.get("password_env") or ENV_SMTP_PASSWORD),
                              sender=sender, recipients=recipients,
                              timeout=float(mail.get("timeout_seconds", 10)))
    min_sev = str(raw.get("channels_min_severity", "warn"))
    if min_sev not in SEVERITY_RANK:
        problems.append(f"channels_min_severity must be info, warn or error, not {min_sev!r}; using warn")
        min_sev = "warn"
    return AlertConfig(
        log_path=log_path,
        state_path=settings.workdir / STATE_NAME,
        webhook_url=webhook_url,
        webhook_timeout=float(hook.get("timeout_seconds", 10)),
        smtp=smtp,
        channels_min_severity=min_sev,  # type: ignore[arg-type]
        max_delivery_attempts=int(raw.get("max_delivery_attempts", 5)),
        problems=tuple(problems),
    )


# ---- channels -------------------------------------------------------------------------------------
def _scrub(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        text = text.replace(s, "***").replace(json.dumps(s, ensure_ascii=False)[1:-1], "***")
    return text


def _post_webhook(cfg: AlertConfig, text: str) -> None:
    body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(cfg.webhook_url, data=body, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(req, timeout=cfg.webhook_timeout) as resp:  # noqa: S310 - configured URL
        if not 200 <= resp.status < 300:
            raise OSError(f"the webhook answered HTTP {resp.status}")


def _send_email(cfg: AlertConfig, subject: str, text: str) -> None:
    s = cfg.smtp
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = s.sender
    msg["To"] = ", ".join(s.recipients)
    msg.set_content(text)
    if s.security == "ssl":
        server = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
    with server:
        if s.security == "starttls":
            server.starttls(context=ssl.create_default_context())
        if s.username and s.password:
            server.login(s.username, s.password)
        server.send_message(msg)


def _deliver(cfg: AlertConfig, channel: str, subject: str, text: str) -> str:
    """'sent' or 'failed: <reason>' (with no secret in it); never raises."""
    try:
        if channel == "webhook":
            _post_webhook(cfg, f"{subject}\n{text}")
        else:
            _send_email(cfg, subject, text)
        return "sent"
    except Exception as e:  # noqa: BLE001 - a channel must never break the run
        reason = str(e) or type(e).__name__
        if isinstance(e, urllib.error.URLError) and not isinstance(e, urllib.error.HTTPError):
            reason = str(e.reason)
        elif isinstance(e, smtplib.SMTPResponseException):  # the server's reply as text, not a bytes repr
            reply = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
            reason = f"{e.smtp_code} {reply}"
        return "failed: " + _scrub(f"{type(e).__name__}: {reason}", cfg.secrets)


# ---- log and state --------------------------------------------------------------------------------
def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _append_log(cfg: AlertConfig, records: list[dict]) -> None:
    if not records:
        return
    cfg.log_path.parent.mkdir(parents=True, exist_ok=True)
    with cfg.log_path.open("a", encoding="utf-8") as f:
        for r in records:
            f.write(_scrub(json.dumps(r, ensure_ascii=False, default=str), cfg.secrets) + "\n")


@contextlib.contextmanager
def _locked_state(cfg: AlertConfig) -> Iterator[dict]:
    cfg.state_path.parent.mkdir(parents=True, exist_ok=True)
    lock = cfg.state_path.with_suffix(".lock").open("a")
    try:
        with contextlib.suppress(ImportError):
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = json.loads(cfg.state_path.read_text(encoding="utf-8")) if cfg.state_path.exists() else {}
        except (OSError, ValueError):
            state = {}
        state.setdefault("open", {})
        state.setdefault("pending", [])
        state.setdefault("held", [])
        yield state
        tmp = cfg.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, cfg.state_path)
    finally:
        lock.close()


def read_log(path: Path, run_id: str | None = None) -> list[dict]:
    """The alert log's records (of one run, if ``run_id``)."""
    if not path.exists():
        return []
    out = []
    needle = json.dumps(run_id, ensure_ascii=False) if run_id is not None else ""
    with path.open(encoding="utf-8") as f:  # the log grows every night: stream it, parse only this run's lines
        for line in f:
            if needle not in line:
                continue
            with contextlib.suppress(ValueError):
                rec = json.loads(line)
                if run_id is None or rec.get("run_id") == run_id:
                    out.append(rec)
    return out


# ---- sending --------------------------------------------------------------------------------------
@dataclass
class DispatchReport:
    opened: list[Alert] = field(default_factory=list)
    cleared: list[Alert] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)
    deliveries: dict[str, str] = field(default_factory=dict)  # channel -> sent / failed: ... / skipped
    log_path: Path | None = None
    problems: tuple[str, ...] = ()


def _record(alert: Alert, event: str, text: str, deliveries: dict[str, str], **extra) -> dict:
    rec = {"time": _now(), "event": event, **{k: v for k, v in asdict(alert).items() if k != "active"},
           "text": text, "deliveries": dict(deliveries)}
    rec.update(extra)
    return rec


# what to send: (event, alert, text, extra fields of its log record)
Event = tuple[str, Alert, str, dict]


def _subject(events: list[tuple[str, Alert]], run_id: str | None, as_of: str | None) -> str:
    n = {k: 0 for k in ("error", "warn", "info", "cleared")}
    run_failed = False
    for event, a in events:
        if a.source == RUN_FAILURE and event == "alert":
            run_failed = True
        else:
            n["cleared" if event == "cleared" else a.severity] += 1
    words = ["run failed"] if run_failed else []
    words += [f"{v} {k if k != 'warn' else 'warning'}{'s' if v != 1 and k != 'cleared' else ''}"
              for k, v in n.items() if v]
    where = " ".join(x for x in (f"run {run_id[:8]}" if run_id else "", f"as of {as_of}" if as_of else "") if x)
    return f"[bdw] {', '.join(words) or 'no alerts'}" + (f" ({where})" if where else "")


def _hold(state: dict, events: list[Event], run_id: str | None) -> list[Event]:
    """Keep back the errors a run opens (its blocking checks: the run fails and its failure notice
    carries them); return the events to send now."""
    now = []
    for ev in events:
        event, alert, text, _ = ev
        if run_id and event == "alert" and alert.severity == "error":
            state["held"].append({"run_id": run_id, "time": _now(), "alert": asdict(alert), "text": text})
        else:
            now.append(ev)
    return now


def _release(state: dict, run_id: str | None, notice: Alert | None = None) -> list[Event]:
    """The held errors to send now: those of ``notice``'s run (its failure notice), and those of any
    other run, whose notice did not come (sent late rather than never)."""
    out, keep = [], []
    for item in state["held"]:
        if notice is not None and item["run_id"] == notice.run_id:
            why = f"sent with {notice.key}"
        elif item["run_id"] != run_id:
            why = "sent late: the failure notice of its run did not come"
        else:
            keep.append(item)
            continue
        out.append(("alert", Alert(**item["alert"]), item["text"], {"time": item["time"], "held": why}))
    state["held"] = keep
    return out


def _deliver_events(cfg: AlertConfig, state: dict, events: list[Event], run_id: str | None,
                    as_of: str | None) -> tuple[dict[str, str], list[dict]]:
    """Send the events as one message per channel, retry earlier failed deliveries, and return the
    delivery outcome per channel and the log records."""
    records: list[dict] = []
    # earlier deliveries that failed: once more, each as it was
    keep = []
    for item in state["pending"]:
        channel = item["channel"]
        if channel not in cfg.channels:
            keep.append(item)
            continue
        result = _deliver(cfg, channel, item["subject"] + " (re-sent: the first delivery failed)", item["text"])
        item["attempts"] = item.get("attempts", 1) + 1
        records.append({"time": _now(), "event": "redelivery", "channel": channel, "subject": item["subject"],
                        "keys": item.get("keys", []), "attempt": item["attempts"], "result": result,
                        "run_id": run_id})
        if result != "sent" and item["attempts"] < cfg.max_delivery_attempts:
            keep.append(item)
    state["pending"] = keep[-MAX_PENDING:]

    deliveries: dict[str, str] = {}
    loud = [SEVERITY_RANK[a.severity] >= SEVERITY_RANK[cfg.channels_min_severity] for _, a, _, _ in events]
    sent_events = [ev for ev, is_loud in zip(events, loud, strict=True) if is_loud]
    if sent_events:
        subject = _subject([(e, a) for e, a, _, _ in sent_events], run_id, as_of)
        body = "\n".join(f"- {t}" for _, _, t, _ in sent_events)
        for channel in cfg.channels:
            deliveries[channel] = _deliver(cfg, channel, subject, body)
            if deliveries[channel] != "sent":
                state["pending"].append({"channel": channel, "subject": subject, "text": body, "attempts": 1,
                                         "first_failed_at": _now(), "keys": [a.key for _, a, _, _ in sent_events]})
    quiet = {c: "below channels_min_severity" for c in cfg.channels}
    for (event, alert, text, extra), is_loud in zip(events, loud, strict=True):
        records.append(_record(alert, event, text, deliveries if is_loud else quiet,
                               channels=list(cfg.channels) or ["log only"], **extra))
    return deliveries, records


def dispatch(settings: Settings, evaluations: Iterable[Alert], scopes: Iterable[str], *, run_id: str | None = None,
             as_of: str | None = None, config: AlertConfig | None = None) -> DispatchReport:
    """Announce each breach once when it opens and once when it clears (see the module doc)."""
    cfg = config or load_alert_config(settings)
    scopes = set(scopes)
    evaluations = list(evaluations)
    active = {a.key: a for a in evaluations if a.active}
    observed = {a.key: a for a in evaluations if not a.active}
    report = DispatchReport(log_path=cfg.log_path, problems=cfg.problems)
    records: list[dict] = [{"time": _now(), "event": "config_problem", "problem": p, "run_id": run_id}
                           for p in cfg.problems]
    try:
        with _locked_state(cfg) as state:
            events: list[Event] = []
            for key, alert in active.items():
                alert.run_id, alert.as_of = alert.run_id or run_id, alert.as_of or as_of
                if key in state["open"]:
                    state["open"][key]["last_seen_run"] = run_id
                    report.still_open.append(key)
                    continue
                state["open"][key] = {"opened_at": _now(), "run_id": run_id, "scope": alert.scope,
                                      "severity": alert.severity, "title": alert.title, "owner": alert.owner}
                events.append(("alert", alert, alert.text(), {}))
                report.opened.append(alert)
            for key, info in list(state["open"].items()):
                if key in active or info.get("scope") not in scopes:
                    continue
                now = observed.get(key) or Alert(key=key, severity=info.get("severity", "warn"),
                                                 title=info.get("title", key), summary="no longer reported",
                                                 owner=info.get("owner", ""), scope=info.get("scope", ""),
                                                 active=True)
                now.run_id, now.as_of = run_id, as_of
                events.append(("cleared", now, now.text("cleared", info.get("opened_at")), {}))
                report.cleared.append(now)
                del state["open"][key]
            events = _hold(state, events, run_id) + _release(state, run_id)
            deliveries, more = _deliver_events(cfg, state, events, run_id, as_of)
            report.deliveries = deliveries
            records += more
    finally:
        _append_log(cfg, records)
    return report


def send(alert: Alert, settings: Settings, config: AlertConfig | None = None) -> dict[str, str]:
    """Send one alert now to the log and every channel (no once-per-breach state); returns the
    outcome per channel. Never raises because of a channel. A run's failure notice (source "run")
    carries the errors that run opened in the same message."""
    cfg = config or load_alert_config(settings)
    records: list[dict] = [{"time": _now(), "event": "config_problem", "problem": p, "run_id": alert.run_id}
                           for p in cfg.problems]
    deliveries: dict[str, str] = {}
    try:
        with _locked_state(cfg) as state:
            notice = alert if alert.source == RUN_FAILURE else None
            events = [("alert", alert, alert.text(), {}), *_release(state, alert.run_id, notice)]
            deliveries, more = _deliver_events(cfg, state, events, alert.run_id, alert.as_of)
            records += more
    finally:
        _append_log(cfg, records)
    return deliveries


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


# steps that run after the warehouse is published (bdw.assets.reporting): their failure leaves it published
AFTER_PUBLISH_STEPS = ("report", "dbt_docs")


def notify_run_failure(settings: Settings, *, run_id: str, failures: Iterable[str], job_name: str = "bdw_nightly",
                       as_of: str | dt.date | None = None, log: str | os.PathLike | None = None,
                       config: AlertConfig | None = None) -> dict[str, str]:
    """A run that broke (or was stopped by a blocking check): one error alert, sent now, with the
    errors the run opened (its blocking checks, held by ``dispatch``) in the same message."""
    failures = [f for f in failures if f] or ["the run failed"]
    if all(f.split(":", 1)[0] in AFTER_PUBLISH_STEPS for f in failures):
        detail = (f"The warehouse {settings.warehouse} was published; only the pages written after it failed "
                  "(the previous ones stay).")
    else:
        detail = f"The published warehouse {settings.warehouse} is unchanged."
    if log:
        detail += f" Run log: {log}"
    alert = Alert(
        key=f"run_failure:{run_id}", severity="error", title=f"Run {run_id[:8]} of {job_name} failed",
        summary="; ".join(failures[:5]) + (f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""),
        owner="data team (pipeline operations)", detail=detail, source=RUN_FAILURE, scope="run",
        run_id=run_id, as_of=str(as_of) if as_of else None,
    )
    return send(alert, settings, config)


__all__ = [
    "Alert", "AlertConfig", "DispatchReport", "SmtpConfig", "dispatch", "load_alert_config", "notify_run_failure",
    "read_log", "send",
]
