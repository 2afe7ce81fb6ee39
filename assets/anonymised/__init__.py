"""The anonymised layer: pseudonymised tables -> one release (docs/threat-model.md).

Kernel modules (pure polars): :mod:`~assets.anonymised.record` (the person-level record and the
population coordinates), :mod:`~assets.anonymised.generalisation` (hierarchies),
:mod:`~assets.anonymised.release` (the release); Dagster in :mod:`~assets.anonymised.assets`.
"""

from assets.anonymised.config import AREA_DIVISION_YEAR, AnonymisationConfig, ConfigError
from assets.anonymised.generalisation import build_hierarchies
from assets.anonymised.record import person_record
from assets.anonymised.release import AnonymisedRelease, anonymise_release

__all__ = [
    "AREA_DIVISION_YEAR",
    "AnonymisationConfig",
    "AnonymisedRelease",
    "ConfigError",
    "anonymise_release",
    "build_hierarchies",
    "person_record",
]
