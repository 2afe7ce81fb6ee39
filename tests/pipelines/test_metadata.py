"""Metadata helpers: step timings and Markdown tables for the Dagster UI."""

from __future__ import annotations

import json
import time

import polars as pl

from pipelines.metadata import StepTimer, markdown_table


def test_step_timer_times_each_step_from_the_previous_lap() -> None:
    timer = StepTimer()
    time.sleep(0.05)
    timer.lap("read")
    timer.lap("write")
    assert list(timer.timings) == ["read", "write"]
    assert timer.timings["read"] >= 0.05
    assert timer.timings["write"] < timer.timings["read"]  # measured from the lap, not creation
    assert json.loads(timer.json()) == timer.timings


def test_markdown_table_cuts_long_frames_and_shows_nulls_empty() -> None:
    df = pl.DataFrame({"a": [1, None, 3], "b": ["x", "y", None]})
    text = markdown_table(df, max_rows=2).value
    assert text.splitlines()[:4] == ["| a | b |", "|---|---|", "| 1 | x |", "|  | y |"]
    assert "_1 more rows_" in text
    assert markdown_table(df.clear()).value == "_(none)_"
