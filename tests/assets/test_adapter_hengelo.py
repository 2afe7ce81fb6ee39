"""Hengelo adapter on hand-written fixtures (UTF-8 with byte-order mark)."""

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from assets.staging.adapters import hengelo
from tests.assets.test_adapter_common import (
    adapt_fixture,
    assert_fixture_invariants,
    episode_outcomes,
)

C, T = "hengelo/contacten.csv", "hengelo/trajecten.csv"


def test_hengelo_invariants() -> None:
    raw, _ = assert_fixture_invariants(
        hengelo,
        quarantine={
            (C, 5): "bsn_missing",
            (C, 6): "unknown_code",
            (C, 7): "date_unparseable",
            (T, 6): "orphan_reference",
            (T, 7): "orphan_reference",
            (T, 8): "unknown_code",
            (T, 9): "date_missing",
            (T, 10): "end_before_start",
            (T, 11): "date_unparseable",
        },
        duplicates={C: 1, T: 1},
    )
    assert raw["contacts"].columns[0] == "contact_id"  # the BOM is not part of the header


def test_hengelo_staged_rows() -> None:
    _, result = adapt_fixture(hengelo)
    persons = result.tables["persons"].select(
        "source_row", "source_person_id", "bsn", "birth_date", "gender", "postcode", "house_number"
    )
    assert_frame_equal(
        persons,
        pl.DataFrame(
            {
                "source_row": [1, 2, 3],
                "source_person_id": ["WK-00001", "WK-00002", "WK-00003"],
                "bsn": ["628394676", "637036645", "112345670"],
                "birth_date": [dt.date(1980, 3, 5), dt.date(1980, 12, 24), dt.date(1990, 7, 3)],
                "gender": ["vrouw", "man", "anders"],
                "postcode": ["7551AB", "7552CD", None],
                "house_number": ["3-II", "101", "3"],
            },
            schema=persons.schema,
        ),
    )
    assert episode_outcomes(result) == [
        ("WT-00001", "WK-00001", "wijkkracht", "completed", "zelfredzaam", False),
        ("WT-00002", "WK-00001", "wijkkracht", "ongoing", None, False),
        ("WT-00003", "WK-00002", "wijkkracht", "no_support", None, True),
        ("WT-00004", "WK-00003", "wijkkracht", "aborted", "verslechterd", False),
    ]
    problems = result.tables["case_problems"]
    assert problems.select("source_file", "source_row", "episode_id", "problem").rows() == [
        (C, 1, "WT-00001", "gezondheid"),
        (C, 1, "WT-00002", "gezondheid"),
    ]
    staged = pl.concat(
        [df.select(pl.all().cast(pl.String)) for df in result.tables.values()], how="diagonal"
    )
    assert not any(staged.select(pl.all().str.contains("Diabetes").any()).row(0))
