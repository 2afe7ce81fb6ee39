"""Organisation adapters: each maps its organisation's raw exports into the canonical model.

``ADAPTERS`` maps organisation code -> adapter module (``ORGANISATION``, ``EXPORTS``,
``adapt(raw) -> AdapterResult``); ``conservation`` balances one adapter's result per file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import ModuleType

import polars as pl

from assets.staging.adapters import aalsmeer, breda, groningen, hengelo, zuidplas
from assets.staging.adapters.base import AdapterResult
from assets.staging.adapters.common import SOURCE_FILE

ADAPTERS: dict[str, ModuleType] = {
    m.ORGANISATION: m for m in (groningen, zuidplas, aalsmeer, hengelo, breda)
}
"""Organisation code -> adapter module, in the canonical organisation order."""

BALANCE_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "raw_rows": pl.Int64(),
    "staged_rows": pl.Int64(),
    "quarantined": pl.Int64(),
    "duplicates": pl.Int64(),
    "withheld": pl.Int64(),
    "balanced": pl.Boolean(),
}


def conservation(raw: Mapping[str, pl.DataFrame], result: AdapterResult) -> pl.DataFrame:
    """Per source file: raw rows, staged rows (distinct lineage in any staged table), quarantined,
    removed duplicates, withheld, and whether raw = staged + quarantined + duplicates + withheld.
    """
    raw_counts = [df.group_by(SOURCE_FILE).agg(pl.len().alias("raw_rows")) for df in raw.values()]
    raw_rows = (
        pl.concat(raw_counts).group_by(SOURCE_FILE).agg(pl.col("raw_rows").sum())
        if raw_counts
        else pl.DataFrame(schema={SOURCE_FILE: pl.String(), "raw_rows": pl.Int64()})
    ).rename({SOURCE_FILE: "source_file"})
    staged = _staged_rows(result.tables.values())
    quarantined = result.quarantine.group_by("source_file").agg(pl.len().alias("quarantined"))
    duplicates = result.duplicates.group_by("source_file").agg(
        pl.col("removed_duplicates").sum().alias("duplicates")
    )
    withheld = result.withheld.group_by("source_file").agg(
        pl.col("withheld_rows").sum().alias("withheld")
    )
    out = raw_rows
    for part in (staged, quarantined, duplicates, withheld):
        out = out.join(part, on="source_file", how="full", coalesce=True)
    counts = ["raw_rows", "staged_rows", "quarantined", "duplicates", "withheld"]
    out = out.with_columns(pl.col(counts).fill_null(0).cast(pl.Int64)).with_columns(
        balanced=pl.col("raw_rows")
        == pl.col("staged_rows") + pl.col("quarantined") + pl.col("duplicates") + pl.col("withheld")
    )
    return out.select(list(BALANCE_SCHEMA)).cast(BALANCE_SCHEMA).sort("source_file")


def _staged_rows(tables: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """source_file, staged_rows: the distinct row numbers of each file in any of ``tables``.

    A table from one file (most are; the 28 M-row score table is) skips grouping by file name:
    its row numbers are counted directly.
    """
    rows: dict[str | None, list[pl.Series]] = {}
    for df in tables:
        if df.is_empty():
            continue
        files = df.get_column("source_file")
        if files.null_count() == 0 and files.min() == files.max():
            rows.setdefault(files[0], []).append(df.get_column("source_row"))
            continue
        for (file,), part in df.select("source_file", "source_row").group_by("source_file"):
            rows.setdefault(file, []).append(part.get_column("source_row"))
    return pl.DataFrame(
        {
            "source_file": list(rows),
            "staged_rows": [pl.concat(parts).n_unique() for parts in rows.values()],
        },
        schema={"source_file": pl.String(), "staged_rows": pl.Int64()},
    )


__all__ = ["ADAPTERS", "BALANCE_SCHEMA", "conservation"]
