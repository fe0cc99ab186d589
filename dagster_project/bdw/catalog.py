"""What a DuckDB database holds."""

import duckdb


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """A table or view ``schema.name`` in the connection's current database."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
                            "AND table_schema = ? AND table_name = ?", [schema, name]).fetchone()[0])


def storage_version(con: duckdb.DuckDBPyConnection) -> str:
    """The storage format of the connection's current database file ("v1.0.0+": readable by DuckDB
    1.0 and later; "v2.0.0+": written by 2.0 or later; "" for a database without a file)."""
    version = con.execute("SELECT tags['storage_version'] FROM duckdb_databases() "
                          "WHERE database_name = current_database()").fetchone()[0]
    return str(version or "")
