"""Suppression after the global recoding: enforce the models, and local (cell) suppression.

:func:`enforce` is the final guarantee: it groups units by their published quasi-identifier
values and removes failing classes (rows), or the persons in them (person mode, repeated until
every class passes, since removing a person can shrink another class).

:func:`local_suppression` is a **greedy** alternative to removing the records of small classes:
it sets quasi-identifier cells of those classes to ``*``, trying masks in order of how many cells
they blank (cells of attributes already at a single value cost nothing), and accepts a mask for
the small classes whose masked values together reach ``k``. It does not promise the fewest cells
(that problem is NP-hard) but it always ends k-anonymous: what no mask can bring to ``k`` is
removed, and :func:`enforce` runs last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from anonymise.encode import EncodedData
from anonymise.models import ClassStats, PrivacyModel, sensitive_of
from anonymise.search import group_codes, sorted_unique

STAR = -1
"""The code of a locally suppressed cell in the published codes."""


@dataclass(frozen=True)
class Published:
    """The published state of every unit of the distinct-combination table.

    ``codes[d, u]`` is unit ``u``'s value code of QI ``d`` at the node (``STAR`` when blanked);
    ``active[u]`` whether it is published; ``cells`` the number of blanked cells per QI (rows).
    """

    codes: np.ndarray
    active: np.ndarray
    cells: np.ndarray
    removed_persons: np.ndarray | None


def _units_per_group(
    group: np.ndarray, mask: np.ndarray, data: EncodedData, n_groups: int
) -> np.ndarray:
    """Units (rows, or distinct persons) per group among units where ``mask`` holds."""
    if data.person is None:
        return np.bincount(group[mask], weights=data.weight[mask], minlength=n_groups)
    g, p = group[mask], data.person[mask]
    # a person with one unit is one distinct (group, person) pair as it is; only the units of
    # persons with several need deduplicating (a sort of a few percent of the units)
    multi = np.bincount(p, minlength=data.n_persons)[p] > 1
    out = np.bincount(g[~multi], minlength=n_groups)
    pairs = sorted_unique(g[multi] * data.n_persons + p[multi])
    out += np.bincount(pairs // data.n_persons, minlength=n_groups)
    return out.astype(np.float64)


def _group_published(codes: np.ndarray, cards: Sequence[int]) -> tuple[np.ndarray, int]:
    shifted = np.where(codes == STAR, np.asarray(cards)[:, None], codes)
    classes, _, inv = group_codes(
        shifted, [c + 1 for c in cards], np.ones(codes.shape[1]), inverse=True
    )
    assert inv is not None
    return inv, classes.shape[1]


def _classes_ok(
    group: np.ndarray,
    n_groups: int,
    active: np.ndarray,
    data: EncodedData,
    models: Sequence[PrivacyModel],
    overall: dict[str, np.ndarray],
) -> np.ndarray:
    """Per class (``group`` codes of the units): whether every model accepts it, counting the
    ``active`` units (persons in person mode) and the sensitive values' histograms."""
    size = _units_per_group(group, active, data, n_groups)
    hist = {}
    for col in sorted({c for m in models if (c := sensitive_of(m)) is not None}):
        ns = data.n_sensitive[col]
        h = _units_per_group(group * ns + data.sensitive[col], active, data, n_groups * ns)
        hist[col] = h.reshape(n_groups, ns)
    ok = np.ones(n_groups, dtype=bool)
    stats = ClassStats(size=size, hist=hist, overall=overall)
    for m in models:
        ok &= m.class_ok(stats)
    return ok


def enforce(
    codes: np.ndarray,
    active: np.ndarray,
    data: EncodedData,
    models: Sequence[PrivacyModel],
    cards: Sequence[int],
    overall: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray | None]:
    """Remove what fails the models among the published units; return the new ``active`` mask
    and, in person mode, the removed person ids."""
    active = active.copy()
    group, n_groups = _group_published(codes, cards)
    person_active = None
    if data.person is not None:
        person_active = np.ones(data.n_persons, dtype=bool)
        person_active[data.person[~active]] = False
    while True:
        ok = _classes_ok(group, n_groups, active, data, models, overall)
        bad_units = active & ~ok[group]
        if not bad_units.any():
            break
        if data.person is None:
            active &= ~bad_units
        else:
            assert person_active is not None
            person_active[data.person[bad_units]] = False
            active &= person_active[data.person]
    removed = None if person_active is None else np.flatnonzero(~person_active)
    return active, removed


def local_suppression(
    gen: np.ndarray,
    data: EncodedData,
    *,
    k: int,
    small: np.ndarray,
    cards: Sequence[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy cell suppression of the units in small classes (``small`` is a unit mask).

    Returns the published codes (``STAR`` for blanked cells) and the units that no mask could
    bring to ``k`` (to be removed). Units outside ``small`` are untouched.

    Examples
    --------
    >>> import polars as pl
    >>> from anonymise.encode import encode
    >>> from anonymise.hierarchy import Hierarchy
    >>> hs = {"a": Hierarchy([("x", "*"), ("y", "*")], name="a"),
    ...       "b": Hierarchy([("p", "*"), ("q", "*")], name="b")}
    >>> df = pl.DataFrame({"a": ["x", "x", "y", "y"], "b": ["p", "q", "p", "p"]})
    >>> enc = encode(df, quasi_identifiers=["a", "b"], hierarchies=hs)
    >>> gen = enc.codes.T.copy()
    >>> small = np.array([r[0] == 0 for r in enc.codes])   # the two 'x' classes of size 1
    >>> out, left = local_suppression(gen, enc, k=2, small=small, cards=[2, 2])
    >>> sorted(map(tuple, out[:, small].T.tolist())), int(left.sum())
    ([(0, -1), (0, -1)], 0)
    """
    out = gen.copy()
    d = gen.shape[0]
    costly = [j for j in range(d) if cards[j] > 1]
    unresolved = small.copy()
    assigned: dict[tuple[int, ...], np.ndarray] = {}
    masks = [c for r in range(1, len(costly) + 1) for c in combinations(costly, r)]
    for mask in masks:
        if not unresolved.any():
            break
        cols = list(mask)
        prior = assigned.get(mask, np.zeros_like(unresolved))
        member = unresolved | prior
        proj = gen.copy()
        proj[cols] = STAR
        group, n_groups = _group_published(proj, cards)
        size = _units_per_group(group, member, data, n_groups)
        ok_units = unresolved & (size[group] >= k)
        if ok_units.any():
            out[:, ok_units] = proj[:, ok_units]
            assigned[mask] = prior | ok_units
            unresolved &= ~ok_units
    return out, unresolved


def failing_units(
    codes: np.ndarray,
    data: EncodedData,
    models: Sequence[PrivacyModel],
    cards: Sequence[int],
    overall: dict[str, np.ndarray],
) -> np.ndarray:
    """Units whose class (by published codes, everything counted) fails any model."""
    active = np.ones(codes.shape[1], dtype=bool)
    group, n_groups = _group_published(codes, cards)
    return ~_classes_ok(group, n_groups, active, data, models, overall)[group]


def published_groups(codes: np.ndarray, cards: Sequence[int]) -> tuple[np.ndarray, int]:
    """Class of each unit by its published codes, and the number of classes."""
    return _group_published(codes, cards)


def units_per_group(
    group: np.ndarray, mask: np.ndarray, data: EncodedData, n_groups: int
) -> np.ndarray:
    """Rows (or distinct persons) per class among the units in ``mask``."""
    return _units_per_group(group, mask, data, n_groups)
