"""``brugstat check-output`` without a full release: the SQL sandbox (issue 15 point 11), file
modes, ``;``-separated files, the release's group dimensions and code lists, and ACRO-style
sessions with a bundle for the steward's sign-off."""

from __future__ import annotations

import argparse
import hashlib
import json
import stat
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines import cli
from pipelines import output_checking as oc
from pipelines.output_checking import (
    OutputCheckError,
    OutputSession,
    check_result,
    read_result_table,
    run_query,
)
from pipelines.settings import Settings, load_settings

RULES = {
    "threshold": 10,
    "dominance": [1, 50.0],
    "p_percent": 10.0,
    "group_share": 0.9,
    "group_dims": ["level", "goal_reached", "end_reason"],
}


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A tiny research.duckdb with a release record and a mart, a steward database beside it
    holding pseudonyms, and a key file: what the exploits of issue 15 went after."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("BRUGSTAT_DATA_DIR", str(data))
    settings = load_settings().with_data_dir(data)
    params = json.dumps({"threshold": 10, "aggregates": {"rules": RULES}})
    with duckdb.connect(str(settings.paths.research_db)) as con:
        con.execute(
            "create table meta_release as select 'R1' as release_id, "
            "timestamp '2026-01-01' as built_at, ? as parameters_json",
            [params],
        )
        con.execute(
            "create table mart_persons as select * from (values "
            "('Groningen', 'afgerond'), ('Groningen', 'afgebroken'), ('Breda', 'geweigerd'), "
            "('Breda', '*')) t(gemeente, end_reason)"
        )
    with duckdb.connect(str(settings.paths.staging_db)) as con:
        con.execute("create table person as select 'BSN-CANARY-123456782' as bsn")
    key = tmp_path / "project.key"
    key.write_text("KEY-CANARY-" + "ab" * 16)
    return settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the SQL sandbox ------------------------------------------------------------------------


def test_a_select_runs_on_the_research_database(deployment: Settings) -> None:
    df = run_query(
        deployment.paths.research_db, "select gemeente, count(*) n from mart_persons group by 1"
    )
    assert sorted(df["gemeente"].to_list()) == ["Breda", "Groningen"]


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_text('{key}')",
        "select content from read_text('{key}') where true",
        "attach '{staging}' as s",
        "attach '{staging}' as s; select * from s.person",
        "select 1; select 2",
        "pragma database_list",
        "copy (select 1) to '{out}'",
        "select * from read_csv('{key}')",
        "select * from glob('*')",
        "set enable_external_access = true",
        "install httpfs",
        "create table x as select 1",
    ],
)
def test_analysts_sql_cannot_leave_the_research_database(
    deployment: Settings, tmp_path: Path, sql: str
) -> None:
    q = sql.format(
        key=tmp_path / "project.key", staging=deployment.paths.staging_db, out=tmp_path / "o.csv"
    )
    with pytest.raises(OutputCheckError) as err:
        run_query(deployment.paths.research_db, q)
    assert "CANARY" not in str(err.value)
    assert not (tmp_path / "o.csv").exists()


def test_the_sandbox_holds_even_when_the_statement_check_is_bypassed(
    deployment: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "project.key"
    # positive control: a plain read-only connection (the old run_query) reads the key file
    with duckdb.connect(str(deployment.paths.research_db), read_only=True) as con:
        assert "CANARY" in con.execute(f"select content from read_text('{key}')").fetchone()[0]
    monkeypatch.setattr(oc, "validate_query", lambda sql: None)
    for sql in (
        f"select content from read_text('{key}')",
        f"attach '{deployment.paths.staging_db}' as s",
        "set enable_external_access = true",
        "set lock_configuration = false",
    ):
        with pytest.raises(OutputCheckError) as err:
            run_query(deployment.paths.research_db, sql)
        assert "CANARY" not in str(err.value)


def test_records_are_private(deployment: Settings) -> None:
    out = check_result(
        deployment, sql="select gemeente, count(*) as n from mart_persons group by gemeente"
    )
    folder = out.record_path.parent
    assert _mode(folder) == 0o700
    for path in (out.record_path, out.summary_path, out.table_path):
        assert path is not None and _mode(path) == 0o600, path


# --- reading and rules ----------------------------------------------------------------------


def test_semicolon_files_with_a_decimal_comma(tmp_path: Path) -> None:
    path = tmp_path / "uit_excel.csv"
    path.write_text("wijk;aantal;aandeel\nNoord;14;33,5\nZuid;25;66,5\n", encoding="utf-8")
    df = read_result_table(path)
    assert df.columns == ["wijk", "aantal", "aandeel"]
    assert df["aandeel"].to_list() == [33.5, 66.5]
    comma = tmp_path / "gewoon.csv"
    comma.write_text("wijk,aantal\nNoord,14\n", encoding="utf-8")
    assert read_result_table(comma).columns == ["wijk", "aantal"]


def test_the_release_group_dims_apply_and_can_be_overridden(
    deployment: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "gemeenten.csv"
    pl.DataFrame({"gemeente": ["Groningen", "Breda"], "aantal": [3914, 3]}).write_csv(path)
    d = check_result(deployment, file=path).decision
    assert d.rules.group_dims == ("level", "goal_reached", "end_reason")
    assert d.cells["reason"].to_list() == [None, "primary:threshold"]
    every = check_result(deployment, file=path, group_dims="all").decision
    assert every.cells["suppressed"].to_list() == [True, True]


def test_code_lists_of_the_release_complete_the_grid(deployment: Settings, tmp_path: Path) -> None:
    path = tmp_path / "einde.csv"
    pl.DataFrame({"end_reason": ["afgerond", "afgebroken"], "n": [40, 30]}).write_csv(path)
    out = check_result(deployment, file=path)
    implicit = out.decision.cells.filter(pl.col("implicit"))
    assert implicit["end_reason"].to_list() == ["geweigerd"]  # '*' is not a code
    assert implicit["reason"].to_list() == ["primary:zero"]
    written = pl.read_csv(out.table_path, infer_schema_length=0)
    assert dict(zip(written["end_reason"], written["n"], strict=True)) == {
        "afgerond": "40",
        "afgebroken": "30",
        "geweigerd": "×",
    }
    observed = check_result(deployment, file=path, levels="observed").decision
    assert observed.cells["implicit"].sum() == 0


# --- sessions ---------------------------------------------------------------------------------


def _args(**kw) -> argparse.Namespace:
    base = dict(
        file=[],
        sql=None,
        kind="frequency",
        dims=None,
        margins=None,
        count=None,
        value=None,
        measure=None,
        no_ledger=False,
        name=None,
        group_dims=None,
        levels="release",
        session=None,
        justify=None,
        output=None,
        finalise=False,
    )
    base.update(kw)
    return argparse.Namespace(**base)


def test_a_session_bundle_for_the_stewards_sign_off(
    deployment: Settings, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good, small = tmp_path / "goed.csv", tmp_path / "klein.csv"
    pl.DataFrame({"gemeente": ["Groningen", "Breda"], "aantal": [40, 25]}).write_csv(good)
    pl.DataFrame({"gemeente": ["Groningen", "Breda"], "aantal": [40, 3]}).write_csv(small)
    rc = oc.run_check_output(deployment, _args(file=[good, small], session="rapport-q1"))
    assert rc == 1
    assert "justification needed for output_2" in capsys.readouterr().out
    session = OutputSession(deployment, "rapport-q1")
    assert [e["status"] for e in session.outputs] == ["pass", "suppressed"]
    with pytest.raises(OutputCheckError, match="output_2"):
        session.finalise()  # an exception without a justification
    rc = oc.run_check_output(
        deployment,
        _args(
            session="rapport-q1",
            output="output_2",
            justify="Breda is nodig voor de vergelijking",
            finalise=True,
        ),
    )
    assert rc == 0
    bundle = session.folder / "bundle"
    results = json.loads((bundle / "results.json").read_text())
    assert [o["justification"] for o in results["outputs"]] == [
        None,
        "Breda is nodig voor de vergelijking",
    ]
    assert results["outputs"][1]["reasons"] == {"primary:threshold": 1}
    for o in results["outputs"]:
        assert o["steward_decision"] is None and {f["role"] for f in o["files"]} >= {"record"}
        for f in o["files"]:
            p = bundle / f["file"]
            assert hashlib.sha256(p.read_bytes()).hexdigest() == f["sha256"]
            assert _mode(p) == 0o600
    table = next(f for f in results["outputs"][1]["files"] if f["role"] == "table")
    assert pl.read_csv(bundle / table["file"], infer_schema_length=0)["aantal"].to_list() == [
        "40",
        "×",
    ]
    rows = pl.read_csv(bundle / "results.csv")
    assert rows["status"].to_list() == ["pass", "suppressed"] and _mode(bundle) == 0o700
    assert "<10" not in (bundle / "results.csv").read_text() + json.dumps(results)
    with pytest.raises(OutputCheckError, match="finalised"):
        session = OutputSession(deployment, "rapport-q1")
        session.justify("output_1", "te laat")


def test_command_line_session_and_hints(
    deployment: Settings, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "mensen.csv"
    pl.DataFrame({"gemeente": ["Groningen", "Breda"], "mensen": [40, 20]}).write_csv(path)
    assert cli.main(["check-output", str(path)]) == 2
    assert "--count COLUMN" in capsys.readouterr().err
    assert cli.main(["check-output", str(path), "--count", "mensen"]) == 0
    assert cli.main(["check-output", "--sql", "attach 'x.duckdb'"]) == 2
    assert "only a SELECT" in capsys.readouterr().err
    assert cli.main(["check-output", "--finalise"]) == 2
