"""Output checking of an analyst's own result table before it leaves the research environment.

ACRO-like rule-of-thumb checks (DwB / Eurostat "Guidelines for Output Checking"):

* **threshold** — every cell is based on at least ``threshold`` unweighted units;
* **zeros** — empty cells are disclosive (ACRO ``zeros_are_disclosive``) unless switched off;
* **dominance** ``(n, k)`` and **p %** — for magnitude cells whose largest contributions are given;
* **group disclosure** — no cell holds ≥ ``group_share`` of its line (every line along the
  ``group_dims``, lines with a single category included);
* **implicit zeros** — a ``GROUP BY`` never returns empty combinations, so the grid of dimension
  levels (code lists where known, else the observed levels) is completed with zeros before any
  rule runs: leaving a row out discloses the same zero as writing it;
* **degrees of freedom** — a model summary needs ≥ ``dof`` residual degrees of freedom;
* **margins** — when the table shows totals (rows coded ``Totaal``, or declared), suppressed cells
  could be recomputed by differencing, so secondary suppression is done by
  :func:`anonymise.tables.protect` and its attacker audit must pass; with a ``ledger`` the cells
  of earlier releases are taken into account as well.

Pure library: polars, numpy and scipy (through :mod:`anonymise.tables`); no I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Literal

import numpy as np
import polars as pl

from anonymise.tables import (
    TOTAL,
    Ledger,
    PrimaryRules,
    ProtectionResult,
    Table,
    TableSet,
    primary_cells,
    protect,
)
from anonymise.tables.model import Dimension

Kind = Literal["frequency", "magnitude", "model"]

SECRET, ZERO, NOT_AVAILABLE = "×", "–", "."
"""CBS notation: a secret (suppressed) cell, an exact zero, a figure that is not available."""
MAX_GRID = 1_000_000
"""Largest completed grid of dimension levels the checker builds (cells)."""

COUNT_COLUMNS = (
    "count",
    "n",
    "aantal",
    "personen",
    "persons",
    "aantal_personen",
    "frequency",
    "freq",
    "frequentie",
)
"""Names of a frequency table's count column, matched case-insensitively (Dutch ones too)."""
VALUE_COLUMNS = ("value", "total", "sum", "waarde", "totaal", "som", "bedrag")
N_COLUMNS = ("n", "nobs", "n_obs")
DOF_COLUMNS = ("df_resid", "dof", "df")
CONTRIBUTION_COLUMNS = ("top", "largest", "second")
ANNOTATION_COLUMNS = ("withheld", "reason", "suppressed", "is_suppressed")
"""Notes a statistics function or an earlier check put beside a result: never dimensions."""
"""Contribution columns are read by the checker and never leave with the table."""

REASONS = {
    "primary:threshold": (
        "minder dan {t} eenheden",
        "fewer than {t} units",
    ),
    "primary:zero": ("lege cel (nullen zijn onthullend)", "empty cell (zeros are disclosive)"),
    "primary:dominance": (
        "dominantie: de {dn} grootste bijdragen > {dk:g} % van de cel",
        "dominance: the {dn} largest contributions exceed {dk:g} % of the cell",
    ),
    "primary:p-percent": (
        "p%-regel: de rest van de cel < {p:g} % van de grootste bijdrage",
        "p% rule: the rest of the cell is below {p:g} % of the largest contribution",
    ),
    "primary:group": (
        "groepsonthulling: ≥ {g:g} % van de rij/kolom in één cel",
        "group disclosure: ≥ {g:g} % of the row/column in one cell",
    ),
    "secondary": (
        "secundair onderdrukt: anders terug te rekenen uit de totalen",
        "secondary suppression: otherwise recoverable from the totals",
    ),
    "model:dof": (
        "model met minder dan {dof} vrijheidsgraden (residu)",
        "model with fewer than {dof} residual degrees of freedom",
    ),
    "model:n": ("model op minder dan {t} eenheden", "model on fewer than {t} units"),
    "primary:zero:implicit": (
        "lege cel die de tabel wegliet (nullen zijn onthullend)",
        "empty cell the table left out (zeros are disclosive)",
    ),
    "audit": (
        "de audit van de onderdrukking faalde: tabel afgewezen",
        "the suppression audit failed: table rejected",
    ),
}


@dataclass(frozen=True)
class OutputRules:
    """Output-checking rules; defaults are the DwB rules of thumb (and ACRO's where they agree).

    ``dominance`` is DwB's (1, 50 %) by default; :meth:`acro` gives ACRO's (2, 90 %).

    >>> OutputRules().threshold, OutputRules().dof, OutputRules.acro().dominance
    (10, 10, (2, 90.0))
    """

    threshold: int = 10
    dof: int = 10
    dominance: tuple[int, float] | None = (1, 50.0)
    p_percent: float | None = 10.0
    zeros_disclosive: bool = True
    group_share: float | None = 0.9
    group_dims: tuple[str, ...] | None = None

    @classmethod
    def acro(cls) -> OutputRules:
        """ACRO's defaults (``acro/default.yaml``): threshold 10, dof 10, (2, 90 %), p 10 %."""
        return cls(dominance=(2, 90.0))

    def primary_rules(self) -> PrimaryRules:
        """The same rules as :class:`anonymise.tables.PrimaryRules` (protection level 1)."""
        return PrimaryRules(
            threshold=self.threshold,
            dominance=self.dominance,
            p_percent=self.p_percent,
            zeros_disclosive=self.zeros_disclosive,
            group_share=self.group_share,
            group_dims=self.group_dims,
        )

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class OutputDecision:
    """What may leave, and why.

    ``may_leave`` — the table may leave exactly as submitted (no cell needs suppressing);
    ``may_leave_suppressed`` — ``table`` (the suppressed version) may leave. ``table`` has the
    submitted rows, every non-dimension column null in suppressed rows, contribution columns
    dropped, plus ``suppressed`` and ``reason``; ``cells`` one row per submitted row with
    ``row``, the dimensions, ``suppressed`` and ``reason``. ``record`` is JSON-able (rules, kind,
    counts, per-cell reasons, audit verdict; no true values of suppressed cells).
    """

    may_leave: bool
    may_leave_suppressed: bool
    kind: str
    rules: OutputRules
    table: pl.DataFrame
    cells: pl.DataFrame
    record: dict = field(default_factory=dict)
    protection: ProtectionResult | None = None

    def to_json(self) -> str:
        """The record as JSON."""
        return json.dumps(self.record, ensure_ascii=False, default=str)

    def published(self) -> pl.DataFrame:
        """:attr:`table` in CBS notation, as it may leave: every figure of a suppressed row is
        ``×``, an exact zero ``–``, a missing figure ``.``; dimensions and notes unchanged."""
        return cbs_notation(self.table, self.record.get("dimensions") or [])

    def summary(self) -> str:
        """A readable Dutch/English account of what may leave and why."""
        r = self.rules
        fmt = {
            "t": r.threshold,
            "dof": r.dof,
            "dn": (r.dominance or (1, 50.0))[0],
            "dk": (r.dominance or (1, 50.0))[1],
            "p": r.p_percent or 0.0,
            "g": 100 * (r.group_share or 0.0),
        }
        n = self.cells.height
        k = int(self.cells["suppressed"].sum())
        if self.may_leave:
            head = [
                f"Uitvoer MAG naar buiten: alle {n} cellen voldoen aan de regels.",
                f"Output MAY LEAVE: all {n} cells pass the rules.",
            ]
        elif self.may_leave_suppressed:
            head = [
                f"Uitvoer mag NIET naar buiten zoals aangeleverd; wel met {k} van {n} cellen "
                "onderdrukt (leeg gemaakt).",
                f"Output may NOT leave as submitted; it may leave with {k} of {n} cells "
                "suppressed (blanked).",
            ]
        else:
            head = [
                "Uitvoer mag NIET naar buiten: de hele tabel is afgewezen.",
                "Output may NOT leave: the whole table is rejected.",
            ]
        lines = [*head, f"Regels / rules: {json.dumps(r.as_dict())}; soort / kind: {self.kind}."]
        if r.group_share is not None:
            lines.append(
                "Groepsonthulling op de lijnen van / group disclosure on the lines of: "
                + (", ".join(r.group_dims) if r.group_dims is not None else "alle / all")
                + (" (geen / none)" if r.group_dims == () else "")
            )
        added = self.record.get("implicit_rows", 0)
        if added:
            lines.append(
                f"{added} ontbrekende combinatie(s) aangevuld met 0 / {added} absent "
                "combination(s) completed with 0 (a GROUP BY leaves empty cells out)."
            )
        dims = [
            c for c in self.cells.columns if c not in ("row", "suppressed", "reason", "implicit")
        ]
        for row in self.cells.filter(pl.col("suppressed")).iter_rows(named=True):
            where = ", ".join(f"{d}={row[d]}" for d in dims) or f"rij/row {row['row']}"
            why = row["reason"]
            if row.get("implicit") and why == "primary:zero":
                why = "primary:zero:implicit"
            nl, en = REASONS.get(why, (why, why))
            lines.append(f"- {where}: {SECRET} {nl.format(**fmt)} / {en.format(**fmt)}")
        audit = self.record.get("audit")
        if audit is not None:
            lines.append(
                "Audit (terugrekenen uit totalen / recomputation from totals): "
                + ("geslaagd / passed" if audit["ok"] else "GEFAALD / FAILED")
            )
        return "\n".join(lines)


def _pick(columns: Sequence[str], names: Sequence[str], given: str | None, what: str) -> str:
    if given is not None:
        if given not in columns:
            raise ValueError(f"column {given!r} ({what}) is not in the table")
        return given
    lower = {c.lower(): c for c in reversed(columns)}
    for c in names:
        if c in lower:
            return lower[c]
    raise ValueError(
        f"no {what} column found (looked for {', '.join(names)}; the table has "
        f"{', '.join(columns)}): name it with --{'count' if 'count' in what else 'value'} COLUMN"
    )


def cbs_notation(table: pl.DataFrame, dims: Sequence[str] = ()) -> pl.DataFrame:
    """``table`` with its figures (numeric columns other than ``dims``) as text, CBS notation.

    In a row with ``suppressed`` true every figure is ``×``; elsewhere an exact zero is ``–`` and
    a missing figure ``.``. Never ``<10``.

    >>> t = pl.DataFrame({"wijk": ["A", "B", "C"], "n": [12, None, 0], "suppressed": [0, 1, 0]})
    >>> cbs_notation(t.with_columns(pl.col("suppressed").cast(bool)), ["wijk"])["n"].to_list()
    ['12', '×', '–']
    """
    sup = pl.col("suppressed") if "suppressed" in table.columns else pl.lit(False)
    figures = [
        c for c, t in table.schema.items() if t.is_numeric() and c not in dims and c != "row"
    ]

    def missing(c: str) -> pl.Expr:
        if table.schema[c].is_float():
            return pl.col(c).is_null() | pl.col(c).is_nan()
        return pl.col(c).is_null()

    return table.with_columns(
        pl.when(sup)
        .then(pl.lit(SECRET))
        .when(missing(c))
        .then(pl.lit(NOT_AVAILABLE))
        .when(pl.col(c) == 0)
        .then(pl.lit(ZERO))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c in figures
    )


def _dimensions(table: pl.DataFrame, dims: Sequence[str] | None, reserved: set[str]) -> list[str]:
    if dims is not None:
        return list(dims)
    return [
        c
        for c, t in table.schema.items()
        if c not in reserved
        and c not in ANNOTATION_COLUMNS
        and not t.is_float()
        and not isinstance(t, pl.List | pl.Boolean)
    ]


def _cube(leaves: pl.DataFrame, dims: list[str]) -> pl.DataFrame:
    """Every margin of the leaf cells (``Totaal`` where a dimension is summed over)."""
    aggs = [
        pl.col("value").sum(),
        pl.col("contributors").sum(),
        pl.col("top")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .sort(descending=True)
        .head(5)
        .alias("top"),
    ]
    frames = []
    for r in range(len(dims) + 1):
        for summed in combinations(dims, r):
            keep = [d for d in dims if d not in summed]
            by = keep or [pl.lit(0).alias("_all")]
            agg = leaves.group_by(by).agg(aggs)
            frames.append(agg.with_columns(pl.lit(TOTAL).alias(d) for d in summed))
    return pl.concat([f.select(*dims, "value", "contributors", "top") for f in frames])


def check_output(
    table: pl.DataFrame,
    *,
    rules: OutputRules | None = None,
    kind: Kind = "frequency",
    margins: Sequence[str] | bool | None = None,
    ledger: Ledger | None = None,
    dims: Sequence[str] | None = None,
    count: str | None = None,
    value: str | None = None,
    measure: str | None = None,
    release_id: str | None = None,
    levels: Mapping[str, Sequence[str]] | None = None,
) -> OutputDecision:
    """Check an analyst's result table against the output rules.

    ``kind="frequency"``: each row is a cell with a ``count`` (or ``n``) column. ``"magnitude"``:
    a ``value`` (or ``total``/``sum``) column, the unweighted number of contributors in ``n``, and
    optionally the largest contributions (a list column ``top``, or ``largest`` and ``second``)
    for the dominance and p% rules. ``"model"``: a coefficient table with ``df_resid`` (or
    ``dof``/``df``) and optionally ``n``/``nobs``; too few degrees of freedom reject the table.

    ``dims`` defaults to the non-float columns that are not measures. ``margins``: ``None``
    detects totals (a dimension with ``Totaal`` rows), a list declares the dimensions with
    totals, ``False`` declares none. With margins secondary suppression and the attacker audit of
    :func:`anonymise.tables.protect` are applied over the table with all its margins (totals the
    table leaves out are treated as known, which is conservative); a ``ledger`` (which needs the
    margins) adds the cells and equations of earlier releases to that audit. ``measure``
    names the cells' measure for ledger matching (default ``count`` / ``sum:<value>``, as
    :func:`~anonymise.tables.frequency_table` and :func:`~anonymise.tables.magnitude_table`).

    Before any rule runs the grid of dimension levels is completed: every combination of the
    levels in ``levels`` (code lists, e.g. the release's) and the observed ones that the table
    leaves out is added as an empty cell (``implicit`` in :attr:`OutputDecision.cells`, and a row
    in :attr:`OutputDecision.table`), because a result without a row for it tells the same zero.

    >>> t = pl.DataFrame({"wijk": ["A", "B", "C"], "count": [12, 3, 15]})
    >>> d = check_output(t, rules=OutputRules(group_share=None))
    >>> d.may_leave, d.table["count"].to_list(), d.cells["reason"].to_list()
    (False, [12, None, 15], [None, 'primary:threshold', None])
    """
    rules = rules or OutputRules()
    cols = table.columns
    table = table.with_row_index("row")
    if kind == "model":
        return _check_model(table, rules, dims)
    if kind == "frequency":
        vcol = _pick(cols, COUNT_COLUMNS, count, "count")
        ncol = "n" if "n" in cols and vcol != "n" else vcol
        reserved = {vcol, ncol, *CONTRIBUTION_COLUMNS}
        measure = measure or "count"
    elif kind == "magnitude":
        vcol = _pick(cols, VALUE_COLUMNS, value, "value")
        ncol = _pick(cols, N_COLUMNS, count, "number of contributors (n)")
        reserved = {vcol, ncol, *CONTRIBUTION_COLUMNS}
        measure = measure or f"sum:{vcol}"
    else:
        raise ValueError(f"kind must be 'frequency', 'magnitude' or 'model', not {kind!r}")
    dim_names = _dimensions(table.drop("row"), dims, reserved)
    if not dim_names:
        raise ValueError("the table has no dimension columns (pass dims=)")
    if any(table[d].null_count() for d in dim_names):
        raise ValueError("dimension columns must not have missing values")
    if table.select(dim_names).is_duplicated().any():
        raise ValueError(f"rows are not unique over the dimensions {dim_names}")
    if table[vcol].null_count():
        first = int(table.filter(pl.col(vcol).is_null())["row"][0])
        raise ValueError(
            f"column {vcol!r} has missing values (first in row {first}): submit the true counts "
            "of every cell; the check blanks what may not leave and keeps the totals consistent"
        )
    if (table[vcol] < 0).any():
        raise ValueError(f"column {vcol!r} must be non-negative")
    table = _complete_grid(table, dim_names, vcol, ncol, levels or {})

    if "top" in cols:
        top = pl.col("top").cast(pl.List(pl.Float64)).fill_null([])
    elif "largest" in cols:
        top = pl.concat_list(
            [pl.col(c).cast(pl.Float64) for c in ("largest", "second") if c in cols]
        ).list.drop_nulls()
    else:
        top = pl.lit([], pl.List(pl.Float64))
    contributions = kind == "magnitude" and ("top" in cols or "largest" in cols)
    if kind == "frequency":
        top = pl.lit([], pl.List(pl.Float64))
    cells = table.select(
        "row",
        "implicit",
        *[pl.col(d).cast(pl.String) for d in dim_names],
        pl.col(vcol).cast(pl.Float64).alias("value"),
        pl.col(ncol).cast(pl.Int64).alias("contributors"),
        top.alias("top"),
    )
    is_total = {d: bool((cells[d] == TOTAL).any()) for d in dim_names}
    if margins is None:
        margin_dims = [d for d in dim_names if is_total[d]]
    elif margins is False:
        margin_dims = []
    else:
        margin_dims = list(margins if not isinstance(margins, bool) else dim_names)
    if ledger is not None and not margin_dims:
        raise ValueError(
            "a ledger check needs the table with its totals ('Totaal' rows or margins=): "
            "the cells of earlier releases are linked through the table's equations"
        )
    leaves = cells.filter(pl.all_horizontal(pl.col(d) != TOTAL for d in dim_names))
    # the leaf grid is complete (_complete_grid), so every margin of the cube is too
    cube = _cube(leaves.drop("row", "implicit"), dim_names)
    given = cells.filter(pl.any_horizontal(pl.col(d) == TOTAL for d in dim_names))
    if given.height:
        chk = given.join(cube, on=dim_names, how="left", suffix="_sum")
        bad = chk.filter(
            (pl.col("value") - pl.col("value_sum")).abs() > 1e-6 * (1 + pl.col("value"))
        )
        if bad.height:
            raise ValueError(
                f"{bad.height} total row(s) do not equal the sum of their cells "
                f"(e.g. row {bad['row'][0]}); check the table"
            )
        # published totals carry their own n and contributions where given
    dimensions = tuple(Dimension.build(d, leaves[d].unique().to_list()) for d in dim_names)
    t = Table(
        name="output",
        kind="frequency" if kind == "frequency" else "magnitude",
        measure=measure,
        dims=dimensions,
        frame=cube.select(*dim_names, "value", "contributors", "top"),
    )
    ts = TableSet([t])
    prules = rules.primary_rules()
    protection = None
    audit = None
    if margin_dims:
        protection = protect(ts, rules=prules, method="milp", ledger=ledger, release_id=release_id)
        status = protection.tables["output"].select(*dim_names, "suppressed", "reason")
        audit = {
            "ok": protection.audit.ok,
            "failures": protection.audit.failures,
            "primary": protection.n_primary,
            "secondary": protection.n_secondary,
            "method": protection.record.get("method"),
            "status": protection.record.get("status"),
        }
    else:
        prim = primary_cells(ts, prules)
        reason = dict(zip(prim["cell_id"].to_list(), prim["reason"].to_list(), strict=True))
        status = (
            ts.memberships["output"]
            .select(
                *dim_names,
                pl.col("cell_id")
                .replace_strict(reason, default=None, return_dtype=pl.String)
                .alias("reason"),
            )
            .with_columns(suppressed=pl.col("reason").is_not_null())
        )
    marked = cells.select("row", "implicit", *dim_names).join(status, on=dim_names, how="left")
    marked = marked.with_columns(pl.col("suppressed").fill_null(False)).sort("row")
    if audit is not None and not audit["ok"]:
        marked = marked.with_columns(suppressed=pl.lit(True), reason=pl.lit("audit", pl.String))
    return _decide(
        table,
        marked,
        dim_names,
        rules,
        kind,
        audit=audit,
        protection=protection,
        extra={
            "margins": margin_dims,
            "measure": measure,
            "contributions_given": contributions,
            "with_ledger": ledger is not None,
            "dimensions": dim_names,
            "implicit_rows": int(table["implicit"].sum()),
            "levels_from_code_lists": sorted(d for d in dim_names if (levels or {}).get(d)),
        },
    )


def _complete_grid(
    table: pl.DataFrame,
    dims: list[str],
    vcol: str,
    ncol: str,
    levels: Mapping[str, Sequence[str]],
) -> pl.DataFrame:
    """``table`` plus a row of zeros for every absent combination of dimension levels.

    Levels per dimension: the code list in ``levels`` (when given) together with the observed
    leaf codes; ``Totaal`` rows stay as submitted. Added rows are numbered after the submitted
    ones and have ``implicit`` true; their other columns are null."""
    leaf = pl.all_horizontal(pl.col(d).cast(pl.String) != TOTAL for d in dims)
    observed = table.filter(leaf)
    codes = {}
    for d in dims:
        seen = observed[d].cast(pl.String).unique().to_list()
        extra = [str(c) for c in levels.get(d, ()) if c is not None and str(c) != TOTAL]
        codes[d] = sorted(set(seen) | set(extra))
    size = math.prod(len(c) for c in codes.values())
    if size > MAX_GRID:
        raise ValueError(
            f"the grid of dimension levels has {size:,} cells (over {MAX_GRID:,}): check fewer "
            "dimensions, or name them with dims="
        )
    grid = pl.DataFrame({dims[0]: codes[dims[0]]}, schema={dims[0]: pl.String})
    for d in dims[1:]:
        grid = grid.join(pl.DataFrame({d: codes[d]}, schema={d: pl.String}), how="cross")
    have = observed.select(pl.col(d).cast(pl.String) for d in dims)
    absent = grid.join(have, on=dims, how="anti")
    table = table.with_columns(implicit=pl.lit(False))
    if absent.height == 0:
        return table
    added = absent.with_columns(
        pl.col(d).cast(table.schema[d], strict=False) for d in dims
    ).with_columns(
        pl.int_range(table.height, table.height + absent.height, dtype=table.schema["row"]).alias(
            "row"
        ),
        *[pl.lit(0).cast(table.schema[c]).alias(c) for c in dict.fromkeys((vcol, ncol))],
        implicit=pl.lit(True),
    )
    if any(added[d].null_count() for d in dims):
        raise ValueError(
            "a code list does not fit the type of its dimension column: give the codes as text"
        )
    return pl.concat([table, added], how="diagonal_relaxed").select(table.columns)


def _check_model(table: pl.DataFrame, rules: OutputRules, dims: Sequence[str] | None):
    cols = table.columns
    dcol = _pick(cols, DOF_COLUMNS, None, "residual degrees of freedom (df_resid)")
    ncol = next((c for c in N_COLUMNS if c in cols), None)
    dim_names = [
        c for c in (dims or [c for c, t in table.schema.items() if t == pl.String]) if c != "row"
    ]
    dof = table[dcol].cast(pl.Float64)
    reason = None
    if dof.null_count() or float(dof.min()) < rules.dof:
        reason = "model:dof"
    elif ncol is not None and int(table[ncol].min()) < rules.threshold:
        reason = "model:n"
    marked = table.select(
        "row",
        *dim_names,
        pl.lit(reason is not None).alias("suppressed"),
        pl.lit(reason, pl.String).alias("reason"),
    )
    return _decide(table, marked, dim_names, rules, "model", extra={"dof_column": dcol})


def _decide(
    table: pl.DataFrame,
    marked: pl.DataFrame,
    dims: list[str],
    rules: OutputRules,
    kind: str,
    *,
    audit: dict | None = None,
    protection: ProtectionResult | None = None,
    extra: dict | None = None,
) -> OutputDecision:
    sup = marked["suppressed"]
    rejected = bool(sup.all()) and marked.height > 0 and kind == "model"
    if audit is not None and not audit["ok"]:
        rejected = True
    values = [
        c for c in table.columns if c not in ("row", "implicit", *dims, *CONTRIBUTION_COLUMNS)
    ]
    out = (
        table.drop([c for c in CONTRIBUTION_COLUMNS if c in table.columns])
        .with_columns(marked.select("suppressed", "reason"))
        .drop("implicit", strict=False)
        .with_columns(pl.when(~pl.col("suppressed")).then(pl.col(c)).alias(c) for c in values)
        .drop("row")
    )
    may_leave = not bool(sup.any())
    counts = marked["reason"].drop_nulls().value_counts(sort=True, name="n").rows()
    record = {
        "kind": kind,
        "rules": rules.as_dict(),
        "may_leave": may_leave,
        "may_leave_suppressed": not rejected,
        "rows": marked.height,
        "suppressed": int(sup.sum()),
        "reasons": dict(counts),
        "cells": [
            {
                "row": int(r["row"]),
                **{d: r[d] for d in dims},
                "reason": r["reason"],
                **({"implicit": True} if r.get("implicit") else {}),
            }
            for r in marked.filter(pl.col("suppressed")).iter_rows(named=True)
        ],
        **(extra or {}),
    }
    if audit is not None:
        record["audit"] = audit
    return OutputDecision(
        may_leave=may_leave,
        may_leave_suppressed=not rejected,
        kind=kind,
        rules=rules,
        table=out,
        cells=marked,
        record=json.loads(json.dumps(record, default=_jsonable)),
        protection=protection,
    )


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


__all__ = ["OutputDecision", "OutputRules", "check_output"]
