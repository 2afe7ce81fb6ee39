"""One canary value planted in every kind of bad input: it may stay in the raw data (the landing
files, the raw schema) and nowhere else — not on the console, not in any file under
data/dagster_home (event log, compute logs), not in quarantine or any other non-raw schema of
staging.duckdb, not in the release, not in the report."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import Settings
from tests.reliability.conftest import run

pytestmark = pytest.mark.filterwarnings("ignore:HarfBuzz-Subset:DeprecationWarning")

CANARY = "918273645"


def _rewrite_lines(path: Path, edit: Callable[[list[str]], list[str]], encoding: str) -> None:
    lines = path.read_text(encoding=encoding).split("\n")
    path.write_text("\n".join(edit(lines)), encoding=encoding)


def _set_field(lines: list[str], header: list[str], skip: int, column: str, value: str) -> None:
    """Set ``column`` of the ``skip``-th unquoted data line to ``value`` (';'-separated)."""
    plain = [i for i, line in enumerate(lines[1:], 1) if line and '"' not in line]
    i = plain[skip]
    fields = lines[i].split(";")
    fields[header.index(column)] = value
    lines[i] = ";".join(fields)


def _plant_row_level(landing: Path) -> None:
    """Defects the run quarantines (it still releases): a ragged row, a NUL byte in a code
    column, an age and a number of children far out of range."""

    def edit(lines: list[str]) -> list[str]:
        header = lines[0].split(";")
        _set_field(lines, header, 3, "geslacht", "m\x00" + CANARY)
        _set_field(lines, header, 5, "geboortedatum", "")
        _set_field(lines, header, 5, "leeftijd_bij_intake", CANARY)
        _set_field(lines, header, 7, "aantal_kinderen", CANARY)
        ragged = ";".join(["KG-9999991", CANARY, "x"])
        return [*lines[:-1], ragged, lines[-1]] if lines[-1] == "" else [*lines, ragged]

    _rewrite_lines(landing / "groningen" / "deelnemers.csv", edit, "utf-8")


def _leaks(settings: Settings, console: str) -> list[str]:
    """Every place outside the raw data that holds the canary."""
    found = ["console"] if CANARY in console else []
    data = settings.paths.data_dir
    raw_places = {settings.paths.landing, settings.paths.staging_db}
    for f in sorted(data.rglob("*")):
        if not f.is_file() or f.suffix == ".duckdb" or f.name.endswith(".duckdb.wal"):
            continue
        if any(f == p or p in f.parents for p in raw_places):
            continue
        if CANARY.encode() in f.read_bytes():
            found.append(str(f.relative_to(data)))
    for db, skip in ((settings.paths.staging_db, "raw"), (settings.paths.research_db, None)):
        if not db.exists():
            continue
        with duckdb.connect(str(db), read_only=True) as con:
            tables = con.execute(
                "select schema_name, table_name from duckdb_tables() where schema_name <> ?",
                [skip or ""],
            ).fetchall()
            for schema, table in tables:
                hits = con.execute(
                    f'select count(*) from "{schema}"."{table}" as t '
                    "where contains(cast(t as varchar), ?)",
                    [CANARY],
                ).fetchone()[0]
                if hits:
                    found.append(f"{db.name}:{schema}.{table}")
    return found


def test_canary_in_every_bad_input_stays_in_the_raw_data(deployment, capfd) -> None:
    settings = deployment
    landing = settings.paths.landing
    backup = settings.paths.data_dir.parent / "landing_backup"
    shutil.copytree(landing, backup)

    # 1. Row-level defects: quarantined, the release goes ahead.
    _plant_row_level(landing)
    assert run(settings), "row-level defects must not stop the release"
    out = capfd.readouterr()
    console = out.out + out.err
    with duckdb.connect(str(settings.paths.staging_db), read_only=True) as con:
        rules = {
            r[0]
            for r in con.execute(
                "select rule from quarantine.rows where source_file = 'groningen/deelnemers.csv'"
            ).fetchall()
        }
    assert {"field_count", "unknown_code", "age_out_of_range", "count_out_of_range"} <= rules
    with duckdb.connect(str(settings.paths.staging_db), read_only=True) as con:
        raw = con.execute(
            "select count(*) from raw.groningen__participants as t "
            "where contains(cast(t as varchar), ?)",
            [CANARY],
        ).fetchone()[0]
    assert raw == 4  # the canary is in the raw data the scan leaves out

    # 2. File-level defects: each fails the run with a message naming file, line and rule.
    requests = settings.governance.requests_file
    requests.parent.mkdir(parents=True, exist_ok=True)
    file_level = {
        "requests unclosed quote": lambda: requests.write_text(
            "bsn,request,received_on,reference\n"
            f'"{CANARY},erasure,2026-01-02,R-1\n111222333,objection,2026-01-03,R-2\n'
        ),
        "landing unclosed quote": lambda: _rewrite_lines(
            landing / "groningen" / "doelen.csv",
            lambda lines: [*lines[:2], f'"{CANARY};x', *lines[2:]],
            "utf-8",
        ),
        "UTF-8 where Latin-1 is specified": lambda: (
            landing / "aalsmeer" / "huishoudens.csv"
        ).write_text(
            (landing / "aalsmeer" / "huishoudens.csv").read_text(encoding="latin-1")
            + f"Joëlle {CANARY}\n",
            encoding="utf-8",
        ),
    }
    for name, plant in file_level.items():
        shutil.rmtree(landing)
        shutil.copytree(backup, landing)
        requests.unlink(missing_ok=True)
        plant()
        assert not run(settings), name
        out = capfd.readouterr()
        console += out.out + out.err
        assert "rule" in out.out + out.err, f"{name}: the failure names no rule"

    leaks = _leaks(settings, console)
    assert not leaks, f"the canary leaked into: {leaks}"
    # Positive controls: the scan finds the canary where it is put.
    assert _leaks(settings, f"x{CANARY}x") == ["console"]
    (settings.paths.dagster_home / "planted.log").write_text(CANARY)
    assert _leaks(settings, "") == ["dagster_home/planted.log"]
