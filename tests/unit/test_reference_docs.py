"""docs/metrics.md's KPI catalogue and docs/tables.md say what the dbt project says (they are
generated from it by ``python -m bdw.reference``), and the docs point at nothing outside the
repository."""

from __future__ import annotations

import re
import subprocess

from bdw import reference
from bdw.settings import REPO_ROOT


def test_the_kpi_catalogue_is_the_dbt_doc_blocks():
    committed = reference.METRICS_PAGE.read_text(encoding="utf-8")
    assert committed == reference.metrics_page(committed), (
        "docs/metrics.md is out of date with dbt/models/marts/kpi_docs.md or seeds/kpi_definitions.csv: "
        "run `uv run python -m bdw.reference` and commit the result")


def test_every_kpi_of_the_seed_is_defined_once():
    blocks = reference.all_doc_blocks()
    for kpi in reference.kpi_rows():
        assert f"kpi_{kpi.kpi_id}" in blocks, f"{kpi.kpi_id} has no doc block kpi_{kpi.kpi_id}"
    catalogue = reference.kpi_catalogue()
    for kpi in reference.kpi_rows():
        assert catalogue.count(f"#### `{kpi.kpi_id}`") == 1


def test_the_tables_page_is_the_models_yaml():
    assert reference.TABLES_PAGE.read_text(encoding="utf-8") == reference.tables_page(), (
        "docs/tables.md is out of date with the models' YAML: run `uv run python -m bdw.reference`")
    assert "### `marts.kpi_values`" in reference.tables_page()


def test_no_file_points_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    offenders = []
    for name in files.stdout.split():
        path = REPO_ROOT / name
        if path.suffix in (".png", ".parquet", ".xlsx", ".lock") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"\.\./shared|(?<![\w/])(CONTRACT|METRICS)\.md", text):
            offenders.append(name)
    assert not offenders, f"these files point at a spec outside the repository: {offenders}"


def test_relative_links_in_the_docs_resolve():
    broken = []
    for page in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO_ROOT)} -> {target}")
    assert not broken, f"broken links: {broken}"
