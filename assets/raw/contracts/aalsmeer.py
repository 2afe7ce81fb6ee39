"""Sociaal team Aalsmeer (household cases): **Latin-1**, separator ``;``.

huishoudens (household cases) and leden (their members; the applicant is the canonical person).
Column by column: ``assets/raw/FORMATS.md``.
"""

from __future__ import annotations

from assets.raw.contracts.model import YES_NO, Column, Contract, ExportSpec

DATES = ("dd/mm/yyyy", "d/m/yyyy")

CONTRACT = Contract(
    organisation="aalsmeer",
    title="Sociaal team Aalsmeer",
    exports=(
        ExportSpec(
            "households",
            "huishoudens*.csv",
            encoding="latin-1",
            separator=";",
            description="Sociaal team Aalsmeer household cases: one row per case",
            id="casus_id",
            person_key="casus_id",
            person_key_of="episode",
            columns=(
                Column("casus_id", "id"),
                Column("startdatum", "date", dates=DATES),
                Column("einddatum", "date", dates=DATES),
                Column(
                    "reden_einde", "code", codes=("afgerond", "geen ondersteuning", "afgebroken")
                ),
                Column(
                    "uitkomst", "code", codes=("doelen behaald", "deels behaald", "niet behaald")
                ),
                Column("netto_inkomen_huishouden", "amount"),
                Column(
                    "inkomstenbron",
                    "code",
                    codes=("bijstand", "loon", "uwv", "aow", "zelfstandig", "geen"),
                ),
                Column("schuld_bedrag", "amount"),
                Column("medische_gegevens", "code", codes=YES_NO),
                Column("woonsituatie", "code", codes=("huur", "koop", "inwonend"), read=False),
                Column("bezwaar", "code", codes=YES_NO),
                Column("ondersteuningsplan", "free_text"),
            ),
        ),
        ExportSpec(
            "members",
            "leden*.csv",
            encoding="latin-1",
            separator=";",
            description="Members of each household case (applicant, partner, children, others)",
            id="lid_id",
            person_key="casus_id",
            person_key_of="episode",
            columns=(
                Column("lid_id", "id"),
                Column("casus_id", "id"),
                Column("rol", "code", codes=("aanvrager", "partner", "kind", "huisgenoot")),
                Column("bsn", "bsn"),
                Column("voornaam", "identifier"),
                Column("achternaam", "identifier"),
                Column("geboortedatum", "date", dates=DATES),
                Column("geslacht", "code", codes=("m", "v")),
                Column("nationaliteit"),  # grouped by the adapter: Dutch, EU, other
                Column("verblijfstitel", "free_text"),
                Column("straat", "identifier"),
                Column("huisnummer"),
                Column("postcode", "postcode"),
            ),
        ),
    ),
)
