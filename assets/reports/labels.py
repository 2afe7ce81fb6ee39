"""Dutch labels and Dutch number formatting for the policymakers' report.

Codes in the research database are English or snake_case (``no_support``, ``sociaal_netwerk``);
policymakers read Dutch. Every label used for a coordinate goes through :func:`coordinate_label`,
so the report's check can rebuild the full vocabulary of table headers from the ledger alone.
"""

from __future__ import annotations

import datetime as dt
import re

from anonymise.tables import TOTAL
from assets.staging.schema import DOMAINS, END_REASONS, ORGANISATIONS, UNKNOWN

DOMAIN_LABELS: dict[str, str] = {
    "wonen": "Wonen",
    "gezin": "Gezin",
    "gezondheid": "Gezondheid",
    "sociaal_netwerk": "Sociaal netwerk",
    "schulden": "Schulden",
    "spaargeld": "Spaargeld",
    "diploma": "Diploma",
    "netto_inkomen": "Netto inkomen",
}
ORGANISATION_LABELS: dict[str, str] = {
    "groningen": "Kansrijk Groningen",
    "zuidplas": "Stichting ZO! Zuidplas",
    "aalsmeer": "Sociaal team Aalsmeer",
    "hengelo": "Wijkkracht Hengelo",
    "breda": "Doorbraakmethode Breda",
}
PROGRAMME_LABELS: dict[str, str] = {
    "kansrijk": "Kansrijk",
    "vroegsignalering": "Vroegsignalering",
    "geldzaken": "Geldzaken",
    "wisselgeldbudget": "Wisselgeldbudget",
    "casusregie_1g1p1r": "Casusregie (1G1P1R)",
    "sociaal_team": "Sociaal team",
    "wijkkracht": "Wijkkracht",
    "doorbraak": "Doorbraakplan",
}
END_REASON_LABELS: dict[str, str] = {
    "completed": "Afgerond",
    "refused": "Geweigerd",
    "aborted": "Voortijdig gestopt",
    "no_support": "Geen ondersteuning",
    "ongoing": "Loopt nog",
}
GOAL_LABELS: dict[str, str] = {"ja": "Doel bereikt", "nee": "Niet bereikt"}
LEVEL_LEGEND = "niveau 1 = crisis, niveau 5 = zelfredzaam"
"""The documented meaning of the Bridge scale's ends (the data dictionary names no others)."""

QUASI_IDENTIFIER_LABELS: dict[str, str] = {
    "age_at_intake": "leeftijd bij instroom",
    "gender": "geslacht",
    "area": "woongebied",
    "household_type": "huishoudtype",
    "children_band": "aantal kinderen (klasse)",
    "nationality_group": "nationaliteitsgroep",
    "organisation": "organisatie",
    "programme": "programma",
    "intake_period": "periode van instroom",
}
DROPPED_COLUMN_LABELS: dict[str, str] = {
    "person_pseudonym": "pseudoniemen van personen (vervangen door nummers die per release "
    "wisselen)",
    "episode_pseudonym": "pseudoniemen van trajecten (idem)",
    "goal_pseudonym": "pseudoniemen van doelen (idem)",
    "birth_year": "geboortejaar (alleen een leeftijdsklasse bij instroom blijft over)",
    "postcode": "postcode (alleen gemeente of wijk blijft over)",
    "start_date": "begindatum van het traject",
    "end_date": "einddatum van het traject",
    "measured_on": "meetdatum (alleen maanden sinds instroom, in klassen)",
    "set_on": "datum waarop een doel is gesteld",
    "achieved_on": "datum waarop een doel is bereikt",
    "debt_amount_eur": "schuldbedrag in euro (alleen een schuldklasse)",
    "creditor_count": "aantal schuldeisers",
    "net_monthly_eur": "netto maandinkomen in euro",
    "value_num": "exacte meetwaarden",
    "objects_to_research": "bezwaarmarkering (personen met bezwaar zijn niet opgenomen)",
}
SENSITIVE_LABELS: dict[str, str] = {
    "debt_band": "schuldklasse",
    "health_flag": "gezondheidsproblematiek",
    "justice_flag": "justitiecontact",
}

SHARE_HIGH_HEADER = "% niveau 4–5"
"""Header of the derived share of persons on level 4 or 5 (the only fixed header with digits)."""
SHARE_HIGH_INTAKE_HEADER = "% niveau 4–5 bij instroom"
SHARE_HIGH_LATEST_HEADER = "% niveau 4–5 laatste meting"
"""Headers of the progress table (the same share at the first and at the latest measurement)."""
FIXED_HEADERS: frozenset[str] = frozenset(
    {SHARE_HIGH_HEADER, SHARE_HIGH_INTAKE_HEADER, SHARE_HIGH_LATEST_HEADER}
)
"""Table headers with digits that are not coordinate labels (the check accepts them)."""
HIGH_LEVELS_PHRASE = "niveau 4 of 5"
"""How the findings name the levels counted in the share (a fixed phrase with digits)."""
FIXED_PHRASES: frozenset[str] = FIXED_HEADERS | {HIGH_LEVELS_PHRASE}
"""Fixed texts with digits a ``label`` figure may show besides coordinate labels."""

ORGANISATION_GEMEENTE: dict[str, str] = {
    "groningen": "GM0014",
    "zuidplas": "GM1892",
    "aalsmeer": "GM0358",
    "hengelo": "GM0164",
    "breda": "GM0758",
}
"""The gemeente each organisation works in (CBS code): tells which organisations' registrations
a table by area can come from (the Bridge tables carry no organisation dimension)."""

_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
_AREA_CODE = re.compile(r"^(GM\d{4}|WK\d{6}|BU\d{8})\s+(.+)$")


def _fallback(code: str) -> str:
    return code.replace("_", " ").strip().capitalize() or code


def domain_label(code: str) -> str:
    """Dutch name of a Bridge life domain (``sociaal_netwerk`` → ``Sociaal netwerk``)."""
    return DOMAIN_LABELS.get(code, _fallback(code))


def organisation_label(code: str) -> str:
    """Dutch name of an organisation code (``zuidplas`` → ``Stichting ZO! Zuidplas``)."""
    return ORGANISATION_LABELS.get(code, _fallback(code))


def area_label(code: str) -> str:
    """An area code as policymakers read it: ``GM0014 Groningen`` → ``Groningen (GM0014)``."""
    m = _AREA_CODE.match(code)
    return f"{m.group(2)} ({m.group(1)})" if m else code


def level_label(code: str) -> str:
    """Column/row label of a Bridge level (``3`` → ``Niveau 3``)."""
    return f"Niveau {code}"


def coordinate_label(dimension: str, code: str) -> str:
    """The Dutch label of one coordinate code of an aggregate table.

    >>> coordinate_label("end_reason", "no_support")
    'Geen ondersteuning'
    >>> coordinate_label("area", "Totaal")
    'Totaal'
    """
    if code == TOTAL:
        return "Totaal"
    if code == UNKNOWN:
        return "Onbekend"
    table = {
        "organisation": ORGANISATION_LABELS,
        "programme": PROGRAMME_LABELS,
        "end_reason": END_REASON_LABELS,
        "goal_reached": GOAL_LABELS,
        "domain": DOMAIN_LABELS,
    }.get(dimension)
    if table is not None:
        return table.get(code, _fallback(code))
    if dimension in ("level", "intake_level"):
        return level_label(code)
    if dimension == "area":
        return area_label(code)
    return code


def order_codes(codes: set[str] | list[str], known: tuple[str, ...]) -> list[str]:
    """Codes in the canonical order of ``known`` first, then the rest alphabetically."""
    present = set(codes)
    return [c for c in known if c in present] + sorted(present - set(known))


def ordered_domains(codes: set[str] | list[str]) -> list[str]:
    """Domains in the instrument's order (wonen … netto inkomen), unknown ones after."""
    return order_codes(codes, DOMAINS)


def ordered_end_reasons(codes: set[str] | list[str]) -> list[str]:
    """End reasons from completed to ongoing, unknown ones after."""
    return order_codes(codes, END_REASONS)


def ordered_organisations(codes: set[str] | list[str], preferred: tuple[str, ...] = ()) -> list:
    """Organisations in the deployment's order (``preferred``), then the canonical order."""
    return order_codes(codes, tuple(dict.fromkeys((*preferred, *ORGANISATIONS))))


def fmt_int(value: float | int) -> str:
    """A count in Dutch style: thousands separated by a point.

    >>> fmt_int(1234567)
    '1.234.567'
    """
    return f"{round(value):,}".replace(",", ".")


def fmt_decimal(value: float, digits: int = 2) -> str:
    """A decimal number with a Dutch decimal comma (no thousands separator).

    >>> fmt_decimal(0.17395, 3)
    '0,174'
    """
    return f"{value:.{digits}f}".replace(".", ",")


def fmt_pct(share: float, digits: int = 1) -> str:
    """A share 0–1 as a Dutch percentage: ``0.3291`` → ``32,9%``.

    >>> fmt_pct(0.3291)
    '32,9%'
    """
    return fmt_decimal(100 * share, digits) + "%"


def fmt_signed_int(value: float | int) -> str:
    """A difference of counts: ``+1.234``, ``−56`` (minus sign), ``0``.

    >>> fmt_signed_int(1234), fmt_signed_int(-56), fmt_signed_int(0)
    ('+1.234', '−56', '0')
    """
    n = round(value)
    return ("+" if n > 0 else "−" if n < 0 else "") + fmt_int(abs(n))


def fmt_signed_points(difference: float) -> str:
    """A difference of two shares (0–1) in percentage points, one decimal: ``+2,1``, ``−0,4``.

    >>> fmt_signed_points(0.0213), fmt_signed_points(-0.004), fmt_signed_points(0.00004)
    ('+2,1', '−0,4', '0,0')
    """
    text = fmt_decimal(abs(100 * difference), 1)
    if text.strip("0,") == "":
        return "0,0"
    return ("+" if difference > 0 else "−") + text


def parse_int(text: str) -> int | None:
    """A Dutch-style count back to a number (``1.234`` → 1234); ``None`` when it is not one.

    >>> parse_int("1.234"), parse_int("×")
    (1234, None)
    """
    digits = text.replace(".", "")
    return int(digits) if digits.isdigit() else None


def fmt_date(value: dt.date | dt.datetime) -> str:
    """A date in words: ``23 november 2026``."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
