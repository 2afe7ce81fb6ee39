"""The pseudonymised layer built inside DuckDB equals the polars transform, row for row."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.pseudonymised.transform import UNORDERED, pseudonymise_all
from assets.pseudonymised.write import pseudonymise_database
from assets.staging import schema
from assets.staging.adapters import ADAPTERS
from assets.staging.load import stage
from pipelines.resources import StagingDatabase, read_frame
from quality.privacy import scan_frame, scan_table
from tests.fixture_landing import write_fixture_exports

KEY = b"\x11" * 32


@pytest.fixture
def staged(tmp_path: Path) -> StagingDatabase:
    """The fixtures through the raw and staging steps."""
    db = write_fixture_exports(tmp_path / "staging.duckdb")
    result = stage(db, list(ADAPTERS))
    assert result.conservation.passed
    return db


def _expected(db: StagingDatabase) -> dict[str, pl.DataFrame]:
    return pseudonymise_all({e: db.read("canonical", e) for e in schema.ENTITIES}, key=KEY)


def _assert_same(db: StagingDatabase, expected: dict[str, pl.DataFrame]) -> None:
    for entity, want in expected.items():
        got = db.read("pseudonymised", entity)
        assert got.columns == want.columns, entity
        if entity in UNORDERED:
            got, want = got.sort(got.columns), want.sort(want.columns)
        assert_frame_equal(got, want)
        assert got.schema == want.schema, entity


def test_database_path_equals_polars_transform(staged: StagingDatabase) -> None:
    expected = _expected(staged)
    out = pseudonymise_database(staged, KEY)
    assert all(o["outcome"].passed for o in out.values())
    assert {e: o["rows"] for e, o in out.items()} == {e: df.height for e, df in expected.items()}
    _assert_same(staged, expected)


def test_an_episode_id_missing_from_episodes_is_still_pseudonymised(
    staged: StagingDatabase,
) -> None:
    """Staging's checks prevent it, but a score whose episode is not in the episodes table gets
    the pseudonym its id hashes to, as the polars transform gives it."""
    with staged.connect() as con:
        con.execute(
            "insert into canonical.bridge_scores select organisation, source_file, 999, "
            "'KG-NIET-BESTAAND', measured_on, domain, level from canonical.bridge_scores limit 1"
        )
        con.execute(
            "insert into canonical.goals select organisation, source_file, 999, 'G-X', "
            "'KG-NIET-BESTAAND', domain, set_on, achieved_on, confidence "
            "from canonical.goals limit 1"
        )
    expected = _expected(staged)
    pseudonymise_database(staged, KEY)
    _assert_same(staged, expected)
    with staged.connect(read_only=True) as con:
        assert (
            con.execute(
                "select count(*) from pseudonymised.bridge_scores where episode_pseudonym is null"
            ).fetchone()[0]
            == 0
        )


def test_scan_in_sql_equals_scan_of_the_frame(staged: StagingDatabase) -> None:
    pseudonymise_database(staged, KEY)
    with staged.connect() as con:
        con.execute(
            "create table pseudonymised.leak as select *, '111222333' as bsn_text, "
            "'a@b.nl' as contact, 123456782 as number from pseudonymised.persons"
        )
        for entity in [*schema.ENTITIES, "leak"]:
            frame = read_frame(con, f'select * from pseudonymised."{entity}"')
            in_sql = scan_table(con, f'pseudonymised."{entity}"', table=entity)
            assert in_sql == scan_frame(frame, table=entity), entity
        assert {f["rule"] for f in scan_table(con, "pseudonymised.leak", table="leak")} >= {
            "bsn_value",
            "email_value",
        }
