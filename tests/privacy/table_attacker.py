"""An attacker holding several releases' protected tables (written apart from the solver/audit).

Every release's cells are unknowns under that release's own table equations; published cells are
fixed at their published value; a cell of two releases (same key) changed by at most ``delta``
persons in between (the attacker knows how many persons changed). For any cell or for the
difference of a cell between two releases, the attacker's feasible interval is the min and max of
one linear programme each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from anonymise.tables import TableSet


@dataclass(frozen=True)
class Published:
    """One release as the attacker sees it: the table structure and the published cells."""

    table_set: TableSet
    suppressed: np.ndarray  # over table_set.cells

    @property
    def keys(self) -> list[str]:
        return self.table_set.cells["key"].to_list()

    @property
    def values(self) -> np.ndarray:
        return self.table_set.cells["value"].to_numpy().astype(float)


class Attacker:
    """The linear programme over every release's tables and the bounded changes between them."""

    def __init__(self, releases: list[Published], delta: float) -> None:
        self.releases = releases
        self.offsets = np.cumsum([0] + [r.table_set.n_cells for r in releases])
        n = int(self.offsets[-1])
        blocks = [r.table_set.equations for r in releases]
        self.a_eq = sparse.block_diag(blocks, format="csr")
        grand = max(float(r.values.max()) for r in releases)
        lo, hi = np.zeros(n), np.full(n, grand)
        for i, r in enumerate(releases):
            o = self.offsets[i]
            pub = ~r.suppressed[: r.table_set.n_cells]
            lo[o : o + len(pub)][pub] = r.values[pub]
            hi[o : o + len(pub)][pub] = r.values[pub]
        self.bounds = np.column_stack([lo, hi])
        rows, cols, vals = [], [], []
        m = 0
        for a in range(len(releases)):
            for b in range(a + 1, len(releases)):
                ia = {k: j for j, k in enumerate(releases[a].keys)}
                for j, k in enumerate(releases[b].keys):
                    if k in ia:
                        for sign in (1.0, -1.0):
                            rows += [m, m]
                            cols += [self.offsets[b] + j, self.offsets[a] + ia[k]]
                            vals += [sign, -sign]
                            m += 1
        self.a_ub = sparse.csr_array((vals, (rows, cols)), shape=(m, n))
        self.b_ub = np.full(m, float(delta))
        self.n = n

    def index(self, release: int, key: str) -> int:
        return int(self.offsets[release] + self.releases[release].keys.index(key))

    def interval(self, objective: dict[int, float]) -> tuple[float, float]:
        """Min and max of ``Σ coef · x[i]`` over everything the attacker knows."""
        c = np.zeros(self.n)
        for i, w in objective.items():
            c[i] = w
        ends = []
        for s in (1.0, -1.0):
            res = linprog(
                s * c,
                A_ub=self.a_ub if self.a_ub.shape[0] else None,
                b_ub=self.b_ub if self.a_ub.shape[0] else None,
                A_eq=self.a_eq,
                b_eq=np.zeros(self.a_eq.shape[0]),
                bounds=self.bounds,
                method="highs",
            )
            assert res.status == 0, res.message
            ends.append(s * res.fun)
        return ends[0], ends[1]

    def cell(self, release: int, key: str) -> tuple[float, float]:
        return self.interval({self.index(release, key): 1.0})

    def change(self, a: int, b: int, key: str) -> tuple[float, float]:
        """Interval of ``x_b[key] − x_a[key]``."""
        return self.interval({self.index(b, key): 1.0, self.index(a, key): -1.0})


SENSITIVE = ("level", "goal_reached", "end_reason")
"""Dimensions whose change of a cell would tell something about the changed person."""


def certain_changes(
    first: Published, second: Published, delta: float, dims: tuple[str, ...] = SENSITIVE
) -> list[str]:
    """Cells by a sensitive dimension whose change between the two releases the attacker
    holding both knows for certain (its feasible interval excludes 0)."""
    att = Attacker([first, second], delta=delta)
    before = dict(zip(first.keys, first.values, strict=True))
    certain = []
    for key, value in zip(second.keys, second.values, strict=True):
        if value - before.get(key, value) and any(f"{dim}=" in key for dim in dims):
            lo, hi = att.change(0, 1, key)
            if lo > 1e-6 or hi < -1e-6:
                certain.append(key)
    return certain
