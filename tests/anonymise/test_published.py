"""``AnonymisationResult.published``: the searched frame as released, built by ``k_anonymise``.

It must equal what callers built before with ``res.apply(data)`` (the encoded path on another
frame and the string path give the same), and an oracle written here from the definition:
every QI generalised to the chosen level, classes below ``k`` removed.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from anonymise.hierarchy import Hierarchy
from anonymise.kanon import k_anonymise
from tests.anonymise.adult import ADULT_QIS


def _oracle(data: pl.DataFrame, hierarchies: dict[str, Hierarchy], levels, k: int) -> pl.DataFrame:
    """Full-domain generalisation at ``levels`` with record suppression of classes below ``k``."""
    out = data.with_columns(
        pl.col(q)
        .cast(pl.String)
        .replace_strict(dict(zip(hierarchies[q].leaves, hierarchies[q].level(lv), strict=True)))
        for q, lv in levels.items()
    )
    qis = list(levels)
    return out.filter(pl.len().over(qis) >= k)


@pytest.mark.parametrize(("k", "limit"), [(5, 0.0), (5, 0.05), (2, 0.01)])
def test_published_is_the_release_of_the_searched_frame(adult, adult_hierarchies, k, limit):
    res = k_anonymise(
        adult, quasi_identifiers=ADULT_QIS, hierarchies=adult_hierarchies, k=k,
        suppression_limit=limit,
    )  # fmt: skip
    published = res.published
    assert isinstance(published, pl.DataFrame)
    assert published.height == adult.height - res.suppressed_rows
    if limit:
        assert res.suppressed_rows > 0  # the suppression case really removes rows
    assert_frame_equal(published, _oracle(adult, adult_hierarchies, res.levels, k))
    # the old caller path (apply on a copy: encoded again; on a LazyFrame: string joins)
    assert_frame_equal(published, res.apply(adult.clone()))
    assert_frame_equal(published, res.apply(adult.lazy()).collect())


def test_oracle_catches_a_release_that_keeps_small_classes(adult, adult_hierarchies):
    """Positive control: the unsuppressed generalisation differs from the oracle at 5 %."""
    res = k_anonymise(
        adult, quasi_identifiers=ADULT_QIS, hierarchies=adult_hierarchies, k=5,
        suppression_limit=0.05,
    )  # fmt: skip
    unsuppressed = _oracle(adult, adult_hierarchies, res.levels, 1)
    assert unsuppressed.height != res.published.height


def test_published_with_local_suppression_and_lazy_input():
    h = {
        "age": Hierarchy.intervals(range(0, 100), widths=(5, 10), name="age"),
        "sex": Hierarchy([("m", "*"), ("v", "*")], name="sex"),
    }
    df = pl.DataFrame(
        {
            "id": range(9),
            "age": [31, 32, 33, 31, 32, 33, 47, 48, 61],
            "sex": ["m", "m", "m", "v", "v", "v", "m", "v", "m"],
        }
    )
    res = k_anonymise(
        df, quasi_identifiers=["age", "sex"], hierarchies=h, k=2, suppression_limit=0.5,
        local_suppression=True,
    )  # fmt: skip
    assert res.suppressed_cells > 0  # a blanked cell: not the plain generalisation
    assert isinstance(res.published, pl.DataFrame)
    assert res.published.filter((pl.col("age") == "*") | (pl.col("sex") == "*")).height
    assert_frame_equal(res.published, res.apply(df.clone()))
    lazy = k_anonymise(
        df.lazy(), quasi_identifiers=["age", "sex"], hierarchies=h, k=2, suppression_limit=0.5,
        local_suppression=True,
    )  # fmt: skip
    assert isinstance(lazy.published, pl.LazyFrame)
    assert_frame_equal(lazy.published.collect(), res.published)
