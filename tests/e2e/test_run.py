"""``bdw run`` end to end on small hand-written inboxes: a real Dagster run, real dbt, real files."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bdw.cli import main

from conftest import (
    CONTRACT_HEADER,
    LINE_HEADER,
    PAY_HEADER,
    contract_row,
    copy_tiny_run,
    query,
    sha256,
    throwaway_venv,
    write_csv,
)


def run(inbox: Path, warehouse: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["run", "--inbox", str(inbox), "--warehouse", str(warehouse), *extra])
    return code, capsys.readouterr().out


@pytest.fixture
def published(tiny_run):
    """The session's first run of the tiny inbox (conftest.tiny_run): its folder and exit code."""
    return tiny_run["root"], tiny_run["code"]


def test_run_publishes_raw_and_staging(published):
    root, code = published
    assert code == 0
    wh = root / "wh.duckdb"
    tables = {(s, t) for s, t in query(wh, "SELECT schema_name, table_name FROM duckdb_tables()")}
    for source in ("accounts", "opportunities", "contracts", "contract_lines", "payments", "fx_rates", "reps"):
        assert ("raw", source) in tables
    assert ("staging", "stg_finance__payments") in tables and ("staging", "stg_crm__accounts") in tables
    assert query(wh, "SELECT count(*) FROM raw.contract_lines") == [(3,)]
    assert query(wh, "SELECT count(*) FROM raw.reps") == [(0,)]  # no file: the table exists, empty


def test_staging_converts_currencies_by_the_rows_own_month(published):
    root, _ = published
    wh = root / "wh.duckdb"
    lines = dict(query(wh, "SELECT contract_id || '-' || line_no, amount_cny FROM staging.stg_finance__contract_lines"))
    assert lines == {"C1-1": Decimal("1000000.00"), "C1-2": Decimal("200000.00"), "C2-1": Decimal("720000.00")}
    pays = {p: (a, m) for p, a, m in query(wh, "SELECT payment_id, amount_cny, missing_fx_rate "
                                                "FROM staging.stg_finance__payments")}
    assert pays["P1"] == (Decimal("600000.00"), False)
    assert pays["P2"] == (None, True)  # USD in April: no rate, not zero


def test_reference_problems_are_reported_with_file_and_row(published):
    root, _ = published
    found = query(root / "wh.duckdb", "SELECT source, source_file, source_row, rule, message "
                                      "FROM dq.reference_issues ORDER BY source, source_row")
    assert [(s, f, r, rule) for s, f, r, rule, _ in found] == [
        ("opportunities", "opportunities/2025-03-31_opportunities.csv", 3, "missing_partner_id"),
        ("opportunities", "opportunities/2025-03-31_opportunities.csv", 3, "missing_fx_rate"),
        ("payments", "payments/2025-04-30_payments.csv", 3, "missing_fx_rate"),
        ("payments", "payments/2025-04-30_payments.csv", 4, "unknown_contract"),
    ]
    assert "no fx rate for USD in 2025-04" in found[2][4]


def test_placeholders_are_null_in_staging_key_fields(published):
    root, _ = published
    assert query(root / "wh.duckdb", "SELECT account_id, industry FROM staging.stg_crm__accounts ORDER BY 1") == [
        ("A1", "retail"), ("A2", None)]


def test_summary_names_bad_files_and_good_data_survives_and_a_later_export_overrides_by_key(tiny_run, tmp_path,
                                                                                           capsys):
    inbox, wh = copy_tiny_run(tiny_run, tmp_path)
    before = query(wh, "SELECT * EXCLUDE (_loaded_at) FROM raw.contract_lines ORDER BY ALL")
    # a later delivery: one good file and one bad file of each kind
    write_csv(inbox / "contract_lines/2025-05-31_contract_lines.csv", LINE_HEADER, [["C1", "3", "support", "5", ""]])
    (inbox / "payments/2025-05-31_payments.csv").write_bytes("payment_id,contract_id\nP9,C1\n".encode("utf-16"))
    write_csv(inbox / "contracts/2025-05-31_contracts.csv", CONTRACT_HEADER, [contract_row("C3", signed="2025-05-32")])
    write_csv(inbox / "accounts/2025-05-31_accounts.csv", ["account_id", "account_name", "region", "created_at"],
              [["A3", "Initech", "Mars", "2025-05-01"], ["A4", "Umbrella", "APAC", "2025-05-02"]])
    # and a later contracts export: C1's newest row wins, C2 is deleted
    write_csv(inbox / "contracts/2025-06-30_contracts.csv", [*CONTRACT_HEADER, "is_deleted"], [
        [*contract_row("C1", signed="2025-03-01", status="cancelled"), "false"],
        [*contract_row("C2", signed="2025-03-15", currency="USD", account="A2"), "yes"],
    ])
    code, out = run(inbox, wh, capsys)
    assert code == 0
    assert "payments/2025-05-31_payments.csv, whole file: file quarantined: the file is UTF-16 text" in out
    assert "contracts/2025-05-31_contracts.csv, row 2, column signed_date: not a valid date" in out
    assert "accounts/2025-05-31_accounts.csv, row 2, column region: not one of the allowed values" in out
    assert f"Published {wh}" in out
    # without DAGSTER_HOME (conftest unsets it) the run says Dagster keeps no record of it
    assert "Dagster: a throwaway instance (set DAGSTER_HOME to keep runs" in out
    after = query(wh, "SELECT * EXCLUDE (_loaded_at) FROM raw.contract_lines ORDER BY ALL")
    assert set(before) < set(after) and len(after) == len(before) + 1
    assert query(wh, "SELECT list(account_id ORDER BY account_id) FROM staging.stg_crm__accounts") == [
        (["A1", "A2", "A4"],)]
    assert query(wh, "SELECT contract_id, status, source_file FROM staging.stg_finance__contracts") == [
        ("C1", "cancelled", "contracts/2025-06-30_contracts.csv")]
    assert query(wh, "SELECT count(*) FROM raw.contracts") == [(4,)]  # history is kept in raw


def test_a_broken_run_leaves_the_published_file_byte_identical(tiny_run, tmp_path, capsys):
    inbox, wh = copy_tiny_run(tiny_run, tmp_path)
    digest = sha256(wh)
    (inbox / "payments/_profile.yml").write_text("profile: does_not_exist\n")
    write_csv(inbox / "payments/2025-05-31_payments.csv", PAY_HEADER, [["P7", "C1", "2025-05-02", "1", "CNY"]])
    code, out = run(inbox, wh, capsys)
    assert code == 1
    assert "no mapping profile named 'does_not_exist'" in out
    assert f"NOT published: {wh} is unchanged" in out
    assert sha256(wh) == digest
    # the failure is announced through the alert channels (here: the alert log beside the warehouse)
    from bdw.alerts import read_log

    failures = [r for r in read_log(tmp_path / "alerts.jsonl") if str(r.get("key", "")).startswith("run_failure:")]
    assert len(failures) == 1 and failures[0]["severity"] == "error"
    assert "does_not_exist" in failures[0]["summary"]


def test_re_ingesting_the_same_inbox_gives_identical_tables(tiny_run, tmp_path, capsys):
    inbox, wh = copy_tiny_run(tiny_run, tmp_path)
    sql = ("SELECT * EXCLUDE (_loaded_at) FROM raw.{t} ORDER BY ALL", "SELECT * FROM {s}.{t} ORDER BY ALL")
    tables = [("raw", "payments"), ("raw", "contracts"), ("raw", "opportunities"),
              ("staging", "stg_finance__contract_lines"), ("staging", "stg_crm__opportunities"),
              ("marts", "kpi_values"), ("marts", "kpi_scorecard"), ("marts", "early_warnings")]

    def snapshot(path: Path) -> list:
        return [query(path, sql[s != "raw"].format(s=s, t=t)) for s, t in tables]

    first = snapshot(wh)
    assert first[5], "the tiny inbox has KPI rows to compare"
    # the same inbox and as-of date again: nothing to do, the published file is left untouched
    published = sha256(wh), wh.stat().st_mtime_ns
    code, out = run(inbox, wh, capsys)
    assert code == 0 and "nothing changed since run" in out and "is left as it is" in out, out
    assert (sha256(wh), wh.stat().st_mtime_ns) == published
    # another as-of date rebuilds: every file is known already, nothing is ingested twice
    code, out = run(inbox, wh, capsys, "--as-of", "2025-05-01")
    assert code == 0 and "+0 rows" in out and "+1 rows" not in out
    assert snapshot(wh)[:5] == first[:5]
    # and a second warehouse built from scratch on the same inbox holds the same data
    wh2 = tmp_path / "other" / "wh.duckdb"
    assert run(inbox, wh2, capsys)[0] == 0
    assert snapshot(wh2) == first


def test_as_of_defaults_to_the_newest_file_date(published):
    root, _ = published
    from bdw.run_context import resolve_as_of
    from bdw.settings import load_settings

    assert resolve_as_of(load_settings(root / "inbox", root / "wh.duckdb")) == dt.date(2025, 4, 30)


def test_a_failing_report_page_leaves_the_run_published_and_rollback_restores_the_previous_version(
        tiny_run, tmp_path, capsys):
    """The report page is written after the warehouse is published: when it cannot be written (here
    a folder stands where the page goes) the run still published, exits 0, and says what failed.
    ``bdw rollback`` then puts the previous version back, one step only."""
    inbox, wh = copy_tiny_run(tiny_run, tmp_path)
    first = sha256(wh)
    write_csv(inbox / "payments/2025-05-31_payments.csv", PAY_HEADER, [["P8", "C1", "2025-05-02", "1", "CNY"]])
    (tmp_path / "wh_report.html").unlink()
    (tmp_path / "wh_report.html").mkdir()
    code, out = run(inbox, wh, capsys)
    assert code == 0, out
    assert "FAILED steps:" in out and "  - report:" in out
    assert f"Published {wh}" in out
    assert query(wh, "SELECT count(*) FROM marts.fct_contracts") == [(2,)]
    from bdw.alerts import read_log

    failures = [r for r in read_log(tmp_path / "alerts.jsonl") if str(r.get("key", "")).startswith("run_failure:")]
    assert len(failures) == 1 and "report" in failures[0]["summary"]
    assert "was published; only the pages written after it failed" in failures[0]["detail"]

    second = sha256(wh)
    assert second != first and query(wh, "SELECT count(*) FROM raw.payments") == [(4,)]
    assert main(["rollback", "--warehouse", str(wh)]) == 0
    assert sha256(wh) == first and query(wh, "SELECT count(*) FROM raw.payments") == [(3,)]
    assert sha256(tmp_path / "wh.rolled_back.duckdb") == second
    assert main(["rollback", "--warehouse", str(wh)]) == 1  # one step only
    assert "no previous version" in capsys.readouterr().err


def test_published_file_opens_in_duckdb_1x(published, tmp_path):
    """Analysts' older tools (DuckDB 1.x CLIs, DBeaver) must read what DuckDB 2.0 publishes."""
    root, _ = published
    venv = throwaway_venv(tmp_path / "duckdb14", "duckdb==1.4.*")
    script = ("import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
              "print(duckdb.__version__, c.execute('SELECT count(*) FROM staging.stg_finance__contract_lines')"
              ".fetchone()[0], c.execute(\"SELECT value FROM marts.kpi_values WHERE kpi_id = 'signed_revenue' "
              "AND period = '2025' AND segment = 'all'\").fetchone()[0])")
    out = subprocess.run([str(venv / "bin/python"), "-c", script, str(root / "wh.duckdb")], check=True,
                         capture_output=True, text=True).stdout.split()
    # C1 1,000,000 + 200,000 CNY and C2 100,000 USD at 7.2 in March 2025
    assert out[0].startswith("1.4.") and out[1] == "3" and float(out[2]) == 1_920_000


def test_the_command_exits_with_its_code_and_all_of_its_output(tmp_path):
    """``bdw`` leaves without Python's teardown (bdw.cli.entry); its exit code and every line it
    printed, to stdout and to stderr, still arrive."""
    def bdw_process(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bdw.cli", *args], capture_output=True, text=True, timeout=300)

    made = bdw_process("sample", "--out", str(tmp_path / "inbox"))
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"wrote the sample inbox to {tmp_path / 'inbox'}: ")
    assert made.stdout.endswith(" sources\n")
    missing = tmp_path / "missing"
    refused = bdw_process("run", "--inbox", str(missing), "--warehouse", str(tmp_path / "wh.duckdb"),
                          "--workdir", str(tmp_path / "work"))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == f"error: inbox folder {missing} does not exist\n"
    # ... and it leaves without the teardown: an exit handler registered before it never runs
    argv = ["bdw", "run", "--inbox", str(missing), "--warehouse", str(tmp_path / "wh.duckdb")]
    script = (f"import atexit, sys; atexit.register(print, 'teardown ran', file=sys.stderr); sys.argv = {argv!r}; "
              "from bdw.cli import entry; entry()")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stderr) == (2, f"error: inbox folder {missing} does not exist\n")
