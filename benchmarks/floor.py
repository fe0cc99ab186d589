"""The plain-DuckDB floor: the pipeline's work done by DuckDB alone, in one process (run by hand).

    uv run python benchmarks/floor.py --inbox DIR --dir DIR [--as-of YYYY-MM-DD] [--scope nightly|kpi_values]
        [--compare WAREHOUSE]

One DuckDB connection to a fresh file does (a) the ingestion: every source's files read with
DuckDB's own readers, one ``read_csv`` over all of a source's UTF-8 CSV files with the same header (the few files
DuckDB cannot read itself without extensions, GBK text and XLSX, go through the project's
readers), the contract's typing and row checks as the same SQL the ingestion generates
(``bdw.ingest.row_rules.checked_select``), bad rows and files dropped by the source's policy, duplicate
files (same bytes) skipped; and (b) dbt's work from dbt's compiled SQL (``dbt compile``, done before
the clock starts), in the manifest's dependency order, with the seeds the models read. ``--scope``:

- ``nightly`` (the default): what the nightly build computes, ``dbt build`` without unit tests
  (``bdw.dbt_project.NIGHTLY_BUILD``): every model, then every data test's query (counted, as dbt
  counts a test's failing rows);
- ``kpi_values``: only ``marts.kpi_values`` and the models upstream of it (the floor before the battle
  map's marts were added; kept to compare with earlier results).

No Dagster, no dbt at run time, no Great Expectations, no quarantine files, no load manifest, no
publish copy; no mapping profiles or extra columns either (headers are matched to the contract's
names case-insensitively, which is all the sample needs).

The connection runs under the same DuckDB memory limit as the pipeline's (``limits.memory`` of the
project's config, spilling to ``<dir>/tmp/duckdb``), so that run / floor compares like with like:
DuckDB's own default (80% of the machine's RAM) would let the floor use memory the pipeline may not.
For the same reason its file is in the storage format the pipeline must publish (``--storage
published``, the default: ``bdw.publish.STORAGE_VERSION``, readable by DuckDB 1.x; the pipeline's
working file is in it so that publishing is a byte copy). That format lacks DuckDB 2's newer string
compression, and queries over string columns read it more slowly (``--storage latest``: DuckDB's own
newest format, which the pipeline could only publish by re-encoding every row).

``--compare`` checks that the floor's ``kpi_values`` equals a published warehouse's (built from
the same inbox and as-of date) and prints the number of mismatching rows.
Prints one JSON line: seconds for ingest, seeds, models (and each model), tests and total, rows per
source, mismatches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from bdw.catalog import storage_version
from bdw.contract import SOURCES, Source
from bdw.ingest import LINEAGE, ensure_raw_tables, inbox_files
from bdw.ingest.mapping import normalise_header
from bdw.ingest.readers import csv_header, detect_encoding, positions, read_parquet, read_xlsx
from bdw.ingest.row_rules import checked_select, install_macros
from bdw.publish import STORAGE_VERSION
from bdw.run_context import resolve_as_of, write_run_context
from bdw.settings import DBT_PROJECT_DIR, DUCKDB_PATH_ENV, dbt_executable, load_settings
from bdw.sql import lit, q

CACHE = Path(os.environ.get("BDW_BENCH_CACHE", "/tmp/bdw-bench"))
DB_NAME = "floor"  # the database name compiled into the SQL: the floor's file is always floor.duckdb


# ---- dbt's compiled SQL (prepared before the clock starts) ----------------------------------------
def _newest_dbt_mtime() -> float:
    newest = 0.0
    for root in (DBT_PROJECT_DIR, DBT_PROJECT_DIR.parent / "seeds"):
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("target", "logs", "dbt_packages")]
            newest = max([newest, *(os.stat(os.path.join(folder, f)).st_mtime for f in files)])
    return newest


# dbt's selection: the nightly build is ``dbt build`` without unit tests (bdw.dbt_project.NIGHTLY_BUILD)
SCOPES = {"nightly": ["--select", "resource_type:seed", "resource_type:model", "resource_type:test"],
          "kpi_values": ["--select", "+kpi_values"]}


def compiled_manifest(as_of: str, scope: str) -> dict:
    """``dbt compile`` of the scope's nodes as of the date, cached until a dbt or seed file changes."""
    tree = hashlib.sha1(str(DBT_PROJECT_DIR).encode()).hexdigest()[:8]  # one cache per project copy
    target = CACHE / f"floor-dbt-{tree}-{scope}-{as_of}"
    manifest, done = target / "manifest.json", target / "compiled.ok"  # done: the compile succeeded
    if not done.exists() or done.stat().st_mtime < _newest_dbt_mtime():
        done.unlink(missing_ok=True)
        target.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, DUCKDB_PATH_ENV: str(target / f"{DB_NAME}.duckdb")}
        common = ["--vars", json.dumps({"as_of": as_of}), "--target-path", str(target), "--project-dir",
                  str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        # some models read a seed when they compile (the check models list the CRM key fields)
        for command in (["seed"], ["compile", *SCOPES[scope]]):
            subprocess.run([dbt_executable(), *command, "--quiet", *common], env=env, check=True, cwd=DBT_PROJECT_DIR,
                           stdout=subprocess.DEVNULL)
        done.touch()
    return json.loads(manifest.read_text(encoding="utf-8"))


def in_order(manifest: dict, scope: str) -> list[dict]:
    """The scope's seeds and models, parents before children, then (``nightly``) its data tests."""
    nodes = manifest["nodes"]
    order: list[str] = []
    seen: set[str] = set()

    def visit(uid: str) -> None:
        if uid in seen or uid not in nodes:
            return
        seen.add(uid)
        for parent in nodes[uid].get("depends_on", {}).get("nodes", []):
            visit(parent)
        order.append(uid)

    if scope == "kpi_values":
        visit("model.bdw.kpi_values")
    else:
        for uid in sorted(nodes):
            visit(uid)
    built = [nodes[u] for u in order if nodes[u]["resource_type"] in ("model", "seed")]
    tests = [nodes[u] for u in order if nodes[u]["resource_type"] == "test"]  # none upstream of kpi_values
    return built + tests


# ---- (a) ingestion ------------------------------------------------------------------------------
def _duplicates(con: duckdb.DuckDBPyConnection, files: list[Path]) -> set[Path]:
    """Files whose bytes equal a lexically earlier file's: only files of equal size are hashed."""
    by_size: dict[int, list[Path]] = defaultdict(list)
    for f in files:
        by_size[f.stat().st_size].append(f)
    candidates = [str(f) for group in by_size.values() if len(group) > 1 for f in group]
    if not candidates:
        return set()
    rows = con.execute("SELECT filename, md5(content) FROM read_blob(?) ORDER BY filename", [candidates]).fetchall()
    first: dict[str, str] = {}
    dups: set[Path] = set()
    for name, digest in sorted(rows, key=lambda r: Path(r[0]).name):
        if digest in first:
            dups.add(Path(name))
        else:
            first[digest] = name
    return dups


def _header_test(known: set[str]):
    return lambda cells: sum(normalise_header(c) in known for c in cells if c) >= 2


def _text(col: str) -> str:
    return f"NULLIF(trim(CAST({q(col)} AS VARCHAR)), '')"


def _renamed(con: duckdb.DuckDBPyConnection, table: str, source: Source, headers: list[str] | None = None) -> str:
    """SELECT list of the contract's columns (as trimmed text, blanks NULL) from a table of headers, or
    (``headers`` given) from a reader's table, whose columns are named by position."""
    by_column: dict[str, str] = {}
    names = con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()
    pairs = zip(headers, positions(len(headers)), strict=True) if headers is not None else ((n, n) for (n,) in names)
    for header, name in pairs:
        n = normalise_header(header)
        if n in source.column_names:
            by_column[n] = name
    cols = [f"{_text(by_column[c])} AS {q(c)}" if c in by_column else f"CAST(NULL AS VARCHAR) AS {q(c)}"
            for c in source.column_names]
    return ", ".join(cols)


def ingest_source(con: duckdb.DuckDBPyConnection, inbox: Path, source: Source, policy: str,
                  scratch: Path) -> int:
    files = inbox_files(inbox / source.name)
    if not files:
        return 0
    dups = _duplicates(con, files)
    files = [f for f in files if f not in dups]
    idx = {f.name: i for i, f in enumerate(files)}
    csv_groups: dict[tuple[tuple[str, ...], str], list[Path]] = defaultdict(list)  # (header, delimiter) -> files
    parts: list[str] = []
    for f in files:
        suffix = f.suffix.lower()
        if suffix in (".csv", ".txt"):
            encoding = detect_encoding(f)
            if encoding in ("utf-8", "utf-8-sig"):
                names, delim = csv_header(f, encoding)
                csv_groups[(tuple(n.replace("\ufeff", "") for n in names), delim)].append(f)
                continue
            out = scratch / f"{f.stem}.utf8.csv"  # DuckDB reads GBK only with an extension
            with f.open("r", encoding=encoding, newline="") as src, out.open("w", encoding="utf-8") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            t = f"_f{idx[f.name]}"
            con.execute(f"CREATE TEMP TABLE {t}_text AS SELECT * FROM read_csv(?, all_varchar = true, header = true)",
                        [str(out)])
            con.execute(f"CREATE TEMP TABLE {t} AS SELECT *, CAST(rowid + 2 AS INTEGER) AS _row_number FROM {t}_text")
            con.execute(f"DROP TABLE {t}_text")
        else:
            read = (read_parquet(con, f, f"_f{idx[f.name]}") if suffix == ".parquet" else
                    read_xlsx(con, f, f"_f{idx[f.name]}", _header_test(set(source.column_names))))
            parts.append(f"SELECT {_renamed(con, read.table, source, read.headers)}, _row_number, "
                         f"{idx[f.name]} AS _file_idx, false AS _maybe_cut FROM {read.table}")
            continue
        parts.append(f"SELECT {_renamed(con, t, source)}, _row_number, {idx[f.name]} AS _file_idx, "
                     f"false AS _maybe_cut FROM {t}")
    for g, ((names, delim), group) in enumerate(csv_groups.items()):
        # one read per header: DuckDB is told the columns rather than sniffing every file
        t = f"_csv{g}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {t} AS SELECT * FROM read_csv(?, auto_detect = false, "
                    "header = true, columns = ?, delim = ?, quote = '\"', escape = '\"', strict_mode = true, "
                    "filename = true)", [[str(f) for f in group], {n: "VARCHAR" for n in names}, delim])
        values = ", ".join(f"({lit(str(f))}, {idx[f.name]})" for f in group)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _idx{g} AS SELECT * FROM (VALUES {values}) v(filename, _file_idx)")
        parts.append(
            f"SELECT {_renamed(con, t, source)}, "
            f"CAST(row_number() OVER (PARTITION BY filename ORDER BY {t}.rowid) + 1 AS INTEGER) AS _row_number, "
            f"_idx{g}._file_idx, false AS _maybe_cut FROM {t} JOIN _idx{g} USING (filename)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _prep_all AS {' UNION ALL '.join(parts)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS {checked_select(source, '_prep_all', [])}")
    names = ", ".join(f"({i}, {lit(source.name + '/' + f.name)})" for i, f in enumerate(files))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _files AS SELECT * FROM (VALUES {names}) v(_file_idx, _source_file)")
    keep = "len(_issues) = 0"
    if policy == "file":
        keep += " AND _file_idx NOT IN (SELECT _file_idx FROM _checked WHERE len(_issues) > 0)"
    cols = ", ".join(q(c) for c in source.column_names)
    con.execute(
        f"INSERT INTO raw.{source.name} BY NAME SELECT {cols}, _row_number, _source_file, "
        f"current_localtimestamp() AS _loaded_at, NULL AS _file_hash FROM _checked JOIN _files USING (_file_idx) "
        f"WHERE {keep} ORDER BY _file_idx, _row_number")
    temps = [*(f"_csv{g}" for g in range(len(csv_groups))), *(f"_idx{g}" for g in range(len(csv_groups))),
             "_prep_all", "_checked", "_files", *(f"_f{i}" for i in range(len(files)))]
    for t in temps:
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return con.execute(f"SELECT count(*) FROM raw.{source.name}").fetchall()[0][0]


# ---- (b) seeds and models -----------------------------------------------------------------------
def load_seed(con: duckdb.DuckDBPyConnection, node: dict) -> None:
    path = Path(node["root_path"]) / node["original_file_path"]
    types = {k: v for k, v in (node["config"].get("column_types") or {}).items()}
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {node['schema']}")
    con.execute(f"CREATE OR REPLACE TABLE {node['relation_name']} AS SELECT * FROM read_csv(?, header = true, "
                "types = ?)", [str(path), types or {}])


def build_model(con: duckdb.DuckDBPyConnection, node: dict) -> None:
    kind = "VIEW" if node["config"]["materialized"] == "view" else "TABLE"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {node['schema']}")
    con.execute(f"CREATE OR REPLACE {kind} {node['relation_name']} AS {node['compiled_code']}")


def run_test(con: duckdb.DuckDBPyConnection, node: dict) -> int:
    """A data test's failing rows, counted as dbt counts them."""
    return con.execute(f"SELECT count(*) FROM ({node['compiled_code']}) dbt_internal_test").fetchall()[0][0]


KPI_KEY = ("kpi_id", "period_type", "period", "segment")


def compare(con: duckdb.DuckDBPyConnection, warehouse: Path) -> dict[str, int]:
    """Rows of kpi_values that differ from the published table's: by key, every other column equal
    (numbers to 1e-9 relative: summing doubles in another order moves the last digits)."""
    con.execute(f"ATTACH {lit(str(warehouse))} AS pub (READ_ONLY)")
    try:
        cols = [c for (c,) in con.execute("SELECT column_name FROM (DESCRIBE marts.kpi_values)").fetchall()]
        num = {c for (c, t) in con.execute("SELECT column_name, column_type FROM (DESCRIBE marts.kpi_values)")
               .fetchall() if t in ("DOUBLE", "FLOAT") or t.startswith("DECIMAL")}

        def same(c: str) -> str:
            if c in num:
                return (f"(f.{q(c)} IS NULL AND p.{q(c)} IS NULL OR abs(f.{q(c)} - p.{q(c)}) "
                        f"<= 1e-9 * greatest(abs(f.{q(c)}), abs(p.{q(c)}), 1e-300))")
            return f"f.{q(c)} IS NOT DISTINCT FROM p.{q(c)}"

        on = " AND ".join(f"f.{q(k)} IS NOT DISTINCT FROM p.{q(k)}" for k in KPI_KEY)
        differ = " OR ".join(f"NOT {same(c)}" for c in cols if c not in KPI_KEY)
        exact = con.execute("SELECT (SELECT count(*) FROM (SELECT * FROM marts.kpi_values EXCEPT ALL "
                            "SELECT * FROM pub.marts.kpi_values)) + (SELECT count(*) FROM (SELECT * FROM "
                            "pub.marts.kpi_values EXCEPT ALL SELECT * FROM marts.kpi_values))").fetchall()[0][0]
        mismatched = con.execute(
            f"SELECT count(*) FROM marts.kpi_values f FULL JOIN pub.marts.kpi_values p ON {on} "
            f"WHERE f.kpi_id IS NULL OR p.kpi_id IS NULL OR {differ}").fetchall()[0][0]
        rows = con.execute("SELECT (SELECT count(*) FROM marts.kpi_values), "
                           "(SELECT count(*) FROM pub.marts.kpi_values)").fetchall()[0]
    finally:
        con.execute("DETACH pub")
    return {"mismatched_rows": int(mismatched), "rows_not_bit_identical": int(exact),
            "floor_rows": int(rows[0]), "published_rows": int(rows[1])}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--inbox", required=True)
    p.add_argument("--dir", required=True, help="folder for the floor's database (floor.duckdb, recreated)")
    p.add_argument("--as-of", default=None, help="default: BDW_AS_OF, else the newest file's date, as bdw run")
    p.add_argument("--compare", default=None, help="a published warehouse built from the same inbox")
    p.add_argument("--compile-only", action="store_true", help="only prepare (and cache) dbt's compiled SQL")
    p.add_argument("--scope", choices=sorted(SCOPES), default="nightly",
                   help="nightly: every model and data test of the nightly build (default); "
                        "kpi_values: only kpi_values and the models upstream of it")
    p.add_argument("--storage", choices=("published", "latest"), default="published",
                   help="the floor file's storage format: published (the pipeline's, readable by DuckDB 1.x; "
                        "default) or latest (DuckDB's own newest)")
    args = p.parse_args()
    inbox = Path(args.inbox).resolve()
    folder = Path(args.dir)
    as_of = resolve_as_of(load_settings(inbox, folder / "unused.duckdb", folder), args.as_of).isoformat()
    manifest = compiled_manifest(as_of, args.scope)
    if args.compile_only:
        return
    nodes = in_order(manifest, args.scope)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / f"{DB_NAME}.duckdb"
    for f in (db, db.with_suffix(".duckdb.wal")):
        f.unlink(missing_ok=True)
    scratch = folder / "tmp"
    scratch.mkdir(exist_ok=True)
    settings = load_settings(inbox, folder / "unused.duckdb", folder)

    spill = scratch / "duckdb"
    spill.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    config = {"memory_limit": settings.limits.memory, "temp_directory": str(spill)}
    if args.storage == "published":
        config["storage_compatibility_version"] = STORAGE_VERSION
    con = duckdb.connect(str(db), config=config)
    install_macros(con)
    ensure_raw_tables(con)
    rows = {s.name: ingest_source(con, inbox, s, settings.policy(s.name), scratch) for s in SOURCES.values()}
    write_run_context(con, dt.date.fromisoformat(as_of), "floor", settings.freshness)
    t1 = time.perf_counter()
    for node in nodes:
        if node["resource_type"] == "seed":
            load_seed(con, node)
    t2 = time.perf_counter()
    model_seconds: dict[str, float] = {}
    for node in nodes:
        if node["resource_type"] == "model":
            t = time.perf_counter()
            build_model(con, node)
            model_seconds[node["name"]] = round(time.perf_counter() - t, 3)
    t3 = time.perf_counter()
    failing = {node["name"]: n for node in nodes if node["resource_type"] == "test" and (n := run_test(con, node))}
    con.execute("CHECKPOINT")
    t4 = time.perf_counter()
    result = {"as_of": as_of, "scope": args.scope, "ingest_seconds": round(t1 - t0, 2),
              "seeds_seconds": round(t2 - t1, 2), "models_seconds": round(t3 - t2, 2),
              "tests_seconds": round(t4 - t3, 2), "seconds": round(t4 - t0, 2),
              "models": sum(n["resource_type"] == "model" for n in nodes),
              "tests": sum(n["resource_type"] == "test" for n in nodes), "tests_with_failing_rows": failing,
              "rows": rows, "memory_limit": settings.limits.memory, "storage": args.storage,
              "storage_version": storage_version(con),
              "lineage": [n for n, _ in LINEAGE], "model_seconds": model_seconds}
    if args.compare:
        result |= compare(con, Path(args.compare))
    con.close()
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))
    if args.compare and result["mismatched_rows"]:
        sys.exit(3)


if __name__ == "__main__":
    main()
