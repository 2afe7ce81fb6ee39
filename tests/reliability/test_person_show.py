"""``brugstat person show``: BSN from stdin (never argv), a reference required, an audit entry
without the BSN, and one clean sentence (no traceback) for an unknown person."""

from __future__ import annotations

import io
import json
import shutil

import duckdb
import pytest

from assets.staging.adapters import ADAPTERS
from assets.staging.load import stage
from pipelines.access_request import show_person
from pipelines.cli import main
from tests.fixture_landing import FIXTURE_LANDING, write_fixture_exports

ABSENT = "111222333"  # passes the 11-proef, in no fixture


@pytest.fixture
def staged(settings_in):
    """The fixture exports staged into the test deployment's staging database."""
    landing = settings_in.paths.landing
    shutil.copytree(FIXTURE_LANDING, landing)
    db = write_fixture_exports(settings_in.paths.staging_db, landing)
    stage(db, list(ADAPTERS))
    with db.connect(read_only=True) as con:
        bsn = con.execute("select bsn from canonical.persons order by bsn limit 1").fetchone()[0]
    return settings_in, bsn


def _audit(settings) -> list[tuple]:
    with duckdb.connect(str(settings.paths.staging_db), read_only=True) as con:
        return con.execute(
            "select action, parameters, counts from meta.audit_log "
            "where action = 'access_request' order by logged_at"
        ).fetchall()


def test_bsn_from_stdin_records_shown_and_audited_without_the_bsn(staged, tmp_path) -> None:
    settings, bsn = staged
    out, err = io.StringIO(), io.StringIO()
    rc = show_person(
        settings,
        reference="AVG-2026-17",
        export=None,
        stdin=io.StringIO(bsn + "\n"),
        out=out,
        err=err,
    )
    assert rc == 0, err.getvalue()
    records = json.loads(out.getvalue())
    assert records["canonical"]["persons"] and records["canonical"]["persons"][0]["bsn"] == bsn
    (entry,) = _audit(settings)
    assert "AVG-2026-17" in entry[1] and bsn not in " ".join(map(str, entry))
    assert json.loads(entry[2])["organisations"] >= 1


def test_unknown_person_is_one_clean_sentence_and_still_audited(staged) -> None:
    settings, _ = staged
    err = io.StringIO()
    rc = show_person(
        settings, reference="AVG-2026-18", export=None, stdin=io.StringIO(ABSENT), err=err
    )
    assert rc == 1
    message = err.getvalue()
    assert "no records of that BSN" in message and "Traceback" not in message
    assert ABSENT not in message
    (entry,) = _audit(settings)
    assert ABSENT not in " ".join(map(str, entry)) and json.loads(entry[2])["records"] == 0


@pytest.fixture
def cli_settings(settings_in, monkeypatch: pytest.MonkeyPatch):
    """``brugstat`` run against the test deployment, not the repository's data folder."""
    monkeypatch.setattr("pipelines.cli.load_settings", lambda: settings_in)
    return settings_in


def test_bsn_on_the_command_line_is_refused_without_echoing_it(cli_settings, capsys) -> None:
    assert main(["person", "show", "--bsn", ABSENT, "--reference", "R-1"]) == 2
    captured = capsys.readouterr()
    assert "never given on the command line" in captured.err
    assert ABSENT not in captured.out + captured.err


def test_reference_is_required(cli_settings, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["person", "show"])
    assert "--reference" in capsys.readouterr().err
