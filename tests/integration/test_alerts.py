"""Alerts (bdw.alerts), delivered by Apprise to a JSON webhook and an SMTP server, both local and
started here: once per breach, cleared when it clears; a channel that is down neither raises nor
loses the alert, which is re-sent next time up to the maximum of attempts; secrets never reach the
log, the state file, an error message or a log record, even when a server's error quotes them; a
blocked run sends one message, its failure notice with its errors. Fast: no pipeline run (see
test_alerts_run.py); the working database of a run is a DuckDB file holding the tables the alerts
read (dq.validation_results, dq.crm_completeness_history, marts.early_warnings).

DingTalk, WeCom and Feishu/Lark cannot be delivered here (no internet): their tests show that
Apprise accepts each URL form and that its token is masked."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import socket
import urllib.parse
from pathlib import Path

import duckdb
import pytest
import yaml

from alert_servers import SmtpSink, WebhookSink, channel_variable, refusing_webhook, use_channels
from bdw.alerts import Alert, announce_run, dispatch, load_alert_config, notify_run_failure, read_log

from conftest import settings_for

REPO = Path(__file__).resolve().parents[2]


# ---- helpers -----------------------------------------------------------------------------------------
def breach(key: str, active: bool = True, scope: str = "great_expectations", severity: str = "warn") -> Alert:
    return Alert(key=key, severity=severity, title=f"check {key}",
                 summary=f"{'40.0%' if active else '97.0%'} filled, target at least 95%",
                 owner="field accounts.industry", observed=0.4 if active else 0.97, threshold=0.95,
                 scope=scope, active=active)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BDW_CONFIG_DIR", str(tmp_path / "config"))
    use_channels(monkeypatch, tmp_path / "alerts_config", {})
    settings = settings_for(tmp_path)
    settings.workdir.mkdir(parents=True)
    return settings


def written(settings) -> str:
    """Everything the alerts wrote to disk: the log and the state file."""
    cfg = load_alert_config(settings)
    return "\n".join(p.read_text(encoding="utf-8") for p in (cfg.log_path, cfg.state_path) if p.exists())


def log_of(settings) -> list[dict]:
    return read_log(load_alert_config(settings).log_path)


FX = ("staging.stg_finance__fx_rates", "rate_close_to_previous_month")
INDUSTRY = ("staging.stg_crm__accounts", "completeness_industry")


def quality_result(con: duckdb.DuckDBPyConnection, run_id: str, at: dt.datetime, check: tuple[str, str], *,
                   success: bool, observed: float, message: str) -> None:
    """One row of dq.validation_results, as the checks step appends it."""
    from bdw.quality.history import ensure_tables

    ensure_tables(con)
    completeness = check[1].startswith("completeness_")
    con.execute("INSERT INTO dq.validation_results (run_id, validated_at, as_of, suite, asset, check_name, "
                "column_name, severity, success, observed_value, threshold, message, data_docs_url) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, at, at.date(), "crm_completeness" if completeness else "finance_validity", *check,
                 check[1].removeprefix("completeness_") if completeness else None,
                 "warn" if completeness else "error", success, observed, 0.95 if completeness else 0.2, message,
                 f"file:///docs/{run_id}.html"])


def fx_result(con, run_id: str, at: dt.datetime, *, ok: bool) -> None:
    quality_result(con, run_id, at, FX, success=ok, observed=0.0028 if ok else 99.28,
                   message="all 4 rows pass" if ok else "1 of 4 rows break the rule: USD rate of 2025-04 is 722 CNY "
                   "(fx_rates/2025-05-31_fx_rates.csv, row 1)")


def industry_result(con, run_id: str, at: dt.datetime, *, filled: float) -> None:
    quality_result(con, run_id, at, INDUSTRY, success=filled >= 0.95, observed=filled, message="")


def connect(path: Path):
    return lambda: duckdb.connect(str(path))


# ---- once per breach -----------------------------------------------------------------------------------
def test_a_breach_is_sent_once_while_it_lasts_and_its_clearing_is_announced(settings, tmp_path, monkeypatch):
    with WebhookSink() as hook, SmtpSink(login="accept") as smtp:
        use_channels(monkeypatch, tmp_path / "c", {
            "webhook": hook.url(),
            "email": smtp.url("sales-ops@example.com,manager@example.com", "bdw-alerts", "smtp-SECRET-pw")})
        first = dispatch(settings, [breach("a"), breach("b")], {"great_expectations"}, run_id="run1")
        second = dispatch(settings, [breach("a"), breach("b", active=False)], {"great_expectations"}, run_id="run2")
        third = dispatch(settings, [breach("a")], {"great_expectations"}, run_id="run3")
        assert "SECRET" not in repr(load_alert_config(settings))  # a channel's URL is not in its repr
    assert [a.key for a in first.opened] == ["a", "b"] and not first.cleared
    assert not second.opened and [a.key for a in second.cleared] == ["b"] and second.still_open == ["a"]
    assert not third.opened and not third.cleared  # nothing new: no message at all
    assert hook.texts == [
        "[bdw] 2 warnings (run run1)\n- " + breach("a").text() + "\n- " + breach("b").text(),
        "[bdw] 1 cleared (run run2)\n- [CLEARED] check b: 97.0% filled, target at least 95% (open since "
        f"{dt.date.today()}). Owner: field accounts.industry."]
    assert breach("a").text() == "[WARN] check a: 40.0% filled, target at least 95%. Owner: field accounts.industry."
    # e-mail: one message per recipient and sending, logged in with the URL's credentials
    assert [e[1] for e in smtp.envelopes] == [["<sales-ops@example.com>"], ["<manager@example.com>"]] * 2
    assert smtp.logins[0] == ("bdw-alerts", "smtp-SECRET-pw")
    assert [m["Subject"] for m in smtp.messages[::2]] == [t.splitlines()[0] for t in hook.texts]
    assert [b.strip() for b in smtp.bodies()[::2]] == [t.split("\n", 1)[1] for t in hook.texts]
    log = log_of(settings)
    assert [(r["event"], r["key"], r["run_id"]) for r in log] == [
        ("alert", "a", "run1"), ("alert", "b", "run1"), ("cleared", "b", "run2")]
    assert all(r["deliveries"] == {"webhook": "sent", "email": "sent"} for r in log)
    assert "SECRET" not in written(settings)


def test_an_open_breach_of_a_scope_not_evaluated_stays_open(settings):
    dispatch(settings, [breach("ew", scope="early_warnings")], {"early_warnings"}, run_id="r1")
    # the mart was missing this run: the early warning is not "cleared"
    report = dispatch(settings, [], {"great_expectations"}, run_id="r2")
    assert not report.cleared
    report = dispatch(settings, [], {"great_expectations", "early_warnings"}, run_id="r3")
    assert [a.key for a in report.cleared] == ["ew"]
    assert "[CLEARED] check ew: no longer reported" in log_of(settings)[-1]["text"]


def test_a_channel_gets_only_the_alerts_of_its_min_severity(settings, tmp_path, monkeypatch):
    with WebhookSink() as team, WebhookSink() as manager:
        use_channels(monkeypatch, tmp_path / "c", {"team": team.url("/team"), "manager": manager.url("/manager")},
                     min_severity={"manager": "error"})
        dispatch(settings, [breach("w"), breach("e", severity="error")], {"great_expectations"}, run_id="r1")
    assert team.texts == ["[bdw] 1 error, 1 warning (run r1)\n- " + breach("w").text() + "\n- "
                          + breach("e", severity="error").text()]
    assert manager.texts == ["[bdw] 1 error (run r1)\n- " + breach("e", severity="error").text()]
    w, e = log_of(settings)
    assert w["deliveries"] == {"team": "sent", "manager": "below min_severity"}
    assert e["deliveries"] == {"team": "sent", "manager": "sent"}


# ---- a channel that fails ------------------------------------------------------------------------------
def test_a_channel_that_fails_neither_raises_nor_loses_the_alert_and_is_retried(settings, tmp_path, monkeypatch):
    # the webhook server refuses, quoting the path of the (secret) URL in its answer
    with refusing_webhook() as down:
        use_channels(monkeypatch, tmp_path / "c", {"webhook": down.url("/services/T000/B000/DEAD-SECRET")})
        report = dispatch(settings, [breach("x")], {"great_expectations"}, run_id="r1")
        again = dispatch(settings, [breach("x")], {"great_expectations"}, run_id="r2")  # still refusing
    assert down.paths == ["/services/T000/B000/DEAD-SECRET"] * 2  # it was reached: the error came from the server
    assert report.deliveries["webhook"] == ("failed: Failed to send JSON POST notification: Page not found., "
                                            "error=404.; Response Details: b'no webhook at ***'")
    log = log_of(settings)
    assert [(r["event"], r.get("key")) for r in log] == [("alert", "x"), ("redelivery", None)]
    assert log[0]["severity"] == "warn" and log[0]["deliveries"]["webhook"] == report.deliveries["webhook"]
    assert log[1]["result"] == report.deliveries["webhook"] and not again.opened
    assert "DEAD-SECRET" not in written(settings) + repr(report) + repr(again)
    # the server is back: the next sending re-sends what failed, although no breach is new
    with WebhookSink() as hook:
        use_channels(monkeypatch, tmp_path / "c", {"webhook": hook.url()})
        report = dispatch(settings, [breach("x")], {"great_expectations"}, run_id="r3")
    assert not report.opened
    assert hook.texts == ["[bdw] 1 warning (run r1) (re-sent: the first delivery failed)\n- " + breach("x").text()]
    last = log_of(settings)[-1]
    assert (last["event"], last["channel"], last["keys"], last["attempt"], last["result"]) == (
        "redelivery", "webhook", ["x"], 3, "sent")


def test_redelivery_stops_after_the_maximum_of_attempts(settings, tmp_path, monkeypatch):
    with refusing_webhook() as down:
        use_channels(monkeypatch, tmp_path / "c", {"webhook": down.url()}, max_delivery_attempts=3)
        for run in ("r1", "r2", "r3", "r4"):
            dispatch(settings, [breach("x")], {"great_expectations"}, run_id=run)
    assert len(down.bodies) == 3  # the first delivery and two re-sendings
    assert [r["attempt"] for r in log_of(settings) if r["event"] == "redelivery"] == [2, 3]
    assert json.loads(load_alert_config(settings).state_path.read_text())["pending"] == []


def test_smtp_down_does_not_raise_and_the_alert_is_logged(settings, tmp_path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    use_channels(monkeypatch, tmp_path / "c", {"email": f"mailto://127.0.0.1:{port}?from=a@example.com&to=b@example.com"
                                                        "&mode=insecure"})
    report = dispatch(settings, [breach("y")], {"great_expectations"}, run_id="r1")
    assert report.deliveries["email"].startswith('failed: Connection error while submitting email to "127.0.0.1"; '
                                                 "Socket Exception: [Errno 111] Connection refused")
    (rec,) = log_of(settings)
    assert rec["key"] == "y" and rec["deliveries"] == report.deliveries


# ---- secrets -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("password", ["smtp-SECRET-pw", r"smtp\SECRET'pw", "smtp SECRET/pw?"])
def test_a_refused_smtp_login_never_puts_the_password_in_the_log(settings, tmp_path, monkeypatch, password):
    with SmtpSink(login="refuse") as smtp:
        use_channels(monkeypatch, tmp_path / "c", {"email": smtp.url(user="bdw-alerts", password=password)})
        report = dispatch(settings, [breach("y")], {"great_expectations"}, run_id="r1")
    assert not smtp.messages
    # the server's reply (a bytes repr: the password in it escaped), with the password it quoted masked
    q = '"' if "'" in password else "'"
    assert report.deliveries["email"] == (
        'failed: Connection error while submitting email to "127.0.0.1"; Socket Exception: '
        f"(535, b{q}5.7.8 login refused for user bdw-alerts with password ***{q})")
    raw = written(settings)
    assert '"key": "y"' in raw and json.dumps(report.deliveries["email"]) in raw and "SECRET" not in raw


@pytest.mark.parametrize("url", ["hooks.example.com/services/T000/B000/NO-SCHEME-SECRET",
                                 "json://[hooks.example.com/NOT-A-URL-SECRET"], ids=["no scheme", "unparsable"])
def test_a_url_that_apprise_cannot_read_fails_its_channel_without_quoting_it(settings, tmp_path, monkeypatch, url):
    use_channels(monkeypatch, tmp_path / "c", {"webhook": url})
    report = dispatch(settings, [breach("u")], {"great_expectations"}, run_id="r1")
    assert report.deliveries == {"webhook": f"failed: the URL in {channel_variable('webhook')} is not one Apprise "
                                            "understands (see docs/alerts.md for each channel's form)"}
    assert '"key": "u"' in written(settings) and "SECRET" not in written(settings)


def test_apprise_log_records_never_carry_a_channel_secret(settings, tmp_path, monkeypatch):
    """Apprise (and urllib3 under it) log the URLs they call, and a server's answers, through
    Python logging: every record is masked when it is made, whatever handler reads it."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    logging.getLogger().addHandler(handler)
    levels = {n: logging.getLogger(n).level for n in ("apprise", "urllib3")}
    try:
        for name in levels:
            logging.getLogger(name).setLevel(logging.DEBUG)
        with refusing_webhook() as down, SmtpSink(login="refuse") as smtp:
            use_channels(monkeypatch, tmp_path / "c", {"webhook": down.url("/hooks/DEAD-SECRET"),
                                                       "email": smtp.url(user="bdw", password="smtp-SECRET-pw")})
            dispatch(settings, [breach("x")], {"great_expectations"}, run_id="r1")
    finally:
        logging.getLogger().removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    text = "\n".join(logging.Formatter("%(name)s %(message)s").format(r) for r in records)
    assert "SECRET" not in text
    # they did quote them: the URL called, the server's answer, the SMTP reply
    assert re.search(r"apprise JSON POST URL: http://127\.0\.0\.1:\d+\*\*\*", text)
    assert "urllib3.connectionpool" in text and "no webhook at ***" in text
    assert "login refused for user bdw with password ***" in text


def test_secrets_in_the_config_file_are_refused(settings, tmp_path, monkeypatch):
    path = tmp_path / "alerts.yml"
    path.write_text(yaml.safe_dump({"channels": {
        "hook": {"url": "json://hooks.example.com/FILE-SECRET-1"},
        "chat": {"url_env": "dingtalk://FILESECRET2/"},
        "mail": {"url_env": "BDW_TEST_MAIL", "password": "FILE-SECRET-3"},
        "ok": {"url_env": "BDW_TEST_OK"}}, "extra": "slack://FILE/SECRET/4"}))
    monkeypatch.setenv("BDW_ALERTS_CONFIG", str(path))
    monkeypatch.setenv("BDW_TEST_MAIL", "json://127.0.0.1:9/mail")
    cfg = load_alert_config(settings)
    assert [c.name for c in cfg.channels] == [] and [c.name for c in cfg.off] == ["ok"]
    assert len(cfg.problems) == 4
    assert all("secret" in p and "refused" in p for p in cfg.problems[:3]), cfg.problems
    dispatch(settings, [breach("z")], {"great_expectations"}, run_id="r1", config=cfg)
    raw = cfg.log_path.read_text()
    assert raw.count("config_problem") == 4 and "FILE" not in raw and "SECRET" not in raw
    assert "SECRET" not in repr(cfg)


def test_a_retired_variable_gets_a_clear_message(settings, tmp_path, monkeypatch):
    from bdw.alerts.summary import alerts_summary

    monkeypatch.setenv("BDW_ALERT_WEBHOOK_URL", "https://hooks.example.com/OLD-SECRET")
    monkeypatch.setenv("BDW_ALERT_SMTP_PASSWORD", "OLD-SECRET-PW")
    cfg = load_alert_config(settings)
    assert [p.split(" ", 1)[0] for p in cfg.problems] == ["BDW_ALERT_WEBHOOK_URL", "BDW_ALERT_SMTP_PASSWORD"]
    assert "is set but no longer read: alert channels are Apprise URLs now" in cfg.problems[0]
    assert "docs/alerts.md" in cfg.problems[0]
    dispatch(settings, [breach("z")], {"great_expectations"}, run_id="r1")
    lines = alerts_summary(settings, "r1")
    assert lines[0].startswith("Alerts: 1 new, 0 cleared (log only); log ")
    assert lines[1] == f"  Alert configuration: {cfg.problems[0]}"
    assert "OLD-SECRET" not in "\n".join(lines) + written(settings)
    # the same variable named by the user's own alerts.yml is a channel, not a retired setting
    use_channels(monkeypatch, tmp_path / "c", {"webhook": None})
    (tmp_path / "c" / "alerts.yml").write_text("channels: {webhook: {url_env: BDW_ALERT_WEBHOOK_URL}}\n")
    monkeypatch.setenv("BDW_ALERT_WEBHOOK_URL", "json://127.0.0.1:9/hook")
    cfg = load_alert_config(settings)
    assert [c.name for c in cfg.channels] == ["webhook"] and cfg.problems == ()


def example_urls() -> dict[str, str]:
    """The example URL of each variable in deploy/bdw.env.example."""
    text = (REPO / "deploy" / "bdw.env.example").read_text(encoding="utf-8")
    return dict(re.findall(r"^# (BDW_ALERT_\w+_URL)=(\S+)$", text, flags=re.M))


def test_the_example_config_is_valid_and_the_default(settings, monkeypatch):
    import apprise

    monkeypatch.delenv("BDW_ALERTS_CONFIG")  # no alerts.yml in the config folder: the shipped example
    cfg = load_alert_config(settings)
    assert cfg.source == REPO / "config" / "alerts.example.yml" and not cfg.user_file
    assert cfg.problems == () and cfg.channels == ()  # every channel off: no variable set
    names = ["email", "webhook", "slack", "dingtalk", "wecom", "feishu"]
    assert [c.name for c in cfg.off] == names
    urls = example_urls()
    assert sorted(urls) == sorted(c.url_env for c in cfg.off)  # an example for every channel's variable
    for variable, url in urls.items():
        monkeypatch.setenv(variable, url)
        assert apprise.Apprise.instantiate(url), variable
    cfg = load_alert_config(settings)
    assert [c.name for c in cfg.channels] == names and cfg.problems == () and cfg.off == ()
    assert {c.name: c.min_severity for c in cfg.channels}["feishu"] == "error"


@pytest.mark.parametrize("url, token", [
    ("dingtalk://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/", "0123456789abcdef" * 4),
    ("dingtalk://SECb1a2c3d4e5f60718293a4b5c6d7e8f9@0123456789abcdef0123456789abcdef/",
     "SECb1a2c3d4e5f60718293a4b5c6d7e8f9"),
    ("wecombot://693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa", "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"),
    ("feishu://3a9b7c2e-1d4f-4e8a-9b6c-5d2e1f0a8b7c/", "3a9b7c2e-1d4f-4e8a-9b6c-5d2e1f0a8b7c"),
    ("lark://3a9b7c2e-1d4f-4e8a-9b6c-5d2e1f0a8b7c/", "3a9b7c2e-1d4f-4e8a-9b6c-5d2e1f0a8b7c"),
], ids=["dingtalk", "dingtalk signed", "wecom bot", "feishu", "lark"])
def test_chinese_channels_are_apprise_urls_with_their_token_masked(url, token):
    """钉钉, 企业微信 and 飞书/Lark bots: Apprise accepts the URL, and the token (in the host position,
    where a generic URL has no secret) is masked wherever the service's own webhook address quotes
    it. Not delivered: these services are on the internet."""
    import apprise

    from bdw.alerts.masking import masker_for

    service = apprise.Apprise.instantiate(url)
    assert service and token not in service.url(privacy=True)
    mask = masker_for([url])
    quoted = (f"POST https://oapi.dingtalk.com/robot/send?access_token={token} failed; "
              f"webhook/{urllib.parse.quote(token)}: 'key={token}'")
    assert mask(quoted) == ("POST https://oapi.dingtalk.com/robot/send?access_token=*** failed; webhook/***: "
                            "'key=***'")
    assert mask("CRM completeness of accounts.industry: 40.0% filled") == (
        "CRM completeness of accounts.industry: 40.0% filled")  # ordinary text is left alone


# ---- a blocked run, from the quality results --------------------------------------------------------------
def test_a_blocked_run_sends_one_message_naming_its_failed_blocking_checks(settings, tmp_path, monkeypatch):
    """A blocking check's error stops the run before publishing (the alerts asset does not run):
    the manager gets one message per channel, the failure notice naming the failed blocking check
    from dq.validation_results, the published warehouse unchanged, and the error's own line; not its
    warnings. A second blocked run names the check again but does not repeat the open error; the
    run that passes clears it and announces the warning, which still holds."""
    t0 = dt.datetime(2025, 6, 1, 2, 0)
    blocked = ["great_expectations_checks: 1 blocking asset check failed with ERROR severity: "
               "staging/stg_finance__fx_rates: rate_close_to_previous_month"]
    with duckdb.connect(str(settings.work_db)) as con:
        for i, run in enumerate(("run-1", "run-2")):
            fx_result(con, run, t0 + dt.timedelta(days=i), ok=False)
            industry_result(con, run, t0 + dt.timedelta(days=i), filled=0.5)
    with WebhookSink() as hook, SmtpSink() as smtp:
        use_channels(monkeypatch, tmp_path / "c", {"webhook": hook.url(), "email": smtp.url()})
        notify_run_failure(settings, run_id="run-1", failures=blocked, as_of="2025-05-31")
        notify_run_failure(settings, run_id="run-2", failures=blocked, as_of="2025-06-01")
        with duckdb.connect(str(settings.work_db)) as con:
            fx_result(con, "run-3", t0 + dt.timedelta(days=2), ok=True)
            industry_result(con, "run-3", t0 + dt.timedelta(days=2), filled=0.5)
        report = announce_run(settings, connect(settings.work_db), run_id="run-3", as_of="2025-06-02")
    assert len(hook.texts) == len(smtp.messages) == 3
    first, second, third = hook.texts
    subject, notice, error = first.splitlines()
    assert subject == "[bdw] run failed, 1 error (run run-1 as of 2025-05-31)" == smtp.messages[0]["Subject"]
    assert notice == (f"- [ERROR] Run run-1 of bdw_nightly failed: {blocked[0]}. Owner: data team (pipeline "
                      "operations). Blocking checks failed (dq.validation_results): rate close to previous month "
                      "(fx_rates data, staging.stg_finance__fx_rates). The published warehouse "
                      f"{settings.warehouse} is unchanged.")
    assert error.startswith("- [ERROR] rate close to previous month (fx_rates data, staging.stg_finance__fx_rates): "
                            "1 of 4 rows break the rule: USD rate of 2025-04 is 722 CNY (fx_rates/2025-05-31_fx_rates"
                            ".csv, row 1). Owner: finance data (fx_rates exports). Rule: Every month's rate is within "
                            "20% of the previous month's")
    assert smtp.bodies()[0].strip() == "\n".join(first.splitlines()[1:])
    assert "[WARN]" not in first + second  # the warnings of a blocked run wait for a run that publishes
    assert second.splitlines()[0] == "[bdw] run failed (run run-2 as of 2025-06-01)"
    assert len(second.splitlines()) == 2 and "Blocking checks failed (dq.validation_results): rate close" in second
    assert third.splitlines()[0] == "[bdw] 1 warning, 1 cleared (run run-3 as of 2025-06-02)"
    assert "[WARN] CRM completeness of accounts.industry: 50.0% of the current accounts have it filled" in third
    assert "[CLEARED] rate close to previous month (fx_rates data, staging.stg_finance__fx_rates): all 4 rows pass" \
        in third
    assert [a.key for a in report.opened] == ["completeness:accounts.industry"]
    log = log_of(settings)
    assert [(r["event"], r["key"], r["run_id"], r.get("held")) for r in log] == [
        ("alert", "run_failure:run-1", "run-1", None),
        ("alert", "validity:stg_finance__fx_rates.rate_close_to_previous_month", "run-1",
         "sent with run_failure:run-1"),
        ("alert", "run_failure:run-2", "run-2", None),
        ("alert", "completeness:accounts.industry", "run-3", None),
        ("cleared", "validity:stg_finance__fx_rates.rate_close_to_previous_month", "run-3", None)]
    assert all(r["deliveries"] == {"webhook": "sent", "email": "sent"} for r in log)


def test_a_blocked_run_whose_notice_never_came_is_announced_late(settings, tmp_path, monkeypatch):
    t0 = dt.datetime(2025, 6, 1, 2, 0)
    with WebhookSink() as hook:
        use_channels(monkeypatch, tmp_path / "c", {"webhook": hook.url()})
        with duckdb.connect(str(settings.work_db)) as con:
            fx_result(con, "run-0", t0 - dt.timedelta(days=9), ok=False)  # before the alerts' first reading: history
            fx_result(con, "run-1", t0, ok=True)
        announce_run(settings, connect(settings.work_db), run_id="run-1", as_of="2025-06-01")
        assert not hook.texts
        with duckdb.connect(str(settings.work_db)) as con:
            fx_result(con, "run-2", t0 + dt.timedelta(days=1), ok=False)  # blocked; no failure notice came
            fx_result(con, "run-3", t0 + dt.timedelta(days=2), ok=True)
        announce_run(settings, connect(settings.work_db), run_id="run-3", as_of="2025-06-03")
    (text,) = hook.texts
    assert text.splitlines()[0] == "[bdw] 1 error, 1 cleared (run run-3 as of 2025-06-03)"
    assert text.splitlines()[1].startswith("- [ERROR] rate close to previous month")
    assert text.splitlines()[1].endswith("Details: file:///docs/run-2.html Sent late: run run-2 did not publish "
                                         "because of it, and its failure notice did not come.")
    assert text.splitlines()[2].startswith("- [CLEARED] rate close to previous month")
    late, cleared = log_of(settings)
    assert (late["run_id"], late["held"]) == ("run-2", "sent late: the failure notice of its run did not come")
    assert cleared["run_id"] == "run-3"


def test_alerts_are_read_from_the_quality_results_and_the_early_warnings(settings, tmp_path, monkeypatch):
    """The alerts asset's reading of the working database: each failed check with its observed
    value, threshold and owners (the reps with the most empty cells, from the completeness history),
    each early warning with the rep owning its account; a CRM field warning the completeness check
    already reports is announced once."""
    at = dt.datetime(2025, 6, 1, 2, 0)
    with duckdb.connect(str(settings.work_db)) as con:
        industry_result(con, "run-1", at, filled=0.5)
        con.execute("INSERT INTO dq.crm_completeness_history VALUES "
                    "('run-1', ?, '2025-06-01', 'accounts', 'industry', 'R1', 4, 1, 0.25), "
                    "('run-1', ?, '2025-06-01', 'accounts', 'industry', 'R2', 2, 2, 1.0), "
                    "('run-1', ?, '2025-06-01', 'accounts', 'industry', NULL, 2, 1, 0.5)", [at] * 3)
        con.execute("CREATE SCHEMA staging; CREATE TABLE staging.stg_crm__accounts AS "
                    "SELECT 'A1' AS account_id, 'R1' AS owner_id")
        con.execute("CREATE SCHEMA marts; CREATE TABLE marts.early_warnings AS SELECT * FROM (VALUES "
                    "('red:A1:2025-Q1', 'red', 'red', 'account', 'A1', '2025-Q1', -120000.0, 0.0, 'net_profit < 0', "
                    "'two quarters at a loss'), "
                    "('data:accounts.industry', 'data', 'grey', 'crm_field', 'accounts.industry', NULL, 0.5, 0.95, "
                    "'crm_completeness < 0.95', 'fill it')) AS t(warning_id, kind, colour, subject_type, subject, "
                    "period, value, threshold, rule, message)")
    report = announce_run(settings, connect(settings.work_db), run_id="run-1", as_of="2025-06-01")
    texts = {a.key: a.text() for a in report.opened}
    assert texts == {
        "completeness:accounts.industry": (
            "[WARN] CRM completeness of accounts.industry: 50.0% of the current accounts have it filled, target at "
            "least 95%. Owner: field accounts.industry; reps with the most empty cells: R1 (3 of 4 empty), no owner "
            "(1 of 2 empty). Ask the owners to fill it in the CRM (a warning: the warehouse is still published). "
            "Details: file:///docs/run-1.html"),
        "early_warning:red:A1:2025-Q1": (
            "[WARN] Early warning (red, red): account A1 in 2025-Q1: observed -120,000 against the threshold 0 "
            "(net_profit < 0). Owner: rep R1 (owner of account A1). two quarters at a loss")}


def test_the_daemons_run_failure_sensor_sends_the_notice(settings, tmp_path, monkeypatch):
    """Under the Dagster daemon, a failed run's notice comes from the run-failure sensor: here a
    real failed run on an ephemeral instance, and the sensor evaluated as the daemon would."""
    from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context, job, op

    from bdw.alerts.sensors import run_failure_alert_sensor

    @op
    def load_payments():
        raise OSError("disk full")

    @job(name="bdw_nightly")
    def nightly():
        load_payments()

    monkeypatch.setenv("BDW_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("BDW_WORKDIR", str(settings.workdir))
    sensor = run_failure_alert_sensor(nightly)
    with WebhookSink() as hook, DagsterInstance.ephemeral() as instance:
        use_channels(monkeypatch, tmp_path / "c", {"webhook": hook.url()})
        result = nightly.execute_in_process(instance=instance, raise_on_error=False, tags={"bdw/as_of": "2025-06-01"})
        failure = next(e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE)
        context = build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=failure,
                                                  dagster_instance=instance, dagster_run=result.dagster_run)
        sensor(context.for_run_failure())
    run = result.run_id
    assert hook.texts == [
        f"[bdw] run failed (run {run[:8]} as of 2025-06-01)\n- [ERROR] Run {run[:8]} of bdw_nightly failed: "
        "load_payments: OSError: disk full. Owner: data team (pipeline operations). The published warehouse "
        f"{settings.warehouse} is unchanged."]
    assert [(r["key"], r["run_id"]) for r in log_of(settings)] == [(f"run_failure:{run}", run)]
