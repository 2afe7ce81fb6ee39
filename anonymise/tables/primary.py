"""Primary sensitivity rules and protection levels (ESSnet Handbook on SDC, §4.2)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import polars as pl

from anonymise.tables.model import TableSet


@dataclass(frozen=True)
class PrimaryRules:
    """Which cells are sensitive, and how far an attacker's interval must reach around them.

    Parameters
    ----------
    threshold
        A non-zero cell with fewer contributors is sensitive (``primary:threshold``).
    frequency_protection
        Protection of frequency cells under the threshold (and of disclosive zeros). ``"range"``
        (the default) asks the attacker's interval to reach up to the threshold and down to 0:
        UPL = ``threshold − value``, LPL = ``value`` (both scaled by ``protection_share``), so
        the attacker cannot tell that the cell is small at all. A number ``q`` only asks the
        interval to reach ``q`` above and below the value (the old ±1): a primary cell of 9 in
        [8, 10] counts as protected while it says the cell is under 10.
    protection_share
        With ``"range"``: the share ``s`` of the threshold the interval must reach, UPL =
        ``max(ceil(s · threshold) − value, 1)`` and LPL = ``s · value`` (1.0: the threshold).
    dominance
        ``(n, k)``: sensitive when the ``n`` largest contributions exceed ``k`` % of the cell.
    p_percent
        Sensitive when the cell minus its two largest contributions is below ``p`` % of the largest.
    magnitude_protection
        Protection, as a share of the value, of a magnitude cell under the threshold.
    zeros_disclosive
        Treat empty cells as sensitive (``primary:zero``); by default zeros are safe.
    group_share
        Group disclosure: a frequency cell holding at least this share of its line is sensitive.
    group_dims
        The dimensions whose lines the group rule looks at (``None``: every line). Name the
        sensitive variables (a level, an outcome): "everyone in wijk A is at level 1" discloses
        something about each of them, whereas a programme that only one organisation runs holding
        100 % of its line over organisations is the table's structure, not a disclosure.

    >>> PrimaryRules().threshold, PrimaryRules(dominance=None).dominance
    (10, None)
    """

    threshold: int | None = 10
    frequency_protection: float | Literal["range"] = "range"
    protection_share: float = 1.0
    dominance: tuple[int, float] | None = (1, 50.0)
    p_percent: float | None = 10.0
    magnitude_protection: float = 0.1
    zeros_disclosive: bool = False
    group_share: float | None = 0.9
    group_dims: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not 0 < self.protection_share <= 1:
            raise ValueError("protection_share must be in (0, 1]")
        q = self.frequency_protection
        if q != "range" and (isinstance(q, str) or q <= 0):
            raise ValueError("frequency_protection must be 'range' or a positive number")

    def as_dict(self) -> dict:
        return asdict(self)

    def frequency_levels(self, value: float) -> tuple[float, float]:
        """(UPL, LPL) of a frequency cell under the threshold (or a disclosive zero).

        >>> PrimaryRules().frequency_levels(9), PrimaryRules().frequency_levels(0)
        ((1.0, 9.0), (10.0, 0.0))
        >>> PrimaryRules(frequency_protection=1).frequency_levels(9)
        (1.0, 1.0)
        """
        q = self.frequency_protection
        if q != "range":
            return float(q), float(q)
        reach = math.ceil(self.protection_share * (self.threshold or 1) - 1e-9)
        return float(max(reach - value, 1.0)), float(self.protection_share * value)


def primary_cells(table_set: TableSet, rules: PrimaryRules | None = None) -> pl.DataFrame:
    """One row per sensitive cell: ``cell_id``, ``reason``, ``upl`` and ``lpl``.

    Upper/lower protection levels follow the handbook: (n,k) ``(100/k)(x1+…+xn) − X``, p%
    ``(p/100)·x1 − (X − x1 − x2)``; counts under the threshold get
    :meth:`PrimaryRules.frequency_levels` (by default the interval must reach the threshold).

    >>> import polars as pl
    >>> from anonymise.tables import TableSet, frequency_table
    >>> lf = pl.LazyFrame({"g": ["a"] * 12 + ["b"] * 3 + ["c"] * 10})
    >>> ts = TableSet([frequency_table(lf, dims=["g"])])
    >>> primary_cells(ts, PrimaryRules(group_share=None)).select("reason", "upl", "lpl").rows()
    [('primary:threshold', 7.0, 3.0)]
    """
    rules = rules or PrimaryRules()
    cells = table_set.cells
    a = cells["value"].to_numpy().astype(float)
    nc = cells["contributors"].to_numpy()
    freq = (cells["kind"] == "frequency").to_numpy()
    tops = cells["top"].to_list()
    n = len(a)
    upl = np.zeros(n)
    lpl = np.zeros(n)
    reason: list[str | None] = [None] * n

    def mark(i: int, why: str, up: float, lo: float) -> None:
        lo = min(lo, a[i])  # the value cannot go below 0
        if up <= 0 and lo <= 0:
            return
        if reason[i] is None:
            reason[i] = why
        upl[i] = max(upl[i], up)
        lpl[i] = max(lpl[i], lo)

    for i in range(n):
        if a[i] == 0:
            if rules.zeros_disclosive:
                mark(i, "primary:zero", rules.frequency_levels(0.0)[0], 0.0)
            continue
        if rules.threshold is not None and nc[i] < rules.threshold:
            if freq[i]:
                mark(i, "primary:threshold", *rules.frequency_levels(float(a[i])))
            else:
                pl_ = max(rules.magnitude_protection * a[i], 1.0)
                mark(i, "primary:threshold", pl_, pl_)
        if freq[i]:
            continue
        x = sorted(tops[i] or [], reverse=True)
        if rules.dominance is not None and x:
            k_n, k = rules.dominance
            top_n = sum(x[:k_n])
            if top_n > k / 100 * a[i]:
                level = 100 / k * top_n - a[i]
                mark(i, "primary:dominance", level, level)
        if rules.p_percent is not None and x:
            rest = a[i] - sum(x[:2])
            if rest < rules.p_percent / 100 * x[0]:
                level = rules.p_percent / 100 * x[0] - rest
                mark(i, "primary:p-percent", level, level)
    if rules.group_share is not None:
        _group(table_set, rules.group_share, a, freq, mark, rules.group_dims)
    ids = [i for i in range(n) if reason[i] is not None]
    return pl.DataFrame(
        {
            "cell_id": ids,
            "reason": [reason[i] for i in ids],
            "upl": upl[ids],
            "lpl": lpl[ids],
        },
        schema={"cell_id": pl.Int64, "reason": pl.String, "upl": pl.Float64, "lpl": pl.Float64},
    )


def _group(
    ts: TableSet,
    share: float,
    a: np.ndarray,
    freq: np.ndarray,
    mark,
    dims: tuple[str, ...] | None = None,
) -> None:
    """Group disclosure: a child holding ≥ ``share`` of a line's units, on the lines along
    ``dims`` only when given. A line with a single category counts too: everyone in it has that
    category, which is exactly what the rule is about."""
    eq = ts.equations.tocsr()
    for r in range(eq.shape[0]):
        if dims is not None and ts.equation_dim[r] not in dims:
            continue
        cols = eq.indices[eq.indptr[r] : eq.indptr[r + 1]]
        coef = eq.data[eq.indptr[r] : eq.indptr[r + 1]]
        parent = cols[coef < 0][0]
        children = cols[coef > 0]
        total = a[parent]
        if len(children) < 1 or total <= 0 or not freq[parent]:
            continue
        limit = math.ceil(share * total - 1e-9)
        for c in children:
            if a[c] >= limit:
                # the attacker's lower bound must fall below share × total
                mark(int(c), "primary:group", 1.0, a[c] - limit + 1)
