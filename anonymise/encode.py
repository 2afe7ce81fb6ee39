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
    row_unit: np.ndarray | None = None
    """Index of each input row in the distinct table (input row order), when known."""

    @property
    def heights(self) -> tuple[int, ...]:
        return tuple(h.height for h in self.hierarchies)


def leaf_code_expr(column: str, hierarchy: Hierarchy, dtype: pl.DataType | None = None) -> pl.Expr:
    """Expression giving the hierarchy row index of each value (null when unknown).

    The value is matched as a string via a cast to an ``Enum`` of the hierarchy's leaves (a hash
    lookup per row; ``dtype``, the column's type if known, skips a no-op cast of strings).

    >>> h = Hierarchy([("a", "*"), ("b", "*")], name="x")
    >>> pl.DataFrame({"x": ["b", "a", "c"]}).select(leaf_code_expr("x", h))["x"].to_list()
    [1, 0, None]
    """
    expr = pl.col(column)
    if dtype is None or dtype != pl.String:
        expr = expr.cast(pl.String)
    return (
        expr.cast(pl.Enum(list(hierarchy.leaves)), strict=False)
        .to_physical()
        .cast(pl.Int64)
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
    schema = lf.collect_schema()
    leaf = [leaf_code_expr(q, hierarchies[q], schema.get(q)) for q in qis]
    sizes = [hierarchies[q].size for q in qis]
    qi_space = 1
    for size in sizes:
        qi_space *= max(size, 1)
    packed = qi_space < 2**62  # the QI codes travel as one mixed-radix int64 key
    exprs: list[pl.Expr] = list(leaf)
    if packed:
        key = leaf[0]
        for e, size in zip(leaf[1:], sizes[1:], strict=True):
            key = key * max(size, 1) + e
        exprs = [key.alias("__key")]
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
    rows = lf.select(exprs).collect()
    main = ["__key"] if packed else list(qis)

    if any(rows[c].null_count() for c in main):
        missing = lf.select(e.null_count() for e in leaf).collect().row(0)
        q, n_missing = next((q, n) for q, n in zip(qis, missing, strict=True) if n)
        raise HierarchyError(
            f"attribute {q!r}: {n_missing} row(s) hold values that are missing from its "
            "hierarchy (or are null)."
        )
    for j, col in enumerate(sensitive):
        if rows[f"__s{j}"].null_count():
            raise ValueError(f"sensitive column {col!r} holds nulls or values outside its order.")

    columns = [rows[c].to_numpy().astype(np.int64, copy=False) for c in (*main, *extra)]
    radices = [qi_space] if packed else list(sizes)
    radices += [int(c.max(initial=-1)) + 1 for c in columns[len(main) :]]
    table, row_unit = _distinct(columns, radices)
    if packed:
        codes = np.empty((len(table), len(qis)), dtype=np.int64)
        rest = table[:, 0]
        for d in range(len(qis) - 1, 0, -1):
            rest, codes[:, d] = np.divmod(rest, max(sizes[d], 1))
        codes[:, 0] = rest
        table = np.concatenate([codes, table[:, 1:]], axis=1)
    codes = np.ascontiguousarray(table[:, : len(qis)])
    weight = np.bincount(row_unit, minlength=len(table)).astype(np.int64)
    encoded = []
    for d, q in enumerate(qis):
        h = hierarchies[q]
        leaf_counts = np.bincount(codes[:, d], weights=weight, minlength=h.size)
        encoded.append(encode_hierarchy(h, leaf_counts))
    person = None
    n_persons = int(weight.sum())
    if person_column is not None:
        person = np.ascontiguousarray(table[:, len(qis)])
        n_persons = int(person.max()) + 1 if len(person) else 0
    sens_codes, n_sens = {}, {}
    first_sens = len(qis) + (person_column is not None)
    for j, (col, order) in enumerate(sensitive.items()):
        sens_codes[col] = np.ascontiguousarray(table[:, first_sens + j])
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
        row_unit=row_unit,
    )


def _distinct(
    columns: Sequence[np.ndarray], radices: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the integer ``columns`` (``0 <= columns[j] < radices[j]``), sorted, and
    each input row's index among them.

    The columns are packed into one mixed-radix int64 key when it fits, so the distinct values and
    the row → distinct index come from one sort of a single integer column (key and row index
    packed together, :func:`_sorted_inverse`) or, for a key too wide for that, one hash pass.

    >>> t, inv = _distinct([np.array([1, 0, 1]), np.array([2, 0, 2])], [2, 3])
    >>> t.tolist(), inv.tolist()
    ([[0, 0], [1, 2]], [1, 0, 1])
    """
    n = len(columns[0]) if columns else 0
    space = 1
    for r in radices:
        space *= max(int(r), 1)
    if space >= 2**62:
        stacked = np.stack(columns, axis=1)
        table, inv = np.unique(stacked, axis=0, return_inverse=True)
        return table.astype(np.int64, copy=False), inv.reshape(-1).astype(np.int64)
    key = columns[0].astype(np.int64, copy=True)
    for c, r in zip(columns[1:], radices[1:], strict=True):
        key *= max(int(r), 1)
        key += c
    if n == 0:
        uniq = key
        inv = np.zeros(0, dtype=np.int64)
    elif space <= 1 << (62 - max(int(n - 1).bit_length(), 1)):  # key and row index fit 62 bits
        uniq, inv = _sorted_inverse(key, space)
    else:
        keys = pl.Series("k", key)
        uniq_s = keys.unique().sort()
        index = pl.Series(np.arange(len(uniq_s), dtype=np.int64))
        inv = keys.replace_strict(uniq_s, index, return_dtype=pl.Int64).to_numpy()
        uniq = uniq_s.to_numpy()
    table = np.empty((len(uniq), len(columns)), dtype=np.int64)
    rest = uniq
    for j in range(len(columns) - 1, 0, -1):
        rest, table[:, j] = np.divmod(rest, max(int(radices[j]), 1))
    if len(columns):
        table[:, 0] = rest
    return table, inv


def _sorted_inverse(key: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` for non-negative keys below ``space``.

    Each key is packed with its position into one int64 and the packed keys sorted in place:
    a plain sort, several times faster than the argsort ``np.unique`` needs for the inverse
    (and than a polars hash pass: 0.7 ms against 2.5 ms on Adult's 30,162 keys, 50 ms against
    265 ms on 1 M keys).

    >>> u, inv = _sorted_inverse(np.array([7, 2, 7, 5]), 8)
    >>> u.tolist(), inv.tolist()
    ([2, 5, 7], [2, 0, 2, 1])
    """
    n = len(key)
    b = max(int(n - 1).bit_length(), 1)
    if n == 0 or space > 1 << (62 - b):
        uniq, inv = np.unique(key, return_inverse=True)
        return uniq, inv.reshape(-1).astype(np.int64, copy=False)
    packed = key << b
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    position = packed & ((1 << b) - 1)
    packed >>= b
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(packed[1:], packed[:-1], out=first[1:])
    inv = np.empty(n, dtype=np.int64)
    inv[position] = np.cumsum(first) - 1
    return packed[first], inv
