"""Protected aggregates: counts of distinct persons, every published count safe, audited."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from assets.marts.aggregates import (
    AGGREGATE_TABLES,
    BRIDGE_LEVELS,
    GOALS_REACHED,
    OUTCOMES,
    AggregateConfig,
    latest_episodes,
    protect_aggregates,
)
from assets.marts.ledger import DuckDBLedger

DOMAINS = ["wonen", "schulden"]
AREAS = {"W1": "Groningen", "W2": "Groningen", "W3": "Breda", "W4": "Breda"}


def frames(n: int = 240, seed: int = 3) -> dict[str, pl.DataFrame]:
    """Small anonymised frames in the transform's shape, with some small cells."""
    rng = np.random.default_rng(seed)
    # skewed areas and periods so that some cells fall below the threshold
    area = rng.choice(["W1", "W2", "W3", "W4", "*"], n, p=[0.45, 0.3, 0.15, 0.07, 0.03])
    persons = pl.DataFrame(
        {
            "person_id": np.arange(n),
            "episode_id": np.arange(n) + 1000,
            "age_at_intake": "30-39",
            "gender": rng.choice(["m", "v"], n),
            "area": area,
            "household_type": "alleenstaand",
            "children_band": "0",
            "nationality_group": "nederlands",
            "organisation": rng.choice(["groningen", "breda"], n, p=[0.8, 0.2]),
            "programme": rng.choice(["kansrijk", "doorbraak"], n, p=[0.9, 0.1]),
            "intake_period": rng.choice(["2023", "2024-Q2"], n, p=[0.7, 0.3]),
            "end_reason": rng.choice(["completed", "aborted", "ongoing"], n, p=[0.6, 0.1, 0.3]),
            "outcome": None,
            "area_division_year": 2025,
            "debt_band": "0",
            "health_flag": "nee",
            "justice_flag": "onbekend",
            "duration_months": 6,
        }
    )
    m = 3
    ids = np.repeat(np.arange(n), m * len(DOMAINS))
    scores = pl.DataFrame(
        {
            "person_id": ids,
            "episode_id": ids + 1000,
            "domain": np.tile(np.repeat(DOMAINS, m), n),
            "level": rng.integers(1, 6, len(ids)),
            "months_since_intake": np.tile(np.arange(m) * 6, n * len(DOMAINS)),
            "measurement_no": np.tile(np.arange(1, m + 1), n * len(DOMAINS)),
        }
    )
    goals = pl.DataFrame(
        {
            "person_id": np.arange(n),
            "episode_id": np.arange(n) + 1000,
            "domain": rng.choice(DOMAINS, n),
            "confidence_band": "7-8",
            "achieved": rng.random(n) < 0.6,
            "months_to_set": 0,
            "months_to_achieve": None,
        }
    )
    return {"persons": persons, "bridge_scores": scores, "goals": goals}


CONFIG = AggregateConfig(area_parents=AREAS)


@pytest.fixture(scope="module")
def protected():
    return protect_aggregates(frames(), config=CONFIG, release_id="r1")


def test_every_published_count_is_safe(protected):
    assert protected.audit_ok
    assert protected.n_primary > 0, "the test data should have small cells"
    for name, df in protected.published().items():
        assert df.height > 0, name
        bad = df.filter(
            ~pl.col("is_suppressed")
            & (pl.col("persons").is_null() | pl.col("persons").is_between(1, 9))
        )
        assert bad.height == 0, (name, bad)
        assert df.filter(pl.col("is_suppressed") & pl.col("persons").is_not_null()).height == 0


def test_published_frames_have_no_reason_and_steward_frames_do(protected):
    for name in AGGREGATE_TABLES:
        assert {"value", "suppressed", "reason"} <= set(protected.tables[name].columns)
        assert "reason" not in protected.published()[name].columns
    reasons = pl.concat([t["reason"] for t in protected.tables.values()]).drop_nulls()
    assert reasons.str.starts_with("primary").any()


def test_counts_are_distinct_persons_at_the_latest_measurement(protected):
    f = frames()
    grand = (
        protected.tables[OUTCOMES]
        .filter(
            (pl.col("organisation") == "Totaal")
            & (pl.col("programme") == "Totaal")
            & (pl.col("end_reason") == "Totaal")
        )["value"]
        .item()
    )
    assert grand == f["persons"].height
    bridge = protected.tables[BRIDGE_LEVELS]
    latest = (
        f["bridge_scores"]
        .filter(pl.col("measurement_no") == 3, pl.col("domain") == "wonen", pl.col("level") == 2)
        .height
    )
    total = bridge.filter(
        (pl.col("domain") == "wonen")
        & (pl.col("area") == "Totaal")
        & (pl.col("intake_year") == "Totaal")
        & (pl.col("level") == "2")
    )["value"]
    assert total.item() == latest
    assert set(bridge["area"].unique()) == {"Groningen", "Breda", "onbekend", "Totaal"}
    assert set(bridge["intake_year"].unique()) == {"2023", "2024", "Totaal"}
    assert set(bridge["level"].unique()) == {"1", "2", "3", "4", "5", "Totaal"}
    assert set(protected.tables[GOALS_REACHED]["goal_reached"].unique()) == {"ja", "nee", "Totaal"}


def test_a_person_with_two_episodes_counts_once_in_the_latest():
    persons = frames(40)["persons"]
    second = persons.head(1).with_columns(
        episode_id=pl.lit(99, pl.Int64), intake_period=pl.lit("2024-Q4"), area=pl.lit("W3")
    )
    both = pl.concat([persons, second])
    latest = latest_episodes(both, CONFIG)
    assert latest.height == 40
    row = latest.filter(pl.col("person_id") == 0)
    assert row.select("episode_id", "area", "intake_year").row(0) == (99, "Breda", "2024")


def test_wijk_level_nests_wijken_under_their_gemeente():
    cfg = AggregateConfig(area_level="wijk", area_parents=AREAS)
    res = protect_aggregates(frames(), config=cfg, release_id="r1")
    areas = set(res.tables[GOALS_REACHED]["area"].unique())
    assert {"W1", "W2", "W3", "W4", "Groningen", "Breda", "Totaal"} <= areas
    assert res.audit_ok


def test_threshold_comes_from_the_config():
    low = protect_aggregates(frames(), config=AggregateConfig(threshold=3), release_id="r1")
    assert low.record["rules"]["threshold"] == 3
    for df in low.published().values():
        small = df.filter(~pl.col("is_suppressed") & pl.col("persons").is_between(1, 2))
        assert small.height == 0


def test_second_release_is_protected_against_the_first(tmp_path):
    ledger = DuckDBLedger(tmp_path / "staging.duckdb")
    r1 = protect_aggregates(frames(), config=CONFIG, release_id="r1", ledger=ledger)
    r1.record_release(ledger)
    assert ledger.releases() == ["r1"]
    r2 = protect_aggregates(frames(), config=CONFIG, release_id="r2", ledger=ledger)
    assert r2.audit_ok
    assert r2.record["parameters"]["with_ledger"]
    cells, equations = r2.ledger_frames()
    assert cells.height and equations.height
    # the same data again: a cell published in r1 is published in r2 as well (no new secrets)
    pub1 = {
        k
        for k, s in zip(ledger.published()["key"], ledger.published()["suppressed"], strict=True)
        if not s
    }
    sup2 = set(cells.filter(pl.col("suppressed"))["key"])
    assert not (pub1 & sup2)


def test_no_persons_gives_empty_tables():
    f = frames(5)
    empty = {k: v.head(0) for k, v in f.items()}
    res = protect_aggregates(empty, config=CONFIG, release_id="r0")
    assert all(df.height == 0 for df in res.published().values())
    assert res.audit_ok


def test_relabelled_surrogate_ids_publish_the_same_cells() -> None:
    # Two releases of the same data differ only in their random ids; ties between a person's
    # episodes must not be broken on those ids, or the two releases would publish different
    # cells and their difference would disclose something.
    base = frames(n=120, seed=9)
    extra = base["persons"].head(40).with_columns(episode_id=pl.col("episode_id") + 100_000)
    base["persons"] = pl.concat([base["persons"], extra])  # 40 persons with two equal episodes
    rng = np.random.default_rng(1)

    def relabel(fs: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
        pids = fs["persons"]["person_id"].unique().sort()
        eids = fs["persons"]["episode_id"].unique().sort()
        pmap = dict(zip(pids.to_list(), rng.permutation(10**6)[: len(pids)].tolist(), strict=True))
        emap = dict(zip(eids.to_list(), rng.permutation(10**6)[: len(eids)].tolist(), strict=True))
        out = {}
        for name, df in fs.items():
            cols = []
            if "person_id" in df.columns:
                cols.append(pl.col("person_id").replace_strict(pmap, return_dtype=pl.Int64))
            if "episode_id" in df.columns:
                cols.append(
                    pl.col("episode_id").replace_strict(emap, default=-1, return_dtype=pl.Int64)
                )
            out[name] = df.with_columns(cols)
        return out

    a = protect_aggregates(base, release_id="A").published()
    b = protect_aggregates(relabel(base), release_id="B").published()
    for name in a:
        assert a[name].sort(a[name].columns).equals(b[name].sort(b[name].columns)), name
