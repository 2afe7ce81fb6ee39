"""Groningen adapter on hand-written fixtures: clean rows staged exactly, dirt rows rejected."""

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from assets.staging.adapters import groningen
from tests.assets.test_adapter_common import adapt_fixture, assert_fixture_invariants

P, M, D = "groningen/deelnemers.csv", "groningen/metingen.csv", "groningen/doelen.csv"


def test_groningen_invariants() -> None:
    _, result = assert_fixture_invariants(
        groningen,
        quarantine={
            (P, 5): "bsn_11_proef",
            (P, 6): "bsn_missing",
            (P, 7): "date_unparseable",
            (P, 8): "date_missing",
            (P, 9): "unknown_code",
            (P, 10): "end_before_start",
            (P, 11): "unknown_code",
            (P, 12): "bsn_11_proef",
            (M, 5): "level_out_of_range",
            (M, 6): "level_out_of_range",
            (M, 7): "orphan_reference",
            (M, 8): "orphan_reference",
            (M, 9): "date_unparseable",
            (M, 10): "date_missing",
            (M, 11): "date_unparseable",
            (M, 12): "scores_missing",
            (M, 13): "level_out_of_range",
            (D, 4): "confidence_out_of_range",
            (D, 5): "confidence_out_of_range",
            (D, 6): "orphan_reference",
            (D, 7): "date_missing",
            (D, 8): "unknown_code",
        },
        duplicates={P: 1, M: 1, D: 1},
        withheld={"groningen/buddies.csv": 2},
    )
    assert "buddy data never leaves the raw layer" in result.withheld["reason"].to_list()


def test_groningen_persons_and_episodes() -> None:
    _, result = adapt_fixture(groningen)
    persons = result.tables["persons"].drop("organisation", "source_file")
    expected = pl.DataFrame(
        {
            "source_row": [1, 2, 3],
            "source_person_id": ["KG-0000001", "KG-0000002", "KG-0000003"],
            "bsn": ["112345670", "127160474", "133333309"],
            "birth_date": [dt.date(1980, 3, 5), None, dt.date(1980, 3, 5)],
            "age_at_intake": [None, 45, None],
            "gender": ["man", "vrouw", "anders"],
            "postcode": ["9711AB", "9712CD", None],
            "house_number": ["12a", "12", "13"],
            "household_type": ["paar_met_kinderen", "alleenstaand", "alleenstaande_ouder"],
            "children_count": [2, 0, 1],
            "nationality_group": [None, None, None],
        },
        schema=persons.schema,
    )
    assert_frame_equal(persons, expected)
    episodes = result.tables["episodes"].select(
        "episode_id",
        "source_person_id",
        "programme",
        "start_date",
        "end_date",
        "end_reason",
        "outcome",
        "objects_to_research",
    )
    assert_frame_equal(
        episodes,
        pl.DataFrame(
            {
                "episode_id": ["KG-0000001", "KG-0000002", "KG-0000003"],
                "source_person_id": ["KG-0000001", "KG-0000002", "KG-0000003"],
                "programme": ["kansrijk"] * 3,
                "start_date": [dt.date(2021, 2, 1), dt.date(2021, 3, 1), dt.date(2021, 2, 1)],
                "end_date": [dt.date(2022, 6, 15), None, dt.date(2021, 12, 1)],
                "end_reason": ["completed", "ongoing", "refused"],
                "outcome": [None, None, None],
                "objects_to_research": [False, True, False],
            },
            schema=episodes.schema,
        ),
    )


def test_groningen_bridge_scores_long_with_unscored_domains_left_out() -> None:
    _, result = adapt_fixture(groningen)
    scores = result.tables["bridge_scores"].sort("source_row", "domain")
    per_row = scores.group_by("source_row").len().sort("source_row")
    assert per_row.rows() == [(1, 8), (2, 6), (3, 8)]
    second = scores.filter(pl.col("source_row") == 2)
    assert set(second["domain"]) == {
        "wonen",
        "gezondheid",
        "sociaal_netwerk",
        "schulden",
        "spaargeld",
        "diploma",
    }
    assert second["measured_on"].unique().to_list() == [dt.date(2021, 5, 3)]
    assert second["episode_id"].unique().to_list() == ["KG-0000001"]
    first = dict(scores.filter(pl.col("source_row") == 1).select("domain", "level").rows())
    assert first == {
        "wonen": 1,
        "gezin": 2,
        "gezondheid": 3,
        "sociaal_netwerk": 4,
        "schulden": 5,
        "spaargeld": 1,
        "diploma": 2,
        "netto_inkomen": 3,
    }
    third = scores.filter(pl.col("source_row") == 3)
    assert third["measured_on"].unique().to_list() == [dt.date(2021, 6, 1)]


def test_groningen_goals_without_free_text() -> None:
    _, result = adapt_fixture(groningen)
    goals = result.tables["goals"]
    assert_frame_equal(
        goals.select("goal_id", "episode_id", "domain", "set_on", "achieved_on", "confidence"),
        pl.DataFrame(
            {
                "goal_id": ["D-0000001", "D-0000002"],
                "episode_id": ["KG-0000001", "KG-0000002"],
                "domain": ["wonen", "sociaal_netwerk"],
                "set_on": [dt.date(2021, 2, 15), dt.date(2021, 4, 1)],
                "achieved_on": [dt.date(2021, 9, 1), None],
                "confidence": [8, 6],
            },
            schema_overrides={"confidence": pl.Int8},
        ),
    )
    as_text = goals.select(pl.all().cast(pl.String).str.contains("huurwoning").any())
    assert not any(as_text.row(0))
