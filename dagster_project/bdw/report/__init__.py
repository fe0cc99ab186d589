"""``bdw report``: one self-contained HTML page of the KPIs for the BD manager, beside the warehouse.

The page needs no server and no internet: styles are inline, the charts are inline SVG, and it
loads nothing. ``build_report`` reads the published warehouse (read-only, briefly) and writes the
page atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bdw.publish import replace_atomically
from bdw.report.data import read_report_data
from bdw.report.page import build_page, render


@dataclass(frozen=True)
class ReportResult:
    path: Path
    as_of: dt.date
    kpis: int  # KPIs on the page (every KPI of the scorecard)
    targets: int
    charts: int
    warnings: int
    cjk_font: str | None


def report_path(warehouse: Path) -> Path:
    """``<warehouse dir>/<warehouse stem>_report.html``."""
    return warehouse.with_name(f"{warehouse.stem}_report.html")


def build_report(warehouse: Path, out: Path | None = None, as_of: dt.date | None = None) -> ReportResult:
    if not warehouse.is_file():
        raise FileNotFoundError(f"warehouse {warehouse} does not exist (run `bdw run` first)")
    out = out or report_path(warehouse)
    page = build_page(read_report_data(warehouse, as_of))
    html = render(page)
    replace_atomically(out, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    charts = len(page.charts) + (1 if page.checks.get("chart") else 0)
    return ReportResult(out, page.as_of, sum(len(rows) for *_, rows in page.families), len(page.targets), charts,
                        page.counts["warnings"], page.cjk_font)


def preload() -> None:
    """Import what drawing the charts needs beyond this package's modules (matplotlib's SVG writer,
    its font list): ~1 s that a run pays while dbt builds (bdw.assets.checks.preload_in_background),
    not in the report step."""
    import matplotlib.backends.backend_svg  # noqa: F401

    from bdw.fonts import cjk_font

    cjk_font()
