"""Release ledger: every published cell of every release, so later audits see earlier releases.

The ledger stores the true value of every cell (also of suppressed ones, which the audit needs as
the secret it protects) and each release's equations; it is an internal record, never published.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import polars as pl

from anonymise.tables.model import Problem, TableSet, apriori_bounds

if TYPE_CHECKING:
    from scipy import sparse

CELL_SCHEMA = {
    "release_id": pl.String,
    "table": pl.String,
    "key": pl.String,
    "measure": pl.String,
    "coordinates": pl.String,
    "value": pl.Float64,
    "published_value": pl.Float64,
    "suppressed": pl.Boolean,
    "contributors": pl.Int64,
    "upl": pl.Float64,
    "lpl": pl.Float64,
    "reason": pl.String,
}
EQUATION_SCHEMA = {
    "release_id": pl.String,
    "equation": pl.Int64,
    "key": pl.String,
    "coefficient": pl.Float64,
}


@runtime_checkable
class Ledger(Protocol):
    """Storage of published releases (in memory here; the pipeline backs it with DuckDB)."""

    def record(self, release_id: str, cells: pl.DataFrame, equations: pl.DataFrame) -> None:
        """Store a release's cells (:data:`CELL_SCHEMA`) and equations (:data:`EQUATION_SCHEMA`)."""
        ...

    def published(self, before_release: str | None = None) -> pl.DataFrame:
        """Cells of every release recorded before ``before_release`` (all when ``None``)."""
        ...

    def equations(self, before_release: str | None = None) -> pl.DataFrame:
        """Equations of every release recorded before ``before_release`` (all when ``None``)."""
        ...


class MemoryLedger:
    """An in-memory :class:`Ledger`.

    >>> led = MemoryLedger()
    >>> led.published().height
    0
    """

    def __init__(self) -> None:
        self._order: list[str] = []
        self._cells: list[pl.DataFrame] = []
        self._equations: list[pl.DataFrame] = []

    def record(self, release_id: str, cells: pl.DataFrame, equations: pl.DataFrame) -> None:
        if release_id in self._order:
            raise ValueError(f"release {release_id!r} is already recorded")
        self._order.append(release_id)
        self._cells.append(cells.select(list(CELL_SCHEMA)).cast(CELL_SCHEMA))
        self._equations.append(equations.select(list(EQUATION_SCHEMA)).cast(EQUATION_SCHEMA))

    def _before(self, frames: list[pl.DataFrame], schema: dict, before: str | None):
        n = self._order.index(before) if before in self._order else len(self._order)
        return pl.concat([pl.DataFrame(schema=schema), *frames[:n]])

    def published(self, before_release: str | None = None) -> pl.DataFrame:
        return self._before(self._cells, CELL_SCHEMA, before_release)

    def equations(self, before_release: str | None = None) -> pl.DataFrame:
        return self._before(self._equations, EQUATION_SCHEMA, before_release)


def build_problem(
    table_set: TableSet,
    upl: np.ndarray,
    lpl: np.ndarray,
    *,
    ledger: Ledger | None = None,
    release_id: str | None = None,
    threshold: int | None = None,
    change_dims: Sequence[str] | None = None,
) -> tuple[Problem, list[str]]:
    """The solver/audit problem of a table set, linked with every earlier release in ``ledger``.

    Each earlier release's cells are unknowns of their own (published ones known, suppressed ones
    with the protection levels they had) under that release's equations. A cell of two releases
    (same key) is linked by a difference variable ``s = x_later − x_earlier`` bounded by
    ``±Δ``, Δ the largest change of any cell of the same table between the two releases: the
    tightest bound the true data allow, i.e. the strongest attacker who knows how many persons
    changed. Δ = 0 (the same population) makes the two cells one number.

    With ``change_dims`` the *difference* of a cell whose key names one of those dimensions (a
    sensitive value: level, outcome) is protected when it is small (1 to ``threshold``−1
    persons): its interval must hold 0 as well as the true change, so an attacker comparing
    releases cannot tell whether anyone entered or left that cell (the erased person's level).
    A current sensitive cell that an earlier release published is protected relative to what
    that release made public: its levels are capped at ``[p − Δ, p + Δ]`` (p the earlier
    published value).

    Returns the problem and notes. Difference variables are ``auxiliary``: never published, never
    a failure for being exact (a cell published in both releases has an exact difference; the
    change rule above is what protects the sensitive ones).
    """
    from scipy import sparse

    cells = table_set.cells
    keys = list(cells["key"].to_list())
    n_cur = len(keys)
    values = cells["value"].to_numpy().astype(float)
    measures = list(cells["measure"].to_list())
    tables = list(cells["table"].to_list())
    contributors = cells["contributors"].to_numpy().astype(np.int64)
    upl = upl.astype(float).copy()
    lpl = lpl.astype(float).copy()
    lower, upper = apriori_bounds(measures, values)
    fixed = np.full(n_cur, -1, dtype=np.int64)
    auxiliary = np.zeros(n_cur, dtype=bool)
    eq = table_set.equations.tocoo()
    rows, cols, vals = [eq.row], [eq.col], [eq.data]
    n_eq = eq.shape[0]
    notes: list[str] = []
    linked_nonzero: set[int] = set()  # current cells tied to a nonzero earlier cell
    old = ledger.published(before_release=release_id) if ledger is not None else None
    if old is not None and old.height:
        ext = _Extension(keys, values, measures, tables, contributors, upl, lpl, lower, upper)
        # the a-priori bound of an earlier cell: its measure's grand total in any release
        for m, top in old.group_by("measure").agg(pl.col("value").max()).iter_rows():
            ext.grand[m] = max(ext.grand.get(m, 0.0), float(top))
        ext.fixed, ext.auxiliary = [-1] * n_cur, [False] * n_cur
        releases = old["release_id"].unique(maintain_order=True).to_list()
        # the variables of every earlier release (published: known; suppressed: unknown, with
        # the protection it had) under that release's equations
        index: dict[str, dict[str, int]] = {}
        old_eq = ledger.equations(before_release=release_id)
        current = {k: i for i, k in enumerate(keys)}
        for r in releases:
            part = old.filter(pl.col("release_id") == r)
            index[r] = {}
            same = _unchanged_tables(part, cells)
            for h in part.iter_rows(named=True):
                i = current.get(h["key"])
                if i is not None and h["table"] in same:
                    # the table did not change since then: the earlier cell *is* this one
                    index[r][h["key"]] = i
                    if not h["suppressed"]:
                        if ext.upl[i] > 0 or ext.lpl[i] > 0:
                            notes.append(f"sensitive cell {h['key']} was already published earlier")
                        ext.fixed[i] = 0
                    else:
                        ext.upl[i] = max(ext.upl[i], h["upl"])
                        ext.lpl[i] = max(ext.lpl[i], h["lpl"])
                    continue
                index[r][h["key"]] = ext.add(
                    f"{r}::{h['key']}",
                    value=h["value"],
                    measure=h["measure"],
                    table=h["table"],
                    contributors=h["contributors"],
                    upl=h["upl"] if h["suppressed"] else 0.0,
                    lpl=h["lpl"] if h["suppressed"] else 0.0,
                    fixed=1 if h["suppressed"] else 0,
                )
            e = old_eq.filter(pl.col("release_id") == r)
            if e.height:
                pos = index[r]
                rows.append(e["equation"].to_numpy() + n_eq)
                cols.append(np.array([pos[k] for k in e["key"].to_list()], dtype=np.int64))
                vals.append(e["coefficient"].to_numpy())
                n_eq += int(e["equation"].max()) + 1
        series = [*[(r, index[r]) for r in releases], (release_id or "current", current)]
        sensitive = _sensitive_keys(keys, change_dims) if change_dims else set()
        t = float(threshold or 0)
        pairs = []
        prior_lo: dict[int, float] = {}  # what earlier publications tell of a variable
        prior_hi: dict[int, float] = {}
        for a in range(len(series)):
            for b in range(a + 1, len(series)):
                ia, ib = series[a][1], series[b][1]
                common = [k for k in ib if k in ia and ia[k] != ib[k]]
                if not common:
                    continue
                pa = np.array([ia[k] for k in common])
                pb = np.array([ib[k] for k in common])
                diff = ext.values_at(pb) - ext.values_at(pa)
                delta = _per_table_max(np.abs(diff), [ext.tables[i] for i in pb])
                pairs.append((series[a][0], series[b][0], common, pa, pb, diff, delta))
                for j in range(len(common)):
                    if ext.fixed[pa[j]] == 0:
                        p, i = ext.values[pa[j]], int(pb[j])
                        prior_lo[i] = max(prior_lo.get(i, -np.inf), p - delta[j])
                        prior_hi[i] = min(prior_hi.get(i, np.inf), p + delta[j])
        for ra, rb, common, pa, pb, diff, delta in pairs:
            for j, k in enumerate(common):
                d, bound, i = float(diff[j]), float(delta[j]), int(pb[j])
                s_upl = s_lpl = 0.0
                settled = ext.fixed[pa[j]] == 0 and ext.fixed[i] == 0
                if k in sensitive and t > 0 and 1 <= abs(d) < t and not settled:
                    # a small change: the attacker must not be able to tell whether anyone
                    # entered or left here at all (its interval holds 0 as well as d), as far
                    # as earlier publications leave that open
                    lo_s, hi_s = -bound, bound
                    if ext.fixed[pa[j]] == 0:
                        lo_s = max(lo_s, prior_lo.get(i, -np.inf) - ext.values[pa[j]])
                        hi_s = min(hi_s, prior_hi.get(i, np.inf) - ext.values[pa[j]])
                    if d < 0:
                        s_upl = max(0.0, min(0.0, hi_s) - d)
                    else:
                        s_lpl = max(0.0, d - max(0.0, lo_s))
                s = ext.add(
                    f"{ra}->{rb}::{k}",
                    value=d,
                    measure=ext.measures[i],
                    table=ext.tables[i],
                    contributors=0,
                    upl=s_upl,
                    lpl=s_lpl,
                    fixed=1,
                    lower=-bound,
                    upper=bound,
                    auxiliary=True,
                )
                if i < n_cur and ext.values[pa[j]] != 0:
                    linked_nonzero.add(i)
                rows.append(np.array([n_eq, n_eq, n_eq]))
                cols.append(np.array([i, pa[j], s]))
                vals.append(np.array([1.0, -1.0, -1.0]))
                n_eq += 1
        for i in range(n_cur):
            if i in prior_lo and (ext.upl[i] > 0 or ext.lpl[i] > 0):
                # what earlier releases published bounds what must stay unknown now
                v = ext.values[i]
                ext.lpl[i] = max(0.0, min(ext.lpl[i], v - prior_lo[i]))
                ext.upl[i] = max(0.0, min(ext.upl[i], prior_hi[i] - v))
                if prior_hi[i] - prior_lo[i] < 1e-9:
                    notes.append(f"sensitive cell {keys[i]} was already published earlier")
                    ext.fixed[i] = 0
        keys, measures = ext.keys, ext.measures
        values, upl, lpl = ext.array("values"), ext.array("upl"), ext.array("lpl")
        lower, upper = ext.array("lower"), ext.array("upper")
        contributors = np.asarray(ext.contributors, dtype=np.int64)
        fixed = np.asarray(ext.fixed, dtype=np.int64)
        auxiliary = np.asarray(ext.auxiliary, dtype=bool)
        known = fixed[:n_cur] == 0
        upl[:n_cur][known] = 0.0
        lpl[:n_cur][known] = 0.0
    n = len(keys)
    mat = sparse.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_eq, n)
    ).tocsr()
    mat = _dedupe_rows(mat)
    zero_linked = np.zeros(len(keys), dtype=bool)
    zero_linked[list(linked_nonzero)] = True
    zero_linked &= np.asarray(values) == 0
    problem = Problem(
        keys=keys,
        values=values,
        equations=mat,
        lower=lower,
        upper=upper,
        upl=upl,
        lpl=lpl,
        fixed=fixed,
        contributors=contributors,
        n_current=table_set.n_cells,
        zero_linked=zero_linked,
        auxiliary=auxiliary,
    )
    return problem, notes


class _Extension:
    """The variable list of a problem growing by earlier releases' cells and differences."""

    def __init__(self, keys, values, measures, tables, contributors, upl, lpl, lower, upper):
        self.keys = list(keys)
        self.values = list(map(float, values))
        self.measures = list(measures)
        self.tables = list(tables)
        self.contributors = list(map(int, contributors))
        self.upl = list(map(float, upl))
        self.lpl = list(map(float, lpl))
        self.lower = list(map(float, lower))
        self.upper = list(map(float, upper))
        self.fixed: list[int] = []
        self.auxiliary: list[bool] = []
        self.grand: dict[str, float] = {}
        for m, u in zip(self.measures, self.upper, strict=True):
            self.grand[m] = max(self.grand.get(m, 0.0), u)

    def add(
        self,
        key,
        *,
        value,
        measure,
        table,
        contributors,
        upl,
        lpl,
        fixed,
        lower=None,
        upper=None,
        auxiliary=False,
    ) -> int:
        self.keys.append(key)
        self.values.append(float(value))
        self.measures.append(measure)
        self.tables.append(table)
        self.contributors.append(int(contributors or 0))
        self.upl.append(float(upl or 0.0))
        self.lpl.append(float(lpl or 0.0))
        grand = max(self.grand.get(measure, 0.0), float(value))
        self.lower.append(0.0 if lower is None else float(lower))
        self.upper.append(grand if upper is None else float(upper))
        self.fixed.append(int(fixed))
        self.auxiliary.append(bool(auxiliary))
        return len(self.keys) - 1

    def values_at(self, idx: np.ndarray) -> np.ndarray:
        return np.asarray(self.values, dtype=float)[idx]

    def array(self, name: str) -> np.ndarray:
        return np.asarray(getattr(self, name), dtype=float)


def _unchanged_tables(earlier: pl.DataFrame, cells: pl.DataFrame) -> set[str]:
    """Tables whose every cell of ``earlier`` has the same value now (and still exists)."""
    now = cells.select("key", pl.col("value").alias("_now"))
    joined = earlier.select("table", "key", "value").join(now, on="key", how="left")
    verdict = joined.group_by("table").agg(
        ((pl.col("_now") - pl.col("value")).abs() < 1e-9).fill_null(False).all().alias("same")
    )
    return set(verdict.filter("same")["table"].to_list())


def _sensitive_keys(keys: Sequence[str], dims: Sequence[str]) -> set[str]:
    """Keys naming a value (not the total) of one of ``dims``."""
    wanted = tuple(f"{d}=" for d in dims)
    out = set()
    for k in keys:
        _, _, coords = k.partition("|")
        if any(part.startswith(wanted) for part in coords.split(";") if part):
            out.add(k)
    return out


def _per_table_max(absdiff: np.ndarray, tables: Sequence[str]) -> np.ndarray:
    """Per element: the largest value of ``absdiff`` within its table."""
    best: dict[str, float] = {}
    for a, t in zip(absdiff, tables, strict=True):
        best[t] = max(best.get(t, 0.0), float(a))
    return np.array([best[t] for t in tables], dtype=float)


def _dedupe_rows(mat: sparse.csr_array) -> sparse.csr_array:
    mat.sort_indices()
    seen: set[tuple] = set()
    keep = []
    for r in range(mat.shape[0]):
        s, e = mat.indptr[r], mat.indptr[r + 1]
        sig = (tuple(mat.indices[s:e]), tuple(mat.data[s:e]))
        if sig not in seen and e > s:
            seen.add(sig)
            keep.append(r)
    return mat[keep]


def ledger_frames(
    table_set: TableSet,
    release_id: str,
    suppressed: np.ndarray,
    upl: np.ndarray,
    lpl: np.ndarray,
    reasons: list[str | None],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The cell and equation frames of one release, ready for :meth:`Ledger.record`."""
    n = table_set.n_cells
    c = table_set.cells
    cells = c.select(
        "table", "key", "measure", "coordinates", "value", "contributors"
    ).with_columns(
        release_id=pl.lit(release_id),
        suppressed=pl.Series(suppressed[:n]),
        upl=pl.Series(upl[:n]),
        lpl=pl.Series(lpl[:n]),
        reason=pl.Series(reasons[:n], dtype=pl.String),
    )
    cells = cells.with_columns(
        published_value=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value"))
    )
    eq = table_set.equations.tocoo()
    keys = c["key"].to_list()
    equations = pl.DataFrame(
        {
            "release_id": [release_id] * len(eq.data),
            "equation": eq.row.astype(np.int64),
            "key": [keys[j] for j in eq.col],
            "coefficient": eq.data,
        }
    )
    return cells.select(list(CELL_SCHEMA)), equations
