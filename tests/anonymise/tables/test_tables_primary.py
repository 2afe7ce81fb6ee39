"""Primary rules and protection levels, checked by hand."""

from __future__ import annotations

import polars as pl
import pytest

from anonymise.tables import PrimaryRules, TableSet, frequency_table, magnitude_table, primary_cells


def _by_key(ts: TableSet, rules: PrimaryRules) -> dict[str, tuple[str, float, float]]:
    prim = primary_cells(ts, rules).join(ts.cells.select("cell_id", "key"), on="cell_id")
    return {k: (r, u, lo) for k, r, u, lo in prim.select("key", "reason", "upl", "lpl").rows()}


def test_threshold_default_and_range():
    lf = pl.LazyFrame({"g": ["a"] * 12 + ["b"] * 3 + ["c"] * 10})
    ts = TableSet([frequency_table(lf, dims=["g"])])
    # the default interval reaches the threshold (10 − 3 above, down to 0)
    assert _by_key(ts, PrimaryRules(group_share=None)) == {
        "count|g=b": ("primary:threshold", 7.0, 3.0)
    }
    old = _by_key(ts, PrimaryRules(group_share=None, frequency_protection=1.0))
    assert old == {"count|g=b": ("primary:threshold", 1.0, 1.0)}
    half = _by_key(ts, PrimaryRules(group_share=None, protection_share=0.5))
    assert half == {"count|g=b": ("primary:threshold", 2.0, 1.5)}


def test_zeros_safe_by_default_configurable():
    lf = pl.LazyFrame({"g": ["a"] * 12 + ["b"] * 12}, schema={"g": pl.Enum(["a", "b", "c"])})
    hier = {"g": {"a": "T", "b": "T", "c": "T"}}
    ts = TableSet([frequency_table(lf, dims=["g"], hierarchies=hier)])
    assert _by_key(ts, PrimaryRules(group_share=None)) == {}
    z = _by_key(ts, PrimaryRules(group_share=None, zeros_disclosive=True))
    assert z == {"count|g=c": ("primary:zero", 10.0, 0.0)}


def test_dominance_and_p_percent_levels():
    # one cell: contributions 80, 15, 5 -> X = 100
    lf = pl.LazyFrame({"w": ["A"] * 3 + ["B"] * 12, "x": [80.0, 15.0, 5.0] + [10.0] * 12})
    ts = TableSet([magnitude_table(lf, dims=["w"], value="x")])
    dom = _by_key(ts, PrimaryRules(threshold=None, dominance=(1, 50.0), p_percent=None))
    # (1,50): (100/50)·80 − 100 = 60
    assert dom["sum:x|w=A"] == ("primary:dominance", 60.0, 60.0)
    p = _by_key(ts, PrimaryRules(threshold=None, dominance=None, p_percent=10.0))
    # p%: 0.10·80 − (100 − 80 − 15) = 3
    assert p["sum:x|w=A"] == ("primary:p-percent", pytest.approx(3.0), pytest.approx(3.0))
    assert "sum:x|w=B" not in p and "sum:x|" not in dom


def test_group_disclosure():
    lf = pl.LazyFrame(
        {"w": ["A"] * 40 + ["B"] * 40, "lv": ["1"] * 38 + ["2"] * 2 + ["1"] * 20 + ["2"] * 20}
    )
    ts = TableSet([frequency_table(lf, dims=["w", "lv"])])
    got = _by_key(ts, PrimaryRules(threshold=None))
    # 38 of 40 in wijk A are level 1 (95 % ≥ 90 %): lower bound must fall below 36
    assert got["count|lv=1;w=A"] == ("primary:group", 1.0, 3.0)


def test_group_disclosure_only_along_the_sensitive_dimension():
    # programme P belongs to organisation X only: 100 % of P's line over organisations is X,
    # which is the table's nesting; 95 % of X's persons completing is a group disclosure
    lf = pl.LazyFrame(
        {
            "org": ["X"] * 40 + ["Y"] * 40,
            "prog": ["P"] * 40 + ["Q"] * 40,
            "end": ["completed"] * 38 + ["aborted"] * 2 + ["completed"] * 20 + ["aborted"] * 20,
        }
    )
    ts = TableSet([frequency_table(lf, dims=["org", "prog", "end"])])
    everywhere = _by_key(ts, PrimaryRules(threshold=None))
    along_end = _by_key(ts, PrimaryRules(threshold=None, group_dims=("end",)))
    assert "count|org=Y;prog=Q" in everywhere  # Q is 100 % of its line over organisations
    assert set(along_end) == {
        "count|end=completed;org=X;prog=P",
        "count|end=completed;org=X",
        "count|end=completed;prog=P",
    }
    assert set(along_end) < set(everywhere)
