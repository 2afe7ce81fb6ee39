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
    singleton_rows,
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
    for cols in singleton_rows(problem):
        fc = cols[free[cols] & ~x[cols]]
        need = 3 - int(x[cols].sum())
        for j in fc[np.argsort(weights[fc])][: max(need, 0)]:
            x[j] = True
    status = "repair_limit"
    rounds = 0
    for rounds in range(1, max_rounds + 1):  # noqa: B007
        new, _ = separate(problem, x, free, sup_fixed)
        if not new:
            status = "feasible"
            break
        for cut in new:
            possible &= _satisfy(cut, x, weights)
        cuts.extend(new)
        if not possible:
            status = "infeasible"
            break
    return Pattern(
        suppressed=x,
        cost=float(weights[x & free].sum()),
        method="heuristic",
        status=status,
        seconds=time.perf_counter() - t0,
        iterations=rounds,
        cuts=cuts,
    )
