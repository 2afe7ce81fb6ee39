"""Small helpers that turn polars frames into Dagster metadata."""

from __future__ import annotations

import dagster as dg
import polars as pl


def markdown_table(df: pl.DataFrame, *, max_rows: int = 50) -> dg.MetadataValue:
    """A frame as a Markdown table (first ``max_rows`` rows) for the Dagster UI."""
    if df.is_empty():
        return dg.MetadataValue.md("_(none)_")
    head = df.head(max_rows)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    for row in head.iter_rows():
        lines.append("| " + " | ".join("" if v is None else str(v) for v in row) + " |")
    if df.height > max_rows:
        lines.append(f"\n_{df.height - max_rows} more rows_")
    return dg.MetadataValue.md("\n".join(lines))
