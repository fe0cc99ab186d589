"""Hostile and broken inbox files, one class of defect at a time, on the ingestion of a throwaway
working database (the whole inbox at once, through ``bdw run``: test_hostile_inbox.py).

The modules these defects brought (``bdw.ingest.inbox``, ``bdw.csv_export``, ``bdw.privacy``,
``bdw.run_lock``) are imported inside the tests that use them, so that on the code before them
every other test still runs and fails on its behaviour.

1. every way a file can be cut: mid-quote among files read together, inside its last field, in the
   middle of a character, a cut workbook or Parquet file;
2. every name the loader uses for itself, as a header;
3. every path that resolves outside the inbox: links to files and folders, a linked profile, a
   profile name that is a path; and what the inbox holds that is not read;
4. bounds on what one file may cost: columns, bytes of a line, memory;
5. a quarantined finance file holds back the contracts it names;
6. formulas in the CSV files people open;
7. personal values: pseudonyms in the working database, the real ones in the vault, an old working
   database converted;
8. one run at a time, refused in one line (a blocked run's summary without a traceback:
   tests/e2e/test_alerts_run.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import textwrap
import time

import duckdb
import openpyxl
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bdw.automation import scan_inbox
from bdw.contract import SOURCES
from bdw.ingest.mapping import ProfileError, load_profile
from bdw.resources import connect_writer
from bdw.run_context import newest_file_date

from conftest import CONTRACT_HEADER, REPO, contract_row, ingest, query, settings_for, write_csv

PAY_HEADER = ["payment_id", "contract_id", "received_date", "amount", "currency"]
LINE_HEADER = ["contract_id", "line_no", "product_family", "amount", "is_recurring"]
ACC_HEADER = ["account_id", "account_name", "region", "created_at"]


def by_file(result, name: str):
    return next(f for f in result.files if f.file.endswith(name))


def held_back(con) -> list[tuple]:
    return con.execute("SELECT file, row_number, contract_id FROM raw._held_back_contracts ORDER BY ALL").fetchall()


# ---- 1. a file cut short ---------------------------------------------------------------------------

def test_a_quoted_file_cut_mid_line_is_quarantined_when_read_with_four_more_of_its_header(con, tmp_settings):
    """DuckDB's multi-file read drops an unterminated quote at the end of a file without an error."""
    folder = tmp_settings.inbox / "payments"
    for day in range(1, 6):
        rows = [[f"P{day}{n}", "C1", f"2025-01-0{day}", "1,000.00", "CNY"] for n in range(3)]
        write_csv(folder / f"2025-01-0{day}_payments.csv", PAY_HEADER, rows)
    cut = folder / "2025-01-03_payments.csv"
    cut.write_bytes(cut.read_bytes() + b'P3X,C2,2025-01-03,"1,0')
    r = ingest(con, tmp_settings, "payments")
    assert [f.status for f in r.files] == ["loaded", "loaded", "quarantined", "loaded", "loaded"]
    assert by_file(r, "01-03_payments.csv").message == (
        "cannot be read as CSV: line 5 has a quote that is never closed; is the file truncated or edited by hand?")
    assert con.execute("SELECT count(*) FROM raw.payments WHERE _source_file LIKE '%01-03%'").fetchone() == (0,)
    # what the quarantined file names is held back, read leniently: C1, and C2 of the cut row
    assert held_back(con) == [("payments/2025-01-03_payments.csv", None, "C1"),
                              ("payments/2025-01-03_payments.csv", None, "C2")]


def test_a_file_cut_inside_its_last_field_loses_its_last_row_or_goes_to_quarantine(con, tmp_settings):
    """No final line break: the last row may be cut short. A CRM file loses that row (rejected, with
    the reason), a finance file goes to quarantine whole."""
    acc = tmp_settings.inbox / "accounts/2025-01-31_accounts.csv"
    acc.parent.mkdir()
    acc.write_text("account_id,account_name,region,created_at\nA1,Acme,CN,2024-05-01\nA2,Globex,EU,2024-06-0")
    r = ingest(con, tmp_settings, "accounts")
    assert [(f.status, f.rows_loaded, f.rows_rejected) for f in r.files] == [("partial", 1, 1)]
    assert r.files[0].issues[0] == (
        "accounts/2025-01-31_accounts.csv, row 3: the file does not end with a line break, so this last row may be "
        "cut short (an interrupted export?); deliver the whole file again")
    pay = tmp_settings.inbox / "payments/2025-01-31_payments.csv"
    pay.parent.mkdir()
    pay.write_text("payment_id,contract_id,received_date,amount,currency\nP1,C1,2025-01-05,100,CNY\n"
                   "P2,C2,2025-01-06,1000,CNY")  # "1000" may have been "10000"
    f = ingest(con, tmp_settings, "payments").files[0]
    assert (f.status, f.rows_loaded) == ("quarantined", 0)
    assert held_back(con) == [("payments/2025-01-31_payments.csv", 2, "C1"), ("payments/2025-01-31_payments.csv", 3,
                                                                              "C2")]


def test_a_file_that_ends_whole_without_a_line_break_loads(con, tmp_settings):
    """A last field in quotes, closed, cannot have been cut; and a stray quote inside an unquoted
    field (which DuckDB reads) is no sign of a cut either."""
    folder = tmp_settings.inbox / "payments"
    folder.mkdir()
    (folder / "2025-01-31_payments.csv").write_text(
        'payment_id,contract_id,received_date,amount,currency\nP1,C1,2025-01-05,100,"CNY"')
    (folder / "2025-02-28_payments.csv").write_text(
        'payment_id,contract_id,received_date,amount,currency,memo\nP2,C1,2025-02-05,100,CNY,5" screen\n')
    r = ingest(con, tmp_settings, "payments")
    assert [(f.status, f.rows_loaded) for f in r.files] == [("loaded", 1), ("loaded", 1)]


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_file_cut_in_the_middle_of_a_character_is_named_so(con, tmp_settings, encoding):
    path = tmp_settings.inbox / "accounts/2025-01-31_accounts.csv"
    path.parent.mkdir()
    data = "account_id,account_name,region,created_at\nA1,华为技术,CN,2024-05-01\nA2,中兴通讯".encode(encoding)
    path.write_bytes(data[:-1])
    f = ingest(con, tmp_settings, "accounts").files[0]
    assert f.status == "quarantined"
    assert f.message.startswith("the file ends in the middle of a character")
    assert "truncated" in f.message


def test_a_cut_workbook_or_parquet_file_is_quarantined(con, tmp_settings):
    wb = openpyxl.Workbook()
    wb.active.append(CONTRACT_HEADER)
    for i in range(200):
        wb.active.append(contract_row(f"C{i}"))
    buf = io.BytesIO()
    wb.save(buf)
    folder = tmp_settings.inbox / "contracts"
    folder.mkdir()
    (folder / "2025-03-31_contracts.xlsx").write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    table = pa.table({c: [v] for c, v in zip(CONTRACT_HEADER, contract_row("C1"), strict=True)})
    pq.write_table(table, folder / "whole.parquet")
    data = (folder / "whole.parquet").read_bytes()
    (folder / "whole.parquet").unlink()
    (folder / "2025-04-30_contracts.parquet").write_bytes(data[: len(data) - 20])
    r = ingest(con, tmp_settings, "contracts")
    assert [f.status for f in r.files] == ["quarantined", "quarantined"]
    assert "Excel" in r.files[0].message and "Parquet" in r.files[1].message


# ---- 2. headers named like the loader's own columns ------------------------------------------------

LOADER_NAMES = ["_row_number", "rowid", "_file_idx", "_issues", "_maybe_cut", "_source_file", "_loaded_at",
                "_file_hash", "account_id__t", "_t_account_id", "c1", "c4", "_bdw_file", "filename", "file_row_number"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_a_header_named_like_a_loader_column_is_an_ordinary_extra_column(con, tmp_settings, fmt):
    header = [*ACC_HEADER, *LOADER_NAMES]
    row = ["A1", "Acme", "CN", "2024-05-01", *(f"v{i}" for i in range(len(LOADER_NAMES)))]
    path = tmp_settings.inbox / f"accounts/2025-01-31_accounts.{fmt}"
    if fmt == "csv":
        write_csv(path, header, [row, ["A2", "Globex", "EU", "2024-06-01", *[""] * len(LOADER_NAMES)]])
    elif fmt == "xlsx":
        path.parent.mkdir()
        wb = openpyxl.Workbook()
        wb.active.append(header)
        wb.active.append(row)
        wb.active.append(["A2", "Globex", "EU", "2024-06-01"])
        wb.save(path)
    else:
        path.parent.mkdir()
        pq.write_table(pa.table({h: [v, None] for h, v in zip(header, row, strict=True)} | {
            "account_id": ["A1", "A2"], "account_name": ["Acme", "Globex"], "region": ["CN", "EU"],
            "created_at": ["2024-05-01", "2024-06-01"]}), path)
    f = ingest(con, tmp_settings, "accounts").files[0]
    assert (f.status, f.rows_loaded) == ("loaded", 2), f.message
    got = con.execute("SELECT account_id, account_name, _row_number, row_number, rowid_2, account_id__t, t_account_id,"
                      " _source_file FROM raw.accounts ORDER BY account_id").fetchall()
    rel = path.relative_to(tmp_settings.inbox).as_posix()
    first = 1 if fmt == "parquet" else 2  # a row's number as a person sees it: CSV and sheets have a header row
    assert got == [("A1", "Acme", first, "v0", "v1", "v8", "v9", rel),
                   ("A2", "Globex", first + 1, None, None, None, None, rel)]
    # DuckDB's own rowid is still the table's
    assert con.execute("SELECT count(DISTINCT rowid) FROM raw.accounts").fetchone() == (2,)


def test_a_derived_column_suffix_in_a_header_never_replaces_the_real_column(con, tmp_settings):
    write_csv(tmp_settings.inbox / "contract_lines/2025-01-31_contract_lines.csv", [*LINE_HEADER, "amount__t",
                                                                                    "contract_id__t"],
              [["C1", "1", "saas", "100", "", "1000", "C9"], ["C1", "2", "saas", "200", "", "2000", ""]])
    write_csv(tmp_settings.inbox / "contract_lines/2025-02-28_contract_lines.csv", LINE_HEADER,
              [["C2", "1", "saas", "300", ""]])
    r = ingest(con, tmp_settings, "contract_lines")
    assert [f.status for f in r.files] == ["loaded", "loaded"]
    assert con.execute("SELECT contract_id, line_no, amount, amount__t FROM raw.contract_lines ORDER BY ALL"
                       ).fetchall() == [("C1", 1, 100, "1000"), ("C1", 2, 200, "2000"), ("C2", 1, 300, None)]


# ---- 3. nothing outside the inbox is read -------------------------------------------------------------

def test_links_and_what_is_not_read_are_listed_without_being_read(con, tmp_settings, tmp_path):
    inbox = tmp_settings.inbox
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "credentials").write_text("SECRET_FIRST_LINE,C1,2025-01-05,1,CNY\n")
    write_csv(outside / "folder/2025-01-31_partners.csv", ["partner_id", "partner_name"], [["SECRET", "x"]])
    write_csv(inbox / "payments/2025-01-31_payments.csv", PAY_HEADER, [["P1", "C1", "2025-01-05", "1", "CNY"]])
    os.symlink(outside / "credentials", inbox / "payments/2099-12-31_payments.csv")
    os.symlink(outside / "folder", inbox / "partners")
    os.symlink(outside / "credentials", inbox / "payments/_profile.yml.bak")  # not data either way
    os.mkfifo(inbox / "payments/2025-02-28_payments.csv")  # a reader would block on it forever
    write_csv(inbox / "payments/2024/2025-01-01_payments.csv", PAY_HEADER, [])
    write_csv(inbox / "Paymnets/2025-03-31_payments.csv", PAY_HEADER, [])
    write_csv(inbox / "sales/x.csv", PAY_HEADER, [])
    (inbox / "readme.txt").write_text("hello")
    (inbox / ".DS_Store").write_text("")
    # DuckDB reads "[1]" as a glob: this file's name would match the link beside it
    os.symlink(outside / "credentials", inbox / "payments/2025-03-01_payments.csv")
    write_csv(inbox / "payments/2025-03-0[1]_payments.csv", PAY_HEADER, [["P9", "C1", "2025-03-01", "9", "CNY"]])
    r = ingest(con, tmp_settings, "payments")
    assert [(f.file, f.status) for f in r.files] == [("payments/2025-01-31_payments.csv", "loaded"),
                                                     ("payments/2025-03-0[1]_payments.csv", "loaded")]
    assert con.execute("SELECT list(payment_id ORDER BY payment_id) FROM raw.payments").fetchone() == (["P1", "P9"],)
    assert ingest(con, tmp_settings, "partners").files == []
    # the sensor and the as-of date do not see them either (the link's name says 2099-12-31)
    assert scan_inbox(inbox, {})[0] == ["payments/2025-01-31_payments.csv", "payments/2025-03-0[1]_payments.csv"]
    assert newest_file_date(tmp_settings) == dt.date(2025, 1, 31)
    assert b"SECRET" not in tmp_settings.work_db.read_bytes()
    from bdw.ingest.inbox import survey

    assert [i.line() for i in survey(inbox).ignored] == [
        "Paymnets/: not a source folder: not read (did you mean payments/?)",
        "partners/: a link: links are not followed; put the file itself into the inbox",
        "payments/2024/: a folder inside a source folder: its files are not read (files go directly into the "
        "source's folder)",
        "payments/2025-02-28_payments.csv: not a regular file (a pipe, socket or device): not read",
        "payments/2025-03-01_payments.csv: a link: links are not followed; put the file itself into the inbox",
        "payments/2099-12-31_payments.csv: a link: links are not followed; put the file itself into the inbox",
        "readme.txt: a file outside every source folder: not read (put it into its source's folder, e.g. payments/)",
        f"sales/: not a source folder: not read (source folders: {', '.join(sorted(SOURCES))})",
    ]


def test_a_linked_profile_or_a_profile_name_that_is_a_path_is_refused_unread(con, tmp_settings, tmp_path):
    secret = tmp_path / "secret.yml"
    secret.write_text("profile: [SECRET_VALUE\n")  # YAML's error would quote it
    write_csv(tmp_settings.inbox / "payments/2025-01-31_payments.csv", PAY_HEADER, [])
    os.symlink(secret, tmp_settings.inbox / "payments/_profile.yml")
    with pytest.raises(ProfileError, match="is a link or not a file; links are not followed") as e:
        ingest(con, tmp_settings, "payments")
    assert "SECRET" not in str(e.value)
    for name in ("../../secret", str(tmp_path / "secret"), "a/b"):
        with pytest.raises(ProfileError, match="is not a profile name"):
            load_profile(name, (tmp_path,))


# ---- 4. what one file may cost ------------------------------------------------------------------------

MEMORY_PROBE = textwrap.dedent("""
    import sys
    from pathlib import Path
    import duckdb
    from bdw.ingest import ingest_source
    from bdw.settings import load_settings
    root = Path(sys.argv[1])
    s = load_settings(root / "inbox", root / "wh.duckdb", root / "work")
    s.workdir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(s.work_db))
    f = ingest_source(con, s, "accounts").files[0]
    print(f.status, f.file, f.message, sep="\\n")
""")


def peak_tree_rss(proc: subprocess.Popen) -> int:
    """The largest resident size of ``proc`` and its children together while it runs, in bytes."""
    parent = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs))
        except psutil.Error:
            pass
        time.sleep(0.02)
    return peak


def test_a_6000_column_file_stays_under_1_gib_and_is_named_with_the_limit(tmp_path):
    header = ["account_id", "account_name", "region", "created_at", *(f"attr_{i}" for i in range(5996))]
    write_csv(tmp_path / "inbox/accounts/2025-01-31_accounts.csv", header,
              [[f"A{r}", "Acme", "CN", "2024-05-01", *["value"] * 5996] for r in range(300)])
    proc = subprocess.Popen([sys.executable, "-c", MEMORY_PROBE, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    peak = peak_tree_rss(proc)
    out = proc.stdout.read().splitlines()
    assert proc.returncode == 0
    assert out == ["quarantined", "accounts/2025-01-31_accounts.csv",
                   "has 6,000 columns, more than the limit of 500 (max_columns, limits in config/bdw.yml); "
                   "export only the columns the contract lists"]
    assert 0 < peak < 1 << 30, f"peak resident size {peak / 2**20:.0f} MiB"


def test_wide_workbooks_and_parquet_files_are_refused_before_their_rows_are_read(con, tmp_settings):
    folder = tmp_settings.inbox / "accounts"
    folder.mkdir()
    wb = openpyxl.Workbook()
    wb.active.append([*ACC_HEADER, *(f"x{i}" for i in range(600))])
    wb.active.append(["A1", "Acme", "CN", "2024-05-01"])
    wb.save(folder / "2025-01-31_accounts.xlsx")
    pq.write_table(pa.table({f"x{i}": ["v"] for i in range(600)}), folder / "2025-02-28_accounts.parquet")
    r = ingest(con, tmp_settings, "accounts")
    assert [f.status for f in r.files] == ["quarantined", "quarantined"]
    assert all("more than the limit of 500 (max_columns" in f.message for f in r.files)


def test_a_long_line_is_named_as_such_and_the_limits_are_configurable(tmp_path, monkeypatch):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/bdw.yml").write_text("limits:\n  max_line_bytes: 1000\n  max_columns: 8\n  memory: 256MB\n")
    monkeypatch.setenv("BDW_CONFIG_DIR", str(tmp_path / "config"))
    settings = settings_for(tmp_path)
    assert (settings.limits.max_line_bytes, settings.limits.max_columns, settings.limits.memory) == (1000, 8, "256MB")
    write_csv(settings.inbox / "accounts/2025-01-31_accounts.csv", [*ACC_HEADER, "notes"],
              [["A1", "Acme", "CN", "2024-05-01", "x" * 5000]])
    write_csv(settings.inbox / "accounts/2025-02-28_accounts.csv", [*ACC_HEADER, *"abcde"], [])
    settings.workdir.mkdir()
    con = duckdb.connect(str(settings.work_db))
    try:
        r = ingest(con, settings, "accounts")
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] in ("244.1 MiB", "256.0 MB")
    finally:
        con.close()
    assert [f.message for f in r.files] == [
        "cannot be read as CSV: line 2 is longer than 1,000 bytes, the limit of one line (max_line_bytes, limits in "
        "config/bdw.yml); a field that large is no CRM or finance value",
        "has 9 columns, more than the limit of 8 (max_columns, limits in config/bdw.yml); export only the columns "
        "the contract lists"]
    (tmp_path / "config/bdw.yml").write_text("limits:\n  max_columns: many\n")
    with pytest.raises(ValueError, match="limits.max_columns must be a whole number above 0, not 'many'"):
        settings_for(tmp_path)


# ---- 5. a quarantined finance file holds back the contracts it names ----------------------------------

def test_held_back_contracts_follow_the_files_in_quarantine(con, tmp_settings):
    lines = tmp_settings.inbox / "contract_lines/2025-01-31_contract_lines.csv"
    write_csv(lines, LINE_HEADER, [["C1", "1", "saas", "100", ""], ["C2", "1", "saas", "1,0x0", ""],
                                   ["C2", "2", "saas", "5", ""]])
    ingest(con, tmp_settings, "contract_lines")
    assert held_back(con) == [("contract_lines/2025-01-31_contract_lines.csv", 2, "C1"),
                              ("contract_lines/2025-01-31_contract_lines.csv", 3, "C2")]
    # fixed under the same name: it loads, nothing is held back any more
    write_csv(lines, LINE_HEADER, [["C1", "1", "saas", "100", ""], ["C2", "1", "saas", "1,010", ""]])
    assert ingest(con, tmp_settings, "contract_lines").files[0].status == "loaded"
    assert held_back(con) == []
    bad = tmp_settings.inbox / "payments/2025-01-31_payments.csv"
    write_csv(bad, PAY_HEADER, [["P1", "C4", "2025-01-32", "1", "CNY"]])
    ingest(con, tmp_settings, "payments")
    assert ("payments/2025-01-31_payments.csv", 2, "C4") in held_back(con)
    bad.unlink()  # removed from the inbox: it holds nothing back
    ingest(con, tmp_settings, "payments")
    assert [h for h in held_back(con) if h[0].startswith("payments/")] == []


def test_a_rejected_row_holds_back_its_contract_under_the_row_policy(tmp_path, monkeypatch):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/bdw.yml").write_text("policies:\n  costs: row\n")
    monkeypatch.setenv("BDW_CONFIG_DIR", str(tmp_path / "config"))
    settings = settings_for(tmp_path)
    settings.workdir.mkdir()
    write_csv(settings.inbox / "costs/2025-01-31_costs.csv",
              ["cost_id", "contract_id", "cost_date", "cost_type", "amount", "currency"],
              [["K1", "C1", "2025-01-05", "travel", "5", "CNY"], ["K2", "C3", "2025-01-05", "picnic", "5", "CNY"]])
    con = duckdb.connect(str(settings.work_db))
    try:
        assert ingest(con, settings, "costs").files[0].status == "partial"
        assert held_back(con) == [("costs/2025-01-31_costs.csv", 3, "C3")]
    finally:
        con.close()


# ---- 6. formulas in the CSV files people open -------------------------------------------------------

@pytest.mark.parametrize(("cell", "written"), [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"), ("@SUM(A1)", "'@SUM(A1)"),
    ("+86 138 0000", "'+86 138 0000"), ("-2+3", "'-2+3"), ("\tcmd", "'\tcmd"), ("\r=1", "'\r=1"),
    ("＝1+1", "'＝1+1"), ("-1,234.50", "-1,234.50"), ("+7", "+7"), ("-.5", "-.5"), ("Acme", "Acme"), (None, ""),
    ("a=b", "a=b"),
])
def test_a_cell_a_spreadsheet_would_evaluate_is_written_as_text(cell, written):
    from bdw.csv_export import neutralise

    assert neutralise(cell) == written


def test_quarantine_files_are_written_formula_safe(con, tmp_settings):
    write_csv(tmp_settings.inbox / "accounts/2025-01-31_accounts.csv", [*ACC_HEADER, "=cmd|' /C calc'!A0"], [
        ["A1", "@SUM(1+1)", '=HYPERLINK("http://evil.example","x")', "2024-05-01", "-3"],
        ["A2", "Globex", "EU", "2024-06-01", ""]])
    write_csv(tmp_settings.inbox / "payments/2025-01-31_payments.csv", PAY_HEADER,
              [["P1", "C1", "2025-01-05", "=1+1", "CNY"]])
    ingest(con, tmp_settings, "accounts")
    ingest(con, tmp_settings, "payments")
    q = tmp_settings.quarantine_dir
    with (q / "accounts/2025-01-31_accounts.rejected.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [*ACC_HEADER, "'=cmd|' /C calc'!A0", "_row", "_reason"]
    assert rows[1][:5] == ["A1", "'@SUM(1+1)", "'=HYPERLINK(\"http://evil.example\",\"x\")", "2024-05-01", "-3"]
    with (q / "payments/2025-01-31_payments.csv.errors.csv").open(encoding="utf-8") as f:
        errors = list(csv.reader(f))
    assert errors[2][-1] == "'=1+1"
    assert not any(cell.startswith(("=", "@", "+")) for row in errors + rows for cell in row)
    assert [p.name for p in (q / "accounts").iterdir() if p.suffix == ".csv"] == ["2025-01-31_accounts.rejected.csv"]
    # one writer for every CSV the project writes for people
    writers = [p for p in (REPO / "dagster_project/bdw").rglob("*.py")
               if ("csv.writer" in p.read_text() or "TO '" in p.read_text()) and "sample" not in p.parts]
    assert [p.name for p in writers] == ["csv_export.py"]


# ---- 7. personal values ----------------------------------------------------------------------------------

def test_personal_values_are_pseudonyms_in_the_working_database_and_real_in_the_vault(con, tmp_settings):
    write_csv(tmp_settings.inbox / "accounts/2025-01-31_accounts.csv",
              [*ACC_HEADER, "decision_maker", "contact_email", "Contact Name", "mobile", "owner name", "segment"], [
                  ["A1", "Acme", "CN", "2024-05-01", "Zhang San", "zs@acme.example", "Li Si", "+86 1", "Wang", "big"],
                  ["A2", "Globex", "EU", "2024-06-01", "N/A", "zs@acme.example", "", "", "", "small"]])
    ingest(con, tmp_settings, "accounts")
    rows = con.execute("SELECT decision_maker, contact_email, contact_name, mobile, owner_name, segment "
                       "FROM raw.accounts ORDER BY account_id").fetchall()
    assert rows[1][0] == "N/A" and rows[1][2:5] == (None, None, None)  # placeholders and blanks stay as they are
    assert rows[0][5] == "big"  # not personal by its header
    pseudonyms = [v for v in (*rows[0][:5], rows[1][1])]
    assert all(v.startswith("pn_") and len(v) == 19 for v in pseudonyms)
    assert rows[0][1] == rows[1][1]  # the same e-mail, the same pseudonym
    assert b"Zhang San" not in tmp_settings.work_db.read_bytes() and b"zs@acme" not in tmp_settings.work_db.read_bytes()
    con.execute(f"ATTACH '{tmp_settings.personal_vault}' AS v (READ_ONLY)")
    vault = dict(con.execute("SELECT pseudonym, value FROM v.pseudonyms").fetchall())
    con.execute("DETACH v")
    assert [vault[p] for p in rows[0][:5]] == ["Zhang San", "zs@acme.example", "Li Si", "+86 1", "Wang"]
    assert oct(tmp_settings.personal_vault.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(("name", "personal"), [
    ("contact_name", True), ("mobile", True), ("联系电话", True), ("客户地址", True), ("e_mail", True),
    ("owner_name", True), ("account_name", False), ("partner_name", False), ("segment", False),
    ("phase", False), ("telemetry", False), ("notes", False)])
def test_an_extra_column_is_personal_by_its_headers_words(name, personal):
    from bdw.privacy import is_personal_header

    assert is_personal_header(name) is personal


def test_a_working_database_from_before_pseudonyms_is_converted_once(tmp_path):
    from bdw.privacy import UnprotectedDatabase, ensure_protected, protect_working_database

    work = tmp_path / "work.duckdb"
    con = duckdb.connect(str(work))
    con.execute("CREATE SCHEMA raw; CREATE SCHEMA staging")
    con.execute("CREATE TABLE raw.accounts (account_id VARCHAR, decision_maker VARCHAR, contact_email VARCHAR)")
    con.execute("INSERT INTO raw.accounts SELECT 'A' || i, 'Person Number ' || i, 'p' || i || '@example.com' "
                "FROM range(2000) t(i)")
    con.execute("CREATE TABLE staging.stg_hr__reps AS SELECT 'R1' AS rep_id, 'Rep Realname' AS rep_name")
    con.execute("CREATE VIEW staging.v AS SELECT account_id FROM raw.accounts")
    con.close()
    assert b"Person Number 1999" in work.read_bytes()
    con = duckdb.connect(str(work))
    with pytest.raises(UnprotectedDatabase, match=r"personal values in raw.accounts.contact_email"):
        ensure_protected(con)  # ingestion refuses to add pseudonyms beside real values
    con.close()
    assert protect_working_database(work, tmp_path / "personal.duckdb", connect_writer) is True
    data = work.read_bytes()
    assert b"Person Number" not in data and b"@example.com" not in data and b"Rep Realname" not in data
    assert query(work, "SELECT count(*), count(DISTINCT decision_maker), min(decision_maker) LIKE 'pn_%' "
                       "FROM raw.accounts") == [(2000, 2000, True)]
    assert query(work, "SELECT count(*) FROM staging.v") == [(2000,)]  # views survive the rewrite
    assert query(tmp_path / "personal.duckdb", "SELECT count(*) FROM pseudonyms") == [(4001,)]
    assert protect_working_database(work, tmp_path / "personal.duckdb", connect_writer) is False  # once


# ---- 8. one run at a time, refused in one line -------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from bdw.run_lock import run_lock
    from bdw.settings import load_settings
    with run_lock(load_settings(sys.argv[1], sys.argv[2], sys.argv[3])):
        print("holding", flush=True)
        time.sleep(600)
""")


def test_a_second_run_is_refused_naming_the_first_and_a_killed_runs_lock_is_taken_over(tmp_path):
    from bdw.run_lock import RunLocked, run_lock, step_lock

    inbox, wh, work = tmp_path / "inbox", tmp_path / "wh.duckdb", tmp_path / "work"
    inbox.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(inbox), str(wh), str(work)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline() == "holding\n"
        second = subprocess.run([sys.executable, "-m", "bdw.cli", "run", "--inbox", str(inbox), "--warehouse", str(wh),
                                 "--workdir", str(work)], capture_output=True, text=True, timeout=300)
        assert second.returncode == 3 and second.stdout == ""
        assert second.stderr.startswith(f"error: another run is in progress on {wh} (pid {holder.pid}, bdw run, "
                                        "started at 20")
        assert second.stderr.endswith("this run did not start. Wait for it to finish, then run again.\n")
        settings = settings_for(tmp_path)
        with pytest.raises(RunLocked, match=f"pid {holder.pid}"), step_lock(settings):
            pass  # a step under the daemon is refused too
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with run_lock(settings_for(tmp_path)):  # the killed holder's lock is free
        assert f'"pid": {os.getpid()}' in (work / "run.lock").read_text()


def test_a_broken_configuration_is_one_line(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/bdw.yml").write_text("limits:\n  memory: lots\n")
    (tmp_path / "inbox").mkdir()
    done = subprocess.run([sys.executable, "-m", "bdw.cli", "run", "--inbox", str(tmp_path / "inbox"), "--warehouse",
                           str(tmp_path / "wh.duckdb")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "BDW_CONFIG_DIR": str(tmp_path / "config")})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"error: {tmp_path / 'config/bdw.yml'}: limits.memory must be a size like 2GB or 512MB, "
                           "not 'lots'\n")
