"""Quality models (lower is better), all behind one small interface.

A metric scores one lattice node from its :class:`NodeView` (the node's equivalence classes,
their published and suppressed row counts). It may also give a *lower bound* for every node that
holds whatever gets suppressed; the search prunes a node (and, because the bounds here grow with
generalisation, everything above it) once its bound reaches the best score found. Metrics are
always computed on rows, also when classes are counted in persons.

Implemented: ARX's ``Loss`` (MetricMDNMLoss, gs-factor 0.5, geometric mean; exactly as in
``arx-loss-metric.md``), ``Discernibility``, ``AECS``, ``NonUniformEntropy`` and ``Precision``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from anonymise.encode import EncodedData


@dataclass(frozen=True)
class NodeView:
    """One evaluated node: ``class_codes[d, c]`` is class ``c``'s value code of QI ``d`` at
    ``levels[d]``; ``kept_rows[c]`` / ``suppressed_rows_per_class[c]`` its published and
    suppressed rows (with a person column a class can lose only some of its rows)."""

    levels: tuple[int, ...]
    class_codes: np.ndarray
    kept_rows: np.ndarray
    suppressed_rows_per_class: np.ndarray
    data: EncodedData

    @property
    def suppressed_rows(self) -> int:
        return int(self.suppressed_rows_per_class.sum())

    @property
    def kept(self) -> np.ndarray:
        """Classes that still hold published rows."""
        return self.kept_rows > 0


class QualityMetric(ABC):
    """Interface: :meth:`value` of a node, and optionally :meth:`lower_bounds` of many nodes."""

    name: str = "metric"

    @abstractmethod
    def value(self, view: NodeView) -> float:
        """The metric of the node (lower is better)."""

    def lower_bounds(self, nodes: np.ndarray, data: EncodedData) -> np.ndarray:
        """A lower bound of :meth:`value` per node, valid whatever is suppressed, and
        non-decreasing under generalisation. The default (−inf) prunes nothing."""
        return np.full(len(nodes), -np.inf)


def _geo(loss_d: np.ndarray) -> np.ndarray:
    """ARX's geometric-mean aggregate over QIs (last axis): ∏(loss_d + 1)^(1/D) − 1."""
    d = loss_d.shape[-1]
    return np.exp(np.log1p(loss_d).sum(axis=-1) / d) - 1.0


@dataclass(frozen=True)
class Loss(QualityMetric):
    """ARX's Loss: per QI the share of the hierarchy a value covers, suppressed rows count 1.

    ``loss_d = max(0, (agg_d − N/size_d) / (N − N/size_d))`` with ``agg_d`` = Σ kept rows × share
    + suppressed rows; ``Loss = ∏(loss_d + 1)^(1/D) − 1``.
    """

    name: str = "loss"

    @staticmethod
    def per_qi(agg: np.ndarray, n: int, sizes: np.ndarray) -> np.ndarray:
        base = n / sizes
        denom = np.where(n - base > 0, n - base, 1.0)
        return np.maximum(0.0, (agg - base) / denom)

    def per_qi_of(self, view: NodeView) -> np.ndarray:
        """``loss_d`` per quasi-identifier."""
        data = view.data
        agg = np.empty(len(view.levels))
        for d, (h, lv) in enumerate(zip(data.hierarchies, view.levels, strict=True)):
            share = h.share[lv][view.class_codes[d]]
            agg[d] = (view.kept_rows * share).sum() + view.suppressed_rows
        sizes = np.array([h.hierarchy.size for h in data.hierarchies], dtype=np.float64)
        return self.per_qi(agg, data.n_rows, sizes)

    def value(self, view: NodeView) -> float:
        return float(_geo(self.per_qi_of(view)))

    def lower_bounds(self, nodes: np.ndarray, data: EncodedData) -> np.ndarray:
        n = data.n_rows
        out = np.empty(nodes.shape, dtype=np.float64)
        for d, h in enumerate(data.hierarchies):
            table = np.array([(h.freq[lv] * h.share[lv]).sum() for lv in range(h.height)])
            out[:, d] = self.per_qi(table[nodes[:, d]], n, np.float64(h.hierarchy.size))
        return _geo(out)


@dataclass(frozen=True)
class Discernibility(QualityMetric):
    """Discernibility: Σ over kept classes of rows², plus suppressed rows × N. No bound."""

    name: str = "discernibility"

    def value(self, view: NodeView) -> float:
        kept = view.kept_rows.astype(np.float64)
        return float((kept**2).sum() + view.suppressed_rows * view.data.n_rows)


@dataclass(frozen=True)
class AECS(QualityMetric):
    """Average equivalence class size: N / number of classes, all suppressed rows forming one
    class (as ARX does). Not monotone and without a bound."""

    name: str = "aecs"

    def value(self, view: NodeView) -> float:
        classes = int(view.kept.sum()) + int(view.suppressed_rows > 0)
        return view.data.n_rows / max(classes, 1)


@dataclass(frozen=True)
class NonUniformEntropy(QualityMetric):
    """Non-uniform entropy: Σ over rows and QIs of −log2 P(original value | published value),
    with P estimated on the input; a suppressed cell is published as ``*`` (P = f(value)/N).

    Suppressing a class adds Σ_d rows × log2(N / F_d(v)) to the unsuppressed sum, so the
    unsuppressed sum is a lower bound that grows with generalisation.
    """

    name: str = "non_uniform_entropy"

    def _base(self, data: EncodedData) -> list[np.ndarray]:
        out = []
        for h in data.hierarchies:
            leaf = h.freq[0]
            per_level = []
            for lv in range(h.height):
                gen = h.freq[lv][h.lut[lv]]
                with np.errstate(divide="ignore", invalid="ignore"):
                    term = np.where(leaf > 0, leaf * np.log2(np.where(leaf > 0, gen / leaf, 1)), 0)
                per_level.append(term.sum())
            out.append(np.array(per_level))
        return out

    def value(self, view: NodeView) -> float:
        data = view.data
        base = sum(t[lv] for t, lv in zip(self._base(data), view.levels, strict=True))
        extra = 0.0
        sup = view.suppressed_rows_per_class > 0
        if sup.any():
            for d, (h, lv) in enumerate(zip(data.hierarchies, view.levels, strict=True)):
                f = h.freq[lv][view.class_codes[d, sup]]
                rows = view.suppressed_rows_per_class[sup]
                extra += (rows * np.log2(data.n_rows / f)).sum()
        return float(base + extra)

    def lower_bounds(self, nodes: np.ndarray, data: EncodedData) -> np.ndarray:
        base = self._base(data)
        return sum(base[d][nodes[:, d]] for d in range(nodes.shape[1]))


@dataclass(frozen=True)
class Precision(QualityMetric):
    """Precision (Sweeney): mean over cells of level / (height − 1); suppressed cells count 1."""

    name: str = "precision"

    @staticmethod
    def _rel(data: EncodedData) -> list[np.ndarray]:
        return [np.arange(h.height) / max(h.height - 1, 1) for h in data.hierarchies]

    def value(self, view: NodeView) -> float:
        data = view.data
        rel = self._rel(data)
        n_sup = view.suppressed_rows
        kept = data.n_rows - n_sup
        total = sum(kept * r[lv] + n_sup for r, lv in zip(rel, view.levels, strict=True))
        return float(total / (data.n_rows * len(view.levels)))

    def lower_bounds(self, nodes: np.ndarray, data: EncodedData) -> np.ndarray:
        rel = self._rel(data)
        return sum(rel[d][nodes[:, d]] for d in range(nodes.shape[1])) / nodes.shape[1]


ALL_METRICS: tuple[QualityMetric, ...] = (
    Loss(),
    Discernibility(),
    AECS(),
    NonUniformEntropy(),
    Precision(),
)
"""One instance of each metric, for reporting every metric of a result."""
