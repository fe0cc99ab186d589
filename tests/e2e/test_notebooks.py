"""The deep-dive notebooks in notebooks/: each runs top to bottom on the sample warehouse (a real kernel from
this venv, through the same runner analysts use), shows at least one chart and one table, and is committed
without outputs. Their own asserts cross-check numbers they compute from the facts against marts.kpi_values."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import nbformat
import pytest

from bdw import notebook

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = {
    "01_big_deal_dependency.ipynb", "02_overseas_margin.ipynb", "03_channel_vs_direct.ipynb",
    "04_crm_data_and_forecasting.ipynb", "05_team.ipynb", "06_battle_map_2026.ipynb", "07_team_performance.ipynb",
    "08_pipeline_and_renewals.ipynb",
}


def test_the_eight_deep_dives_are_there() -> None:
    assert {p.name for p in NOTEBOOKS} == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell.outputs == [], f"{path.name}: cell {cell.id} has outputs"
        assert cell.execution_count is None, f"{path.name}: cell {cell.id} has an execution count"
    assert "bdw import notebook as nb" in code[0].source, "the first cell sets up bdw.notebook"


@pytest.fixture(scope="module")
def executed(sample_warehouse: Path) -> dict[str, tuple[Any, Exception | None]]:
    """Every notebook executed once on the sample warehouse; kernels start in parallel (start-up is the
    slow part), and BDW_WAREHOUSE reaches each kernel through its environment."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = pool.map(lambda p: (p.name, notebook.execute(p, sample_warehouse)), NOTEBOOKS)
        return dict(results)


def _outputs(nb: Any) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom_with_charts_and_tables(path: Path, executed, sample_warehouse: Path) -> None:
    nb, error = executed[path.name]
    assert error is None, f"{path.name} failed: {notebook.error_line(error)}\n{error}"
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    data = [o.get("data", {}) for o in outputs if o.get("output_type") in ("display_data", "execute_result")]
    charts = [d for d in data if "image/png" in d or "image/svg+xml" in d]
    tables = [d for d in data if "<table" in d.get("text/html", "")]
    assert charts, f"{path.name} drew no chart"
    assert tables, f"{path.name} showed no table"
    assert all(c.execution_count is not None for c in nb.cells if c.cell_type == "code"), "a cell did not run"
    # the warehouse the notebook read is the one BDW_WAREHOUSE named
    streams = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert f"warehouse: {sample_warehouse.resolve()}" in streams


def test_query_raises_on_an_empty_result(sample_warehouse: Path) -> None:
    con = notebook.connect(sample_warehouse)
    try:
        assert len(notebook.query("select kpi_id from marts.kpi_values limit 3", con=con)) == 3
        with pytest.raises(notebook.EmptyResultError, match="kpis of a year that never was"):
            notebook.query("select * from marts.kpi_values where period = ?", ["1999"], con=con,
                           name="kpis of a year that never was")
        with pytest.raises(notebook.EmptyResultError, match="marts.early_warnings where kind = 'nothing'"):
            notebook.query("select * from marts.early_warnings where kind = 'nothing'", con=con)
        empty = notebook.query("select * from marts.kpi_values where period = '1999'", con=con, allow_empty=True)
        assert empty.empty and "kpi_id" in empty.columns
    finally:
        con.close()


def test_connect_is_read_only_and_explains_a_missing_warehouse(sample_warehouse: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere" / "warehouse.duckdb"
    monkeypatch.setenv("BDW_WAREHOUSE", str(missing))
    assert notebook.warehouse_path() == missing.resolve()
    with pytest.raises(FileNotFoundError, match=r"No published warehouse at .*nowhere.*bdw demo.*BDW_WAREHOUSE"):
        notebook.connect()
    assert not missing.exists(), "connect() must not create a warehouse"

    monkeypatch.setenv("BDW_WAREHOUSE", str(sample_warehouse))
    con = notebook.connect()
    try:
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("create table marts.scratch (x int)")
    finally:
        con.close()


def test_the_runner_writes_an_executed_copy_and_fails_on_a_failing_cell(sample_warehouse: Path,
                                                                        tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from bdw import notebook as nb\nprint(nb.warehouse_path())"),
        nbformat.v4.new_code_cell("nb.query(\"select * from marts.kpi_values where period = '1999'\", name='no rows')"),
    ])
    nbformat.write(nb, broken)
    out = tmp_path / "out"
    assert notebook.main(["run", str(broken), "--warehouse", str(sample_warehouse), "--out", str(out)]) == 1
    ran = json.loads((out / "broken.ipynb").read_text(encoding="utf-8"))
    first, second = ran["cells"]
    assert str(sample_warehouse.resolve()) in "".join(first["outputs"][0]["text"])
    assert second["outputs"][-1]["ename"] == "EmptyResultError"
    assert "no rows" in second["outputs"][-1]["evalue"]
