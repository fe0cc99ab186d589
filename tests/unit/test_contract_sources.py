"""The inbox contract is written twice: ``bdw/contract.py`` (what ingestion checks and the raw
tables' layout) and ``dbt/models/staging/_sources.yml`` (what dbt and its docs say the raw layer
holds). Nothing but this test keeps them in step, so it names every source and column where they
part."""

from __future__ import annotations

import copy

import duckdb
import pytest
import yaml

from bdw.contract import SOURCES
from bdw.ingest import LINEAGE, ensure_raw_tables
from bdw.settings import DBT_PROJECT_DIR

SOURCES_YML = DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml"


def bookkeeping_tables() -> set[str]:
    """The raw tables ingestion makes besides the sources' (``_load_manifest`` and the like)."""
    con = duckdb.connect()
    ensure_raw_tables(con)
    return {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()
            } - set(SOURCES)


def _type(sql_type: str | None) -> str:
    return (sql_type or "").replace(" ", "").lower()


def _is_personal(column: dict) -> bool:
    meta = (column.get("config") or {}).get("meta") or column.get("meta") or {}
    return meta.get("personal_data") is True


def disagreements(doc: dict) -> list[str]:
    """Where ``doc`` (the parsed _sources.yml) and the contract disagree, one line each."""
    raw = next((s for s in doc.get("sources") or [] if s["name"] == "raw"), None)
    if raw is None:
        return ["_sources.yml has no source named raw"]
    tables = {t["name"]: t for t in raw.get("tables") or []}
    out = [f"{name}: a contract source with no table in _sources.yml" for name in SOURCES if name not in tables]
    bookkeeping = bookkeeping_tables()
    out += [f"{name}: a table of _sources.yml that is neither a contract source nor ingestion's bookkeeping"
            for name in tables if name not in SOURCES and name not in bookkeeping]
    for name, source in SOURCES.items():
        if name in tables:
            out += _column_disagreements(name, [(c.name, c.sql_type) for c in source.columns] + list(LINEAGE),
                                         tables[name].get("columns") or [])
            listed = {c["name"]: c for c in tables[name].get("columns") or []}
            for c in (c for c in source.columns if c.name in listed):
                if listed[c.name].get("data_tests"):
                    out.append(f"{name}.{c.name}: a data test on a raw column repeats ingestion's row rules "
                               "(docs/data_quality.md)")
                if c.personal != _is_personal(listed[c.name]):
                    out.append(f"{name}.{c.name}: personal data in the contract, not marked "
                               "meta: personal_data: true in _sources.yml" if c.personal else
                               f"{name}.{c.name}: marked personal_data in _sources.yml, not personal in the contract")
    return out


def _column_disagreements(table: str, expected: list[tuple[str, str]], listed: list[dict]) -> list[str]:
    """Names, order and ``data_type`` of a table's columns (the contract's, then the lineage columns)."""
    types = dict(expected)
    names = [c["name"] for c in listed]
    out = [f"{table}.{col}: missing from _sources.yml" for col in types if col not in names]
    out += [f"{table}.{col}: in _sources.yml, not a contract or lineage column" for col in names if col not in types]
    in_yml = [n for n in names if n in types]
    in_contract = [n for n in types if n in names]
    if in_yml != in_contract:
        first = next(i for i, (a, b) in enumerate(zip(in_yml, in_contract, strict=True)) if a != b)
        out.append(f"{table}.{in_yml[first]}: _sources.yml lists it where the contract has {in_contract[first]} "
                   "(columns in another order)")
    for c in listed:
        if c["name"] in types and _type(c.get("data_type")) != _type(types[c["name"]]):
            out.append(f"{table}.{c['name']}: data_type {c.get('data_type')!r} in _sources.yml, "
                       f"the contract's type is {types[c['name']]}")
    return out


@pytest.fixture(scope="module")
def sources_yml() -> dict:
    return yaml.safe_load(SOURCES_YML.read_text(encoding="utf-8"))


def test_sources_yml_agrees_with_the_contract(sources_yml):
    problems = disagreements(sources_yml)
    assert not problems, "dbt/models/staging/_sources.yml and bdw/contract.py disagree:\n" + "\n".join(problems)


def _table(doc: dict, name: str) -> dict:
    return next(t for t in doc["sources"][0]["tables"] if t["name"] == name)


def _column(doc: dict, table: str, name: str) -> dict:
    return next(c for c in _table(doc, table)["columns"] if c["name"] == name)


def test_each_kind_of_disagreement_is_named_by_source_and_column(sources_yml):
    doc = copy.deepcopy(sources_yml)
    tables = doc["sources"][0]["tables"]
    tables.remove(_table(doc, "rep_reviews"))
    tables.append({"name": "_load_stats"})
    _column(doc, "payments", "amount")["data_type"] = "double"
    del _column(doc, "accounts", "contact_email")["config"]
    _column(doc, "accounts", "country")["config"] = {"meta": {"personal_data": True}}
    _column(doc, "opportunities", "opportunity_id")["data_tests"] = ["not_null"]
    _table(doc, "reps")["columns"].append({"name": "nickname", "data_type": "varchar"})
    fx = _table(doc, "fx_rates")["columns"]
    fx[0], fx[1] = fx[1], fx[0]
    costs = _table(doc, "costs")["columns"]
    costs.remove(_column(doc, "costs", "currency"))
    costs.remove(_column(doc, "costs", "_file_hash"))
    assert disagreements(doc) == [
        "rep_reviews: a contract source with no table in _sources.yml",
        "_load_stats: a table of _sources.yml that is neither a contract source nor ingestion's bookkeeping",
        "accounts.country: marked personal_data in _sources.yml, not personal in the contract",
        "accounts.contact_email: personal data in the contract, not marked meta: personal_data: true in _sources.yml",
        "opportunities.opportunity_id: a data test on a raw column repeats ingestion's row rules "
        "(docs/data_quality.md)",
        "payments.amount: data_type 'double' in _sources.yml, the contract's type is DECIMAL(18,2)",
        "costs.currency: missing from _sources.yml",
        "costs._file_hash: missing from _sources.yml",
        "fx_rates.currency: _sources.yml lists it where the contract has month (columns in another order)",
        "reps.nickname: in _sources.yml, not a contract or lineage column",
    ]
