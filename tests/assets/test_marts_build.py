"""research.duckdb: documented, read-only for analysts, swapped in whole or not at all."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from assets.marts import build as build_module
from assets.marts.aggregates import AggregateConfig, protect_aggregates
from assets.marts.build import (
    ReleaseInfo,
    ReleaseVetoedError,
    build_research_database,
    open_read_only,
)
from assets.marts.catalogue import CATALOGUE
from assets.marts.ledger import DuckDBLedger

ROOT = Path(__file__).resolve().parents[2]
KEY_ID = "42d0e686a9530367"
DOMAINS = ["wonen", "schulden", "gezondheid"]
MAIN = "schema_name = 'main' and not internal"


def make_frames(n: int = 150, measurements: int = 3, seed: int = 7) -> dict[str, pl.DataFrame]:
    """A release's frames in the anonymised step's shape: the published microdata (random ints
    for ids, generalised strings) and the steward's population frames the aggregates count."""
    rng = np.random.default_rng(seed)
    pid = np.arange(1, n + 1)
    org = rng.choice(["groningen", "breda"], n)
    year = rng.choice(["2023", "2024"], n)
    persons = pl.DataFrame(
        {
            "person_id": pid,
            "age_at_intake": rng.choice(["18-29", "30-49", "50+"], n),
            "gender": rng.choice(["man", "vrouw"], n),
            "area": rng.choice(["Groningen", "Breda", "Aalsmeer"], n, p=[0.6, 0.35, 0.05]),
            "household_type": rng.choice(["alleenstaand", "paar_met_kinderen"], n),
            "children_band": rng.choice(["0", "1+", "3+"], n),
            "nationality_group": "nederlands",
            "intake_year": year,
            "episodes": rng.choice(["1 organisatie", "2+ organisaties"], n),
            "area_division_year": pl.Series([2025] * n, dtype=pl.Int16),
            "debt_band": rng.choice(["0", "1-999", "onbekend", "*"], n),
            "health_flag": rng.choice(["ja", "nee", "onbekend"], n),
            "justice_flag": "onbekend",
        }
    )
    k = measurements * len(DOMAINS)
    tid = rng.permutation(n) + 1  # the trajectories' own ids: no relation to person_id
    scores = pl.DataFrame(
        {
            "trajectory_id": np.repeat(tid, k),
            "organisation": np.repeat(org, k),
            "intake_year": np.repeat(year, k),
            "measurement_no": np.tile(np.arange(1, measurements + 1), n * len(DOMAINS)).astype(
                np.int16
            ),
            "months_since_intake": np.tile(np.arange(measurements) * 3, n * len(DOMAINS)).astype(
                np.int16
            ),
            "domain": np.tile(np.repeat(DOMAINS, measurements), n),
            "level": rng.integers(1, 6, n * k).astype(np.int8),
        }
    ).sort("trajectory_id", "measurement_no", "domain")

    def detail(ident: str, **cols) -> pl.DataFrame:
        own = rng.permutation(n) + 1
        return pl.DataFrame({ident: own, "organisation": org, "intake_year": year, **cols}).sort(
            ident
        )

    goals = detail(
        "goal_profile_id",
        domain=rng.choice(DOMAINS, n),
        confidence_band=rng.choice(["1-3", "4-6", "7-8", "9-10"], n),
        achieved=rng.random(n) < 0.5,
        months_to_set=rng.choice([0, 3], n).astype(np.int16),
        months_to_achieve=pl.Series(
            [None if v < 0 else int(v) for v in rng.choice([0, 3, -1], n)], dtype=pl.Int16
        ),
    )
    case_problems = detail(
        "problem_profile_id",
        problem=rng.choice(["schulden", "huisvesting"], n),
        status=pl.Series([v or None for v in rng.choice(["lopend", ""], n)], dtype=pl.String),
    )
    income = detail(
        "income_profile_id",
        income_source=rng.choice(["bijstand", "loon"], n),
        net_monthly_band=rng.choice(["0-499", "1000-1499"], n),
    )
    outcomes = detail(
        "outcome_profile_id",
        measure="breakthrough_reached",
        value_flag=rng.random(n) < 0.5,
        value_band=pl.Series([None] * n, dtype=pl.String),
    )
    population = pl.DataFrame(
        {
            "area": persons["area"],
            "intake_year": year,
            "organisation": org,
            "programme": np.where(org == "breda", "doorbraak", "kansrijk"),
            "end_reason": rng.choice(["completed", "ongoing"], n),
            "unit_id": rng.permutation(n) + 1,
        }
    )
    return {
        "persons": persons,
        "bridge_scores": scores,
        "goals": goals,
        "case_problems": case_problems,
        "income_sources": income,
        "outcomes": outcomes,
        "population": population,
        "population_goals": pl.DataFrame(
            {
                "unit_id": population["unit_id"],
                "domain": rng.choice(DOMAINS, n),
                "goal_reached": rng.choice(["ja", "nee"], n),
            }
        ),
        "population_trajectories": pl.DataFrame(
            {"trajectory_id": tid, "unit_id": population["unit_id"]}
        ),
    }


def release(release_id: str = "2026.1", **kw) -> ReleaseInfo:
    return ReleaseInfo(
        release_id=release_id,
        key_id=KEY_ID,
        parameters={"k": 5, "quasi_identifiers": ["age_at_intake", "area"]},
        k_achieved=5,
        persons_suppressed=3,
        max_risk=0.2,
        avg_risk=0.04,
        information_loss=0.31,
        code_version="test",
        **kw,
    )


def build(target: Path, release_id: str = "2026.1", *, frames=None, ledger=None, **kw):
    frames = frames or make_frames()
    aggs = protect_aggregates(
        frames, config=AggregateConfig(), release_id=release_id, ledger=ledger
    )
    return build_research_database(
        target,
        frames=frames,
        aggregates=aggs,
        release=release(release_id),
        steward_ledger=ledger,
        **kw,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("research") / "research.duckdb"
    build(target)
    return target


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name != target.name)


def test_every_catalogue_table_is_built_and_commented(built):
    con = open_read_only(built)
    tables = dict(
        con.execute("select table_name, comment from duckdb_tables() where " + MAIN).fetchall()
    )
    assert set(tables) == set(CATALOGUE)
    assert all(tables[t] and CATALOGUE[t].grain in tables[t] for t in tables)
    cols = con.execute(
        "select table_name, column_name, comment from duckdb_columns() where " + MAIN
    ).fetchall()
    for t, c, comment in cols:
        assert comment == CATALOGUE[t].columns[c], (t, c)
    for name, doc in CATALOGUE.items():
        got = [r[0] for r in con.execute(f"select * from {name} limit 0").description]
        assert got == list(doc.columns), name


def test_data_dictionary_describes_every_column(built):
    con = open_read_only(built)
    dd = con.execute("select table_name, column_name, data_type, grain from data_dictionary").pl()
    cols = con.execute(
        "select table_name, column_name, data_type from duckdb_columns() where " + MAIN
    ).pl()
    assert dd.height == cols.height == sum(len(d.columns) for d in CATALOGUE.values())
    assert dd.join(cols, on=["table_name", "column_name", "data_type"]).height == dd.height
    persons = con.execute("select count(*) from mart_persons").fetchone()[0]
    assert persons == 150
    types = dict(
        con.execute(
            "select column_name, data_type from duckdb_columns() "
            "where table_name = 'mart_bridge_scores'"
        ).fetchall()
    )
    assert types["domain"] == "VARCHAR"
    assert con.execute("select count(*) from mart_goals where is_achieved").fetchone()[0] > 0


def test_read_only_open_works_and_writes_fail(built):
    assert stat.S_IMODE(built.stat().st_mode) == 0o644
    con = open_read_only(built)
    assert con.execute("select count(*) from mart_bridge_scores").fetchone()[0] == 150 * 9
    with pytest.raises(duckdb.Error):
        con.execute("delete from mart_persons")
    with pytest.raises(duckdb.Error):
        con.execute("create table x (a int)")
    con.close()


def test_vetoing_hook_leaves_previous_byte_identical(tmp_path):
    target = tmp_path / "research.duckdb"
    build(target, "r1")
    before = target.read_bytes()
    seen = []

    def veto(path: Path) -> list[str]:
        seen.append(path)
        assert path.exists() and path.parent == target.parent and path != target
        with open_read_only(path) as con:  # the hook can inspect the finished file
            assert con.execute("select release_id from meta_release").fetchall()[-1] == ("r2",)
        return ["k_anonymous failed"]

    ledger = DuckDBLedger(tmp_path / "staging.duckdb")
    with pytest.raises(ReleaseVetoedError, match="k_anonymous"):
        build(target, "r2", validate_before_swap=veto, previous=target, ledger=ledger)
    assert seen
    assert target.read_bytes() == before
    assert leftovers(target) == ["staging.duckdb"]
    assert ledger.releases() == []  # a refused release is not in the steward's ledger


def test_accepting_hook_swaps(tmp_path):
    target = tmp_path / "research.duckdb"
    report = build(target, "r1", validate_before_swap=lambda p: [])
    assert report.path == target and report.rows["mart_persons"] == 150
    assert leftovers(target) == []


def test_exception_midway_leaves_previous_intact(tmp_path, monkeypatch):
    target = tmp_path / "research.duckdb"
    build(target, "r1")
    before = target.read_bytes()

    def boom(con):
        raise RuntimeError("disk full")

    monkeypatch.setattr(build_module, "_document", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        build(target, "r2", previous=target)
    assert target.read_bytes() == before
    assert leftovers(target) == []
    with open_read_only(target) as con:
        assert con.execute("select release_id from meta_release").fetchall() == [("r1",)]


def test_undocumented_column_is_refused(tmp_path):
    target = tmp_path / "research.duckdb"
    frames = make_frames()
    frames["persons"] = frames["persons"].with_columns(postcode=pl.lit("9711AB"))
    with pytest.raises(ValueError, match="not documented"):
        build(target, frames=frames)
    assert leftovers(target) == [] and not target.exists()


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {tests!r})
    import polars as pl
    from test_marts_build import make_frames, release
    from assets.marts.build import build_research_database
    frames = make_frames(n=200_000, measurements=4)
    build_research_database(Path({target!r}), frames=frames, aggregates=None,
                            release=release("r2"), previous=Path({target!r}))
    """
)


def test_sigkill_midway_leaves_previous_release_openable(tmp_path):
    target = tmp_path / "research.duckdb"
    build(target, "r1")
    before = target.read_bytes()
    script = KILL_SCRIPT.format(
        root=str(ROOT), tests=str(Path(__file__).parent), target=str(target)
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        tmp = []
        while time.monotonic() < deadline and proc.poll() is None:
            tmp = [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
            if tmp:
                break
            time.sleep(0.01)
        assert tmp, f"the build never created its temporary file (exit {proc.poll()})"
        time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == before
    with open_read_only(target) as con:
        assert con.execute("select release_id from meta_release").fetchall() == [("r1",)]
    assert any(".tmp-" in p.name for p in tmp_path.iterdir())
    build(target, "r2", previous=target)  # the next build removes the dead build's file
    assert leftovers(target) == []


def test_steward_ledger_accumulates_and_the_file_holds_this_release(tmp_path):
    """The steward's ledger keeps every release's cells; research.duckdb's release_ledger only
    the current release's (a file with every release's cells would let anyone difference the
    releases from one file); meta_release keeps the register of every release."""
    target = tmp_path / "research.duckdb"
    steward = DuckDBLedger(tmp_path / "staging.duckdb")
    frames = make_frames()
    build(target, "r1", ledger=steward, frames=frames)
    with open_read_only(target) as con:
        n_r1 = con.execute("select count(*) from release_ledger").fetchone()[0]
    build(target, "r2", ledger=steward, frames=frames, previous=target)
    assert steward.releases() == ["r1", "r2"]
    con = open_read_only(target)
    per_release = dict(
        con.execute("select release_id, count(*) from release_ledger group by all").fetchall()
    )
    assert per_release == {"r2": n_r1} and n_r1 > 0
    assert [
        r[0] for r in con.execute("select release_id from meta_release order by 1").fetchall()
    ] == ["r1", "r2"]
    # suppressed cells carry no value in the analysts' file, but the steward keeps it
    assert (
        con.execute(
            "select count(*) from release_ledger where is_suppressed and value is not null"
        ).fetchone()[0]
        == 0
    )
    n_sup = con.execute("select count(*) from release_ledger where is_suppressed").fetchone()[0]
    true = steward.published().filter(pl.col("suppressed"), pl.col("release_id") == "r2")
    assert n_sup == true.height > 0
    assert true["value"].null_count() == 0
    # the previous edition as analysts saw it comes from the steward's ledger (the report's
    # "change since the previous edition"): r1's published cells, no value where suppressed
    seen = steward.release_rows("r1")
    assert seen.height == n_r1
    assert seen.filter(pl.col("is_suppressed"))["value"].null_count() == seen["is_suppressed"].sum()
    assert steward.release_rows("never").height == 0
    con.close()
    with pytest.raises(ValueError, match="already"):
        build(target, "r2", frames=frames, previous=target)


def test_no_table_but_mart_persons_has_a_person_id(built):
    con = open_read_only(built)
    cols = con.execute(
        "select table_name, column_name from duckdb_columns() where " + MAIN
    ).fetchall()
    with_person = {t for t, c in cols if c == "person_id"}
    assert with_person == {"mart_persons"}
    assert not {c for _, c in cols if c in ("episode_id", "unit_id")}
    # every microdata table is stored in the order of its own random id
    for table, ident in (
        ("mart_persons", "person_id"),
        ("mart_bridge_scores", "trajectory_id"),
        ("mart_goals", "goal_profile_id"),
    ):
        ids = [r[0] for r in con.execute(f"select {ident} from {table}").fetchall()]
        assert ids == sorted(ids), table


def test_meta_release_holds_no_key_material(built, test_key_hex):
    con = open_read_only(built)
    row = con.execute("select * from meta_release").pl().row(0, named=True)
    assert row["key_id"] == KEY_ID
    assert row["k_achieved"] == 5 and row["persons_suppressed"] == 3
    assert row["cells_suppressed_primary"] >= 0 and row["code_version"] == "test"
    assert "intervals" not in row["parameters_json"]
    con.close()
    raw = built.read_bytes()
    assert test_key_hex.encode() not in raw and bytes.fromhex(test_key_hex) not in raw
    with pytest.raises(ValueError, match="key"):
        ReleaseInfo(release_id="r", key_id=test_key_hex)
    with pytest.raises(ValueError, match="key material"):
        ReleaseInfo(release_id="r", key_id=KEY_ID, parameters={"pseudonym_key": "x"})
    with pytest.raises(ValueError, match="key material"):
        ReleaseInfo(release_id="r", key_id=KEY_ID, parameters={"note": test_key_hex})
