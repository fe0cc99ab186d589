"""Local alert servers and helpers shared by the alert tests (integration/test_alerts.py,
integration/test_quality.py, e2e/test_alerts_run.py): a JSON webhook and an SMTP server on
loopback, started per test, and the environment the alert channels read."""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import io
import json
import os
import socketserver
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from bdw.settings import RETIRED_ALERT_VARIABLES


# ---- local servers ----------------------------------------------
class WebhookSink:
    """A local HTTP server that records the JSON bodies POSTed to it (Apprise's ``json://``:
    ``{"title", "message", "type", ...}``). ``reply``: the response body, ``{path}`` standing for
    the request's path (a server that quotes the URL it refuses, as many do; the path is where a
    webhook's token is)."""

    def __init__(self, status: int = 200, reply: str = "ok") -> None:
        sink = self
        self.bodies: list[dict] = []
        self.paths: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.paths.append(self.path)
                sink.bodies.append(json.loads(data.decode("utf-8")))
                body = reply.format(path=self.path).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/services/T000/B000/SECRET-TOKEN") -> str:
        """The Apprise URL of this server (plain HTTP: ``json://``)."""
        return f"json://127.0.0.1:{self.server.server_address[1]}{path}"

    @property
    def texts(self) -> list[str]:
        """Each message as its title, a line break and its body."""
        return [f"{b['title']}\n{b['message']}" for b in self.bodies]

    def __enter__(self) -> WebhookSink:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A tiny SMTP server (Python 3.12+ has no smtpd): enough of RFC 5321 for smtplib. ``login``:
    "none" offers no AUTH; "accept" offers AUTH PLAIN and accepts (recording the credentials);
    "refuse" refuses every login with a reply that quotes the user and the password it was given
    (the worst a server's error message can do)."""

    def __init__(self, login: str = "none") -> None:
        sink = self
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[tuple[str, str]] = []

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
                        if login != "none":
                            self.reply("250-AUTH PLAIN")
                        self.reply("250 8BITMIME")
                    elif verb == "AUTH":  # AUTH PLAIN <base64 of \0user\0password>
                        _, user, password = base64.b64decode(cmd.split()[2]).decode("utf-8").split("\0")
                        if login == "accept":
                            sink.logins.append((user, password))
                            self.reply("235 2.7.0 Authentication successful")
                        else:
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

    def url(self, to: str = "sales-ops@example.com", user: str | None = None, password: str | None = None) -> str:
        """The Apprise URL of this server: plain SMTP (``mode=insecure``), one message per recipient."""
        login = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}@" if user else ""
        return f"mailto://{login}127.0.0.1:{self.port}?from=bdw@example.com&to={to}&mode=insecure"

    def bodies(self) -> list[str]:
        """The plain-text part of each message (its line ends as ``\n``)."""
        return [m.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n") for m in self.messages]

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
    return WebhookSink(status=404, reply="no webhook at {path}")


def channel_variable(name: str) -> str:
    return f"BDW_TEST_ALERT_{name.upper()}_URL"


def use_channels(mp: pytest.MonkeyPatch, folder: Path, urls: dict[str, str | None],
                 min_severity: dict[str, str] | None = None, **settings: object) -> Path:
    """An alerts.yml in ``folder`` (BDW_ALERTS_CONFIG) naming one channel per entry of ``urls``,
    each URL in its own environment variable (None: the variable unset); the retired variables and
    BDW_ALERT_LOG unset."""
    for name in (*RETIRED_ALERT_VARIABLES, "BDW_ALERT_LOG"):
        mp.delenv(name, raising=False)
    channels = {}
    for name, url in urls.items():
        channels[name] = {"url_env": channel_variable(name), "min_severity": (min_severity or {}).get(name, "warn")}
        if url:
            mp.setenv(channel_variable(name), url)
        else:
            mp.delenv(channel_variable(name), raising=False)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "alerts.yml"
    path.write_text(yaml.safe_dump({**settings, "channels": channels}), encoding="utf-8")
    mp.setenv("BDW_ALERTS_CONFIG", str(path))
    return path
