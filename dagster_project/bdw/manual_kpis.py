"""The KPIs measured by hand (docs/metrics.md, "Nodes measured by hand"): the rows of the seed
``kpi_definitions`` whose family is ``manual``, and their targets in ``kpi_targets``.

About a third of the battle map lives in no system the warehouse reads (customer satisfaction,
certifications, budget spend...). The manager's team types their values into the optional source
``manual_measurements``; ingestion rejects a row whose kpi_id is not one of these KPIs, or whose
period, segment or value this KPI cannot have (``bdw.ingest.row_rules``), and the template the team
fills in lists them (``bdw.manual_template``). The seed is the one list: add a node there (family
``manual``, with its doc block ``kpi_<kpi_id>``) and the rules and the template follow. It is read
once per process; the manager edits it between runs.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from bdw.settings import SEEDS_DIR

MANUAL_FAMILY = "manual"


@dataclass(frozen=True)
class ManualKpi:
    """A KPI measured by hand, as the seed kpi_definitions describes it."""

    kpi_id: str
    sort_order: int
    unit: str
    label_zh: str
    label_en: str
    period_types: tuple[str, ...]  # the period types a value may be given for
    segment_dimensions: tuple[str, ...]  # empty: segment `all` only
    is_share: bool  # a part of a whole: the value lies between 0 and 1


@dataclass(frozen=True)
class Target:
    """A row of the seed kpi_targets."""

    kpi_id: str
    period_type: str
    period: str
    segment: str
    target: float
    direction: str  # higher or lower


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split("|") if p.strip())


@cache
def kpi_families() -> dict[str, str]:
    """Every KPI of the seed kpi_definitions: kpi_id -> family."""
    with (SEEDS_DIR / "kpi_definitions.csv").open(encoding="utf-8") as f:
        return {row["kpi_id"].strip(): row["family"].strip() for row in csv.DictReader(f)}


@cache
def manual_kpis() -> tuple[ManualKpi, ...]:
    """The KPIs of family ``manual``, in the seed's display order."""
    with (SEEDS_DIR / "kpi_definitions.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["family"].strip() == MANUAL_FAMILY]
    kpis = [ManualKpi(r["kpi_id"].strip(), int(r["sort_order"]), r["unit"].strip(), r["label_zh"].strip(),
                      r["label_en"].strip(), _split(r["period_types"]), _split(r["segment_dimensions"]),
                      r["is_share"].strip().lower() == "true") for r in rows]
    return tuple(sorted(kpis, key=lambda k: k.sort_order))


def computed_kpi_ids() -> tuple[str, ...]:
    """The KPIs the warehouse computes from the exports (every family but ``manual``)."""
    return tuple(k for k, family in kpi_families().items() if family != MANUAL_FAMILY)


@cache
def manual_targets() -> tuple[Target, ...]:
    """The targets of the KPIs measured by hand (seed kpi_targets), in the seed's order."""
    manual = {k.kpi_id for k in manual_kpis()}
    with (SEEDS_DIR / "kpi_targets.csv").open(encoding="utf-8") as f:
        return tuple(Target(r["kpi_id"], r["period_type"], r["period"], r["segment"], float(r["target"]),
                            r["direction"]) for r in csv.DictReader(f) if r["kpi_id"] in manual)
