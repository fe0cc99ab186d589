"""The alert record: what broke, the observed value against the threshold, and who owns it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warn", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warn": 1, "error": 2}

# the sources an alert comes from; each is also the scope its keys belong to (for clearing)
GREAT_EXPECTATIONS = "great_expectations"
EARLY_WARNINGS = "early_warnings"
SOURCE_FRESHNESS = "source_freshness"  # stale sources (dq.source_freshness)
RUN_FAILURE = "run"  # a run-failure notice (bdw.alerts.run_failure)


@dataclass
class Alert:
    key: str  # the breach's identity: the same key on the next run is the same breach
    severity: Severity
    title: str  # what broke
    summary: str  # the observed value against the threshold, in words
    owner: str  # who owns it: a rep, a field, a team
    observed: float | None = None
    threshold: float | None = None
    detail: str = ""  # what to do, failing rows
    source: str = "bdw"  # great_expectations | early_warnings | source_freshness | run
    scope: str = ""  # the family of evaluations the key belongs to: an evaluated scope clears its keys
    active: bool = True  # False: an observation that is fine now (it words the clearing)
    link: str | None = None
    run_id: str | None = None
    as_of: str | None = None

    def text(self) -> str:
        """The alert as one line of a message."""
        tag = {"error": "[ERROR]", "warn": "[WARN]", "info": "[INFO]"}[self.severity]
        parts = [f"{tag} {self.title}: {self.summary}. Owner: {self.owner}."]
        if self.detail:
            parts.append(self.detail)
        if self.link:
            parts.append(f"Details: {self.link}")
        return " ".join(parts)

    def clearing_text(self, opened_at: str | None = None) -> str:
        """The line announcing that the breach is over (``self`` is the observation that is fine now)."""
        since = f" (open since {opened_at[:10]})" if opened_at else ""
        now = self.summary if not self.active else "no longer reported"
        return f"[CLEARED] {self.title}: {now}{since}. Owner: {self.owner}."


@dataclass
class Event:
    """One line of a message: an alert that opens (``kind`` "alert") or a breach that clears."""

    kind: str  # alert | cleared
    alert: Alert
    text: str
    extra: dict = field(default_factory=dict)  # more fields of its log record

    @property
    def severity(self) -> str:
        """What decides which channels get it: a clearing counts as the breach it clears."""
        return self.alert.severity
