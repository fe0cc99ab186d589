"""Every data-quality rule has one home (docs/data_quality.md): a bad row is caught once, by the
layer that owns its rule, and what must block publishing still does.

One ``bdw run`` of a small inbox for the module (about 30 s). Its finance exports hold a duplicate
contract_id within one file and a zero fx rate (ingestion rejects those files), and a payment
repeated in a later export (the merge rule, not a problem). Hostile rows that ingestion would never
let through are then injected into copies of its working database: into staging for ``dbt test``
(each structural rule fails exactly one test, and Great Expectations reports none of them), and
into raw and a merged base model for a second real ``bdw run``, which must not publish."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from bdw.cli import main
from bdw.settings import load_settings

from conftest import CONTRACT_HEADER, contract_row, dbt_on, query, sha256, write_csv

LINE_HEADER = ["contract_id", "line_no", "product_family", "amount", "is_recurring"]
PAY_HEADER = ["payment_id", "contract_id", "received_date", "amount", "currency"]
COST_HEADER = ["cost_id", "contract_id", "cost_date", "cost_type", "amount", "currency"]
FX_HEADER = ["month", "currency", "rate_to_cny"]

# The six Great Expectations rules that repeated dbt tests, and the dbt rule (on the same staging
# model, in its one `column_rules` test) that owns each rule now: (model, argument, column or expression)
STRUCTURAL_RULES = {
    "contract_id_unique": ("stg_finance__contracts", "unique", "contract_id"),
    "line_key_unique": ("stg_finance__contract_lines", "grain", ["contract_id", "line_no"]),
    "payment_id_unique": ("stg_finance__payments", "unique", "payment_id"),
    "cost_id_unique": ("stg_finance__costs", "unique", "cost_id"),
    "month_currency_unique": ("stg_finance__fx_rates", "grain", ["month", "currency"]),
    "rate_positive": ("stg_finance__fx_rates", "expressions", "rate_to_cny > 0"),
}
# how the test's failing rows name each rule: (column or expression, rule)
FAILING_ROW = {
    "contract_id_unique": ("contract_id", "unique"), "line_key_unique": ("contract_id, line_no", "grain"),
    "payment_id_unique": ("payment_id", "unique"), "cost_id_unique": ("cost_id", "unique"),
    "month_currency_unique": ("month, currency", "grain"), "rate_positive": ("rate_to_cny > 0", "expression_is_true"),
}


def inbox(root: Path) -> Path:
    box = root / "inbox"
    write_csv(box / "accounts/2025-04-30_accounts.csv", ["account_id", "account_name", "region", "created_at"],
              [["A1", "Acme", "CN", "2025-01-05"], ["A2", "Globex", "EU", "2025-02-01"]])
    write_csv(box / "contracts/2025-04-30_contracts.csv", CONTRACT_HEADER,
              [contract_row("C1", signed="2025-03-01"),
               contract_row("C2", signed="2025-04-02", currency="USD", account="A2")])
    # the same contract_id twice in one file: ingestion quarantines the finance file whole
    write_csv(box / "contracts/2025-05-01_contracts.csv", CONTRACT_HEADER,
              [contract_row("C3", signed="2025-04-10"), contract_row("C3", signed="2025-04-11")])
    write_csv(box / "contract_lines/2025-04-30_contract_lines.csv", LINE_HEADER,
              [["C1", "1", "saas", "100000", ""], ["C1", "2", "service", "20000", ""],
               ["C2", "1", "license", "20000", ""]])
    write_csv(box / "payments/2025-04-30_payments.csv", PAY_HEADER,
              [["P1", "C1", "2025-03-20", "50000", "CNY"], ["P2", "C1", "2025-04-20", "1000", "CNY"]])
    # a later export repeating P1 with a corrected amount: the merge rule, not a duplicate
    write_csv(box / "payments/2025-05-02_payments.csv", PAY_HEADER, [["P1", "C1", "2025-03-20", "40000", "CNY"]])
    write_csv(box / "costs/2025-04-30_costs.csv", COST_HEADER,
              [["K1", "C1", "2025-03-25", "delivery_labor", "3000", "CNY"]])
    write_csv(box / "fx_rates/2025-04-30_fx_rates.csv", FX_HEADER,
              [["2025-03", "USD", "7.20"], ["2025-04", "USD", "7.22"]])
    # a rate of 0: ingestion quarantines the file
    write_csv(box / "fx_rates/2025-05-03_fx_rates.csv", FX_HEADER, [["2025-05", "USD", "0"]])
    return box


def bdw_run(root: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["run", "--inbox", str(root / "inbox"), "--warehouse", str(root / "pub" / "wh.duckdb"),
                 "--workdir", str(root / "work"), *extra])
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("dq_layers")
    inbox(root)
    code = main(["run", "--inbox", str(root / "inbox"), "--warehouse", str(root / "pub" / "wh.duckdb"),
                 "--workdir", str(root / "work")])
    wh = root / "pub" / "wh.duckdb"
    run_id = query(wh, "SELECT run_id FROM raw._run_context")[0][0]
    return {"root": root, "code": code, "wh": wh, "work_db": root / "work" / "work.duckdb", "run_id": run_id}


def manifest_tests() -> list[dict]:
    from bdw.dbt_project import ensure_manifest

    nodes = json.loads(ensure_manifest().read_text())["nodes"]
    return [n for n in nodes.values() if n["resource_type"] == "test"]


def owning_test(tests: list[dict], model: str, argument: str, value) -> dict:
    """The ``column_rules`` test of ``model`` whose ``argument`` (unique, grain, expressions) holds ``value``."""
    found = []
    for t in tests:
        meta = t.get("test_metadata") or {}
        kwargs = meta.get("kwargs") or {}
        if meta.get("name") != "column_rules" or not (t.get("attached_node") or "").endswith(f".{model}"):
            continue
        held = kwargs.get(argument) or []
        if value == held or value in held:
            found.append(t)
    assert len(found) == 1, (model, argument, value, len(found))
    return found[0]


def test_no_great_expectations_rule_repeats_a_dbt_test_and_each_owner_blocks():
    """The six GX rules that repeated dbt tests are gone; the dbt test that owns each rule is on
    the same staging model with severity error (a failure fails the dbt step: nothing published)."""
    from bdw.quality.rules import all_rules
    from bdw.quality.thresholds import load_quality_config

    names = {r.name for r in all_rules(load_quality_config())}
    assert not names & STRUCTURAL_RULES.keys()
    tests = manifest_tests()
    for model, name, arg in STRUCTURAL_RULES.values():
        assert owning_test(tests, model, name, arg)["config"]["severity"] == "ERROR"
    # raw's rows are ingestion's: no dbt test on a source repeats a row rule
    assert not [t["name"] for t in tests if t["depends_on"]["nodes"][:1] and
                t["depends_on"]["nodes"][0].startswith("source.")]


def test_ingestion_rejects_its_rows_once_and_the_merge_is_not_a_problem(built):
    assert built["code"] == 0  # quarantined files do not stop the rest from publishing
    wh = built["wh"]
    issues = query(wh, "SELECT source, file, rule FROM raw._load_issues WHERE row_number IS NOT NULL "
                       "ORDER BY source, row_number")
    assert issues == [
        ("contracts", "contracts/2025-05-01_contracts.csv",
         "duplicate key: the same contract_id appears on rows 2, 3 of this file"),
        ("contracts", "contracts/2025-05-01_contracts.csv",
         "duplicate key: the same contract_id appears on rows 2, 3 of this file"),
        ("fx_rates", "fx_rates/2025-05-03_fx_rates.csv", "must be greater than 0"),
    ]
    assert query(wh, "SELECT count(*) FROM raw.contracts WHERE contract_id = 'C3'") == [(0,)]
    assert query(wh, "SELECT count(*) FROM raw.fx_rates WHERE month = '2025-05'") == [(0,)]
    # the later export's P1 replaced the earlier one: one row, the later amount
    assert query(wh, "SELECT amount FROM staging.stg_finance__payments WHERE payment_id = 'P1'") == [(40000,)]
    # ... and no later layer reports any of it again: every validity check of the run passed
    failing = query(wh, "SELECT check_name FROM dq.validation_results WHERE run_id = ? AND suite = "
                        "'finance_validity' AND NOT success", [built["run_id"]])
    assert failing == []


def _inject_structural_breaches(con: duckdb.DuckDBPyConnection) -> None:
    """One hostile row per structural rule, into staging (where the merge rule would have removed a
    duplicate and ingestion a rate <= 0). Chosen so that no other rule is broken by them: C2 has no
    payment, P2 is a small payment, the repeated fx month has the same rate."""
    for table, where in (("stg_finance__contracts", "contract_id = 'C2'"),
                         ("stg_finance__contract_lines", "contract_id = 'C1' AND line_no = 2"),
                         ("stg_finance__payments", "payment_id = 'P2'"),
                         ("stg_finance__costs", "cost_id = 'K1'"),
                         ("stg_finance__fx_rates", "month = '2025-03' AND currency = 'USD'")):
        con.execute(f"INSERT INTO staging.{table} SELECT * FROM staging.{table} WHERE {where}")
    con.execute("INSERT INTO staging.stg_finance__fx_rates SELECT '2025-06', DATE '2025-06-01', 'USD', -7.3, "
                "'fx_rates/x.csv', 2")


def test_each_structural_rule_fails_exactly_one_dbt_test_and_no_great_expectations_check(built, tmp_path):
    copy = tmp_path / "work.duckdb"
    shutil.copy(built["work_db"], copy)
    with duckdb.connect(str(copy)) as con:
        _inject_structural_breaches(con)
    code, results = dbt_on(copy, tmp_path, "test", "--select", "staging.finance", "--exclude-resource-type",
                           "unit_test")
    assert code == 1
    failed = {uid: r for uid, r in results.items() if r["status"] != "pass"}
    tests = manifest_tests()
    owners = {owning_test(tests, *spec)["unique_id"] for spec in STRUCTURAL_RULES.values()}
    assert set(failed) == owners, sorted(failed)
    assert all(r["status"] == "fail" for r in failed.values())
    # each test's failing rows name its rules: exactly the six, each broken by one row
    with duckdb.connect(str(copy), read_only=True) as con:
        rows = sorted(row for r in failed.values() for row in con.execute(r["compiled_code"]).fetchall())
    assert rows == sorted((*FAILING_ROW[rule], 1) for rule in STRUCTURAL_RULES)

    # Great Expectations reads the same (hostile) staging data through the check views and reports
    # none of these rows: no rule of its own repeats them
    from bdw.quality.run import run_quality

    settings = load_settings(built["root"] / "inbox", tmp_path / "pub" / "wh.duckdb", tmp_path / "work")
    report = run_quality(settings, as_of=dt.date(2025, 5, 3), run_id="hostile",
                         connect=lambda: duckdb.connect(str(copy)))
    validity = [r for r in report.results if r.rule.suite == "finance_validity"]
    assert validity and all(r.success for r in validity), [r.message for r in validity if not r.success]
    assert {r.rule.name for r in validity}.isdisjoint(STRUCTURAL_RULES)


def test_the_personal_data_rule_is_the_dbt_test_and_it_catches_a_leak(built, tmp_path):
    copy = tmp_path / "work.duckdb"
    shutil.copy(built["work_db"], copy)
    select = ("test", "--select", "assert_marts_expose_no_personal_data")
    code, results = dbt_on(copy, tmp_path, *select)
    assert code == 0 and [r["status"] for r in results.values()] == ["pass"]
    with duckdb.connect(str(copy)) as con:  # a mart that copies a column marked personal, in another case
        con.execute("CREATE TABLE marts.leak AS SELECT 'A1' AS account_id, 'x@acme.cn' AS Contact_Email")
    code, results = dbt_on(copy, tmp_path, *select)
    assert code == 1
    (result,) = results.values()
    assert result["status"] == "fail" and result["failures"] == 1


def test_a_structural_failure_in_the_nightly_build_blocks_publishing(built, tmp_path, capsys):
    """A zero rate that reached raw around ingestion, and a duplicate payment in the merged base
    model: the dbt step fails on each rule's one test, the run exits 1 and publishes nothing."""
    root = tmp_path / "run"
    shutil.copytree(built["root"], root)
    wh = root / "pub" / "wh.duckdb"
    before = sha256(wh)
    with duckdb.connect(str(root / "work" / "work.duckdb")) as con:
        con.execute("UPDATE raw.fx_rates SET rate_to_cny = 0 WHERE month = '2025-04'")
        con.execute("INSERT INTO staging.base_finance__payments SELECT * FROM staging.base_finance__payments "
                    "WHERE payment_id = 'P2'")
    # the next day's run (the inbox is unchanged: on the same day nothing would be rebuilt)
    code, out = bdw_run(root, capsys, "--as-of", "2025-05-04")
    assert code == 1, out
    assert "NOT published" in out and sha256(wh) == before
    # the summary names each failing rule by its column (bdw.quality.summary.failing_columns)
    assert "column_rules_stg_finance__fx_rates: rate_to_cny > 0: rows break it (1 row)" in out, out
    assert "column_rules_base_finance__payments: payment_id: the same value twice (1 row)" in out, out
    # the checks step never ran: Great Expectations recorded nothing for this run
    run_id = query(root / "work" / "work.duckdb", "SELECT run_id FROM raw._run_context")[0][0]
    assert query(root / "work" / "work.duckdb", "SELECT count(*) FROM dq.validation_results WHERE run_id = ?",
                 [run_id]) == [(0,)]


def test_every_check_sits_on_the_staging_model_it_judges_and_runs_after_its_check_model():
    """A check is reported on the staging model whose rows it judges, depends on the dbt check model
    it reads (so Dagster runs it after dbt built both), and blocks publishing when it is a finance
    validity rule, as before."""
    from bdw.assets.checks import great_expectations_checks
    from bdw.definitions import build_definitions
    from bdw.settings import DEFAULT_CONFIG_DIR

    specs = {(s.asset_key.path[1], s.name): s for s in great_expectations_checks(DEFAULT_CONFIG_DIR).check_specs}
    fx = specs[("stg_finance__fx_rates", "rate_close_to_previous_month")]
    assert fx.blocking and [d.asset_key.path for d in fx.additional_deps] == [["dq", "check_fx_rates"]]
    paid = specs[("stg_finance__payments", "payments_within_contract_value")]
    assert paid.blocking and [d.asset_key.path for d in paid.additional_deps] == [["dq", "check_contracts"]]
    warnings = {"new_contract_value_positive"}  # a finance rule that only warns (docs/data_quality.md)
    assert all(s.blocking == (s.asset_key.path[1].startswith("stg_finance__") and s.name not in warnings)
               for s in specs.values())
    dbt_assets = {k.path[0] + "/" + k.path[1] for k in build_definitions().resolve_asset_graph().get_all_asset_keys()
                  if len(k.path) == 2}
    assert {"/".join(d.asset_key.path) for s in specs.values() for d in s.additional_deps} <= dbt_assets


def test_the_fx_tolerance_is_the_seed_and_a_moved_setting_is_named(tmp_path):
    from bdw.quality.thresholds import QualityConfigError, load_quality_config
    from bdw.settings import SEEDS_DIR

    assert load_quality_config().fx_max_change == 0.2  # seeds/fx_rate_tolerances.csv, row `default`
    user = tmp_path / "config"
    user.mkdir()
    (user / "quality.yml").write_text("validity:\n  fx_max_monthly_change_by_currency: {ARS: 0.5}\n")
    with pytest.raises(QualityConfigError, match="fx_max_monthly_change_by_currency moved to the seed "
                                                 "seeds/fx_rate_tolerances.csv"):
        load_quality_config(user)
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    (seeds / "fx_rate_tolerances.csv").write_text("currency,max_monthly_change\nARS,0.5\n")
    with pytest.raises(QualityConfigError, match="needs one row with currency 'default'"):
        load_quality_config(seeds_dir=seeds)
    (seeds / "fx_rate_tolerances.csv").write_text("currency,max_monthly_change\nARS,0.5\nDefault,0.3\n")
    assert load_quality_config(seeds_dir=seeds).fx_max_change == 0.3
