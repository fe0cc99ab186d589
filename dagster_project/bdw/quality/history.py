"""Results history in the working database's ``dq`` schema, appended every run (the publish step
copies ``dq`` with the rest, so analysts get the whole history):

- ``dq.validation_results``: one row per rule and run: suite, expectation, column, observed value,
  threshold, success, when;
- ``dq.crm_completeness_history``: filled key-field cells per table, field and owner (rep), per run;
- views ``dq.crm_completeness_by_field_history`` and ``dq.crm_completeness_by_owner_history`` to
  plot completeness over time by field and by rep.

The weekly leaderboard by rep and the "bottom 3 two weeks in a row" list are dbt models
(dbt/models/dq/crm_completeness_weekly.sql, crm_completeness_bottom_reps.sql).
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd

from bdw.quality.gx_runner import RuleResult

DDL = """
CREATE SCHEMA IF NOT EXISTS dq;
CREATE TABLE IF NOT EXISTS dq.validation_results (
    run_id VARCHAR NOT NULL,
    validated_at TIMESTAMP NOT NULL,
    as_of DATE,
    reference_date DATE,
    suite VARCHAR NOT NULL,
    asset VARCHAR NOT NULL,
    check_name VARCHAR NOT NULL,
    expectation_type VARCHAR,
    column_name VARCHAR,
    severity VARCHAR NOT NULL,
    success BOOLEAN NOT NULL,
    observed_value DOUBLE,
    threshold DOUBLE,
    comparison VARCHAR,
    measure VARCHAR,
    unexpected_count BIGINT,
    element_count BIGINT,
    message VARCHAR,
    failing_rows_sample VARCHAR,
    data_docs_url VARCHAR
);
CREATE TABLE IF NOT EXISTS dq.crm_completeness_history (
    run_id VARCHAR NOT NULL,
    validated_at TIMESTAMP NOT NULL,
    as_of DATE,
    table_name VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    owner_id VARCHAR,
    cells BIGINT NOT NULL,
    filled_cells BIGINT NOT NULL,
    completeness DOUBLE
);
CREATE OR REPLACE VIEW dq.crm_completeness_by_field_history AS
SELECT run_id, validated_at, as_of, table_name, field,
       sum(cells) AS cells, sum(filled_cells) AS filled_cells,
       sum(filled_cells) / nullif(sum(cells), 0) AS completeness
FROM dq.crm_completeness_history
GROUP BY ALL;
CREATE OR REPLACE VIEW dq.crm_completeness_by_owner_history AS
SELECT run_id, validated_at, as_of, owner_id,
       sum(cells) AS cells, sum(filled_cells) AS filled_cells,
       sum(filled_cells) / nullif(sum(cells), 0) AS completeness
FROM dq.crm_completeness_history
GROUP BY ALL;
"""


VIEWS = ("crm_completeness_by_field_history", "crm_completeness_by_owner_history")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    # a copy published table by table holds the views as tables (publish.build_copy): they are derived,
    # so a table in their place is dropped and the view created again
    for name in VIEWS:
        if con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'dq' AND table_name = ?",
                       [name]).fetchone()[0]:
            con.execute(f"DROP TABLE dq.{name}")
    con.execute(DDL)


def append_results(con: duckdb.DuckDBPyConnection, results: list[RuleResult], *, run_id: str,
                   validated_at: dt.datetime, as_of: dt.date, reference: dt.date) -> int:
    ensure_tables(con)
    rows = [{
        "run_id": run_id, "validated_at": validated_at, "as_of": as_of, "reference_date": reference,
        "suite": r.rule.suite, "asset": ".".join(r.rule.asset_path), "check_name": r.rule.name,
        "expectation_type": r.expectation_type,
        "column_name": r.rule.column or (",".join(r.rule.columns) or None),
        "severity": r.rule.severity, "success": r.success, "observed_value": r.observed,
        "threshold": r.threshold, "comparison": r.rule.comparison, "measure": r.rule.measure,
        "unexpected_count": r.unexpected_count, "element_count": r.element_count, "message": r.message,
        "failing_rows_sample": json.dumps(r.sample, ensure_ascii=False), "data_docs_url": r.data_docs_url,
    } for r in results]
    if not rows:
        return 0
    df = pd.DataFrame(rows)  # noqa: F841 - read by DuckDB's replacement scan below
    con.execute("INSERT INTO dq.validation_results BY NAME SELECT * FROM df")
    return len(rows)


def append_completeness(con: duckdb.DuckDBPyConnection, by_owner: pd.DataFrame, *, run_id: str,
                        validated_at: dt.datetime, as_of: dt.date) -> int:
    ensure_tables(con)
    if by_owner.empty:
        return 0
    df = by_owner.rename(columns={"filled": "filled_cells"}).assign(  # noqa: F841 - read by DuckDB
        run_id=run_id, validated_at=validated_at, as_of=as_of,
        completeness=lambda d: d["filled_cells"] / d["cells"].where(d["cells"] > 0))
    con.execute("INSERT INTO dq.crm_completeness_history BY NAME SELECT * FROM df")
    return len(by_owner)
