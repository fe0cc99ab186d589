"""The dbt docs for analysts, published beside the warehouse as one self-contained page.

The page is what ``dbt docs generate --static`` writes: dbt's docs site (its ``index.html``, shipped
in the dbt-core package) with the manifest and the catalog inlined, so it opens from the file system
and loads nothing from the internet. The manifest is the parsed project's
(``bdw.dbt_project.ensure_manifest``). The catalog (every model's, seed's and source's table and
columns with their types) is read here from the working database's own catalog, in dbt's
``catalog.json`` format: dbt would start a process, load an adapter and query the same
information_schema for it (6-12 s a run whenever a column changed).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import duckdb

from bdw.dbt_project import ensure_manifest
from bdw.publish import replace_atomically
from bdw.settings import Settings


@dataclass(frozen=True)
class DocsResult:
    path: Path
    seconds: float
    nodes: int  # models, seeds and sources in the catalog


def docs_path(warehouse: Path) -> Path:
    """``<warehouse dir>/<warehouse stem>_docs.html``."""
    return warehouse.with_name(f"{warehouse.stem}_docs.html")


CATALOG_SCHEMA = "https://schemas.getdbt.com/dbt/catalog/v1.json"
_NO_STATS = {"has_stats": {"id": "has_stats", "label": "Has Stats?", "value": False, "include": False,
                           "description": "Indicates whether there are statistics for this table"}}


def catalog(con: duckdb.DuckDBPyConnection, manifest: dict) -> dict:
    """dbt's ``catalog.json`` for ``manifest``: every relational node and source that exists in the
    database behind ``con``, with its columns in order and their types."""
    relations = {(schema, name): kind for schema, name, kind in con.execute(
        "SELECT schema_name, table_name, 'BASE TABLE' FROM duckdb_tables() WHERE database_name = current_database() "
        "UNION ALL SELECT schema_name, view_name, 'VIEW' FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal").fetchall()}
    columns: dict[tuple[str, str], dict] = {}
    for schema, table, column, index, dtype, comment in con.execute(
            "SELECT schema_name, table_name, column_name, column_index, data_type, comment FROM duckdb_columns() "
            "WHERE database_name = current_database() ORDER BY schema_name, table_name, column_index").fetchall():
        columns.setdefault((schema, table), {})[column] = {"type": dtype, "index": index, "name": column,
                                                           "comment": comment}
    database = con.execute("SELECT current_database()").fetchone()[0]

    def entries(nodes: dict) -> dict:
        out = {}
        for uid, node in nodes.items():
            if node.get("resource_type") not in ("model", "seed", "snapshot", "source"):
                continue
            name = node.get("alias") or node.get("identifier") or node["name"]
            key = (node["schema"], name)
            if key not in relations:
                continue
            out[uid] = {"metadata": {"type": relations[key], "schema": key[0], "name": name, "database": database,
                                     "comment": None, "owner": None},
                        "columns": columns.get(key, {}), "stats": _NO_STATS, "unique_id": uid}
        return out

    return {"metadata": {"dbt_schema_version": CATALOG_SCHEMA, "dbt_version": version("dbt-core"),
                         "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "env": {}},
            "nodes": entries(manifest.get("nodes") or {}), "sources": entries(manifest.get("sources") or {}),
            "errors": None}


def generate(settings: Settings, out: Path) -> int:
    """The static docs page for the working database of ``settings``, written to ``out``; returns the
    number of catalogued nodes and sources."""
    manifest_text = ensure_manifest().read_text(encoding="utf-8").strip()
    con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        cat = catalog(con, json.loads(manifest_text))
    finally:
        con.close()
    page = (resources.files("dbt.task.docs") / "index.html").read_text(encoding="utf-8")
    page = page.replace('"MANIFEST.JSON INLINE DATA"', manifest_text)
    page = page.replace('"CATALOG.JSON INLINE DATA"', json.dumps(cat))
    replace_atomically(out, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return len(cat["nodes"]) + len(cat["sources"])


def publish_docs(settings: Settings) -> DocsResult:
    """Write ``<warehouse stem>_docs.html`` beside the warehouse (atomically)."""
    started = time.monotonic()
    out = docs_path(settings.warehouse)
    nodes = generate(settings, out)
    return DocsResult(out, round(time.monotonic() - started, 2), nodes)
