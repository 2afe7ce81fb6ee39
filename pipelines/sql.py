"""DuckDB helpers every layer shares: one transaction pattern and SQL quoting.

Quoting is for names and code lists the project itself defines (tables, columns, ENUM values);
values from an export or request are never written into SQL, they are bound as parameters or
registered as frames.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import duckdb

AUDIT_DDL = (
    "create table if not exists meta.audit_log (logged_at timestamp, actor varchar, "
    "action varchar, run_id varchar, parameters json, counts json)"
)
"""The steward's audit log (``meta.audit_log``): who ran what, with counts, never a value."""


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block in one transaction: committed when it ends, rolled back when it raises
    (also on KeyboardInterrupt), so readers see all of its writes or none."""
    con.execute("begin transaction")
    try:
        yield con
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (embedded double quotes doubled).

    >>> quote_ident('bridge_scores'), quote_ident('a"b')
    ('"bridge_scores"', '"a""b"')
    """
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as a quoted SQL string literal (embedded single quotes doubled).

    >>> quote_literal("it's")
    "'it''s'"
    """
    return "'" + value.replace("'", "''") + "'"


def qualified(schema: str, table: str) -> str:
    """``"schema"."table"``.

    >>> qualified("canonical", "persons")
    '"canonical"."persons"'
    """
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def column_list(columns: Sequence[str], prefix: str = "") -> str:
    """The quoted columns, comma-separated, each after ``prefix`` (e.g. a table alias ``t.``).

    >>> column_list(["a", "b"], prefix="t.")
    't."a", t."b"'
    """
    return ", ".join(prefix + quote_ident(c) for c in columns)
