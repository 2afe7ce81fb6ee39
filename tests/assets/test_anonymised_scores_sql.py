"""The published Bridge scores derived in DuckDB (``bridge_scores_sql``, what the pipeline runs)
equal a plain polars derivation written here as the oracle: rows, values, types and order (the
random trajectory id's, so the physical order carries nothing)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import numpy as np
import polars as pl
import pytest

from anonymise.banding import month_bucket, months_between
from assets.anonymised import AnonymisationConfig
from assets.anonymised.release import SCORE_COLUMNS, bridge_scores_sql

D = dt.date
DOMAINS = ["wonen", "gezin", "schulden"]
EPISODE = "episode_pseudonym"


def bridge_scores_oracle(
    scores: pl.DataFrame, keys: pl.DataFrame, buckets: Sequence[int]
) -> pl.DataFrame:
    """The published ``bridge_scores`` with polars: the scores of the release's trajectories
    (``keys``: episode pseudonym, trajectory id, organisation, intake year, start date) with the
    measurement's number within the trajectory (dense rank of its date; no date, no number) and
    its months since intake (bucketed), sorted by trajectory id, measurement number (missing
    first), domain and level (missing last)."""
    # the organisation comes from the key (the scores' own column is not published)
    joined = scores.select(EPISODE, "measured_on", "domain", "level").join(
        keys.select(EPISODE, "trajectory_id", "organisation", "intake_year", "start_date"),
        on=EPISODE,
        how="inner",
    )
    return (
        joined.with_columns(
            pl.col("measured_on").rank("dense").over(EPISODE).cast(pl.Int16).alias("measurement_no")
        )
        .select(
            "trajectory_id",
            "organisation",
            "intake_year",
            "measurement_no",
            month_bucket(
                months_between(pl.col("start_date"), pl.col("measured_on")), buckets
            ).alias("months_since_intake"),
            pl.col("domain").cast(pl.String),
            "level",
        )
        .sort(
            ["trajectory_id", "measurement_no", "domain", "level"],
            nulls_last=[False, False, True, True],
        )
    )


def _data(seed: int = 4, episodes: int = 300) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pseudonymised scores and trajectory keys with the awkward cases: month ends, measurements
    before the start, missing dates and levels, equal dates, episodes left out of the release,
    trajectory ids in no relation to the source order."""
    rng = np.random.default_rng(seed)
    starts = [D(2022, 1, 31), D(2022, 2, 28), D(2023, 3, 15), D(2024, 12, 31), D(2021, 6, 1)]
    keys = pl.DataFrame(
        {
            EPISODE: [f"e{i:04d}" for i in range(episodes)],
            "trajectory_id": rng.permutation(episodes) + 1,
            "organisation": rng.choice(["groningen", "breda"], episodes),
            "intake_year": [str(starts[i % len(starts)].year) for i in range(episodes)],
            "start_date": [starts[i % len(starts)] for i in range(episodes)],
        }
    ).with_columns(
        # a few classes coarsened to '*' (their year withheld), as the release does
        intake_year=pl.when(pl.int_range(pl.len()) % 23 == 0)
        .then(pl.lit("*"))
        .otherwise("intake_year")
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
            EPISODE: pl.String,
            "organisation": pl.String,
            "measured_on": pl.Date,
            "domain": pl.String,
            "level": pl.Int8,
        },
        orient="row",
    )
    return scores, keys


def _run(scores: pl.DataFrame, keys: pl.DataFrame, config: AnonymisationConfig) -> pl.DataFrame:
    with duckdb.connect() as con:
        con.register("scores", scores.to_arrow())
        con.register("keys", keys.to_arrow())
        return con.execute(bridge_scores_sql(config, scores="scores", keys="keys")).pl()


@pytest.mark.parametrize(
    "config", [AnonymisationConfig(), AnonymisationConfig(month_buckets=(0, 6))]
)
def test_sql_equals_the_polars_oracle(config: AnonymisationConfig) -> None:
    scores, keys = _data()
    expected = bridge_scores_oracle(scores, keys, config.month_buckets)
    # the awkward cases are there
    assert expected["measurement_no"].null_count() > 0
    assert expected["level"].null_count() > 0
    assert (expected["months_since_intake"] == 0).any()
    got = _run(scores, keys, config)
    assert got.columns == list(SCORE_COLUMNS)
    assert got.equals(expected)
    assert got.schema == expected.schema


def test_only_the_release_trajectories_and_ordered_by_trajectory_id() -> None:
    scores, keys = _data(seed=9)
    got = _run(scores, keys, AnonymisationConfig())
    # episodes without a key (excluded persons, too small classes) are not published
    assert (
        got["trajectory_id"].n_unique()
        == keys.join(scores.select(EPISODE).unique(), on=EPISODE, how="semi").height
    )
    assert set(got["trajectory_id"]) <= set(keys["trajectory_id"])
    # the order is the random id's, not the source order of the scores or the keys
    assert got["trajectory_id"].is_sorted()
    first_seen = got.join(keys.select("trajectory_id", EPISODE), on="trajectory_id")[
        EPISODE
    ].unique(maintain_order=True)
    assert first_seen.to_list() != sorted(first_seen.to_list())
    # nothing of the source identifies a row: no pseudonym, no date
    assert not any(c.endswith("_pseudonym") for c in got.columns)
    assert not any(t.is_temporal() for t in got.schema.values())


def test_measurement_numbers_count_distinct_dates() -> None:
    """Two measurements on one date share a number; the next date gets the next number."""
    keys = pl.DataFrame(
        {
            EPISODE: ["a"],
            "trajectory_id": [7],
            "organisation": ["groningen"],
            "intake_year": ["2023"],
            "start_date": [D(2023, 1, 31)],
        }
    )
    scores = pl.DataFrame(
        {
            EPISODE: ["a"] * 4,
            "organisation": "groningen",
            "measured_on": [D(2023, 1, 31), D(2023, 1, 31), D(2023, 4, 30), None],
            "domain": ["wonen", "gezin", "wonen", "wonen"],
            "level": pl.Series([2, 3, 4, 1], dtype=pl.Int8),
        }
    )
    got = _run(scores, keys, AnonymisationConfig())
    assert got.select("measurement_no", "months_since_intake", "domain").rows() == [
        (None, None, "wonen"),
        (1, 0, "gezin"),
        (1, 0, "wonen"),
        (2, 0, "wonen"),  # 30 April is 2 whole months after 31 January: bucket 0-2
    ]
