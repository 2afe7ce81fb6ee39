"""What every organisation adapter returns.

What it reads is its organisation's export contract (:mod:`assets.raw.contracts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from assets.staging import schema


@dataclass(frozen=True)
class AdapterResult:
    """One organisation's exports mapped into the canonical model.

    ``tables`` maps canonical entity names (keys of ``schema.ENTITIES``) to frames conforming to
    that entity's schema; entities the organisation does not record may be absent. ``quarantine``
    holds one row per rejected raw row (schema ``QUARANTINE``); ``duplicates`` one row per source
    file with the number of exact duplicate rows removed (schema ``DUPLICATES``); ``withheld`` one
    row per source file and reason for raw rows that are deliberately not staged (schema
    ``WITHHELD``: buddy data, household members summarised into their household's attributes).

    Conservation, checked per file: raw rows = rows whose (source_file, source_row) appears in any
    staged table + quarantined rows + removed duplicates + withheld rows.
    """

    organisation: str
    tables: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame = field(default_factory=lambda: schema.empty(schema.QUARANTINE))
    duplicates: pl.DataFrame = field(default_factory=lambda: schema.empty(schema.DUPLICATES))
    withheld: pl.DataFrame = field(default_factory=lambda: schema.empty(schema.WITHHELD))
