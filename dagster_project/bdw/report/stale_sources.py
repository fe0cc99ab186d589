"""The report page's stale sources: one line per source whose newest export is older than its
threshold (``dq.source_freshness``, bdw.quality.freshness), with how old it is, in the
data-quality section."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# what the page reads of the published warehouse (ReportData.freshness)
FRESHNESS_SQL = ("SELECT source, cadence, max_age_days, newest_file, newest_file_date, as_of_date, age_days, status "
                 "FROM dq.source_freshness ORDER BY age_days - max_age_days DESC, source")


@dataclass(frozen=True)
class StaleSource:
    source: str
    newest_file: str
    newest_date: str  # YYYY-MM-DD
    age_days: int
    max_age_days: int
    cadence: str


@dataclass(frozen=True)
class FreshnessSection:
    judged: bool  # the warehouse has dq.source_freshness (built before it, it has not)
    stale: list[StaleSource]


def freshness_section(frame: pd.DataFrame) -> FreshnessSection:
    """The stale sources of ``frame`` (dq.source_freshness), the most overdue first."""
    if frame.empty:
        return FreshnessSection(judged=not frame.columns.empty, stale=[])
    stale = frame[frame["status"] == "stale"]
    return FreshnessSection(judged=True, stale=[
        StaleSource(r.source, r.newest_file, pd.Timestamp(r.newest_file_date).date().isoformat(), int(r.age_days),
                    int(r.max_age_days), str(r.cadence).replace("_", "-"))
        for r in stale.itertuples()])
