"""Re-identification risk from equivalence-class sizes (sdcMicro/ARX sample summaries).

With ``f_j`` the sample size of class ``j`` (rows, or persons), ``n = Σ f_j`` and ``F_j`` its size
in the population (``F_j = f_j`` when no population is given):

* prosecutor: the attacker knows the target is in the sample; record risk ``1/f_j``;
  highest ``1/min f_j``, average ``|J| / n``;
* journalist: the attacker matches against the population; record risk ``1/F_j``; highest
  ``1/min F_j``, average ``|J| / Σ F_j`` (over the population records in released classes);
* marketer: the expected share of records re-identified by matching everyone,
  ``(1/n) Σ f_j / F_j``;
* sample uniques: the share of records alone in their class;
* records at risk: the share of records whose prosecutor risk exceeds ``threshold``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class RiskSummary:
    """Risk figures of one release (all shares in [0, 1])."""

    prosecutor_max: float
    prosecutor_avg: float
    journalist_max: float
    journalist_avg: float
    marketer: float
    sample_uniques: float
    records_at_risk: float
    threshold: float
    classes: int
    smallest_class: int

    def as_dict(self) -> dict[str, float]:
        """Plain dict, e.g. for Dagster metadata."""
        return asdict(self)


def risk_from_sizes(
    sizes: np.ndarray, population_sizes: np.ndarray | None = None, *, threshold: float = 0.2
) -> RiskSummary:
    """Risk figures from class sizes (and, optionally, the same classes' population sizes).

    >>> r = risk_from_sizes(np.array([2, 3, 5]))
    >>> r.prosecutor_max, r.prosecutor_avg, r.records_at_risk
    (0.5, 0.3, 0.5)
    >>> risk_from_sizes(np.array([2, 3]), np.array([20, 3])).journalist_max
    0.3333333333333333
    """
    f = np.asarray(sizes, dtype=np.float64)
    f = f[f > 0]
    if not len(f):
        return RiskSummary(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, threshold, 0, 0)
    big_f = f if population_sizes is None else np.asarray(population_sizes, dtype=np.float64)
    if population_sizes is not None:
        big_f = np.maximum(big_f[np.asarray(sizes) > 0], f)
    n = f.sum()
    return RiskSummary(
        prosecutor_max=float(1.0 / f.min()),
        prosecutor_avg=float(len(f) / n),
        journalist_max=float(1.0 / big_f.min()),
        journalist_avg=float(len(f) / big_f.sum()),
        marketer=float((f / big_f).sum() / n),
        sample_uniques=float(f[f == 1].sum() / n),
        records_at_risk=float(f[1.0 / f > threshold].sum() / n),
        threshold=threshold,
        classes=len(f),
        smallest_class=int(f.min()),
    )


def _class_sizes(
    lf: pl.LazyFrame, quasi_identifiers: Sequence[str], person_column: str | None
) -> pl.LazyFrame:
    qis = list(quasi_identifiers)
    agg = pl.len() if person_column is None else pl.col(person_column).n_unique()
    return lf.group_by(qis).agg(agg.cast(pl.Int64).alias("__f"))


def reidentification_risk(
    data: pl.LazyFrame | pl.DataFrame,
    *,
    quasi_identifiers: Sequence[str],
    person_column: str | None = None,
    population: pl.LazyFrame | pl.DataFrame | None = None,
    threshold: float = 0.2,
) -> RiskSummary:
    """Risk of a (published) frame; classes are its distinct quasi-identifier combinations.

    With ``person_column`` class sizes count distinct persons. ``population`` (a frame with the
    same quasi-identifier columns, generalised the same way) gives the journalist and marketer
    population sizes.

    Examples
    --------
    >>> df = pl.DataFrame({"age": ["30-39", "30-39", "40-49"], "sex": ["m", "m", "v"]})
    >>> r = reidentification_risk(df, quasi_identifiers=["age", "sex"])
    >>> r.prosecutor_max, r.sample_uniques
    (1.0, 0.3333333333333333)
    """
    qis = list(quasi_identifiers)
    sample = _class_sizes(data.lazy(), qis, person_column)
    if population is None:
        sizes = sample.collect()["__f"].to_numpy()
        return risk_from_sizes(sizes, threshold=threshold)
    pop = _class_sizes(population.lazy(), qis, person_column).rename({"__f": "__F"})
    joined = sample.join(pop, on=qis, how="left", nulls_equal=True).collect()
    big = joined["__F"].fill_null(0).to_numpy()
    return risk_from_sizes(joined["__f"].to_numpy(), big, threshold=threshold)


def population_sizes(
    population: pl.LazyFrame | pl.DataFrame,
    class_values: Mapping[str, Sequence[str]],
    *,
    person_column: str | None = None,
) -> np.ndarray:
    """Population size of each given class (``class_values[qi][j]`` = class j's value; the
    population frame must already be generalised the same way).

    >>> pop = pl.DataFrame({"sex": ["m", "m", "v"]})
    >>> population_sizes(pop, {"sex": ["m", "v", "x"]}).tolist()
    [2, 1, 0]
    """
    qis = list(class_values)
    wanted = pl.DataFrame(
        {q: list(v) for q, v in class_values.items()}, schema=dict.fromkeys(qis, pl.String)
    )
    counts = _class_sizes(
        population.lazy().with_columns(pl.col(q).cast(pl.String) for q in qis), qis, person_column
    )
    joined = wanted.lazy().with_row_index("__j").join(counts, on=qis, how="left", nulls_equal=True)
    out = joined.sort("__j").collect()
    return out["__f"].fill_null(0).to_numpy()
