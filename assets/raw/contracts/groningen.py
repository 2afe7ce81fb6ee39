"""Kansrijk Groningen (Bridge instrument supplier): UTF-8, separator ``;``.

deelnemers (participant trajectories), buddies (never staged), metingen (Bridge measurements),
doelen (goals of the "Mijn Doel-Actieplan"). Column by column: ``assets/raw/FORMATS.md``.
"""

from __future__ import annotations

from assets.raw.contracts.model import (
    AGE_RANGE,
    CHILDREN_RANGE,
    CONFIDENCE_RANGE,
    LEVEL_RANGE,
    YES_NO,
    Column,
    Contract,
    ExportSpec,
)

BRIDGE_DOMAINS = (
    "wonen",
    "gezin",
    "gezondheid",
    "sociaal_netwerk",
    "schulden",
    "spaargeld",
    "diploma",
    "netto_inkomen",
)
"""The eight Bridge domain columns of the measurements, one level (1–5) each."""

DATES = ("dd-mm-yyyy", "d-m-yyyy")
MEASUREMENT_DATES = ("dd-mm-yyyy", "d-m-yyyy", "yyyy-mm-dd")  # mixed within one file

CONTRACT = Contract(
    organisation="groningen",
    title="Kansrijk Groningen",
    exports=(
        ExportSpec(
            "participants",
            "deelnemers*.csv",
            separator=";",
            description="Kansrijk participants: one row per participant trajectory "
            "(person + episode)",
            id="deelnemer_id",
            person_key="deelnemer_id",
            columns=(
                Column("deelnemer_id", "id"),
                Column("voornaam", "identifier"),
                Column("tussenvoegsel", "identifier"),
                Column("achternaam", "identifier"),
                Column("straat", "identifier"),
                Column("huisnummer"),
                Column("postcode", "postcode"),
                Column("woonplaats", "identifier"),
                Column("geboortedatum", "date", dates=DATES),
                Column("leeftijd_bij_intake", "integer", range=AGE_RANGE),
                Column("geslacht", "code", codes=("m", "v", "x")),
                Column("bsn", "bsn"),
                Column("email", "identifier"),
                Column("telefoon", "identifier"),
                Column("wij_dossiernummer", "identifier"),
                Column("buddy_id", "identifier"),  # links the participant to a named volunteer
                Column("huishouden", "code", codes=("al", "eo", "pzk", "pmk", "ov")),
                Column("aantal_kinderen", "integer", range=CHILDREN_RANGE),
                Column("startdatum", "date", dates=DATES),
                Column("einddatum", "date", dates=DATES),
                Column("reden_einde", "code", codes=("afgerond", "geweigerd", "afgebroken")),
                Column("bezwaar_onderzoek", "code", codes=YES_NO),
            ),
        ),
        ExportSpec(
            "buddies",
            "buddies*.csv",
            separator=";",
            description="Kansrijk buddies (volunteers): never staged, withheld by design",
            id="buddy_id",
            staged=False,  # only counted per file
            columns=(
                Column("buddy_id", "id"),
                Column("voornaam", "identifier"),
                Column("tussenvoegsel", "identifier"),
                Column("achternaam", "identifier"),
                Column("straat", "identifier"),
                Column("huisnummer"),
                Column("postcode", "postcode"),
                Column("woonplaats", "identifier"),
                Column("email", "identifier"),
            ),
        ),
        ExportSpec(
            "measurements",
            "metingen*.csv",
            separator=";",
            description="Bridge measurements: one row per moment with the levels of all 8 domains",
            id="meting_id",
            person_key="deelnemer_id",
            priority=10,  # the largest export: loaded first
            columns=(
                Column("meting_id", "id"),
                Column("deelnemer_id", "id"),
                Column("meetdatum", "date", dates=MEASUREMENT_DATES),
                *(Column(d, "level", range=LEVEL_RANGE) for d in BRIDGE_DOMAINS),
            ),
        ),
        ExportSpec(
            "goals",
            "doelen*.csv",
            separator=";",
            description="Goals of the 'Mijn Doel-Actieplan' (free text stays in raw)",
            id="doel_id",
            person_key="deelnemer_id",
            columns=(
                Column("doel_id", "id"),
                Column("deelnemer_id", "id"),
                Column("pijler", "code", codes=tuple(d.replace("_", " ") for d in BRIDGE_DOMAINS)),
                Column("doel", "free_text"),
                Column("actie", "free_text"),
                Column("uitdaging", "free_text"),
                Column("wie_helpt", "free_text"),
                Column("datum_gesteld", "date", dates=DATES),
                Column("datum_behaald", "date", dates=DATES),
                Column("vertrouwen", "integer", range=CONFIDENCE_RANGE),
            ),
        ),
    ),
)
