"""The cell key method in the release's tables (ADR 0006): each cell's noise from its persons'
record keys, the perturbation's figures per table, and the two research tables that say how
every table was protected (``meta_table_protection``, ``meta_ptable``).

The protection itself (which tables, suppression first under "both") is
:func:`assets.marts.aggregates.protect_aggregates`; the library is
:mod:`anonymise.tables.cellkey`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from anonymise.tables import Table, TableSet
from anonymise.tables.cellkey import FRAME_SCHEMA as PTABLE_FRAME_SCHEMA
from anonymise.tables.cellkey import PTable, additive_margins, table_cell_keys
from assets.anonymised.release import RECORD_KEY
from assets.marts.protection import AGGREGATE_TABLES, mart_of

if TYPE_CHECKING:
    from assets.marts.aggregates import ProtectedAggregates


def cell_noise(
    table_set: TableSet,
    rows: Mapping[str, pl.LazyFrame],
    originals: Mapping[str, Table],
    perturbed: set[str],
    table: PTable,
) -> np.ndarray:
    """The cell key method's noise of every cell of ``table_set`` (0 for cells of tables that
    are not perturbed). A cell's key is the sum of its persons' record keys, computed from the
    rows its table counted; a cell shared by two tables has the same persons, so one key."""
    n = table_set.n_cells
    keys = np.full(n, -1, dtype=np.int64)
    for t in table_set.tables:
        if t.name not in perturbed:
            continue
        counted, original = rows[t.name], originals[t.name]
        if RECORD_KEY not in counted.collect_schema().names():
            raise ValueError(
                f"{mart_of(t.name)}: the cell key method needs record keys, and the population "
                "frame has none (the anonymised step derives them when [tables] asks for it)"
            )
        dims = list(original.dim_names)
        ck = original.frame.select(dims).with_columns(
            table_cell_keys(counted, original, person="unit_id", key=RECORD_KEY)
        )
        ids = (
            table_set.memberships[t.name]
            .select(*dims, "cell_id")
            .join(ck, on=dims, how="left", maintain_order="left")
        )
        cid, k = ids["cell_id"].to_numpy(), ids["cell_key"].fill_null(0).to_numpy()
        clash = (keys[cid] >= 0) & (keys[cid] != k)
        if clash.any():
            raise ValueError(f"{t.name}: a shared cell got two cell keys (different persons)")
        keys[cid] = k
    noise = np.zeros(n, dtype=np.int64)
    on = keys >= 0
    if on.any():
        counts = np.rint(table_set.cells["value"].to_numpy()[on]).astype(np.int64)
        noise[on] = table.noise(counts, keys[on])
    return noise


def perturbation_figures(
    table_set: TableSet, noise: np.ndarray, suppressed: np.ndarray, perturbed: set[str]
) -> dict[str, dict[str, float]]:
    """Per perturbed mart table: cells, cells changed, mean and largest absolute change, and
    margins that differ from the sum of their published parts."""
    n = table_set.n_cells
    values = table_set.cells["value"].to_numpy()
    out: dict[str, dict[str, float]] = {}
    for t in table_set.tables:
        if t.name not in perturbed:
            continue
        cid = table_set.memberships[t.name]["cell_id"].to_numpy()
        shown = ~suppressed[:n][cid]
        change = np.abs(noise[cid][shown])
        published = pl.Series(np.where(shown, values[cid] + noise[cid], np.nan)).fill_nan(None)
        additive = additive_margins(t, published)
        f = out.setdefault(
            mart_of(t.name),
            {
                "cells": 0,
                "cells_changed": 0,
                "sum_abs_change": 0.0,
                "max_abs_change": 0.0,
                "margins": 0,
                "margins_not_additive": 0,
            },
        )
        f["cells"] += int(shown.sum())
        f["cells_changed"] += int((change > 0).sum())
        f["sum_abs_change"] += float(change.sum())
        f["max_abs_change"] = max(f["max_abs_change"], float(change.max()) if change.size else 0.0)
        f["margins"] += int(additive.is_not_null().sum())
        f["margins_not_additive"] += int((additive == False).sum())  # noqa: E712
    for f in out.values():
        f["mean_abs_change"] = f.pop("sum_abs_change") / f["cells"] if f["cells"] else 0.0
    return out


TABLE_PROTECTION = "meta_table_protection"
PTABLE = "meta_ptable"
PROTECTION_TABLES = (TABLE_PROTECTION, PTABLE)
"""The research tables that say how each published table was protected."""


def protection_frames(aggregates: ProtectedAggregates | None) -> dict[str, pl.DataFrame]:
    """``meta_table_protection`` (one row per mart table: method, threshold, perturbation
    design and figures) and ``meta_ptable`` (the perturbation table; empty when no table is
    perturbed). Published: the cell key method is public, its cell keys are not."""
    protection = aggregates.protection if aggregates is not None else {}
    table = aggregates.ptable if aggregates is not None else None
    threshold = (aggregates.record.get("config", {}) if aggregates is not None else {}).get(
        "threshold"
    )
    rows = []
    for mart in AGGREGATE_TABLES:
        method = protection.get(mart, "suppression")
        published = aggregates.published().get(mart) if aggregates is not None else None
        figures = aggregates.perturbation.get(mart, {}) if aggregates is not None else {}
        keyed = method != "suppression" and table is not None
        rows.append(
            {
                "table_name": mart,
                "protection": method,
                "threshold": threshold if method != "cell_key" else None,
                "max_noise": table.D if keyed else None,
                "noise_variance": table.V if keyed else None,
                "small_counts": table.js if keyed else None,
                "cells": published.height if published is not None else 0,
                "cells_suppressed": int(published["is_suppressed"].sum())
                if published is not None
                else 0,
                "cells_perturbed": int(figures.get("cells_changed", 0)) if keyed else None,
                "mean_abs_change": float(figures.get("mean_abs_change", 0.0)) if keyed else None,
                "margins_not_additive": int(figures.get("margins_not_additive", 0))
                if keyed
                else None,
            }
        )
    schema = {
        "table_name": pl.String,
        "protection": pl.String,
        "threshold": pl.Int64,
        "max_noise": pl.Int64,
        "noise_variance": pl.Float64,
        "small_counts": pl.Int64,
        "cells": pl.Int64,
        "cells_suppressed": pl.Int64,
        "cells_perturbed": pl.Int64,
        "mean_abs_change": pl.Float64,
        "margins_not_additive": pl.Int64,
    }
    names = {"i": "original_count", "v": "noise", "p": "probability"}
    names |= {"lower": "cell_key_from", "upper": "cell_key_to"}
    frame = table.frame if table is not None else pl.DataFrame(schema=PTABLE_FRAME_SCHEMA)
    ptable_frame = frame.select(list(names)).rename(names)
    return {TABLE_PROTECTION: pl.DataFrame(rows, schema=schema), PTABLE: ptable_frame}
