"""What every organisation adapter returns, and the shared steps adapters use."""

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


@dataclass(frozen=True)
class ExportSpec:
    """One file type in an organisation's landing folder, as the raw layer reads it.

    The raw layer reads every matching file as text columns (nothing parsed, nothing lost) and adds
    ``_source_file`` (path relative to the landing root) and ``_source_row`` (1-based data row).

    ``columns`` lists the export columns the adapter reads (``None``: all of them). Staging loads
    only those from the raw table, so names, contact details and free text that the adapter never
    maps are not copied into its working frames; duplicate detection still compares every column
    (:func:`assets.staging.load.read_raw_export`).
    """

    name: str  # export name; the raw asset is raw_<organisation>__<name>
    pattern: str  # glob inside data/landing/<organisation>/, e.g. "deelnemers*.csv"
    encoding: str = "utf-8"  # "utf-8" or "latin-1"
    separator: str = ","
    description: str = ""  # shown in the Dagster UI
    required: bool = True  # a missing file is an error (False: optional export)
    columns: tuple[str, ...] | None = None  # the export columns the adapter reads (None: all)
    priority: int = 0  # raw steps with a higher priority run first (the largest exports)
