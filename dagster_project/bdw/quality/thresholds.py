"""Thresholds of the data-quality suites, read from files, never written in code.

- the CRM completeness target: ``alert_crm_completeness`` of the seed ``kpi_thresholds`` (the
  number ``marts.early_warnings`` uses too), and the key fields: the seed ``crm_key_fields``;
- the validity rules' tolerances and date ranges: ``quality.yml`` of the config folder
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


class QualityConfigError(ValueError):
    """quality.yml or a seed says something the suites cannot use."""


@dataclass(frozen=True)
class QualityConfig:
    completeness_threshold: float
    key_fields: tuple[tuple[str, str], ...]  # (table_name, column_name), seed order
    earliest_date: dt.date
    max_days_after_reference: dict[str, int]  # "<table>.<column>" -> days
    payment_tolerance: float
    fx_max_change: float
    fx_max_change_by_currency: dict[str, float]
    sample_size: int
    data_docs_folder: str
    data_docs_keep_runs: int
    sources: tuple[str, ...]  # the files these values come from, for the report

    def fx_limit(self, currency: str) -> float:
        return self.fx_max_change_by_currency.get(currency.upper(), self.fx_max_change)

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
    try:
        v = raw["validity"]
        days = {str(k): int(d) for k, d in v["max_days_after_reference"].items()}
        cfg = QualityConfig(
            completeness_threshold=_seed_threshold(seeds_dir, COMPLETENESS_THRESHOLD_KEY),
            key_fields=_key_fields(seeds_dir),
            earliest_date=dt.date.fromisoformat(str(v["earliest_date"])),
            max_days_after_reference=days,
            payment_tolerance=float(v["payment_over_contract_value_tolerance"]),
            fx_max_change=float(v["fx_max_monthly_change"]),
            fx_max_change_by_currency={str(c).upper(): float(x)
                                       for c, x in (v.get("fx_max_monthly_change_by_currency") or {}).items()},
            sample_size=int(raw.get("failing_rows_sample", 10)),
            data_docs_folder=str(raw.get("data_docs_folder", "data_docs")),
            data_docs_keep_runs=int(raw.get("data_docs_keep_runs", 30)),
            sources=(*sources, str(seeds_dir / "kpi_thresholds.csv"), str(seeds_dir / "crm_key_fields.csv")),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise QualityConfigError(f"{' / '.join(sources)}: cannot read the data-quality thresholds ({e!r})") from e
    if not 0 < cfg.completeness_threshold <= 1:
        raise QualityConfigError(f"{COMPLETENESS_THRESHOLD_KEY} must be a share between 0 and 1")
    return cfg
