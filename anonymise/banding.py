"""Bands and month buckets: the coarsening every release applies to numbers and dates.

Pure polars expressions. A band label never shows an observed minimum or maximum (only the fixed
cut points), so a band cannot disclose a value (the Mondrian pitfall in release-safety.md §2).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


def band_labels(edges: Sequence[int]) -> tuple[str, ...]:
    """Labels of the bands ``[e_i, e_{i+1})``; the last is open.

    >>> band_labels((0, 1, 1000))
    ('0', '1-999', '1000+')
    """
    out = []
    for lo, hi in zip(edges, [*edges[1:], None], strict=True):
        if hi is None:
            out.append(f"{lo}+")
        elif hi - 1 == lo:
            out.append(str(lo))
        else:
            out.append(f"{lo}-{hi - 1}")
    return tuple(out)


def band(expr: pl.Expr, edges: Sequence[int]) -> pl.Expr:
    """``expr`` (a number) -> its band label; null stays null, below the first edge -> first.

    >>> df = pl.DataFrame({"x": [0, 5, 2000, None]})
    >>> df.select(band(pl.col("x"), (0, 1, 1000)).alias("b"))["b"].to_list()
    ['0', '1-999', '1000+', None]
    """
    labels = band_labels(edges)
    v = expr.floor()
    out = pl.lit(labels[0])
    for lo, label in zip(edges[1:], labels[1:], strict=True):
        out = pl.when(v >= lo).then(pl.lit(label)).otherwise(out)
    return pl.when(expr.is_null()).then(pl.lit(None, dtype=pl.String)).otherwise(out)


def months_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Whole calendar months from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    m = (end.dt.year().cast(pl.Int32) - start.dt.year().cast(pl.Int32)) * 12 + (
        end.dt.month().cast(pl.Int32) - start.dt.month().cast(pl.Int32)
    )
    return m - (end.dt.day() < start.dt.day()).cast(pl.Int32)


def month_bucket(months: pl.Expr, buckets: Sequence[int]) -> pl.Expr:
    """Months -> the lower bound of its bucket (negative months count as 0); Int16."""
    out = pl.lit(buckets[0], dtype=pl.Int16)
    for b in buckets[1:]:
        out = pl.when(months >= b).then(pl.lit(b, dtype=pl.Int16)).otherwise(out)
    return pl.when(months.is_null()).then(pl.lit(None, dtype=pl.Int16)).otherwise(out)


def bucket_labels(buckets: Sequence[int]) -> tuple[str, ...]:
    """Readable labels of month buckets (``0-2``, ``3-5`` … ``36+``).

    >>> bucket_labels((0, 3, 12))
    ('0-2', '3-11', '12+')
    """
    return band_labels(buckets)


def month_band(months: pl.Expr, buckets: Sequence[int]) -> pl.Expr:
    """Months -> the label of its bucket (``bucket_labels``); null stays null."""
    return band(pl.when(months < 0).then(0).otherwise(months), buckets)
