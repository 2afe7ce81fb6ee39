"""Reference results on Adult (ARX 3.9.2, Flash, Loss) and optimality against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from anonymise.encode import encode
from anonymise.kanon import k_anonymise
from anonymise.metrics import AECS, Discernibility, Loss, NonUniformEntropy, Precision
from anonymise.models import DistinctLDiversity, KAnonymity
from anonymise.search import Evaluator, lattice_nodes, node_string, optimal_search
from tests.anonymise.adult import ADULT_QIS

# k, suppression limit, ARX optimal node, suppressed, classes, Loss (arx-loss-metric.md)

ARX_REFERENCE = [
    (2, 0.00, "4002122", 0, 50, 0.5234),
    (2, 0.01, "3001111", 267, 509, 0.1947),
    (2, 0.05, "3000200", 1304, 1030, 0.1129),
    (5, 0.00, "4001322", 0, 20, 0.5644),
    (5, 0.01, "3001311", 273, 147, 0.2858),
    (5, 0.05, "3000111", 1458, 399, 0.1708),
    (10, 0.00, "4001322", 0, 20, 0.5644),
    (10, 0.01, "3002311", 297, 82, 0.3483),
    (10, 0.05, "3001111", 1484, 200, 0.2283),
]


@pytest.mark.parametrize(("k", "limit", "node", "suppressed", "classes", "loss"), ARX_REFERENCE)
def test_adult_matches_arx(adult, adult_hierarchies, k, limit, node, suppressed, classes, loss):
    res = k_anonymise(
        adult,
        quasi_identifiers=ADULT_QIS,
        hierarchies=adult_hierarchies,
        k=k,
        suppression_limit=limit,
    )
    assert res.node == node
    assert round(res.metrics["loss"], 4) == loss
    assert round(res.score, 4) == loss
    assert res.suppressed_rows == suppressed
    assert res.classes == classes
    assert res.smallest_class >= k
    assert res.nodes_checked < res.lattice_size / 10
    out = res.published
    assert out.height == adult.height - suppressed
    assert out.group_by(ADULT_QIS).len()["len"].min() >= k


@pytest.mark.parametrize(
    ("k", "node", "loss"), [(2, (4, 0, 1, 1, 3, 2, 1), 0.6216), (5, (4, 0, 1, 1, 3, 2, 2), 0.7272)]
)
def test_loss_of_other_arx_nodes(adult, adult_hierarchies, k, node, loss):
    enc = encode(adult, quasi_identifiers=ADULT_QIS, hierarchies=adult_hierarchies)
    ev = Evaluator(enc, [KAnonymity(k)], 0.0).evaluate(node)
    assert ev.feasible and ev.suppressed_units == 0
    assert round(Loss().value(ev.view), 4) == loss


METRICS = [Loss(), Discernibility(), AECS(), NonUniformEntropy(), Precision()]


def _brute_force(enc, models, limit, metric):
    ev = Evaluator(enc, models, limit)
    best = None
    for node in lattice_nodes(enc.heights):
        r = ev.evaluate(node)
        if r.feasible:
            score = metric.value(r.view)
            if best is None or score < best[0] - 1e-12:
                best = (score, node_string(node))
    return best


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
@pytest.mark.parametrize(("k", "limit"), [(3, 0.0), (10, 0.02), (25, 0.05)])
def test_search_equals_brute_force(adult, adult_hierarchies, metric, k, limit):
    qis = ["age", "marital-status", "education", "workclass"]
    sample = adult.head(3000)
    enc = encode(sample, quasi_identifiers=qis, hierarchies=adult_hierarchies)
    out = optimal_search(enc, models=[KAnonymity(k)], suppression_limit=limit, metric=metric)
    score, _ = _brute_force(enc, [KAnonymity(k)], limit, metric)
    assert out.score == pytest.approx(score, rel=1e-9, abs=1e-12)
    assert out.best.feasible


@pytest.mark.parametrize("metric", [Loss(), Discernibility()], ids=lambda m: m.name)
def test_search_equals_brute_force_with_l_diversity_and_persons(adult, adult_hierarchies, metric):
    qis = ["age", "sex", "race"]
    sample = adult.head(800).with_columns(person=np.arange(800) // 2)
    models = [KAnonymity(4), DistinctLDiversity("occupation", 2)]
    enc = encode(
        sample,
        quasi_identifiers=qis,
        hierarchies=adult_hierarchies,
        person_column="person",
        sensitive={"occupation": None},
    )
    out = optimal_search(enc, models=models, suppression_limit=0.03, metric=metric)
    score, _ = _brute_force(enc, models, 0.03, metric)
    assert out.score == pytest.approx(score, rel=1e-9)
