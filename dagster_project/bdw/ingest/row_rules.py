"""Row checks of docs/contract.md section 2 as one DuckDB query per file.

``checked_select`` turns a table of text columns (already renamed to contract columns) into the
typed columns the raw layer stores plus ``_issues``: a list of {column, rule, value} for the row.
Every rule is written once here, in words a sales-ops analyst understands.

Every name the query makes for itself starts with ``_`` (the parsed values ``_t_<column>``,
``_issues``), like the bookkeeping columns it reads (``_row_number``, ``_file_idx``,
``_maybe_cut``): no extra column can carry such a name (``bdw.ingest.prepare``), so no header can
stand in for one.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import duckdb

from bdw.contract import FALSE_WORDS, TRUE_WORDS, Column, Source
from bdw.manual_kpis import computed_kpi_ids, kpi_families, manual_kpis
from bdw.settings import SEEDS_DIR
from bdw.sql import lit, q

DATE_HELP = "not a valid date (use YYYY-MM-DD, YYYY/MM/DD or YYYY年M月D日)"
MONEY_HELP = "not a valid amount (digits with an optional decimal point; 1,234.50 is accepted)"
NUMBER_HELP = "not a valid number"
INT_HELP = "not a whole number"
BOOL_HELP = "not a yes/no value (use true/false, 1/0, yes/no, 是/否)"
MONTH_HELP = "not a valid month (use YYYY-MM)"
CUT_HELP = ("the file does not end with a line break, so this last row may be cut short (an interrupted "
            "export?); deliver the whole file again")

_DATE_RE = (r"'^(\d{4})(?:[-/.]|年)(\d{1,2})(?:[-/.]|月)(\d{1,2})日?"
            r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$'")
# Scalar macros only (no subqueries): they are expanded into one expression per column and row.
# A date written YYYY-MM-DD and an amount of plain digits (nearly every value of an export) take a
# cast, which gives what the general rule gives for them, several times faster than its regular
# expressions.
MACROS = rf"""
CREATE OR REPLACE TEMP MACRO bdw_date(s) AS CASE
    WHEN regexp_full_match(s, '\d{{4}}-\d{{2}}-\d{{2}}') THEN TRY_CAST(s AS DATE)
    ELSE try(make_date(
        CAST(regexp_extract(trim(s), {_DATE_RE}, 1) AS INTEGER),
        CAST(regexp_extract(trim(s), {_DATE_RE}, 2) AS INTEGER),
        CAST(regexp_extract(trim(s), {_DATE_RE}, 3) AS INTEGER))) END;
CREATE OR REPLACE TEMP MACRO bdw_number_text(s) AS
    CASE WHEN regexp_matches(trim(s), '^[-+]?(\d{{1,3}}(,\d{{3}})+|\d+)(\.\d+)?$|^[-+]?\.\d+$')
         THEN replace(trim(s), ',', '') END;
CREATE OR REPLACE TEMP MACRO bdw_money(s) AS CASE
    WHEN regexp_full_match(s, '-?\d+(\.\d+)?') THEN TRY_CAST(s AS DECIMAL(18, 2))
    ELSE TRY_CAST(bdw_number_text(s) AS DECIMAL(18, 2)) END;
CREATE OR REPLACE TEMP MACRO bdw_double(s) AS TRY_CAST(bdw_number_text(s) AS DOUBLE);
CREATE OR REPLACE TEMP MACRO bdw_int(s) AS
    CASE WHEN regexp_matches(trim(s), '^[-+]?\d+(\.0+)?$') THEN TRY_CAST(TRY_CAST(trim(s) AS DOUBLE) AS INTEGER) END;
CREATE OR REPLACE TEMP MACRO bdw_month(s) AS
    CASE WHEN regexp_matches(trim(s), '^\d{{4}}[-/](0?[1-9]|1[0-2])$')
         THEN regexp_extract(trim(s), '^(\d{{4}})', 1) || '-'
              || lpad(regexp_extract(trim(s), '[-/](\d{{1,2}})$', 1), 2, '0') END;
"""


@cache
def placeholders() -> tuple[str, ...]:
    """The seed's placeholder list (docs/metrics.md crm_completeness), lower-case."""
    with (SEEDS_DIR / "crm_placeholders.csv").open(encoding="utf-8") as f:
        return tuple(row["placeholder"].strip().lower() for row in csv.DictReader(f))


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(MACROS)


def _in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def present(column: Column) -> str:
    """The name of the column's present value in the checking query (:func:`present_value`, computed
    once per row there and read by the parse and by every rule)."""
    return q("_p_" + column.name)


def present_value(column: Column) -> str:
    """The column's value with blanks and placeholders read as missing, for typed columns (a date
    or amount of ``N/A`` is no value, not a bad one) and CRM key fields. Other text is kept as
    written: a partner's region ``NA`` is North America. A placeholder that is one of an enum's own
    values (region ``NA``) is that value. A blank cell of a column with a default is the default."""
    if column.type == "str" and not column.crm_key:
        value = q(column.name)
    else:
        own = {e.lower() for e in column.enum}
        empty = [p for p in placeholders() if p not in own]
        value = f"CASE WHEN lower({q(column.name)}) IN {_in_list(empty)} THEN NULL ELSE {q(column.name)} END"
    return value if column.default is None else f"COALESCE({value}, {lit(column.default)})"


def parsed(column: Column) -> str:
    """The typed value of a column (NULL when missing or invalid)."""
    v = present(column)
    match column.type:
        case "date":
            return f"bdw_date({v})"
        case "money":
            return f"bdw_money({v})"
        case "decimal" | "score":
            return f"bdw_double({v})"
        case "int":
            return f"bdw_int({v})"
        case "month":
            return f"bdw_month({v})"
        case "bool":
            return (f"CASE WHEN lower({v}) IN {_in_list(TRUE_WORDS)} THEN true "
                    f"WHEN lower({v}) IN {_in_list(FALSE_WORDS)} THEN false END")
        case "enum":
            whens = " ".join(f"WHEN {lit(e.lower())} THEN {lit(e)}" for e in column.enum)
            return f"CASE lower({v}) {whens} END"
        case _:  # text is stored as exported; staging normalises placeholders
            return q(column.name) if column.default is None else v


def typed(column: Column) -> str:
    """The name of the column's parsed value in the checking query."""
    return q("_t_" + column.name)


@dataclass(frozen=True)
class RowRule:
    """One rule of the checking query: when ``condition`` holds for a row, the row has ``issue``
    (a struct of the column, the rule in words and the value as written)."""

    condition: str
    issue: str

    def expr(self) -> str:
        return f"CASE WHEN {self.condition} THEN {self.issue} END"


def _issue(col: str | None, condition: str, rule: str, value: str) -> RowRule:
    column = lit(col) if col is not None else "CAST(NULL AS VARCHAR)"
    return RowRule(condition, f"{{'column': {column}, 'rule': {lit(rule)}, 'value': CAST({value} AS VARCHAR)}}")


def _type_rule(column: Column) -> str | None:
    match column.type:
        case "date":
            return DATE_HELP
        case "money":
            return MONEY_HELP
        case "decimal":
            return NUMBER_HELP
        case "score":
            return "not a number from 0 to 100"
        case "int":
            return INT_HELP
        case "month":
            return MONTH_HELP
        case "bool":
            return BOOL_HELP
        case "enum":
            return "not one of the allowed values: " + ", ".join(column.enum)
    return None


def row_rules(source: Source) -> list[RowRule]:
    """The rules of one row of ``source``, over its present and parsed values."""
    out: list[RowRule] = [_issue(None, "_maybe_cut", CUT_HELP, "NULL")]
    for c in source.columns:
        v = present(c)
        if c.required or c.key:
            out.append(_issue(c.name, f"({v}) IS NULL", "required value is missing", q(c.name)))
        rule = _type_rule(c)
        if rule:
            out.append(_issue(c.name, f"({v}) IS NOT NULL AND {typed(c)} IS NULL", rule, q(c.name)))
        if c.type == "score":
            out.append(_issue(c.name, f"NOT {typed(c)} BETWEEN 0 AND 100", "must be between 0 and 100", q(c.name)))
        if c.pattern:
            out.append(_issue(c.name, f"({v}) IS NOT NULL AND NOT regexp_matches(trim({v}), {lit(c.pattern)})",
                              f"not {c.pattern_help}", q(c.name)))
    for c in source.columns:
        if c.positive:
            out.append(_issue(c.name, f"{typed(c)} <= 0", "must be greater than 0", q(c.name)))
        if c.manual_kpi:
            out += manual_kpi_issues(source, c)
    for rw in source.required_when:
        if rw.reference:
            continue  # reported by the reference checks after the load, the row still loads
        when = typed(source.column(rw.when_column))
        values = " or ".join(rw.when_values)
        missing = f"({present(source.column(rw.column))}) IS NULL"
        out.append(_issue(rw.column, f"{when} IN {_in_list(rw.when_values)} AND {missing}",
                          f"required when {rw.when_column} is {values}", q(rw.column)))
    return out


def _duplicate_key(source: Source) -> RowRule:
    """The duplicate-key rule, over the rows left-joined to ``_dups`` (:func:`checked_select`)."""
    key = source.key
    key_text = " || ' / ' || ".join(f"CAST({typed(source.column(k))} AS VARCHAR)" for k in key)
    return RowRule("_dups._rows IS NOT NULL",
                   f"{{'column': {lit(', '.join(key))}, 'rule': 'duplicate key: the same ' || {lit(' / '.join(key))} "
                   f"|| ' appears on rows ' || array_to_string(_dups._rows, ', ') || ' of this file', "
                   f"'value': {key_text}}}")


def _period_type(period: str) -> str:
    return (f"CASE WHEN regexp_matches({period}, '^\\d{{4}}$') THEN 'year' "
            f"WHEN regexp_matches({period}, '^\\d{{4}}-Q[1-4]$') THEN 'quarter' "
            f"WHEN regexp_matches({period}, '^\\d{{4}}-(0[1-9]|1[0-2])$') THEN 'month' END")


def _period_start(period: str) -> str:
    year = f"CAST(left({period}, 4) AS INTEGER)"
    return (f"try(CASE {_period_type(period)} WHEN 'year' THEN make_date({year}, 1, 1) "
            f"WHEN 'quarter' THEN make_date({year}, CAST(right({period}, 1) AS INTEGER) * 3 - 2, 1) "
            f"WHEN 'month' THEN make_date({year}, CAST(right({period}, 2) AS INTEGER), 1) END)")


def manual_kpi_issues(source: Source, column: Column) -> list[RowRule]:
    """The rules of a row of KPIs measured by hand (docs/contract.md, manual_measurements), against
    the seed kpi_definitions (``bdw.manual_kpis``): ``column`` names a KPI of family ``manual``
    (not an unknown id, not a KPI the warehouse computes), the period is one this KPI is given for
    and does not begin after ``measured_at``, the segment is one it has, a share lies between 0 and
    1 and a count is not negative. In words for the manager's team, who type these rows in."""
    kpi, period, segment = typed(column), typed(source.column("period")), typed(source.column("segment"))
    value, measured = typed(source.column("value")), typed(source.column("measured_at"))
    manual = manual_kpis()
    out = [
        _issue(column.name, f"{kpi} NOT IN {_in_list(kpi_families())}",
               "not a KPI of the battle map: use a kpi_id measured by hand (the template's KPIs sheet lists them)",
               q(column.name)),
        _issue(column.name, f"{kpi} IN {_in_list(computed_kpi_ids() or ('',))}",
               "a KPI the warehouse computes from the exports, not one measured by hand: leave it out of this file",
               q(column.name)),
        _issue("period", f"{measured} < {_period_start(period)}",
               "the period begins after measured_at: a value cannot be measured before its period starts",
               q("period")),
    ]
    by_types: dict[tuple[str, ...], list[str]] = {}
    by_dimensions: dict[tuple[str, ...], list[str]] = {}
    for k in manual:
        by_types.setdefault(k.period_types, []).append(k.kpi_id)
        by_dimensions.setdefault(k.segment_dimensions, []).append(k.kpi_id)
    for types, ids in by_types.items():
        if set(types) != {"year", "quarter", "month"}:
            out.append(_issue("period", f"{kpi} IN {_in_list(ids)} AND {_period_type(period)} NOT IN {_in_list(types)}",
                              f"this KPI is measured per {' or '.join(types)}, not for this kind of period",
                              q("period")))
    for dimensions, ids in by_dimensions.items():
        allowed = (f" AND NOT (regexp_matches({segment}, '^[a-z_]+=.+$') AND split_part({segment}, '=', 1) "
                   f"IN {_in_list(dimensions)})") if dimensions else ""
        rule = ("not a segment of this KPI: all, or " + " / ".join(f"{d}=<value>" for d in dimensions)
                if dimensions else "this KPI has no segments: leave segment empty or write all")
        out.append(_issue("segment", f"{kpi} IN {_in_list(ids)} AND {segment} <> 'all'{allowed}", rule,
                          q("segment")))
    shares = [k.kpi_id for k in manual if k.is_share]
    if shares:
        out.append(_issue("value", f"{kpi} IN {_in_list(shares)} AND NOT {value} BETWEEN 0 AND 1",
                          "a share must lie between 0 and 1 (write 0.85 for 85%)", q("value")))
    counts = [k.kpi_id for k in manual if k.unit == "count"]
    if counts:
        out.append(_issue("value", f"{kpi} IN {_in_list(counts)} AND {value} < 0", "a count cannot be negative",
                          q("value")))
    return out


def checked_select(source: Source, input_table: str, extras: list[str]) -> str:
    """SELECT the typed contract columns, the extra columns as text, _row_number, _file_idx (which
    of the batch's files the row came from) and _issues.

    Each column's present value (``_p_<column>``) and parsed value (``_t_<column>``) are computed
    once; the rules read them. A key that appears twice in one file is found by one aggregate
    (``dups``: the keys seen more than once, with their rows) joined back to the rows. A row's list
    of issues is built only when one of its rules holds (most rows have none)."""
    cleaned = ", ".join(f"{present_value(c)} AS {present(c)}" for c in source.columns)
    parse = ", ".join(f"{parsed(c)} AS {typed(c)}" for c in source.columns)
    out = [f"CAST(parsed.{typed(c)} AS {c.sql_type}) AS {q(c.name)}" for c in source.columns]
    rules = [*row_rules(source), _duplicate_key(source)]
    any_rule = " OR ".join(f"({r.condition})" for r in rules)
    issues = (f"CASE WHEN {any_rule} THEN list_filter([{', '.join(r.expr() for r in rules)}], "
              "lambda x: x IS NOT NULL) ELSE [] END AS _issues")
    keys = ", ".join(["_file_idx", *(typed(source.column(k)) for k in source.key)])
    all_present = " AND ".join(f"{typed(source.column(k))} IS NOT NULL" for k in source.key)
    dups = (f"SELECT {keys}, list_sort(list(_row_number)) AS _rows FROM parsed WHERE {all_present} "
            f"GROUP BY {keys} HAVING count(*) > 1")
    cols = ", ".join([*out, *(f"parsed.{q(e)}" for e in extras), "parsed._row_number", "parsed._file_idx", issues])
    return (f"WITH cleaned AS (SELECT *, {cleaned} FROM {input_table}), "
            f"parsed AS (SELECT *, {parse} FROM cleaned), dups AS ({dups}) "
            f"SELECT {cols} FROM parsed LEFT JOIN dups AS _dups USING ({keys})")
