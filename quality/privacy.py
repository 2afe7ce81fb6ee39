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
from collections.abc import Collection, Mapping

import duckdb
import polars as pl

from anonymise.bsn import is_valid_bsn
from quality.outcome import CheckOutcome

# Column names (snake_case, Dutch and English) that denote a direct identifier or free text.
# Every export contract column of kind id, bsn, identifier or free_text must match (quality may
# not import the contracts: tests/quality/test_privacy.py holds the two together).
IDENTIFIER_COLUMN = re.compile(
    r"(^|_)(naam|name|voornaam|achternaam|tussenvoegsel|voorletters|adres|address|straat|street"
    r"|huisnummer|house_number|woonplaats|email|e_mail|mail|telefoon|phone|mobiel|bsn"
    r"|dossier\w*|client\w*|clientnummer|contact_id|deelnemer_id|source_person_id|buddy\w*"
    r"|(?:meting|registratie|casus|lid|traject|plan)_id"
    r"|notitie\w*|notes?|\w*omschrijving|beschrijving|description|toelichting|opmerking\w*"
    r"|doel|actie|uitdaging|wie_helpt|ondersteuningsplan|foto|photo|iban|geboortedatum"
    r"|birth_date|source_file|source_row|werkverleden|beroep|verblijfstitel)($|_)",
    re.IGNORECASE,
)

# The value rules: the one rule set of the project. Non-capturing groups only (pandas warns on
# capturing groups in str.contains) and RE2-compatible (DuckDB runs them too).
EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
PHONE = r"^\s*(?:\+31|0031|0)[\s\-()]*[1-9](?:[\s\-()]*\d){7,8}[\s\-()]*$"
POSTCODE_HOUSE_NUMBER = r"^[1-9]\d{3}\s?[A-Za-z]{2}[\s,]+\d{1,5}\s?[A-Za-z]?$"
PC6 = r"^\s*[1-9][0-9]{3}\s?[A-Za-z]{2}\s*$"
FREE_TEXT = r"\S+\s+\S+\s+\S+\s+\S+"  # four or more words
NINE_DIGITS = r"^\s*\d{9}\s*$"
"""Any nine digits: the research database's stricter BSN rule (no 11-proef needed there)."""

RESEARCH_VALUE_PATTERNS: dict[str, str] = {
    "bsn_like": NINE_DIGITS,
    "email_like": EMAIL,
    "phone_like": PHONE,
    "pc6_like": PC6,
}
"""The research database's value rules (Great Expectations regexes, also run by DuckDB): the
same rules as the steward layers', stricter on BSNs and with PC6 postcodes forbidden."""

_VALUE_RULES: dict[str, pl.Expr] = {
    "bsn_value": is_valid_bsn(pl.col("_v").str.strip_chars()),
    "email_value": pl.col("_v").str.contains(EMAIL),
    "phone_value": pl.col("_v").str.strip_chars().str.contains(PHONE),
    "postcode_house_number_value": pl.col("_v")
    .str.strip_chars()
    .str.contains(POSTCODE_HOUSE_NUMBER),
    "free_text_value": pl.col("_v").str.contains(FREE_TEXT),
}


def _string_findings(
    values: pl.DataFrame, *, table: str, column: str, allow_pc6: bool
) -> list[dict[str, object]]:
    """Findings for one text column from its distinct values ``_v`` and their counts ``_n``."""
    if values.is_empty():
        return []
    rules = dict(_VALUE_RULES)
    if not allow_pc6:
        rules["pc6_value"] = pl.col("_v").str.strip_chars().str.contains(PC6)
    bsn = rules.pop("bsn_value")
    counts = values.select(
        [
            (e.fill_null(False).cast(pl.Int64) * pl.col("_n")).sum().alias(name)
            for name, e in rules.items()
        ]
    ).row(0, named=True)
    # The 11-proef only on the values of nine characters (the rule needs nine digits): the same
    # count, without its digit arithmetic on a million 32-character pseudonyms.
    nine = values.filter(pl.col("_v").str.strip_chars().str.len_chars() == 9)
    counts = {
        "bsn_value": nine.select((bsn.fill_null(False).cast(pl.Int64) * pl.col("_n")).sum()).item(),
        **counts,
    }
    return [
        {"table": table, "column": column, "rule": rule, "matches": int(n)}
        for rule, n in counts.items()
        if n
    ]


def _integer_findings(
    candidates: pl.DataFrame, *, table: str, column: str
) -> list[dict[str, object]]:
    """BSN findings for one integer column from its distinct values between 10,000,000 and
    999,999,999 (``_v``) and their counts (``_n``)."""
    if candidates.is_empty():
        return []
    n = int(
        candidates.select(
            (
                is_valid_bsn(pl.col("_v").cast(pl.String).str.zfill(9)).cast(pl.Int64)
                * pl.col("_n")
            ).sum()
        ).item()
    )
    return [{"table": table, "column": column, "rule": "bsn_value", "matches": n}] if n else []


def _name_finding(table: str, column: str, rows: int) -> list[dict[str, object]]:
    if IDENTIFIER_COLUMN.search(column):
        rule = "identifier_column_name"
        return [{"table": table, "column": column, "rule": rule, "matches": rows}]
    return []


def scan_frame(
    df: pl.DataFrame,
    *,
    table: str,
    allow_pc6: bool = True,
    vocabulary: Mapping[str, Collection[str]] | None = None,
) -> list[dict[str, object]]:
    """Findings for one frame: ``[{table, column, rule, matches}]`` (empty when clean).

    ``vocabulary``: per column, values that are the deployment's own codes (generalised
    hierarchy levels such as kern names), not data from an export; they are not scanned.

    String (and categorical) and integer columns are scanned (a BSN stored as an integer is
    still a BSN). With ``allow_pc6=False`` a bare six-character postcode is a finding too (for
    research marts, which must hold areas, not addresses).

    Examples
    --------
    >>> import polars as pl
    >>> scan_frame(pl.DataFrame({"age": [30], "contact": ["a@b.nl"]}), table="t")
    [{'table': 't', 'column': 'contact', 'rule': 'email_value', 'matches': 1}]
    """
    findings: list[dict[str, object]] = []
    for col, dtype in df.schema.items():
        findings += _name_finding(table, col, df.height)
        if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
            # distinct values with their frequency: the rules run once per value, counts exact
            values = (
                df.lazy()
                .select(pl.col(col).cast(pl.String).alias("_v"))
                .drop_nulls()
                .group_by("_v")
                .agg(pl.len().alias("_n"))
                .collect()
            )
            known = (vocabulary or {}).get(col)
            if known:
                values = values.filter(~pl.col("_v").is_in(list(known)))
            findings += _string_findings(values, table=table, column=col, allow_pc6=allow_pc6)
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
            findings += _integer_findings(candidates, table=table, column=col)
    return findings


_DUCKDB_INTEGERS = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
    }
)


def scan_table(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    *,
    table: str,
    allow_pc6: bool = True,
) -> list[dict[str, object]]:
    """:func:`scan_frame` for a table in DuckDB (``relation``, e.g. ``pseudonymised.goals``):
    the same rules and exact counts, with the distinct values and their frequencies counted by
    DuckDB, so a 28 M-row table is never copied into Python. Text and ENUM columns are scanned
    as text, integer columns for BSNs."""
    rows = con.execute(f"select count(*) from {relation}").fetchone()[0]
    findings: list[dict[str, object]] = []
    for col, dtype, *_ in con.execute(f"describe {relation}").fetchall():
        findings += _name_finding(table, col, rows)
        quoted = '"' + col.replace('"', '""') + '"'
        if dtype == "VARCHAR" or dtype.startswith("ENUM("):
            values = con.execute(
                f"select {quoted}::varchar as _v, count(*) as _n from {relation} "
                f"where {quoted} is not null group by all"
            ).pl()
            findings += _string_findings(values, table=table, column=col, allow_pc6=allow_pc6)
        elif dtype in _DUCKDB_INTEGERS:
            candidates = con.execute(
                f"select {quoted} as _v, count(*) as _n from {relation} "
                f"where {quoted} between 10000000 and 999999999 group by all"
            ).pl()
            findings += _integer_findings(candidates, table=table, column=col)
    return findings


def _outcome(findings: list[dict[str, object]], tables: list[str]) -> CheckOutcome:
    if not findings:
        return CheckOutcome(
            True,
            f"No direct identifier or free text found in {len(tables)} table(s).",
            {"tables": sorted(tables), "findings": []},
        )
    where = ", ".join(
        f"{f['table']}.{f['column']} ({f['rule']}, {f['matches']}x)" for f in findings[:10]
    )
    return CheckOutcome(
        False,
        f"Direct identifiers or free text found: {where}.",
        {"tables": sorted(tables), "findings": findings},
    )


def check_no_direct_identifiers(
    frames: Mapping[str, pl.DataFrame],
    *,
    allow_pc6: bool = True,
    vocabulary: Mapping[str, Collection[str]] | None = None,
) -> CheckOutcome:
    """Blocking check: no column name or value in any frame looks like a direct identifier
    (values of ``vocabulary``, the deployment's own codes per column, excepted)."""
    findings = [
        f
        for name, df in frames.items()
        for f in scan_frame(df, table=name, allow_pc6=allow_pc6, vocabulary=vocabulary)
    ]
    return _outcome(findings, list(frames))


def check_tables_no_direct_identifiers(
    con: duckdb.DuckDBPyConnection, tables: Mapping[str, str], *, allow_pc6: bool = True
) -> CheckOutcome:
    """:func:`check_no_direct_identifiers` for DuckDB tables (name -> relation), counted in SQL."""
    findings = [
        f
        for name, relation in tables.items()
        for f in scan_table(con, relation, table=name, allow_pc6=allow_pc6)
    ]
    return _outcome(findings, list(tables))
