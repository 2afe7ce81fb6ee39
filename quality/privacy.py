"""Privacy checks on frames that leave the steward's identifying layers.

``find_direct_identifiers`` scans column names and values for what must never reach the
pseudonymised layer or anything after it: names, addresses, postcode + house number, BSNs,
e-mail addresses, phone numbers, dossier/client ids, buddy data and free text. Findings name the
table, column, rule and how many values matched — never a value.

Values are scanned once per distinct value (with its number of occurrences), not once per row:
a 28 M-row table of scores has about a million distinct episode pseudonyms and eight domains, so
the regexes run on a few percent of the rows while every count stays exact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import polars as pl

from anonymise.bsn import is_valid_bsn
from quality.outcome import CheckOutcome

# Column names (snake_case, Dutch and English) that denote a direct identifier or free text.
IDENTIFIER_COLUMN = re.compile(
    r"(^|_)(naam|name|voornaam|achternaam|tussenvoegsel|voorletters|adres|address|straat|street"
    r"|huisnummer|house_number|woonplaats|email|e_mail|mail|telefoon|phone|mobiel|bsn"
    r"|dossier\w*|client\w*|clientnummer|contact_id|deelnemer_id|source_person_id|buddy\w*"
    r"|notitie\w*|notes?|omschrijving|beschrijving|description|toelichting|opmerking\w*"
    r"|doel|actie|uitdaging|wie_helpt|ondersteuningsplan|foto|photo|iban|geboortedatum"
    r"|birth_date|source_file|source_row|werkverleden|beroep)($|_)",
    re.IGNORECASE,
)

EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
PHONE = r"^(\+31|0031|0)[\s\-()]*([1-9][\s\-()]*)(\d[\s\-()]*){7,8}$"
POSTCODE_HOUSE_NUMBER = r"^[1-9]\d{3}\s?[A-Za-z]{2}[\s,]+\d{1,5}\s?[A-Za-z]?$"
PC6 = r"^[1-9]\d{3}\s?[A-Za-z]{2}$"
FREE_TEXT = r"\S+\s+\S+\s+\S+\s+\S+"  # four or more words

_VALUE_RULES: dict[str, pl.Expr] = {
    "bsn_value": is_valid_bsn(pl.col("_v").str.strip_chars()),
    "email_value": pl.col("_v").str.contains(EMAIL),
    "phone_value": pl.col("_v").str.strip_chars().str.contains(PHONE),
    "postcode_house_number_value": pl.col("_v")
    .str.strip_chars()
    .str.contains(POSTCODE_HOUSE_NUMBER),
    "free_text_value": pl.col("_v").str.contains(FREE_TEXT),
}


def scan_frame(
    df: pl.DataFrame,
    *,
    table: str,
    allow_pc6: bool = True,
) -> list[dict[str, object]]:
    """Findings for one frame: ``[{table, column, rule, matches}]`` (empty when clean).

    String and integer columns are scanned (a BSN stored as an integer is still a BSN). With
    ``allow_pc6=False`` a bare six-character postcode is a finding too (for research marts, which
    must hold areas, not addresses).

    Examples
    --------
    >>> import polars as pl
    >>> scan_frame(pl.DataFrame({"age": [30], "contact": ["a@b.nl"]}), table="t")
    [{'table': 't', 'column': 'contact', 'rule': 'email_value', 'matches': 1}]
    """
    findings: list[dict[str, object]] = []
    for col, dtype in df.schema.items():
        if IDENTIFIER_COLUMN.search(col):
            findings.append(
                {
                    "table": table,
                    "column": col,
                    "rule": "identifier_column_name",
                    "matches": df.height,
                }
            )
        if dtype == pl.String:
            # distinct values with their frequency: the rules run once per value, counts exact
            values = (
                df.lazy()
                .select(pl.col(col).alias("_v"))
                .drop_nulls()
                .group_by("_v")
                .agg(pl.len().alias("_n"))
                .collect()
            )
        elif dtype.is_integer():
            # A BSN stored as a number has 8 or 9 digits (a leading zero is lost); smaller
            # integers (ages, years, counts) zero-padded would pass the 11-proef by accident.
            candidates = (
                df.lazy()
                .select(pl.col(col).alias("_v"))
                .filter(pl.col("_v").is_between(10_000_000, 999_999_999))
                .group_by("_v")
                .agg(pl.len().alias("_n"))
                .collect()
            )
            n = int(
                candidates.select(
                    (
                        is_valid_bsn(pl.col("_v").cast(pl.String).str.zfill(9)).cast(pl.Int64)
                        * pl.col("_n")
                    ).sum()
                ).item()
            )
            if n:
                findings.append({"table": table, "column": col, "rule": "bsn_value", "matches": n})
            continue
        else:
            continue
        if values.is_empty():
            continue
        rules = dict(_VALUE_RULES)
        if not allow_pc6:
            rules["pc6_value"] = pl.col("_v").str.strip_chars().str.contains(PC6)
        counts = values.select(
            [
                (e.fill_null(False).cast(pl.Int64) * pl.col("_n")).sum().alias(name)
                for name, e in rules.items()
            ]
        ).row(0, named=True)
        for rule, n in counts.items():
            if n:
                findings.append({"table": table, "column": col, "rule": rule, "matches": int(n)})
    return findings


def check_no_direct_identifiers(
    frames: Mapping[str, pl.DataFrame], *, allow_pc6: bool = True
) -> CheckOutcome:
    """Blocking check: no column name or value in any frame looks like a direct identifier."""
    findings = [
        f for name, df in frames.items() for f in scan_frame(df, table=name, allow_pc6=allow_pc6)
    ]
    if not findings:
        return CheckOutcome(
            True,
            f"No direct identifier or free text found in {len(frames)} table(s).",
            {"tables": sorted(frames), "findings": []},
        )
    where = ", ".join(
        f"{f['table']}.{f['column']} ({f['rule']}, {f['matches']}x)" for f in findings[:10]
    )
    return CheckOutcome(
        False,
        f"Direct identifiers or free text found: {where}.",
        {"tables": sorted(frames), "findings": findings},
    )
