"""Shared fixtures for the k-anonymity engine tests: the Adult reference data (tests/data/adult)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from anonymise.hierarchy import Hierarchy

ADULT = Path(__file__).resolve().parents[1] / "data" / "adult"
ADULT_QIS = ["age", "sex", "race", "marital-status", "education", "native-country", "workclass"]


@pytest.fixture(scope="session")
def adult_dir() -> Path:
    return ADULT


@pytest.fixture
def adult_qis() -> list[str]:
    """The seven quasi-identifiers of ARX's Adult benchmark, in lattice order (a fresh list)."""
    return list(ADULT_QIS)


@pytest.fixture(scope="session")
def adult() -> pl.DataFrame:
    return pl.read_csv(ADULT / "adult.csv", separator=";")


@pytest.fixture(scope="session")
def adult_hierarchies() -> dict[str, Hierarchy]:
    return {
        q: Hierarchy.from_csv(ADULT / f"adult_hierarchy_{q}.csv", name=q)
        for q in [*ADULT_QIS, "occupation", "salary-class"]
    }
