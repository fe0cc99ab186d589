"""What the last published run was made of, so that a run with nothing new can stop at once.

A run that published writes ``<workdir>/last_published.json``: its as-of date, every inbox file
(size, modification time, content hash), a fingerprint of everything else that shapes the
warehouse (the dbt project, the seeds, the config folder, the bdw package itself, the run's mapping
profile) and the published file's size and modification time. The next ``bdw run`` (and the
nightly schedule) compares: the same as-of date, no new, changed or removed inbox file, the same
fingerprint and the published file as it was left means the run would publish the same rows, so
it publishes nothing and says so. Content hashes are only computed for files whose size or
modification time changed. Nothing here imports Dagster or dbt: the check costs a fraction of a
second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from bdw.contract import SOURCES
from bdw.ingest.load import inbox_files
from bdw.ingest.readers import file_hash
from bdw.publish import replace_atomically
from bdw.settings import DBT_PROJECT_DIR, REPO_ROOT, SEEDS_DIR, Settings

STATE_FILE = "last_published.json"
Seen = dict[str, list]  # inbox-relative path -> [size, mtime_ns, sha256]
_NOT_INPUTS = {"target", "logs", "dbt_packages", "__pycache__"}


def scan_inbox(inbox: Path, seen: Seen) -> tuple[list[str], Seen]:
    """Files whose content is new since ``seen`` (a touched but unchanged file is not new), and the
    updated record. Content hashes are computed only for files whose size or mtime changed."""
    new: list[str] = []
    now: Seen = {}
    for source in SOURCES:
        for path in inbox_files(inbox / source):
            rel = path.relative_to(inbox).as_posix()
            stat = path.stat()
            before = seen.get(rel)
            if before and before[0] == stat.st_size and before[1] == stat.st_mtime_ns:
                now[rel] = before
                continue
            digest = file_hash(path)
            now[rel] = [stat.st_size, stat.st_mtime_ns, digest]
            if not before or before[2] != digest:
                new.append(rel)
    return new, now


def _files(root: Path) -> list[Path]:
    out: list[Path] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _NOT_INPUTS and not d.startswith("."))
        out += [Path(folder) / n for n in sorted(names) if not n.endswith(".pyc")]
    return out


def build_fingerprint(settings: Settings) -> str:
    """Everything but the inbox and the as-of date that shapes what a run publishes."""
    h = hashlib.sha256(f"profile={settings.profile} policies={sorted(settings.policies.items())}\n".encode())
    roots = [DBT_PROJECT_DIR, SEEDS_DIR, settings.config_dir, REPO_ROOT / "dagster_project" / "bdw"]
    for root in dict.fromkeys(roots):
        for path in _files(root):
            h.update(f"{path}\n".encode())
            h.update(path.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class LastPublished:
    run_id: str
    as_of: str
    inbox: Seen
    fingerprint: str
    warehouse: list  # [size, mtime_ns] of the published file as the run left it

    @staticmethod
    def read(settings: Settings) -> LastPublished | None:
        path = settings.workdir / STATE_FILE
        try:
            return LastPublished(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None


def _warehouse_stat(settings: Settings) -> list | None:
    try:
        stat = settings.warehouse.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def scan_before_run(settings: Settings) -> Seen:
    """The inbox as a run starts (a file that lands during the run is new to the next one)."""
    last = LastPublished.read(settings)
    return scan_inbox(settings.inbox, last.inbox if last else {})[1]


def record_published(settings: Settings, run_id: str, as_of: dt.date, inbox: Seen) -> Path:
    """After a run published: what it was made of (``inbox``: ``scan_before_run``)."""
    state = LastPublished(run_id, as_of.isoformat(), inbox, build_fingerprint(settings), _warehouse_stat(settings))
    return replace_atomically(settings.workdir / STATE_FILE,
                              lambda tmp: tmp.write_text(json.dumps(state.__dict__, indent=1), encoding="utf-8"))


def nothing_changed(settings: Settings, as_of: dt.date) -> LastPublished | None:
    """The last published run, when a run now would publish exactly what it did; else None."""
    last = LastPublished.read(settings)
    if last is None or last.as_of != as_of.isoformat() or _warehouse_stat(settings) != last.warehouse:
        return None
    new, now = scan_inbox(settings.inbox, last.inbox)
    if new or set(now) != set(last.inbox):
        return None
    return last if build_fingerprint(settings) == last.fingerprint else None
