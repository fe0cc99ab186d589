"""When the nightly job runs: a schedule, and a sensor that starts a run when new files land."""

import hashlib
import json

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

from bdw.resources import BdwSettings
from bdw.run_state import Seen, scan_inbox
from bdw.settings import schedule_settings


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
