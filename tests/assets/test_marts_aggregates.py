"""Protected aggregates, counted from the population coordinates (not the microdata): counts of
distinct persons at their latest episode and latest measurement, every published count safe,
audited, and independent of the release's random ids."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from assets.anonymised.record import episode_items, population_coordinates
from assets.marts.aggregates import (
    AGGREGATE_TABLES,
    BRIDGE_LEVELS,
    BRIDGE_PROGRESS,
    GOALS_REACHED,
    OUTCOMES,
    AggregateConfig,
    build_tables,
    protect_aggregates,
)
from assets.marts.ledger import DuckDBLedger

DOMAINS = ["wonen", "schulden"]
AREAS = {"W1": "Groningen", "W2": "Groningen", "W3": "Breda", "W4": "Breda"}
M = 3  # measurements per trajectory and domain


def frames(n: int = 240, seed: int = 3) -> dict[str, pl.DataFrame]:
    """Population frames in the anonymised step's shape, with some small cells: one row per
    unit, the goals reached per domain, each unit's latest trajectory and its scores."""
    rng = np.random.default_rng(seed)
    unit = np.arange(1, n + 1)
    # skewed areas and years so that some cells fall below the threshold
    population = pl.DataFrame(
        {
            "area": rng.choice(
                ["W1", "W2", "W3", "W4", "onbekend"], n, p=[0.45, 0.3, 0.15, 0.07, 0.03]
            ),
            "intake_year": rng.choice(["2023", "2024"], n, p=[0.7, 0.3]),
            "organisation": rng.choice(["groningen", "breda"], n, p=[0.8, 0.2]),
            "programme": rng.choice(["kansrijk", "doorbraak"], n, p=[0.9, 0.1]),
            "end_reason": rng.choice(["completed", "aborted", "ongoing"], n, p=[0.6, 0.1, 0.3]),
            "unit_id": unit,
        }
    )
    goals = pl.DataFrame(
        {
            "unit_id": unit,
            "domain": rng.choice(DOMAINS, n),
            "goal_reached": rng.choice(["ja", "nee"], n, p=[0.6, 0.4]),
        }
    )
    # trajectory ids in no relation to the unit ids; every unit has one latest trajectory
    traj = rng.permutation(n) + 1
    trajectories = pl.DataFrame({"trajectory_id": traj, "unit_id": unit})
    rows = n * M * len(DOMAINS)
    scores = pl.DataFrame(
        {
            "trajectory_id": np.repeat(traj, M * len(DOMAINS)),
            "organisation": "groningen",
            "intake_year": "2023",
            "measurement_no": pl.Series(
                np.tile(np.arange(1, M + 1), n * len(DOMAINS)), dtype=pl.Int16
            ),
            "months_since_intake": pl.Series(
                np.tile(np.arange(M) * 6, n * len(DOMAINS)), dtype=pl.Int16
            ),
            "domain": np.tile(np.repeat(DOMAINS, M), n),
            "level": pl.Series(rng.integers(1, 6, rows), dtype=pl.Int8),
        }
    )
    # an earlier trajectory of some units: not theirs at the latest, never counted
    earlier = scores.head(60).with_columns(trajectory_id=pl.col("trajectory_id") + 10_000)
    return {
        "population": population,
        "population_goals": goals,
        "population_trajectories": trajectories,
        "bridge_scores": pl.concat([scores, earlier]),
    }


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


def _true(name: str, **coords) -> float:
    """The true count of one cell (before protection), from the release's table set."""
    ts = build_tables(frames(), CONFIG)
    assert ts is not None
    parts = [
        t.frame.with_columns(pl.lit(t.name.partition(":")[2]).alias("domain"))
        for t in ts.tables
        if t.name.partition(":")[0] == name
    ]
    df = pl.concat(parts, how="diagonal_relaxed")
    out = df.filter(**coords)["value"]
    assert out.len() == 1, coords
    return out.item()


def test_counts_are_distinct_persons_at_the_latest_measurement():
    f = frames()
    assert _true(OUTCOMES, organisation="Totaal", programme="Totaal", end_reason="Totaal") == (
        f["population"].height
    )
    completed = f["population"].filter(end_reason="completed").height
    assert _true(OUTCOMES, organisation="Totaal", programme="Totaal", end_reason="completed") == (
        completed
    )
    latest = (
        f["bridge_scores"]
        .join(f["population_trajectories"], on="trajectory_id")
        .filter(pl.col("measurement_no") == M, pl.col("domain") == "wonen", pl.col("level") == 2)
        .height
    )
    assert _true(BRIDGE_LEVELS, domain="wonen", area="Totaal", intake_year="Totaal", level="2") == (
        latest
    )
    # the earlier trajectories count nobody twice
    assert (
        _true(BRIDGE_LEVELS, domain="wonen", area="Totaal", intake_year="Totaal", level="Totaal")
        == f["population"].height
    )
    # the intake year of the tables is the population's, not the scores' own column
    y2024 = f["population"].filter(intake_year="2024").height
    assert (
        _true(BRIDGE_LEVELS, domain="wonen", area="Totaal", intake_year="2024", level="Totaal")
        == y2024
    )
    reached = f["population_goals"].filter(domain="schulden", goal_reached="ja").height
    assert _true(GOALS_REACHED, domain="schulden", area="Totaal", goal_reached="ja") == reached
    w1 = f["population"].filter(area="W1").height
    assert _true(OUTCOMES, organisation="Totaal", programme="Totaal", end_reason="Totaal") > w1


def test_table_coordinates(protected):
    bridge = protected.tables[BRIDGE_LEVELS]
    # at wijk level every gemeente also has a "wijk onbekend" leaf (zero here, not published)
    assert set(bridge["area"].unique()) == {
        *AREAS,
        "Groningen",
        "Breda",
        "Groningen (wijk onbekend)",
        "Breda (wijk onbekend)",
        "onbekend",
        "Totaal",
    }
    published = protected.published()[BRIDGE_LEVELS]
    assert not published["area"].str.contains("wijk onbekend").any()
    assert set(bridge["intake_year"].unique()) == {"2023", "2024", "Totaal"}
    assert set(bridge["level"].unique()) == {"1", "2", "3", "4", "5", "Totaal"}
    assert set(bridge["domain"].unique()) == set(DOMAINS)
    goals = protected.tables[GOALS_REACHED]
    assert set(goals["goal_reached"].unique()) == {"ja", "nee", "Totaal"}


def test_a_person_with_two_episodes_counts_once_in_the_latest():
    """The population coordinates: one row per person, from their most recent episode."""
    d = dt.date
    persons = pl.DataFrame(
        {
            "person_pseudonym": ["p1", "p1", "p2"],
            "organisation": ["groningen", "breda", "groningen"],
            "postcode": ["9711AB", "4811 AA", "9712CD"],
        }
    )
    episodes = pl.DataFrame(
        {
            "person_pseudonym": ["p1", "p1", "p2"],
            "episode_pseudonym": ["e1", "e2", "e3"],
            "organisation": ["groningen", "breda", "groningen"],
            "programme": ["kansrijk", "doorbraak", "kansrijk"],
            "start_date": [d(2022, 3, 1), d(2024, 5, 1), d(2023, 1, 1)],
            "end_date": [d(2023, 1, 1), None, None],
            "end_reason": ["completed", "ongoing", "ongoing"],
        }
    )
    pop = population_coordinates(
        persons, episode_items(episodes), area_of_pc4={"9711": "Centrum", "4811": "Breda Centrum"}
    )
    assert pop.height == 2
    row = pop.filter(person_pseudonym="p1").row(0, named=True)
    assert (row["episode_pseudonym"], row["area"], row["intake_year"]) == (
        "e2",
        "Breda Centrum",
        "2024",
    )
    assert pop.filter(person_pseudonym="p2")["area"].item() == "onbekend"  # PC4 not mapped
    # the row order of the input does not decide anything
    again = population_coordinates(
        persons.reverse(),
        episode_items(episodes.reverse()),
        area_of_pc4={"9711": "Centrum", "4811": "Breda Centrum"},
    )
    assert again.sort("person_pseudonym").equals(pop.sort("person_pseudonym"))


def test_gemeente_level_counts_gemeenten_only():
    cfg = AggregateConfig(area_level="gemeente", area_parents=AREAS)
    res = protect_aggregates(frames(), config=cfg, release_id="r1")
    areas = set(res.tables[GOALS_REACHED]["area"].unique())
    assert areas == {"Groningen", "Breda", "onbekend", "Totaal"}
    assert res.audit_ok


def test_wijk_level_nests_wijken_under_their_gemeente():
    t = pl.concat(
        [
            x.frame
            for x in build_tables(frames(), CONFIG).tables  # type: ignore[union-attr]
            if x.name == f"{GOALS_REACHED}:wonen"
        ]
    ).filter(goal_reached="Totaal")
    w = {r["area"]: r["value"] for r in t.iter_rows(named=True)}
    assert {"W1", "W2", "W3", "W4", "Groningen", "Breda", "Totaal"} <= set(w)
    assert w["Groningen"] == w["W1"] + w["W2"] > 0 and w["Breda"] == w["W3"] + w["W4"] > 0


def test_threshold_comes_from_the_config():
    low = protect_aggregates(
        frames(), config=AggregateConfig(threshold=3, area_parents=AREAS), release_id="r1"
    )
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
    empty = {k: v.head(0) for k, v in frames(5).items()}
    assert build_tables(empty, CONFIG) is None
    res = protect_aggregates(empty, config=CONFIG, release_id="r0")
    assert all(df.height == 0 for df in res.published().values())
    assert set(res.published()) == set(AGGREGATE_TABLES)
    assert res.audit_ok


def test_without_scores_or_goals_only_the_outcomes_are_counted():
    f = frames()
    res = protect_aggregates({"population": f["population"]}, config=CONFIG, release_id="r1")
    assert res.tables[BRIDGE_LEVELS].height == 0 and res.tables[GOALS_REACHED].height == 0
    assert res.tables[OUTCOMES].height > 0


def test_random_ids_do_not_change_the_cells() -> None:
    """Two releases of the same population differ only in their random unit and trajectory
    ids (and the order that follows from them): they must publish the same cells, or their
    difference would disclose something."""
    base = frames(n=120, seed=9)
    rng = np.random.default_rng(1)
    units = rng.permutation(10**6)[:120] + 1
    trajs = rng.permutation(10**6)[:200] + 1
    umap = dict(zip(range(1, 121), units.tolist(), strict=True))
    old_t = base["bridge_scores"]["trajectory_id"].unique().sort().to_list()
    tmap = dict(zip(old_t, trajs[: len(old_t)].tolist(), strict=True))

    def relabel(df: pl.DataFrame) -> pl.DataFrame:
        cols = []
        if "unit_id" in df.columns:
            cols.append(pl.col("unit_id").replace_strict(umap, return_dtype=pl.Int64))
        if "trajectory_id" in df.columns:
            cols.append(pl.col("trajectory_id").replace_strict(tmap, return_dtype=pl.Int64))
        return df.with_columns(cols).sample(fraction=1.0, shuffle=True, seed=5)

    other = {n: relabel(df) for n, df in base.items()}
    a = protect_aggregates(base, config=CONFIG, release_id="A").published()
    b = protect_aggregates(other, config=CONFIG, release_id="B").published()
    for name in a:
        assert a[name].sort(a[name].columns).equals(b[name].sort(b[name].columns)), name


# --------------------------------------------------------------------------- progress
def _progress_frames() -> dict[str, pl.DataFrame]:
    """A hand-countable population: 30 persons in W1 (Groningen), 12 in W3 (Breda), each with
    one trajectory measured in wonen (intake level 2 → latest 4 for the first 20 of W1, 1 → 1
    for the rest), measurements listed out of order, one with a missing number, and an earlier
    trajectory that is not counted."""
    n_g, n_b = 30, 12
    unit = list(range(1, n_g + n_b + 1))
    population = pl.DataFrame(
        {
            "unit_id": unit,
            "area": ["W1"] * n_g + ["W3"] * n_b,
            "intake_year": "2024",
            "organisation": "groningen",
            "programme": "kansrijk",
            "end_reason": "ongoing",
        }
    )
    traj = [u + 500 for u in unit]
    rows = []
    for u, t in zip(unit, traj, strict=True):
        first, last = (2, 4) if u <= 20 else (1, 1)
        # measurement 3 first in the file, then 1, then 2 (the order means nothing)
        rows += [(t, 3, 12, last), (t, 1, 0, first), (t, 2, 6, 3)]
        if u == 1:
            rows.append((t, None, None, 5))  # no date: neither first nor latest
    rows.append((9999, 1, 0, 5))  # an earlier trajectory of unit 1
    scores = pl.DataFrame(
        rows,
        schema={
            "trajectory_id": pl.Int64,
            "measurement_no": pl.Int16,
            "months_since_intake": pl.Int16,
            "level": pl.Int8,
        },
        orient="row",
    ).with_columns(domain=pl.lit("wonen"), organisation=pl.lit("groningen"))
    return {
        "population": population,
        "population_trajectories": pl.DataFrame({"trajectory_id": traj, "unit_id": unit}),
        "bridge_scores": scores,
    }


def test_progress_counts_equal_a_hand_count():
    f = _progress_frames()
    ts = build_tables(f, CONFIG)
    assert ts is not None
    true = {
        t.name.rpartition(":")[2]: t.frame.rename({"intake_level": "level"}, strict=False)
        for t in ts.tables
        if t.name.startswith(f"{BRIDGE_PROGRESS}:wonen:")
    }

    def cell(area: str, measurement: str, level: str) -> float:
        out = true[measurement].filter(area=area, level=level)
        assert out.height == 1, (area, measurement, level)
        return out["value"].item()

    # the gemeente, not the wijk: W1 counts under Groningen
    assert set(true["intake"]["area"].unique()) == {"Groningen", "Breda", "Totaal"}
    assert cell("Groningen", "intake", "2") == 20
    assert cell("Groningen", "intake", "1") == 10
    assert cell("Groningen", "latest", "4") == 20
    assert cell("Groningen", "latest", "1") == 10
    assert cell("Totaal", "intake", "1") == 22 and cell("Totaal", "latest", "1") == 22
    # once per person and measurement: the totals are the persons, intake and latest alike
    assert cell("Totaal", "intake", "Totaal") == cell("Totaal", "latest", "Totaal") == 42
    assert cell("Groningen", "intake", "3") == 0 and cell("Groningen", "latest", "5") == 0
    assert cell("Breda", "intake", "1") == cell("Breda", "latest", "1") == 12

    res = protect_aggregates(f, config=CONFIG, release_id="r1")
    t = res.tables[BRIDGE_PROGRESS]
    assert set(t["measurement"].unique()) == {"intake", "latest"}
    # a published cell is its true count
    for row in t.filter(~pl.col("suppressed")).iter_rows(named=True):
        assert row["value"] == cell(row["area"], row["measurement"], row["level"]), row
    # zeros are never published as rows
    pub = res.published()[BRIDGE_PROGRESS]
    assert pub.filter(area="Breda", level="2").height == 0
    # the latest rows are the level table's gemeente rows, with the same protection
    levels = res.tables[BRIDGE_LEVELS].filter(intake_year="Totaal", domain="wonen")
    latest = t.filter(measurement="latest")
    joined = latest.join(levels, on=["area", "level"], how="inner")
    assert joined.height == latest.height
    assert (joined["suppressed"] == joined["suppressed_right"]).all()


def test_progress_is_protected():
    """Small cells of the progress table are withheld, and every published one is safe."""
    res = protect_aggregates(frames(), config=CONFIG, release_id="r1")
    assert res.audit_ok
    truth = res.tables[BRIDGE_PROGRESS]
    pub = res.published()[BRIDGE_PROGRESS]
    assert set(pub["measurement"].unique()) == {"intake", "latest"}
    assert pub.filter(~pl.col("is_suppressed") & (pl.col("persons") < 10)).height == 0
    assert pub.filter(pl.col("is_suppressed") & pl.col("persons").is_not_null()).height == 0
    # there were small intake cells to withhold (the control of the assertion above)
    reasons = truth.filter(measurement="intake")["reason"].drop_nulls()
    assert reasons.str.starts_with("primary").any()
    # a gemeente's intake total is its latest total: one cell, one protection
    tot = truth.filter(level="Totaal").pivot(
        "measurement", index=["domain", "area"], values="suppressed"
    )
    assert (tot["intake"] == tot["latest"]).all()


def test_progress_intake_cells_with_a_low_threshold_are_published():
    """Control: the same table at threshold 1 publishes every non-zero cell, so the
    suppression above comes from the rules, not from the table's construction."""
    res = protect_aggregates(
        frames(),
        config=AggregateConfig(threshold=1, area_parents=AREAS, group_dims=()),
        release_id="r1",
    )
    pub = res.published()[BRIDGE_PROGRESS]
    assert pub.height > 0 and not pub["is_suppressed"].any()
