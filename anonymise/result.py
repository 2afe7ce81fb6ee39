"""The outcome of :func:`anonymise.kanon.k_anonymise`: the transformation, its risk and utility."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from anonymise.encode import generalise_expr
from anonymise.hierarchy import Hierarchy
from anonymise.risk import RiskSummary


@dataclass(frozen=True)
class AnonymisationResult:
    """Chosen levels, suppression decisions, and every figure of the release.

    Published quasi-identifier columns are strings (the hierarchy's values at the chosen level,
    ``*`` for a locally suppressed cell); suppressed rows (or all rows of suppressed persons) are
    removed. :meth:`apply` replays exactly this on a frame.
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

    def apply(self, lf: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame | pl.DataFrame:
        """Apply the levels, local suppression and record/person suppression to ``lf``.

        Returns a LazyFrame for a LazyFrame and a DataFrame for a DataFrame. On the frame the
        result was computed from, the output is k-anonymous; on other frames the same
        transformation is applied without that guarantee.
        """
        qis = list(self.quasi_identifiers)
        out = lf.lazy().with_columns(
            generalise_expr(q, self.hierarchies[q], self.levels[q]) for q in qis
        )
        if self.rewrite is not None and len(self.rewrite):
            out = out.join(self.rewrite.lazy(), on=qis, how="left", nulls_equal=True)
            out = out.with_columns(pl.coalesce(f"__out_{q}", q).alias(q) for q in qis).drop(
                [f"__out_{q}" for q in qis]
            )
        if self.removed_classes is not None and len(self.removed_classes):
            out = out.join(self.removed_classes.lazy(), on=qis, how="anti", nulls_equal=True)
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
