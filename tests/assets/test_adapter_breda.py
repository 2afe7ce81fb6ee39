"""Breda adapter on hand-written fixtures: one plan row -> person, episode and its facts."""

import polars as pl

from assets.staging.adapters import breda
from tests.assets.test_adapter_common import adapt_fixture, assert_fixture_invariants

B = "breda/doorbraakplannen.csv"


def test_breda_invariants() -> None:
    _, _ = assert_fixture_invariants(
        breda,
        quarantine={
            (B, 5): "bsn_11_proef",
            (B, 6): "unknown_code",
            (B, 7): "amount_negative",
            (B, 8): "date_unparseable",
            (B, 9): "date_missing",
            (B, 10): "end_before_start",
            (B, 11): "unknown_code",
            (B, 12): "unknown_code",
        },
        duplicates={B: 1},
    )


def test_breda_staged_rows() -> None:
    _, result = adapt_fixture(breda)
    t = result.tables
    assert t["persons"].select(
        "source_person_id",
        "bsn",
        "birth_date",
        "age_at_intake",
        "gender",
        "postcode",
        "children_count",
    ).rows() == [
        ("DB-00001", "154320948", None, 42, "man", "4811AB", 2),
        ("DB-00002", "159259216", None, 35, "vrouw", "4812CD", 0),
        ("DB-00003", "218518432", None, 29, "vrouw", None, 1),
    ]
    assert t["episodes"].select(
        "episode_id", "programme", "end_reason", "objects_to_research"
    ).rows() == [
        ("DB-00001", "doorbraak", "completed", False),
        ("DB-00002", "doorbraak", "ongoing", True),
        ("DB-00003", "doorbraak", "no_support", False),
    ]
    assert t["income_sources"].select("episode_id", "income_source").rows() == [
        ("DB-00001", "bijstand"),
        ("DB-00001", "toeslagen"),
        ("DB-00002", "loon"),
        ("DB-00002", "uwv"),
        ("DB-00003", "geen"),
    ]
    assert t["debts"].select("episode_id", "debt_amount_eur").rows() == [
        ("DB-00001", 15000.0),
        ("DB-00002", 0.0),
        ("DB-00003", 2500.0),
    ]
    assert sorted(
        t["case_problems"].select("episode_id", "problem", "status").rows(), key=str
    ) == sorted(
        [
            ("DB-00001", "schuldhulpverlening", "lopend"),
            ("DB-00003", "schuldhulpverlening", "aangemeld"),
            ("DB-00001", "beschermingsbewind", None),
            ("DB-00003", "justitie", None),
            ("DB-00001", "psychisch", None),
        ],
        key=str,
    )
    assert sorted(t["outcomes"].select("episode_id", "measure", "value_num").rows()) == [
        ("DB-00001", "breakthrough_reached", 1.0),
        ("DB-00001", "plan_cost_eur", 3200.0),
        ("DB-00002", "plan_cost_eur", 1500.0),
        ("DB-00003", "breakthrough_reached", 0.0),
        ("DB-00003", "plan_cost_eur", 800.0),
    ]
    staged = pl.concat([df.select(pl.all().cast(pl.String)) for df in t.values()], how="diagonal")
    assert not any(staged.select(pl.all().str.contains("magazijn|huurachterstand").any()).row(0))
