"""The person-mode evaluator's shortcuts change nothing: the split into single- and multi-unit
persons and the incremental suppression loop give the same classes, sizes and survivors as the
plain algorithm (every pair deduplicated, every class re-checked each round), and the early
exit of ``feasibility_only`` never calls a feasible node infeasible."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonymise.encode import encode
from anonymise.hierarchy import Hierarchy
from anonymise.models import ClassStats, DistinctLDiversity, KAnonymity
from anonymise.search import Evaluator, lattice_nodes, sorted_unique

H = {
    "age": Hierarchy.intervals(range(0, 100), widths=(5, 10, 20), name="age"),
    "wijk": Hierarchy.code_list(
        {"W1": ("Noord",), "W2": ("Noord",), "W3": ("Zuid",), "W4": ("Zuid",)}, name="wijk"
    ),
}


def _plain(ev: Evaluator, levels) -> tuple[int, np.ndarray, np.ndarray]:
    """The evaluator's person-mode counting without shortcuts (the reference)."""
    data = ev.data
    _, _, inv = ev.classes_of(levels)
    c = int(inv.max()) + 1
    n_p = data.n_persons
    pairs, unit_pair = np.unique(inv * n_p + data.person, return_inverse=True)
    pair_class, pair_person = pairs // n_p, pairs % n_p
    triples = {}
    for col in ev.sensitive:
        ns = data.n_sensitive[col]
        t = np.unique(unit_pair * ns + data.sensitive[col])
        triples[col] = (t // ns, t % ns, ns)
    active = np.ones(n_p, dtype=bool)
    while True:
        pa = active[pair_person]
        size = np.bincount(pair_class[pa], minlength=c)
        hist = {}
        for col, (tp, tv, ns) in triples.items():
            ta = pa[tp]
            hist[col] = (
                np.bincount(pair_class[tp][ta] * ns + tv[ta], minlength=c * ns)
                .reshape(c, ns)
                .astype(float)
            )
        ok = ev._check(ClassStats(size=size, hist=hist, overall=ev.overall))
        drop = pa & (~ok & (size > 0))[pair_class]
        if not drop.any():
            break
        active[pair_person[drop]] = False
    return int(n_p - active.sum()), size, active


rows = st.lists(
    st.tuples(
        st.integers(0, 14),  # person: several rows each, often in different classes
        st.integers(18, 60),
        st.sampled_from(["W1", "W2", "W3", "W4"]),
        st.sampled_from(["a", "b", "c"]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows, st.integers(1, 4), st.sampled_from([0.0, 0.1, 0.3]), st.booleans())
def test_shortcuts_match_the_plain_algorithm(data, k, limit, diverse) -> None:
    df = pl.DataFrame(data, schema=["person", "age", "wijk", "y"], orient="row")
    models = [KAnonymity(k)] + ([DistinctLDiversity("y", 2)] if diverse else [])
    enc = encode(
        df,
        quasi_identifiers=["age", "wijk"],
        hierarchies=H,
        person_column="person",
        sensitive={"y": None} if diverse else None,
    )
    ev = Evaluator(enc, models, limit)
    for node in lattice_nodes(enc.heights):
        full = ev.evaluate(node)
        suppressed, size, active = _plain(ev, node)
        assert full.suppressed_units == suppressed
        assert np.array_equal(full.class_units, size)
        assert full.active_persons is not None
        assert np.array_equal(full.active_persons, active)
        quick = ev.evaluate(node, feasibility_only=True)
        assert quick.feasible == full.feasible
        if not quick.feasible:
            # a lower bound of the true suppression, above the limit
            assert ev.limit < quick.suppressed_units <= full.suppressed_units


@pytest.mark.parametrize("values", [[], [3], [5, 1, 5, 2, 1], list(range(50, 0, -1))])
def test_sorted_unique(values) -> None:
    got = sorted_unique(np.array(values, dtype=np.int64))
    assert got.tolist() == sorted(set(values))
