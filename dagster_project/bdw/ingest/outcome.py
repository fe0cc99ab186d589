"""What became of each inbox file: its status, and the results ingestion hands back.

A file's status is written to ``raw._load_manifest.status`` (all but ``unchanged``) and read back
by the run summary, the data-quality checks and the report: every reader compares against
:class:`FileStatus`, never against a string of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FileStatus(StrEnum):
    """What ingestion did with a file (the values are the manifest's, unchanged since the first release)."""

    LOADED = "loaded"  # every row is in the raw table
    PARTIAL = "partial"  # the good rows are in the raw table, the bad ones in quarantine (CRM and HR sources)
    QUARANTINED = "quarantined"  # nothing loaded: the file is in quarantine with its reasons
    UNCHANGED = "unchanged"  # already seen with the same content: skipped, and not written to the manifest again
    DUPLICATE = "duplicate"  # the same content as another loaded file: skipped

    @property
    def holds_rows(self) -> bool:
        """The file's rows (all, or its good ones) are in the raw layer."""
        return self in ROWS_IN_RAW


ROWS_IN_RAW = (FileStatus.LOADED, FileStatus.PARTIAL)
SKIPPED = (FileStatus.UNCHANGED, FileStatus.DUPLICATE)


@dataclass
class FileResult:
    source: str
    file: str  # relative to the inbox
    status: FileStatus
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str = ""
    issues: list[str] = field(default_factory=list)  # readable lines, the first few


@dataclass
class SourceResult:
    source: str
    files: list[FileResult] = field(default_factory=list)

    def count(self, *statuses: FileStatus) -> int:
        """Files with any of ``statuses``."""
        return sum(1 for f in self.files if f.status in statuses)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)
