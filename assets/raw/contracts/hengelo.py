"""Wijkkracht Hengelo (contacts): UTF-8 with byte-order mark, separator ``,``.

contacten (persons) and trajecten (their support trajectories). Column by column:
``assets/raw/FORMATS.md``.
"""

from __future__ import annotations

from assets.raw.contracts.model import YES_NO, Column, Contract, ExportSpec

BIRTH_DATES = ("dd-mm-yyyy", "d-m-yyyy", "yyyy-mm-dd", "dd/mm/yyyy", "d/m/yyyy")
DATES = ("dd-mm-yyyy", "d-m-yyyy")

CONTRACT = Contract(
    organisation="hengelo",
    title="Wijkkracht Hengelo",
    exports=(
        ExportSpec(
            "contacts",
            "contacten*.csv",
            separator=",",
            bom=True,
            description="Wijkkracht Hengelo contacts: one row per person",
            id="contact_id",
            person_key="contact_id",
            columns=(
                Column("contact_id", "id"),
                Column("naam", "identifier"),
                Column("geboortedatum", "date", dates=BIRTH_DATES),  # mixed within one file
                Column("geslacht", "code", codes=("m", "v", "x")),
                Column("telefoon", "identifier"),
                Column("email", "identifier"),
                Column("bsn", "bsn"),
                Column("adres"),  # read for the house number only
                Column("postcode", "postcode"),
                # Free text, read only for whether it is empty (a "gezondheid" case problem);
                # the notes themselves are never copied.
                Column("gezondheid_notities"),
                Column("foto", "identifier"),
            ),
        ),
        ExportSpec(
            "trajectories",
            "trajecten*.csv",
            separator=",",
            bom=True,
            description="Wijkkracht Hengelo support trajectories of the contacts",
            id="traject_id",
            person_key="contact_id",
            columns=(
                Column("traject_id", "id"),
                Column("contact_id", "id"),
                Column("startdatum", "date", dates=DATES),
                Column("einddatum", "date", dates=DATES),
                Column("status", "code", codes=("afgerond", "gestopt", "niet gestart", "lopend")),
                Column(
                    "resultaat",
                    "code",
                    codes=("zelfredzaam", "verbeterd", "gelijk", "verslechterd"),
                ),
                Column("bezwaar_onderzoek", "code", codes=YES_NO),
            ),
        ),
    ),
)
