"""Fingerprint every table of a published warehouse: rows and a hash of its sorted content.

Columns that differ from run to run by nature (run ids, timestamps, Data Docs links) are left out,
and doubles are compared to 10 significant digits (DuckDB sums them in parallel, in no fixed
order), so two runs of the same inbox with the same paths give the same fingerprint.

    python benchmarks/fingerprint.py WAREHOUSE.duckdb > before.json
    python benchmarks/fingerprint.py --compare before.json after.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

VOLATILE_NAMES = {"run_id", "validated_at", "loaded_at", "recorded_at", "written_at", "_loaded_at",
                  "data_docs_url", "opened_at"}


def fingerprint(path: str) -> dict[str, dict]:
    con = duckdb.connect(path, read_only=True)
    out: dict[str, dict] = {}
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                             "WHERE database_name = current_database() ORDER BY 1, 2").fetchall()
        for schema, table in tables:
            cols = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = "
                               "current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index",
                               [schema, table]).fetchall()
            kept = [c for c, t in cols if c not in VOLATILE_NAMES and not t.startswith("TIMESTAMP")]
            types = dict(cols)
            rel = f'"{schema}"."{table}"'
            rows = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
            if kept:
                # a double summed in another order differs in its last bits: compare 10 significant digits
                sel = ", ".join(f"printf('%.10g', \"{c}\")" if types[c] in ("DOUBLE", "FLOAT") else f'"{c}"'
                                for c in kept)
                digest = con.execute(
                    f"SELECT md5(string_agg(r, chr(10) ORDER BY r)) FROM "
                    f"(SELECT CAST(ROW({sel}) AS VARCHAR) AS r FROM {rel})").fetchone()[0]
            else:
                digest = None
            out[f"{schema}.{table}"] = {"rows": rows, "columns": kept, "hash": digest}
    finally:
        con.close()
    return out


def compare(before: dict, after: dict) -> list[str]:
    lines = []
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        if b is None:
            lines.append(f"+ {name} (new, {a['rows']} rows)")
        elif a is None:
            lines.append(f"- {name} (gone, had {b['rows']} rows)")
        elif b != a:
            what = []
            if b["rows"] != a["rows"]:
                what.append(f"rows {b['rows']} -> {a['rows']}")
            if b["columns"] != a["columns"]:
                what.append(f"columns +{sorted(set(a['columns']) - set(b['columns']))} "
                            f"-{sorted(set(b['columns']) - set(a['columns']))}")
            elif b["hash"] != a["hash"]:
                what.append("content differs")
            lines.append(f"~ {name}: {', '.join(what)}")
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="+")
    p.add_argument("--compare", action="store_true", help="compare two fingerprint JSON files")
    args = p.parse_args()
    if args.compare:
        before, after = (json.loads(Path(x).read_text(encoding="utf-8")) for x in args.paths)
        diff = compare(before, after)
        print("\n".join(diff) or f"identical: {len(before)} tables")
        return 1 if diff else 0
    json.dump(fingerprint(args.paths[0]), sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
