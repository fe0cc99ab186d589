"""The Dagster definitions load, and keys and groups come from the contract and dbt's metadata."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey

from bdw.contract import SOURCES
from bdw.settings import DUCKDB_PATH_ENV


@pytest.fixture(scope="module")
def defs():
    from bdw.definitions import build_definitions

    return build_definitions()


def test_one_raw_asset_per_source(defs):
    graph = defs.resolve_asset_graph()
    raw = {k for k in graph.get_all_asset_keys() if k.path[0] == "raw"}
    assert raw == {AssetKey(["raw", s]) for s in SOURCES}
    for key in raw:
        assert graph.get(key).group_name == "raw"


def test_dbt_models_are_keyed_by_schema_and_grouped_by_folder_and_read_the_raw_assets(defs):
    graph = defs.resolve_asset_graph()
    node = graph.get(AssetKey(["staging", "stg_finance__payments"]))
    assert node.group_name == "staging"
    # staging reads the merged base model (group staging too), which reads the raw asset
    assert AssetKey(["staging", "base_finance__payments"]) in node.parent_keys
    base = graph.get(AssetKey(["staging", "base_finance__payments"]))
    assert base.group_name == "staging" and AssetKey(["raw", "payments"]) in base.parent_keys
    assert AssetKey(["raw", "fx_rates"]) in graph.get(AssetKey(["staging", "stg_finance__fx_rates"])).parent_keys
    assert graph.get(AssetKey(["dq", "reference_issues"])).group_name == "dq"


def test_dbt_tests_are_asset_checks(defs):
    graph = defs.resolve_asset_graph()
    checks = {c.asset_key for c in graph.asset_check_keys}
    assert AssetKey(["staging", "stg_finance__contracts"]) in checks


def test_publish_waits_for_every_model(defs):
    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["warehouse"])).parent_keys
    assert AssetKey(["staging", "stg_crm__accounts"]) in parents
    assert AssetKey(["dq", "reference_issues"]) in parents


def test_alerts_are_sent_from_one_asset_that_declares_what_it_reads(defs):
    """The alerts asset reads the early warnings, the stale sources (dq.source_freshness) and the Great
    Expectations results of the assets the checks validate; their blocking checks order it after the
    checks step, and it waits for the publishing (a run that does not publish sends its failure
    notice instead)."""
    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["alerts"])).parent_keys
    gx_checks = next(c for c in defs.asset_checks if c.node_def.name == "great_expectations_checks")
    assert parents == {AssetKey(["marts", "early_warnings"]), AssetKey(["dq", "source_freshness"]),
                       AssetKey(["warehouse"]), *(spec.asset_key for spec in gx_checks.check_specs)}
    job = defs.resolve_job_def("bdw_nightly")
    upstream = {o.node_name for outputs in job.graph.dependency_structure.input_to_upstream_outputs_for_node(
        "alerts").values() for o in outputs}
    assert upstream == {"bdw_dbt_models", "great_expectations_checks", "warehouse"}


def test_each_source_has_a_freshness_check_reading_the_freshness_model(defs):
    """A stale source is a WARN check of its raw asset; it reads dq/source_freshness, which reads
    every raw asset; not blocking, so nothing waits for it (the alerts read the model itself)."""
    graph = defs.resolve_asset_graph()
    freshness = next(c for c in defs.asset_checks if c.node_def.name == "source_freshness_checks")
    specs = {spec.asset_key: spec for spec in freshness.check_specs}
    assert set(specs) == {AssetKey(["raw", s]) for s in SOURCES}
    for spec in specs.values():
        assert spec.name == "freshness" and not spec.blocking
        assert {d.asset_key for d in spec.additional_deps} == {AssetKey(["dq", "source_freshness"])}
    assert graph.get(AssetKey(["dq", "source_freshness"])).parent_keys == {AssetKey(["raw", s]) for s in SOURCES}


def test_one_job_materialises_everything(defs):
    job = defs.resolve_job_def("bdw_nightly")
    assert {n.name for n in job.graph.node_defs} >= {"raw__payments", "bdw_dbt_models", "warehouse", "alerts"}


def test_dagster_validates_the_definitions_from_the_repo_root():
    """What `dagster dev` (no arguments) loads: pyproject's [tool.dagster] module."""
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([str(Path(sys.executable).parent / "dagster"), "definitions", "validate"], cwd=repo,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "All code locations passed validation" in done.stdout + done.stderr


def test_dbt_resource_skips_start_up_work(defs, monkeypatch, tmp_path):
    """dagster-dbt runs ``dbt --version`` in a subprocess and builds a dbt adapter before every
    invocation (~5 s); ours reads the installed dbt-core's version and builds none. A real
    invocation shows it: with dagster-dbt's subprocess call made to fail, ``dbt parse`` still runs,
    and the invocation holds no adapter (upstream's resource would hold one)."""
    import importlib.metadata

    import dagster_dbt.core.resource as upstream

    from bdw.dagster_dbt_overrides import UPSTREAM_MEMBERS, BdwDbtCliResource

    resource = defs.resources["dbt"]
    assert isinstance(resource, BdwDbtCliResource)
    for name in UPSTREAM_MEMBERS:
        assert name in vars(upstream.DbtCliResource), f"dagster-dbt no longer has {name}"

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"dbt --version was run: {args}")

    monkeypatch.setattr(upstream, "check_output", no_subprocess)
    monkeypatch.setenv(DUCKDB_PATH_ENV, str(tmp_path / "parse_only.duckdb"))  # dbt's profile needs one
    assert str(resource._cli_version) == importlib.metadata.version("dbt-core")
    invocation = resource.cli(["parse", "--quiet"], target_path=tmp_path / "target")
    invocation.wait()
    assert invocation.is_successful() and invocation.adapter is None
    assert (tmp_path / "target" / "manifest.json").exists()


def test_great_expectations_preloads_in_the_background():
    """``bdw run`` imports Great Expectations while dbt builds (bdw.assets.checks); a failing import
    there is swallowed, so this checks, in a fresh interpreter, that it really loads."""
    script = ("import sys; from bdw.assets.checks import preload_in_background; "
              "assert 'great_expectations' not in sys.modules, 'already imported'; "
              "assert 'sqlalchemy.orm' not in sys.modules, 'already imported'; "
              "thread = preload_in_background(); "
              # the module the caller's Dagster storage calls into is whole before the thread starts
              "print(hasattr(sys.modules.get('sqlalchemy.orm.exc'), 'UnmappedClassError')); "
              "thread.join(); "
              "print(all(m in sys.modules for m in ('great_expectations.expectations', 'bdw.quality.gx_actions')))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True"]
