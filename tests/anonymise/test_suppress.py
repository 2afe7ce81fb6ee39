"""Local (cell) suppression keeps k, and blanks cells rather than removing rows."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from anonymise.kanon import k_anonymise
from tests.anonymise.adult import ADULT_QIS


@pytest.mark.parametrize(("k", "limit"), [(5, 0.01), (10, 0.05)])
def test_local_suppression_on_adult_is_k_anonymous(adult, adult_hierarchies, k, limit):
    glob = k_anonymise(
        adult, quasi_identifiers=ADULT_QIS, hierarchies=adult_hierarchies, k=k,
        suppression_limit=limit,
    )  # fmt: skip
    loc = k_anonymise(
        adult, quasi_identifiers=ADULT_QIS, hierarchies=adult_hierarchies, k=k,
        suppression_limit=limit, local_suppression=True,
    )  # fmt: skip
    assert loc.node == glob.node
    out = loc.published
    assert out.group_by(ADULT_QIS).len()["len"].min() >= k
    assert loc.suppressed_rows < glob.suppressed_rows
    assert out.height == adult.height - loc.suppressed_rows
    stars = sum(int((out[q] == "*").sum()) for q in ADULT_QIS)
    assert loc.suppressed_cells > 0 and stars >= loc.suppressed_cells
    assert loc.utility["share_suppressed"].max() > 0


def test_remainder_that_cannot_reach_k_is_removed():
    from anonymise.hierarchy import Hierarchy

    hs = {"a": Hierarchy([("x", "*"), ("y", "*")], name="a")}
    df = pl.DataFrame({"a": ["x", "x", "x", "y"]})
    res = k_anonymise(
        df, quasi_identifiers=["a"], hierarchies=hs, k=3, suppression_limit=0.25,
        local_suppression=True,
    )  # fmt: skip
    out = res.published
    assert res.suppressed_rows == 1 and out["a"].to_list() == ["x", "x", "x"]


@pytest.mark.parametrize(
    ("k", "limit", "local"), [(2, 0.0, False), (10, 0.05, False), (5, 0.01, True)]
)
def test_apply_on_searched_frame_equals_apply_on_a_copy(adult, adult_hierarchies, k, limit, local):
    res = k_anonymise(
        adult, quasi_identifiers=ADULT_QIS, hierarchies=adult_hierarchies, k=k,
        suppression_limit=limit, local_suppression=local,
    )  # fmt: skip
    assert res.decisions is not None and res.decisions.is_source(adult)
    same = res.apply(adult)  # reuses the search's encoding
    assert_frame_equal(res.published, same)  # what k_anonymise published
    copy = adult.clone()
    assert not res.decisions.is_source(copy)
    assert_frame_equal(res.apply(copy), same)  # encodes the copy
    assert_frame_equal(res.apply(adult.lazy()).collect(), same)  # string expressions and joins
    assert_frame_equal(
        res.apply(adult.head(5000)),
        res.apply(adult.lazy())
        .collect()
        .head(0)
        .vstack(res.apply(adult.head(5000).lazy()).collect()),
    )
