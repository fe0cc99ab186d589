"""The data the suites validate: pandas DataFrames read from the check models of the working DuckDB
database (schema ``dq``, dbt/models/dq/checks). Every derived value a rule compares (a contract's
paid share, an fx rate's change from the previous month) and the readable ``row_ref`` that names a
failing row (GX reports failing rows by position) are computed there, in dbt's lineage; this module
only reads them. Great Expectations' SQL datasource miscounts on DuckDB, so validation runs on
pandas."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd

from bdw.catalog import relation_exists
from bdw.quality.rules import CHECKS_SCHEMA, INPUT_MODELS

# GX reports failing rows by their position in the DataFrame: a fixed order keeps the failing-row
# samples (and Data Docs) the same from run to run
ORDER_BY = {
    "accounts": "record_id",
    "opportunities": "record_id",
    "contracts": "contract_id",
    "contract_lines": "contract_id, line_no",
    "payments": "payment_id",
    "costs": "cost_id",
    "fx_rates": "currency, month",
}
COMPLETENESS_BY_OWNER = "crm_completeness_by_owner"


def _read(con: duckdb.DuckDBPyConnection, model: str, order_by: str | None = None) -> pd.DataFrame:
    if not relation_exists(con, CHECKS_SCHEMA, model):
        raise LookupError(f"{CHECKS_SCHEMA}.{model} does not exist in the working database: was dbt built?")
    order = f" ORDER BY {order_by}" if order_by else ""
    return con.execute(f"SELECT * FROM {CHECKS_SCHEMA}.{model}{order}").df()


def read_snapshots(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The input of each table's rules (``Rule.table``), read from its check model."""
    return {table: _read(con, INPUT_MODELS[table], ORDER_BY[table]) for table in sorted(set(tables))}


def completeness_by_owner(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Key-field cells and filled cells per (table, field, owner) of the current records."""
    df = _read(con, COMPLETENESS_BY_OWNER, "table_name, field, owner_id")
    df["cells"] = df["cells"].astype("int64")
    df["filled"] = df["filled"].astype("int64")
    return df
