"""Frequency and magnitude tables, with all margins, from microdata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from anonymise.tables.model import Dimension, Table

TOP_CONTRIBUTIONS = 5
"""How many of a magnitude cell's largest contributions are kept for the dominance rules."""


def _dimensions(
    df: pl.DataFrame, dims: Sequence[str], hierarchies: Mapping[str, Mapping[str, str]] | None
) -> tuple[Dimension, ...]:
    out = []
    for d in dims:
        observed = df[d].unique().to_list()
        if None in observed:
            raise ValueError(f"column {d!r} has missing values; recode them first")
        dim = Dimension.build(d, observed, (hierarchies or {}).get(d))
        inner = [c for c in observed if not dim.is_leaf(c)]
        if inner:
            raise ValueError(f"column {d!r} holds non-leaf codes {inner[:5]}")
        out.append(dim)
    return tuple(out)


def explode_ancestors(lf: pl.LazyFrame, dims: Sequence[Dimension]) -> pl.LazyFrame:
    """One row per row and combination of its codes' ancestors (the code itself included):
    grouping the result by the dimensions counts every margin and hierarchy level."""
    for d in dims:
        anc = {c: list(d.ancestors(c)) for c in d.codes}
        lf = lf.with_columns(
            pl.col(d.name).replace_strict(anc, return_dtype=pl.List(pl.String))
        ).explode(d.name)
    return lf


def _complete(cells: pl.DataFrame, dims: tuple[Dimension, ...]) -> pl.DataFrame:
    grid = pl.DataFrame({dims[0].name: list(dims[0].codes)}) if dims else pl.DataFrame()
    for d in dims[1:]:
        grid = grid.join(pl.DataFrame({d.name: list(d.codes)}), how="cross")
    names = [d.name for d in dims]
    return (
        grid.join(cells, on=names, how="left")
        .with_columns(
            pl.col("value").fill_null(0.0),
            pl.col("contributors").fill_null(0),
            pl.col("top").fill_null(pl.lit([], pl.List(pl.Float64))),
        )
        .sort(names)
    )


def _prepare(lf: pl.LazyFrame, dims: Sequence[str], extra: Sequence[str]) -> pl.DataFrame:
    cols = [pl.col(d).cast(pl.String) for d in dims] + [pl.col(c) for c in extra]
    return lf.select(cols).collect()


def frequency_table(
    lf: pl.LazyFrame,
    *,
    dims: Sequence[str],
    hierarchies: Mapping[str, Mapping[str, str]] | None = None,
    person_column: str | None = None,
    name: str | None = None,
    measure: str = "count",
) -> Table:
    """A frequency table over ``dims`` with every margin and hierarchy level.

    Each cell counts rows, or distinct persons when ``person_column`` is given (then each person
    must fall in one leaf cell, so the table stays additive); ``contributors`` is that count.

    >>> import polars as pl
    >>> lf = pl.LazyFrame({"wijk": ["W1", "W1", "W2"], "level": [1, 2, 2]})
    >>> hier = {"wijk": {"W1": "G", "W2": "G"}}
    >>> t = frequency_table(lf, dims=["wijk", "level"], hierarchies=hier)
    >>> t.frame.filter(pl.col("level") == "Totaal").select("wijk", "value").rows()
    [('G', 3.0), ('W1', 2.0), ('W2', 1.0)]
    """
    extra = [person_column] if person_column else []
    df = _prepare(lf, dims, extra)
    dimensions = _dimensions(df, dims, hierarchies)
    names = list(dims)
    count = pl.col(person_column).n_unique() if person_column else pl.len()
    leaves = df.group_by(names).agg(count.cast(pl.Int64).alias("contributors"))
    if person_column is None or leaves["contributors"].sum() == df[person_column].n_unique():
        # Additive (no person in two leaf cells): a margin counts the persons of its leaves,
        # so the leaf counts are summed up the hierarchies instead of exploding every row.
        counted = (
            explode_ancestors(leaves.lazy(), dimensions)
            .group_by(names)
            .agg(pl.col("contributors").sum().cast(pl.Int64))
        )
    else:
        counted = (
            explode_ancestors(df.lazy(), dimensions)
            .group_by(names)
            .agg(count.cast(pl.Int64).alias("contributors"))
        )
    cells = counted.with_columns(
        value=pl.col("contributors").cast(pl.Float64),
        top=pl.lit([], pl.List(pl.Float64)),
    ).collect()
    return Table(
        name=name or "freq_" + "_".join(dims),
        kind="frequency",
        measure=measure,
        dims=dimensions,
        frame=_complete(cells, dimensions),
    )


def magnitude_table(
    lf: pl.LazyFrame,
    *,
    dims: Sequence[str],
    value: str,
    hierarchies: Mapping[str, Mapping[str, str]] | None = None,
    person_column: str | None = None,
    name: str | None = None,
) -> Table:
    """A magnitude table: the sum of ``value`` per cell, with contributors and top contributions.

    Contributions are summed per person when ``person_column`` is given (otherwise each row is a
    contributor); ``top`` holds the largest few contributions, largest first, for the dominance
    and p% rules. Values must be non-negative.

    >>> import polars as pl
    >>> lf = pl.LazyFrame({"wijk": ["W1", "W1", "W2"], "debt": [100.0, 900.0, 50.0]})
    >>> t = magnitude_table(lf, dims=["wijk"], value="debt")
    >>> t.frame.select("wijk", "value", "contributors", "top").row(0)
    ('Totaal', 1050.0, 3, [900.0, 100.0, 50.0])
    """
    extra = [value] + ([person_column] if person_column else [])
    df = _prepare(lf, dims, extra)
    if df[value].null_count() or (df[value] < 0).any():
        raise ValueError(f"column {value!r} must be non-negative and complete")
    dimensions = _dimensions(df, dims, hierarchies)
    names = list(dims)
    unit = person_column or "__row"
    base = df.lazy().with_columns(pl.col(value).cast(pl.Float64))
    if not person_column:
        base = base.with_columns(pl.int_range(pl.len()).alias(unit))
    per_unit = (
        explode_ancestors(base, dimensions)
        .group_by([*names, unit])
        .agg(pl.col(value).sum().alias("x"))
    )
    cells = (
        per_unit.group_by(names)
        .agg(
            pl.col("x").sum().alias("value"),
            pl.len().cast(pl.Int64).alias("contributors"),
            pl.col("x").top_k(TOP_CONTRIBUTIONS).sort(descending=True).alias("top"),
        )
        .collect()
    )
    return Table(
        name=name or f"sum_{value}_" + "_".join(dims),
        kind="magnitude",
        measure=f"sum:{value}",
        dims=dimensions,
        frame=_complete(cells, dimensions),
    )
