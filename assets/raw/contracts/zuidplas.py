"""Stichting ZO! Zuidplas (register of processes): UTF-8, separator ``,``.

registraties: one row per person per process. Column by column: ``assets/raw/FORMATS.md``.
"""

from __future__ import annotations

from assets.raw.contracts.model import CHILDREN_RANGE, CREDITORS_RANGE, Column, Contract, ExportSpec

DATES = ("yyyy-mm-dd",)

CONTRACT = Contract(
    organisation="zuidplas",
    title="Stichting ZO! Zuidplas",
    exports=(
        ExportSpec(
            "registrations",
            "registraties*.csv",
            separator=",",
            description="ZO! Zuidplas registrations: one row per person per process",
            id="registratie_id",
            person_key="clientnummer",
            columns=(
                Column("registratie_id", "id"),
                Column("clientnummer", "id"),
                Column("bsn", "bsn"),
                Column("naam", "identifier"),
                Column("adres"),  # read for the house number only
                Column("postcode", "postcode"),
                Column(
                    "woonplaats",
                    "code",
                    codes=(
                        "nieuwerkerk aan den ijssel",
                        "moordrecht",
                        "zevenhuizen",
                        "moerkapelle",
                    ),
                    read=False,  # the postcode says more; not mapped
                ),
                Column("geboortedatum", "date", dates=DATES),
                Column("geslacht", "code", codes=("man", "vrouw", "onbekend")),
                Column(
                    "gezinssamenstelling",
                    "code",
                    codes=(
                        "alleenstaand",
                        "eenoudergezin",
                        "samenwonend zonder kinderen",
                        "gezin met kinderen",
                        "anders",
                    ),
                ),
                Column("aantal_kinderen", "integer", range=CHILDREN_RANGE),
                Column(
                    "proces",
                    "code",
                    codes=(
                        "vroegsignalering",
                        "geldzaken",
                        "wisselgeldbudget",
                        "1g1p1r casusregie",
                    ),
                ),
                Column("achterstand_bedrag", "amount"),  # only Vroegsignalering
                Column("aantal_schuldeisers", "integer", range=CREDITORS_RANGE),
                Column("startdatum", "date", dates=DATES),
                Column("einddatum", "date", dates=DATES),
                Column(
                    "resultaat",
                    "code",
                    codes=("opgelost", "doorverwezen", "geen contact", "gestopt"),
                ),
                Column("bezwaar", "code", codes=("j", "n")),
                Column("notitie", "free_text"),
            ),
        ),
    ),
)
