"""The ingestion's parts that carry a rule of their own: header matching, the duplicate rule, the
manifest and issue tables, the temporary tables' clean-up. The rules as a user meets them are in
test_ingest_rules.py."""

from __future__ import annotations

import duckdb
import pytest

from bdw.contract import SOURCES
from bdw.ingest.bookkeeping import (
    MAX_ISSUES_PER_FILE,
    Issue,
    ManifestEntry,
    Severity,
    ensure_raw_tables,
    manifest_of,
    record_entries,
    replace_files_held_back,
    replace_files_issues,
    replace_issues,
)
from bdw.ingest.load import twin
from bdw.ingest.mapping import SourceMapping, parse_profile
from bdw.ingest.outcome import FileStatus
from bdw.ingest.prepare import MissingColumns, extra_column_name, header_test, match_headers, prepare
from bdw.ingest.readers import ReadResult, UnreadableFile, positions, remembered_scans, scan_file
from bdw.ingest.reading import TEMP, drop_temp_tables

from conftest import ingest, write_csv


def test_file_statuses_are_the_manifests_words():
    assert [s.value for s in FileStatus] == ["loaded", "partial", "quarantined", "unchanged", "duplicate"]
    assert [s for s in FileStatus if s.holds_rows] == [FileStatus.LOADED, FileStatus.PARTIAL]


def test_a_duplicate_is_of_the_first_other_file_by_name_whose_rows_are_loaded():
    rows_in_raw = {"payments/b.csv": "h1", "payments/a.csv": "h1", "payments/c.csv": "h2"}
    assert twin(rows_in_raw, "payments/d.csv", "h1") == "payments/a.csv"
    assert twin(rows_in_raw, "payments/a.csv", "h1") == "payments/b.csv"  # never a file's own earlier version
    assert twin(rows_in_raw, "payments/c.csv", "h2") is None
    assert twin(rows_in_raw, "payments/d.csv", "h3") is None


@pytest.mark.parametrize(("header", "name"), [
    ("Notes", "notes"), ("备注", "备注"), ("Sales-Notes", "sales_notes"),
    # spaces and dashes are already "_" (a header's normal form); each run of other characters becomes one "_"
    ("Sales Notes (internal)", "sales_notes__internal"), ("备注 / Memo", "备注___memo"), ("Notes!?", "notes"),
    ("_row_number", "row_number"), ("!!!", "column"),
])
def test_an_extra_columns_name_is_a_plain_identifier(header, name):
    assert extra_column_name(header) == name


def test_headers_match_columns_and_aliases_and_the_rest_become_extras():
    profile = parse_profile("t", {"sources": {"accounts": {"columns": {"account_name": ["Kunde", "Customer Name"]}}}})
    match = match_headers([" Account ID", "Kunde", "Region", "Region!", "Notes", "notes ", "!!!", "???"],
                          SOURCES["accounts"], profile.for_source("accounts"))
    # the file's columns by position (0-based): a header is only ever matched as text
    assert match.by_column == {"account_id": 0, "account_name": 1, "region": 2}
    assert match.header("account_name") == "Kunde"
    # an extra's name is never a contract column's, nor another extra's
    assert match.extras == {"region_2": 3, "notes": 4, "notes_2": 5, "column": 6, "column_2": 7}
    assert match.by_normalised["notes"] == 4  # the first of two headers that normalise alike


def test_two_headers_meaning_one_column_make_the_file_unreadable():
    profile = parse_profile("t", {"sources": {"accounts": {"columns": {"account_name": "Kunde"}}}})
    with pytest.raises(UnreadableFile, match="'Account Name' and 'Kunde', both mean column account_name"):
        match_headers(["account_id", "Account Name", "Kunde"], SOURCES["accounts"], profile.for_source("accounts"))


@pytest.mark.parametrize(("cells", "is_header"), [
    (["Account ID", "Account Name", "Region"], True),
    (["account_id", "account_name", "notes", ""], True),  # two of three non-empty cells
    (["account_id", "account_name", "a", "b", "c"], False),  # two of five
    (["Customer list 2025", "", ""], False),  # a title row
    (["account_id", "", ""], False),  # one known name is not enough
])
def test_a_spreadsheet_header_row_names_at_least_two_columns_and_half_its_cells(cells, is_header):
    assert header_test(SOURCES["accounts"], SourceMapping())(cells) is is_header


def _read_table(con: duckdb.DuckDBPyConnection, headers: list[str], rows: list[tuple]) -> ReadResult:
    """A reader's table: columns by position, the headers beside it."""
    cols = ", ".join(f"{c} VARCHAR" for c in positions(len(headers)))
    con.execute(f"CREATE TABLE t ({cols}, _row_number INTEGER)")
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in range(len(headers) + 1))})", rows)
    return ReadResult("t", headers, len(rows), "csv", "utf-8", 1)


LINES_PROFILE = {"sources": {"contract_lines": {
    "columns": {"line_no": "Line", "product_family": "Family"},
    "values": {"product_family": {"SaaS订阅": "saas"}},
    "constants": {"is_recurring": "true"},
    "fill": {"amount": "Gross"},
}}}


def test_prepare_applies_the_profile_trims_blanks_to_null_and_keeps_extras():
    con = duckdb.connect()
    read = _read_table(con, ["Contract ID", "Amount", "Family", "Line", "memo", "Gross"], [
        ("C1", " 100 ", "SaaS订阅", "1", " ", "200", 2),
        ("C1", "", "License", "2", "x", "50", 3),
    ])
    mapping = parse_profile("t", LINES_PROFILE).for_source("contract_lines")
    extras = prepare(con, SOURCES["contract_lines"], mapping, read, "out", 7)
    assert extras == ["memo", "gross"]
    assert con.execute("SELECT * FROM out ORDER BY _row_number").fetchall() == [
        # contract_id, line_no, product_family, amount, is_recurring, is_deleted, memo, gross, _row_number, _file_idx,
        # _maybe_cut
        ("C1", "1", "saas", "100", "true", None, None, "200", 2, 7, False),
        ("C1", "2", "License", "50", "true", None, "x", "50", 3, 7, False),  # amount filled; unmapped value as written
    ]


def test_prepare_names_the_missing_required_columns_and_a_missing_fill_column():
    con = duckdb.connect()
    read = _read_table(con, ["contract_id", "line_no", "amount"], [("C1", "1", "5", 2)])
    with pytest.raises(MissingColumns, match=r"^lacks required column product_family \(the header row 1 has: "
                                             r"contract_id, line_no, amount\)$"):
        prepare(con, SOURCES["contract_lines"], parse_profile("t", {}).for_source("contract_lines"), read, "out", 0)
    with pytest.raises(MissingColumns, match="the profile fills amount from 'gross', but the file has no such column"):
        prepare(con, SOURCES["contract_lines"], parse_profile("t", LINES_PROFILE).for_source("contract_lines"),
                read, "out", 0)


def test_an_issue_in_a_sentence():
    assert (Issue(3, "amount", "not a valid amount", "x").line("payments/a.csv")
            == "payments/a.csv, row 3, column amount: not a valid amount (found 'x')")
    assert (Issue(None, None, "file quarantined: the file is empty", None).line("payments/a.csv")
            == "payments/a.csv, whole file: file quarantined: the file is empty")


def test_a_manifest_entry_replaces_the_files_earlier_row():
    con = duckdb.connect()
    ensure_raw_tables(con)
    ManifestEntry("payments", "payments/a.csv", "h1", 10, "none", FileStatus.QUARANTINED, "r1", rows_read=3,
                  rows_rejected=3, message="bad").record(con)
    ManifestEntry("payments", "payments/a.csv", "h2", 12, "zh", FileStatus.LOADED, "r2", "csv", "gb18030", 4, 4, 0,
                  "").record(con)
    assert con.execute("SELECT * EXCLUDE (loaded_at) FROM raw._load_manifest").fetchall() == [
        ("payments", "payments/a.csv", "h2", 12, "csv", "gb18030", "zh", "loaded", 4, 4, 0, "", "r2")]
    assert manifest_of(con, "payments") == {"payments/a.csv": ("h2", FileStatus.LOADED)}
    assert manifest_of(con, "contracts") == {}


def test_a_files_issues_replace_its_earlier_ones_and_are_capped():
    con = duckdb.connect()
    ensure_raw_tables(con)
    replace_issues(con, "r1", "accounts", "accounts/a.csv", [Issue(2, "region", "bad", "X")], Severity.REJECTED_ROW)
    replace_issues(con, "r1", "accounts", "accounts/b.csv", [Issue(2, "region", "bad", "Y")], Severity.REJECTED_ROW)
    many = [Issue(n, "region", "bad", "Z") for n in range(2, MAX_ISSUES_PER_FILE + 12)]
    replace_issues(con, "r2", "accounts", "accounts/a.csv", many, Severity.QUARANTINED_FILE)
    rows = con.execute("SELECT file, run_id, severity, count(*), min(row_number), max(row_number) "
                       "FROM raw._load_issues GROUP BY ALL ORDER BY file").fetchall()
    assert rows == [("accounts/a.csv", "r2", "quarantined_file", 1000, 2, 1001),
                    ("accounts/b.csv", "r1", "rejected_row", 1, 2, 2)]
    replace_issues(con, "r3", "accounts", "accounts/a.csv", [], Severity.REJECTED_ROW)  # a clean new version
    assert con.execute("SELECT DISTINCT file FROM raw._load_issues").fetchall() == [("accounts/b.csv",)]


def test_a_deliverys_bookkeeping_is_written_for_all_its_files_at_once():
    """One statement per table for a source's files (``bdw.ingest.load``): each named file's rows are
    replaced, other files and other sources keep theirs, and a file judged clean loses its old issues."""
    con = duckdb.connect()
    ensure_raw_tables(con)
    replace_issues(con, "r1", "accounts", "accounts/a.csv", [Issue(2, "region", "bad", "X")], Severity.REJECTED_ROW)
    replace_issues(con, "r1", "accounts", "accounts/keep.csv", [Issue(3, "region", "bad", "K")], Severity.REJECTED_ROW)
    replace_issues(con, "r1", "reps", "accounts/a.csv", [Issue(4, "region", "bad", "R")], Severity.REJECTED_ROW)
    replace_files_held_back(con, "r1", "contracts", {"contracts/a.csv": [(2, "C-1")], "contracts/k.csv": [(5, "C-9")]})
    replace_files_issues(con, "r2", "accounts", {"accounts/a.csv": [], "accounts/b.csv": [
        Issue(7, "region", "bad", "Y"), Issue(8, "region", "bad", "Z")]}, Severity.REJECTED_ROW)
    replace_files_held_back(con, "r2", "contracts", {"contracts/a.csv": [], "contracts/b.csv": [(3, "C-2")]})
    loaded, partial = FileStatus.LOADED, FileStatus.PARTIAL
    record_entries(con, [
        ManifestEntry("accounts", "accounts/a.csv", "h1", 10, "none", loaded, "r2", "csv", "utf-8", 2, 2),
        ManifestEntry("accounts", "accounts/b.csv", "h2", 20, "none", partial, "r2", "csv", "utf-8", 5, 3, 2),
    ])
    assert con.execute("SELECT source, file, run_id, row_number FROM raw._load_issues ORDER BY ALL").fetchall() == [
        ("accounts", "accounts/b.csv", "r2", 7), ("accounts", "accounts/b.csv", "r2", 8),
        ("accounts", "accounts/keep.csv", "r1", 3), ("reps", "accounts/a.csv", "r1", 4)]
    assert con.execute("SELECT file, contract_id, run_id FROM raw._held_back_contracts ORDER BY ALL").fetchall() == [
        ("contracts/b.csv", "C-2", "r2"), ("contracts/k.csv", "C-9", "r1")]
    assert con.execute("SELECT file, status, rows_read, rows_loaded, rows_rejected FROM raw._load_manifest "
                       "ORDER BY file").fetchall() == [("accounts/a.csv", "loaded", 2, 2, 0),
                                                      ("accounts/b.csv", "partial", 5, 3, 2)]
    record_entries(con, [])  # a delivery with nothing loaded: no statement, nothing changes
    assert con.execute("SELECT count(*) FROM raw._load_manifest").fetchone() == (2,)


def test_drop_temp_tables_drops_the_ingestions_temporary_tables_and_views_only():
    con = duckdb.connect()
    con.execute(f"CREATE TEMP TABLE {TEMP}a AS SELECT 1 AS x")
    con.execute(f"CREATE TEMP VIEW {TEMP}v AS SELECT * FROM {TEMP}a")
    con.execute("CREATE TEMP TABLE other AS SELECT 1 AS x")
    con.execute(f"CREATE TABLE {TEMP}kept AS SELECT 1 AS x")  # not temporary
    drop_temp_tables(con)
    assert con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall() == [(f"{TEMP}kept",),
                                                                                          ("other",)]
    assert con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall() == []


def test_ingestion_leaves_no_temporary_table_behind(con, tmp_settings):
    header = ["activity_id", "account_id", "opportunity_id", "owner_id", "activity_date", "activity_type"]
    for day in ("01", "02"):  # read together: a group view, per-file views
        write_csv(tmp_settings.inbox / f"activities/2025-01-{day}_activities.csv", header,
                  [[f"X{day}", "A1", "", "R1", "2025-01-01", "call"], [f"Y{day}", "A1", "", "R1", "bad", "call"]])
    (tmp_settings.inbox / "activities/2025-01-03_activities.csv").write_bytes(b"")
    assert [f.status for f in ingest(con, tmp_settings, "activities").files] == [
        FileStatus.PARTIAL, FileStatus.PARTIAL, FileStatus.QUARANTINED]
    assert con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall() == []
    assert con.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal").fetchall() == []


def test_a_run_scans_each_file_once_and_a_changed_file_again(tmp_path):
    """Within ``remembered_scans`` (a ``bdw run``: its start-up scan, then ingestion) a file not
    changed since its scan is not read again; one written since is, even with its size and
    modification time put back (its change time moved); outside, nothing is remembered."""
    import hashlib
    import os

    path = write_csv(tmp_path / "a.csv", ["x"], [["1"]])
    assert scan_file(path) is not scan_file(path)
    with remembered_scans():
        first = scan_file(path)
        assert scan_file(path) is first
        with remembered_scans():  # nested (the CLI's check, then the run): the same memory
            assert scan_file(path) is first
        before = path.stat()
        path.write_bytes(path.read_bytes().replace(b"1", b"2"))  # same size
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        again = scan_file(path)
        assert again is not first and again.digest == hashlib.sha256(path.read_bytes()).hexdigest() != first.digest
    assert scan_file(path) is not scan_file(path)


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-01-05", "2025-01-05"), ("2024-02-29", "2024-02-29"), ("2025-02-29", None), ("2025-13-01", None),
    ("2025-01-00", None), ("9999-12-31", "9999-12-31"),  # the cast's form: YYYY-MM-DD
    ("2025-1-5", "2025-01-05"), (" 2025-01-05 ", "2025-01-05"), ("2025/01/05", "2025-01-05"),
    ("2025.1.5", "2025-01-05"), ("2025年1月5日", "2025-01-05"), ("2025-01-05T10:00:00+08:00", "2025-01-05"),
    ("2025-02-30 10:00", None), ("05/01/2025", None), ("+025-01-05", None), ("2025-01-05x", None),
])
def test_a_date_in_any_accepted_form_reads_as_its_day(text, expected):
    assert read_as("bdw_date", text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("12", "12.00"), ("-3.456", "-3.46"), ("007", "7.00"), ("1.995", "2.00"),  # the cast's form: plain digits
    ("99999999999999999999", None),  # more than DECIMAL(18, 2) holds
    ("1,234.50", "1234.50"), ("+5", "5.00"), (".5", "0.50"), (" 8 ", "8.00"),
    ("1,23", None), ("1e5", None), ("12 CNY", None), ("--1", None),
])
def test_an_amount_in_any_accepted_form_reads_as_its_value(text, expected):
    assert read_as("bdw_money", text) == expected


def read_as(macro: str, text: str) -> str | None:
    """What the row rules' parsing macro makes of ``text``, as text (None: not a valid value)."""
    from bdw.ingest.row_rules import install_macros

    with duckdb.connect() as con:
        install_macros(con)
        return con.execute(f"SELECT CAST({macro}(?) AS VARCHAR)", [text]).fetchone()[0]
