"""The Bridge scores derived in DuckDB (what the pipeline runs) equal the polars derivation
(what ``anonymise_release`` does with the scores in memory): rows, values, types and order."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import polars as pl
import pytest

from assets.anonymised import AnonymisationConfig
from assets.anonymised.transform import SCORE_ORDER, bridge_scores_frame, bridge_scores_sql

D = dt.date
DOMAINS = ["wonen", "gezin", "schulden"]


def _data(seed: int = 4, episodes: int = 300) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pseudonymised scores and release keys with the awkward cases: month ends, measurements
    before the start, missing dates and levels, equal dates, episodes left out of the release."""
    rng = np.random.default_rng(seed)
    starts = [D(2022, 1, 31), D(2022, 2, 28), D(2023, 3, 15), D(2024, 12, 31), D(2021, 6, 1)]
    keys = pl.DataFrame(
        {
            "episode_pseudonym": [f"e{i:04d}" for i in range(episodes)],
            "person_id": rng.permutation(episodes) + 1,
            "episode_id": rng.permutation(episodes) + 1,
            "start_date": [starts[i % len(starts)] for i in range(episodes)],
        }
    )
    rows = []
    for i in range(episodes + 20):  # 20 episodes that are not in the release
        start = starts[i % len(starts)]
        for _ in range(int(rng.integers(0, 5))):
            offset = int(rng.integers(-40, 1500))
            when = None if rng.random() < 0.05 else start + dt.timedelta(days=offset)
            for domain in DOMAINS:
                level = None if rng.random() < 0.02 else int(rng.integers(1, 6))
                rows.append((f"e{i:04d}", "groningen", when, domain, level))
    scores = pl.DataFrame(
        rows,
        schema={
            "episode_pseudonym": pl.String,
            "organisation": pl.String,
            "measured_on": pl.Date,
            "domain": pl.String,
            "level": pl.Int8,
        },
        orient="row",
    )
    return scores, keys


@pytest.mark.parametrize(
    "config", [AnonymisationConfig(), AnonymisationConfig(month_buckets=(0, 6))]
)
def test_sql_equals_polars(config: AnonymisationConfig) -> None:
    scores, keys = _data()
    expected = bridge_scores_frame(scores, keys, config.month_buckets)
    assert expected["measurement_no"].null_count() > 0  # the awkward cases are there
    assert (expected["months_since_intake"] == 0).any()
    with duckdb.connect() as con:
        con.register("scores", scores.to_arrow())
        con.register("keys", keys.to_arrow())
        ordered = con.execute(bridge_scores_sql(config, scores="scores", keys="keys")).pl()
        unordered = con.execute(
            bridge_scores_sql(config, scores="scores", keys="keys", ordered=False)
        ).pl()
    assert ordered.equals(expected)
    assert unordered.sort(SCORE_ORDER, nulls_last=False).equals(expected)


def test_dropped_columns_are_not_selected() -> None:
    config = AnonymisationConfig(dropped_columns=("months_since_intake",))
    scores, keys = _data(episodes=20)
    with duckdb.connect() as con:
        con.register("scores", scores.to_arrow())
        con.register("keys", keys.to_arrow())
        got = con.execute(bridge_scores_sql(config, scores="scores", keys="keys")).pl()
    assert "months_since_intake" not in got.columns and got.height > 0
