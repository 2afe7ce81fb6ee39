"""Release ledger: every published cell of every release, so later audits see earlier releases.

The ledger stores the true value of every cell (also of suppressed ones, which the audit needs as
the secret it protects) and each release's equations; it is an internal record, never published.
"""

from __future__ import annotations

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
) -> tuple[Problem, list[str]]:
    """The solver/audit problem of a table set, merged with earlier releases from ``ledger``.

    Returns the problem and notes (e.g. sensitive cells already published earlier).
    """
    from scipy import sparse

    cells = table_set.cells
    keys = cells["key"].to_list()
    values = cells["value"].to_numpy().astype(float)
    measures = cells["measure"].to_list()
    contributors = cells["contributors"].to_numpy().astype(np.int64)
    upl = upl.astype(float).copy()
    lpl = lpl.astype(float).copy()
    fixed = np.full(len(keys), -1, dtype=np.int64)
    eq = table_set.equations.tocoo()
    rows, cols, vals = [eq.row], [eq.col], [eq.data]
    n_eq = eq.shape[0]
    notes: list[str] = []
    if ledger is not None:
        old = ledger.published(before_release=release_id)
        if old.height:
            hist = old.group_by("key", maintain_order=True).agg(
                pl.first("measure", "value", "contributors"),
                (~pl.col("suppressed")).any().alias("published"),
                pl.col("upl").max(),
                pl.col("lpl").max(),
                (pl.col("value").n_unique() > 1).alias("changed"),
            )
            if hist["changed"].any():
                raise ValueError("a cell has different values in earlier releases")
            pos = {k: i for i, k in enumerate(keys)}
            extra_keys, extra = [], []
            for h in hist.iter_rows(named=True):
                i = pos.get(h["key"])
                if i is None:
                    pos[h["key"]] = len(keys) + len(extra_keys)
                    extra_keys.append(h["key"])
                    extra.append(h)
                    continue
                if abs(values[i] - h["value"]) > 1e-9 * max(1.0, abs(values[i])):
                    raise ValueError(
                        f"cell {h['key']!r} is {values[i]} now but {h['value']} in an earlier "
                        "release; put the period in the dimensions"
                    )
                if h["published"]:
                    fixed[i] = 0
                    if upl[i] > 0 or lpl[i] > 0:
                        notes.append(f"sensitive cell {h['key']} was already published earlier")
                        upl[i] = lpl[i] = 0.0
                else:
                    upl[i] = max(upl[i], h["upl"])
                    lpl[i] = max(lpl[i], h["lpl"])
            keys = keys + extra_keys
            measures = measures + [h["measure"] for h in extra]
            values = np.concatenate([values, [h["value"] for h in extra]])
            contributors = np.concatenate([contributors, [h["contributors"] for h in extra]])
            upl = np.concatenate([upl, [h["upl"] for h in extra]])
            lpl = np.concatenate([lpl, [h["lpl"] for h in extra]])
            fixed = np.concatenate([fixed, [0 if h["published"] else 1 for h in extra]])
            old_eq = ledger.equations(before_release=release_id)
            if old_eq.height:
                e = old_eq.with_columns(
                    eq_id=pl.struct("release_id", "equation").rank("dense").cast(pl.Int64) - 1,
                    col=pl.col("key").replace_strict(pos, return_dtype=pl.Int64),
                )
                rows.append(e["eq_id"].to_numpy() + n_eq)
                cols.append(e["col"].to_numpy())
                vals.append(e["coefficient"].to_numpy())
                n_eq += int(e["eq_id"].max()) + 1
    n = len(keys)
    mat = sparse.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_eq, n)
    ).tocsr()
    mat = _dedupe_rows(mat)
    lower, upper = apriori_bounds(measures, values)
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
    )
    return problem, notes


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
