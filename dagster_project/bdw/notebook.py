"""Plumbing shared by the deep-dive notebooks in ``notebooks/``, and a runner that executes them.

Every notebook opens the PUBLISHED warehouse read-only; its path comes from the one setting
``bdw.settings.load_settings().warehouse`` (env ``BDW_WAREHOUSE``, default ``data/warehouse.duckdb``,
which ``bdw demo`` writes). ``query`` raises on an empty result so that a notebook whose query finds
nothing fails loudly instead of drawing an empty chart.

Run notebooks without Jupyter (executed copies, with their outputs, go outside git)::

    uv run python -m bdw.notebook run notebooks/01_big_deal_dependency.ipynb [--out DIR]
    uv run python -m bdw.notebook run notebooks/*.ipynb --warehouse /path/to/warehouse.duckdb
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from bdw.settings import load_settings

_shared: duckdb.DuckDBPyConnection | None = None


class EmptyResultError(RuntimeError):
    """A notebook query returned no rows."""


def warehouse_path() -> Path:
    """The published warehouse the notebooks read (``BDW_WAREHOUSE`` or the default)."""
    return load_settings().warehouse


def connect(warehouse: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse; a clear error when the file is missing."""
    path = Path(warehouse) if warehouse else warehouse_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"No published warehouse at {path}. Build one with `uv run bdw demo` (writes data/warehouse.duckdb) "
            "or point BDW_WAREHOUSE at an existing warehouse file."
        )
    return duckdb.connect(str(path), read_only=True)


def shared_connection() -> duckdb.DuckDBPyConnection:
    """The connection ``query`` uses when none is given, opened on first use."""
    global _shared
    if _shared is None:
        _shared = connect()
    return _shared


def close() -> None:
    """Close the shared connection (a publish swaps a new file in: reconnect to see it)."""
    global _shared
    if _shared is not None:
        _shared.close()
        _shared = None


def _describe(sql: str) -> str:
    text = re.sub(r"\s+", " ", sql).strip()
    return text if len(text) <= 160 else text[:157] + "..."


def query(
    sql: str,
    params: Sequence[Any] | dict[str, Any] | None = None,
    *,
    name: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Run ``sql`` (with ``params``) and return a DataFrame; raise ``EmptyResultError`` naming the query
    (``name``, else the SQL) when it returns no rows, unless ``allow_empty``."""
    connection = con or shared_connection()
    df = connection.execute(sql, params).df() if params is not None else connection.execute(sql).df()
    if df.empty and not allow_empty:
        raise EmptyResultError(f"query {name or _describe(sql)!r} returned no rows (warehouse: {warehouse_path()})")
    return df


def value(sql: str, params: Sequence[Any] | dict[str, Any] | None = None, *, name: str | None = None) -> Any:
    """The single value of a one-row, one-column query (raises when empty, like ``query``)."""
    df = query(sql, params, name=name)
    if df.shape != (1, 1):
        raise ValueError(f"query {name or _describe(sql)!r} returned {df.shape[0]} rows x {df.shape[1]} columns, "
                         "not one value")
    return df.iat[0, 0]


def as_of() -> pd.Timestamp:
    """The ``--as-of`` date of the run that published the warehouse."""
    return pd.Timestamp(value("select max(as_of_date) from marts.dim_periods", name="as-of date"))


def last_complete_year() -> int:
    """The latest calendar year complete at ``--as-of``: the year of the year-end review."""
    return int(value("select max(period_year) from marts.dim_periods where period_type = 'year' and is_complete",
                     name="last complete year"))


def thresholds() -> pd.Series:
    """The alert thresholds and rule parameters of ``seeds.kpi_thresholds``, by parameter."""
    df = query("select parameter, value from seeds.kpi_thresholds", name="kpi thresholds")
    return df.set_index("parameter").value


def setup() -> str | None:
    """Charts and tables for the notebooks: a CJK font (returns its family, None when none is installed),
    readable figure sizes, and numbers without scientific notation."""
    import matplotlib

    from bdw.fonts import use_cjk_font

    family = use_cjk_font()
    matplotlib.rcParams.update({"figure.figsize": (10, 4.2), "figure.dpi": 96, "axes.grid": True,
                                "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False})
    pd.set_option("display.float_format", _number)
    pd.set_option("display.max_rows", 60)
    return family


def _number(x: float) -> str:
    """Table format: money and counts with thousands separators, other numbers with two or four decimals."""
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 1000 or (x == int(x) and abs(x) > 1):
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) >= 10 else f"{x:,.4f}"


def millions(x: float, _pos: object = None) -> str:
    """Axis formatter: CNY in millions (``137.0M``)."""
    return f"{x / 1e6:,.1f}M"


def percent(x: float, _pos: object = None) -> str:
    """Axis formatter: a ratio as a percentage."""
    return f"{x:.0%}"


# ---------------------------------------------------------------- the runner


def execute(notebook: Path, warehouse: Path, timeout: int = 300) -> tuple[Any, Exception | None]:
    """Execute a notebook top to bottom against ``warehouse`` with the current interpreter's kernel; return
    the notebook with its outputs (up to the failing cell) and the error that stopped it, or None."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}})
    try:  # the kernel gets the warehouse through its environment: the one setting BDW_WAREHOUSE
        client.execute(env={**os.environ, "BDW_WAREHOUSE": str(warehouse),
                            "MPLBACKEND": "module://matplotlib_inline.backend_inline"})  # charts as outputs
    except Exception as exc:  # a failing cell (CellExecutionError), a timeout, a dead kernel
        return nb, exc
    return nb, None


def error_line(exc: Exception) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    return f"{ename}: {evalue}" if ename else f"{type(exc).__name__}: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(prog="python -m bdw.notebook", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks and write executed copies (with outputs)")
    run.add_argument("notebooks", nargs="+", type=Path)
    run.add_argument("--warehouse", type=Path, help="the published warehouse (default: BDW_WAREHOUSE or data/)")
    run.add_argument("--out", type=Path, help="folder for the executed copies (default: <workdir>/notebooks)")
    args = parser.parse_args(argv)

    settings = load_settings(warehouse=args.warehouse)
    if not settings.warehouse.is_file():
        print(f"No published warehouse at {settings.warehouse}: run `uv run bdw demo` or set BDW_WAREHOUSE.",
              file=sys.stderr)
        return 1
    out = (args.out or settings.workdir / "notebooks").resolve()
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in args.notebooks:
        nb, error = execute(path.resolve(), settings.warehouse)
        target = out / path.name
        nbformat.write(nb, target)
        if error is None:
            print(f"ok     {path} -> {target}")
        else:
            failed += 1
            print(f"FAILED {path}: {error_line(error)} (outputs up to the failing cell: {target})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
