"""Doorbraakmethode Breda (doorbraakplannen): UTF-8, separator ``;``.

doorbraakplannen: one row per household plan (one applicant). Column by column:
``assets/raw/FORMATS.md``.
"""

from __future__ import annotations

from assets.raw.contracts.model import AGE_RANGE, YES_NO, Column, Contract, ExportSpec

DATES = ("yyyy-mm-dd",)

CONTRACT = Contract(
    organisation="breda",
    title="Doorbraakmethode Breda",
    exports=(
        ExportSpec(
            "plans",
            "doorbraakplannen*.csv",
            separator=";",
            description="Doorbraakmethode Breda plans: one row per household plan",
            id="plan_id",
            person_key="plan_id",
            columns=(
                Column("plan_id", "id"),
                Column("bsn", "bsn"),
                Column("geslacht", "code", codes=("m", "v")),
                Column("leeftijd", "integer", range=AGE_RANGE),  # age at the start
                Column("postcode", "postcode"),
                Column("inkomstenbronnen", "list", pattern=r"^[a-z_ ]+(?:\s*\|\s*[a-z_ ]+)*$"),
                Column("beroep", "free_text"),
                Column("werkverleden", "free_text"),
                Column("schulden_totaal", "amount"),
                Column("kinderen_leeftijden", "list", pattern=r"^\d{1,2}(?:\s*\|\s*\d{1,2})*$"),
                Column("probleemomschrijving", "free_text"),
                Column(
                    "schuldhulpverlening", "code", codes=("geen", "aangemeld", "lopend", "afgerond")
                ),
                Column("beschermingsbewind", "code", codes=YES_NO),
                Column("justitie", "code", codes=YES_NO),
                Column("ggz", "code", codes=YES_NO),
                Column("plankosten", "amount"),
                Column("doorbraak_bereikt", "code", codes=YES_NO),
                Column("startdatum", "date", dates=DATES),
                Column("einddatum", "date", dates=DATES),
                Column("reden_einde", "code", codes=("afgerond", "afgebroken", "niet gestart")),
                Column("bezwaar", "code", codes=YES_NO),
            ),
        ),
    ),
)
