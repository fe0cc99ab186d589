"""The report page's stale sources: one line per source whose newest export is older than its
threshold, with how old it is, in the data-quality section. The rows are ``dq.source_freshness``'s
as bdw.quality.freshness reads them for the checks, the alerts and the run summary."""

from __future__ import annotations

from dataclasses import dataclass

from bdw.quality.freshness import SourceFreshness


@dataclass(frozen=True)
class FreshnessSection:
    judged: bool  # the warehouse has dq.source_freshness (built before it, it has not)
    stale: list[SourceFreshness]  # the most overdue first


def freshness_section(rows: list[SourceFreshness] | None) -> FreshnessSection:
    """The stale sources of ``rows`` (None: the warehouse has no dq.source_freshness), the most
    days past its threshold first, then by name."""
    if rows is None:
        return FreshnessSection(judged=False, stale=[])
    stale = sorted((r for r in rows if r.stale), key=lambda r: (-((r.age_days or 0) - (r.max_age_days or 0)), r.source))
    return FreshnessSection(judged=True, stale=stale)
