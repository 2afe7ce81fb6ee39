"""Aalsmeer adapter on hand-written Latin-1 fixtures: the applicant is the person."""

import polars as pl

from assets.staging.adapters import aalsmeer
from tests.assets.test_adapter_common import (
    adapt_fixture,
    assert_fixture_invariants,
    episode_outcomes,
)

H, L = "aalsmeer/huishoudens.csv", "aalsmeer/leden.csv"


def test_aalsmeer_invariants() -> None:
    raw, _ = assert_fixture_invariants(
        aalsmeer,
        quarantine={
            (H, 5): "date_missing",
            (H, 6): "unknown_code",
            (H, 7): "amount_negative",
            (H, 8): "applicant_missing",
            (H, 9): "applicant_missing",
            (H, 10): "end_before_start",
            (H, 11): "applicant_missing",
            (L, 10): "orphan_reference",
            (L, 11): "bsn_11_proef",
            (L, 12): "orphan_reference",
            (L, 13): "orphan_reference",
            (L, 14): "orphan_reference",
            (L, 15): "unknown_code",
            (L, 16): "applicant_duplicate",
            (L, 18): "unknown_code",
        },
        duplicates={H: 1, L: 1},
        withheld={L: 6},  # partner, 2 children, child, huisgenoot, child with gender X
    )
    assert "Müller" in raw["members"]["achternaam"].to_list()  # read as Latin-1


def test_aalsmeer_staged_rows() -> None:
    _, result = adapt_fixture(aalsmeer)
    persons = result.tables["persons"].select(
        "source_row",
        "source_person_id",
        "bsn",
        "gender",
        "postcode",
        "house_number",
        "household_type",
        "children_count",
        "nationality_group",
    )
    assert persons.rows() == [
        (1, "L-000001", "375308441", "man", "1431AB", "7", "paar_met_kinderen", 2, "nederlands"),
        (5, "L-000005", "458024430", "vrouw", "1432KD", "22", "alleenstaand", 0, "eu"),
        (6, "L-000006", "467900966", "vrouw", None, "3", "alleenstaande_ouder", 2, "buiten_eu"),
    ]
    assert episode_outcomes(result) == [
        ("AST-00001", "L-000001", "sociaal_team", "completed", "doelen_behaald", False),
        ("AST-00002", "L-000005", "sociaal_team", "ongoing", None, True),
        ("AST-00003", "L-000006", "sociaal_team", "no_support", None, False),
    ]
    assert result.tables["income_sources"].select(
        "episode_id", "income_source", "net_monthly_eur"
    ).rows() == [
        ("AST-00001", "bijstand", 1450.0),
        ("AST-00002", "loon", 2300.0),
        ("AST-00003", "aow_pensioen", None),
    ]
    assert result.tables["debts"].select("episode_id", "debt_amount_eur").rows() == [
        ("AST-00001", 3200.0),
        ("AST-00002", 0.0),
    ]
    assert result.tables["case_problems"].select("episode_id", "problem").rows() == [
        ("AST-00001", "gezondheid")
    ]
    staged = pl.concat(
        [df.select(pl.all().cast(pl.String)) for df in result.tables.values()], how="diagonal"
    )
    assert not any(staged.select(pl.all().str.contains("Müller|coördinator").any()).row(0))
