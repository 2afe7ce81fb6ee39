"""The canonical staging model: one schema for every organisation.

Every adapter maps its organisation's export into these tables and nothing else. Each staged row
carries its lineage (``source_file``, ``source_row``: the 1-based data row number in the landing
file) so conservation can be proved per file: every raw row is staged, quarantined or removed as
an exact duplicate, never lost.

Direct identifiers other than the BSN and the source ids (names, addresses, phone numbers,
e-mail, photos, buddy data, free text) never enter staging: they stay in the raw layer only.
The BSN and source ids leave at the pseudonymised layer, replaced by keyed HMACs.
"""

from __future__ import annotations

import polars as pl

from assets.raw.contracts import BRIDGE_DOMAINS, CONTRACTS

ORGANISATIONS: tuple[str, ...] = tuple(CONTRACTS)
"""Organisation codes, also the landing sub-folder names: the export contracts' organisations
(``assets/raw/contracts``), in their canonical order (groningen, zuidplas, aalsmeer, hengelo,
breda), as the raw and staging partitions (``assets.raw.partitions``)."""

DOMAINS: tuple[str, ...] = BRIDGE_DOMAINS
"""The eight Bridge life domains (leefgebieden), in the instrument's order: the canonical codes
are the column names of Groningen's measurement export (written once, in the export contract)."""

UNKNOWN = "onbekend"
"""The published code of a value an organisation did not record (anonymised records, marts,
report labels); staging itself keeps such values null."""

GENDERS: tuple[str, ...] = ("man", "vrouw", "anders")
END_REASONS: tuple[str, ...] = ("completed", "refused", "aborted", "no_support", "ongoing")
"""How an episode ended; ``ongoing`` when it has no end date. Retention terms key on these."""
HOUSEHOLD_TYPES: tuple[str, ...] = (
    "alleenstaand",
    "alleenstaande_ouder",
    "paar_zonder_kinderen",
    "paar_met_kinderen",
    "overig",
)
NATIONALITY_GROUPS: tuple[str, ...] = ("nederlands", "eu", "buiten_eu")
PROGRAMMES: tuple[str, ...] = (
    "kansrijk",
    "vroegsignalering",
    "geldzaken",
    "wisselgeldbudget",
    "casusregie_1g1p1r",
    "sociaal_team",
    "wijkkracht",
    "doorbraak",
)
INCOME_SOURCES: tuple[str, ...] = (
    "loon",
    "bijstand",
    "uwv",
    "aow_pensioen",
    "zelfstandig",
    "studiefinanciering",
    "toeslagen",
    "geen",
    "overig",
)
PROBLEMS: tuple[str, ...] = (
    "schulden",
    "gezondheid",
    "psychisch",
    "justitie",
    "huisvesting",
    "werk",
    "opvoeding",
    "verslaving",
    "schuldhulpverlening",
    "beschermingsbewind",
    "overig",
)
"""Case problems and municipal processes a case is involved in (Breda, Aalsmeer, Hengelo)."""

LINEAGE: dict[str, pl.DataType] = {
    "organisation": pl.String(),
    "source_file": pl.String(),
    "source_row": pl.Int64(),
}

PERSONS: dict[str, pl.DataType] = {
    **LINEAGE,
    "source_person_id": pl.String(),  # the organisation's own client/contact id
    "bsn": pl.String(),  # 9 digits, passes the 11-proef (others are quarantined)
    "birth_date": pl.Date(),  # null when only the age at intake is known
    "age_at_intake": pl.Int16(),  # null when the birth date is known
    "gender": pl.String(),  # GENDERS or null
    "postcode": pl.String(),  # PC6 normalised "1234AB", or null
    "house_number": pl.String(),  # direct identifier with the postcode; dropped after staging
    "household_type": pl.String(),  # HOUSEHOLD_TYPES or null
    "children_count": pl.Int16(),
    "nationality_group": pl.String(),  # NATIONALITY_GROUPS or null
}

EPISODES: dict[str, pl.DataType] = {
    **LINEAGE,
    "episode_id": pl.String(),  # the organisation's own trajectory/case/plan id
    "source_person_id": pl.String(),
    "programme": pl.String(),  # PROGRAMMES
    "start_date": pl.Date(),
    "end_date": pl.Date(),  # null while ongoing
    "end_reason": pl.String(),  # END_REASONS
    "outcome": pl.String(),  # organisation code list, normalised to snake_case, or null
    "objects_to_research": pl.Boolean(),  # the resident objected; kept out of releases
}

BRIDGE_SCORES: dict[str, pl.DataType] = {
    **LINEAGE,
    "episode_id": pl.String(),
    "measured_on": pl.Date(),
    "domain": pl.String(),  # DOMAINS
    "level": pl.Int8(),  # 1..5
}

GOALS: dict[str, pl.DataType] = {
    **LINEAGE,
    "goal_id": pl.String(),
    "episode_id": pl.String(),
    "domain": pl.String(),  # DOMAINS: the Bridge domain the goal belongs to
    "set_on": pl.Date(),
    "achieved_on": pl.Date(),  # null when not (yet) achieved
    "confidence": pl.Int8(),  # 1..10, the participant's confidence the goal will be reached
}

CASE_PROBLEMS: dict[str, pl.DataType] = {
    **LINEAGE,
    "episode_id": pl.String(),
    "problem": pl.String(),  # PROBLEMS
    "status": pl.String(),  # e.g. "aangemeld", "lopend", "afgerond", or null
}

DEBTS: dict[str, pl.DataType] = {
    **LINEAGE,
    "episode_id": pl.String(),
    "measured_on": pl.Date(),
    "debt_amount_eur": pl.Float64(),  # >= 0
    "creditor_count": pl.Int16(),  # null when unknown
}

INCOME_SOURCES_TABLE: dict[str, pl.DataType] = {
    **LINEAGE,
    "episode_id": pl.String(),
    "income_source": pl.String(),  # INCOME_SOURCES
    "net_monthly_eur": pl.Float64(),  # null when unknown
}

OUTCOMES: dict[str, pl.DataType] = {
    **LINEAGE,
    "episode_id": pl.String(),
    "measure": pl.String(),  # e.g. "breakthrough_reached", "plan_cost_eur", "arrears_resolved"
    "value_num": pl.Float64(),  # booleans as 0/1
}

QUARANTINE: dict[str, pl.DataType] = {
    "organisation": pl.String(),
    "source_file": pl.String(),
    "source_row": pl.Int64(),
    "entity": pl.String(),  # the canonical table the row was meant for
    "rule": pl.String(),  # snake_case rule name, e.g. "bsn_11_proef", "level_out_of_range"
    "detail": pl.String(),  # a sentence naming the column and rule; never the value itself
}

DUPLICATES: dict[str, pl.DataType] = {
    "organisation": pl.String(),
    "source_file": pl.String(),
    "removed_duplicates": pl.Int64(),  # exact duplicate data rows dropped (first kept)
}

WITHHELD: dict[str, pl.DataType] = {
    "organisation": pl.String(),
    "source_file": pl.String(),
    "withheld_rows": pl.Int64(),
    "reason": pl.String(),  # why these rows are deliberately not staged
}

ENTITIES: dict[str, dict[str, pl.DataType]] = {
    "persons": PERSONS,
    "episodes": EPISODES,
    "bridge_scores": BRIDGE_SCORES,
    "goals": GOALS,
    "case_problems": CASE_PROBLEMS,
    "debts": DEBTS,
    "income_sources": INCOME_SOURCES_TABLE,
    "outcomes": OUTCOMES,
}
"""Canonical entity name -> polars schema. Asset names are ``staging_<entity>``."""


ENUM_COLUMNS: dict[str, tuple[str, ...]] = {"organisation": ORGANISATIONS, "domain": DOMAINS}
"""Code columns stored as DuckDB ``ENUM`` (values sorted) in the canonical and pseudonymised
tables of staging.duckdb, with ``source_file`` (the landing files); they read back as text
(``pipelines.resources.read_frame``) and compare as text in SQL. A 28 M-row score table writes
several times faster with them than with text codes."""


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with the given schema (an adapter's table it has nothing for)."""
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast ``df`` to exactly ``schema`` (order, types); a missing column fails."""
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise ValueError(f"frame lacks canonical column(s) {missing}")
    try:
        return df.select([pl.col(c).cast(t, strict=True) for c, t in schema.items()])
    except pl.exceptions.PolarsError as exc:
        # polars' cast error lists the values that did not fit: not passed on. An adapter
        # bounds every number it parses, so this is a bug, not dirt in an export.
        bad = [
            c
            for c, t in schema.items()
            if df.select(pl.col(c).cast(t, strict=False)).null_count().item()
            != df.get_column(c).null_count()
        ]
        raise ValueError(
            f"column(s) {bad} do not fit the canonical types ({type(exc).__name__}); "
            "an adapter let through a value it should have quarantined."
        ) from None
