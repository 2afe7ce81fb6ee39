"""The anonymised layer: pseudonymised tables -> k-anonymous research microdata per person.

Pure functions on polars frames (no Dagster, no DuckDB); see :mod:`assets.anonymised.transform`.
"""

from assets.anonymised.config import AREA_DIVISION_YEAR, AnonymisationConfig, ConfigError
from assets.anonymised.transform import (
    AnonymisedRelease,
    RecordedDistinctLDiversity,
    anonymise_release,
    build_hierarchies,
    research_record,
)

__all__ = [
    "AREA_DIVISION_YEAR",
    "AnonymisationConfig",
    "AnonymisedRelease",
    "ConfigError",
    "RecordedDistinctLDiversity",
    "anonymise_release",
    "build_hierarchies",
    "research_record",
]
