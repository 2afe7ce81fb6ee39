"""Metric values on hand-made frames, and lower bounds that hold."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from anonymise.encode import encode
from anonymise.hierarchy import Hierarchy
from anonymise.metrics import AECS, Discernibility, Loss, NonUniformEntropy, Precision
from anonymise.models import KAnonymity
from anonymise.search import Evaluator, lattice_nodes

H = {
    "a": Hierarchy(
        [("1", "lo", "*"), ("2", "lo", "*"), ("3", "hi", "*"), ("4", "hi", "*")], name="a"
    ),
    "b": Hierarchy([("x", "*"), ("y", "*")], name="b"),
}
DF = pl.DataFrame({"a": [1, 1, 2, 3, 3, 3, 4, 4], "b": list("xxyxxyyy")})


def _view(levels, k=2, limit=1.0):
    enc = encode(DF, quasi_identifiers=["a", "b"], hierarchies=H)
    return enc, Evaluator(enc, [KAnonymity(k)], limit).evaluate(levels).view


def test_hand_computed_values_at_bottom_with_suppression():
    # classes (1,x)=2 (2,y)=1 (3,x)=2 (3,y)=1 (4,y)=2 -> two singletons suppressed at k=2
    _, view = _view((0, 0))
    assert view.suppressed_rows == 2
    assert Discernibility().value(view) == 3 * 4 + 2 * 8
    assert AECS().value(view) == 8 / 4
    assert Precision().value(view) == pytest.approx((0 * 6 + 2 + 0 * 6 + 2) / 16)
    # Loss: share 1/4 for a, 1/2 for b at level 0; N/size terms from the definition
    agg_a, agg_b = 6 * 0.25 + 2, 6 * 0.5 + 2
    la, lb = (agg_a - 2) / (8 - 2), (agg_b - 4) / (8 - 4)
    assert Loss().value(view) == pytest.approx(((la + 1) * (lb + 1)) ** 0.5 - 1)


def test_top_node_loss_is_one():
    _, view = _view((2, 1))
    assert Loss().value(view) == pytest.approx(1.0)


@pytest.mark.parametrize("metric", [Loss(), NonUniformEntropy(), Precision()], ids=str)
def test_lower_bounds_hold_and_grow(metric):
    enc = encode(DF, quasi_identifiers=["a", "b"], hierarchies=H)
    nodes = lattice_nodes(enc.heights)
    bounds = metric.lower_bounds(nodes, enc)
    for k in (1, 2, 3, 5):
        ev = Evaluator(enc, [KAnonymity(k)], 1.0)
        for node, bound in zip(nodes, bounds, strict=True):
            assert metric.value(ev.evaluate(node).view) >= bound - 1e-9
    for i, n in enumerate(nodes):
        above = (nodes >= n).all(axis=1)
        assert (bounds[above] >= bounds[i] - 1e-12).all()


def test_non_uniform_entropy_without_suppression():
    _, view = _view((1, 0), k=1)
    # level 1 of a: lo={1,1,2} hi={3,3,3,4,4}; b kept (0 bits)
    expected = -(2 * np.log2(2 / 3) + np.log2(1 / 3) + 3 * np.log2(3 / 5) + 2 * np.log2(2 / 5))
    assert NonUniformEntropy().value(view) == pytest.approx(expected)
