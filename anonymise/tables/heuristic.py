"""Fast secondary suppression: greedy line rule, then attacker-LP repair until every level holds.

Each protection requirement that fails becomes a capacity cut ``Σ coef_i x_i ≥ rhs`` (first the
cuts of single lines through a sensitive cell, then cuts read off the duals of the attacker LPs of
the current pattern); the repair suppresses the cells with the best cost per unit of capacity until
the cut holds. The loop ends when the attacker LPs meet every level, so the pattern is safe; the
cuts it met are valid for the optimal model and seed it, and its cost bounds it from above.
"""

from __future__ import annotations

import time

import numpy as np

from anonymise.tables.model import Problem
from anonymise.tables.secondary import (
    Cut,
    Pattern,
    line_cuts,
    separate,
    singleton_cells,
    singleton_violations,
)


def _satisfy(cut: Cut, x: np.ndarray, weights: np.ndarray) -> bool:
    """Suppress the cheapest cells per unit of capacity until ``cut`` holds; False if it cannot."""
    have = float(cut.coef[x[cut.idx]].sum())
    need = cut.rhs - have
    if need <= 1e-9:
        return True
    cand = ~x[cut.idx]
    idx = cut.idx[cand]
    coef = cut.coef[cand]
    while need > 1e-9 and len(idx):
        ratio = weights[idx] / np.minimum(coef, need)
        j = int(np.argmin(ratio))
        x[idx[j]] = True
        need -= coef[j]
        idx = np.delete(idx, j)
        coef = np.delete(coef, j)
    return need <= 1e-9


def fix_singletons(problem: Problem, x: np.ndarray, weights: np.ndarray, free: np.ndarray) -> bool:
    """Suppress a third cell in every line breaking the singleton rule; False if one cannot."""
    single = singleton_cells(problem)
    penalty = np.where(single, weights.max(initial=1.0), 0.0)  # a singleton third may need a 4th
    possible = True
    for _ in range(50):
        bad = singleton_violations(problem, x)
        if not bad:
            return possible
        for cols in bad:
            if x[cols].sum() != 2:
                continue  # fixed by an earlier choice in this round
            cand = cols[free[cols] & ~x[cols]]
            if not len(cand):
                possible = False
                continue
            x[cand[np.argmin(weights[cand] + penalty[cand])]] = True
        if not possible:
            return False
    return not singleton_violations(problem, x)


def repair(
    problem: Problem,
    x: np.ndarray,
    weights: np.ndarray,
    free: np.ndarray,
    sup_fixed: np.ndarray,
    *,
    max_rounds: int = 100,
) -> tuple[str, int, list[Cut]]:
    """Add suppressions to ``x`` (in place) until the attacker LPs and the singleton rule hold.

    Returns the status (``feasible``, ``infeasible`` or ``repair_limit``), rounds and the cuts met.
    """
    possible = fix_singletons(problem, x, weights, free)
    cuts: list[Cut] = []
    check = None  # every sensitive cell first, then only those that failed (intervals only widen)
    for rounds in range(1, max_rounds + 1):
        new, _, failing = separate(problem, x, free, sup_fixed, check)
        check = failing
        for cut in new:
            possible &= _satisfy(cut, x, weights)
        cuts.extend(new)
        possible &= fix_singletons(problem, x, weights, free)
        if not failing.any():
            return ("feasible" if possible else "infeasible"), rounds, cuts
        if not possible or not new:
            return "infeasible", rounds, cuts
    return "repair_limit", max_rounds, cuts


def heuristic(
    problem: Problem,
    weights: np.ndarray,
    free: np.ndarray,
    sup_fixed: np.ndarray,
    *,
    max_rounds: int = 100,
) -> Pattern:
    """A safe (audit-passing) pattern by greedy line rule plus LP repair.

    Lines are visited hardest first (largest level over available capacity).
    """
    t0 = time.perf_counter()
    x = sup_fixed.copy()
    cuts = line_cuts(problem, free, sup_fixed)
    cuts.sort(key=lambda c: -c.rhs / max(c.coef.sum(), 1e-9))
    possible = True
    for cut in cuts:
        possible &= _satisfy(cut, x, weights)
    status, rounds, more = repair(problem, x, weights, free, sup_fixed, max_rounds=max_rounds)
    cuts.extend(more)
    if not possible:
        status = "infeasible"
    return Pattern.found(
        x, weights, free, method="heuristic", status=status, t0=t0, iterations=rounds, cuts=cuts
    )
