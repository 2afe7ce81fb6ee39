"""pipelines.sql: one transaction pattern (all writes or none) and quoting."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.sql import column_list, qualified, quote_ident, quote_literal, transaction


def test_a_transaction_commits_when_the_block_ends() -> None:
    con = duckdb.connect()
    con.execute("create table t (x int)")
    with transaction(con):
        con.execute("insert into t values (1), (2)")
    assert con.execute("select count(*) from t").fetchone() == (2,)


def test_a_transaction_rolls_back_everything_when_the_block_raises() -> None:
    con = duckdb.connect()
    con.execute("create table t (x int)")
    with pytest.raises(RuntimeError), transaction(con):
        con.execute("insert into t values (1)")
        con.execute("create table u (y int)")
        raise RuntimeError("boom")
    assert con.execute("select count(*) from t").fetchone() == (0,)
    assert con.execute(
        "select count(*) from duckdb_tables() where table_name = 'u'"
    ).fetchone() == (0,)
    with transaction(con):  # and the connection is usable afterwards
        con.execute("insert into t values (3)")
    assert con.execute("select x from t").fetchall() == [(3,)]


def test_quoting_survives_quotes_in_names_and_values() -> None:
    con = duckdb.connect()
    table, column, value = 'we"ird', 'c"1', "it's"
    con.execute("create schema " + quote_ident("s"))
    con.execute(f"create table {qualified('s', table)} ({quote_ident(column)} varchar)")
    con.execute(f"insert into {qualified('s', table)} values ({quote_literal(value)})")
    got = con.execute(f"select {column_list([column])} from {qualified('s', table)}").fetchall()
    assert got == [(value,)]
