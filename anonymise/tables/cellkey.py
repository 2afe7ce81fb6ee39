"""Cell key method (CKM) for frequency tables: the ABS TableBuilder / Destatis / τ-ARGUS
perturbation, with record keys that stay the same from release to release.

* **Record key** per person: keyed BLAKE2b of the pseudonym (4-byte digest, personalisation
  ``ckm:v1``), an integer in ``[0, 2**32)``. The key is the cell-key secret
  (:func:`derive_secret`, not the pseudonymisation key itself), so the record keys say nothing
  about the pseudonyms and the pseudonyms nothing about them. BLAKE2b's keyed mode is a PRF by
  design (RFC 7693) and one C call per person: 1M record keys take about 2 s, HMAC-SHA256 6 s.
* **Cell key**: the sum of the record keys of the cell's distinct contributors mod ``2**32``
  (integers: no float-order drift). The same contributors give the same cell key in every table,
  query and release; one person more or less gives an unrelated one.
* **Perturbation table** (:class:`PTable`, maximum entropy like R's ``ptable``): for an original
  count ``i`` (counts above the last row use the last row) a distribution of noise ``v`` with
  mean 0, variance ``V``, ``|v| ≤ D`` and no perturbed count in ``1..js``; zeros are never
  perturbed. Each row splits ``[0, 2**32)`` into intervals, one per noise value; a cell's key
  picks the interval, so its noise is a fixed function of (count, cell key).

Perturbed totals are perturbed themselves, not re-added (Handbook ch. 5): tables are then not
additive, which :func:`perturb_frequency_table` reports per table rather than repairs.

Pure library: polars, numpy, scipy and the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import polars as pl

from anonymise.tables.build import explode_ancestors
from anonymise.tables.model import TOTAL, Dimension, Table

MOD = 2**32
"""Record and cell keys are integers modulo 2**32."""
DOMAIN = b"ckm:v1"
"""Personalisation of the record-key hash (domain separation from every other keyed hash)."""
FRAME_SCHEMA = {
    "i": pl.Int64,
    "v": pl.Int64,
    "p": pl.Float64,
    "lower": pl.Int64,
    "upper": pl.Int64,
}
"""Columns of a p-table's ``frame``: count class, noise, probability, cell-key interval."""
SECRET_LABEL = b"brugstat:cell-key-secret:v1"
"""What :func:`derive_secret` MACs with the project key to get the cell-key secret."""


def derive_secret(project_key: bytes) -> bytes:
    """The cell-key secret of a project: ``HMAC-SHA256(project_key, SECRET_LABEL)``.

    One key to keep per project (the pseudonymisation key), yet a secret of its own for the
    record keys: knowing one record key or the cell-key secret tells nothing about the key.

    >>> derive_secret(b"k" * 32) == derive_secret(b"k" * 32) != derive_secret(b"j" * 32)
    True
    """
    if len(project_key) < 16:
        raise ValueError("the project key must be at least 16 bytes")
    return hmac.new(bytes(project_key), SECRET_LABEL, hashlib.sha256).digest()


def record_key(pseudonym: str, key: bytes) -> int:
    """The record key of one person: keyed BLAKE2b of the pseudonym, 4 bytes, big-endian.

    >>> record_key("p1", b"k" * 32) == record_key("p1", b"k" * 32) != record_key("p2", b"k" * 32)
    True
    """
    return int.from_bytes(
        hashlib.blake2b(
            pseudonym.encode("utf-8"), key=bytes(key)[:64], digest_size=4, person=DOMAIN
        ).digest(),
        "big",
    )


def record_keys(pseudonyms: pl.Series | Iterable[str], key: bytes) -> pl.Series:
    """Record keys (``UInt32``, named ``record_key``) of the given pseudonyms, in order.

    ``key`` is the cell-key secret: at least 16 bytes, and not the pseudonymisation key."""
    if not isinstance(key, bytes | bytearray) or len(key) < 16:
        raise ValueError("the cell-key secret must be at least 16 bytes")
    values = (
        pseudonyms.cast(pl.String).to_list()
        if isinstance(pseudonyms, pl.Series)
        else list(pseudonyms)
    )
    if any(v is None for v in values):
        raise ValueError("every record needs a pseudonym (no record key without one)")
    secret = bytes(key)[:64]  # BLAKE2b keys are at most 64 bytes
    blake = hashlib.blake2b
    out = [
        int.from_bytes(
            blake(v.encode("utf-8"), key=secret, digest_size=4, person=DOMAIN).digest(), "big"
        )
        for v in values
    ]
    return pl.Series("record_key", out, dtype=pl.UInt32)


@dataclass(frozen=True)
class PTable:
    """A perturbation table for counts.

    ``frame``: one row per (original count ``i``, noise ``v``) with probability ``p`` and the
    integer interval ``lower ≤ cell key < upper`` of ``[0, 2**32)`` that picks it; ``D``, ``V``,
    ``js`` the design, ``variance`` per row the variance actually reached (small counts may not
    reach ``V`` within their allowed results, as in R's ``ptable``).
    """

    D: int
    V: float
    js: int
    frame: pl.DataFrame

    @property
    def max_count(self) -> int:
        """The last row: larger counts use its distribution."""
        return int(self.frame["i"].max())

    def row(self, i: int) -> pl.DataFrame:
        """The distribution of noise for an original count ``i``."""
        return self.frame.filter(pl.col("i") == min(int(i), self.max_count))

    def moments(self) -> pl.DataFrame:
        """Per row ``i``: mean and variance of the noise, max ``|v|``, the smallest non-zero
        perturbed count (``i + v``)."""
        return (
            self.frame.filter(pl.col("p") > 0)
            .group_by("i")
            .agg(
                mean=(pl.col("p") * pl.col("v")).sum(),
                variance=(pl.col("p") * pl.col("v") ** 2).sum()
                - (pl.col("p") * pl.col("v")).sum() ** 2,
                max_abs=pl.col("v").abs().max(),
                min_result=pl.when(pl.col("i") + pl.col("v") > 0)
                .then(pl.col("i") + pl.col("v"))
                .min(),
            )
            .sort("i")
        )

    def noise(self, counts: np.ndarray, cell_keys: np.ndarray) -> np.ndarray:
        """The noise of each cell: its row by count, its interval by cell key. Zeros get 0."""
        counts = np.asarray(counts, dtype=np.int64)
        keys = np.asarray(cell_keys, dtype=np.int64)
        if (counts < 0).any():
            raise ValueError("counts must be non-negative")
        if ((keys < 0) | (keys >= MOD)).any():
            raise ValueError("cell keys must be integers in [0, 2**32)")
        rows = np.minimum(counts, self.max_count)
        out = np.zeros(len(counts), dtype=np.int64)
        for i in np.unique(rows):
            r = self.row(int(i))
            at = np.flatnonzero(rows == i)
            k = np.searchsorted(r["upper"].to_numpy(), keys[at], side="right")
            out[at] = r["v"].to_numpy()[k]
        return out


def _max_entropy_row(i: int, D: int, V: float, js: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
    """Noise values and probabilities for count ``i``: maximum entropy with mean 0 and the
    variance closest to ``V`` that the allowed results (``0`` or ``> js``, ``|v| ≤ D``) allow."""
    from scipy.optimize import linprog, minimize  # only when a p-table is designed

    if i == 0:
        return np.array([0]), np.array([1.0])
    v = np.array([x for x in range(-D, D + 1) if i + x == 0 or i + x > js])
    # the variances reachable with mean 0 (two LPs); aim at V, clipped into that range
    a_eq = np.vstack([np.ones(len(v)), v])
    lo = linprog(v**2, A_eq=a_eq, b_eq=[1, 0], bounds=(0, 1), method="highs")
    hi = linprog(-(v**2), A_eq=a_eq, b_eq=[1, 0], bounds=(0, 1), method="highs")
    if lo.status != 0 or hi.status != 0:
        raise ValueError(f"no noise distribution with mean 0 for count {i} (D={D}, js={js})")
    target = float(np.clip(V, lo.fun, -hi.fun))
    cons = [
        {"type": "eq", "fun": lambda p: p.sum() - 1.0},
        {"type": "eq", "fun": lambda p: p @ v},
        {"type": "eq", "fun": lambda p: p @ v**2 - target},
    ]

    def neg_entropy(p: np.ndarray) -> float:
        q = np.clip(p, 1e-300, None)
        return float(q @ np.log(q))

    # start from the variance-extremes' mix that meets the target (feasible by construction)
    w = 0.0 if -hi.fun == lo.fun else (target - lo.fun) / (-hi.fun - lo.fun)
    start = (1 - w) * lo.x + w * hi.x
    start = 0.9 * start + 0.1 * np.full(len(v), 1 / len(v))
    res = minimize(
        neg_entropy,
        start,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * len(v),
        constraints=cons,
        options={"ftol": 1e-12, "maxiter": 500},
    )
    p = np.clip(res.x if res.success else (1 - w) * lo.x + w * hi.x, 0.0, 1.0)
    p[p < 1e-12] = 0.0
    return v, p / p.sum()


def ptable(D: int = 2, V: float = 1.05, js: int = 1) -> PTable:  # noqa: N803
    """A maximum-entropy perturbation table (R ``ptable::create_cnt_ptable(D, V, js)``).

    Rows ``i = 0 .. D + js + 1``: from there on every result ``i + v`` is allowed, so the last
    row serves every larger count. Probabilities are turned into integer intervals of
    ``[0, 2**32)`` once, so the table is exact data (publish ``frame``; never re-derive it).

    >>> pt = ptable()
    >>> pt.max_count, pt.row(0)["v"].to_list()
    (4, [0])
    >>> m = pt.moments().filter(pl.col("i") == pt.max_count).row(0, named=True)
    >>> round(m["mean"], 9) == 0 and abs(m["variance"] - 1.05) < 1e-6 and m["max_abs"] <= 2
    True
    """
    if D < 1 or js < 0 or V <= 0:
        raise ValueError("D must be ≥ 1, js ≥ 0 and V > 0")
    rows = []
    for i in range(D + js + 2):
        v, p = _max_entropy_row(i, D, V, js)
        cum = np.cumsum(p)
        upper = np.rint(cum * MOD).astype(np.int64)
        upper[-1] = MOD
        lower = np.concatenate([[0], upper[:-1]])
        for vv, pp, lo, up in zip(v, p, lower, upper, strict=True):
            if up > lo:
                rows.append((i, int(vv), float(pp), int(lo), int(up)))
    frame = pl.DataFrame(rows, schema=FRAME_SCHEMA, orient="row")
    return PTable(D=D, V=V, js=js, frame=frame)


def ptable_from_frame(frame: pl.DataFrame, *, D: int, V: float, js: int) -> PTable:  # noqa: N803
    """A p-table read back from its data (e.g. the published table), checked for consistency:
    every row's intervals cover ``[0, 2**32)`` without gaps, zeros are never perturbed."""
    f = frame.select("i", "v", "p", "lower", "upper").sort("i", "lower")
    for (i,), r in f.group_by(["i"], maintain_order=True):
        lo, up = r["lower"].to_numpy(), r["upper"].to_numpy()
        if lo[0] != 0 or up[-1] != MOD or (lo[1:] != up[:-1]).any():
            raise ValueError(f"p-table row {i}: the intervals do not cover [0, 2**32)")
    if f.filter((pl.col("i") == 0) & (pl.col("v") != 0)).height:
        raise ValueError("p-table row 0 perturbs zeros")
    return PTable(D=D, V=V, js=js, frame=f)


def cell_keys(
    records: pl.DataFrame,
    dims: Sequence[str],
    *,
    person: str = "person",
    key: str = "record_key",
    margins: bool = True,
) -> pl.DataFrame:
    """Counts of distinct persons and cell keys of a frequency table, margins included.

    ``records`` has one row per person and contribution (``person``, ``key`` and the ``dims``);
    duplicates of a (person, cell) are counted once. Margins are coded ``Totaal``. Returns the
    dims, ``count`` and ``cell_key`` (``Σ record keys mod 2**32``)."""
    missing = [c for c in (person, key, *dims) if c not in records.columns]
    if missing:
        raise ValueError(f"records lack the columns {missing}")
    base = records.select(
        pl.col(person), pl.col(key).cast(pl.Int64), *[pl.col(d).cast(pl.String) for d in dims]
    )
    if base.group_by(person).agg(pl.col(key).n_unique()).filter(pl.col(key) > 1).height:
        raise ValueError("a person has two record keys")
    frames = []
    for r in range(len(dims) + 1 if margins else 1):
        for summed in combinations(dims, r):
            keep = [d for d in dims if d not in summed]
            one = base.unique(subset=[person, *keep])
            by = keep or [pl.lit(0).alias("_all")]
            agg = one.group_by(by).agg(
                pl.len().cast(pl.Int64).alias("count"),
                (pl.col(key).sum() % MOD).alias("cell_key"),
            )
            frames.append(
                agg.with_columns(pl.lit(TOTAL).alias(d) for d in summed).select(
                    *dims, "count", "cell_key"
                )
            )
    return pl.concat(frames).sort(list(dims))


def perturb_frequency_table(
    records: pl.DataFrame,
    dims: Sequence[str],
    table: PTable,
    *,
    person: str = "person",
    key: str = "record_key",
    margins: bool = True,
    levels: dict[str, Sequence[str]] | None = None,
) -> pl.DataFrame:
    """A frequency table perturbed with the cell key method.

    Returns the dims (``Totaal`` on margins), ``count`` (true, steward only), ``cell_key``
    (steward only), ``noise`` and ``published`` (what may be published). Combinations in
    ``levels`` (code lists) without persons are listed with 0 (zeros are not perturbed).
    Totals are perturbed on their own; ``additive`` on each margin says whether it still
    equals the sum of its published children (flagged, not repaired).

    >>> recs = pl.DataFrame({"person": ["a", "b", "c"], "g": ["x", "x", "y"]})
    >>> recs = recs.with_columns(record_keys(recs["person"], b"s" * 16))
    >>> out = perturb_frequency_table(recs, ["g"], ptable())
    >>> out.columns
    ['g', 'count', 'cell_key', 'noise', 'published', 'additive']
    """
    cells = cell_keys(records, dims, person=person, key=key, margins=margins)
    if levels:
        codes = {
            d: sorted({*map(str, levels.get(d, ())), *cells[d].filter(cells[d] != TOTAL)})
            for d in dims
        }
        grid = pl.DataFrame({dims[0]: codes[dims[0]]})
        for d in dims[1:]:
            grid = grid.join(pl.DataFrame({d: codes[d]}), how="cross")
        leaves = cells.filter(pl.all_horizontal(pl.col(d) != TOTAL for d in dims))
        absent = grid.join(leaves.select(dims), on=list(dims), how="anti").with_columns(
            count=pl.lit(0, pl.Int64), cell_key=pl.lit(0, pl.Int64)
        )
        cells = pl.concat([cells, absent]).sort(list(dims))
    noise = table.noise(cells["count"].to_numpy(), cells["cell_key"].to_numpy())
    out = cells.with_columns(
        noise=pl.Series(noise, dtype=pl.Int64),
        published=pl.Series(cells["count"].to_numpy() + noise, dtype=pl.Int64),
    )
    # the same additivity rule as the release's tables: margins are coded Totaal here
    table = Table(
        name="perturbed",
        kind="frequency",
        measure="count",
        dims=tuple(
            Dimension.build(d, [c for c in out[d].unique().to_list() if c != TOTAL]) for d in dims
        ),
        frame=out.select(dims),
    )
    return out.with_columns(additive_margins(table, out["published"]))


def table_cell_keys(
    records: pl.DataFrame | pl.LazyFrame,
    table: Table,
    *,
    person: str,
    key: str = "record_key",
) -> pl.Series:
    """The cell key of every cell of ``table`` (aligned with ``table.frame``'s rows), margins
    and hierarchy levels included: ``Σ record keys of the cell's distinct persons mod 2**32``.

    ``records`` are the rows the table was counted from (``person``, ``key`` and the table's
    dimensions, leaf codes). A cell without persons gets 0 (zeros are never perturbed).

    >>> import polars as pl
    >>> from anonymise.tables import frequency_table
    >>> recs = pl.DataFrame({"p": ["a", "b", "c"], "wijk": ["W1", "W1", "W2"],
    ...                      "record_key": [1, 2, 2**32 - 1]})
    >>> t = frequency_table(recs.lazy(), dims=["wijk"], person_column="p")
    >>> table_cell_keys(recs, t, person="p").to_list()  # Totaal, W1, W2
    [2, 3, 4294967295]
    """
    names = list(table.dim_names)
    base = (
        records.lazy()
        .select(
            pl.col(person), pl.col(key).cast(pl.Int64), *[pl.col(d).cast(pl.String) for d in names]
        )
        .unique(subset=[person, *names])
        .collect()
    )
    if base.select(pl.col(key).n_unique().over(person).max()).item() not in (None, 1):
        raise ValueError("a person has two record keys")
    if base[person].n_unique() == base.height:
        # every person in one leaf (an additive table): sum the leaves up the hierarchies
        leaves = base.group_by(names).agg(pl.col(key).sum().alias("_k"))
        summed = (
            explode_ancestors(leaves.lazy(), table.dims).group_by(names).agg(pl.col("_k").sum())
        )
    else:
        summed = (
            explode_ancestors(base.lazy(), table.dims)
            .unique(subset=[person, *names])
            .group_by(names)
            .agg(pl.col(key).sum().alias("_k"))
        )
    keyed = table.frame.select(names).join(
        summed.collect(), on=names, how="left", maintain_order="left"
    )
    return (keyed["_k"].fill_null(0) % MOD).alias("cell_key")


def additive_margins(table: Table, published: pl.Series) -> pl.Series:
    """Per cell of ``table``: null for a leaf (or where a child is withheld); for a margin or
    hierarchy level, whether its ``published`` value equals the sum of its children's published
    values along every dimension in which it has children. The cell key method perturbs totals
    on their own (Handbook ch. 5), so this is reported, not repaired."""
    names = list(table.dim_names)
    frame = table.frame.select(names).with_columns(
        published.alias("_v"), pl.int_range(pl.len()).alias("_row")
    )
    has: list[pl.Expr] = []
    equal: list[pl.Expr] = []
    for d in table.dims:
        parent = dict(d.parent)
        children = (
            frame.filter(pl.col(d.name).is_in(list(parent)))
            .with_columns(pl.col(d.name).replace_strict(parent, return_dtype=pl.String))
            .group_by(names)
            .agg(
                pl.when(pl.col("_v").is_null().any())
                .then(None)
                .otherwise(pl.col("_v").sum())
                .alias(f"_sum_{d.name}"),
                pl.lit(True).alias(f"_has_{d.name}"),
            )
        )
        frame = frame.join(children, on=names, how="left", maintain_order="left")
        has.append(pl.col(f"_has_{d.name}").fill_null(False))
        equal.append(pl.col(f"_sum_{d.name}") == pl.col("_v"))
    if not has:
        return pl.Series("additive", [None] * frame.height, dtype=pl.Boolean)
    # False as soon as one dimension's children do not add up; unknown (null) when a child or
    # the margin itself is withheld; null for a leaf (no children in any dimension)
    verdict = (
        pl.when(pl.any_horizontal(h & (e == False) for h, e in zip(has, equal, strict=True)))  # noqa: E712
        .then(False)
        .when(pl.any_horizontal(h & e.is_null() for h, e in zip(has, equal, strict=True)))
        .then(None)
        .when(pl.any_horizontal(has))
        .then(True)
        .otherwise(None)
    )
    return frame.sort("_row").select(verdict.alias("additive"))["additive"]


def information_loss(perturbed: pl.DataFrame) -> dict[str, float]:
    """Mean absolute and largest absolute change, share of cells changed (a utility figure)."""
    d = (perturbed["published"] - perturbed["count"]).abs()
    return {
        "cells": float(perturbed.height),
        "mean_abs_change": float(d.mean() or 0.0),
        "max_abs_change": float(d.max() or 0.0),
        "share_changed": float((d > 0).mean() or 0.0),
        "share_non_additive_margins": float(1 - (perturbed["additive"].drop_nulls().mean() or 1.0))
        if perturbed["additive"].drop_nulls().len()
        else 0.0,
    }


__all__ = [
    "MOD",
    "PTable",
    "additive_margins",
    "cell_keys",
    "derive_secret",
    "information_loss",
    "perturb_frequency_table",
    "ptable",
    "ptable_from_frame",
    "record_key",
    "record_keys",
    "table_cell_keys",
]
