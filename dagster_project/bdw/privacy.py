"""Personal data (PIPL, GDPR): pseudonyms in the warehouse, the real values in a vault.

Personal columns are the contract's (``bdw.contract``, ``personal=True``: a decision maker's name,
a contact's e-mail and phone, a rep's name) and any extra column whose header says it holds such a
value (:func:`is_personal_header`: name, e-mail, phone, mobile, address, ID number, in English or
Chinese). Ingestion stores a **pseudonym** in their place: ``pn_`` and 16 hex digits of
SHA-256(key + value), the same for the same value in every file, table and run, so counts and joins
still work. The key is random, made once, and kept with the real values in the **vault**,
``<workdir>/personal.duckdb`` (table ``pseudonyms``: pseudonym, value, first seen), which only the
data team reaches: a pseudonym cannot be turned back without it, not even by trying every name.

So no byte of a personal value ever enters the working database, and the published file (a byte
copy of it) holds none either: not in a table, and not in the free blocks a deleted value leaves
behind. Blanks and the CRM placeholders (``N/A``, ``无``: seed crm_placeholders) are not personal
and stay as they are, so staging still reads them as empty (CRM completeness is unchanged).

A working database written before pseudonyms (no ``raw._privacy`` table) is converted once:
:func:`protect_working_database` replaces every personal value in every table by its pseudonym
and then rewrites the file, so that the replaced values do not linger in its free blocks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
from pathlib import Path

import duckdb

from bdw.catalog import storage_version
from bdw.contract import SOURCES
from bdw.sql import lit, q

PREFIX = "pn_"
VAULT_ALIAS = "bdw_vault"
KEY_VARIABLE = "bdw_pseudonym_key"
PERSONAL_COLUMNS = frozenset(c.name for s in SOURCES.values() for c in s.columns if c.personal)
# words in an extra column's header that say it holds a person's name, contact or identity
_PERSONAL_WORDS = re.compile(
    r"(^|_)(name|names|first_?name|last_?name|surname|person|contact|email|e_mail|mail|phone|mobile|cell|tel|"
    r"telephone|fax|wechat|whatsapp|address|passport|id_card|id_number|ssn|birthday|date_of_birth|dob)($|_)"
    r"|姓名|名字|联系人|电话|手机|邮箱|邮件|地址|微信|身份证|生日")
# the business's own names, not a person's
_NOT_PERSONAL = frozenset({"account_name", "partner_name", "opportunity_name", "product_name", "company_name",
                           "customer_name", "file_name", "team_name", "region_name", "campaign_name"})
VAULT_DDL = """
CREATE TABLE IF NOT EXISTS {db}.pseudonyms (pseudonym VARCHAR PRIMARY KEY, value VARCHAR, first_seen TIMESTAMP);
CREATE TABLE IF NOT EXISTS {db}.vault_key (secret VARCHAR);
"""


def is_personal_header(name: str) -> bool:
    """Whether an extra column (its name as ``bdw.ingest.prepare.extra_column_name`` made it)
    holds personal data by its header's words."""
    return name in PERSONAL_COLUMNS or (name not in _NOT_PERSONAL and bool(_PERSONAL_WORDS.search(name)))


def personal_columns(source: str, extras: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The personal columns of a source's table: the contract's, then the extras that look personal."""
    return [c.name for c in SOURCES[source].columns if c.personal] + [e for e in extras if is_personal_header(e)]


def pseudonym_of(key: str, value: str) -> str:
    """The pseudonym of ``value`` under ``key`` (the SQL macro ``bdw_pseudonym`` computes the same)."""
    return PREFIX + hashlib.sha256((key + value).encode("utf-8")).hexdigest()[:16]


def placeholders() -> tuple[str, ...]:
    """The CRM placeholders (seed crm_placeholders), lower-case: not personal, kept as written."""
    from bdw.ingest.row_rules import placeholders as seed  # imported here: bdw.ingest imports this module

    return seed()


def is_kept(value: str | None) -> bool:
    """A blank, a placeholder or an existing pseudonym is stored as it is."""
    return value is None or not value.strip() or value.strip().lower() in placeholders() or \
        bool(re.fullmatch(PREFIX + "[0-9a-f]{16}", value))


class Vault:
    """The vault attached to a connection of the working database: the key, the macro
    ``bdw_pseudonym(text)``, and the pairs (pseudonym, value) recorded as ingestion stores them."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.con, self.path = con, path
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        con.execute(f"ATTACH IF NOT EXISTS {lit(path)} AS {VAULT_ALIAS}")
        if fresh:
            os.chmod(path, 0o600)
        con.execute(VAULT_DDL.format(db=VAULT_ALIAS))
        row = con.execute(f"SELECT secret FROM {VAULT_ALIAS}.vault_key").fetchone()
        if row is None:
            row = (secrets.token_hex(32),)
            con.execute(f"INSERT INTO {VAULT_ALIAS}.vault_key VALUES (?)", list(row))
        self.key: str = row[0]
        con.execute(f"SET VARIABLE {KEY_VARIABLE} = ?", [self.key])
        kept = ", ".join(lit(p) for p in placeholders())
        con.execute(
            f"CREATE OR REPLACE TEMP MACRO bdw_pseudonym(s) AS CASE "
            f"WHEN s IS NULL OR trim(s) = '' OR lower(trim(s)) IN ({kept}) "
            f"OR regexp_full_match(s, '{PREFIX}[0-9a-f]{{16}}') THEN s "
            f"ELSE '{PREFIX}' || left(sha256(getvariable('{KEY_VARIABLE}') || s), 16) END")

    def pseudonym(self, value: str | None) -> str | None:
        return value if is_kept(value) else pseudonym_of(self.key, value)

    def record(self, table: str, columns: list[str], where: str = "true") -> None:
        """Keep the real values of ``columns`` of ``table`` (rows matching ``where``) in the vault."""
        if not columns:
            return
        values = " UNION ".join(f"SELECT {q(c)} AS v FROM {table} WHERE {where}" for c in columns)
        self.con.execute(
            f"INSERT INTO {VAULT_ALIAS}.pseudonyms SELECT DISTINCT bdw_pseudonym(v), v, ? FROM ({values}) "
            f"WHERE bdw_pseudonym(v) IS DISTINCT FROM v ON CONFLICT DO NOTHING", [dt.datetime.now()])

    def detach(self) -> None:
        self.con.execute(f"DETACH DATABASE IF EXISTS {VAULT_ALIAS}")


MARKER_DDL = "CREATE SCHEMA IF NOT EXISTS raw; CREATE TABLE IF NOT EXISTS raw._privacy (pseudonyms_since TIMESTAMP)"


def mark_protected(con: duckdb.DuckDBPyConnection) -> None:
    """Record that this working database stores pseudonyms only."""
    con.execute(MARKER_DDL)
    if con.execute("SELECT count(*) FROM raw._privacy").fetchone()[0] == 0:
        con.execute("INSERT INTO raw._privacy VALUES (?)", [dt.datetime.now()])


class UnprotectedDatabase(RuntimeError):
    """A working database from before pseudonyms, not converted yet."""


def ensure_protected(con: duckdb.DuckDBPyConnection) -> None:
    """Before ingestion writes: a working database is marked as holding pseudonyms only, which a new
    one (no personal value yet) is from the start. One that holds real values must first be
    converted by :func:`protect_working_database` (the raw step does it before it connects)."""
    if is_protected(con):
        return
    kept = ", ".join(lit(p) for p in placeholders())
    for schema, table, column in _personal_columns(con):
        found = con.execute(
            f"SELECT count(*) FROM {q(schema)}.{q(table)} WHERE {q(column)} IS NOT NULL AND trim({q(column)}) <> '' "
            f"AND lower(trim({q(column)})) NOT IN ({kept}) AND NOT regexp_full_match({q(column)}, "
            f"'{PREFIX}[0-9a-f]{{16}}')").fetchone()[0]
        if found:
            raise UnprotectedDatabase(f"the working database holds personal values in {schema}.{table}.{column} "
                                      "from before pseudonyms: convert it first (bdw.privacy.protect_working_database)")
    mark_protected(con)


def _personal_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """Every text column of a table of the database that holds personal data: the contract's
    personal columns by name, in any schema, and the personal-looking extras of the raw tables."""
    columns = con.execute(
        "SELECT c.schema_name, c.table_name, c.column_name FROM duckdb_columns() c JOIN duckdb_tables() t "
        "USING (database_name, schema_name, table_name) WHERE c.database_name = current_database() "
        "AND c.data_type = 'VARCHAR' AND c.schema_name NOT IN ('main', 'seeds') ORDER BY ALL").fetchall()
    return [(schema, table, column) for schema, table, column in columns
            if column in PERSONAL_COLUMNS or (schema == "raw" and table in SOURCES and is_personal_header(column))]


def is_protected(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database is marked as holding pseudonyms only (``mark_protected``)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                            "AND schema_name = 'raw' AND table_name = '_privacy'").fetchone()[0])


def protect_working_database(work_db: Path, vault_path: Path, connect) -> bool:
    """Convert a working database written before pseudonyms, once: every personal value of every
    table (contract personal columns by name, personal-looking extras of the raw tables, issues of
    personal columns) is replaced by its pseudonym and kept in the vault, and the file is rewritten
    without the free blocks that still held the old values. ``connect(path)`` opens it for writing.
    Returns whether anything was converted."""
    if not work_db.exists():
        return False
    con = connect(str(work_db))
    try:
        if is_protected(con):
            return False
        vault = Vault(con, vault_path)
        changed = 0  # values replaced
        for schema, table, column in _personal_columns(con):
            rel = f"{q(schema)}.{q(table)}"
            vault.record(rel, [column])
            changed += con.execute(f"UPDATE {rel} SET {q(column)} = bdw_pseudonym({q(column)}) "
                                   f"WHERE bdw_pseudonym({q(column)}) IS DISTINCT FROM {q(column)}").fetchone()[0]
        tables = {(sc, t) for sc, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
        if ("raw", "_load_issues") in tables:
            personal = ", ".join(lit(c) for c in PERSONAL_COLUMNS)
            changed += con.execute(f"""UPDATE raw._load_issues SET value = bdw_pseudonym(value),
                message = replace(message, value, bdw_pseudonym(value))
                WHERE "column" IN ({personal}) AND value IS DISTINCT FROM bdw_pseudonym(value)""").fetchone()[0]
        for table in ("_load_issues", "_load_manifest"):  # the quoted lines of unreadable CSV files
            if ("raw", table) in tables:
                changed += con.execute(
                    f"UPDATE raw.{table} SET message = regexp_replace(message, "
                    r"'(cannot be read as CSV: (line \d+|a line)) \(.*\) (has|is not)', '\1 \3') "
                    r"WHERE regexp_matches(message, 'cannot be read as CSV: (line \d+|a line) \(')").fetchone()[0]
        mark_protected(con)
        vault.detach()
        con.execute("CHECKPOINT")
    finally:
        con.close()
    if changed:
        compact(work_db, connect)
    return changed > 0


def compact(work_db: Path, connect) -> None:
    """Rewrite ``work_db`` into a new file (every schema, table, view and macro, in the same storage
    format) and swap it in: the old file's free blocks, and what they held, are gone."""
    tmp = work_db.with_name(f".{work_db.name}.compact.tmp")
    tmp.unlink(missing_ok=True)
    con = connect(str(work_db))
    try:
        version = storage_version(con)
        name = con.execute("SELECT current_database()").fetchone()[0]
        version = (version or "v1.0.0").rstrip("+")  # "v2.0.0+": written by 2.0 or later
        con.execute(f"ATTACH {lit(tmp)} AS bdw_compact (STORAGE_VERSION {lit(version)})")
        con.execute(f"COPY FROM DATABASE {q(name)} TO bdw_compact")
        con.execute("DETACH bdw_compact")
    finally:
        con.close()
    os.replace(tmp, work_db)
    Path(f"{work_db}.wal").unlink(missing_ok=True)
