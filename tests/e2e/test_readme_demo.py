"""What a newcomer does: a fresh copy of the repository, the README's main command, and the warehouse
it publishes holds every raw and staging table with the row counts the inbox files imply (counted
here independently of the pipeline: Python's csv/openpyxl/pyarrow and the merge rules re-stated).
That run is the session's sample (conftest.sample_run), which the KPI, report, notebook and check
tests read."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import tomllib
from pathlib import Path

import duckdb
import openpyxl
import pyarrow.parquet as pq
import pytest

from bdw.contract import SOURCES, TRUE_WORDS

from conftest import NO_UV_CONFIG, REPO, readme_commands

STAGING = {
    "accounts": "stg_crm__accounts", "opportunities": "stg_crm__opportunities", "activities": "stg_crm__activities",
    "opportunity_snapshots": "stg_crm__opportunity_snapshots", "forecasts": "stg_crm__forecasts",
    "partners": "stg_crm__partners", "customer_financials": "stg_crm__customer_financials",
    "contracts": "stg_finance__contracts", "contract_lines": "stg_finance__contract_lines",
    "payments": "stg_finance__payments", "costs": "stg_finance__costs", "fx_rates": "stg_finance__fx_rates",
    "reps": "stg_hr__reps", "rep_reviews": "stg_hr__rep_reviews", "quotas": "stg_hr__quotas",
    "manual_measurements": "stg_manual__measurements",
}


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    demo, tests = readme_commands()
    assert demo.endswith("bdw demo") and tests.endswith("pytest")
    assert tests in (REPO / ".ci/run").read_text()


def test_the_demo_differs_from_a_newcomers_only_by_the_bytecode_compile():
    """The session's demo runs with uv ignoring pyproject.toml's [tool.uv] (conftest.NO_UV_CONFIG):
    that skips the environment's bytecode compile and must skip nothing else."""
    assert set(NO_UV_CONFIG) == {"UV_NO_CONFIG"}  # the demo's only departure from a newcomer's shell
    uv_settings = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["uv"]
    assert uv_settings == {"compile-bytecode": True}


def _rows_of(path: Path) -> list[dict[str, str | None]]:
    """The data rows of one export, keyed by lower-cased trimmed header."""
    if path.suffix == ".parquet":
        table = pq.read_table(path).to_pylist()
        return [{k.strip().lower(): (None if v is None else str(v)) for k, v in r.items()} for r in table]
    if path.suffix == ".xlsx":
        ws = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = [r for r in ws.iter_rows(values_only=True) if any(c is not None for c in r)]
        known = set().union(*(s.column_names for s in SOURCES.values()))
        start = next(i for i, r in enumerate(rows) if sum(str(c).strip().lower() in known for c in r if c) >= 2)
        header = [str(c).strip().lower() if c else "" for c in rows[start]]
        return [{h: (None if v is None else (v.date().isoformat() if isinstance(v, dt.datetime) else str(v)))
                 for h, v in zip(header, r, strict=False)} for r in rows[start + 1:]]
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    return [{k.strip().lower(): v for k, v in r.items()} for r in csv.DictReader(io.StringIO(text))]


def _date_key(value: str | None) -> str | None:
    m = re.match(r"^(\d{4})\D(\d{1,2})\D(\d{1,2})", (value or "").strip())
    return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat() if m else (value or "").strip()


def expected_counts(inbox: Path) -> dict[str, tuple[int, int]]:
    """(rows in distinct files, live keys after the merge rules) per source."""
    out = {}
    for name, source in SOURCES.items():
        seen: set[str] = set()
        rows: list[dict] = []
        for path in sorted(p for p in (inbox / name).glob("*") if p.is_file() and not p.name.startswith(("_", "."))):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in seen:
                continue  # a duplicate re-export
            seen.add(digest)
            rows += _rows_of(path)
        latest: dict[tuple, dict] = {}
        for r in rows:
            key = tuple(_date_key(r.get(k)) if source.column(k).type == "date" else (r.get(k) or "").strip().upper()
                        if k == "currency" else (r.get(k) or "").strip() or (source.column(k).default or "")
                        for k in source.key)
            latest[key] = r
        live = sum(1 for r in latest.values() if (r.get("is_deleted") or "").strip().lower() not in TRUE_WORDS)
        out[name] = (len(rows), live)
    return out


@pytest.mark.slow
def test_fresh_clone_readme_demo_publishes_every_raw_and_staging_table(sample_run):
    assert sample_run["code"] == 0, sample_run["out"][-3000:]
    assert f"Published {sample_run['wh']}" in sample_run["out"] and sample_run["wh"].name == "warehouse.duckdb"
    assert (sample_run["root"] / ".venv" / "bin" / "bdw").exists()  # uv made the copy's own environment
    inbox, warehouse = sample_run["inbox"], sample_run["wh"]
    expected = expected_counts(inbox)
    # the rows the user finds in quarantine, counted from the files themselves
    rejected = sum(sum(1 for _ in csv.DictReader(p.open(encoding="utf-8")))
                   for p in (sample_run["work"] / "quarantine").glob("*/*.rejected.csv"))
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for name, (file_rows, live) in expected.items():
            raw = con.execute(f"SELECT count(*) FROM raw.{name}").fetchone()[0]
            bad = con.execute("SELECT coalesce(sum(rows_rejected), 0) FROM raw._load_manifest WHERE source = ? "
                              "AND status IN ('partial', 'quarantined')", [name]).fetchone()[0]
            assert raw + bad == file_rows, name
            assert raw > 0, f"the sample has no {name}"
            staged = con.execute(f"SELECT count(*) FROM staging.{STAGING[name]}").fetchone()[0]
            if bad == 0:
                assert staged == live, name
            else:  # a rejected row's key may still be live through another file
                assert live - bad <= staged <= live, name
        reported = con.execute("SELECT coalesce(sum(rows_rejected), 0) FROM raw._load_manifest "
                               "WHERE status = 'partial'").fetchone()[0]
        assert reported == rejected, "every rejected row the summary counts is in a quarantine file"
        quarantined = con.execute("SELECT count(*) FROM raw._load_manifest WHERE status = 'quarantined'").fetchone()
        assert quarantined == (0,), "the sample company's files are all readable"
    finally:
        con.close()
    assert 0 < rejected <= 5  # the sample's few deliberately bad CRM rows
