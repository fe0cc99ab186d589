"""Thresholds of the data-quality suites, read from files, never written in code.

- the CRM completeness target: ``alert_crm_completeness`` of the seed ``kpi_thresholds`` (the
  number ``marts.early_warnings`` uses too), and the key fields: the seed ``crm_key_fields``;
- the fx rates' monthly tolerance: the seed ``fx_rate_tolerances`` (dbt's check model
  dq.check_fx_rates applies it per currency; the rule's threshold is its ``default`` row);
- the other validity rules' tolerances and date ranges: ``quality.yml`` of the config folder
  (``config/quality.yml`` ships the defaults; a user's ``BDW_CONFIG_DIR/quality.yml`` overrides
  the keys it sets).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

from bdw.settings import DEFAULT_CONFIG_DIR, SEEDS_DIR

COMPLETENESS_THRESHOLD_KEY = "alert_crm_completeness"
QUALITY_FILE = "quality.yml"
FX_TOLERANCES_SEED = "fx_rate_tolerances.csv"
FX_DEFAULT = "default"  # the seed row of every currency without a row of its own
# quality.yml keys that moved to the seed fx_rate_tolerances (dbt applies the tolerance)
MOVED_TO_FX_SEED = ("fx_max_monthly_change", "fx_max_monthly_change_by_currency")


class QualityConfigError(ValueError):
    """quality.yml or a seed says something the suites cannot use."""


@dataclass(frozen=True)
class QualityConfig:
    completeness_threshold: float
    key_fields: tuple[tuple[str, str], ...]  # (table_name, column_name), seed order
    earliest_date: dt.date
    max_days_after_reference: dict[str, int]  # "<table>.<column>" -> days
    payment_tolerance: float
    fx_max_change: float  # the seed fx_rate_tolerances' default row
    sample_size: int
    data_docs_folder: str
    data_docs_keep_runs: int
    sources: tuple[str, ...]  # the files these values come from, for the report

    def latest_date(self, table: str, column: str, reference: dt.date) -> dt.date:
        return reference + dt.timedelta(days=self.max_days_after_reference[f"{table}.{column}"])


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in (override or {}).items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def _seed_threshold(seeds_dir: Path, name: str) -> float:
    path = seeds_dir / "kpi_thresholds.csv"
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["parameter"].strip() == name:
                return float(row["value"])
    raise QualityConfigError(f"{path} has no parameter {name!r} (the CRM completeness target)")


def _fx_default_tolerance(seeds_dir: Path) -> float:
    """The ``default`` row of the seed fx_rate_tolerances: the rule's threshold (dbt's check model
    applies each currency's own row; the seed's dbt tests keep every value above 0)."""
    path = seeds_dir / FX_TOLERANCES_SEED
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if (r.get("currency") or "").strip().lower() == FX_DEFAULT]
    try:
        (row,) = rows
        return float(row["max_monthly_change"])
    except (ValueError, TypeError) as e:
        raise QualityConfigError(f"{path} needs one row with currency {FX_DEFAULT!r} and a number as its "
                                 f"max_monthly_change (the tolerance of every currency without a row of its own); "
                                 f"found {[r.get('max_monthly_change') for r in rows]}") from e


def _key_fields(seeds_dir: Path) -> tuple[tuple[str, str], ...]:
    with (seeds_dir / "crm_key_fields.csv").open(encoding="utf-8") as f:
        return tuple((r["table_name"].strip(), r["column_name"].strip()) for r in csv.DictReader(f))


def load_quality_config(config_dir: Path | None = None, seeds_dir: Path = SEEDS_DIR) -> QualityConfig:
    shipped = DEFAULT_CONFIG_DIR / QUALITY_FILE
    raw = yaml.safe_load(shipped.read_text(encoding="utf-8")) or {}
    sources = [str(shipped)]
    user = (config_dir / QUALITY_FILE) if config_dir else None
    if user and user.exists() and user.resolve() != shipped.resolve():
        raw = _merge(raw, yaml.safe_load(user.read_text(encoding="utf-8")) or {})
        sources.append(str(user))
    moved = [k for k in MOVED_TO_FX_SEED if k in (raw.get("validity") or {})]
    if moved:
        raise QualityConfigError(
            f"{' / '.join(sources)}: {', '.join(moved)} moved to the seed seeds/{FX_TOLERANCES_SEED} (one row per "
            f"currency, `{FX_DEFAULT}` for the others): set the tolerance there and remove it from {QUALITY_FILE}")
    fx_default = _fx_default_tolerance(seeds_dir)
    try:
        v = raw["validity"]
        days = {str(k): int(d) for k, d in v["max_days_after_reference"].items()}
        cfg = QualityConfig(
            completeness_threshold=_seed_threshold(seeds_dir, COMPLETENESS_THRESHOLD_KEY),
            key_fields=_key_fields(seeds_dir),
            earliest_date=dt.date.fromisoformat(str(v["earliest_date"])),
            max_days_after_reference=days,
            payment_tolerance=float(v["payment_over_contract_value_tolerance"]),
            fx_max_change=fx_default,
            sample_size=int(raw.get("failing_rows_sample", 10)),
            data_docs_folder=str(raw.get("data_docs_folder", "data_docs")),
            data_docs_keep_runs=int(raw.get("data_docs_keep_runs", 30)),
            sources=(*sources, str(seeds_dir / "kpi_thresholds.csv"), str(seeds_dir / "crm_key_fields.csv"),
                     str(seeds_dir / FX_TOLERANCES_SEED)),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise QualityConfigError(f"{' / '.join(sources)}: cannot read the data-quality thresholds ({e!r})") from e
    if not 0 < cfg.completeness_threshold <= 1:
        raise QualityConfigError(f"{COMPLETENESS_THRESHOLD_KEY} must be a share between 0 and 1")
    return cfg
