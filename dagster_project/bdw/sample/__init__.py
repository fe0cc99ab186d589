"""`bdw sample`: the sample company's inbox, deterministic for given arguments (docs/metrics.md section 3).

The company, its 2025 year-end report and its 2026 plan are in `profile.py`; `world.py` builds its
rows, `export.py` writes them as the source systems export them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bdw.sample import export, world
from bdw.sample.figures import DEFAULT_AS_OF

__all__ = ["write_sample"]


def write_sample(out: Path, scale: int = 1, seed: int = 42, as_of: date = DEFAULT_AS_OF) -> dict[str, int]:
    """Writes the inbox under out/<source>/<files>; returns rows written per source. One source is
    made and written at a time (``world.sources``): what stays in memory is the company itself."""
    return export.write_all(Path(out), world.sources(scale, seed, as_of))
