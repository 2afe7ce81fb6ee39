"""Kansrijk Groningen (Bridge instrument supplier) -> canonical model.

deelnemers -> persons + episodes (one row is both); metingen (8 domains per row) -> bridge_scores
(one row per scored domain); doelen -> goals (the four free-text columns are not copied);
buddies -> withheld entirely.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from assets.raw.contracts import ExportSpec
from assets.raw.contracts.groningen import CONTRACT
from assets.staging import schema
from assets.staging.adapters import common as c
from assets.staging.adapters.base import AdapterResult

ORGANISATION = CONTRACT.organisation
PROGRAMME = "kansrijk"

# What this adapter reads, its date formats and ranges: the organisation's export contract.
EXPORTS: tuple[ExportSpec, ...] = CONTRACT.exports
PARTICIPANTS = CONTRACT.export("participants")
MEASUREMENTS = CONTRACT.export("measurements")
GOALS = CONTRACT.export("goals")

GENDERS = {"m": "man", "v": "vrouw", "x": "anders"}
HOUSEHOLDS = {
    "al": "alleenstaand",
    "eo": "alleenstaande_ouder",
    "pzk": "paar_zonder_kinderen",
    "pmk": "paar_met_kinderen",
    "ov": "overig",
}
END_REASONS = {"afgerond": "completed", "geweigerd": "refused", "afgebroken": "aborted"}
PILLARS = {d.replace("_", " "): d for d in schema.DOMAINS}  # "sociaal netwerk" -> sociaal_netwerk
BUDDY_REASON = "buddy data never leaves the raw layer"


def _participants(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(persons + episodes source frame, quarantine, duplicates)."""
    p = PARTICIPANTS  # the contract: date formats and ranges
    df, dups = c.dedupe(raw, ORGANISATION)
    df = c.parse(
        df,
        [
            c.id_field("deelnemer_id", "_id"),
            c.bsn_field(),
            c.date_field("geboortedatum", "_birth", p.dates("geboortedatum")),
            c.int_field(
                "leeftijd_bij_intake",
                "_age",
                *p.range("leeftijd_bij_intake"),
                range_rule="age_out_of_range",
            ),
            c.code_field("geslacht", "_gender", GENDERS),
            c.code_field("huishouden", "_household", HOUSEHOLDS),
            c.int_field(
                "aantal_kinderen",
                "_children",
                *p.range("aantal_kinderen"),
                range_rule="count_out_of_range",
            ),
            *c.span_fields(p),
            c.code_field("reden_einde", "_reason", END_REASONS),
            c.yes_no_field("bezwaar_onderzoek", "_objects"),
        ],
        [
            c.duplicate_id("deelnemer_id", "_id"),
            c.end_before_start("einddatum", "_end", "_start"),
            c.birth_after_start("geboortedatum", "_birth", "_start"),
            c.age_at_start_out_of_range("geboortedatum", "_birth", "_start"),
        ],
    )
    kept, quarantine = c.split(df, ORGANISATION, "persons")
    return kept, quarantine, dups


def _persons(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(
        *c.lineage(ORGANISATION),
        pl.col("_id").alias("source_person_id"),
        pl.col("_bsn").alias("bsn"),
        pl.col("_birth").alias("birth_date"),
        pl.when(pl.col("_birth").is_null()).then(pl.col("_age")).alias("age_at_intake"),
        pl.col("_gender").alias("gender"),
        c.postcode("postcode").alias("postcode"),
        c.text("huisnummer").alias("house_number"),
        pl.col("_household").alias("household_type"),
        pl.col("_children").alias("children_count"),
        pl.lit(None, pl.String).alias("nationality_group"),
    )


def _episodes(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(
        *c.lineage(ORGANISATION),
        pl.col("_id").alias("episode_id"),
        pl.col("_id").alias("source_person_id"),
        pl.lit(PROGRAMME).alias("programme"),
        *c.span_columns(),
        pl.lit(None, pl.String).alias("outcome"),
    )


def _measurements(
    raw: pl.DataFrame, participants: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(bridge_scores, quarantine, duplicates): 8 long rows per measurement, empty = not scored."""
    df, dups = c.dedupe(raw, ORGANISATION)
    levels = [
        c.int_field(d, f"_{d}", *MEASUREMENTS.range(d), rule="level_out_of_range")
        for d in schema.DOMAINS
    ]
    none_scored = pl.all_horizontal([pl.col(f"_{d}").is_null() for d in schema.DOMAINS])
    all_columns = ", ".join(f"'{d}'" for d in schema.DOMAINS)
    df = c.parse(
        df,
        [
            c.id_field("meting_id", "_id"),
            c.id_field("deelnemer_id", "_participant"),
            c.date_field("meetdatum", "_date", MEASUREMENTS.dates("meetdatum"), required=True),
            *levels,
        ],
        [
            c.duplicate_id("meting_id", "_id"),
            c.orphan("deelnemer_id", "_participant", participants, "participant"),
            c.Check("scores_missing", all_columns, none_scored),
        ],
    )
    # Only what the long table and the quarantine need: the raw text goes before the split
    # copies the kept rows (the measurements are the largest export).
    df = df.select(
        c.SOURCE_FILE,
        c.SOURCE_ROW,
        "_participant",
        "_date",
        *[f"_{d}" for d in schema.DOMAINS],
        c.RULE,
        c.DETAIL,
    )
    kept, quarantine = c.split(df, ORGANISATION, "bridge_scores")
    # Lazily: the wide-to-long step and the filter run as one pass (no 8x frame kept twice).
    long = (
        kept.lazy()
        .select(
            *c.lineage(ORGANISATION),
            pl.col("_participant").alias("episode_id"),
            pl.col("_date").alias("measured_on"),
            *[pl.col(f"_{d}").cast(pl.Int8).alias(d) for d in schema.DOMAINS],
        )
        .unpivot(
            list(schema.DOMAINS),
            index=["organisation", "source_file", "source_row", "episode_id", "measured_on"],
            variable_name="domain",
            value_name="level",
        )
        .filter(pl.col("level").is_not_null())
        .collect()
    )
    del kept
    return long, quarantine, dups


def _goals(
    raw: pl.DataFrame, participants: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    df, dups = c.dedupe(raw, ORGANISATION)
    df = c.parse(
        df,
        [
            c.id_field("doel_id", "_id"),
            c.id_field("deelnemer_id", "_participant"),
            c.code_field("pijler", "_domain", PILLARS, required=True),
            c.date_field("datum_gesteld", "_set", GOALS.dates("datum_gesteld"), required=True),
            c.date_field("datum_behaald", "_achieved", GOALS.dates("datum_behaald")),
            c.int_field(
                "vertrouwen",
                "_confidence",
                *GOALS.range("vertrouwen"),
                rule="confidence_out_of_range",
            ),
        ],
        [
            c.duplicate_id("doel_id", "_id"),
            c.orphan("deelnemer_id", "_participant", participants, "participant"),
            c.end_before_start("datum_behaald", "_achieved", "_set"),
        ],
    )
    kept, quarantine = c.split(df, ORGANISATION, "goals")
    goals = kept.select(
        *c.lineage(ORGANISATION),
        pl.col("_id").alias("goal_id"),
        pl.col("_participant").alias("episode_id"),
        pl.col("_domain").alias("domain"),
        pl.col("_set").alias("set_on"),
        pl.col("_achieved").alias("achieved_on"),
        pl.col("_confidence").alias("confidence"),
    )
    return goals, quarantine, dups


def adapt(raw: Mapping[str, pl.DataFrame]) -> AdapterResult:
    """Map Groningen's raw exports (keys: export names) into the canonical model."""
    people, q_people, d_people = _participants(raw["participants"])
    participants = people.get_column("_id")
    scores, q_scores, d_scores = _measurements(raw["measurements"], participants)
    goals, q_goals, d_goals = _goals(raw["goals"], participants)
    buddies = raw["buddies"]
    return AdapterResult(
        organisation=ORGANISATION,
        tables=c.conformed(
            {
                "persons": _persons(people),
                "episodes": _episodes(people),
                "bridge_scores": scores,
                "goals": goals,
            }
        ),
        quarantine=pl.concat([q_people, q_scores, q_goals]),
        duplicates=pl.concat([d_people, d_scores, d_goals]),
        withheld=c.withheld(buddies, ORGANISATION, BUDDY_REASON, c.source_files(buddies)),
    )
