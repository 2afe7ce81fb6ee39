"""Attacker audit of a suppression pattern, independent of the solver that made it.

For every suppressed cell the attacker's two linear programs are solved (minimise and maximise the
cell subject to every published equation of every linked table and earlier release, with the
published cells substituted and the a-priori bounds 0 .. grand total). The pattern passes when
every sensitive cell's feasibility interval reaches its protection levels, no suppressed cell is
exactly recoverable, and no line has exactly two suppressed cells that are both
single-contributor children of the line (PS2). ``failures`` names every failing cell and explains
every failing singleton line.

Only cells in connected components of the suppressed cells are solved, and the LPs of one
component are stacked block-diagonally into a few large ``linprog`` calls (the blocks are
independent, so each block's optimum is its own LP's optimum).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from anonymise.tables.model import Problem

if TYPE_CHECKING:
    from scipy import sparse

BATCH_VARIABLES = 6000
"""Largest number of variables stacked into one ``linprog`` call."""
SCREEN_ROUNDS = 60
"""Most screening LPs per component (see :func:`_screen`; each is cheap next to the two
single LPs per cell it spares, and the rounds stop once they prove nothing)."""
EXACT_INTERVALS = 40
"""Components with at most this many suppressed cells get exact intervals for every cell; larger
ones are screened first (:func:`_screen`) and get their own LPs only where the screen proves
nothing, so their ``lower``/``upper`` may be bounds the interval provably reaches (``bound`` =
"at least") instead of its exact ends."""
MEMO_COMPONENTS = 512
"""Components whose result is kept for an identical component later (0: none); see
:func:`_component`."""
_MEMO: OrderedDict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray, int]] = OrderedDict()


def _screen(
    a_rows: sparse.csr_array,
    b: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    value: np.ndarray,
    target: np.ndarray,
    sign: np.ndarray,
    cap: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Targets ``sign_j (y[target_j] − value) ≥ cap_j`` proven by one attacker solution per round,
    and the number of LPs solved.

    One LP maximises ``Σ t_j / cap_j`` with ``t_j ≤ sign_j (y[target_j] − value)``, ``t_j ≤
    cap_j`` over the attacker's feasible set; a ``t_j`` at its cap is a witness for target ``j``.
    A round asks one direction only (upward targets, then downward ones, alternately): the two
    directions of one cell pull one solution apart, and mixed rounds left a third of the targets
    of a table's pattern to single LPs. Rounds stop when a round of each direction proves nothing.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    k = a_rows.shape[1]
    m = a_rows.shape[0]
    proven = np.zeros(len(target), dtype=bool)
    idle = 0
    lps = 0
    for rnd in range(SCREEN_ROUNDS):
        todo = np.flatnonzero(~proven & (sign == (1.0 if rnd % 2 == 0 else -1.0)))
        q = len(todo)
        if not (~proven).any() or idle >= 2:
            break
        if not q:
            idle += 1
            continue
        tg, sg = target[todo], sign[todo]
        a_ub = sparse.hstack(
            [
                sparse.csr_array((-sg, (np.arange(q), tg)), shape=(q, k)),
                sparse.eye_array(q, format="csr"),
            ],
            format="csr",
        )
        res = linprog(
            np.concatenate([np.zeros(k), -1.0 / cap[todo]]),
            A_ub=a_ub,
            b_ub=-sg * value[tg],
            A_eq=sparse.hstack([a_rows, sparse.csr_array((m, q))], format="csr") if m else None,
            b_eq=b if m else None,
            bounds=np.column_stack(
                [np.concatenate([lo, np.full(q, -np.inf)]), np.concatenate([hi, cap[todo]])]
            ),
            method="highs",
        )
        lps += 1
        if res.status != 0:
            break
        got = sg * (res.x[tg] - value[tg])
        ok = got >= cap[todo] * (1 - 1e-7) - 1e-9
        idle = 0 if ok.any() else idle + 1
        proven[todo[ok]] = True
    return proven, lps


@dataclass
class AuditReport:
    """Feasibility interval of every suppressed cell and the verdict.

    ``intervals`` has ``key``, ``value``, ``lower``, ``upper``, ``upl``, ``lpl``, ``primary``,
    ``exact`` (interval of width 0), ``protected`` (primary whose interval meets its levels) and
    ``bound``: "exact" when ``lower``/``upper`` are the interval's ends, "at least" when they are
    points a feasible attacker solution provably reaches (large components, see
    ``EXACT_INTERVALS``) — then the interval is at least that wide.
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
    a_rows: sparse.csr_array,
    b: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    cells: np.ndarray | None = None,
    jobs: list[tuple[int, float]] | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Min and max of the variables ``cells`` (all by default) of one component, batched
    block-diagonally; NaN for the others. ``jobs`` instead: (variable, 1 = min / −1 = max)."""
    from scipy import sparse
    from scipy.optimize import linprog

    k = a_rows.shape[1]
    if jobs is None:
        cells = np.arange(k) if cells is None else cells
        jobs = [(int(i), s) for i in cells for s in (1.0, -1.0)]  # s=1: minimise, -1: maximise
    lower = np.full(k, np.nan)
    upper = np.full(k, np.nan)
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


def _tolerance(problem: Problem) -> float:
    """Absolute tolerance of the audit: relative to the whole problem's largest value (a part of
    a problem carries its whole's ``scale``, so a part is judged as in the whole)."""
    scale = problem.scale
    if scale is None:
        scale = float(np.abs(problem.values).max(initial=0.0))
    return 1e-6 * max(1.0, scale)


def _component(
    block: sparse.csr_array,
    rhs: np.ndarray,
    c_lo: np.ndarray,
    c_hi: np.ndarray,
    val: np.ndarray,
    upl: np.ndarray,
    lpl: np.ndarray,
    skip: np.ndarray,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Interval ends, their kind and the number of LPs of one component's variables (NaN where
    ``skip``): its attacker LPs, or their result from an identical component audited before.

    The protection and its audit look at the same components again and again (each part's
    candidates, each repair round, then the whole pattern); a component whose LP data are
    byte-identical has the same answer, so it is kept (:data:`MEMO_COMPONENTS` of them)."""
    block = block.tocsr()
    block.sort_indices()
    h = hashlib.blake2b(digest_size=20)
    for arr in (block.indptr, block.indices, block.data, rhs, c_lo, c_hi, val, upl, lpl, skip):
        arr = np.ascontiguousarray(arr)
        h.update(str((arr.dtype.str, arr.shape)).encode())
        h.update(arr.tobytes())
    h.update(repr((block.shape, tol, EXACT_INTERVALS, SCREEN_ROUNDS, BATCH_VARIABLES)).encode())
    key = h.digest()
    hit = _MEMO.get(key)
    if hit is not None:
        _MEMO.move_to_end(key)
        lo, hi, bd, n_lps = hit
        return lo.copy(), hi.copy(), bd.copy(), n_lps
    out = _solve_intervals(block, rhs, c_lo, c_hi, val, upl, lpl, skip, tol)
    if MEMO_COMPONENTS > 0:
        _MEMO[key] = (out[0].copy(), out[1].copy(), out[2].copy(), out[3])
        while len(_MEMO) > MEMO_COMPONENTS:
            _MEMO.popitem(last=False)
    return out


def _solve_intervals(
    block: sparse.csr_array,
    rhs: np.ndarray,
    c_lo: np.ndarray,
    c_hi: np.ndarray,
    val: np.ndarray,
    upl: np.ndarray,
    lpl: np.ndarray,
    skip: np.ndarray,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The attacker LPs of one component (see :func:`_component`)."""
    k = block.shape[1]
    lower = np.full(k, np.nan)
    upper = np.full(k, np.nan)
    bound = np.full(k, "exact", dtype=object)
    lps = 0
    todo = None if not skip.any() else np.flatnonzero(~skip)
    if k > EXACT_INTERVALS and (todo is None or len(todo) > EXACT_INTERVALS):
        eps = np.full(k, 2.0 * tol)
        up_cap = np.maximum(upl, eps)
        dn_cap = np.maximum(lpl, 0.0)
        want = ~skip
        has_dn = (dn_cap > 0) & want
        target = np.concatenate([np.flatnonzero(want), np.flatnonzero(has_dn)])
        sign = np.concatenate([np.ones(int(want.sum())), -np.ones(int(has_dn.sum()))])
        cap = np.concatenate([up_cap[want], dn_cap[has_dn]])
        proven, n_lps = _screen(block, rhs, c_lo, c_hi, val, target, sign, cap)
        lps += n_lps
        up_ok = np.ones(k, dtype=bool)
        up_ok[want] = proven[: int(want.sum())]
        dn_ok = np.ones(k, dtype=bool)
        dn_ok[has_dn] = proven[int(want.sum()) :]
        lower[want] = (val - dn_cap)[want]
        upper[want] = (val + up_cap)[want]
        bound[want] = "at least"
        # an unproven target gets the LP of its own direction only; a cell that still falls
        # short with its other end as proven gets that end's LP too, so every verdict is the one
        # of the exact interval (which only contains what is shown here)
        need_hi = want & ~up_ok
        need_lo = has_dn & ~dn_ok
        exact_hi = np.zeros(k, dtype=bool)
        exact_lo = np.zeros(k, dtype=bool)
        for _ in range(2):
            jobs = [(int(i), -1.0) for i in np.flatnonzero(need_hi)]
            jobs += [(int(i), 1.0) for i in np.flatnonzero(need_lo)]
            if jobs:
                lo, hi, _calls = _solve_component(block, rhs, c_lo, c_hi, jobs=jobs)
                lower[need_lo], upper[need_hi] = lo[need_lo], hi[need_hi]
                lps += len(jobs)
            exact_hi |= need_hi
            exact_lo |= need_lo
            short = (upper - val < upl - tol) | (val - lower < lpl - tol) | (upper - lower <= tol)
            short &= want & ~(exact_hi & exact_lo)
            need_hi, need_lo = short & ~exact_hi, short & ~exact_lo
            if not short.any():
                break
        both = exact_hi & exact_lo
        bound[both] = "exact"
        return lower, upper, bound, lps
    lo, hi, _calls = _solve_component(block, rhs, c_lo, c_hi, todo)
    sel = np.arange(k) if todo is None else todo
    lps += 2 * len(sel)
    lower[sel] = lo[sel]
    upper[sel] = hi[sel]
    bound[sel] = "exact"
    return lower, upper, bound, lps


def audit_problem(problem: Problem, suppressed: np.ndarray) -> AuditReport:
    """Audit a suppression pattern on a :class:`Problem` (see :func:`audit` for tables)."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

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
    bound = np.full(len(idx), "exact", dtype=object)
    # differences between releases without protection levels are unknowns, not cells: they
    # link the releases but their own interval is nobody's secret
    skip = (
        problem.auxiliary[idx] & ~((problem.upl[idx] > 0) | (problem.lpl[idx] > 0))
        if problem.auxiliary is not None
        else np.zeros(len(idx), dtype=bool)
    )
    lps = 0
    if len(idx):
        adj = (abs(sub).T @ abs(sub)).tocsr() if sub.shape[0] else sparse.eye_array(len(idx))
        ncomp, lab = connected_components(adj, directed=False)
        row_comp = lab[sub.indices[sub.indptr[:-1]]] if sub.shape[0] else np.array([], int)
        # the cells and rows of every component at once; a component of auxiliary variables
        # only (a difference of two published cells: thousands after a population change) has
        # nothing to solve
        col_order = np.argsort(lab, kind="stable")
        col_start = np.searchsorted(lab[col_order], np.arange(ncomp + 1))
        row_order = np.argsort(row_comp, kind="stable")
        row_start = np.searchsorted(row_comp[row_order], np.arange(ncomp + 1))
        wanted = np.bincount(lab[~skip], minlength=ncomp) > 0
        scale_tol = _tolerance(problem)
        for comp in np.flatnonzero(wanted):
            cols = col_order[col_start[comp] : col_start[comp + 1]]
            rows = row_order[row_start[comp] : row_start[comp + 1]]
            cells = idx[cols]
            lo, hi, bd, n_lps = _component(
                sub[rows][:, cols],
                rhs[rows],
                problem.lower[cells],
                problem.upper[cells],
                a[cells],
                problem.upl[cells],
                problem.lpl[cells],
                skip[cols],
                scale_tol,
            )
            lps += n_lps
            lower[cols] = lo
            upper[cols] = hi
            bound[cols] = bd
    keep = ~skip
    idx, lower, upper, bound = idx[keep], lower[keep], upper[keep], bound[keep]
    vals = a[idx]
    upl = problem.upl[idx]
    lpl = problem.lpl[idx]
    tol = _tolerance(problem)
    primary = (upl > 0) | (lpl > 0)
    exact = (upper - lower) <= tol
    protected = (upper - vals >= upl - tol) & (vals - lower >= lpl - tol) & ~exact
    # PS2: a line with exactly two suppressed cells, both single-contributor children of the line
    # (either contributor recovers the other from the line's total; a singleton child and a
    # singleton parent are the same unit)
    eqr = problem.equations.tocsr()
    ind = eqr.copy()
    ind.data = np.ones_like(ind.data)
    child = eqr.copy()
    child.data = (eqr.data > 0).astype(float)
    n_sup = ind @ sup.astype(float)
    n_single = child @ (sup & (problem.contributors == 1)).astype(float)
    ps2 = np.flatnonzero((np.abs(n_sup - 2) < 0.5) & (np.abs(n_single - 2) < 0.5))
    singleton_lines = len(ps2)
    ps2_failures = []
    for e in ps2:
        cols = eqr.indices[eqr.indptr[e] : eqr.indptr[e + 1]]
        pair = sorted(problem.keys[i] for i in cols[sup[cols]])
        parent = problem.keys[int(cols[eqr.data[eqr.indptr[e] : eqr.indptr[e + 1]] < 0][0])]
        ps2_failures.append(
            f"singleton line (total {parent}): only {pair[0]} and {pair[1]} are suppressed and "
            "both are single-contributor cells, so each contributor recovers the other"
        )
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
            "bound": bound.astype(str),
        },
        schema_overrides={"key": pl.String},
    )
    aux = (
        problem.auxiliary[idx] if problem.auxiliary is not None else np.zeros(len(idx), dtype=bool)
    )
    # an exact value fails only for a cell of this release (a pointless secondary or a recomputed
    # primary); an earlier release's cell or a difference matters through its protection levels
    current = idx < problem.n_current
    failures = [
        k
        for k, p, e, ok, x, c in zip(keys, primary, exact, protected, aux, current, strict=True)
        if (p and not ok) or (e and c and not x)
    ] + ps2_failures
    return AuditReport(
        ok=not failures,
        intervals=intervals,
        failures=failures,
        singleton_lines=singleton_lines,
        lps=lps,
        seconds=time.perf_counter() - t0,
    )
