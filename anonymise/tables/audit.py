"""Attacker audit of a suppression pattern, independent of the solver that made it.

For every suppressed cell the attacker's two linear programs are solved (minimise and maximise the
cell subject to every published equation of every linked table and earlier release, with the
published cells substituted and the a-priori bounds 0 .. grand total). The pattern passes when
every sensitive cell's feasibility interval reaches its protection levels, no suppressed cell is
exactly recoverable, and no line has exactly two suppressed single-contributor cells (PS2).

Only cells in connected components of the suppressed cells are solved, and the LPs of one
component are stacked block-diagonally into a few large ``linprog`` calls (the blocks are
independent, so each block's optimum is its own LP's optimum).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from anonymise.tables.model import Problem

BATCH_VARIABLES = 6000
"""Largest number of variables stacked into one ``linprog`` call."""


@dataclass
class AuditReport:
    """Feasibility interval of every suppressed cell and the verdict.

    ``intervals`` has ``key``, ``value``, ``lower``, ``upper``, ``upl``, ``lpl``, ``primary``,
    ``exact`` (interval of width 0) and ``protected`` (primary whose interval meets its levels).
    """

    ok: bool
    intervals: pl.DataFrame
    failures: list[str]
    singleton_lines: int
    lps: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-able summary, with one interval per suppressed cell."""
        return {
            "ok": self.ok,
            "failures": self.failures,
            "singleton_lines": self.singleton_lines,
            "lps": self.lps,
            "seconds": round(self.seconds, 3),
            "intervals": self.intervals.to_dicts(),
        }


def _solve_component(
    a_rows: sparse.csr_array, b: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Min and max of every variable of one component, batched block-diagonally."""
    k = a_rows.shape[1]
    jobs = [(i, s) for i in range(k) for s in (1.0, -1.0)]  # s=1: minimise, -1: maximise
    lower = np.empty(k)
    upper = np.empty(k)
    per = max(1, BATCH_VARIABLES // max(k, 1))
    calls = 0
    for start in range(0, len(jobs), per):
        batch = jobs[start : start + per]
        nb = len(batch)
        c = np.zeros(nb * k)
        for j, (i, s) in enumerate(batch):
            c[j * k + i] = s
        a_eq = sparse.kron(sparse.eye_array(nb, format="csr"), a_rows, format="csr")
        res = linprog(
            c,
            A_eq=a_eq if a_eq.shape[0] else None,
            b_eq=np.tile(b, nb) if a_eq.shape[0] else None,
            bounds=np.column_stack([np.tile(lo, nb), np.tile(hi, nb)]),
            method="highs",
        )
        calls += 1
        if res.status != 0:
            raise RuntimeError(f"attacker LP failed: {res.message}")
        for j, (i, s) in enumerate(batch):
            v = res.x[j * k + i]
            if s > 0:
                lower[i] = v
            else:
                upper[i] = v
    return lower, upper, calls


def audit_problem(problem: Problem, suppressed: np.ndarray) -> AuditReport:
    """Audit a suppression pattern on a :class:`Problem` (see :func:`audit` for tables)."""
    t0 = time.perf_counter()
    sup = np.asarray(suppressed, dtype=bool) | (problem.fixed == 1)
    a = problem.values
    eq = problem.equations.tocsc()
    known = ~sup
    rhs = -(eq[:, np.flatnonzero(known)] @ a[known])
    idx = np.flatnonzero(sup)
    sub = eq[:, idx].tocsr()
    touched = np.flatnonzero(np.diff(sub.indptr) > 0)
    sub = sub[touched]
    rhs = rhs[touched]
    lower = np.full(len(idx), np.nan)
    upper = np.full(len(idx), np.nan)
    lps = 0
    if len(idx):
        adj = (abs(sub).T @ abs(sub)).tocsr() if sub.shape[0] else sparse.eye_array(len(idx))
        ncomp, lab = connected_components(adj, directed=False)
        row_comp = lab[sub.indices[sub.indptr[:-1]]] if sub.shape[0] else np.array([], int)
        for comp in range(ncomp):
            cols = np.flatnonzero(lab == comp)
            rows = np.flatnonzero(row_comp == comp)
            block = sub[rows][:, cols]
            lo, hi, _calls = _solve_component(
                block, rhs[rows], problem.lower[idx[cols]], problem.upper[idx[cols]]
            )
            lps += 2 * len(cols)
            lower[cols] = lo
            upper[cols] = hi
    vals = a[idx]
    upl = problem.upl[idx]
    lpl = problem.lpl[idx]
    tol = 1e-6 * max(1.0, float(np.abs(a).max(initial=0.0)))
    primary = (upl > 0) | (lpl > 0)
    exact = (upper - lower) <= tol
    protected = (upper - vals >= upl - tol) & (vals - lower >= lpl - tol) & ~exact
    # PS2: a line with exactly two suppressed cells, both single-contributor
    eqr = problem.equations.tocsr()
    single = sup & (problem.contributors == 1)
    n_sup = eqr.astype(bool).astype(np.int64) @ sup.astype(np.int64)
    n_single = eqr.astype(bool).astype(np.int64) @ single.astype(np.int64)
    singleton_lines = int(((n_sup == 2) & (n_single == 2)).sum())
    keys = [problem.keys[i] for i in idx]
    intervals = pl.DataFrame(
        {
            "key": keys,
            "value": vals,
            "lower": lower,
            "upper": upper,
            "upl": upl,
            "lpl": lpl,
            "primary": primary,
            "exact": exact,
            "protected": protected | ~primary,
        },
        schema_overrides={"key": pl.String},
    )
    failures = [
        k
        for k, p, e, ok in zip(keys, primary, exact, protected, strict=True)
        if (p and not ok) or e
    ]
    return AuditReport(
        ok=not failures and singleton_lines == 0,
        intervals=intervals,
        failures=failures,
        singleton_lines=singleton_lines,
        lps=lps,
        seconds=time.perf_counter() - t0,
    )
