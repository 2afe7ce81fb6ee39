"""Optimal secondary suppression (Fischetti–Salazar) with ``scipy.optimize.milp`` (HiGHS).

Two formulations of the same model (domain.md §3.2–3.3):

* **compact**: one witness perturbation ``z^{p±}`` per sensitive cell and direction, so
  "the attacker's interval reaches the protection level" becomes linear constraints; exact, but
  ``2|P|n`` continuous variables, so only for small components;
* **cutting plane** (Benders, audit-and-cut): a master MILP over the 0/1 pattern only, with
  capacity cuts ``Σ (α_i UB_i + β_i LB_i) x_i ≥ UPL_p`` read off the duals of the attacker LPs of
  the current pattern; starts from the cuts of single equations, adds violated cuts until the
  attacker LPs of the pattern meet every protection level (then the pattern is optimal).

Solver-side attacker LPs live here (they need duals); the independent check is
:mod:`anonymise.tables.audit`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from anonymise.tables.model import Problem

if TYPE_CHECKING:
    from scipy import sparse
    from scipy.optimize import LinearConstraint

COMPACT_LIMIT = 5_000
"""Largest number of witness variables for which the compact model is used."""
NODE_LIMIT = 5_000
"""Branch-and-bound nodes per MILP solve. The solver's budget is counted in nodes, not seconds,
so the same input gives the same pattern on every run and machine; ``time_limit`` is only a
safety net (a solve it stops is reported as ``time_limit``, and may then differ between runs)."""
MAX_CUT_ROUNDS = 12
"""Master-problem rounds of the cutting-plane loop (a deterministic budget, like
:data:`NODE_LIMIT`); an unfinished pattern is completed by the audit's repair. Each round costs
attacker LPs for every failing level: on the 3-D 1k benchmark set 12 rounds give the same pattern
as 37 (3.8 s against 17.6 s CPU), and on a busy machine a larger budget met the wall-clock safety
net instead, whose pattern then depends on the load."""
CUT_WORK_BUDGET = 15_000
"""Deterministic work budget of the cutting-plane loop: the sum over rounds of the master
problem's constraint rows (its solve time grows with them). A 2-D table of 1,000 cells reaches
its optimum well within it; a 3-D one stops after about 20 rounds, whatever the machine."""
SEPARATION_VARIABLES = 6000
SCREEN_ROUNDS = 60
"""Most screening LPs per component and separation (see :func:`screen`; the rounds stop once two
in a row prove nothing). As many as the audit's: on a linked second release of a sparse table
(650 unknowns) 12 rounds left 230 of 772 targets to single LPs of the same cost each, 60 (about
30 used) left 94; the 1k benchmark sets keep their patterns."""


@dataclass
class Cut:
    """``Σ coef · x[idx] ≥ rhs`` over cells (fixed cells already moved to the right-hand side)."""

    idx: np.ndarray
    coef: np.ndarray
    rhs: float


@dataclass
class Pattern:
    """A suppression pattern with how it was found."""

    suppressed: np.ndarray
    cost: float
    method: str
    status: str
    seconds: float
    iterations: int = 0
    cuts: list[Cut] = field(default_factory=list)

    @classmethod
    def found(
        cls,
        x: np.ndarray,
        weights: np.ndarray,
        free: np.ndarray,
        *,
        method: str,
        status: str,
        t0: float,
        iterations: int = 0,
        cuts: list[Cut] | None = None,
    ) -> Pattern:
        """The pattern ``x`` found by ``method`` since ``perf_counter()`` ``t0``; its cost is
        the weight of the free cells it suppresses."""
        return cls(
            suppressed=x,
            cost=float(weights[x & free].sum()),
            method=method,
            status=status,
            seconds=time.perf_counter() - t0,
            iterations=iterations,
            cuts=[] if cuts is None else cuts,
        )


def costs(problem: Problem, margin: np.ndarray, cost: str, total_weight: float) -> np.ndarray:
    """Cost per cell: ``unity``, ``value`` or ``log`` (log(1+value)); margins × ``total_weight``."""
    a = problem.values
    if cost == "unity":
        w = np.ones_like(a)
    elif cost == "value":
        w = a.copy()
    elif cost == "log":
        w = np.log1p(a)
    else:
        raise ValueError(f"unknown cost {cost!r}; use 'unity', 'value' or 'log'")
    w = np.maximum(w, 1e-3)
    return np.where(margin, w * total_weight, w)


def _capacity(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    down = problem.values - problem.lower  # LB_i
    up = problem.upper - problem.values  # UB_i
    return down, up


def _make_cut(
    problem: Problem, r: np.ndarray, rhs: float, free: np.ndarray, sup_fixed: np.ndarray
) -> Cut | None:
    """Cut from reduced costs ``r``; ``free`` may be chosen, ``sup_fixed`` are always 1."""
    down, up = _capacity(problem)
    coef = np.maximum(r, 0) * down + np.maximum(-r, 0) * up
    rhs = rhs - coef[sup_fixed].sum()
    if rhs <= 1e-9:
        return None
    sel = free & (coef > 1e-9)
    idx = np.flatnonzero(sel)
    return Cut(idx=idx, coef=np.minimum(coef[idx], rhs), rhs=rhs)


def line_cuts(problem: Problem, free: np.ndarray, sup_fixed: np.ndarray) -> list[Cut]:
    """The cuts of single equations: each line through a sensitive cell must absorb its move."""
    eq = problem.equations.tocsr()
    eq.sort_indices()
    col = eq.tocsc()
    col.sort_indices()
    down, up = _capacity(problem)
    cuts = []
    # the same cuts as _make_cut on a dense row, computed on the line's own cells only (a dense
    # row per line and primary cost seconds on a 10,000-cell set)
    for p in np.flatnonzero(problem.primary):
        for e in col.indices[col.indptr[p] : col.indptr[p + 1]]:
            cells = eq.indices[eq.indptr[e] : eq.indptr[e + 1]]
            row = eq.data[eq.indptr[e] : eq.indptr[e + 1]]
            at = row[cells == p][0]
            for level, flip in ((problem.upl[p], 1.0), (problem.lpl[p], -1.0)):
                if level <= 0:
                    continue
                # a move of +level at p needs same-sign cells down and others up (and mirrored)
                r = flip * row / at
                r[cells == p] = 0.0
                coef = np.maximum(r, 0) * down[cells] + np.maximum(-r, 0) * up[cells]
                rhs = level - coef[sup_fixed[cells]].sum()
                if rhs <= 1e-9:
                    continue
                sel = free[cells] & (coef > 1e-9)
                cuts.append(Cut(idx=cells[sel], coef=np.minimum(coef[sel], rhs), rhs=rhs))
    return cuts


def singleton_cells(problem: Problem) -> np.ndarray:
    """Cells with exactly one contributor (PS2 "singletons")."""
    return problem.contributors == 1


def singleton_constraints(
    problem: Problem, free: np.ndarray, sup_fixed: np.ndarray
) -> tuple[list[Cut], bool]:
    """The singleton rule (PS2) as linear constraints over the free cells.

    The rule (the audit checks exactly this): a line must not have exactly two suppressed cells
    that are both single-contributor *children* of the line, since each of the two contributors
    could recover the other's value from the line's total. (A singleton child and a singleton
    parent hold the same unit, so they disclose nothing to each other.) For each pair ``i, j`` of
    singleton children of a line ``L``: ``Σ_{k ∈ L∖{i,j}} x_k ≥ x_i + x_j − 1``. A line with two or
    more singletons that must be suppressed becomes ``Σ_L x ≥ 3``.

    Returns the constraints (as :class:`Cut`, coefficients may be negative) and False when one
    can never hold (no safe pattern exists).
    """
    eq = problem.equations.tocsr()
    single = singleton_cells(problem)
    cand = single & (free | sup_fixed)
    out: list[Cut] = []
    possible = True
    for e in range(eq.shape[0]):
        s, t = eq.indptr[e], eq.indptr[e + 1]
        cols = eq.indices[s:t]
        child = eq.data[s:t] > 0
        sc = cols[child & cand[cols]]
        if len(sc) < 2:
            continue
        fixed_sc = sc[sup_fixed[sc]]
        if len(fixed_sc) >= 2:
            pairs = [(int(fixed_sc[0]), int(fixed_sc[1]))]
        elif len(fixed_sc) == 1:
            pairs = [(int(fixed_sc[0]), int(k)) for k in sc if k != fixed_sc[0]]
        else:
            pairs = [(int(a), int(b)) for n, a in enumerate(sc) for b in sc[n + 1 :]]
        for i, j in pairs:
            coef = np.ones(len(cols))
            coef[(cols == i) | (cols == j)] = -1.0
            rhs = -1.0 - float(coef[sup_fixed[cols]].sum())
            fm = free[cols]
            idx, cf = cols[fm], coef[fm]
            if cf[cf < 0].sum() >= rhs - 1e-9:
                continue  # holds whatever the free cells do
            if cf[cf > 0].sum() < rhs - 1e-9:
                possible = False
                continue
            out.append(Cut(idx=idx, coef=cf, rhs=rhs))
    return out, possible


def singleton_violations(problem: Problem, x: np.ndarray) -> list[np.ndarray]:
    """Lines (their cells) breaking the singleton rule under pattern ``x``."""
    eq = problem.equations.tocsr()
    ind = eq.copy()
    ind.data = np.ones_like(ind.data)
    child = eq.copy()
    child.data = (eq.data > 0).astype(float)
    xs = x.astype(float)
    n_sup = ind @ xs
    n_single = child @ (xs * singleton_cells(problem))
    bad = np.flatnonzero((np.abs(n_sup - 2) < 0.5) & (np.abs(n_single - 2) < 0.5))
    return [eq.indices[eq.indptr[e] : eq.indptr[e + 1]] for e in bad]


def screen(
    block: sparse.csr_array,
    lo: np.ndarray,
    hi: np.ndarray,
    target: np.ndarray,
    sign: np.ndarray,
    cap: np.ndarray,
    rhs: np.ndarray | None = None,
    base: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Which targets provably reach their cap, from one LP per round for all of them at once
    (and the number of LPs).

    Variables ``v`` with ``block v = rhs`` and ``lo ≤ v ≤ hi``; target ``j`` asks
    ``sign_j (v[target_j] − base_j) ≥ cap_j``. One LP maximises ``Σ t_j / cap_j`` with
    ``t_j ≤ sign_j (v[target_j] − base_j)`` and ``t_j ≤ cap_j``: its optimum is one attacker
    solution, so every ``t_j`` at its cap is a proof for that target. Rounds repeat on the targets
    not yet proven while a round proves something. Unproven targets need their own LP.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    k = block.shape[1]
    m = block.shape[0]
    rhs = np.zeros(m) if rhs is None else rhs
    base = np.zeros(k) if base is None else base
    proven = np.zeros(len(target), dtype=bool)
    idle = 0
    lps = 0
    for rnd in range(SCREEN_ROUNDS):
        # one direction per round (as the audit's screen): the two directions of one cell pull
        # one solution apart
        todo = np.flatnonzero(~proven & (sign == (1.0 if rnd % 2 == 0 else -1.0)))
        q = len(todo)
        if not (~proven).any() or idle >= 2:
            break
        if not q:
            idle += 1
            continue
        # t_j − sign_j v[target_j] ≤ −sign_j base
        a_ub = sparse.hstack(
            [
                sparse.csr_array((-sign[todo], (np.arange(q), target[todo])), shape=(q, k)),
                sparse.eye_array(q, format="csr"),
            ],
            format="csr",
        )
        b_ub = -sign[todo] * base[target[todo]]
        c = np.concatenate([np.zeros(k), -1.0 / cap[todo]])
        a_eq = sparse.hstack([block, sparse.csr_array((m, q))], format="csr") if m else None
        bounds = np.column_stack(
            [np.concatenate([lo, np.full(q, -np.inf)]), np.concatenate([hi, cap[todo]])]
        )
        res = linprog(
            c,
            A_ub=a_ub,
            b_ub=b_ub,
            A_eq=a_eq,
            b_eq=rhs if m else None,
            bounds=bounds,
            method="highs",
        )
        lps += 1
        if res.status != 0:
            break
        v = res.x[:k]
        got = sign[todo] * (v[target[todo]] - base[target[todo]])
        ok = got >= cap[todo] - 1e-7 * np.maximum(1.0, cap[todo])
        idle = 0 if ok.any() else idle + 1
        proven[todo[ok]] = True
    return proven, lps


def separate(
    problem: Problem,
    suppressed: np.ndarray,
    free: np.ndarray,
    sup_fixed: np.ndarray,
    check: np.ndarray | None = None,
) -> tuple[list[Cut], int, np.ndarray]:
    """Attacker LPs of the pattern for the sensitive cells; a cut for each unmet level.

    ``check`` limits the sensitive cells looked at (suppressing more only widens the attacker's
    intervals, so a repair loop need only look again at the cells that failed). Levels are first
    screened with one LP per component and direction (:func:`screen`); only the cells not proven
    there get their own LP (whose duals give the cut). Returns the cuts, the number of LPs and a
    mask of the sensitive cells that failed.
    """
    from scipy import sparse
    from scipy.optimize import linprog
    from scipy.sparse.csgraph import connected_components

    sup = suppressed.astype(bool)
    failing = np.zeros(len(sup), dtype=bool)
    eq = problem.equations.tocsr()
    idx = np.flatnonzero(sup)
    sub = eq[:, idx]
    touched = np.flatnonzero(np.diff(sub.indptr) > 0)
    sub = sub[touched].tocsr()
    down, up = _capacity(problem)
    if not len(idx):
        return [], 0, failing
    adj = (abs(sub).T @ abs(sub)).tocsr() if sub.shape[0] else sparse.eye_array(len(idx))
    _, lab = connected_components(adj, directed=False)
    row_comp = lab[sub.indices[sub.indptr[:-1]]] if sub.shape[0] else np.array([], int)
    pos = {c: j for j, c in enumerate(idx)}
    cuts: list[Cut] = []
    lps = 0
    jobs_by_comp: dict[int, list[tuple[int, float, float]]] = {}
    look = problem.primary & sup
    if check is not None:
        look &= check
    for p in np.flatnonzero(look):
        for sign, level in ((-1.0, problem.upl[p]), (1.0, problem.lpl[p])):
            if level > 0:
                jobs_by_comp.setdefault(int(lab[pos[p]]), []).append((int(p), sign, level))
    for comp, jobs in jobs_by_comp.items():
        cols = np.flatnonzero(lab == comp)
        rows = np.flatnonzero(row_comp == comp)
        block = sub[rows][:, cols]
        k = len(cols)
        m = block.shape[0]
        lo = -down[idx[cols]]
        hi = up[idx[cols]]
        local = {int(idx[c]): j for j, c in enumerate(cols)}
        if len(jobs) > 2:
            proven, n_lps = screen(
                block,
                lo,
                hi,
                np.array([local[p] for p, _, _ in jobs]),
                np.array([-sg for _, sg, _ in jobs]),
                np.array([lv for _, _, lv in jobs]),
            )
            lps += n_lps
            jobs = [j for j, ok in zip(jobs, proven, strict=True) if not ok]
        per = max(1, SEPARATION_VARIABLES // k)
        for start in range(0, len(jobs), per):
            batch = jobs[start : start + per]
            nb = len(batch)
            c = np.zeros(nb * k)
            for j, (p, sign, _) in enumerate(batch):
                c[j * k + local[p]] = sign
            a_eq = sparse.kron(sparse.eye_array(nb, format="csr"), block, format="csr")
            res = linprog(
                c,
                A_eq=a_eq if m else None,
                b_eq=np.zeros(nb * m) if m else None,
                bounds=np.column_stack([np.tile(lo, nb), np.tile(hi, nb)]),
                method="highs",
            )
            lps += nb
            if res.status != 0:
                raise RuntimeError(f"attacker LP failed: {res.message}")
            for j, (p, sign, level) in enumerate(batch):
                reach = -sign * res.x[j * k + local[p]]
                if reach >= level - 1e-7 * max(1.0, level):
                    continue
                failing[p] = True
                y = np.zeros(eq.shape[0])
                if m:
                    y[touched[rows]] = res.eqlin.marginals[j * m : (j + 1) * m]
                r = -(eq.T @ y)
                r[p] += sign
                # reach = −min(sign·z_p) ≤ Σ (max(r,0)·LB + max(−r,0)·UB)·x for any duals y
                cut = _make_cut(problem, r, level, free, sup_fixed)
                if cut is not None:
                    cuts.append(cut)
    return cuts, lps, failing


def _cut_matrix(cuts: list[Cut], var_of: np.ndarray, nvar: int) -> LinearConstraint | None:
    from scipy import sparse
    from scipy.optimize import LinearConstraint

    if not cuts:
        return None
    rows, cols, vals = [], [], []
    for r, cut in enumerate(cuts):
        rows.append(np.full(len(cut.idx), r))
        cols.append(var_of[cut.idx])
        vals.append(cut.coef)
    a = sparse.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(cuts), nvar),
    ).tocsr()
    return LinearConstraint(a, [c.rhs for c in cuts], np.inf)


def _milp_options(time_limit: float) -> dict:
    # HiGHS' branch-and-bound is deterministic for a fixed input and options; only a wall-clock
    # stop makes it depend on the machine's load, so the node limit is the budget.
    return {"time_limit": max(time_limit, 1.0), "node_limit": NODE_LIMIT, "mip_rel_gap": 1e-6}


def solve_cuts(
    problem: Problem,
    weights: np.ndarray,
    free: np.ndarray,
    sup_fixed: np.ndarray,
    *,
    seed_cuts: list[Cut] | None = None,
    upper_bound: float | None = None,
    time_limit: float = 60.0,
    max_iterations: int = MAX_CUT_ROUNDS,
    work_budget: int = CUT_WORK_BUDGET,
) -> Pattern:
    """Cutting-plane (Benders) optimum: master MILP over the pattern, attacker LPs as oracle.

    The budget is deterministic (``max_iterations`` rounds of at most :data:`NODE_LIMIT` nodes,
    ``work_budget`` master rows in all); ``time_limit`` is a safety net only."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    t0 = time.perf_counter()
    fidx = np.flatnonzero(free)
    var_of = np.full(len(free), -1)
    var_of[fidx] = np.arange(len(fidx))
    cuts = line_cuts(problem, free, sup_fixed) + list(seed_cuts or [])
    ps2_cuts, ps2_possible = singleton_constraints(problem, free, sup_fixed)
    ps2 = _cut_matrix(ps2_cuts, var_of, len(fidx))
    status = "optimal"
    x = sup_fixed.copy()
    it = 0
    work = 0
    while it < max_iterations:
        it += 1
        cons = [c for c in (_cut_matrix(cuts, var_of, len(fidx)), ps2) if c is not None]
        work += sum(c.A.shape[0] for c in cons)
        if work > work_budget and it > 1:
            status = "work_limit"
            break
        if upper_bound is not None:
            cons.append(LinearConstraint(weights[fidx][None, :], -np.inf, upper_bound + 1e-6))
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0:
            status = "time_limit"
            break
        res = milp(
            weights[fidx],
            integrality=np.ones(len(fidx)),
            bounds=Bounds(0, 1),
            constraints=cons,
            options=_milp_options(left),
        )
        if res.x is None:
            status = "infeasible" if res.status == 2 else f"no_solution:{res.message}"
            break
        x = sup_fixed.copy()
        x[fidx] = res.x > 0.5
        new, _, _ = separate(problem, x, free, sup_fixed)
        if res.status != 0:
            # 1: a node or time limit; the incumbent is used, and it is the same on every run
            # unless the wall-clock safety net stopped the solve
            status = "time_limit" if time.perf_counter() - t0 >= time_limit else "node_limit"
        if not new:
            break
        cuts.extend(new)
        if it == max_iterations:
            status = "iteration_limit"
    if not ps2_possible and status == "optimal":
        status = "infeasible"
    return Pattern.found(
        x, weights, free, method="milp:cuts", status=status, t0=t0, iterations=it, cuts=cuts
    )


def solve_compact(
    problem: Problem,
    weights: np.ndarray,
    free: np.ndarray,
    sup_fixed: np.ndarray,
    *,
    time_limit: float = 60.0,
) -> Pattern:
    """The compact MILP of domain.md §3.3: witnesses ``z^{p±}`` for each sensitive cell."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse.csgraph import connected_components

    t0 = time.perf_counter()
    n = len(free)
    down, up = _capacity(problem)
    eq = problem.equations.tocsr()
    fidx = np.flatnonzero(free)
    nf = len(fidx)
    var_of = np.full(n, -1)
    var_of[fidx] = np.arange(nf)
    _, lab = connected_components((abs(eq).T @ abs(eq)).tocsr(), directed=False)
    blocks = []  # (p, sign, level, cells)
    for p in np.flatnonzero(problem.primary):
        cells = np.flatnonzero(lab == lab[p])
        for sign, level in ((1.0, problem.upl[p]), (-1.0, problem.lpl[p])):
            if level > 0:
                blocks.append((p, sign, level, cells))
    nz = sum(len(b[3]) for b in blocks)
    lo = [np.zeros(nf)]
    hi = [np.ones(nf)]
    a_parts_rows, a_parts_cols, a_parts_vals, lb, ub = [], [], [], [], []
    row = 0
    off = nf
    for p, sign, level, cells in blocks:
        k = len(cells)
        zl = np.where(problem.fixed[cells] == 0, 0.0, -down[cells])
        zu = np.where(problem.fixed[cells] == 0, 0.0, up[cells])
        zl = np.where(free[cells] | sup_fixed[cells], zl, 0.0)
        zu = np.where(free[cells] | sup_fixed[cells], zu, 0.0)
        j = int(np.flatnonzero(cells == p)[0])
        if sign > 0:
            zl[j] = max(zl[j], level)
        else:
            zu[j] = min(zu[j], -level)
        lo.append(zl)
        hi.append(zu)
        sub = eq[:, cells].tocoo()
        keep = np.unique(sub.row)
        rmap = np.full(eq.shape[0], -1)
        rmap[keep] = np.arange(len(keep))
        a_parts_rows.append(row + rmap[sub.row])
        a_parts_cols.append(off + sub.col)
        a_parts_vals.append(sub.data)
        lb.append(np.zeros(len(keep)))
        ub.append(np.zeros(len(keep)))
        row += len(keep)
        fc = np.flatnonzero(free[cells])
        nfc = len(fc)
        # z_i − UB_i x_i ≤ 0 and −z_i − LB_i x_i ≤ 0 for free cells
        r1 = row + np.arange(nfc)
        r2 = row + nfc + np.arange(nfc)
        a_parts_rows += [r1, r1, r2, r2]
        a_parts_cols += [off + fc, var_of[cells[fc]], off + fc, var_of[cells[fc]]]
        a_parts_vals += [np.ones(nfc), -up[cells[fc]], -np.ones(nfc), -down[cells[fc]]]
        lb.append(np.full(2 * nfc, -np.inf))
        ub.append(np.zeros(2 * nfc))
        row += 2 * nfc
        off += k
    nvar = nf + nz
    cons = []
    if row:
        a = sparse.coo_array(
            (
                np.concatenate(a_parts_vals),
                (np.concatenate(a_parts_rows), np.concatenate(a_parts_cols)),
            ),
            shape=(row, nvar),
        ).tocsr()
        cons.append(LinearConstraint(a, np.concatenate(lb), np.concatenate(ub)))
    ps2_cuts, ps2_possible = singleton_constraints(problem, free, sup_fixed)
    ps2 = _cut_matrix(ps2_cuts, var_of, nf)
    if ps2 is not None:
        cons.append(
            LinearConstraint(
                sparse.hstack([ps2.A, sparse.csr_array((ps2.A.shape[0], nz))]), ps2.lb, ps2.ub
            )
        )
    c = np.concatenate([weights[fidx], np.zeros(nz)])
    integrality = np.concatenate([np.ones(nf), np.zeros(nz)])
    res = milp(
        c,
        integrality=integrality,
        bounds=Bounds(np.concatenate(lo), np.concatenate(hi)),
        constraints=cons,
        options=_milp_options(time_limit),
    )
    x = sup_fixed.copy()
    if res.x is not None:
        x[fidx] = res.x[:nf] > 0.5
    status = {0: "optimal", 1: "node_limit", 2: "infeasible"}.get(res.status, res.message)
    if res.status == 1 and time.perf_counter() - t0 >= time_limit:
        status = "time_limit"
    if not ps2_possible and status == "optimal":
        status = "infeasible"
    return Pattern.found(x, weights, free, method="milp:compact", status=status, t0=t0)


def compact_size(problem: Problem) -> int:
    """Number of witness variables the compact model would need."""
    from scipy.sparse.csgraph import connected_components

    eq = problem.equations.tocsr()
    _, lab = connected_components((abs(eq).T @ abs(eq)).tocsr(), directed=False)
    sizes = np.bincount(lab)
    p = np.flatnonzero(problem.primary)
    return int(2 * sizes[lab[p]].sum())
