"""Sociaal team Aalsmeer (household cases, Latin-1) -> canonical model.

huishoudens -> episodes, income_sources, debts, case_problems (medical flag -> "gezondheid");
leden -> persons: the applicant (rol "aanvrager") is the canonical person, with the household
type and number of children derived from the other members, who are withheld (counted, with a
reason). A case without a valid applicant is quarantined, and so are its other members.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from assets.raw.contracts import ExportSpec
from assets.raw.contracts.aalsmeer import CONTRACT
from assets.staging.adapters import common as c
from assets.staging.adapters.base import AdapterResult

ORGANISATION = CONTRACT.organisation
PROGRAMME = "sociaal_team"

# What this adapter reads, its date formats and ranges: the organisation's export contract.
EXPORTS: tuple[ExportSpec, ...] = CONTRACT.exports
HOUSEHOLDS = CONTRACT.export("households")
MEMBERS = CONTRACT.export("members")

END_REASONS = {
    "afgerond": "completed",
    "geen ondersteuning": "no_support",
    "afgebroken": "aborted",
}
OUTCOMES = {
    "doelen behaald": "doelen_behaald",
    "deels behaald": "deels_behaald",
    "niet behaald": "niet_behaald",
}
INCOME = {
    "bijstand": "bijstand",
    "loon": "loon",
    "uwv": "uwv",
    "aow": "aow_pensioen",
    "zelfstandig": "zelfstandig",
    "geen": "geen",
}
ROLES = {"aanvrager": "aanvrager", "partner": "partner", "kind": "kind", "huisgenoot": "huisgenoot"}
GENDERS = {"m": "man", "v": "vrouw"}
MEMBER_REASON = (
    "household members other than the applicant are summarised into the applicant's "
    "household type and children count"
)
APPLICANT = "aanvrager"


def _households(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    df, dups = c.dedupe(raw, ORGANISATION)
    df = c.parse(
        df,
        [
            c.id_field("casus_id", "_case"),
            *c.span_fields(HOUSEHOLDS),
            c.code_field("reden_einde", "_reason", END_REASONS),
            c.code_field("uitkomst", "_outcome", OUTCOMES),
            c.amount_field("netto_inkomen_huishouden", "_income"),
            c.code_field("inkomstenbron", "_source", INCOME),
            c.amount_field("schuld_bedrag", "_debt"),
            c.yes_no_field("medische_gegevens", "_medical"),
            c.yes_no_field("bezwaar", "_objects"),
        ],
        [
            c.duplicate_id("casus_id", "_case"),
            c.end_before_start("einddatum", "_end", "_start"),
        ],
    )
    return df, dups


def _members(raw: pl.DataFrame, cases: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    df, dups = c.dedupe(raw, ORGANISATION)
    is_applicant = pl.col("_role") == APPLICANT
    df = c.parse(
        df,
        [
            c.id_field("lid_id", "_member"),
            c.id_field("casus_id", "_case"),
            c.code_field("rol", "_role", ROLES, required=True),
            c.bsn_field(),
            c.only_when(
                is_applicant,
                c.date_field("geboortedatum", "_birth", MEMBERS.dates("geboortedatum")),
            ),
            c.only_when(is_applicant, c.code_field("geslacht", "_gender", GENDERS)),
        ],
        [
            c.duplicate_id("lid_id", "_member"),
            c.orphan("casus_id", "_case", cases, f"household case in {HOUSEHOLDS.file_name}"),
        ],
    )
    # One applicant per case: a second valid applicant of the same case is rejected.
    first = pl.col("_case").is_first_distinct().over(is_applicant & pl.col(c.RULE).is_null())
    df = c.flag(
        df,
        [c.Check("applicant_duplicate", "casus_id", is_applicant & ~first)],
    )
    return df, dups


def _composition(members: pl.DataFrame) -> pl.DataFrame:
    """Per case: household type and number of children from the members' roles."""
    counts = (
        members.filter(pl.col("_role").is_not_null() & pl.col("_case").is_not_null())
        .group_by("_case")
        .agg(
            (pl.col("_role") == "partner").any().alias("_partner"),
            (pl.col("_role") == "kind").sum().cast(pl.Int16).alias("_children"),
            (pl.col("_role") == "huisgenoot").any().alias("_lodger"),
        )
    )
    kids = pl.col("_children") > 0
    return counts.select(
        "_case",
        "_children",
        pl.when(pl.col("_partner") & kids)
        .then(pl.lit("paar_met_kinderen"))
        .when(pl.col("_partner"))
        .then(pl.lit("paar_zonder_kinderen"))
        .when(kids)
        .then(pl.lit("alleenstaande_ouder"))
        .when(pl.col("_lodger"))
        .then(pl.lit("overig"))
        .otherwise(pl.lit("alleenstaand"))
        .alias("_household"),
    )


def adapt(raw: Mapping[str, pl.DataFrame]) -> AdapterResult:
    """Map Aalsmeer's households and members into the canonical model."""
    households, d_hh = _households(raw["households"])
    cases = households.filter(pl.col(c.RULE).is_null()).get_column("_case")
    members, d_members = _members(raw["members"], cases)

    applicants = members.filter((pl.col("_role") == APPLICANT) & pl.col(c.RULE).is_null())
    applicant_of = applicants.select("_case", pl.col("_member").alias("_applicant"))
    households = households.join(applicant_of, on="_case", how="left", maintain_order="left")
    households = c.flag(
        households,
        [
            c.Check(
                "applicant_missing",
                "casus_id",
                pl.col("_applicant").is_null(),
                parent=MEMBERS.file_name,
            )
        ],
    )
    kept_hh, q_hh = c.split(households, ORGANISATION, "episodes")
    # Members of a case that is now quarantined (no valid applicant) are orphans too.
    members = c.flag(
        members,
        [
            c.orphan(
                "casus_id",
                "_case",
                kept_hh.get_column("_case"),
                f"household case in {HOUSEHOLDS.file_name}",
            )
        ],
    )
    composition = _composition(members)
    kept_m, q_m = c.split(members, ORGANISATION, "persons")
    persons = kept_m.filter(pl.col("_role") == APPLICANT).join(
        composition, on="_case", how="left", maintain_order="left"
    )
    others = kept_m.filter(pl.col("_role") != APPLICANT)

    persons = persons.select(
        *c.lineage(ORGANISATION),
        pl.col("_member").alias("source_person_id"),
        pl.col("_bsn").alias("bsn"),
        pl.col("_birth").alias("birth_date"),
        pl.lit(None, pl.Int16).alias("age_at_intake"),
        pl.col("_gender").alias("gender"),
        c.postcode("postcode").alias("postcode"),
        c.text("huisnummer").alias("house_number"),
        pl.col("_household").alias("household_type"),
        pl.col("_children").alias("children_count"),
        c.nationality_group("nationaliteit").alias("nationality_group"),
    )
    episodes = kept_hh.select(
        *c.lineage(ORGANISATION),
        pl.col("_case").alias("episode_id"),
        pl.col("_applicant").alias("source_person_id"),
        pl.lit(PROGRAMME).alias("programme"),
        *c.span_columns(),
        pl.col("_outcome").alias("outcome"),
    )
    income = kept_hh.filter(pl.col("_source").is_not_null()).select(
        *c.lineage(ORGANISATION),
        pl.col("_case").alias("episode_id"),
        pl.col("_source").alias("income_source"),
        pl.col("_income").alias("net_monthly_eur"),
    )
    debts = kept_hh.filter(pl.col("_debt").is_not_null()).select(
        *c.lineage(ORGANISATION),
        pl.col("_case").alias("episode_id"),
        pl.col("_start").alias("measured_on"),
        pl.col("_debt").alias("debt_amount_eur"),
        pl.lit(None, pl.Int16).alias("creditor_count"),
    )
    problems = kept_hh.filter(pl.col("_medical").fill_null(False)).select(
        *c.lineage(ORGANISATION),
        pl.col("_case").alias("episode_id"),
        pl.lit("gezondheid").alias("problem"),
        pl.lit(None, pl.String).alias("status"),
    )
    member_files = c.source_files(raw["members"])
    return AdapterResult(
        organisation=ORGANISATION,
        tables=c.conformed(
            {
                "persons": persons,
                "episodes": episodes,
                "income_sources": income,
                "debts": debts,
                "case_problems": problems,
            }
        ),
        quarantine=pl.concat([q_hh, q_m]),
        duplicates=pl.concat([d_hh, d_members]),
        withheld=c.withheld(others, ORGANISATION, MEMBER_REASON, member_files),
    )
