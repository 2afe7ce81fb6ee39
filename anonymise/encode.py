"""Dictionary-encode the quasi-identifiers once; every lattice node is then counted on integers.

:func:`encode` maps each quasi-identifier to the row index of its value in the hierarchy (its
*leaf code*), then collapses the data to the table of distinct combinations of leaf codes (plus
the person id and sensitive values when a model needs them) with a row count. The search never
looks at the original frame again: generalising to a node is a lookup ``lut[d][level][code]`` in a
small numpy array per quasi-identifier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from anonymise.hierarchy import Hierarchy, HierarchyError


@dataclass(frozen=True)
class EncodedHierarchy:
    """Integer view of one hierarchy: per level, leaf code → value code, and value statistics."""

    hierarchy: Hierarchy
    lut: tuple[np.ndarray, ...]
    """``lut[L][leaf]`` = code of the leaf's value at level L (codes 0..cards[L]-1)."""
    values: tuple[tuple[str, ...], ...]
    """``values[L][code]`` = the string value at level L."""
    share: tuple[np.ndarray, ...]
    """``share[L][code]`` = hierarchy rows under the value / hierarchy size (ARX's Loss share)."""
    freq: tuple[np.ndarray, ...]
    """``freq[L][code]`` = number of data rows whose value generalises to it (all rows)."""

    @property
    def height(self) -> int:
        return len(self.lut)

    def up(self, src: int, dst: int) -> np.ndarray:
        """Map value codes at level ``src`` to value codes at level ``dst >= src``."""
        out = np.zeros(len(self.values[src]), dtype=np.int64)
        out[self.lut[src]] = self.lut[dst]
        return out


@dataclass(frozen=True)
class EncodedData:
    """The distinct-combination table the search counts on.

    ``codes[:, d]`` holds leaf codes of quasi-identifier ``d``; ``weight`` the number of input
    rows per distinct unit; ``person`` a dense person id (or ``None``); ``sensitive[name]`` dense
    codes of a sensitive column (sorted order of its values, or the order given by a model),
    ``n_sensitive[name]`` how many codes it has.
    """

    quasi_identifiers: tuple[str, ...]
    hierarchies: tuple[EncodedHierarchy, ...]
    codes: np.ndarray
    weight: np.ndarray
    person: np.ndarray | None
    n_persons: int
    sensitive: dict[str, np.ndarray]
    n_sensitive: dict[str, int]
    n_rows: int

    @property
    def heights(self) -> tuple[int, ...]:
        return tuple(h.height for h in self.hierarchies)


def leaf_code_expr(column: str, hierarchy: Hierarchy) -> pl.Expr:
    """Expression giving the hierarchy row index of each value (null when unknown).

    >>> h = Hierarchy([("a", "*"), ("b", "*")], name="x")
    >>> pl.DataFrame({"x": ["b", "a", "c"]}).select(leaf_code_expr("x", h))["x"].to_list()
    [1, 0, None]
    """
    return (
        _as_string(pl.col(column))
        .replace_strict(
            list(hierarchy.leaves),
            list(range(hierarchy.size)),
            default=None,
            return_dtype=pl.Int64,
        )
        .alias(column)
    )


def _as_string(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


def generalise_expr(column: str, hierarchy: Hierarchy, level: int) -> pl.Expr:
    """Expression replacing each value by its value at ``level`` (as a string).

    >>> h = Hierarchy.prefix(["9711AB", "9712CD"], lengths=(4,), name="pc6")
    >>> pl.DataFrame({"pc6": ["9711AB"]}).select(generalise_expr("pc6", h, 1))["pc6"].to_list()
    ['9711']
    """
    return (
        _as_string(pl.col(column))
        .replace_strict(list(hierarchy.leaves), list(hierarchy.level(level)), default=None)
        .alias(column)
    )


def encode_hierarchy(hierarchy: Hierarchy, leaf_counts: np.ndarray) -> EncodedHierarchy:
    """Lookup tables and statistics of one hierarchy given the data's count per leaf."""
    luts, values, shares, freqs = [], [], [], []
    for level in range(hierarchy.height):
        lut, vals = hierarchy.codes(level)
        luts.append(lut)
        values.append(vals)
        shares.append(np.bincount(lut, minlength=len(vals)) / hierarchy.size)
        freqs.append(np.bincount(lut, weights=leaf_counts, minlength=len(vals)))
    return EncodedHierarchy(hierarchy, tuple(luts), tuple(values), tuple(shares), tuple(freqs))


def encode(
    data: pl.LazyFrame | pl.DataFrame,
    *,
    quasi_identifiers: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    person_column: str | None = None,
    sensitive: Mapping[str, Sequence[object] | None] | None = None,
) -> EncodedData:
    """Encode ``data`` once into the distinct-combination table (one collect).

    ``sensitive`` maps a sensitive column to an explicit value order (or ``None`` for the
    column's sorted order).

    Examples
    --------
    >>> h = Hierarchy([("a", "*"), ("b", "*")], name="x")
    >>> enc = encode(pl.DataFrame({"x": ["a", "b", "a"]}), quasi_identifiers=["x"],
    ...              hierarchies={"x": h})
    >>> enc.codes[:, 0].tolist(), enc.weight.tolist(), enc.n_rows
    ([0, 1], [2, 1], 3)
    """
    qis = tuple(quasi_identifiers)
    if not qis:
        raise ValueError("at least one quasi-identifier is needed.")
    missing = [q for q in qis if q not in hierarchies]
    if missing:
        raise HierarchyError(f"no hierarchy was given for quasi-identifier(s) {missing}.")
    sensitive = dict(sensitive or {})
    lf = data.lazy()
    exprs = [leaf_code_expr(q, hierarchies[q]) for q in qis]
    extra: list[str] = []
    if person_column is not None:
        exprs.append((pl.col(person_column).rank("dense") - 1).cast(pl.Int64).alias("__person"))
        extra.append("__person")
    for j, (col, order) in enumerate(sensitive.items()):
        if order is None:
            expr = pl.col(col).rank("dense") - 1
        else:
            expr = pl.col(col).replace_strict(
                list(order), list(range(len(order))), default=None, return_dtype=pl.Int64
            )
        exprs.append(expr.cast(pl.Int64).alias(f"__s{j}"))
        extra.append(f"__s{j}")
    keys = [*qis, *extra]
    table = lf.select(exprs).group_by(keys).agg(pl.len().alias("__n")).collect()

    for q in qis:
        if table[q].null_count():
            n_missing = table.filter(pl.col(q).is_null())["__n"].sum()
            raise HierarchyError(
                f"attribute {q!r}: {n_missing} row(s) hold values that are missing from its "
                "hierarchy (or are null)."
            )
    for j, col in enumerate(sensitive):
        if table[f"__s{j}"].null_count():
            raise ValueError(f"sensitive column {col!r} holds nulls or values outside its order.")

    codes = table.select(qis).to_numpy().astype(np.int64, copy=False).reshape(len(table), len(qis))
    weight = table["__n"].to_numpy().astype(np.int64)
    encoded = []
    for d, q in enumerate(qis):
        h = hierarchies[q]
        leaf_counts = np.bincount(codes[:, d], weights=weight, minlength=h.size)
        encoded.append(encode_hierarchy(h, leaf_counts))
    person = None
    n_persons = int(weight.sum())
    if person_column is not None:
        person = table["__person"].to_numpy().astype(np.int64)
        n_persons = int(person.max()) + 1 if len(person) else 0
    sens_codes, n_sens = {}, {}
    for j, (col, order) in enumerate(sensitive.items()):
        sens_codes[col] = table[f"__s{j}"].to_numpy().astype(np.int64)
        n_sens[col] = len(order) if order is not None else int(sens_codes[col].max(initial=-1)) + 1
    return EncodedData(
        quasi_identifiers=qis,
        hierarchies=tuple(encoded),
        codes=codes,
        weight=weight,
        person=person,
        n_persons=n_persons,
        sensitive=sens_codes,
        n_sensitive=n_sens,
        n_rows=int(weight.sum()),
    )
