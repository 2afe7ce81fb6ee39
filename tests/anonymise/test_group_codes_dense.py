"""The linear grouping of wide keys gives exactly what ``np.unique`` of the mixed-radix key
gives: the same classes in the same (key) order, the same weights and the same inverse; and the
packed sort gives ``np.unique(..., return_inverse=True)``. Also: the removed persons read from
their rows equal the ranks among the sorted distinct values, and running the engine on a frame
with extra columns changes nothing in the result or in what :meth:`apply` publishes."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonymise import k_anonymise
from anonymise.encode import _sorted_inverse
from anonymise.hierarchy import Hierarchy
from anonymise.search import _dense_classes, group_codes


def _reference(gen: np.ndarray, cards, weight: np.ndarray):
    """``group_codes`` as it was: the key's ``np.unique``, decoded by ``divmod`` (columns
    compared whole when the key would not fit in an int64)."""
    d = gen.shape[0]
    if _space(cards) >= 2**62:
        out, inv = np.unique(gen, axis=1, return_inverse=True)
        inv = inv.reshape(-1)
        return out, np.bincount(inv, weights=weight), inv
    key = gen[0].astype(np.int64, copy=True)
    for j in range(1, d):
        if cards[j] > 1:
            key = key * int(cards[j]) + gen[j]
    uniq, inv = np.unique(key, return_inverse=True)
    inv = inv.reshape(-1)
    out = np.zeros((d, len(uniq)), dtype=np.int64)
    rest = uniq
    for j in range(d - 1, 0, -1):
        if cards[j] > 1:
            rest, out[j] = np.divmod(rest, int(cards[j]))
    out[0] = rest
    return out, np.bincount(inv, weights=weight), inv


def _space(cards) -> int:
    space = 1
    for c in cards:
        space *= max(int(c), 1)
    return space


@st.composite
def grouping(draw):
    d = draw(st.integers(1, 7))
    cards = [draw(st.sampled_from([1, 2, 3, 7, 40, 300, 5000])) for _ in range(d)]
    n = draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # few distinct values per column sometimes (the dense rank then shrinks the key a lot)
    used = [int(rng.integers(1, c + 1)) for c in cards]
    gen = np.stack(
        [rng.choice(rng.permutation(c)[:u], n) for c, u in zip(cards, used, strict=True)]
    )
    weight = rng.integers(1, 5, n).astype(np.float64)
    return gen.astype(np.int64), cards, weight


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grouping(), st.sampled_from([1, 4, 64, 1024]))
def test_dense_classes_equal_np_unique(case, limit) -> None:
    gen, cards, weight = case
    want_codes, want_rows, want_inv = _reference(gen, cards, weight)
    if _space(cards) < 2**62:  # group_codes calls it only then
        codes, inv = _dense_classes(gen, cards, limit)
        assert np.array_equal(codes, want_codes)
        assert np.array_equal(inv, want_inv)
    # and through group_codes, for arrays and for lists of arrays
    for g in (gen, list(gen)):
        got_codes, got_rows, got_inv = group_codes(g, cards, weight, inverse=True)
        assert np.array_equal(got_codes, want_codes)
        assert np.array_equal(got_rows, want_rows)
        assert got_inv is not None and np.array_equal(got_inv, want_inv)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**6), max_size=400), st.sampled_from([10**6 + 1, 2**40]))
def test_sorted_inverse_equals_np_unique(values, space) -> None:
    key = np.array(values, dtype=np.int64)
    want_u, want_inv = np.unique(key, return_inverse=True)
    got_u, got_inv = _sorted_inverse(key, space)
    assert np.array_equal(got_u, want_u)
    assert np.array_equal(got_inv, want_inv.reshape(-1))


def test_sorted_inverse_falls_back_for_keys_too_wide_to_pack() -> None:
    key = np.array([2**61, 5, 2**61, 7], dtype=np.int64)
    got_u, got_inv = _sorted_inverse(key, 2**62)
    assert got_u.tolist() == [5, 7, 2**61] and got_inv.tolist() == [2, 0, 2, 1]


HS = {
    "age": Hierarchy.intervals(range(0, 100), widths=(5, 10, 20), name="age"),
    "wijk": Hierarchy.code_list(
        {"W1": ("Noord",), "W2": ("Noord",), "W3": ("Zuid",), "W4": ("Zuid",)}, name="wijk"
    ),
}
PER_PERSON = {"quasi_identifiers": ["age", "wijk"], "hierarchies": HS, "person_column": "pid"}
"""The person-level search of :func:`_persons` frames (k and suppression set per test)."""


def _persons(seed: int, n: int = 400) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    persons = [f"p{int(x):05d}" for x in rng.integers(0, n // 2, n)]
    return pl.DataFrame(
        {
            "pid": persons,
            "age": rng.integers(18, 90, n),
            "wijk": rng.choice(["W1", "W2", "W3", "W4"], n),
            "extra": rng.integers(0, 10**6, n),
            "note": pl.Series(
                [["x", "y", None][i] for i in rng.integers(0, 3, n)], dtype=pl.String
            ),
        }
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("local", [False, True])
def test_frame_with_extra_columns_gives_the_same_release(seed: int, local: bool) -> None:
    df = _persons(seed)
    kw = dict(PER_PERSON, k=4, suppression_limit=0.2, local_suppression=local)
    narrow = k_anonymise(df.select("pid", "age", "wijk"), **kw)
    wide = k_anonymise(df, **kw)
    assert narrow.node == wide.node and narrow.metrics == wide.metrics
    assert narrow.suppressed_persons == wide.suppressed_persons
    assert narrow.risk == wide.risk and narrow.utility.equals(wide.utility)
    assert (narrow.removed_persons is None) == (wide.removed_persons is None)
    if wide.removed_persons is not None:
        assert narrow.removed_persons is not None
        assert narrow.removed_persons.equals(wide.removed_persons)
        # in the order of their ranks among the sorted distinct values
        assert wide.removed_persons.equals(wide.removed_persons.sort())
    # applied to the frame searched (one gather) or to a copy (encoded again): the same rows
    published = wide.apply(df)
    assert isinstance(published, pl.DataFrame)
    assert published.equals(narrow.apply(df))
    assert published.equals(wide.apply(df.clone()))


def test_removed_persons_of_a_lazy_frame_are_the_same() -> None:
    df = _persons(11)
    kw = dict(PER_PERSON, k=5, suppression_limit=0.3)
    eager, lazy = k_anonymise(df, **kw), k_anonymise(df.lazy(), **kw)
    assert eager.removed_persons is not None and len(eager.removed_persons)
    assert lazy.removed_persons is not None
    assert eager.removed_persons.equals(lazy.removed_persons)
