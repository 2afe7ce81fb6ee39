"""Privacy models: each decides, per equivalence class, whether the class may be published.

A model declares what it needs counted (:attr:`PrivacyModel.sensitive_column`; class sizes are
always counted) and whether it is monotone under generalisation with suppression. Classes that
fail any model are suppressed; a lattice node is feasible when the suppressed share stays within
the suppression limit. Every model here is monotone (merging classes that pass yields a class
that passes), which is what lets the search prune.

Class sizes count rows, or distinct persons when the search runs with a person column; the
sensitive-value histograms count the same unit (rows, or distinct persons holding the value).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class ClassStats:
    """What the models see for one node: per equivalence class, sizes and histograms.

    ``size[c]`` counts the class's units (rows or persons); ``hist[col][c, v]`` counts units with
    sensitive code ``v``; ``overall[col]`` is the distribution of the whole input (sums to 1).
    """

    size: np.ndarray
    hist: dict[str, np.ndarray] = field(default_factory=dict)
    overall: dict[str, np.ndarray] = field(default_factory=dict)


class PrivacyModel(ABC):
    """A privacy model: a per-class test, plus what it needs counted.

    Subclasses that need a sensitive attribute counted have a ``sensitive_column`` attribute
    (and optionally ``order``, the order of its values); see :func:`sensitive_of`.
    """

    monotone: ClassVar[bool] = True

    @abstractmethod
    def class_ok(self, stats: ClassStats) -> np.ndarray:
        """Boolean array: which classes satisfy the model."""

    def _hist(self, stats: ClassStats) -> np.ndarray:
        column = sensitive_of(self)
        assert column is not None
        return stats.hist[column]


def sensitive_of(model: PrivacyModel) -> str | None:
    """The sensitive column a model needs counted, or ``None``.

    >>> sensitive_of(KAnonymity(5)), sensitive_of(DistinctLDiversity("income", 2))
    (None, 'income')
    """
    return getattr(model, "sensitive_column", None)


@dataclass(frozen=True)
class KAnonymity(PrivacyModel):
    """Every class holds at least ``k`` units (rows, or persons).

    >>> KAnonymity(2).class_ok(ClassStats(size=np.array([1, 2, 3]))).tolist()
    [False, True, True]
    """

    k: int

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}.")

    def class_ok(self, stats: ClassStats) -> np.ndarray:
        return stats.size >= self.k


@dataclass(frozen=True)
class DistinctLDiversity(PrivacyModel):
    """Every class holds at least ``l`` distinct values of ``sensitive_column``.

    >>> s = ClassStats(size=np.array([3, 3]), hist={"y": np.array([[2, 1], [3, 0]])})
    >>> DistinctLDiversity("y", 2).class_ok(s).tolist()
    [True, False]
    """

    sensitive_column: str
    l: int  # noqa: E741 - the literature's name

    def class_ok(self, stats: ClassStats) -> np.ndarray:
        return (self._hist(stats) > 0).sum(axis=1) >= self.l


@dataclass(frozen=True)
class RecordedDistinctLDiversity(PrivacyModel):
    """Distinct-l-diversity over *recorded* values: ``unknown`` (the source does not record the
    attribute) is not a sensitive value.

    A class passes when it holds at least ``l`` distinct recorded values, or none at all (an
    attacker learns nothing about a person whose source never records the attribute). Monotone:
    merging passing classes keeps them passing.

    >>> m = RecordedDistinctLDiversity("y", 2, order=("onbekend", "a", "b"), unknown="onbekend")
    >>> s = ClassStats(size=np.array([5, 5, 5]),
    ...                hist={"y": np.array([[5, 0, 0], [3, 2, 0], [1, 2, 2]])})
    >>> m.class_ok(s).tolist()
    [True, False, True]
    """

    sensitive_column: str
    l: int  # noqa: E741 - the literature's name
    order: tuple[str, ...]
    unknown: str

    def class_ok(self, stats: ClassStats) -> np.ndarray:
        h = self._hist(stats)
        u = self.order.index(self.unknown)
        # the unknown column subtracted instead of deleted: no copy of the (classes × values)
        # histogram per node evaluated
        distinct_known = (h > 0).sum(axis=1) - (h[:, u] > 0)
        known_total = h.sum(axis=1) - h[:, u]
        return (distinct_known >= self.l) | (known_total == 0)


@dataclass(frozen=True)
class MaxValueShare(PrivacyModel):
    """Among the recorded values of a class, ``value`` holds at most ``max_share`` (a group
    disclosure rule for one sensitive value, e.g. a yes/no flag's "yes").

    Classes with no recorded value pass (nothing is learnt). For a rare flag this is the rule
    that fits: distinct 2-diversity would demand a "yes" in every class, while a class of "no"
    only repeats the population's majority (release-safety.md §3: a share cap, counted in
    persons).

    >>> m = MaxValueShare("y", "ja", 0.9, order=("onbekend", "nee", "ja"), unknown="onbekend")
    >>> s = ClassStats(size=np.array([5, 5, 5]),
    ...                hist={"y": np.array([[0, 0, 5], [0, 1, 4], [5, 0, 0]])})
    >>> m.class_ok(s).tolist()
    [False, True, True]
    """

    sensitive_column: str
    value: str
    max_share: float
    order: tuple[str, ...]
    unknown: str

    def class_ok(self, stats: ClassStats) -> np.ndarray:
        h = self._hist(stats)
        known = h.sum(axis=1) - h[:, self.order.index(self.unknown)]
        hits = h[:, self.order.index(self.value)]
        return (known == 0) | (hits <= self.max_share * known)


@dataclass(frozen=True)
class EntropyLDiversity(PrivacyModel):
    """The entropy of the sensitive values in every class is at least ``log(l)``.

    >>> s = ClassStats(size=np.array([4, 4]), hist={"y": np.array([[2, 2], [3, 1]])})
    >>> EntropyLDiversity("y", 2).class_ok(s).tolist()
    [True, False]
    """

    sensitive_column: str
    l: float  # noqa: E741

    def class_ok(self, stats: ClassStats) -> np.ndarray:
        h = self._hist(stats).astype(np.float64)
        tot = h.sum(axis=1, keepdims=True)
        p = np.divide(h, tot, out=np.zeros_like(h), where=tot > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
        return ent >= np.log(self.l) - 1e-12


@dataclass(frozen=True)
class RecursiveCLDiversity(PrivacyModel):
    """Recursive-(c,l): with counts sorted descending, ``r1 < c·(r_l + … + r_m)``.

    >>> s = ClassStats(size=np.array([6, 6]), hist={"y": np.array([[2, 2, 2], [4, 1, 1]])})
    >>> RecursiveCLDiversity("y", c=2.0, l=2).class_ok(s).tolist()
    [True, False]
    """

    sensitive_column: str
    c: float
    l: int  # noqa: E741

    def class_ok(self, stats: ClassStats) -> np.ndarray:
        h = -np.sort(-self._hist(stats), axis=1)
        if h.shape[1] < self.l:
            return np.zeros(h.shape[0], dtype=bool)
        tail = h[:, self.l - 1 :].sum(axis=1)
        return h[:, 0] < self.c * tail


@dataclass(frozen=True)
class TCloseness(PrivacyModel):
    """The Earth Mover's Distance between each class's and the whole data's distribution ≤ t.

    ``distance="equal"`` (nominal values: EMD = half the L1 distance) or ``"ordered"``
    (ordinal values in ``order``, or the column's sorted order: EMD = Σ|cumulative difference|
    / (m − 1)).

    >>> s = ClassStats(size=np.array([2, 2]), hist={"y": np.array([[1, 1], [2, 0]])},
    ...                overall={"y": np.array([0.5, 0.5])})
    >>> TCloseness("y", 0.2).class_ok(s).tolist()
    [True, False]
    """

    sensitive_column: str
    t: float
    distance: str = "equal"
    order: Sequence[object] | None = None

    def __post_init__(self) -> None:
        if self.distance not in ("equal", "ordered"):
            raise ValueError(f"distance must be 'equal' or 'ordered', got {self.distance!r}.")

    def class_ok(self, stats: ClassStats) -> np.ndarray:
        h = self._hist(stats).astype(np.float64)
        tot = h.sum(axis=1, keepdims=True)
        p = np.divide(h, tot, out=np.zeros_like(h), where=tot > 0)
        q = stats.overall[self.sensitive_column]
        if self.distance == "equal":
            emd = 0.5 * np.abs(p - q).sum(axis=1)
        else:
            m = max(len(q) - 1, 1)
            emd = np.abs(np.cumsum(p - q, axis=1)).sum(axis=1) / m
        return emd <= self.t + 1e-12
