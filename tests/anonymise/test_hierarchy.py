"""Hierarchy loading, builders and validation sentences."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from anonymise.encode import encode
from anonymise.hierarchy import Hierarchy, HierarchyError
from tests.anonymise.adult import ADULT_QIS


def test_adult_hierarchies_load_with_their_heights(adult_hierarchies):
    heights = [adult_hierarchies[q].height for q in ADULT_QIS]
    assert heights == [5, 2, 2, 3, 4, 3, 3]
    assert adult_hierarchies["age"].rows[0] == ("1", "0-4", "0-9", "0-19", "*")


def test_from_csv_names_after_file(adult_dir):
    h = Hierarchy.from_csv(adult_dir / "adult_hierarchy_sex.csv")
    assert h.name == "adult_hierarchy_sex" and h.size == 2


def test_ragged_rows_are_rejected():
    with pytest.raises(HierarchyError, match="ragged"):
        Hierarchy([("a", "x", "*"), ("b", "*")], name="wijk")


def test_level_that_is_not_a_coarsening_is_rejected():
    rows = [("WK01", "Centrum", "Amsterdam"), ("WK02", "Centrum", "Utrecht")]
    with pytest.raises(HierarchyError, match="not a coarsening of level 1"):
        Hierarchy(rows, name="wijk")


def test_duplicate_leaves_are_rejected():
    with pytest.raises(HierarchyError, match="more than once"):
        Hierarchy([("a", "*"), ("a", "*")], name="sex")


def test_missing_values_name_attribute_and_count_but_not_values():
    h = Hierarchy([("m", "*"), ("v", "*")], name="sex")
    df = pl.DataFrame({"sex": ["m", "secret-x", "secret-y", "secret-y"]})
    with pytest.raises(HierarchyError) as err:
        encode(df, quasi_identifiers=["sex"], hierarchies={"sex": h})
    msg = str(err.value)
    assert "'sex'" in msg and "3 row(s)" in msg and "secret" not in msg


def test_builders():
    age = Hierarchy.intervals(range(0, 100), widths=(5, 10, 20), name="age")
    assert age.rows[37] == ("37", "35-39", "30-39", "20-39", "*")
    with pytest.raises(HierarchyError, match="divide"):
        Hierarchy.intervals(range(10), widths=(5, 7))
    d = Hierarchy.dates([dt.date(2023, 11, 30), dt.date(2024, 1, 2)], name="on")
    assert d.rows[0] == ("2023-11-30", "2023-11", "2023-Q4", "2023", "*")
    pc = Hierarchy.prefix(["9711AB", "9711CD", "1011AA"], lengths=(4, 2), name="pc6")
    assert pc.level(1) == ("1011", "9711", "9711") and pc.height == 4
    wijk = Hierarchy.code_list(
        [
            ("WK1", "Noord", "Groningen"),
            ("WK2", "Noord", "Groningen"),
            ("WK3", "Zuid", "Groningen"),
        ],
        name="wijk",
    )
    codes, values = wijk.codes(1)
    assert codes.tolist() == [0, 0, 1] and values == ("Noord", "Zuid")


def test_dates_in_data_are_matched():
    d = Hierarchy.dates([dt.date(2024, 3, 1), dt.date(2024, 5, 1)], name="on")
    enc = encode(
        pl.DataFrame({"on": [dt.date(2024, 3, 1), dt.date(2024, 5, 1)]}),
        quasi_identifiers=["on"],
        hierarchies={"on": d},
    )
    assert enc.n_rows == 2
