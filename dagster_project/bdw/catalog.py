"""What a DuckDB database holds."""

import duckdb


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """A table or view ``schema.name`` in the connection's current database."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
                            "AND table_schema = ? AND table_name = ?", [schema, name]).fetchone()[0])
