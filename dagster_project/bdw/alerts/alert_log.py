"""The alert log: one JSON line per alert, clearing, redelivery and configuration problem, always
written (beside the warehouse unless ``BDW_ALERT_LOG`` or ``log:`` says otherwise), masked."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

from bdw.alerts.masking import Masker


def now() -> str:
    """The time stamps of the log and the state file: local time with its offset."""
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def append_log(path: Path, records: list[dict], masker: Masker) -> None:
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        for r in records:
            f.write(masker(json.dumps(r, ensure_ascii=False, default=str)) + "\n")


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
