"""Zuidplas adapter on hand-written fixtures: a person per client, an episode per registration."""

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from assets.staging.adapters import zuidplas
from tests.assets.test_adapter_common import adapt_fixture, assert_fixture_invariants

R = "zuidplas/registraties.csv"


def test_zuidplas_invariants() -> None:
    _, _ = assert_fixture_invariants(
        zuidplas,
        quarantine={
            (R, 6): "bsn_11_proef",
            (R, 7): "unknown_code",
            (R, 8): "amount_negative",
            (R, 9): "date_unparseable",
            (R, 10): "end_before_start",
            (R, 11): "unknown_code",
            (R, 12): "unknown_code",
            (R, 13): "date_missing",
            (R, 14): "bsn_missing",
        },
        duplicates={R: 1},
    )


def test_zuidplas_staged_rows() -> None:
    _, result = adapt_fixture(zuidplas)
    persons = result.tables["persons"].drop("organisation", "source_file", "age_at_intake")
    assert_frame_equal(
        persons,
        pl.DataFrame(
            {
                "source_row": [1, 3, 4],
                "source_person_id": ["ZO-000001", "ZO-000002", "ZO-000003"],
                "bsn": ["245678906", "267901112", "281481349"],
                "birth_date": [dt.date(1975, 4, 3), dt.date(1988, 11, 30), dt.date(1975, 4, 3)],
                "gender": ["man", "vrouw", None],
                "postcode": ["2741AB", "2751XY", "2741AB"],
                "house_number": ["12 bis", "3", "4"],
                "household_type": ["paar_met_kinderen", "alleenstaande_ouder", "alleenstaand"],
                "children_count": [2, 1, 0],
                "nationality_group": [None, None, None],
            },
            schema=persons.schema,
        ),
    )
    episodes = result.tables["episodes"].select(
        "source_row",
        "episode_id",
        "source_person_id",
        "programme",
        "end_date",
        "end_reason",
        "outcome",
        "objects_to_research",
    )
    assert_frame_equal(
        episodes,
        pl.DataFrame(
            {
                "source_row": [1, 2, 3, 4],
                "episode_id": ["ZO-R-000001", "ZO-R-000002", "ZO-R-000003", "ZO-R-000004"],
                "source_person_id": ["ZO-000001", "ZO-000001", "ZO-000002", "ZO-000003"],
                "programme": [
                    "vroegsignalering",
                    "geldzaken",
                    "casusregie_1g1p1r",
                    "vroegsignalering",
                ],
                "end_date": [
                    dt.date(2022, 5, 1),
                    None,
                    dt.date(2021, 12, 31),
                    dt.date(2023, 3, 15),
                ],
                "end_reason": ["completed", "ongoing", "aborted", "completed"],
                "outcome": ["opgelost", None, "gestopt", "doorverwezen"],
                "objects_to_research": [False, True, False, False],
            },
            schema=episodes.schema,
        ),
    )
    debts = result.tables["debts"].select("episode_id", "debt_amount_eur", "creditor_count")
    assert debts.rows() == [
        ("ZO-R-000001", 1234.56, 3),
        ("ZO-R-000002", None, 2),
        ("ZO-R-000004", 250.0, 1),
    ]
    outcomes = result.tables["outcomes"].select("episode_id", "measure", "value_num")
    assert outcomes.rows() == [
        ("ZO-R-000001", "arrears_resolved", 1.0),
        ("ZO-R-000004", "arrears_resolved", 0.0),
    ]
