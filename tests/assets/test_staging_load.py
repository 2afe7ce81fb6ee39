"""Staging's raw loading: pruned columns, exact duplicate flags, ENUM storage read back as text."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.raw.contracts import Column, ExportSpec
from assets.raw.load import code_columns, write_raw
from assets.raw.reader import RawExport, read_export
from assets.staging.adapters import ADAPTERS, conservation
from assets.staging.adapters.common import DUPLICATE, dedupe, later_repeats
from assets.staging.load import read_raw_export
from pipelines.resources import StagingDatabase, read_frame, write_frame
from tests.fixture_landing import FIXTURE_LANDING, write_fixture_exports


@pytest.fixture
def raw_db(tmp_path: Path) -> StagingDatabase:
    """Every fixture export written by the raw assets' own function."""
    return write_fixture_exports(tmp_path / "staging.duckdb")


@pytest.mark.parametrize("organisation", list(ADAPTERS))
def test_adapters_on_pruned_raw_rows_equal_adapters_on_whole_exports(
    raw_db: StagingDatabase, organisation: str
) -> None:
    """Loading only the columns an adapter reads (plus DuckDB's duplicate flag) changes nothing:
    every staged table, quarantine, duplicate count and file balance is the same."""
    adapter = ADAPTERS[organisation]
    whole = {s.name: read_export(FIXTURE_LANDING, organisation, s).data for s in adapter.EXPORTS}
    with raw_db.connect(read_only=True) as con:
        pruned = {s.name: read_raw_export(con, organisation, s) for s in adapter.EXPORTS}
    for spec in adapter.EXPORTS:
        if spec.never_read:
            assert set(pruned[spec.name].columns) < set(whole[spec.name].columns) | {DUPLICATE}
    expected, got = adapter.adapt(whole), adapter.adapt(pruned)
    assert expected.tables.keys() == got.tables.keys()
    for entity in expected.tables:
        assert_frame_equal(got.tables[entity], expected.tables[entity])
    assert_frame_equal(got.quarantine, expected.quarantine)
    assert_frame_equal(got.duplicates, expected.duplicates)
    assert_frame_equal(got.withheld, expected.withheld)
    assert_frame_equal(conservation(pruned, got), conservation(whole, expected))


def _write(db: StagingDatabase, name: str, df: pl.DataFrame) -> None:
    manifest = pl.DataFrame(
        {
            "organisation": ["groningen"],
            "export": [name],
            "source_file": ["groningen/x.csv"],
            "sha256": ["0"],
            "bytes": [0],
            "rows": [df.height],
            "encoding": ["utf-8"],
        }
    )
    write_raw(db, "groningen", name, RawExport(data=df, manifest=manifest))


def test_duplicate_flag_compares_every_column_also_unread_ones(tmp_path: Path) -> None:
    """Rows equal on the columns the adapter reads but not on a column it skips (a name) are no
    duplicates; rows equal on every column are, the first kept; nulls compare equal."""
    db = StagingDatabase(path=str(tmp_path / "s.duckdb"))
    df = pl.DataFrame(
        {
            "id": ["A", "A", "A", "B", "B", None, None, "C"],
            "naam": ["Jan", "Piet", "Jan", "x", "x", None, None, "y"],
            "code": ["1", "1", "1", None, None, "2", "2", "3"],
            "_source_file": ["groningen/x.csv"] * 8,
            "_source_row": list(range(1, 9)),
        }
    )
    _write(db, "t", df)
    spec = ExportSpec(
        "t", "x.csv", columns=(Column("id", "id"), Column("naam", "identifier"), Column("code"))
    )
    with db.connect(read_only=True) as con:
        loaded = read_raw_export(con, "groningen", spec)
    assert loaded.columns == ["id", "code", "_source_file", "_source_row", DUPLICATE]
    assert loaded[DUPLICATE].to_list() == [False, False, True, False, True, False, True, False]
    whole = df.with_columns(pl.col("_source_row").cast(pl.Int64))
    _, counts = dedupe(whole, "groningen")
    kept, counts_flagged = dedupe(loaded, "groningen")
    assert_frame_equal(counts_flagged, counts)
    assert kept["_source_row"].to_list() == [1, 2, 4, 6, 8]
    assert DUPLICATE not in kept.columns


def test_later_repeats_is_exactly_not_first_distinct() -> None:
    values = pl.Series(["a", "b", "a", None, None, "c", "b", "a"])
    expected = (~values.is_first_distinct() & values.is_not_null()).to_list()
    assert later_repeats(values).to_list() == expected


def test_code_columns_skip_identifiers_free_text_and_many_values() -> None:
    df = pl.DataFrame(
        {
            "geslacht": ["M", "V"] * 50,
            "voornaam": ["Jan", "Piet"] * 50,  # a name: never an ENUM
            "notitie": ["a b c d e"] * 100,  # free text by name and by shape
            "toestand": ["heeft veel schulden opgebouwd", "x"] * 50,  # a sentence
            "id": [f"K{i}" for i in range(100)],
        }
    )
    found = code_columns(df)
    assert set(found) == {"geslacht"}
    assert sorted(found["geslacht"]) == ["M", "V"]


def test_enum_columns_are_text_to_every_reader(tmp_path: Path) -> None:
    """ENUM storage: a value outside the list fails the write; reads give text; SQL compares,
    joins and sorts as text."""
    db = StagingDatabase(path=str(tmp_path / "e.duckdb"))
    df = pl.DataFrame({"organisation": ["zuidplas", "breda", "groningen"], "n": [1, 2, 3]})
    orgs = ["groningen", "zuidplas", "aalsmeer", "hengelo", "breda"]
    db.write("canonical", "t", df, enums={"organisation": orgs})
    back = db.read("canonical", "t")
    assert back.schema["organisation"] == pl.String
    assert_frame_equal(back, df)
    assert db.read("canonical", "t", categorical=True).schema["organisation"] == pl.Categorical
    with db.connect() as con:
        expected = "ENUM(" + ", ".join(f"'{o}'" for o in sorted(orgs)) + ")"
        assert con.execute("describe canonical.t").fetchall()[0][1] == expected
        assert con.execute(
            "select count(*) from canonical.t where organisation in ('breda', 'nergens')"
        ).fetchone() == (1,)
        keys = pl.DataFrame({"organisation": ["breda"]})
        con.register("keys", keys)
        assert con.execute(
            "select n from canonical.t join keys using (organisation)"
        ).fetchall() == [(2,)]
        ordered = read_frame(con, "select organisation from canonical.t order by organisation")
        assert ordered["organisation"].to_list() == ["breda", "groningen", "zuidplas"]
        with pytest.raises(duckdb.ConversionException):
            write_frame(
                con,
                "canonical",
                "u",
                pl.DataFrame({"organisation": ["x"]}),
                enums={"organisation": orgs},
            )
