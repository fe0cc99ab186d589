"""One run at a time on a working folder: the lock file ``<workdir>/run.lock``.

``bdw run`` holds it for the whole run; a second run on the same warehouse (same working folder)
stops at once with a message naming the run in progress (its pid and start time) instead of
failing half-way when it meets the first one's working database. Under the Dagster daemon each
step of a run holds it while it works (:func:`step_lock`), so that a ``bdw run`` started meanwhile
is refused too, and a step refuses to start while a ``bdw run`` holds it.

The lock is an advisory ``flock`` on the file, which the kernel releases when its process ends,
however it ends: the lock of a killed run is never stale, the next run simply takes it. The
file's content (pid, start time, command) only names the holder for the message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from bdw.settings import Settings


class RunLocked(Exception):
    """Another run holds the working folder."""


_HELD: set[Path] = set()  # the lock files this process holds


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def _message(settings: Settings, holder: dict) -> str:
    pid = holder.get("pid", "unknown")
    started = holder.get("started_at", "an unknown time")
    what = holder.get("command") or "a run"
    return (f"another run is in progress on {settings.warehouse} (pid {pid}, {what}, started at {started}); "
            "this run did not start. Wait for it to finish, then run again.")


def _acquire(settings: Settings, command: str) -> int:
    path = settings.run_lock
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunLocked(_message(settings, _holder(path))) from None
    record = {"pid": os.getpid(), "started_at": dt.datetime.now().isoformat(sep=" ", timespec="seconds"),
              "command": command}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
    return fd


def _release(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextlib.contextmanager
def run_lock(settings: Settings, command: str = "bdw run") -> Iterator[None]:
    """Hold the working folder's lock while the block runs; :class:`RunLocked` when another
    process holds it."""
    fd = _acquire(settings, command)
    _HELD.add(settings.run_lock)
    try:
        yield
    finally:
        _HELD.discard(settings.run_lock)
        _release(fd)


def held_by_this_process(settings: Settings) -> bool:
    return settings.run_lock in _HELD


@contextlib.contextmanager
def step_lock(settings: Settings) -> Iterator[None]:
    """A Dagster step's hold on the lock: nothing to do when this process already holds it (a
    step of an in-process ``bdw run``), else the lock for the step's duration."""
    if held_by_this_process(settings):
        yield
        return
    with run_lock(settings, f"Dagster step (pid {os.getpid()}, {Path(sys.argv[0]).name})"):
        yield

