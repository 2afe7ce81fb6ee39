"""A release passes every check; a planted identifier, a class of two persons or an unprotected
small cell each fail their blocking check, and the earlier research.duckdb stays as it was."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets.anonymised.resource import ReleaseConfig
from assets.marts.aggregates import ProtectedAggregates
from assets.marts.assets import mart_tables
from assets.raw.partitions import all_partitions_tags
from pipelines.definitions import ALL_JOB, build_definitions
from pipelines.settings import load_settings
from synthetic import generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    old = os.environ.get("BRUGSTAT_PSEUDONYM_KEY")
    os.environ["BRUGSTAT_PSEUDONYM_KEY"] = "7b" * 32
    settings = load_settings().with_data_dir(tmp / "data")
    settings = replace(settings, paths=replace(settings.paths, key_file=tmp / "no.key"))
    generate(settings.paths.landing, people=1200, seed=5, today=settings.synthetic.today)
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(ALL_JOB).execute_in_process(
            instance=instance, raise_on_error=False, tags=all_partitions_tags()
        )
    yield settings, defs, result
    if old is None:
        os.environ.pop("BRUGSTAT_PSEUDONYM_KEY", None)
    else:
        os.environ["BRUGSTAT_PSEUDONYM_KEY"] = old


def _digest(settings) -> str:
    return hashlib.sha256(settings.paths.research_db.read_bytes()).hexdigest()


def _marts_again(defs):
    with dg.instance_for_test() as instance:
        return dg.materialize(
            [mart_tables], resources=defs.resources, instance=instance, raise_on_error=False
        )


def _failed(result) -> set[tuple[str, str]]:
    return {
        (e.asset_key.to_user_string(), e.check_name)
        for e in result.get_asset_check_evaluations()
        if not e.passed
    }


def test_release_passes_every_check(released) -> None:
    settings, _, result = released
    assert result.success
    assert _failed(result) == set()
    with duckdb.connect(str(settings.paths.research_db), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        assert {"mart_persons", "mart_bridge_scores", "meta_release", "data_dictionary"} <= tables
        undocumented = con.execute(
            "select count(*) from duckdb_columns() where not internal and (comment is null "
            "or comment = '')"
        ).fetchone()[0]
        assert undocumented == 0
        meta = con.execute("select key_id, k_achieved from meta_release").fetchone()
        assert len(meta[0]) == 16 and meta[1] >= 5
        with pytest.raises(duckdb.Error):
            con.execute("create table x (a int)")
    # Nothing from the steward's domain: no key, no pseudonym, no BSN-like value.
    content = settings.paths.research_db.read_bytes()
    assert bytes.fromhex("7b" * 32) not in content and b"7b" * 32 not in content


def test_persons_are_one_row_per_person_and_nothing_joins_them(released) -> None:
    """mart_persons is the person-level record (one row per person, k-anonymous over the whole
    record, episode signature included); no other table carries a person id, and each detail
    table has its own random id; the intake year is there for trends."""
    settings, _, _ = released
    with duckdb.connect(str(settings.paths.research_db), read_only=True) as con:
        rows, persons = con.execute(
            "select count(*), count(distinct person_id) from mart_persons"
        ).fetchone()
        smallest = con.execute(
            "select min(n) from (select count(*) as n from mart_persons group by age_at_intake, "
            "gender, area, household_type, children_band, nationality_group, intake_year, "
            "episodes)"
        ).fetchone()[0]
        cols = con.execute(
            "select table_name, column_name from duckdb_columns() where not internal"
        ).fetchall()
        years = con.execute(
            "select count(*) filter (where regexp_full_match(intake_year, '\\d{4}')), count(*) "
            "from mart_persons"
        ).fetchone()
        k = con.execute("select k_achieved from meta_release").fetchone()[0]
    assert rows == persons > 300
    assert smallest >= 5 and k == smallest
    assert {t for t, c in cols if c == "person_id"} == {"mart_persons"}
    ids = {t: {c for tt, c in cols if tt == t and c.endswith("_id")} for t, _ in cols}
    assert ids["mart_bridge_scores"] == {"trajectory_id"}
    assert ids["mart_goals"] == {"goal_profile_id"}
    assert not any(c in ("episode_id", "unit_id", "episode_pseudonym") for _, c in cols)
    assert years[0] > 0.9 * years[1]


def _plant(monkeypatch, folder, change) -> None:
    """The marts step reads a candidate whose persons file is ``change``d (a copy elsewhere;
    the marts read the candidate's files, never frames handed over in memory)."""
    original = ReleaseConfig.candidate_files

    def files(self):
        out = dict(original(self))
        path = folder / "persons.parquet"
        change(pl.read_parquet(out["persons"])).write_parquet(path)
        out["persons"] = path
        return out

    monkeypatch.setattr(ReleaseConfig, "candidate_files", files)


def test_planted_identifier_column_blocks_the_release(released, monkeypatch, tmp_path) -> None:
    settings, defs, _ = released
    before = _digest(settings)
    _plant(monkeypatch, tmp_path, lambda ep: ep.with_columns(email=pl.lit("j.jansen@example.nl")))
    result = _marts_again(defs)
    assert not result.success
    assert _digest(settings) == before


def test_class_of_two_persons_blocks_the_release(released, monkeypatch, tmp_path) -> None:
    settings, defs, _ = released
    before = _digest(settings)

    def with_small_class(ep: pl.DataFrame) -> pl.DataFrame:
        two = ep.head(2).with_columns(
            person_id=pl.Series([10**9, 10**9 + 1], dtype=ep["person_id"].dtype),
            area=pl.lit("WK999901 Nergens"),
        )
        return pl.concat([ep, two])

    _plant(monkeypatch, tmp_path, with_small_class)
    result = _marts_again(defs)
    assert ("mart_persons", "k_anonymous_per_person") in _failed(result)
    assert not result.success
    assert _digest(settings) == before


def test_unprotected_small_cell_blocks_the_release(released, monkeypatch) -> None:
    settings, defs, _ = released
    before = _digest(settings)
    original = ProtectedAggregates.published

    def leak(self):
        out = original(self)
        name = next(iter(out))
        out[name] = out[name].with_columns(
            persons=pl.when(pl.int_range(pl.len()) == 0).then(3).otherwise(pl.col("persons")),
            is_suppressed=pl.when(pl.int_range(pl.len()) == 0)
            .then(False)
            .otherwise(pl.col("is_suppressed")),
        )
        return out

    monkeypatch.setattr(ProtectedAggregates, "published", leak)
    result = _marts_again(defs)
    assert any(check == "cells_protected" for _, check in _failed(result))
    assert not result.success
    assert _digest(settings) == before
