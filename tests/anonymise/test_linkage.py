"""Protection against what one attacker already knows (anonymise.linkage): an insider's known
values never single out one of their participants within a class, and a detail table's classes
hold at least k units."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from anonymise.linkage import WITHHELD, coarsen_small_classes, protect_known_values

K = 5
INSIDERS = {
    "x": ("in_x", ["debt"]),
    "y": ("in_y", ["debt", "health"]),
    "z": ("in_z", ["health"]),
}


def _frame(seed: int, n: int = 80) -> pl.DataFrame:
    """One row per person of a k-anonymous frame (classes ``q1, q2`` of at least k rows): two
    known attributes with rare values, three insiders."""
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "q1": rng.choice(["a", "b", "c"], n),
            "q2": rng.choice(["x", "y"], n, p=[0.7, 0.3]),
            "debt": rng.choice(["0", "1-999", "1000+", "onbekend"], n, p=[0.5, 0.25, 0.1, 0.15]),
            "health": rng.choice(["ja", "nee"], n, p=[0.2, 0.8]),
            "other": rng.choice(["p", "q"], n),
            "in_x": rng.random(n) < 0.5,
            "in_y": rng.random(n) < 0.4,
            "in_z": rng.random(n) < 0.3,
        }
    )
    return frame.filter(pl.len().over("q1", "q2") >= K)


def _small_groups(frame: pl.DataFrame, classes: list[str], k: int) -> dict[str, int]:
    """Per insider: (class, known values) groups holding one of its participants and < k rows."""
    out = {}
    for source, (member, known) in INSIDERS.items():
        g = frame.group_by([*classes, *known]).agg(pl.len().alias("n"), pl.col(member).any())
        out[source] = g.filter(pl.col(member) & (pl.col("n") < k)).height
    return out


@pytest.mark.parametrize("seed", range(40))
def test_no_insider_group_below_k_after_protection(seed: int) -> None:
    frame = _frame(seed)
    classes = ["q1", "q2"]
    out, withheld = protect_known_values(frame, classes=classes, insiders=INSIDERS, k=K)
    assert _small_groups(out, classes, K) == dict.fromkeys(INSIDERS, 0)
    # only known values were touched, and only to withhold them
    assert out.height == frame.height
    assert out.drop("debt", "health").equals(frame.drop("debt", "health"))
    for col in ("debt", "health"):
        changed = out[col] != frame[col]
        assert (out.filter(changed)[col] == WITHHELD).all()
    total = sum(
        int(((out[c] == WITHHELD) & (frame[c] != WITHHELD)).sum()) for c in ("debt", "health")
    )
    assert sum(withheld.values()) == total


def test_unprotected_frames_have_small_insider_groups() -> None:
    """Positive control: the test frames do hold groups an insider could single out, and
    protection withholds something for every insider."""
    hits = 0
    for seed in range(40):
        frame = _frame(seed)
        hits += sum(_small_groups(frame, ["q1", "q2"], K).values())
    assert hits > 40
    _, withheld = protect_known_values(_frame(0), classes=["q1", "q2"], insiders=INSIDERS, k=K)
    assert all(n > 0 for n in withheld.values())


def test_one_insiders_withholding_does_not_undo_anothers() -> None:
    """x (knows debt) is settled first: its group (a, debt 0) holds 5 rows. y (knows debt and
    health) then withholds its 5 participants' values, two of them from that group, which falls
    to x's 3 participants: x's group must be settled again."""
    frame = pl.DataFrame(
        {
            "q": ["a"] * 10,
            "debt": ["0"] * 5 + ["1-999"] * 5,
            "health": ["nee"] * 3 + ["ja"] * 5 + ["nee"] * 2,
            "in_x": [True] * 3 + [False] * 7,
            "in_y": [False] * 3 + [True] * 5 + [False] * 2,
            "in_z": [False] * 10,
        }
    )
    out, withheld = protect_known_values(frame, classes=["q"], insiders=INSIDERS, k=K)
    assert _small_groups(out, ["q"], K) == dict.fromkeys(INSIDERS, 0)
    assert withheld == {"x": 3, "y": 10, "z": 0}
    assert out["debt"].to_list() == ["*"] * 8 + ["1-999"] * 2


def test_a_class_without_insiders_is_left_alone() -> None:
    frame = _frame(3).with_columns(pl.lit(False).alias(m) for m, _ in INSIDERS.values())
    out, withheld = protect_known_values(frame, classes=["q1"], insiders=INSIDERS, k=K)
    assert out.equals(frame) and withheld == dict.fromkeys(INSIDERS, 0)


# --------------------------------------------------------------------------- detail classes
def _detail(seed: int) -> pl.DataFrame:
    """Detail rows (several per unit): organisation and year skewed so some classes are small."""
    rng = np.random.default_rng(seed)
    units = 120
    org = rng.choice(["a", "b", "c"], units, p=[0.75, 0.2, 0.05])
    year = rng.choice(
        ["2019", "2020", "2021", "2022", "2023"], units, p=[0.05, 0.1, 0.2, 0.3, 0.35]
    )
    reps = rng.integers(1, 4, units)
    return pl.DataFrame(
        {
            "unit": np.repeat(np.arange(units), reps),
            "org": np.repeat(org, reps),
            "year": np.repeat(year, reps),
            "value": rng.integers(0, 9, int(reps.sum())),
        }
    )


@pytest.mark.parametrize("seed", range(10))
def test_coarsen_small_classes(seed: int) -> None:
    frame = _detail(seed)
    sizes = frame.group_by("org", "year").agg(pl.col("unit").n_unique().alias("n"))
    assert (sizes["n"] < K).any()  # the control: small classes exist
    out, gone = coarsen_small_classes(
        frame, unit="unit", classes=["org", "year"], coarsen="year", k=K
    )
    after = out.group_by("org", "year").agg(pl.col("unit").n_unique().alias("n"))
    assert after["n"].min() >= K
    # a unit is kept with all its rows or removed with all of them
    assert gone == frame["unit"].n_unique() - out["unit"].n_unique()
    kept = frame.filter(pl.col("unit").is_in(out["unit"].implode()))
    assert kept.height == out.height
    # the year is '*' exactly for units whose (org, year) class was below k; else unchanged
    joined = (
        out.select("unit", pl.col("year").alias("published"))
        .unique()
        .join(frame.select("unit", "org", "year").unique(), on="unit")
        .join(sizes, on=["org", "year"])
    )
    small = joined["n"] < K
    assert (joined.filter(small)["published"] == WITHHELD).all()
    assert joined.filter(~small).select((pl.col("published") == pl.col("year")).all()).item()
    # the units removed are those whose organisation's coarsened class stayed below k
    star = frame.join(sizes.filter(pl.col("n") < K), on=["org", "year"])
    star_sizes = star.group_by("org").agg(pl.col("unit").n_unique().alias("n"))
    expected_gone = int(star_sizes.filter(pl.col("n") < K)["n"].sum())
    assert gone == expected_gone
