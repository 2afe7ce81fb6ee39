"""The marts' fast paths give what the plain computations give: the latest (and the intake)
level per unit and domain without a sort, frequency tables summed from their leaves, the
snapshot fingerprint from Parquet files, aggregates from a lazy scan of the scores."""

from __future__ import annotations

import numpy as np
import polars as pl

from anonymise.tables import frequency_table
from assets.marts.aggregates import AggregateConfig, _latest_levels, protect_aggregates


def _scores(n: int = 400, seed: int = 2) -> pl.DataFrame:
    """Published Bridge scores: 120 trajectories, missing measurement numbers and levels."""
    rng = np.random.default_rng(seed)
    rows = n * 6
    return pl.DataFrame(
        {
            "trajectory_id": rng.integers(1, 121, rows),
            "domain": rng.choice(["wonen", "gezin"], rows),
            "level": pl.Series(rng.integers(1, 6, rows), dtype=pl.Int8),
            "months_since_intake": pl.Series(rng.choice([0, 3, 6, 12], rows), dtype=pl.Int16),
            "measurement_no": pl.Series(rng.integers(1, 4, rows), dtype=pl.Int16),
        }
    ).with_columns(
        # missing values rank lowest
        measurement_no=pl.when(pl.int_range(pl.len()) % 37 == 0)
        .then(None)
        .otherwise(pl.col("measurement_no")),
        level=pl.when(pl.int_range(pl.len()) % 41 == 0).then(None).otherwise(pl.col("level")),
    )


def test_latest_levels_equal_the_sorted_last() -> None:
    scores = _scores()
    # 60 units, each with its latest trajectory (the other 60 trajectories are nobody's latest)
    latest = pl.DataFrame(
        {"trajectory_id": np.arange(1, 121, 2), "unit_id": np.random.default_rng(0).permutation(60)}
    ).with_columns(area=pl.lit("A"), intake_year=pl.lit("2024"))
    expected = (
        scores.join(latest, on="trajectory_id")
        .sort(["measurement_no", "months_since_intake", "level"], nulls_last=False)
        .group_by(["unit_id", "domain"], maintain_order=True)
        .last()
        .select("unit_id", "domain", pl.col("level").cast(pl.String), "area", "intake_year")
    )
    # the intake: the lowest known number, then month; of two alike the higher level
    first = (
        scores.join(latest, on="trajectory_id")
        .sort(
            ["measurement_no", "months_since_intake", "level"],
            descending=[False, False, True],
            nulls_last=True,
        )
        .group_by(["unit_id", "domain"], maintain_order=True)
        .first()
        .select("unit_id", "domain", pl.col("level").cast(pl.String).alias("intake_level"))
    )
    expected = expected.join(first, on=["unit_id", "domain"]).select(
        "unit_id", "domain", "level", "intake_level", "area", "intake_year"
    )
    assert expected.height > 60
    assert (expected["level"] != expected["intake_level"]).any()
    for frame in (scores, scores.lazy()):
        got = _latest_levels(frame, latest)
        key = ["unit_id", "domain"]
        assert got.columns == expected.columns
        assert got.sort(key).equals(expected.sort(key))


def test_frequency_table_from_leaves_equals_the_exploded_count() -> None:
    rng = np.random.default_rng(5)
    df = pl.DataFrame(
        {
            "person": np.arange(500),
            "wijk": rng.choice(["W1", "W2", "W3"], 500),
            "level": rng.choice(["1", "2", "3"], 500),
        }
    )
    hier = {"wijk": {"W1": "G1", "W2": "G1", "W3": "G2"}}
    additive = frequency_table(
        df.lazy(), dims=["wijk", "level"], hierarchies=hier, person_column="person"
    )
    # the same persons counted by exploding every row to its margins
    rows = (
        df.with_columns(
            wijk=pl.col("wijk").replace_strict(
                {
                    "W1": ["W1", "G1", "Totaal"],
                    "W2": ["W2", "G1", "Totaal"],
                    "W3": ["W3", "G2", "Totaal"],
                },
                return_dtype=pl.List(pl.String),
            ),
            level=pl.concat_list(pl.col("level"), pl.lit("Totaal")),
        )
        .explode("wijk")
        .explode("level")
    )
    counts = rows.group_by(["wijk", "level"]).agg(pl.col("person").n_unique().alias("n"))
    got = additive.frame.join(counts, on=["wijk", "level"], how="left")
    assert got.filter(pl.col("value") != pl.col("n").fill_null(0)).height == 0
    # a person in two leaf cells: the table is not additive, margins count them once
    twice = pl.concat(
        [df, df.head(1).with_columns(level=pl.lit("3" if df["level"][0] != "3" else "1"))]
    )
    t = frequency_table(
        twice.lazy(), dims=["wijk", "level"], hierarchies=hier, person_column="person"
    )
    total = t.frame.filter((pl.col("wijk") == "Totaal") & (pl.col("level") == "Totaal"))["value"]
    assert total.to_list() == [500.0]


def test_aggregates_from_a_lazy_scan(tmp_path) -> None:
    rng = np.random.default_rng(1)
    n = 120
    population = pl.DataFrame(
        {
            "unit_id": np.arange(1, n + 1),
            "area": rng.choice(["W1", "W2"], n),
            "intake_year": rng.choice(["2023", "2024"], n),
            "organisation": "groningen",
            "programme": "kansrijk",
            "end_reason": rng.choice(["completed", "ongoing"], n),
        }
    )
    trajectories = pl.DataFrame(
        {"trajectory_id": np.arange(1, n + 1), "unit_id": rng.permutation(n) + 1}
    )
    scores = _scores(n).drop_nulls("level")
    path = tmp_path / "scores.parquet"
    scores.write_parquet(path)
    config = AggregateConfig(area_parents={"W1": "G", "W2": "G"})
    frames = {"population": population, "population_trajectories": trajectories}
    eager = protect_aggregates({**frames, "bridge_scores": scores}, config=config, release_id="a")
    lazy = protect_aggregates(
        {**frames, "bridge_scores": pl.scan_parquet(path)}, config=config, release_id="a"
    )
    assert eager.tables["mart_bridge_levels_by_area_period"].height > 0
    for name, df in eager.published().items():
        other = lazy.published()[name]
        assert df.sort(df.columns).equals(other.sort(other.columns)), name
