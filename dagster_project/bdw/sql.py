"""Quoting for SQL text built in Python (DuckDB): identifiers and string literals."""


def q(name: str) -> str:
    """A quoted identifier: ``q('a"b')`` is ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: object) -> str:
    """A string literal: ``lit("it's")`` is ``'it''s'``."""
    return "'" + str(value).replace("'", "''") + "'"
