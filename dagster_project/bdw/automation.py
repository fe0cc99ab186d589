"""When the nightly job runs: a schedule, and a sensor that starts a run when new files land."""

import hashlib
import json
from pathlib import Path

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from bdw.contract import SOURCES
from bdw.ingest import inbox_files
from bdw.ingest.readers import file_hash
from bdw.resources import BdwSettings
from bdw.settings import schedule_settings

Seen = dict[str, list]  # inbox-relative path -> [size, mtime_ns, sha256]


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


def nightly_schedule(job) -> ScheduleDefinition:
    """02:00 Asia/Shanghai unless ``BDW_SCHEDULE_CRON`` / ``BDW_SCHEDULE_TIMEZONE`` say otherwise."""
    when = schedule_settings()
    return ScheduleDefinition(
        name="bdw_nightly_schedule",
        job=job,
        cron_schedule=when.cron,
        execution_timezone=when.timezone,
        default_status=DefaultScheduleStatus.RUNNING,
        description="Every night: ingest the inbox, build the models and checks, publish the warehouse.",
    )


def inbox_sensor(job):
    @sensor(
        name="bdw_inbox_sensor",
        job=job,
        minimum_interval_seconds=schedule_settings().sensor_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
        description="Starts the job when files with new content land in the inbox (never twice for the same files).",
    )
    def _sensor(context: SensorEvaluationContext, bdw: BdwSettings):
        seen: Seen = json.loads(context.cursor) if context.cursor else {}
        new, now = scan_inbox(bdw.settings().inbox, seen)
        if not new:
            return SensorResult(skip_reason=SkipReason("no new files in the inbox"), cursor=json.dumps(now))
        run_key = file_hash_of(sorted(f"{rel}:{now[rel][2]}" for rel in new))
        return SensorResult(
            run_requests=[RunRequest(run_key=run_key, tags={"bdw/new_files": str(len(new))})],
            cursor=json.dumps(now),
        )

    return _sensor


def file_hash_of(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
