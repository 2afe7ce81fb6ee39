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
    zero_linked = np.zeros(n_cur, dtype=bool)
    old = ledger.published(before_release=release_id) if ledger is not None else None
    if old is not None and old.height:
        # the variables as column arrays, grown a block at a time (a variable per earlier cell
        # and per difference; per-cell Python loops cost seconds after a population change)
        var = _Variables(keys, values, measures, tables, contributors, upl, lpl, lower, upper)
        # the a-priori bound of an earlier cell: its measure's grand total in any release
        grand: dict[str, float] = {}
        for m, u in zip(measures, upper, strict=True):
            grand[m] = max(grand.get(m, 0.0), float(u))
        for m, top in old.group_by("measure").agg(pl.col("value").max()).iter_rows():
            grand[m] = max(grand.get(m, 0.0), float(top))
        releases = old["release_id"].unique(maintain_order=True).to_list()
        # the variables of every earlier release (published: known; suppressed: unknown, with
        # the protection it had) under that release's equations
        index: dict[str, dict[str, int]] = {}
        old_eq = ledger.equations(before_release=release_id)
        current = {k: i for i, k in enumerate(keys)}
        for r in releases:
            part = old.filter(pl.col("release_id") == r)
            same = _unchanged_tables(part, cells)
            p_keys = part["key"].to_list()
            p_sup = part["suppressed"].to_numpy().astype(bool)
            p_upl = part["upl"].fill_null(0.0).to_numpy().astype(float)
            p_lpl = part["lpl"].fill_null(0.0).to_numpy().astype(float)
            cur = np.array([current.get(k, -1) for k in p_keys], dtype=np.int64)
            # the table did not change since then: the earlier cell *is* the current one
            is_same = (cur >= 0) & part["table"].is_in(list(same)).to_numpy()
            pos = np.full(len(p_keys), -1, dtype=np.int64)
            pos[is_same] = cur[is_same]
            for j in np.flatnonzero(is_same & ~p_sup):
                i = cur[j]
                if var.upl[i] > 0 or var.lpl[i] > 0:
                    notes.append(f"sensitive cell {p_keys[j]} was already published earlier")
            var.fixed[cur[is_same & ~p_sup]] = 0
            s_sup = is_same & p_sup
            np.maximum.at(var.upl, cur[s_sup], p_upl[s_sup])
            np.maximum.at(var.lpl, cur[s_sup], p_lpl[s_sup])
            own = ~is_same
            p_meas = part["measure"].to_list()
            p_val = part["value"].to_numpy().astype(float)
            sel = np.flatnonzero(own)
            first = var.add(
                keys=[f"{r}::{p_keys[j]}" for j in sel],
                values=p_val[sel],
                measures=[p_meas[j] for j in sel],
                tables=[t for t, o in zip(part["table"].to_list(), own, strict=True) if o],
                contributors=part["contributors"].fill_null(0).to_numpy()[sel],
                upl=np.where(p_sup[sel], p_upl[sel], 0.0),
                lpl=np.where(p_sup[sel], p_lpl[sel], 0.0),
                fixed=np.where(p_sup[sel], 1, 0),
                lower=np.zeros(len(sel)),
                upper=np.maximum([grand.get(p_meas[j], 0.0) for j in sel], p_val[sel]),
            )
            pos[sel] = first + np.arange(len(sel))
            index[r] = dict(zip(p_keys, pos.tolist(), strict=True))
            e = old_eq.filter(pl.col("release_id") == r)
            if e.height:
                at = index[r]
                rows.append(e["equation"].to_numpy() + n_eq)
                cols.append(np.array([at[k] for k in e["key"].to_list()], dtype=np.int64))
                vals.append(e["coefficient"].to_numpy())
                n_eq += int(e["equation"].max()) + 1
        series = [*[(r, index[r]) for r in releases], (release_id or "current", current)]
        sensitive = _sensitive_keys(keys, change_dims) if change_dims else set()
        t = float(threshold or 0)
        pairs = []
        n_var = len(var.keys)
        # what earlier publications tell of a variable
        prior_lo = np.full(n_var, -np.inf)
        prior_hi = np.full(n_var, np.inf)
        has_prior = np.zeros(n_var, dtype=bool)
        for a in range(len(series)):
            for b in range(a + 1, len(series)):
                ia, ib = series[a][1], series[b][1]
                common = [k for k in ib if k in ia and ia[k] != ib[k]]
                if not common:
                    continue
                pa = np.array([ia[k] for k in common], dtype=np.int64)
                pb = np.array([ib[k] for k in common], dtype=np.int64)
                diff = var.values[pb] - var.values[pa]
                delta = _per_table_max(np.abs(diff), [var.tables[i] for i in pb])
                pairs.append((series[a][0], series[b][0], common, pa, pb, diff, delta))
                known = var.fixed[pa] == 0
                np.maximum.at(prior_lo, pb[known], var.values[pa[known]] - delta[known])
                np.minimum.at(prior_hi, pb[known], var.values[pa[known]] + delta[known])
                has_prior[pb[known]] = True
        for ra, rb, common, pa, pb, diff, bound in pairs:
            s_upl = np.zeros(len(common))
            s_lpl = np.zeros(len(common))
            settled = (var.fixed[pa] == 0) & (var.fixed[pb] == 0)
            small = np.array([k in sensitive for k in common], dtype=bool)
            small &= (t > 0) & (np.abs(diff) >= 1) & (np.abs(diff) < t) & ~settled
            if small.any():
                # a small change: the attacker must not be able to tell whether anyone entered
                # or left here at all (its interval holds 0 as well as d), as far as earlier
                # publications leave that open
                lo_s, hi_s = -bound, bound
                pub = var.fixed[pa] == 0
                p_at = var.values[pa]
                lo_s = np.where(pub, np.maximum(lo_s, prior_lo[pb] - p_at), lo_s)
                hi_s = np.where(pub, np.minimum(hi_s, prior_hi[pb] - p_at), hi_s)
                down = small & (diff < 0)
                up = small & (diff >= 0)
                s_upl[down] = np.maximum(0.0, np.minimum(0.0, hi_s[down]) - diff[down])
                s_lpl[up] = np.maximum(0.0, diff[up] - np.maximum(0.0, lo_s[up]))
            first = var.add(
                keys=[f"{ra}->{rb}::{k}" for k in common],
                values=diff,
                measures=[var.measures[i] for i in pb],
                tables=[var.tables[i] for i in pb],
                contributors=np.zeros(len(common), dtype=np.int64),
                upl=s_upl,
                lpl=s_lpl,
                fixed=np.ones(len(common), dtype=np.int64),
                lower=-bound,
                upper=bound,
                auxiliary=True,
            )
            sv = first + np.arange(len(common))
            lz = (pb < n_cur) & (var.values[pa] != 0)
            zero_linked[pb[lz]] = True
            m_rows = n_eq + np.arange(len(common))
            rows.append(np.repeat(m_rows, 3))
            cols.append(np.column_stack([pb, pa, sv]).ravel())
            vals.append(np.tile([1.0, -1.0, -1.0], len(common)))
            n_eq += len(common)
        # what earlier releases published bounds what must stay unknown now
        cap = np.flatnonzero(has_prior[:n_cur] & ((var.upl[:n_cur] > 0) | (var.lpl[:n_cur] > 0)))
        v = var.values[cap]
        var.lpl[cap] = np.maximum(0.0, np.minimum(var.lpl[cap], v - prior_lo[cap]))
        var.upl[cap] = np.maximum(0.0, np.minimum(var.upl[cap], prior_hi[cap] - v))
        for i in cap[prior_hi[cap] - prior_lo[cap] < 1e-9]:
            notes.append(f"sensitive cell {keys[i]} was already published earlier")
            var.fixed[i] = 0
        keys, measures = var.keys, var.measures
        values, upl, lpl = var.values, var.upl, var.lpl
        lower, upper = var.lower, var.upper
        contributors, fixed, auxiliary = var.contributors, var.fixed, var.auxiliary
        known = fixed[:n_cur] == 0
        upl[:n_cur][known] = 0.0
        lpl[:n_cur][known] = 0.0
    n = len(keys)
    mat = sparse.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_eq, n)
    ).tocsr()
    mat = _dedupe_rows(mat)
    linked = np.zeros(n, dtype=bool)
    linked[:n_cur] = zero_linked
    linked &= np.asarray(values) == 0
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
        zero_linked=linked,
        auxiliary=auxiliary,
    )
    return problem, notes


class _Variables:
    """The variable list of a problem growing by earlier releases' cells and differences: numpy
    columns (the numeric ones) and lists (names), a block of variables at a time."""

    def __init__(self, keys, values, measures, tables, contributors, upl, lpl, lower, upper):
        n = len(keys)
        self.keys = list(keys)
        self.measures = list(measures)
        self.tables = list(tables)
        self.values = np.asarray(values, dtype=float).copy()
        self.contributors = np.asarray(contributors, dtype=np.int64).copy()
        self.upl = np.asarray(upl, dtype=float).copy()
        self.lpl = np.asarray(lpl, dtype=float).copy()
        self.lower = np.asarray(lower, dtype=float).copy()
        self.upper = np.asarray(upper, dtype=float).copy()
        self.fixed = np.full(n, -1, dtype=np.int64)
        self.auxiliary = np.zeros(n, dtype=bool)

    def add(
        self,
        *,
        keys,
        values,
        measures,
        tables,
        contributors,
        upl,
        lpl,
        fixed,
        lower,
        upper,
        auxiliary=False,
    ) -> int:
        """Append a block of variables; returns the index of its first one."""
        first = len(self.keys)
        m = len(keys)
        self.keys += list(keys)
        self.measures += list(measures)
        self.tables += list(tables)

        def grow(col, new, dtype):
            return np.concatenate([col, np.broadcast_to(np.asarray(new, dtype=dtype), (m,))])

        self.values = grow(self.values, values, float)
        self.contributors = grow(self.contributors, contributors, np.int64)
        self.upl = grow(self.upl, upl, float)
        self.lpl = grow(self.lpl, lpl, float)
        self.lower = grow(self.lower, lower, float)
        self.upper = grow(self.upper, upper, float)
        self.fixed = grow(self.fixed, fixed, np.int64)
        self.auxiliary = grow(self.auxiliary, auxiliary, bool)
        return first


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
    seen: set[bytes] = set()
    keep = []
    ind = mat.indices.astype(np.int64)
    data = mat.data.astype(float)
    for r in range(mat.shape[0]):
        s, e = mat.indptr[r], mat.indptr[r + 1]
        sig = ind[s:e].tobytes() + b"|" + data[s:e].tobytes()
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
