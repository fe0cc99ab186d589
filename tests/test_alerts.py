"""Alerts (bdw.alerts): once per breach, cleared when it clears, to the log always and to a webhook
and SMTP server (both local, started here); a channel that is down neither raises nor loses the
alert from the log; secrets never reach the log, even when a server's error quotes them; an error a
run opens goes out with the run's failure notice, in one message. Fast: no pipeline run (see
test_alerts_run.py)."""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import io
import json
import os
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bdw.alerts import Alert, dispatch, load_alert_config, notify_run_failure, read_log, send

from conftest import settings_for


# ---- local servers, shared with the end-to-end tests ----------------------------------------------
class WebhookSink:
    """A local HTTP server that records the JSON bodies POSTed to it (a Slack-compatible webhook).
    ``reason``: the status line's reason phrase, ``{path}`` standing for the request's path (a
    server that quotes the URL it refuses, as many do; the path is where a webhook's token is)."""

    def __init__(self, status: int = 200, reason: str | None = None) -> None:
        sink = self
        self.bodies: list[dict] = []
        self.paths: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.paths.append(self.path)
                sink.bodies.append(json.loads(data.decode("utf-8")))
                self.send_response(status, reason.format(path=self.path) if reason else None)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/services/T000/B000/SECRET-TOKEN") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    @property
    def texts(self) -> list[str]:
        return [b["text"] for b in self.bodies]

    def __enter__(self) -> WebhookSink:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A tiny SMTP server (Python 3.12+ has no smtpd): enough of RFC 5321 for smtplib.
    ``refuse_login``: it offers AUTH and refuses every login with a reply that quotes the user and
    the password it was given (the worst a server's error message can do)."""

    def __init__(self, refuse_login: bool = False) -> None:
        sink = self
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write((line + "\r\n").encode())

            def handle(self):
                self.reply("220 localhost bdw-test-smtp")
                sender, rcpts = "", []
                while line := self.rfile.readline():
                    cmd = line.decode("utf-8", "replace").strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.reply("250-localhost")
                        if refuse_login:
                            self.reply("250-AUTH PLAIN")
                        self.reply("250 8BITMIME")
                    elif verb == "AUTH" and refuse_login:  # AUTH PLAIN <base64 of \0user\0password>
                        _, user, password = base64.b64decode(cmd.split()[2]).decode("utf-8").split("\0")
                        self.reply(f"535 5.7.8 login refused for user {user} with password {password}")
                    elif verb == "HELO":
                        self.reply("250 localhost")
                    elif verb == "MAIL":
                        sender, rcpts = cmd.split(":", 1)[1].strip(), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        rcpts.append(cmd.split(":", 1)[1].strip())
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        sink.messages.append(email.message_from_bytes(data, policy=email.policy.default))
                        sink.envelopes.append((sender, rcpts))
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 OK")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def bodies(self) -> list[str]:
        return [m.get_content() for m in self.messages]

    def __enter__(self) -> SmtpSink:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


_ENV = ("BDW_INBOX", "BDW_WAREHOUSE", "BDW_WORKDIR", "BDW_DUCKDB_PATH", "BDW_AS_OF")


@contextlib.contextmanager
def restored_environment():
    """``bdw run`` exports its paths to this process's environment: put them back afterwards so
    later runs (and other test modules) do not inherit a test's working folder."""
    saved = {k: os.environ.get(k) for k in _ENV}
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def bdw(*args: str) -> tuple[int, str]:
    """``bdw ARGS`` in-process: exit code and printed output."""
    from bdw.cli import main

    out = io.StringIO()
    with restored_environment(), contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


def refusing_webhook() -> WebhookSink:
    """A webhook server that answers 404 and quotes the path it was asked for (the secret token)."""
    return WebhookSink(status=404, reason="no webhook at {path}")


def alert_env(monkeypatch: pytest.MonkeyPatch, webhook_url: str | None, smtp_port: int | None) -> None:
    for name in ("BDW_ALERTS_CONFIG", "BDW_ALERT_LOG", "BDW_ALERT_WEBHOOK_URL", "BDW_ALERT_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    if webhook_url:
        monkeypatch.setenv("BDW_ALERT_WEBHOOK_URL", webhook_url)
    if smtp_port:
        monkeypatch.setenv("BDW_ALERT_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("BDW_ALERT_SMTP_PORT", str(smtp_port))
        monkeypatch.setenv("BDW_ALERT_SMTP_SECURITY", "none")
        monkeypatch.setenv("BDW_ALERT_SMTP_USER", "")
        monkeypatch.setenv("BDW_ALERT_SMTP_PASSWORD", "smtp-SECRET-pw")
        monkeypatch.setenv("BDW_ALERT_EMAIL_FROM", "bdw@example.com")
        monkeypatch.setenv("BDW_ALERT_EMAIL_TO", "sales-ops@example.com,manager@example.com")


# ---- unit tests --------------------------------------------------------------------------------------
def breach(key: str, active: bool = True, scope: str = "great_expectations", severity: str = "warn") -> Alert:
    return Alert(key=key, severity=severity, title=f"check {key}",
                 summary=f"{'40.0%' if active else '97.0%'} filled, target at least 95%",
                 owner="field accounts.industry", observed=0.4 if active else 0.97, threshold=0.95,
                 scope=scope, active=active)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BDW_CONFIG_DIR", str(tmp_path / "config"))
    alert_env(monkeypatch, None, None)
    return settings_for(tmp_path)


def test_a_breach_is_sent_once_while_it_lasts_and_its_clearing_is_announced(settings, monkeypatch):
    with WebhookSink() as hook, SmtpSink() as smtp:
        alert_env(monkeypatch, hook.url(), smtp.port)
        first = dispatch(settings, [breach("a"), breach("b")], {"great_expectations"}, run_id="run1")
        second = dispatch(settings, [breach("a"), breach("b", active=False)], {"great_expectations"}, run_id="run2")
        third = dispatch(settings, [breach("a")], {"great_expectations"}, run_id="run3")
    assert [a.key for a in first.opened] == ["a", "b"] and not first.cleared
    assert not second.opened and [a.key for a in second.cleared] == ["b"] and second.still_open == ["a"]
    assert not third.opened and not third.cleared  # nothing new: no message at all
    assert len(hook.bodies) == 2 and len(smtp.messages) == 2
    assert "[WARN] check a: 40.0% filled, target at least 95%. Owner: field accounts.industry." in hook.texts[0]
    assert "[CLEARED] check b: 97.0% filled, target at least 95%" in hook.texts[1]
    assert smtp.messages[0]["Subject"].startswith("[bdw] 2 warnings (run run1")
    assert smtp.envelopes[0][1] == ["<sales-ops@example.com>", "<manager@example.com>"]
    log = read_log(load_alert_config(settings).log_path)
    assert [(r["event"], r["key"], r["run_id"]) for r in log] == [
        ("alert", "a", "run1"), ("alert", "b", "run1"), ("cleared", "b", "run2")]
    assert all(r["deliveries"] == {"webhook": "sent", "email": "sent"} for r in log)


def test_an_open_breach_of_a_scope_not_evaluated_stays_open(settings):
    dispatch(settings, [breach("ew", scope="early_warnings")], {"early_warnings"}, run_id="r1")
    # the mart was missing this run: the early warning is not "cleared"
    report = dispatch(settings, [], {"great_expectations"}, run_id="r2")
    assert not report.cleared
    report = dispatch(settings, [], {"great_expectations", "early_warnings"}, run_id="r3")
    assert [a.key for a in report.cleared] == ["ew"]
    assert "[CLEARED] check ew: no longer reported" in read_log(load_alert_config(settings).log_path)[-1]["text"]


def written(settings) -> str:
    """Everything the alerts wrote to disk: the log and the state file."""
    cfg = load_alert_config(settings)
    return "\n".join(p.read_text(encoding="utf-8") for p in (cfg.log_path, cfg.state_path) if p.exists())


def test_a_channel_that_fails_neither_raises_nor_loses_the_alert_and_is_retried(settings, monkeypatch):
    # the webhook server refuses, quoting the path of the (secret) URL in its error
    with refusing_webhook() as down:
        alert_env(monkeypatch, down.url("/services/T000/B000/DEAD-SECRET"), None)
        report = dispatch(settings, [breach("x")], {"great_expectations"}, run_id="r1")
        again = dispatch(settings, [breach("x")], {"great_expectations"}, run_id="r2")  # still refusing
    assert len(down.bodies) == 2  # it was reached: the error came from the server
    assert report.deliveries["webhook"] == "failed: HTTPError: HTTP Error 404: no webhook at ***"
    log = read_log(load_alert_config(settings).log_path)
    assert [(r["event"], r.get("key")) for r in log] == [("alert", "x"), ("redelivery", None)]
    assert log[0]["severity"] == "warn" and log[0]["deliveries"]["webhook"] == report.deliveries["webhook"]
    assert log[1]["result"] == report.deliveries["webhook"] and not again.opened
    assert "DEAD-SECRET" not in written(settings) + repr(report) + repr(again)  # the webhook URL is a secret
    # the server is back: the next dispatch re-sends what failed, although no breach is new
    with WebhookSink() as hook:
        alert_env(monkeypatch, hook.url(), None)
        report = dispatch(settings, [breach("x")], {"great_expectations"}, run_id="r3")
    assert not report.opened
    assert len(hook.bodies) == 1 and "[WARN] check x" in hook.texts[0] and "re-sent" in hook.texts[0]
    last = read_log(load_alert_config(settings).log_path)[-1]
    assert (last["event"], last["channel"], last["keys"], last["attempt"], last["result"]) == (
        "redelivery", "webhook", ["x"], 3, "sent")


def test_a_webhook_url_that_is_not_a_url_is_not_quoted_in_the_log(settings, monkeypatch):
    alert_env(monkeypatch, "hooks.example.com/services/T000/B000/NO-SCHEME-SECRET", None)  # no https://
    out = send(breach("u"), settings)
    assert out["webhook"] == "failed: ValueError: unknown url type: '***'"  # urllib quotes the whole URL
    assert '"key": "u"' in written(settings) and "NO-SCHEME-SECRET" not in written(settings)


def test_smtp_down_does_not_raise_and_the_alert_is_logged(settings, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    alert_env(monkeypatch, None, port)
    out = send(breach("y"), settings)
    assert out["email"].startswith("failed: ConnectionRefusedError")
    assert '"key": "y"' in load_alert_config(settings).log_path.read_text()


@pytest.mark.parametrize("password", ["smtp-SECRET-pw", r"smtp\SECRET'pw"])  # a backslash, a quote
def test_a_refused_smtp_login_never_puts_the_password_in_the_log(settings, monkeypatch, password):
    with SmtpSink(refuse_login=True) as smtp:
        alert_env(monkeypatch, None, smtp.port)
        monkeypatch.setenv("BDW_ALERT_SMTP_USER", "bdw-alerts")
        monkeypatch.setenv("BDW_ALERT_SMTP_PASSWORD", password)
        out = send(breach("y"), settings)
    assert not smtp.messages
    # the server's reply, as text, with the password it quoted masked
    assert out["email"] == ("failed: SMTPAuthenticationError: 535 5.7.8 login refused for user bdw-alerts "
                            "with password ***")
    raw = written(settings)
    assert '"key": "y"' in raw and out["email"] in raw and "SECRET" not in raw


def test_secrets_in_the_config_file_are_refused(settings, tmp_path):
    cfg_dir = tmp_path / "config"
    cfg_dir.mkdir()
    (cfg_dir / "alerts.yml").write_text("webhook:\n  url: https://hooks.example.com/SECRET\n"
                                        "email:\n  smtp_host: mail.example.com\n  password: hunter2\n"
                                        "  from: a@example.com\n  to: [b@example.com]\n")
    cfg = load_alert_config(settings)
    assert cfg.webhook_url is None  # only from the environment
    assert cfg.smtp is not None and cfg.smtp.password is None
    assert len(cfg.problems) == 2 and "BDW_ALERT_WEBHOOK_URL" in cfg.problems[0]
    send(breach("z"), settings, cfg)
    raw = cfg.log_path.read_text()
    assert "config_problem" in raw and "hunter2" not in raw and "SECRET" not in raw
    assert "hunter2" not in repr(cfg) and "SECRET" not in repr(cfg)


def test_the_example_config_is_valid(settings, monkeypatch):
    example = Path(__file__).resolve().parents[1] / "config" / "alerts.example.yml"
    monkeypatch.setenv("BDW_ALERTS_CONFIG", str(example))
    monkeypatch.setenv("BDW_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/x")
    cfg = load_alert_config(settings)
    assert cfg.problems == () and cfg.channels == ("webhook", "email")
    assert cfg.smtp.recipients and cfg.smtp.security == "starttls"


def test_an_error_a_run_opens_goes_out_with_its_failure_notice_in_one_message(settings, monkeypatch):
    """A blocking check's error stops the run: the manager gets one message saying the run failed,
    what failed and that the published warehouse is unchanged, not the error and then the notice."""
    blocked = ["great_expectations_checks: 1 blocking asset check failed with ERROR severity: staging/fx: check"]
    with WebhookSink() as hook, SmtpSink() as smtp:
        alert_env(monkeypatch, hook.url(), smtp.port)
        report = dispatch(settings, [breach("fx", severity="error"), breach("crm")], {"great_expectations"},
                          run_id="run-1", as_of="2025-05-31")
        assert [a.key for a in report.opened] == ["fx", "crm"]  # both opened, only the warning sent now
        assert hook.texts == ["[bdw] 1 warning (run run-1 as of 2025-05-31)\n- " + breach("crm").text()]
        notify_run_failure(settings, run_id="run-1", failures=blocked, as_of="2025-05-31")
        # the breach lasts: the next blocked run's notice is its only message, and does not repeat it
        dispatch(settings, [breach("fx", severity="error"), breach("crm")], {"great_expectations"}, run_id="run-2")
        notify_run_failure(settings, run_id="run-2", failures=blocked)
    assert len(hook.bodies) == len(smtp.messages) == 3
    assert smtp.messages[1]["Subject"] == "[bdw] run failed, 1 error (run run-1 as of 2025-05-31)"
    notice, error = smtp.bodies()[1].strip().splitlines()
    assert hook.texts[1].splitlines() == [smtp.messages[1]["Subject"], notice, error]
    assert notice.startswith(f"- [ERROR] Run run-1 of bdw_nightly failed: {blocked[0]}. ")
    assert f"The published warehouse {settings.warehouse} is unchanged." in notice
    assert error == "- " + breach("fx", severity="error").text()
    assert smtp.messages[2]["Subject"] == "[bdw] run failed (run run-2)"
    assert len(smtp.bodies()[2].strip().splitlines()) == 1 and "check fx" not in smtp.bodies()[2]
    log = read_log(load_alert_config(settings).log_path)
    assert [(r["event"], r["key"], r["run_id"]) for r in log] == [
        ("alert", "crm", "run-1"), ("alert", "run_failure:run-1", "run-1"), ("alert", "fx", "run-1"),
        ("alert", "run_failure:run-2", "run-2")]
    assert all(r["deliveries"] == {"webhook": "sent", "email": "sent"} for r in log)
    assert log[2]["severity"] == "error" and log[2]["held"] == "sent with run_failure:run-1"


def test_a_held_error_whose_failure_notice_never_comes_is_sent_by_the_next_dispatch(settings, monkeypatch):
    with WebhookSink() as hook:
        alert_env(monkeypatch, hook.url(), None)
        dispatch(settings, [breach("fx", severity="error")], {"great_expectations"}, run_id="run-1")
        assert not hook.bodies
        dispatch(settings, [breach("fx", severity="error")], {"great_expectations"}, run_id="run-2")
    assert len(hook.bodies) == 1 and "[ERROR] check fx" in hook.texts[0]
    (rec,) = read_log(load_alert_config(settings).log_path)
    assert (rec["key"], rec["run_id"], rec["deliveries"]) == ("fx", "run-1", {"webhook": "sent"})
    assert rec["held"] == "sent late: the failure notice of its run did not come"


def test_notify_run_failure_for_reuse(settings, monkeypatch):
    with WebhookSink() as hook:
        alert_env(monkeypatch, hook.url(), None)
        out = notify_run_failure(settings, run_id="0123456789abcdef", failures=["raw__payments: disk full"],
                                 as_of="2026-11-26", log="/tmp/run.log")
    assert out == {"webhook": "sent"}
    assert "[ERROR] Run 01234567 of bdw_nightly failed: raw__payments: disk full." in hook.texts[0]
    assert f"{settings.warehouse} is unchanged" in hook.texts[0]
