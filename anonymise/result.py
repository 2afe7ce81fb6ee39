"""The outcome of :func:`anonymise.kanon.k_anonymise`: the transformation, its risk and utility."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from anonymise.encode import encode, generalise_expr
from anonymise.hierarchy import Hierarchy
from anonymise.risk import RiskSummary


@dataclass(frozen=True)
class UnitDecisions:
    """Integer form of the release, for :meth:`AnonymisationResult.apply` without string joins.

    Per unit of the searched frame's distinct table: the published value of each QI as an index
    into a small per-QI array of strings (the level's values, then ``*``), and whether it is kept.
    ``row_unit`` maps each searched row to its unit; ``source`` is a weak reference to the searched
    frame, so applying to that very frame is one gather per column. Another frame is encoded
    once and its rows matched by packed generalised codes (``gen_radix``): ``star_keys`` /
    ``star_index`` give the published indices of generalised combinations with blanked cells,
    ``removed_keys`` the published combinations removed (row mode), all keys sorted.
    """

    source: weakref.ReferenceType[pl.DataFrame] | None
    row_unit: np.ndarray
    values: tuple[pl.Series, ...]
    value_index: tuple[np.ndarray, ...]
    active: np.ndarray
    levels: tuple[int, ...]
    gen_radix: tuple[int, ...]
    star_keys: np.ndarray
    star_index: np.ndarray
    removed_keys: np.ndarray | None

    def is_source(self, frame: pl.DataFrame) -> bool:
        return (
            self.source is not None
            and self.source() is frame
            and frame.height == len(self.row_unit)
        )

    def publish(
        self,
        frame: pl.DataFrame,
        row_unit: np.ndarray,
        index: Sequence[np.ndarray],
        keep: np.ndarray,
    ) -> pl.DataFrame:
        """Rows of ``frame`` (unit ``row_unit``) where ``keep[unit]``, QIs set by ``index``.

        The published QI strings are built once per unit and gathered by ``row_unit`` in one
        frame gather; only the other columns are filtered.
        """
        names = [v.name for v in self.values]
        units = pl.DataFrame(
            [vals.gather(idx) for vals, idx in zip(self.values, index, strict=True)]
        )
        kept = keep[row_unit]
        rest = frame.drop(names)
        if not kept.all():
            row_unit = row_unit[kept]
            if rest.width:
                rest = rest.filter(pl.Series(kept))
        published = units[row_unit]
        if not rest.width:
            return published.select(frame.columns)
        return pl.concat([rest, published], how="horizontal").select(frame.columns)


def _pack(codes: Sequence[np.ndarray], radix: Sequence[int]) -> np.ndarray:
    key = np.asarray(codes[0], dtype=np.int64).copy()
    for c, r in zip(codes[1:], radix[1:], strict=True):
        key *= r
        key += c
    return key


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each of ``keys`` in ``sorted_keys``, or -1 when absent."""
    pos = np.searchsorted(sorted_keys, keys)
    pos = np.minimum(pos, max(len(sorted_keys) - 1, 0))
    found = sorted_keys[pos] == keys if len(sorted_keys) else np.zeros(len(keys), dtype=bool)
    return np.where(found, pos, -1)


@dataclass(frozen=True)
class AnonymisationResult:
    """Chosen levels, suppression decisions, and every figure of the release.

    Published quasi-identifier columns are strings (the hierarchy's values at the chosen level,
    ``*`` for a locally suppressed cell); suppressed rows (or all rows of suppressed persons) are
    removed. ``published`` is the searched frame so released; :meth:`apply` replays exactly this
    on another frame.
    """

    quasi_identifiers: tuple[str, ...]
    levels: dict[str, int]
    node: str
    k: int
    suppression_limit: float
    person_column: str | None
    suppressed_rows: int
    suppressed_persons: int | None
    suppressed_cells: int
    classes: int
    smallest_class: int
    metrics: dict[str, float]
    metric: str
    score: float
    search_ms: float
    nodes_checked: int
    lattice_size: int
    risk: RiskSummary
    risk_before: RiskSummary
    utility: pl.DataFrame
    hierarchies: dict[str, Hierarchy] = field(repr=False)
    rewrite: pl.DataFrame | None = field(default=None, repr=False)
    """Generalised QI values → published values, for classes with blanked cells."""
    removed_classes: pl.DataFrame | None = field(default=None, repr=False)
    """Published QI combinations whose rows are removed (row mode)."""
    removed_persons: pl.Series | None = field(default=None, repr=False)
    """Person identifiers removed with all their rows (person mode)."""
    decisions: UnitDecisions | None = field(default=None, repr=False, compare=False)
    """Integer form of the release (see :class:`UnitDecisions`)."""
    published: pl.DataFrame | pl.LazyFrame | None = field(default=None, repr=False, compare=False)
    """The searched frame as released (``apply`` of it): a DataFrame for a DataFrame, a
    LazyFrame for a LazyFrame; set by :func:`~anonymise.kanon.k_anonymise`."""

    def apply(self, lf: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame | pl.DataFrame:
        """Apply the levels, local suppression and record/person suppression to ``lf``.

        Returns a LazyFrame for a LazyFrame and a DataFrame for a DataFrame. On the frame the
        result was computed from, the output is k-anonymous; on other frames the same
        transformation is applied without that guarantee.
        """
        if isinstance(lf, pl.DataFrame) and self.decisions is not None:
            if self.decisions.is_source(lf):
                dec = self.decisions
                return dec.publish(lf, dec.row_unit, dec.value_index, dec.active)
            fast = self._apply_encoded(lf)
            if fast is not None:
                return fast
        return self._apply_strings(lf)

    def _apply_encoded(self, frame: pl.DataFrame) -> pl.DataFrame | None:
        """:meth:`apply` on another DataFrame via its integer encoding (``None``: not possible)."""
        dec = self.decisions
        assert dec is not None
        qis = self.quasi_identifiers
        hs = {q: self.hierarchies[q] for q in qis}
        try:
            enc = encode(frame, quasi_identifiers=qis, hierarchies=hs)
        except (ValueError, pl.exceptions.PolarsError):
            return None  # values outside the hierarchies: the string path keeps them as null
        assert enc.row_unit is not None
        gen = [
            h.lut[lv][enc.codes[:, d]]
            for d, (h, lv) in enumerate(zip(enc.hierarchies, dec.levels, strict=True))
        ]
        index = [g.copy() for g in gen]
        hit = _lookup(dec.star_keys, _pack(gen, dec.gen_radix))
        rewritten = hit >= 0
        if rewritten.any():
            for d in range(len(qis)):
                index[d][rewritten] = dec.star_index[d, hit[rewritten]]
        keep = np.ones(len(enc.weight), dtype=bool)
        if dec.removed_keys is not None and len(dec.removed_keys):
            keep = _lookup(dec.removed_keys, _pack(index, dec.gen_radix)) < 0
        out = dec.publish(frame, enc.row_unit, index, keep)
        if self.removed_persons is not None and len(self.removed_persons):
            assert self.person_column is not None
            out = out.filter(~pl.col(self.person_column).is_in(self.removed_persons.implode()))
        return out

    def _apply_strings(self, lf: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame | pl.DataFrame:
        qis = list(self.quasi_identifiers)
        out = lf.lazy().with_columns(
            generalise_expr(q, self.hierarchies[q], self.levels[q]) for q in qis
        )
        if self.rewrite is not None and len(self.rewrite):
            out = out.join(
                self.rewrite.lazy(), on=qis, how="left", nulls_equal=True, maintain_order="left"
            )
            out = out.with_columns(pl.coalesce(f"__out_{q}", q).alias(q) for q in qis).drop(
                [f"__out_{q}" for q in qis]
            )
        if self.removed_classes is not None and len(self.removed_classes):
            out = out.join(
                self.removed_classes.lazy(),
                on=qis,
                how="anti",
                nulls_equal=True,
                maintain_order="left",
            )
        if self.removed_persons is not None and len(self.removed_persons):
            assert self.person_column is not None
            out = out.filter(~pl.col(self.person_column).is_in(self.removed_persons.implode()))
        return out.collect() if isinstance(lf, pl.DataFrame) else out

    def summary(self) -> dict[str, object]:
        """Flat figures for metadata: node, suppression, classes, metrics, risk, timings."""
        return {
            "node": self.node,
            "levels": dict(self.levels),
            "suppressed_rows": self.suppressed_rows,
            "suppressed_persons": self.suppressed_persons,
            "suppressed_cells": self.suppressed_cells,
            "classes": self.classes,
            "smallest_class": self.smallest_class,
            **{f"metric_{k}": v for k, v in self.metrics.items()},
            **{f"risk_{k}": v for k, v in self.risk.as_dict().items()},
            "search_ms": self.search_ms,
            "nodes_checked": self.nodes_checked,
        }
