"""The data the suites validate: pandas DataFrames read from the staging models of the working
DuckDB database (Great Expectations' SQL datasource miscounts on DuckDB, so validation runs on
pandas). Each snapshot has a readable ``row_ref`` (key, file and row) that names a failing row in
the check's sample (GX reports failing rows by position), and the derived columns some rules need
(lines and payments per contract, each fx rate's change from the previous month)."""

from __future__ import annotations

import math

import duckdb
import pandas as pd

from bdw.quality.thresholds import QualityConfig
from bdw.sql import q

CRM_TABLES = ("accounts", "opportunities")


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                       "AND table_name = ?", [schema, table]).fetchall()
    if not rows:
        raise LookupError(f"{schema}.{table} does not exist in the working database: was dbt built?")
    return {r[0] for r in rows}


def _source_ref() -> str:
    return "source_file || ', row ' || coalesce(cast(source_row AS varchar), '?')"


def crm_snapshot(con: duckdb.DuckDBPyConnection, table: str, fields: list[str]) -> pd.DataFrame:
    """Key fields as filled (true) or empty (NULL): the values themselves (a decision maker's name)
    never leave the database. ``record_owner`` is the rep the record belongs to."""
    model = f"stg_crm__{table}"
    have = _columns(con, "staging", model)
    key = "account_id" if table == "accounts" else "opportunity_id"
    cols = [f"CASE WHEN {q(f)} IS NOT NULL THEN true END AS {q(f)}" if f in have
            else f"CAST(NULL AS BOOLEAN) AS {q(f)}" for f in fields]
    noun = "account" if table == "accounts" else "opportunity"
    sql = (f"SELECT {key} AS record_id, owner_id AS record_owner, created_at, {', '.join(cols)}, "
           f"'{noun} ' || {key} || ' (owner ' || coalesce(owner_id, 'none') || '; ' || {_source_ref()} || ')' "
           f"AS row_ref FROM staging.{model} ORDER BY {key}")
    return con.execute(sql).df()


def contracts_snapshot(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per contract with its line count and value, and its payments converted to the
    contract's currency (same currency as is; otherwise through CNY at each row's own month)."""
    return con.execute(f"""
        WITH lines AS (
            SELECT contract_id, count(*) AS line_count, sum(amount) AS contract_value,
                   max(fx_rate_to_cny) AS contract_rate
            FROM staging.stg_finance__contract_lines GROUP BY contract_id
        ),
        paid AS (
            SELECT p.contract_id, count(*) AS payment_count,
                   sum(CASE WHEN p.currency = c.currency THEN p.amount
                            WHEN c.currency = 'CNY' THEN p.amount_cny
                            ELSE p.amount_cny / nullif(l.contract_rate, 0) END) AS paid_total
            FROM staging.stg_finance__payments AS p
            JOIN staging.stg_finance__contracts AS c ON c.contract_id = p.contract_id
            LEFT JOIN lines AS l ON l.contract_id = p.contract_id
            GROUP BY p.contract_id
        )
        SELECT c.contract_id, c.owner_id, c.account_id, c.status, c.currency,
               CAST(c.signed_date AS TIMESTAMP) AS signed_date,
               CAST(c.start_date AS TIMESTAMP) AS start_date,
               CAST(c.end_date AS TIMESTAMP) AS end_date,
               coalesce(l.line_count, 0) AS line_count,
               CAST(l.contract_value AS DOUBLE) AS contract_value,
               coalesce(paid.payment_count, 0) AS payment_count,
               CAST(paid.paid_total AS DOUBLE) AS paid_total,
               CAST(CASE WHEN l.contract_value > 0 THEN paid.paid_total / l.contract_value END AS DOUBLE)
                   AS paid_share,
               c.source_file, c.source_row,
               'contract ' || c.contract_id || ' (owner ' || coalesce(c.owner_id, 'none') || '; '
                   || {_source_ref()} || ')' AS row_ref
        FROM staging.stg_finance__contracts AS c
        LEFT JOIN lines AS l ON l.contract_id = c.contract_id
        LEFT JOIN paid ON paid.contract_id = c.contract_id
        ORDER BY c.contract_id""").df()


def contract_lines_snapshot(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(f"""
        SELECT contract_id, line_no, CAST(amount AS DOUBLE) AS amount, currency, source_file, source_row,
               'contract ' || contract_id || ' line ' || line_no || ' (' || {_source_ref()} || ')' AS row_ref
        FROM staging.stg_finance__contract_lines ORDER BY contract_id, line_no""").df()


def payments_snapshot(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(f"""
        SELECT payment_id, contract_id, CAST(received_date AS TIMESTAMP) AS received_date,
               CAST(amount AS DOUBLE) AS amount, currency, source_file, source_row,
               'payment ' || payment_id || ' (' || {_source_ref()} || ')' AS row_ref
        FROM staging.stg_finance__payments ORDER BY payment_id""").df()


def costs_snapshot(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(f"""
        SELECT cost_id, contract_id, CAST(cost_date AS TIMESTAMP) AS cost_date,
               CAST(amount AS DOUBLE) AS amount, currency, source_file, source_row,
               'cost ' || cost_id || ' (' || {_source_ref()} || ')' AS row_ref
        FROM staging.stg_finance__costs ORDER BY cost_id""").df()


def fx_snapshot(con: duckdb.DuckDBPyConnection, cfg: QualityConfig) -> pd.DataFrame:
    """Each rate with the previous month's rate it is compared with: the latest earlier month of
    the currency whose own rate passed, so a single rate typed 100x too large fails once (the month
    after it is compared with the good month before it)."""
    df = con.execute(f"""
        SELECT month, currency, CAST(rate_to_cny AS DOUBLE) AS rate_to_cny, source_file, source_row,
               {_source_ref()} AS source_ref
        FROM staging.stg_finance__fx_rates ORDER BY currency, month""").df()
    prev_month, prev_rate, change, allowed = [], [], [], []
    last: dict[str, tuple[str, float]] = {}
    for month, currency, rate in zip(df["month"], df["currency"], df["rate_to_cny"], strict=True):
        limit = cfg.fx_limit(str(currency))
        before = last.get(currency)
        if before is None or rate is None or (isinstance(rate, float) and math.isnan(rate)) or before[1] <= 0:
            prev_month.append(None), prev_rate.append(math.nan), change.append(math.nan)
            if rate is not None and rate == rate and rate > 0:
                last[currency] = (month, rate)
        else:
            c = rate / before[1] - 1
            prev_month.append(before[0]), prev_rate.append(before[1]), change.append(c)
            if abs(c) <= limit:
                last[currency] = (month, rate)
        allowed.append(limit)
    df["previous_month"] = pd.Series(prev_month, index=df.index, dtype="str")
    df["previous_rate"] = pd.Series(prev_rate, index=df.index, dtype="float64")
    df["change"] = pd.Series(change, index=df.index, dtype="float64")
    df["abs_change"] = df["change"].abs()
    df["allowed_change"] = pd.Series(allowed, index=df.index, dtype="float64")
    df["row_ref"] = df["currency"].astype("str") + " " + df["month"].astype("str") + " (" + df["source_ref"] + ")"
    return df.drop(columns=["source_ref"])


def read_snapshots(con: duckdb.DuckDBPyConnection, cfg: QualityConfig) -> dict[str, pd.DataFrame]:
    fields = {t: [c for tt, c in cfg.key_fields if tt == t] for t in CRM_TABLES}
    snaps = {t: crm_snapshot(con, t, fields[t]) for t in CRM_TABLES}
    snaps["contracts"] = contracts_snapshot(con)
    snaps["contract_lines"] = contract_lines_snapshot(con)
    snaps["payments"] = payments_snapshot(con)
    snaps["costs"] = costs_snapshot(con)
    snaps["fx_rates"] = fx_snapshot(con, cfg)
    return snaps


def completeness_by_owner(snaps: dict[str, pd.DataFrame], cfg: QualityConfig) -> pd.DataFrame:
    """Key-field cells and filled cells per (table, field, owner) of the current records."""
    parts = []
    for table, field in cfg.key_fields:
        df = snaps[table]
        g = (df.assign(filled=df[field].notna())
             .groupby("record_owner", dropna=False)["filled"].agg(cells="size", filled="sum").reset_index())
        g.insert(0, "field", field)
        g.insert(0, "table_name", table)
        parts.append(g.rename(columns={"record_owner": "owner_id"}))
    if not parts:
        return pd.DataFrame(columns=["table_name", "field", "owner_id", "cells", "filled"])
    out = pd.concat(parts, ignore_index=True)
    out["cells"] = out["cells"].astype("int64")
    out["filled"] = out["filled"].astype("int64")
    return out
