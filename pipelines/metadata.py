"""Small helpers for Dagster metadata: polars frames as tables, step timings."""

from __future__ import annotations

import json
import time

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


class StepTimer:
    """Wall seconds of an asset's successive steps, for its log line and its metadata.

    ``lap(name)`` closes the step that began at the previous lap (or at creation); ``timings``
    maps step names to seconds (rounded to 0.01 s) in the order they ran.
    """

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._start = time.perf_counter()

    def lap(self, name: str) -> None:
        """Record the step ``name`` as ended now and start the next one."""
        now = time.perf_counter()
        self.timings[name] = round(now - self._start, 2)
        self._start = now

    def json(self) -> str:
        """The timings as one JSON object (for a log line)."""
        return json.dumps(self.timings)
