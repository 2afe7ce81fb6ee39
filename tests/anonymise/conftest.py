"""Shared fixtures for the k-anonymity engine tests: the Adult reference data (tests/data/adult)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from anonymise.hierarchy import Hierarchy
from tests.anonymise.adult import ADULT, ADULT_QIS


@pytest.fixture(scope="session")
def adult_dir() -> Path:
    return ADULT


@pytest.fixture(scope="session")
def adult() -> pl.DataFrame:
    return pl.read_csv(ADULT / "adult.csv", separator=";")


@pytest.fixture(scope="session")
def adult_hierarchies() -> dict[str, Hierarchy]:
    return {
        q: Hierarchy.from_csv(ADULT / f"adult_hierarchy_{q}.csv", name=q)
        for q in [*ADULT_QIS, "occupation", "salary-class"]
    }
