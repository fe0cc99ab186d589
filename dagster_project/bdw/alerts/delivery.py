"""One message to one channel, through Apprise (https://github.com/caronc/apprise): e-mail
(``mailto://``, ``mailtos://``), JSON webhooks (``json://``, ``jsons://``), Slack, DingTalk, WeCom
group bots, Feishu/Lark and the other services Apprise speaks, each from one URL.

``deliver`` never raises: a channel that is down, refuses or times out gives ``"failed: <reason>"``,
the reason taken from what Apprise reported and masked (a server's error may quote the URL). Apprise
keeps nothing on disk (its persistent store is in memory only).

The words that say why a delivery failed (the socket's error, the server's answer) are in Apprise's
debug lines. While it sends, its logger is lowered to DEBUG so that its per-call capture gets
them; its records still reach the application's handlers only at the level they would have
anyway (``_debug_captured``). Every record is masked first (bdw.alerts.masking).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator

from bdw.alerts.config import DOCS, Channel
from bdw.alerts.masking import Masker

SENT = "sent"
FAILED = "failed: "
MAX_REASON = 400
# Apprise's message type per kind of message: it picks the colour or icon of Slack, Feishu...
_KINDS = {"error": "failure", "warn": "warning", "info": "info", "cleared": "success"}
# debug lines of Apprise that carry the server's or the socket's own words
_TELLING_DEBUG = ("Socket Exception", "Response Details", "Response Body")


class _Propagate(logging.Handler):
    """Hands a record on to the handlers above its logger, as propagation would."""

    def __init__(self, source: logging.Logger, level: int) -> None:
        super().__init__(level)
        self.source = source

    def emit(self, record: logging.LogRecord) -> None:
        logger = self.source.parent
        while logger is not None:
            for handler in logger.handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)
            logger = logger.parent if logger.propagate else None


@contextlib.contextmanager
def _debug_captured() -> Iterator[None]:
    """Apprise's logger at DEBUG (for its per-call capture), propagating only what it did before."""
    logger = logging.getLogger("apprise")
    level, propagate = logger.level, logger.propagate
    forward = _Propagate(logger, logger.getEffectiveLevel())
    logger.setLevel(logging.DEBUG)
    if propagate:
        logger.propagate = False
        logger.addHandler(forward)
    try:
        yield
    finally:
        logger.removeHandler(forward)
        logger.setLevel(level)
        logger.propagate = propagate


def _reason(result) -> str:
    lines = []
    for entry in result.logs():
        if entry.level in ("WARNING", "ERROR", "CRITICAL") or entry.message.startswith(_TELLING_DEBUG):
            lines.append(" ".join(entry.message.split()))
    text = "; ".join(dict.fromkeys(lines)) or f"Apprise reported {result.status.name.lower()}"
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 3] + "..."


def deliver(channel: Channel, title: str, body: str, kind: str, *, masker: Masker, timeout: float) -> str:
    """Send ``title`` and ``body`` to ``channel``: ``"sent"`` or ``"failed: <reason>"`` (masked).
    ``kind`` (error, warn, info or cleared) is the message's worst news."""
    try:
        import apprise

        service = apprise.Apprise(asset=apprise.AppriseAsset(app_id="bdw", app_desc="BD warehouse alerts",
                                                             storage_mode="memory"))
        if not service.add(channel.url):
            return (f"{FAILED}the URL in {channel.url_env} is not one Apprise understands "
                    f"(see {DOCS} for each channel's form)")
        with _debug_captured(), service.notify(body=body, title=title, notify_type=_KINDS.get(kind, "info"),
                                               body_format=apprise.NotifyFormat.TEXT, timeout=timeout,
                                               log_level=logging.DEBUG) as result:
            return SENT if result else FAILED + masker(_reason(result))
    except Exception as e:  # noqa: BLE001 - a channel must never break the run
        return FAILED + masker(re.sub(r"\s+", " ", f"{type(e).__name__}: {e}"))
