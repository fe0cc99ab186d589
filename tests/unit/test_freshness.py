"""Stale sources, the pure parts (bdw.quality.freshness, bdw.settings.parse_freshness): every source
has a cadence and so a default threshold, config/bdw.yml overrides a cadence or a source, a bad
value is a clear error, and a verdict reads in words. The comparison itself is the dbt model's
(tests/integration/test_source_freshness_model.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from bdw.contract import SOURCES
from bdw.quality.freshness import (
    CADENCE_MAX_AGE_DAYS,
    DEFAULT_RULES,
    SOURCE_CADENCE,
    FreshnessRule,
    SourceFreshness,
    stale_lines,
)
from bdw.settings import CONFIG_DIR_ENV, load_settings, parse_freshness


def test_every_source_has_a_cadence_and_so_a_default_threshold():
    assert set(SOURCE_CADENCE) == set(SOURCES)
    assert set(SOURCE_CADENCE.values()) <= set(CADENCE_MAX_AGE_DAYS)
    assert set(DEFAULT_RULES) == set(SOURCES)


def test_defaults_crm_daily_finance_monthly():
    for source in ("accounts", "opportunities", "activities"):
        assert DEFAULT_RULES[source] == FreshnessRule(source, "daily", 1)
    for source in ("contracts", "contract_lines", "payments", "costs", "fx_rates"):
        assert DEFAULT_RULES[source] == FreshnessRule(source, "monthly", 35)
    assert DEFAULT_RULES["opportunity_snapshots"] == FreshnessRule("opportunity_snapshots", "weekly", 7)
    assert DEFAULT_RULES["quotas"].max_age_days == 380


def test_a_cadence_sets_its_sources_and_a_source_wins_over_its_cadence():
    rules = parse_freshness({"daily": 3, "accounts": 0, "monthly": 40})
    assert rules["accounts"].max_age_days == 0  # its own, over its cadence's 3
    assert rules["opportunities"].max_age_days == 3 and rules["activities"].max_age_days == 3
    assert rules["payments"].max_age_days == 40 and rules["reps"].max_age_days == 40
    assert rules["opportunity_snapshots"].max_age_days == 7  # weekly: not named, its default
    assert parse_freshness(None) == DEFAULT_RULES


@pytest.mark.parametrize("off", [False, "off", "OFF "])
def test_off_judges_nothing_of_a_source_or_cadence(off):
    rules = parse_freshness({"quarterly": off, "forecasts": off})
    assert rules["forecasts"].max_age_days is None
    assert rules["customer_financials"].max_age_days is None and rules["manual_measurements"].max_age_days is None
    assert rules["contracts"].max_age_days == 35


@pytest.mark.parametrize(("doc", "message"), [
    ({"acounts": 2}, "freshness names 'acounts', which is neither a cadence (daily, weekly, monthly, quarterly, "
                     "half_yearly, yearly) nor a source"),
    ({"daily": -1}, "freshness.daily must be a whole number of days (0 or more) or off, not -1"),
    ({"payments": 1.5}, "freshness.payments must be a whole number of days (0 or more) or off, not 1.5"),
    ({"payments": "two days"}, "not 'two days'"),
    ({"payments": True}, "not True"),  # YAML's yes/on
    ({"payments": None}, "not None"),  # a key left blank is a mistake, not off
    (["daily", 1], "freshness must map a cadence"),
])
def test_a_bad_value_is_a_clear_error_naming_the_key(doc, message):
    with pytest.raises(ValueError, match="^cfg/bdw.yml: ") as e:
        parse_freshness(doc, "cfg/bdw.yml")
    assert message in str(e.value)


def test_settings_read_the_thresholds_from_bdw_yml(tmp_path, monkeypatch):
    (tmp_path / "bdw.yml").write_text("freshness:\n  daily: 2\n  fx_rates: off\n", encoding="utf-8")
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    settings = load_settings(tmp_path / "inbox", tmp_path / "wh.duckdb")
    assert settings.freshness["accounts"] == FreshnessRule("accounts", "daily", 2)
    assert settings.freshness["fx_rates"].max_age_days is None
    assert settings.freshness["payments"].max_age_days == 35


def row(status: str, age: int | None = 9, max_age: int | None = 1, files: int = 1,
        newest: str | None = "accounts/2026-03-01_accounts.csv") -> SourceFreshness:
    return SourceFreshness("accounts", "daily", max_age, files, newest,
                           dt.date(2026, 3, 1) if newest else None, dt.date(2026, 3, 10), age, status)


def test_a_verdict_in_words():
    assert row("stale").summary() == ("newest file accounts/2026-03-01_accounts.csv is dated 2026-03-01, 9 days "
                                      "before the as-of date 2026-03-10; older than the 1 day allowed for a daily "
                                      "export")
    assert row("fresh", age=1).summary().endswith("1 day before the as-of date 2026-03-10; within the 1 day allowed "
                                                  "for a daily export")
    assert ", 2 days after the as-of date 2026-03-10; within" in row("fresh", age=-2).summary()
    assert row("no_data", age=None, files=0, newest=None).summary() == "no data in the inbox: not judged"
    assert row("undated", age=None, files=2, newest=None).summary() == (
        "not judged: none of its 2 loaded file(s) has a name starting with a date (YYYY-MM-DD_...)")
    assert row("off", max_age=None).summary() == "not judged (freshness off in config/bdw.yml)"
    assert [r.judged for r in (row("stale"), row("fresh"), row("no_data"), row("undated"), row("off"))] == [
        True, True, False, False, False]


def test_the_run_summary_names_only_the_stale_sources():
    assert stale_lines([row("fresh", age=1)]) == [] and stale_lines(None) == []
    assert stale_lines([row("stale"), row("fresh", age=0), row("no_data", files=0, newest=None)]) == [
        "Stale sources (dq.source_freshness; thresholds: freshness in config/bdw.yml): 1",
        "  WARN  accounts: " + row("stale").summary(),
    ]


def test_the_report_lists_the_stale_sources_most_overdue_first():
    """The report page's section (bdw.report.stale_sources): the stale rows only, the most days past
    their threshold first (not by name), ties by name; a warehouse without the model is not judged."""
    from dataclasses import replace

    from bdw.report.stale_sources import freshness_section

    rows = [replace(row("stale", age=3, max_age=1), source="accounts"),  # 2 days over
            replace(row("stale", age=40, max_age=35), source="payments"),  # 5 days over
            replace(row("stale", age=37, max_age=35), source="costs"),  # 2 days over
            replace(row("fresh", age=1), source="opportunities")]
    section = freshness_section(rows)
    assert section.judged and [r.source for r in section.stale] == ["payments", "accounts", "costs"]
    assert freshness_section([]) == freshness_section([rows[3]]) and freshness_section([]).judged
    assert not freshness_section(None).judged and freshness_section(None).stale == []
    assert replace(row("stale"), cadence="half_yearly").cadence_label == "half-yearly"
