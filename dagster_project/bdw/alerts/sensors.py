"""Dagster's own hook for run failures: a run-failure sensor (evaluated by the Dagster daemon, e.g.
under ``dagster dev``) that sends ``notify_run_failure`` for every failed run of the job.
``bdw run`` executes in-process without a daemon and sends it itself."""


from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from bdw.alerts.run_failure import notify_run_failure, root_cause_line
from bdw.settings import load_settings


def run_failure_alert_sensor(job):
    @run_failure_sensor(
        name="bdw_run_failure_alert",
        monitored_jobs=[job],
        default_status=DefaultSensorStatus.RUNNING,
        description="Sends the run's failure notice (the alert log and channels; with the failed blocking "
        "checks) when a run of the job fails.",
    )
    def _sensor(context: RunFailureSensorContext):
        failures = []
        for event in context.get_step_failure_events():
            failures.append(f"{event.step_key}: {root_cause_line(event)}")
        if not failures and context.failure_event.message:
            failures.append(context.failure_event.message.splitlines()[0])
        tags = context.dagster_run.tags or {}
        notify_run_failure(load_settings(), run_id=context.dagster_run.run_id, failures=failures,
                           job_name=context.dagster_run.job_name, as_of=tags.get("bdw/as_of"))

    return _sensor
