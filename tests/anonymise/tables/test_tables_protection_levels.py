"""Issue 14 item 2: a suppressed primary cell's attacker interval reaches the threshold.

The attacker's interval is computed here with our own LPs over the table's equations (not the
library's audit), so the test fails if either the solvers or the audit accept ±1 protection."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.optimize import linprog

from anonymise.tables import PrimaryRules, TableSet, frequency_table, protect

THRESHOLD = 10
NO_GROUP = PrimaryRules(threshold=THRESHOLD, group_share=None)
OLD = PrimaryRules(threshold=THRESHOLD, group_share=None, frequency_protection=1.0)


def _frame(cells: dict[tuple[str, ...], int], dims: list[str]) -> pl.LazyFrame:
    rows: dict[str, list[str]] = {d: [] for d in dims}
    for coords, n in cells.items():
        for d, c in zip(dims, coords, strict=True):
            rows[d] += [c] * n
    return pl.LazyFrame(rows, schema={d: pl.String for d in dims})


def _intervals(
    ts: TableSet, suppressed: np.ndarray, cells: np.ndarray
) -> list[tuple[float, float]]:
    """The attacker's [min, max] of each cell in ``cells``: suppressed cells ≥ 0, published
    cells fixed, every equation of the table set holds."""
    eq = ts.equations.tocsc()
    values = ts.cells["value"].to_numpy().astype(float)
    unknown = np.flatnonzero(suppressed)
    a = eq[:, unknown].toarray()
    b = -(eq[:, np.flatnonzero(~suppressed)] @ values[~suppressed])
    keep = np.abs(a).sum(axis=1) > 0
    a, b = a[keep], b[keep]
    out = []
    for cell in cells:
        c = (unknown == cell).astype(float)
        lo = linprog(c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        assert lo.status == 0 and hi.status == 0
        out.append((lo.fun, -hi.fun))
    return out


def _primary_intervals(res) -> list[tuple[float, float, float]]:
    ts = res.table_set
    n = ts.n_cells
    sup = np.asarray(res.suppressed[:n], dtype=bool)
    prim = np.array(
        [i for i in range(n) if (res.reasons[i] or "") == "primary:threshold"], dtype=int
    )
    values = ts.cells["value"].to_numpy()
    return [
        (values[i], lo, hi) for i, (lo, hi) in zip(prim, _intervals(ts, sup, prim), strict=True)
    ]


def _line() -> TableSet:
    # two small cells in one line with two large ones: 3 + 2 + 40 + 50 = 95
    cells = {("a",): 3, ("b",): 2, ("c",): 40, ("d",): 50}
    return TableSet([frequency_table(_frame(cells, ["g"]), dims=["g"])])


def _random_tables(seed: int, dims: int) -> TableSet:
    rng = np.random.default_rng(seed)
    shape = [5, 4, 3][:dims]
    names = ["r", "c", "l"][:dims]
    cells = {}
    for idx in np.ndindex(*shape):
        n = int(
            rng.choice([0, 1, 2, 4, 7, 9, 15, 30, 60], p=[0.05, 0.1, 0.1] + [0.1] * 3 + [0.15] * 3)
        )
        if n:
            cells[tuple(f"{names[k]}{i}" for k, i in enumerate(idx))] = n
    return TableSet([frequency_table(_frame(cells, names), dims=names)])


def test_old_plus_minus_one_leaves_a_small_interval() -> None:
    """Positive control: with ±1 the two small cells protect each other inside [0, 5]."""
    res = protect(_line(), rules=OLD, method="milp")
    assert res.audit.ok
    worst = max(hi for _, _, hi in _primary_intervals(res))
    assert worst < THRESHOLD, "±1 protection already reached the threshold here"


@pytest.mark.parametrize("method", ["milp", "heuristic"])
def test_every_suppressed_primary_reaches_the_threshold(method: str) -> None:
    sets = [_line()] + [_random_tables(s, d) for s in range(3) for d in (2, 3)]
    checked = 0
    for ts in sets:
        res = protect(ts, rules=NO_GROUP, method=method)
        assert res.audit.ok
        for value, lo, hi in _primary_intervals(res):
            # integer attacker: floor the upper bound, ceil the lower one
            assert np.floor(hi + 1e-6) >= THRESHOLD, (value, lo, hi)
            assert np.ceil(lo - 1e-6) <= 0, (value, lo, hi)
            checked += 1
        # the library's own audit reports the same reach
        iv = res.audit.intervals.filter(pl.col("primary") & (pl.col("upl") > 0))
        assert (iv["value"] + iv["upl"] >= THRESHOLD - 1e-9).all()
        assert (iv["upper"] >= THRESHOLD - 1e-6).all()
    assert checked >= 10


def test_a_configured_share_of_the_threshold() -> None:
    half = PrimaryRules(threshold=THRESHOLD, group_share=None, protection_share=0.5)
    res = protect(_line(), rules=half, method="milp")
    assert res.audit.ok
    for value, lo, hi in _primary_intervals(res):
        assert np.floor(hi + 1e-6) >= 5 and np.ceil(lo - 1e-6) <= value * 0.5
