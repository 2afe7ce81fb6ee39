"""Cells and equations of a set of linked tables.

A table is a grid of cells over dimensions; every dimension has a hierarchy (child → parent, the
roots hang under a total), so every cell is either an interior cell or a margin. A set of tables is
*linked* when cells with the same coordinates over the same dimensions of the same measure are one
and the same number: they become one cell here, with one id, so every additivity and hierarchy
equation of every table acts on the same unknowns. That is what lets the audit see differencing
between tables.

The model is two things: a cell list (a polars frame: ``cell_id``, ``key``, ``measure``, ``table``,
coordinates, ``value``, ``contributors``, ``top``, ``is_margin``) and a sparse equation matrix
(equations × cells, each row "sum of children − parent = 0").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from scipy import sparse

TOTAL = "Totaal"
"""Code of a dimension's total when its hierarchy does not have a single root."""


@dataclass(frozen=True)
class Dimension:
    """A dimension: its codes and their hierarchy (``parent[code]``; the total has none)."""

    name: str
    parent: Mapping[str, str]
    total: str

    @classmethod
    def build(
        cls, name: str, observed: Iterable[str], hierarchy: Mapping[str, str] | None = None
    ) -> Dimension:
        """A dimension from observed leaf codes and an optional child → parent mapping.

        Codes without a parent hang under ``Totaal``; a hierarchy with one root uses that root as
        its total.

        >>> d = Dimension.build("wijk", ["W1", "W2"], {"W1": "G", "W2": "G"})
        >>> d.total, d.children("G")
        ('G', ('W1', 'W2'))
        >>> Dimension.build("level", ["1", "2"]).total
        'Totaal'
        """
        parent = {str(k): str(v) for k, v in (hierarchy or {}).items()}
        codes = set(parent) | set(parent.values()) | {str(c) for c in observed}
        roots = sorted(c for c in codes if c not in parent)
        if hierarchy and len(roots) == 1:
            total = roots[0]
        else:
            total = TOTAL
            if TOTAL in codes and TOTAL not in roots:
                raise ValueError(f"dimension {name!r}: {TOTAL!r} cannot have a parent")
            for r in roots:
                if r != TOTAL:
                    parent[r] = TOTAL
        dim = cls(name=name, parent=parent, total=total)
        for c in codes:  # reject cycles early
            dim.ancestors(c)
        return dim

    @property
    def codes(self) -> tuple[str, ...]:
        """All codes, the total first, then by depth and name."""
        codes = set(self.parent) | {self.total}
        return tuple(sorted(codes, key=lambda c: (len(self.ancestors(c)), c)))

    def children(self, code: str) -> tuple[str, ...]:
        """The direct children of ``code``, sorted."""
        return tuple(sorted(c for c, p in self.parent.items() if p == code))

    def is_leaf(self, code: str) -> bool:
        return not self.children(code)

    def ancestors(self, code: str) -> tuple[str, ...]:
        """``code`` and every code above it, up to and including the total."""
        out = [code]
        while out[-1] in self.parent:
            out.append(self.parent[out[-1]])
            if len(out) > len(self.parent) + 1:
                raise ValueError(f"dimension {self.name!r}: the hierarchy has a cycle")
        if out[-1] != self.total:
            raise ValueError(f"dimension {self.name!r}: code {code!r} is not under the total")
        return tuple(out)


@dataclass(frozen=True)
class Table:
    """One table: dimensions, measure and a frame with one row per cell (margins included)."""

    name: str
    kind: str  # "frequency" | "magnitude"
    measure: str
    dims: tuple[Dimension, ...]
    frame: pl.DataFrame  # dim columns (str), value, contributors, top (list[f64])

    @property
    def dim_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dims)


def cell_key(measure: str, coords: Mapping[str, str], totals: Mapping[str, str]) -> str:
    """Canonical identity of a cell: its measure and its non-total coordinates, sorted.

    >>> cell_key("count", {"wijk": "W1", "level": "Totaal"}, {"wijk": "G", "level": "Totaal"})
    'count|wijk=W1'
    """
    parts = [f"{d}={c}" for d, c in sorted(coords.items()) if c != totals[d]]
    return measure + "|" + ";".join(parts)


def _key_expr(measure: str, dims: Sequence[Dimension]) -> pl.Expr:
    parts = [
        pl.when(pl.col(d.name) == d.total)
        .then(pl.lit(None, pl.String))
        .otherwise(pl.lit(f"{d.name}=") + pl.col(d.name))
        for d in sorted(dims, key=lambda d: d.name)
    ]
    if not parts:
        return pl.lit(measure + "|")
    return pl.lit(measure + "|") + pl.concat_str(parts, separator=";", ignore_nulls=True)


@dataclass(frozen=True)
class TableSet:
    """Linked tables of one release: one cell list and one equation matrix.

    ``cells`` has one row per distinct cell (``cell_id`` = row number); ``equations`` is a sparse
    matrix (equations × cells, entries +1 for children and −1 for the parent);
    ``memberships`` maps every table row to its cell id.

    >>> import polars as pl
    >>> from anonymise.tables import frequency_table
    >>> lf = pl.LazyFrame({"wijk": ["A", "A", "B"], "level": ["1", "2", "2"]})
    >>> ts = TableSet([frequency_table(lf, dims=["wijk", "level"])])
    >>> ts.n_cells, ts.n_equations
    (9, 6)
    """

    tables: Sequence[Table]
    cells: pl.DataFrame = field(init=False)
    memberships: dict[str, pl.DataFrame] = field(init=False)
    equations: sparse.csr_array = field(init=False)
    equation_dim: tuple[str, ...] = field(init=False)
    equation_parent: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        from scipy import sparse

        names = [t.name for t in self.tables]
        if len(set(names)) != len(names):
            raise ValueError(f"table names must be unique: {names}")
        rows = []
        for t in self.tables:
            margin = pl.any_horizontal(
                [pl.col(d.name).is_in([c for c in d.codes if not d.is_leaf(c)]) for d in t.dims]
                or [pl.lit(True)]
            )
            rows.append(
                t.frame.with_columns(
                    key=_key_expr(t.measure, t.dims),
                    measure=pl.lit(t.measure),
                    kind=pl.lit(t.kind),
                    table=pl.lit(t.name),
                    is_margin=margin,
                    coordinates=pl.concat_str(
                        [pl.lit(f"{d.name}=") + pl.col(d.name) for d in t.dims] or [pl.lit("")],
                        separator=";",
                    ),
                    row=pl.int_range(pl.len()),
                ).select(
                    "table",
                    "row",
                    "key",
                    "measure",
                    "kind",
                    "coordinates",
                    "value",
                    "contributors",
                    "top",
                    "is_margin",
                )
            )
        allrows = pl.concat(rows)
        conflict = (
            allrows.group_by("key")
            .agg(pl.col("value").n_unique().alias("n"))
            .filter(pl.col("n") > 1)
        )
        if conflict.height:
            raise ValueError(
                "linked tables disagree on the value of cells "
                f"{conflict['key'].head(5).to_list()} (built from different microdata?)"
            )
        cells = (
            allrows.group_by("key", maintain_order=True)
            .agg(
                pl.first("measure", "kind", "table", "coordinates", "value", "contributors"),
                pl.col("top").first(),
                pl.col("is_margin").any(),
            )
            .with_columns(cell_id=pl.int_range(pl.len()))
        )
        ids = dict(zip(cells["key"].to_list(), cells["cell_id"].to_list(), strict=True))
        memberships = {}
        eq_rows: list[np.ndarray] = []
        eq_cols: list[np.ndarray] = []
        eq_vals: list[np.ndarray] = []
        seen: dict[tuple[int, ...], int] = {}
        eq_dim: list[str] = []
        eq_parent: list[int] = []
        for t, r in zip(self.tables, rows, strict=True):
            frame = t.frame.with_columns(
                cell_id=r["key"].replace_strict(ids, return_dtype=pl.Int64)
            )
            memberships[t.name] = frame
            lookup = {
                tuple(row[:-1]): row[-1]
                for row in frame.select(*t.dim_names, "cell_id").iter_rows()
            }
            for j, d in enumerate(t.dims):
                groups: dict[tuple[str, ...], list[int]] = {}
                for coords, cid in lookup.items():
                    code = coords[j]
                    if code == d.total:
                        continue
                    pcoords = (*coords[:j], d.parent[code], *coords[j + 1 :])
                    groups.setdefault(pcoords, []).append(cid)
                for pcoords, children in groups.items():
                    parent = lookup[pcoords]
                    sig = (*sorted(children), -1 - parent)
                    if sig in seen:
                        continue
                    seen[sig] = len(seen)
                    k = len(seen) - 1
                    eq_rows.append(np.full(len(children) + 1, k))
                    eq_cols.append(np.array([*children, parent]))
                    eq_vals.append(np.array([1.0] * len(children) + [-1.0]))
                    eq_dim.append(d.name)
                    eq_parent.append(parent)
        n = cells.height
        m = len(seen)
        if m:
            mat = sparse.coo_array(
                (np.concatenate(eq_vals), (np.concatenate(eq_rows), np.concatenate(eq_cols))),
                shape=(m, n),
            ).tocsr()
        else:
            mat = sparse.csr_array((0, n))
        values = cells["value"].to_numpy().astype(float)
        resid = np.abs(mat @ values)
        if m and resid.max() > 1e-6 * max(1.0, np.abs(values).max()):
            bad = int(np.argmax(resid))
            raise ValueError(
                f"table is not additive along {eq_dim[bad]!r} (a person counted in several "
                "categories?); make each unit fall in exactly one leaf cell"
            )
        object.__setattr__(self, "cells", cells)
        object.__setattr__(self, "memberships", memberships)
        object.__setattr__(self, "equations", mat)
        object.__setattr__(self, "equation_dim", tuple(eq_dim))
        object.__setattr__(self, "equation_parent", np.array(eq_parent, dtype=np.int64))

    @property
    def n_cells(self) -> int:
        return self.cells.height

    @property
    def n_equations(self) -> int:
        return self.equations.shape[0]

    @property
    def values(self) -> np.ndarray:
        return self.cells["value"].to_numpy().astype(float)

    def roll_up(self, table: str, dim: str) -> TableSet:
        """The same set with ``dim`` of ``table`` rolled up one level (its leaf codes dropped)."""
        out = []
        for t in self.tables:
            if t.name != table:
                out.append(t)
                continue
            d = next(x for x in t.dims if x.name == dim)
            leaves = [c for c in d.codes if d.is_leaf(c)]
            parent = {c: p for c, p in d.parent.items() if c not in leaves}
            if not parent and d.total in leaves:
                raise ValueError(f"dimension {dim!r} cannot be rolled up further")
            nd = Dimension(name=d.name, parent=parent, total=d.total)
            dims = tuple(nd if x.name == dim else x for x in t.dims)
            frame = t.frame.filter(~pl.col(dim).is_in(leaves))
            out.append(Table(t.name, t.kind, t.measure, dims, frame))
        return TableSet(out)


@dataclass(frozen=True)
class Problem:
    """What solvers and the audit see: values, equations, bounds and protection requirements.

    ``fixed`` is −1 where the solver may choose, 0 where the cell is known (published earlier) and
    1 where it is unknown regardless (suppressed in an earlier release and not in this one).
    ``upl``/``lpl`` are the protection levels (0 for non-sensitive cells); ``lower``/``upper`` the
    attacker's a-priori bounds.
    """

    keys: list[str]
    values: np.ndarray
    equations: sparse.csr_array
    lower: np.ndarray
    upper: np.ndarray
    upl: np.ndarray
    lpl: np.ndarray
    fixed: np.ndarray
    contributors: np.ndarray
    n_current: int
    zero_linked: np.ndarray | None = None
    """Cells that are 0 now but not in an earlier release: they may be suppressed (a published
    0 would bound the earlier cell by the change between the releases)."""
    auxiliary: np.ndarray | None = None
    """Variables that are not cells (differences between releases): never published, and
    exact values of them are no failure in themselves (their protection levels say what must
    stay unknown)."""
    scale: float | None = None
    """The magnitude the audit's tolerances are relative to (default: the largest absolute
    value); a part of a problem carries its whole's, so it is judged as in the whole."""

    @property
    def primary(self) -> np.ndarray:
        return (self.upl > 0) | (self.lpl > 0)


def apriori_bounds(measures: Sequence[str], values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Attacker's a-priori bounds: 0 .. the measure's grand total (values are non-negative)."""
    meas = np.asarray(measures)
    upper = np.zeros_like(values)
    for m in np.unique(meas):
        sel = meas == m
        upper[sel] = values[sel].max()
    return np.zeros_like(values), upper


def components(equations: sparse.csr_array, mask: np.ndarray) -> np.ndarray:
    """Connected-component label per cell of the cells in ``mask`` (−1 elsewhere).

    Two cells are connected when they share an equation.
    """
    from scipy.sparse.csgraph import connected_components

    n = equations.shape[1]
    idx = np.flatnonzero(mask)
    sub = equations[:, idx]
    sub = sub[np.asarray(np.abs(sub).sum(axis=1)).ravel() > 0]
    adj = (abs(sub).T @ abs(sub)).tocsr()
    _, lab = connected_components(adj, directed=False)
    out = np.full(n, -1, dtype=np.int64)
    out[idx] = lab
    return out


@dataclass(frozen=True)
class Part:
    """An independent part of a :class:`Problem`: ``cells`` (ids in the whole problem, ``None``
    when the part is the whole problem) and the part's own problem over them."""

    cells: np.ndarray | None
    problem: Problem


def independent_parts(
    problem: Problem, free: np.ndarray, sup_fixed: np.ndarray, *, keep_forced: bool = False
) -> list[Part]:
    """The problem split into parts no suppression decision of one can affect in another.

    Only free and already-suppressed cells are unknowns; every other cell is published whatever
    the solver does, so it is a constant in every equation and in every attacker LP. Two unknowns
    interact only through an equation they share, so the connected components of the unknowns
    (joined by shared equations) are independent: the attacker's interval of a cell depends on
    its own component's pattern only, a singleton line lies in one component, and the cost is a
    sum over components. Each part holds its unknowns, the equations through them (whole) and the
    published cells of those equations. Parts without an already-suppressed cell need nothing and
    are left out; so are parts without a free cell unless ``keep_forced`` (their one pattern is
    their suppressed cells, nothing to choose: a release after a population change has
    thousands, one per difference of two published cells). One component holding every unknown
    is returned as the whole problem (``cells=None``).

    >>> import polars as pl
    >>> from anonymise.tables import frequency_table
    >>> from anonymise.tables.ledger import build_problem
    >>> lf = pl.LazyFrame({"a": ["x", "x", "y"], "b": ["1", "2", "2"]})
    >>> t1 = frequency_table(lf, dims=["a"], name="t1", measure="m1")
    >>> t2 = frequency_table(lf, dims=["b"], name="t2", measure="m2")
    >>> ts = TableSet([t1, t2])
    >>> prob, _ = build_problem(ts, np.array([0, 0, 1.0, 0, 0, 0]), np.zeros(6))
    >>> parts = independent_parts(prob, prob.values > 0, prob.primary)
    >>> [p.cells.tolist() for p in parts]
    [[0, 1, 2]]
    """
    unknown = np.asarray(free | sup_fixed, dtype=bool)
    if not unknown.any():
        return []
    eq = problem.equations.tocsr()
    lab = components(eq, unknown)
    labels = lab[unknown]
    n_comp = int(labels.max()) + 1
    if n_comp == 1:
        return [Part(cells=None, problem=problem)]
    # the cells of every component at once (a loop over components scanning every cell cost
    # seconds with thousands of parts); labels are numbered in the order of their first cell,
    # so the parts' order is deterministic
    wanted = np.bincount(lab[sup_fixed & unknown], minlength=n_comp) > 0
    if not keep_forced:
        wanted &= np.bincount(lab[free & unknown], minlength=n_comp) > 0
    comps = np.flatnonzero(wanted)
    if not len(comps):
        return []
    order = np.flatnonzero(unknown)[np.argsort(labels, kind="stable")]
    starts = np.searchsorted(np.sort(labels), np.arange(n_comp + 1))
    scale = problem.scale
    if scale is None:
        scale = float(np.abs(problem.values).max(initial=0.0))
    csc = eq.tocsc()
    # the equations through each wanted component's unknowns (an equation lies in one component)
    row_comp = np.full(eq.shape[0], -1, dtype=np.int64)
    cell_of = csc.indices  # rows of each column's entries
    col_lab = np.repeat(lab, np.diff(csc.indptr))
    on = col_lab >= 0
    row_comp[cell_of[on]] = col_lab[on]
    row_order = np.argsort(row_comp, kind="stable")
    row_starts = np.searchsorted(row_comp[row_order], np.arange(n_comp + 1))
    out = []
    for c in comps:
        own = order[starts[c] : starts[c + 1]]
        rows = row_order[row_starts[c] : row_starts[c + 1]]
        block = eq[rows]
        cells = np.union1d(own, block.indices)
        out.append(
            Part(
                cells=cells,
                problem=Problem(
                    keys=[problem.keys[i] for i in cells],
                    values=problem.values[cells],
                    equations=block[:, cells].tocsr(),
                    lower=problem.lower[cells],
                    upper=problem.upper[cells],
                    upl=problem.upl[cells],
                    lpl=problem.lpl[cells],
                    fixed=problem.fixed[cells],
                    contributors=problem.contributors[cells],
                    n_current=int((cells < problem.n_current).sum()),
                    zero_linked=None if problem.zero_linked is None else problem.zero_linked[cells],
                    auxiliary=None if problem.auxiliary is None else problem.auxiliary[cells],
                    scale=scale,
                ),
            )
        )
    return out
