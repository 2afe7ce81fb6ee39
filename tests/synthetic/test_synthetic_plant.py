"""Unit tests of the dirt and formatting helpers, and the modules' doctests."""

from __future__ import annotations

import doctest

import numpy as np
import polars as pl
import pytest

import synthetic.plant
import synthetic.pools
from anonymise.bsn import bsn_check_digit_ok, is_valid_bsn, normalise_bsn
from synthetic import plant


@pytest.mark.parametrize("module", [synthetic.plant, synthetic.pools])
def test_doctests(module) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_bsn_unique_valid_and_distinct() -> None:
    rng = np.random.default_rng(1)
    bsn = plant.bsn_unique(rng, 200_000)
    assert bsn.size == 200_000 and np.unique(bsn).size == bsn.size
    assert plant.eleven_proof(bsn).all()
    sample = [f"{b:09d}" for b in bsn[:500]]
    assert all(bsn_check_digit_ok(s) for s in sample)


def test_invalid_bsns_fail_after_normalisation() -> None:
    rng = np.random.default_rng(2)
    bsn = plant.bsn_unique(rng, 5_000)
    bad = pl.Series(plant.invalid_bsn(rng, bsn), dtype=pl.String)
    assert not pl.select(is_valid_bsn(normalise_bsn(pl.lit(bad)))).to_series().any()
    lengths = set(bad.drop_nulls().str.len_chars().to_list())
    assert {8, 9, 10} <= lengths and bad.null_count() > 0
    assert bad.drop_nulls().str.contains(r"[A-Za-z]").any()


def test_bsn_column_rate() -> None:
    rng = np.random.default_rng(3)
    col = plant.bsn_column(rng, plant.bsn_unique(rng, 100_000))
    share = pl.select(is_valid_bsn(normalise_bsn(pl.lit(col)))).to_series().mean()
    assert 0.993 < share < 0.997


def test_dates_formats_missing_and_junk() -> None:
    rng = np.random.default_rng(4)
    days = np.full(20_000, plant.days(__import__("datetime").date(2021, 3, 4)))
    s = plant.dates(rng, days, "%d-%m-%Y", missing=0.01, unparseable=0.01)
    assert (s == "04-03-2021").mean() > 0.97
    assert 0.005 < s.is_null().mean() < 0.015
    junk = s.filter(s.is_not_null() & (s != "04-03-2021"))
    assert junk.len() > 100
    assert junk.str.to_date("%d-%m-%Y", strict=False).is_null().all()
    none = plant.dates(rng, days[:10], "%Y-%m-%d", null=np.ones(10, bool))
    assert none.is_null().all()


def test_codes_variants_and_unknowns() -> None:
    rng = np.random.default_rng(5)
    idx = np.where(np.arange(50_000) % 10 == 0, -1, np.arange(50_000) % 3)
    s = plant.codes(rng, ("afgerond", "geweigerd", "M"), idx, unknown=("?",))
    assert s.is_null().sum() == 5_000
    clean = s.drop_nulls().str.strip_chars().str.to_lowercase()
    assert set(clean.unique()) == {"afgerond", "geweigerd", "m", "?"}
    assert 0.003 < (clean == "?").mean() < 0.008
    assert 0.01 < (s.drop_nulls() != s.drop_nulls().str.strip_chars()).mean() < 0.03


def test_duplicates_are_exact_copies_after_their_original() -> None:
    rng = np.random.default_rng(6)
    df = pl.DataFrame({"a": [str(i) for i in range(30_000)], "b": ["x"] * 30_000})
    out = plant.duplicates(rng, df)
    assert 0.007 < (out.height - df.height) / df.height < 0.013
    assert out.unique(maintain_order=True).equals(df)
    first = out.with_row_index().group_by("a").agg(pl.col("index").min()).sort("index")
    assert first["a"].to_list() == df["a"].to_list()  # originals keep their order


def test_orphans_and_end_before_start() -> None:
    rng = np.random.default_rng(7)
    parent = rng.integers(0, 1000, 100_000)
    out = plant.orphans(rng, parent, 1000)
    assert 0.002 < (out >= 1000).mean() < 0.004
    start = np.full(100_000, 1000)
    end = plant.end_before_start(rng, start, start + 10, np.ones(100_000, bool))
    assert 0.004 < (end < start).mean() < 0.006


def test_dutch_amount() -> None:
    s = plant.dutch_amount(np.array([180000, 99, -123456789]), null=np.array([0, 0, 1], bool))
    assert s.to_list() == ["1.800,00", "0,99", None]
