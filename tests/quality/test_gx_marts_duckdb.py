"""The marts' privacy checks on a DuckDB database (the finished research file): the same
verdicts as the frame checks, exact on every distinct value and every class."""

from __future__ import annotations

import random
import re

import duckdb
import polars as pl
import pytest

from quality.suites.marts import (
    IDENTIFIER_PATTERNS,
    PRINTABLE_ASCII,
    expect_k_anonymous_classes,
    expect_k_anonymous_in_duckdb,
    expect_no_identifier_like_values,
    expect_no_identifier_like_values_in_duckdb,
)
from tests.quality.test_gx_marts import people_in_classes


@pytest.mark.parametrize(
    ("classes", "passed"),
    [
        ({("18-29", "man"): 5, ("30-44", "vrouw"): 7}, True),
        ({("18-29", "man"): 5, ("30-44", "vrouw"): 2}, False),  # 2 persons with 10 rows each
        ({("18-29", "man"): 5, (None, "man"): 1}, False),  # a null is a class of its own
    ],
)
def test_k_anonymity_in_duckdb_and_per_class(classes, passed) -> None:
    df = people_in_classes(classes, rows_per_person=10)
    with duckdb.connect() as con:
        con.execute("create table t as select * from df")
        o = expect_k_anonymous_in_duckdb(con, "t", ["age_band", "sex"], "person", 5)
        missing = expect_k_anonymous_in_duckdb(con, "t", ["age_band", "pc4"], "person", 5)
    assert o.passed is passed
    assert o.details["rows"] == df.height and o.details["persons"] == df["person"].n_unique()
    assert o.details["classes_below_k"] == (0 if passed else 1)
    assert not missing.passed
    assert expect_k_anonymous_classes(df, ["age_band", "sex"], "person", 5).passed is passed


def test_identifier_values_in_duckdb() -> None:
    clean = pl.DataFrame(
        {"gemeente": ["groningen", "breda"], "pc4": ["9711", "4811"], "n": [12, 40]}
    )
    planted = {
        "code": ["111222333", "x"],  # BSN-like
        "contact": ["Mail: iemand@example.nl", "x"],  # e-mail inside text
        "telefoon_nr": ["x", "y"],  # a column named like an identifier, clean values
        "area": [" 9711 ab ", "x"],  # PC6 with spaces
        "phone": ["06-12345678", "x"],
        "nbsp": ["111222333\u00a0", "x"],  # Python's \s: a non-breaking space
        "arabic": ["\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669", "x"],  # \d
    }
    with duckdb.connect() as con:
        con.execute("create table clean as select * from clean")
        out = expect_no_identifier_like_values_in_duckdb(con, ["clean"])
        assert out["clean"].passed, out["clean"].description
        for column, values in planted.items():
            df = clean.with_columns(pl.Series(column, values))
            con.execute("create or replace table dirty as select * from df")
            con.execute("create or replace table asint as select 111222333::bigint as code")
            got = expect_no_identifier_like_values_in_duckdb(con, ["clean", "dirty", "asint"])
            assert got["clean"].passed
            assert not got["dirty"].passed, column
            assert not got["asint"].passed
            assert not expect_no_identifier_like_values(df).passed  # the frame check agrees
            if column == "telefoon_nr":
                assert got["dirty"].details["identifier_like_columns"] == ["telefoon_nr"]
            else:
                assert values[0] not in str(got["dirty"].details)  # counts, never values
                bad = [r for r in got["dirty"].details["results"] if not r["success"]]
                assert [r["columns"] for r in bad] == [[column]]
                assert bad[0]["unexpected_rows"] == 1


def test_duckdb_regexes_agree_with_python_on_printable_ascii() -> None:
    """The premise of the DuckDB prefilter: on printable ASCII, RE2 and Python's re give the
    same answer for every identifier pattern (random text and near-misses of each pattern)."""
    rng = random.Random(7)
    alphabet = "0123456789 -()+@._%abcXYZ" + "".join(chr(c) for c in range(0x20, 0x7F))
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16))) for _ in range(4000)]
    texts += [
        "111222333", " 111222333 ", "11122233", "1112223334", "9711AB", "9711 ab", "0711AB",
        "06-12345678", "+31 6 12345678", "0031612345678", "06123456789", "a@b.nl", "a@b.n",
        "x a@b.nl y", "06 - 1234 - 5678", "(06)12345678",
    ]  # fmt: skip
    assert all(re.fullmatch(PRINTABLE_ASCII, t) for t in texts)
    with duckdb.connect() as con:
        con.register("v", pl.DataFrame({"t": texts}).to_arrow())
        for name, pattern in IDENTIFIER_PATTERNS.items():
            got = [
                r[0]
                for r in con.execute("select regexp_matches(t, ?) from v", [pattern]).fetchall()
            ]
            expected = [re.search(pattern, t) is not None for t in texts]
            assert got == expected, name
