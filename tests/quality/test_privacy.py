"""The direct-identifier check catches planted identifiers and passes clean pseudonymised data."""

import re

import polars as pl

from anonymise.pseudonym import pseudonym
from assets.raw.contracts import CONTRACTS  # tests may import upwards; quality may not
from quality.privacy import IDENTIFIER_COLUMN, check_no_direct_identifiers, scan_frame

KEY = bytes(32)


def _clean() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_pseudonym": [pseudonym(str(i), key=KEY, domain="bsn:v1:") for i in range(4)],
            "organisation": ["groningen", "breda", "breda", "hengelo"],
            "postcode": ["9711AB", "4811CD", None, "7551EF"],
            "age_at_intake": [34, 51, 28, 60],
            "outcome": ["doelen_behaald", None, "verbeterd", "gelijk"],
            "debt_amount_eur": [1200.0, 0.0, 15000.5, None],
        }
    )


def test_clean_pseudonymised_frame_passes() -> None:
    outcome = check_no_direct_identifiers({"pseudonymised_persons": _clean()})
    assert outcome.passed, outcome.description


def test_planted_email_column_is_caught_by_name_and_value() -> None:
    df = _clean().with_columns(contact=pl.lit("j.jansen@example.nl"))
    outcome = check_no_direct_identifiers({"t": df})
    assert not outcome.passed
    rules = {(f["column"], f["rule"]) for f in outcome.details["findings"]}
    assert ("contact", "email_value") in rules
    renamed = _clean().with_columns(email=pl.lit(None, pl.String))
    assert ("email", "identifier_column_name") in {
        (f["column"], f["rule"]) for f in scan_frame(renamed, table="t")
    }


def test_planted_bsn_value_is_caught_in_string_and_integer_columns() -> None:
    as_text = _clean().with_columns(
        outcome=pl.Series(["doelen_behaald", "111222333", None, "gelijk"])
    )
    as_int = _clean().with_columns(ref=pl.Series([1, 2, 111222333, 4]))
    for df, col in ((as_text, "outcome"), (as_int, "ref")):
        outcome = check_no_direct_identifiers({"t": df})
        assert not outcome.passed
        assert {"table": "t", "column": col, "rule": "bsn_value", "matches": 1} in outcome.details[
            "findings"
        ]


def test_phone_address_and_free_text_values_are_caught() -> None:
    df = _clean().with_columns(
        a=pl.Series(["06-12345678", None, None, None]),
        b=pl.Series([None, "9711 AB 12", None, None]),
        c=pl.Series([None, None, "heeft veel stress door de schulden", None]),
    )
    found = {(f["column"], f["rule"]) for f in scan_frame(df, table="t")}
    assert {
        ("a", "phone_value"),
        ("b", "postcode_house_number_value"),
        ("c", "free_text_value"),
    } <= found


def test_findings_and_description_never_contain_the_values() -> None:
    df = _clean().with_columns(x=pl.Series(["111222333", "a@b.nl", None, None]))
    outcome = check_no_direct_identifiers({"t": df})
    text = outcome.description + repr(outcome.details)
    assert "111222333" not in text and "a@b.nl" not in text


def test_pc6_is_a_finding_only_where_areas_are_required() -> None:
    assert check_no_direct_identifiers({"t": _clean()}).passed
    assert not check_no_direct_identifiers({"t": _clean()}, allow_pc6=False).passed


def test_ages_years_and_counts_are_not_mistaken_for_bsns() -> None:
    # 1972 zero-padded is 000001972, which passes the 11-proef; it is a year, not a BSN.
    df = pl.DataFrame({"birth_year": [1972, 1966], "age_at_intake": [19, 52], "n": [0, 8]})
    assert check_no_direct_identifiers({"t": df}).passed


PERSONAL_KINDS = ("id", "bsn", "identifier", "free_text")


def _unmatched_personal_columns(pattern: re.Pattern[str]) -> set[tuple[str, str, str]]:
    """(organisation, export, column) of every contract column of a personal kind (source id,
    BSN, name / address / phone / e-mail, free text) whose delivered or staged name ``pattern``
    does not flag."""
    return {
        (organisation, export.name, name)
        for organisation, contract in CONTRACTS.items()
        for export in contract.exports
        for column in export.columns
        if column.kind in PERSONAL_KINDS
        for name in {column.name, column.staged_name}
        if not pattern.search(name)
    }


def test_every_personal_contract_column_is_flagged_by_name() -> None:
    assert _unmatched_personal_columns(IDENTIFIER_COLUMN) == set()


def test_personal_column_check_catches_a_pattern_that_misses_free_text() -> None:
    """Positive control: the scan's pattern before verblijfstitel, probleemomschrijving and the
    source row ids were added fails the contract check, naming those columns."""
    old = re.compile(
        IDENTIFIER_COLUMN.pattern.replace(r"|(?:meting|registratie|casus|lid|traject|plan)_id", "")
        .replace(r"\w*omschrijving", "omschrijving")
        .replace("|verblijfstitel", ""),
        re.IGNORECASE,
    )
    assert old.pattern != IDENTIFIER_COLUMN.pattern
    missed = {column for _, _, column in _unmatched_personal_columns(old)}
    assert {"verblijfstitel", "probleemomschrijving", "casus_id", "plan_id"} <= missed
    # the scan itself: a frame leaving the steward layers with such a column is a finding
    leaked = _clean().with_columns(probleemomschrijving=pl.lit(None, pl.String))
    assert ("probleemomschrijving", "identifier_column_name") in {
        (f["column"], f["rule"]) for f in scan_frame(leaked, table="t")
    }


def test_the_deployments_own_area_names_are_not_free_text() -> None:
    """A 5M-person run published the kern "Nieuwerkerk aan den IJssel" (four words) as an area
    and the anonymised step's scan vetoed the release. The hierarchy's generalised levels are
    the steward's vocabulary: exempt; a free text that is not in it is still caught."""
    from assets.anonymised.config import AnonymisationConfig
    from assets.anonymised.generalisation import configured_vocabulary

    vocabulary = configured_vocabulary(AnonymisationConfig())
    assert "Nieuwerkerk aan den IJssel" in vocabulary["area"]
    assert not any(v.isdigit() for v in vocabulary["area"]), "PC4 leaves must stay scanned"
    kern = pl.DataFrame({"area": ["Nieuwerkerk aan den IJssel", "GM0014 Groningen"]})
    assert not check_no_direct_identifiers({"t": kern}).passed  # control: without it, vetoed
    assert check_no_direct_identifiers({"t": kern}, vocabulary=vocabulary).passed
    planted = kern.vstack(pl.DataFrame({"area": ["woont bij zijn zus in"]}))
    assert not check_no_direct_identifiers({"t": planted}, vocabulary=vocabulary).passed
    elsewhere = pl.DataFrame({"note": ["Nieuwerkerk aan den IJssel"]})  # only in its column
    assert not check_no_direct_identifiers({"t": elsewhere}, vocabulary=vocabulary).passed
