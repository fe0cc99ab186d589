"""Stale sources: how old each source's newest export may get, and what a run found.

The most common real failure of a nightly warehouse is an export that silently stops arriving: the
KPIs then just go stale. Every source that has data is judged by **the date in its newest file's
name** (``2026-03-01_contracts.csv``, docs/contract.md section 1: the day the export was made),
counted in days before the run's ``--as-of`` date (not the wall clock: a run as of a given day
judges the same way whenever it runs). A source is *stale* when that age is above its threshold.

Why the file's date and not the newest row's date: the failure is an export that stops coming, and
a row's date measures business events instead (a quiet week has no payment, an account's
``created_at`` never moves, an fx rate is dated by its month), so a row date would call a healthy
export stale and could not tell a missing export from a quiet day. Only the files whose data the
warehouse holds count (loaded, loaded with bad rows, or skipped as the same content as a loaded
file: an unchanged export still arrived); a quarantined file did not deliver its data, and a file
name without a leading date tells nothing (a source whose files all lack one is ``undated``, not
judged).

The thresholds: a default per *cadence* (how often a source is exported; :data:`SOURCE_CADENCE`),
overridden per cadence or per source in ``config/bdw.yml`` (``freshness:``, parsed by
``bdw.settings.parse_freshness``). Each run writes them into ``raw._freshness_rules`` with its
as-of date when its dbt build starts (``bdw.run_context.write_run_context``); the dbt model
``dq.source_freshness`` compares, and everything else reads its verdict: the asset checks
(bdw.assets.freshness), the alerts (bdw.alerts.evaluations), the run summary and the report page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal

import duckdb

from bdw.catalog import relation_exists
from bdw.contract import SOURCES

Cadence = Literal["daily", "weekly", "monthly", "quarterly", "half_yearly", "yearly"]

# The default threshold of each cadence: the most days a source's newest file may be older than
# --as-of. A daily export of yesterday is fine the next night, one of the day before is one export
# missing (dbt's old "warn after 36 hours"); a month gets a few days for the books to close.
CADENCE_MAX_AGE_DAYS: dict[str, int] = {
    "daily": 1, "weekly": 7, "monthly": 35, "quarterly": 100, "half_yearly": 190, "yearly": 380,
}

# How often each source is exported (docs/contract.md section 1): CRM daily, finance monthly.
SOURCE_CADENCE: dict[str, Cadence] = {
    "accounts": "daily", "opportunities": "daily", "activities": "daily",
    "opportunity_snapshots": "weekly",  # the weekly pipeline export
    "forecasts": "monthly", "partners": "monthly",
    "contracts": "monthly", "contract_lines": "monthly", "payments": "monthly", "costs": "monthly",
    "fx_rates": "monthly",
    "reps": "monthly",  # HR's roster
    "customer_financials": "quarterly",  # published quarterly results
    "manual_measurements": "quarterly",  # surveys and counts typed in by the manager's team
    "rep_reviews": "half_yearly",  # reviews per year or half-year
    "quotas": "yearly",  # set once a year, adjusted now and then
}

# dq.source_freshness.status
FRESH, STALE, NO_DATA, UNDATED, OFF = "fresh", "stale", "no_data", "undated", "off"


@dataclass(frozen=True)
class FreshnessRule:
    """How old ``source``'s newest file may get: ``max_age_days`` days before --as-of (None: not judged)."""

    source: str
    cadence: Cadence
    max_age_days: int | None


def resolve_rules(cadences: Mapping[str, int | None] | None = None,
                  sources: Mapping[str, int | None] | None = None) -> dict[str, FreshnessRule]:
    """Every source's rule: its own threshold if ``sources`` names it, else its cadence's from
    ``cadences``, else the cadence's default (None in either mapping: not judged)."""
    cadences, sources = cadences or {}, sources or {}
    out = {}
    for source in SOURCES:
        cadence = SOURCE_CADENCE[source]
        max_age = sources[source] if source in sources else cadences.get(cadence, CADENCE_MAX_AGE_DAYS[cadence])
        out[source] = FreshnessRule(source, cadence, max_age)
    return out


DEFAULT_RULES = resolve_rules()


def _days(n: int | None) -> str:
    return "n/a" if n is None else f"{n} day{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class SourceFreshness:
    """One row of ``dq.source_freshness``: a source's newest file against its threshold."""

    source: str
    cadence: str
    max_age_days: int | None
    files: int
    newest_file: str | None
    newest_file_date: dt.date | None
    as_of_date: dt.date
    age_days: int | None
    status: str

    @property
    def stale(self) -> bool:
        return self.status == STALE

    @property
    def cadence_label(self) -> str:
        """The cadence in words: ``half-yearly``."""
        return self.cadence.replace("_", "-")

    @property
    def judged(self) -> bool:
        """Whether the source was judged at all (it has dated data and a threshold)."""
        return self.status in (FRESH, STALE)

    def summary(self) -> str:
        """The verdict in words, for the check, the alert, the run summary and the report."""
        if self.status == NO_DATA:
            return "no data in the inbox: not judged"
        if self.status == OFF:
            return "not judged (freshness off in config/bdw.yml)"
        if self.status == UNDATED:
            return (f"not judged: none of its {self.files} loaded file(s) has a name starting with a date "
                    "(YYYY-MM-DD_...)")
        verdict = "older than" if self.stale else "within"
        age = self.age_days or 0
        when = f"{_days(age)} before" if age >= 0 else f"{_days(-age)} after"
        return (f"newest file {self.newest_file} is dated {self.newest_file_date}, {when} the as-of date "
                f"{self.as_of_date}; {verdict} the {_days(self.max_age_days)} allowed for a "
                f"{self.cadence_label} export")


COLUMNS = tuple(f.name for f in fields(SourceFreshness))  # dq.source_freshness's, in the dataclass's order


def read_freshness(con: duckdb.DuckDBPyConnection) -> list[SourceFreshness] | None:
    """``dq.source_freshness`` (working or published database), by source; None when it does not exist."""
    if not relation_exists(con, "dq", "source_freshness"):
        return None
    rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM dq.source_freshness ORDER BY source").fetchall()
    return [SourceFreshness(*row) for row in rows]


def stale_lines(rows: list[SourceFreshness] | None) -> list[str]:
    """The run summary's lines: one per stale source (nothing when none is)."""
    stale = [r for r in rows or [] if r.stale]
    if not stale:
        return []
    return ([f"Stale sources (dq.source_freshness; thresholds: freshness in config/bdw.yml): {len(stale)}"]
            + [f"  WARN  {r.source}: {r.summary()}" for r in stale])
