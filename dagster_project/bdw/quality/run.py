"""One data-quality pass of a run: the check models' data from the working database, the Great
Expectations checkpoint (and its Data Docs, made to work offline: bdw.quality.data_docs), and the
history appended to ``dq``. The Dagster asset
checks (bdw.assets.checks) call ``run_quality`` and report its results; the ``alerts`` asset reads
them from ``dq.validation_results`` (bdw.alerts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from bdw.catalog import relation_exists
from bdw.ingest.outcome import ROWS_IN_RAW
from bdw.quality.data_docs import localise
from bdw.quality.gx_runner import RuleResult, run_suites
from bdw.quality.history import append_completeness, append_results
from bdw.quality.rules import all_rules
from bdw.quality.snapshots import completeness_by_owner, read_snapshots
from bdw.quality.thresholds import QualityConfig, load_quality_config
from bdw.run_context import newest_date, newest_file_date
from bdw.settings import Settings

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


@dataclass
class QualityReport:
    results: list[RuleResult]
    as_of: dt.date
    reference_date: dt.date
    data_docs_url: str | None = None
    config: QualityConfig | None = None
    by_owner: pd.DataFrame | None = field(default=None, repr=False)
    data_docs_online: list[str] = field(default_factory=list)  # what the Data Docs still load from the network


def newest_loaded_file_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The newest export date (leading date of the file name) of the files loaded into the working
    database: its rows came from them, even if a file has since left the inbox."""
    if not relation_exists(con, "raw", "_load_manifest"):
        return None
    return newest_date(str(f) for (f,) in con.execute(
        "SELECT file FROM raw._load_manifest WHERE list_contains(?, status)", [list(ROWS_IN_RAW)]).fetchall())


def reference_date(settings: Settings, as_of: dt.date, loaded: dt.date | None = None) -> dt.date:
    """The date the 'not in the future' rules count from: the latest of --as-of, the newest file in
    the inbox and the newest file loaded into the working database."""
    return max(d for d in (as_of, newest_file_date(settings), loaded) if d)


def run_quality(settings: Settings, *, as_of: dt.date, run_id: str, connect: Connect) -> QualityReport:
    cfg = load_quality_config(settings.config_dir)
    rules = all_rules(cfg)
    with connect() as con:
        snaps = read_snapshots(con, (r.table for r in rules))
        by_owner = completeness_by_owner(con)
        reference = reference_date(settings, as_of, newest_loaded_file_date(con))
    docs_dir = settings.warehouse.parent / cfg.data_docs_folder
    results, docs_url = run_suites(snaps, rules, cfg, workdir=settings.workdir, docs_dir=docs_dir,
                                   run_name=run_id, reference=reference)
    online = localise(docs_dir)
    validated_at = dt.datetime.now()
    with connect() as con:
        append_results(con, results, run_id=run_id, validated_at=validated_at, as_of=as_of, reference=reference)
        append_completeness(con, by_owner, run_id=run_id, validated_at=validated_at, as_of=as_of)
    return QualityReport(results=results, as_of=as_of, reference_date=reference, data_docs_url=docs_url, config=cfg,
                         by_owner=by_owner, data_docs_online=online)
