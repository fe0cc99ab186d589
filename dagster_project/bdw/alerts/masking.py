"""Secrets never written: whatever a channel's URL holds (tokens in its path, host or query, the
password in its userinfo) is replaced by ``***`` in the alert log, the state file, every error
message and every log record of Apprise and of the HTTP libraries under it.

What counts as secret, for one URL: the URL itself; its password; its path and query as wholes
(a server quotes the path it refuses); every part of the host, path or query that looks like a token
(8 characters or more, and not a plain lowercase word, an e-mail address or a host name); and every
part Apprise itself hides when it prints the URL privately (``url(privacy=True)``: the DingTalk,
WeCom or Feishu token in the host position, a signing secret). Each also in the forms it takes when
quoted: percent-encoded or decoded, JSON- or repr-escaped (an SMTP error is a bytes repr).

``install_log_masking`` puts a filter on those loggers, so a record is masked when it is made,
before any handler (Dagster's, pytest's, a file) sees it.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable

MASK = "***"
MIN_TOKEN = 8  # shorter parts ("/hook", "x") hold no token; masking them would mangle ordinary text
# loggers that may quote a channel's URL: Apprise's, and the HTTP stack it sends with
MASKED_LOGGERS = ("apprise", "urllib3", "requests")

_PLAIN_WORD = re.compile(r"^[a-z]+$")
_EMAIL = re.compile(r"^[^@\s/]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_HOST_NAME = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,}$|^\d{1,3}(?:\.\d{1,3}){3}$")
_SEPARATORS = re.compile(r"[/?&=:@]")


def _token_like(part: str) -> bool:
    part = urllib.parse.unquote(part)
    return (len(part) >= MIN_TOKEN and not _PLAIN_WORD.match(part) and not _EMAIL.match(part)
            and not _HOST_NAME.match(part))


def _apprise_private_parts(url: str) -> set[str]:
    """The parts of ``url`` that Apprise prints as ``****`` or ``a...z`` in its private form."""
    from apprise import Apprise

    service = Apprise.instantiate(url)
    if not service:
        return set()
    full, private = service.url(privacy=False), service.url(privacy=True)
    a, b = _SEPARATORS.split(full), _SEPARATORS.split(private)
    if len(a) != len(b):
        return set()
    return {x for x, y in zip(a, b, strict=True) if x != y and x}


def secret_parts(url: str, *, ask_apprise: bool = True) -> set[str]:
    """Every part of one channel URL that must never be written (see the module doc)."""
    parts = {url}
    try:
        split = urllib.parse.urlsplit(url)
    except ValueError:  # not a URL at all ("[" opening no IPv6 address): the whole of it is the secret
        return parts
    if split.password:
        parts.add(split.password)
    tail = split.path + (f"?{split.query}" if split.query else "")
    parts |= {p for p in (split.path, tail, split.query) if len(p) >= MIN_TOKEN}
    host = split.netloc.rsplit("@", 1)[-1].split(":", 1)[0]
    pieces = [host, *split.path.split("/"), *(v for _, v in urllib.parse.parse_qsl(split.query))]
    parts |= {p for p in pieces if _token_like(p)}
    if ask_apprise:
        parts |= _apprise_private_parts(url)
    return parts


def _forms(part: str) -> set[str]:
    """``part`` as it may appear in a text: as is, percent-decoded or -encoded, escaped."""
    out = set()
    for s in {part, urllib.parse.unquote(part)}:
        out |= {s, urllib.parse.quote(s, safe="/"), urllib.parse.quote(s, safe=""),
                json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1], repr(s)[1:-1],
                repr(s.encode("utf-8"))[2:-1]}
    return {s for s in out if s}


class Masker:
    """Replaces every known secret in a text by ``***``, longest first."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._forms: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        found = set(self._forms)
        for s in secrets:
            if s:
                found |= _forms(s)
        with self._lock:
            self._forms = tuple(sorted(found, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for s in self._forms:
            if s in text:
                text = text.replace(s, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._forms)


class _MaskRecords(logging.Filter):
    """Masks a log record's message, arguments, traceback and stack in place."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.masker:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is formatted (and masked) as its bare template
            message = str(record.msg)
        record.msg, record.args = self.masker(message), None
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, self.masker(text)
        elif record.exc_text:
            record.exc_text = self.masker(record.exc_text)
        if record.stack_info:
            record.stack_info = self.masker(record.stack_info)
        return True


# one masker for every log record of the process: each configuration's secrets are added to it
LOG_MASKER = Masker()
_FILTER = _MaskRecords(LOG_MASKER)


def install_log_masking(secrets: Iterable[str]) -> None:
    """Mask ``secrets`` in every record of Apprise's and the HTTP libraries' loggers (the loggers
    that exist now, children included: import Apprise first)."""
    LOG_MASKER.add(secrets)
    names = [n for n in list(logging.root.manager.loggerDict)
             if any(n == p or n.startswith(p + ".") for p in MASKED_LOGGERS)]
    for name in {*MASKED_LOGGERS, *names}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def masker_for(urls: Iterable[str]) -> Masker:
    """The masker of a configuration's channel URLs, also installed on the loggers that could quote
    them. Imports Apprise, and asks it which parts of each URL it considers private."""
    urls = [u for u in urls if u]
    if not urls:
        return Masker()
    importlib.import_module("apprise")  # its logger and the HTTP libraries' exist from here on
    secrets = {p for u in urls for p in secret_parts(u, ask_apprise=False)}
    install_log_masking(secrets)  # before Apprise reads a URL: it logs the URLs it loads
    secrets |= {p for u in urls for p in _apprise_private_parts(u)}
    install_log_masking(secrets)
    return Masker(secrets)
