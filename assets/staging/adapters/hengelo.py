"""Wijkkracht Hengelo (contacts; UTF-8 with byte-order mark) -> canonical model.

contacten -> persons, plus a "gezondheid" case problem on each of the contact's episodes when the
health notes are not empty (the notes themselves, names, phone, e-mail and photo are never
copied); trajecten -> episodes (status -> end reason, resultaat -> outcome).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from assets.raw.contracts import ExportSpec
from assets.raw.contracts.hengelo import CONTRACT
from assets.staging.adapters import common as c
from assets.staging.adapters.base import AdapterResult

ORGANISATION = CONTRACT.organisation
PROGRAMME = "wijkkracht"

# What this adapter reads, its date formats and ranges: the organisation's export contract.
EXPORTS: tuple[ExportSpec, ...] = CONTRACT.exports
CONTACTS = CONTRACT.export("contacts")
TRAJECTORIES = CONTRACT.export("trajectories")

GENDERS = {"m": "man", "v": "vrouw", "x": "anders"}
STATUSES = {
    "afgerond": "completed",
    "gestopt": "aborted",
    "niet gestart": "no_support",  # the trajectory never started: no support was given
    "lopend": "ongoing",
}
RESULTS = {r: r for r in ("zelfredzaam", "verbeterd", "gelijk", "verslechterd")}


def adapt(raw: Mapping[str, pl.DataFrame]) -> AdapterResult:
    """Map Hengelo's contacts and trajectories into the canonical model."""
    contacts, d_contacts = c.dedupe(raw["contacts"], ORGANISATION)
    contacts = c.parse(
        contacts,
        [
            c.id_field("contact_id", "_contact"),
            c.bsn_field(),
            c.date_field("geboortedatum", "_birth", CONTACTS.dates("geboortedatum")),
            c.code_field("geslacht", "_gender", GENDERS),
        ],
        [c.duplicate_id("contact_id", "_contact")],
    )
    contacts, q_contacts = c.split(contacts, ORGANISATION, "persons")

    trajectories, d_traj = c.dedupe(raw["trajectories"], ORGANISATION)
    trajectories = c.parse(
        trajectories,
        [
            c.id_field("traject_id", "_id"),
            c.id_field("contact_id", "_contact"),
            *c.span_fields(TRAJECTORIES),
            c.code_field("status", "_reason", STATUSES),
            c.code_field("resultaat", "_outcome", RESULTS),
            c.yes_no_field("bezwaar_onderzoek", "_objects"),
        ],
        [
            c.duplicate_id("traject_id", "_id"),
            c.orphan("contact_id", "_contact", contacts.get_column("_contact"), "contact"),
            c.end_before_start("einddatum", "_end", "_start"),
        ],
    )
    trajectories, q_traj = c.split(trajectories, ORGANISATION, "episodes")

    persons = contacts.select(
        *c.lineage(ORGANISATION),
        pl.col("_contact").alias("source_person_id"),
        pl.col("_bsn").alias("bsn"),
        pl.col("_birth").alias("birth_date"),
        pl.lit(None, pl.Int16).alias("age_at_intake"),
        pl.col("_gender").alias("gender"),
        c.postcode("postcode").alias("postcode"),
        c.house_number_from_address("adres").alias("house_number"),
        pl.lit(None, pl.String).alias("household_type"),
        pl.lit(None, pl.Int16).alias("children_count"),
        pl.lit(None, pl.String).alias("nationality_group"),
    )
    episodes = trajectories.select(
        *c.lineage(ORGANISATION),
        pl.col("_id").alias("episode_id"),
        pl.col("_contact").alias("source_person_id"),
        pl.lit(PROGRAMME).alias("programme"),
        *c.span_columns(),
        pl.col("_outcome").alias("outcome"),
    )
    # Lineage of a health problem: the contact row whose notes say so (one per episode).
    with_notes = contacts.filter(c.text("gezondheid_notities").is_not_null())
    problems = with_notes.join(
        trajectories.select("_contact", "_id"), on="_contact", how="inner", maintain_order="left"
    ).select(
        *c.lineage(ORGANISATION),
        pl.col("_id").alias("episode_id"),
        pl.lit("gezondheid").alias("problem"),
        pl.lit(None, pl.String).alias("status"),
    )
    return AdapterResult(
        organisation=ORGANISATION,
        tables=c.conformed({"persons": persons, "episodes": episodes, "case_problems": problems}),
        quarantine=pl.concat([q_contacts, q_traj]),
        duplicates=pl.concat([d_contacts, d_traj]),
    )
