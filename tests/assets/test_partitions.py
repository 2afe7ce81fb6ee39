"""Raw and staging are partitioned by organisation: one partitions definition from the export
contracts, and a partition replaces only its own organisation's rows, atomically."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.raw import contracts, partitions
from assets.raw.assets import RAW_ASSET, build_raw_asset
from assets.raw.contracts import CONTRACTS
from assets.staging import load
from assets.staging.assets import BALANCE_ASSET, QUARANTINE_ASSET, staging_canonical
from assets.staging.load import STAGING_TABLES, stage
from pipelines.definitions import ALL_JOB, build_definitions
from pipelines.resources import (
    LandingFolder,
    StagingDatabase,
    qualified,
    read_frame,
    replace_partition,
    transaction,
)
from tests.fixture_landing import FIXTURE_LANDING, write_fixture_exports

ORGS = list(CONTRACTS)


def test_the_partitions_are_the_contracts_organisations() -> None:
    assert partitions.ORGANISATIONS.get_partition_keys() == ORGS
    assert build_raw_asset().partitions_def == partitions.ORGANISATIONS
    assert staging_canonical.partitions_def == partitions.ORGANISATIONS
    assert partitions.all_partitions_tags() == {
        partitions.RANGE_START_TAG: ORGS[0],
        partitions.RANGE_END_TAG: ORGS[-1],
    }


def test_a_new_contract_is_a_new_partition(monkeypatch: pytest.MonkeyPatch) -> None:
    new = contracts.Contract("nieuwegein", "Nieuwegein", CONTRACTS["breda"].exports)
    monkeypatch.setattr(contracts, "CONTRACTS", {**CONTRACTS, "nieuwegein": new})
    keys = partitions.organisation_partitions().get_partition_keys()
    assert keys == [*ORGS, "nieuwegein"]
    assert partitions.ORGANISATIONS.get_partition_keys() == ORGS  # the control: built once


def test_raw_and_staging_are_partitioned_and_the_release_waits_for_every_partition(
    settings_in,
) -> None:
    defs = build_definitions(settings_in)
    graph = defs.resolve_asset_graph()
    partitioned = {
        k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_partitioned
    }
    staging = {k.to_user_string() for k in staging_canonical.keys}
    assert partitioned == {RAW_ASSET} | staging
    assert {QUARANTINE_ASSET, BALANCE_ASSET} <= staging
    for key in staging_canonical.keys:  # one organisation's staging reads its own raw partition
        assert graph.get(key).parent_keys == {dg.AssetKey(RAW_ASSET)}
    purge = graph.get(dg.AssetKey("governance_purge"))
    assert not purge.is_partitioned and dg.AssetKey("staging_persons") in purge.parent_keys
    # the whole job: every run it is started with covers all partitions
    job = defs.resolve_job_def(ALL_JOB)
    assert job.partitions_def == partitions.ORGANISATIONS
    weekly = {s.name: s for s in defs.schedules}["brugstat_weekly"]
    with dg.instance_for_test() as instance:
        data = weekly.evaluate_tick(dg.build_schedule_context(instance=instance))
    (request,) = data.run_requests
    assert request.tags[partitions.RANGE_START_TAG] == ORGS[0]
    assert request.tags[partitions.RANGE_END_TAG] == ORGS[-1]


def test_the_staging_writers_share_one_pool_of_one_slot(tmp_path: Path, monkeypatch) -> None:
    from pipelines.locking import ensure_instance_config

    assert build_raw_asset().op.pool == partitions.STAGING_DB_POOL
    assert staging_canonical.op.pool == partitions.STAGING_DB_POOL
    home = tmp_path / "home"
    home.mkdir()
    ensure_instance_config(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1 and pools.pool_granularity.value == "run"


# --- staging: one transaction per organisation ------------------------------------------------


def _counts(db: StagingDatabase) -> dict[tuple[str, str, str], int]:
    """(layer, table, organisation) -> rows, over every staging table."""
    out = {}
    with db.connect(read_only=True) as con:
        for layer, table in STAGING_TABLES:
            rows = con.execute(
                f"select organisation::varchar, count(*) from {qualified(layer, table)} group by 1"
            ).fetchall()
            out |= {(layer, table, org): n for org, n in rows}
    return out


def _thin_out(db: StagingDatabase, organisations: list[str]) -> None:
    """Delete every second row of ``organisations`` in every staging table: a state no staging
    run writes, so a table that still shows it was not replaced."""
    with db.connect() as con, transaction(con):
        for layer, table in STAGING_TABLES:
            con.execute(
                f"delete from {qualified(layer, table)} where rowid % 2 = 0 "
                "and organisation::varchar in (select unnest(?::varchar[]))",
                [organisations],
            )


@pytest.fixture
def staged(tmp_path: Path) -> tuple[StagingDatabase, dict]:
    db = write_fixture_exports(tmp_path / "staging.duckdb")
    assert stage(db, ORGS).conservation.passed
    return db, _counts(db)


def _of(counts: dict, orgs: set[str]) -> dict:
    return {k: v for k, v in counts.items() if k[2] in orgs}


def test_materialising_one_partition_replaces_only_that_organisations_rows(
    staged, tmp_path: Path
) -> None:
    db, full = staged
    _thin_out(db, ORGS)
    thinned = _counts(db)
    assert thinned != full  # the control: the marker is visible
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [build_raw_asset(), staging_canonical],
            partition_key="hengelo",
            instance=instance,
            resources={
                "landing": LandingFolder(path=str(FIXTURE_LANDING), organisations=ORGS),
                "staging_db": StagingDatabase(path=db.path, run_lock_dir=str(tmp_path)),
            },
            raise_on_error=False,
        )
        assert result.success
        parts = {
            (e.asset_key.to_user_string(), e.partition)
            for e in result.get_asset_materialization_events()
        }
    assert (RAW_ASSET, "hengelo") in parts and ("staging_persons", "hengelo") in parts
    assert {p for _, p in parts} == {"hengelo"}
    after = _counts(db)
    others = set(ORGS) - {"hengelo"}
    assert _of(after, others) == _of(thinned, others)  # untouched
    assert _of(after, {"hengelo"}) == _of(full, {"hengelo"})  # replaced whole


def test_a_failed_partition_leaves_its_previous_rows_and_the_others(
    staged, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, full = staged
    _thin_out(db, ORGS)
    thinned = _counts(db)
    real = load.replace_partition

    def fail_on_hengelo_quarantine(con, layer, table, df, *, column, value, enums=None):
        # after hengelo's canonical tables are written inside its transaction
        if value == "hengelo" and layer == "quarantine":
            raise RuntimeError("disk full while writing quarantine.rows for hengelo")
        return real(con, layer, table, df, column=column, value=value, enums=enums)

    monkeypatch.setattr(load, "replace_partition", fail_on_hengelo_quarantine)
    with pytest.raises(RuntimeError, match="disk full"):
        stage(db, ["groningen", "hengelo", "breda"])
    after = _counts(db)
    assert _of(after, {"groningen"}) == _of(full, {"groningen"})  # committed before the failure
    assert _of(after, {"hengelo"}) == _of(thinned, {"hengelo"})  # rolled back: as before
    untouched = set(ORGS) - {"groningen", "hengelo"}
    assert _of(after, untouched) == _of(thinned, untouched)


def test_an_organisation_switched_off_is_removed_from_staging(staged) -> None:
    db, full = staged
    staged_again = stage(db, [], remove=["breda"])
    assert staged_again.quarantine.height == 0
    after = _counts(db)
    assert not _of(after, {"breda"}) and _of(full, {"breda"})
    assert _of(after, set(ORGS) - {"breda"}) == _of(full, set(ORGS) - {"breda"})


def test_replacing_a_partition_widens_an_enum_for_a_new_file(tmp_path: Path) -> None:
    db = StagingDatabase(path=str(tmp_path / "s.duckdb"))

    parts = [  # (organisation, its files now, the ENUM values known when it is written)
        ("a", ["a/1.csv"], ["a/1.csv", "b/1.csv"]),
        ("b", ["b/1.csv"], ["a/1.csv", "b/1.csv"]),
        ("b", ["b/2.csv", "b/2.csv"], ["b/2.csv"]),  # b re-delivers under a new file name
    ]
    with db.connect() as con:
        for org, files, known in parts:
            df = pl.DataFrame({"organisation": [org] * len(files), "source_file": files})
            replace_partition(
                con,
                "canonical",
                "t",
                df,
                column="organisation",
                value=org,
                enums={"source_file": known},
            )
        got = read_frame(con, "select * from canonical.t order by all")
        (kind,) = con.execute(
            "select data_type from information_schema.columns where table_name = 't' "
            "and column_name = 'source_file'"
        ).fetchone()
    assert got.rows() == [("a", "a/1.csv"), ("b", "b/2.csv"), ("b", "b/2.csv")]
    assert kind.startswith("ENUM") and "b/2.csv" in kind
