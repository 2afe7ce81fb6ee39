"""Privacy models as constraints in the search."""

from __future__ import annotations

import numpy as np
import pytest

from anonymise.kanon import k_anonymise
from anonymise.models import (
    ClassStats,
    DistinctLDiversity,
    EntropyLDiversity,
    RecursiveCLDiversity,
    TCloseness,
)
from tests.anonymise.adult import ADULT_QIS


@pytest.mark.parametrize(
    "model",
    [
        DistinctLDiversity("occupation", 3),
        EntropyLDiversity("occupation", 3),
        RecursiveCLDiversity("occupation", c=3.0, l=2),
        TCloseness("salary-class", 0.15),
    ],
    ids=lambda m: type(m).__name__,
)
def test_models_hold_on_adult_output(adult, adult_hierarchies, model):
    res = k_anonymise(
        adult,
        quasi_identifiers=ADULT_QIS,
        hierarchies=adult_hierarchies,
        k=5,
        suppression_limit=0.02,
        models=[model],
    )
    out = res.published
    assert out.height >= adult.height * 0.98
    col = model.sensitive_column
    counts = out.group_by([*ADULT_QIS, col]).len()
    hist = counts.pivot(on=col, index=ADULT_QIS, values="len").fill_null(0)
    h = hist.drop(ADULT_QIS).to_numpy()
    overall = adult[col].value_counts().sort(col)
    q = dict(zip(overall[col], overall["count"] / adult.height, strict=True))
    qv = np.array([q[c] for c in hist.drop(ADULT_QIS).columns])
    order = np.argsort(hist.drop(ADULT_QIS).columns)
    stats = ClassStats(size=h.sum(1), hist={col: h[:, order]}, overall={col: qv[order]})
    assert model.class_ok(stats).all()
    assert (h.sum(1) >= 5).all()


def test_ordered_t_closeness_uses_the_order():
    stats = ClassStats(
        size=np.array([2, 2]),
        hist={"y": np.array([[1, 0, 1], [0, 2, 0]])},
        overall={"y": np.array([1 / 3, 1 / 3, 1 / 3])},
    )
    ordered = TCloseness("y", 0.2, distance="ordered").class_ok(stats)
    equal = TCloseness("y", 0.2, distance="equal").class_ok(stats)
    assert ordered.tolist() == [True, False] and equal.tolist() == [False, False]


def test_recursive_cl_needs_l_values():
    stats = ClassStats(size=np.array([3]), hist={"y": np.array([[3]])})
    assert not RecursiveCLDiversity("y", c=2, l=2).class_ok(stats).any()
