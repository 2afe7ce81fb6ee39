"""The landing export formats: the contract of the files each organisation delivers.

For every (organisation, export) — the export name is the adapters' ``ExportSpec.name`` — the
full, ordered column list of the export's header as the organisation delivers it (described
column by column in ``assets/raw/FORMATS.md``). This is the one place those lists are written:

* the synthetic generator (``synthetic/``) writes its files with exactly these headers;
* the raw expectation suites (``assets/raw/suite.py``) require exactly these columns;
* each adapter (``assets/staging/adapters/``) reads this list minus the columns it never loads
  (names, contact details, free text …), stated with :func:`columns_read`.

A real export that differs is a change here (and in FORMATS.md), then in the adapter's mapping.
Standard library only: the synthetic generator imports this without pulling in the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

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
"""The eight Bridge domain columns of Groningen's measurements, one level (1–5) each."""

FORMATS: Mapping[tuple[str, str], tuple[str, ...]] = MappingProxyType(
    {
        ("groningen", "participants"): (  # deelnemers*.csv
            "deelnemer_id",
            "voornaam",
            "tussenvoegsel",
            "achternaam",
            "straat",
            "huisnummer",
            "postcode",
            "woonplaats",
            "geboortedatum",
            "leeftijd_bij_intake",
            "geslacht",
            "bsn",
            "email",
            "telefoon",
            "wij_dossiernummer",
            "buddy_id",
            "huishouden",
            "aantal_kinderen",
            "startdatum",
            "einddatum",
            "reden_einde",
            "bezwaar_onderzoek",
        ),
        ("groningen", "buddies"): (  # buddies*.csv
            "buddy_id",
            "voornaam",
            "tussenvoegsel",
            "achternaam",
            "straat",
            "huisnummer",
            "postcode",
            "woonplaats",
            "email",
        ),
        ("groningen", "measurements"): (  # metingen*.csv
            "meting_id",
            "deelnemer_id",
            "meetdatum",
            *BRIDGE_DOMAINS,
        ),
        ("groningen", "goals"): (  # doelen*.csv
            "doel_id",
            "deelnemer_id",
            "pijler",
            "doel",
            "actie",
            "uitdaging",
            "wie_helpt",
            "datum_gesteld",
            "datum_behaald",
            "vertrouwen",
        ),
        ("zuidplas", "registrations"): (  # registraties*.csv
            "registratie_id",
            "clientnummer",
            "bsn",
            "naam",
            "adres",
            "postcode",
            "woonplaats",
            "geboortedatum",
            "geslacht",
            "gezinssamenstelling",
            "aantal_kinderen",
            "proces",
            "achterstand_bedrag",
            "aantal_schuldeisers",
            "startdatum",
            "einddatum",
            "resultaat",
            "bezwaar",
            "notitie",
        ),
        ("aalsmeer", "households"): (  # huishoudens*.csv
            "casus_id",
            "startdatum",
            "einddatum",
            "reden_einde",
            "uitkomst",
            "netto_inkomen_huishouden",
            "inkomstenbron",
            "schuld_bedrag",
            "medische_gegevens",
            "woonsituatie",
            "bezwaar",
            "ondersteuningsplan",
        ),
        ("aalsmeer", "members"): (  # leden*.csv
            "lid_id",
            "casus_id",
            "rol",
            "bsn",
            "voornaam",
            "achternaam",
            "geboortedatum",
            "geslacht",
            "nationaliteit",
            "verblijfstitel",
            "straat",
            "huisnummer",
            "postcode",
        ),
        ("hengelo", "contacts"): (  # contacten*.csv
            "contact_id",
            "naam",
            "geboortedatum",
            "geslacht",
            "telefoon",
            "email",
            "bsn",
            "adres",
            "postcode",
            "gezondheid_notities",
            "foto",
        ),
        ("hengelo", "trajectories"): (  # trajecten*.csv
            "traject_id",
            "contact_id",
            "startdatum",
            "einddatum",
            "status",
            "resultaat",
            "bezwaar_onderzoek",
        ),
        ("breda", "plans"): (  # doorbraakplannen*.csv
            "plan_id",
            "bsn",
            "geslacht",
            "leeftijd",
            "postcode",
            "inkomstenbronnen",
            "beroep",
            "werkverleden",
            "schulden_totaal",
            "kinderen_leeftijden",
            "probleemomschrijving",
            "schuldhulpverlening",
            "beschermingsbewind",
            "justitie",
            "ggz",
            "plankosten",
            "doorbraak_bereikt",
            "startdatum",
            "einddatum",
            "reden_einde",
            "bezwaar",
        ),
    }
)
"""(organisation, export name) -> the export's columns, in the order of its header."""


def export_columns(organisation: str, export: str) -> tuple[str, ...]:
    """The full, ordered column tuple of one export; ValueError for an unknown export.

    >>> export_columns("hengelo", "trajectories")[:2]
    ('traject_id', 'contact_id')
    """
    try:
        return FORMATS[organisation, export]
    except KeyError:
        known = ", ".join(f"{o}/{e}" for o, e in FORMATS)
        raise ValueError(f"no landing format for {organisation}/{export}; known: {known}") from None


def columns_read(organisation: str, export: str, *, without: Iterable[str] = ()) -> tuple[str, ...]:
    """The export's columns in header order, minus ``without`` (the columns a reader never loads).

    Every name in ``without`` must be a column of the format: a typo raises ValueError instead of
    silently keeping the column it meant to drop.

    >>> columns_read("hengelo", "trajectories", without=("status", "resultaat"))
    ('traject_id', 'contact_id', 'startdatum', 'einddatum', 'bezwaar_onderzoek')
    """
    columns = export_columns(organisation, export)
    # A bare string would be read as its characters; say so rather than report odd "columns".
    if isinstance(without, str):
        raise ValueError(f"without must be a collection of column names, not the str {without!r}")
    dropped = tuple(without)
    unknown = [c for c in dropped if c not in columns]
    if unknown:
        raise ValueError(
            f"{organisation}/{export} has no column(s) {unknown} to leave out; "
            f"its columns are {list(columns)} (assets/raw/formats.py)"
        )
    return tuple(c for c in columns if c not in dropped)
