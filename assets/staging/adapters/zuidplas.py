"""Stichting ZO! Zuidplas (register of processes) -> canonical model.

registraties -> persons (one per clientnummer, from that client's first staged registration),
episodes (one per registration), debts (arrears and creditors, where recorded) and outcomes
(``arrears_resolved`` for ended Vroegsignalering registrations). Name, address and the free-text
note are not copied.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from assets.raw.contracts import ExportSpec
from assets.raw.contracts.zuidplas import CONTRACT
from assets.staging.adapters import common as c
from assets.staging.adapters.base import AdapterResult

ORGANISATION = CONTRACT.organisation

# What this adapter reads, its date formats and ranges: the organisation's export contract.
EXPORTS: tuple[ExportSpec, ...] = CONTRACT.exports
REGISTRATIONS = CONTRACT.export("registrations")

GENDERS = {"man": "man", "vrouw": "vrouw", "onbekend": None}
HOUSEHOLDS = {
    "alleenstaand": "alleenstaand",
    "eenoudergezin": "alleenstaande_ouder",
    "samenwonend zonder kinderen": "paar_zonder_kinderen",
    "gezin met kinderen": "paar_met_kinderen",
    "anders": "overig",
}
PROCESSES = {
    "vroegsignalering": "vroegsignalering",
    "geldzaken": "geldzaken",
    "wisselgeldbudget": "wisselgeldbudget",
    "1g1p1r casusregie": "casusregie_1g1p1r",
}
RESULTS = {
    "opgelost": "opgelost",
    "doorverwezen": "doorverwezen",
    "geen contact": "geen_contact",
    "gestopt": "gestopt",
}
END_REASONS = {
    "opgelost": "completed",
    "doorverwezen": "completed",  # the process ended by handing over to the right help
    "geen_contact": "no_support",  # no contact was made, so no support was given
    "gestopt": "aborted",
}
YES_NO = {"j": True, "n": False, "ja": True, "nee": False}


def adapt(raw: Mapping[str, pl.DataFrame]) -> AdapterResult:
    """Map Zuidplas's raw registrations into the canonical model."""
    r = REGISTRATIONS  # the contract: date formats and ranges
    df, dups = c.dedupe(raw["registrations"], ORGANISATION)
    df = c.parse(
        df,
        [
            c.id_field("registratie_id", "_id"),
            c.id_field("clientnummer", "_client"),
            c.bsn_field(),
            c.date_field("geboortedatum", "_birth", r.dates("geboortedatum")),
            c.code_field("geslacht", "_gender", GENDERS),  # "onbekend" -> null
            c.code_field("gezinssamenstelling", "_household", HOUSEHOLDS),
            c.int_field(
                "aantal_kinderen",
                "_children",
                *r.range("aantal_kinderen"),
                range_rule="count_out_of_range",
            ),
            c.code_field("proces", "_programme", PROCESSES, required=True),
            c.amount_field("achterstand_bedrag", "_arrears"),
            c.int_field(
                "aantal_schuldeisers",
                "_creditors",
                *r.range("aantal_schuldeisers"),
                range_rule="count_out_of_range",
            ),
            *c.span_fields(r),
            c.code_field("resultaat", "_result", RESULTS),
            c.code_field("bezwaar", "_objects", YES_NO, dtype=pl.Boolean()),
        ],
        [
            c.duplicate_id("registratie_id", "_id"),
            c.end_before_start("einddatum", "_end", "_start"),
            c.birth_after_start("geboortedatum", "_birth", "_start"),
            c.age_at_start_out_of_range("geboortedatum", "_birth", "_start"),
        ],
    )
    kept, quarantine = c.split(df, ORGANISATION, "episodes")
    kept = kept.with_columns(
        pl.col("_result")
        .replace_strict(END_REASONS, default=None, return_dtype=pl.String)
        .alias("_reason")
    )
    persons = kept.unique("_client", keep="first", maintain_order=True).select(
        *c.lineage(ORGANISATION),
        pl.col("_client").alias("source_person_id"),
        pl.col("_bsn").alias("bsn"),
        pl.col("_birth").alias("birth_date"),
        pl.lit(None, pl.Int16).alias("age_at_intake"),
        pl.col("_gender").alias("gender"),
        c.postcode("postcode").alias("postcode"),
        c.house_number_from_address("adres").alias("house_number"),
        pl.col("_household").alias("household_type"),
        pl.col("_children").alias("children_count"),
        pl.lit(None, pl.String).alias("nationality_group"),
    )
    episodes = kept.select(
        *c.lineage(ORGANISATION),
        pl.col("_id").alias("episode_id"),
        pl.col("_client").alias("source_person_id"),
        pl.col("_programme").alias("programme"),
        *c.span_columns(),
        pl.col("_result").alias("outcome"),
    )
    debts = kept.filter(pl.col("_arrears").is_not_null() | pl.col("_creditors").is_not_null())
    debts = debts.select(
        *c.lineage(ORGANISATION),
        pl.col("_id").alias("episode_id"),
        pl.col("_start").alias("measured_on"),
        pl.col("_arrears").alias("debt_amount_eur"),
        pl.col("_creditors").alias("creditor_count"),
    )
    resolved = kept.filter(
        (pl.col("_programme") == "vroegsignalering")
        & pl.col("_end").is_not_null()
        & pl.col("_result").is_not_null()
    )
    outcomes = resolved.select(
        *c.lineage(ORGANISATION),
        pl.col("_id").alias("episode_id"),
        pl.lit("arrears_resolved").alias("measure"),
        (pl.col("_result") == "opgelost").cast(pl.Float64).alias("value_num"),
    )
    return AdapterResult(
        organisation=ORGANISATION,
        tables=c.conformed(
            {"persons": persons, "episodes": episodes, "debts": debts, "outcomes": outcomes}
        ),
        quarantine=quarantine,
        duplicates=dups,
    )
