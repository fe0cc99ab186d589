"""Alerts: data-quality results, early warnings and run failures as messages to people.

Every alert names what broke, the observed value against the threshold and who owns it. It goes to
the alert log (JSON lines beside the warehouse, always) and to the channels of ``alerts.yml``: each
one Apprise URL kept in an environment variable (e-mail, JSON webhook, Slack, DingTalk, WeCom,
Feishu/Lark; docs/alerts.md).

Sent from two places only:

- the ``alerts`` asset (bdw.assets.alerts), after the warehouse is published: the run's
  data-quality results (``dq.validation_results``) and ``marts.early_warnings``, announced once per
  breach, when it opens and when it clears (``announce_run``);
- a run's failure notice (``notify_run_failure``), from ``bdw run`` or the run-failure sensor.

A blocked run (a blocking check failed, so nothing was published and the ``alerts`` asset did not
run) sends ONE message: its failure notice, naming the failed blocking checks and saying the
published warehouse is unchanged, with each of those errors that opens with this run. Its warnings
(CRM completeness, early warnings) are not sent: they describe data that was not published. The
next run that publishes evaluates them again and announces those that still hold. Should a blocked
run's notice never come, the next ``alerts`` asset announces its errors late.

A channel that fails never breaks the run: the alert is logged, and the message is re-sent at the
next sending, up to ``max_delivery_attempts``. Secrets (the channel URLs and every token or password
inside them) never reach the log, the state file, an error message or a log record (bdw.alerts.masking).

Modules, by concern: ``alert`` (the record), ``config`` (channels), ``delivery`` (Apprise),
``masking``, ``state`` (state file, once per breach), ``outbox`` (one message per channel,
redelivery), ``alert_log``, ``evaluations`` (observations from the working database), ``dispatch``
(a sending session), ``run_failure`` (failure notices), ``sensors`` (the daemon's run-failure sensor).
"""

from bdw.alerts.alert import Alert
from bdw.alerts.alert_log import read_log
from bdw.alerts.config import AlertConfig, load_alert_config
from bdw.alerts.dispatch import DispatchReport, announce_run, dispatch
from bdw.alerts.run_failure import AFTER_PUBLISH_STEPS, notify_run_failure, root_cause_line

__all__ = [
    "AFTER_PUBLISH_STEPS", "Alert", "AlertConfig", "DispatchReport", "announce_run", "dispatch", "load_alert_config",
    "notify_run_failure", "read_log", "root_cause_line",
]
