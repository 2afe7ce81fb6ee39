"""The hand-written fixture exports (``tests/fixtures/landing``) written through the raw step.

Shared by the staging, pseudonymisation and reliability tests, which all start from every
organisation's fixture exports in a fresh staging database.
"""

from __future__ import annotations

from pathlib import Path

from assets.raw.load import write_raw
from assets.raw.reader import read_export
from assets.staging.adapters import ADAPTERS
from pipelines.resources import StagingDatabase

FIXTURE_LANDING = Path(__file__).resolve().parent / "fixtures" / "landing"


def write_fixture_exports(db_path: Path, landing: Path = FIXTURE_LANDING) -> StagingDatabase:
    """A staging database at ``db_path`` with every export under ``landing`` written to ``raw``
    by the raw assets' own function (read with each adapter's export specs)."""
    db = StagingDatabase(path=str(db_path))
    for org, adapter in ADAPTERS.items():
        for spec in adapter.EXPORTS:
            write_raw(db, org, spec.name, read_export(landing, org, spec))
    return db
