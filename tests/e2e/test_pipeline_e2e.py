"""The whole foundation through Dagster on a small synthetic set: every check passes, nothing
identifying reaches the pseudonymised layer, and the steward's database is private."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets.raw.partitions import all_partitions_tags
from assets.staging.schema import ENTITIES
from pipelines.definitions import ALL_JOB, build_definitions
from synthetic import generate

pytestmark = pytest.mark.slow


@pytest.fixture
def materialised(settings_in):
    generate(settings_in.paths.landing, people=400, seed=7, today=settings_in.synthetic.today)
    defs = build_definitions(settings_in)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(ALL_JOB).execute_in_process(
            instance=instance, raise_on_error=False, tags=all_partitions_tags()
        )
        yield settings_in, result


def _landing_bsns(landing: Path) -> set[str]:
    found: set[str] = set()
    for f in landing.rglob("*.csv"):
        text = f.read_bytes().decode("latin-1")
        found |= set(re.findall(r"(?<!\d)\d{9}(?!\d)", text))
    return found


def test_every_asset_materialises_and_every_check_passes(materialised) -> None:
    _, result = materialised
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    names = {(e.asset_key.to_user_string(), e.check_name) for e in evaluations}
    assert ("staging_file_balance", "conservation") in names
    assert {f"pseudonymised_{e}" for e in ENTITIES} <= {
        a for a, c in names if c == "no_direct_identifiers"
    }
    assert all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]


def test_pseudonymised_layer_holds_no_landing_identifier(materialised) -> None:
    settings, _ = materialised
    bsns = _landing_bsns(settings.paths.landing)
    assert len(bsns) > 300
    with duckdb.connect(str(settings.paths.staging_db), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'pseudonymised'"
            ).fetchall()
        ]
        assert sorted(tables) == sorted(ENTITIES)
        for t in tables:
            df = con.execute(f'select * from pseudonymised."{t}"').pl()
            as_text = df.select(pl.all().cast(pl.String).str.strip_chars())
            leaked = as_text.select(pl.all().is_in(sorted(bsns)).any()).row(0)
            assert not any(leaked), f"pseudonymised.{t} holds landing BSNs"
            assert not {"bsn", "source_person_id", "house_number", "episode_id"} & set(df.columns)
        persons = con.execute(
            "select count(*), count(distinct person_pseudonym) from pseudonymised.persons"
        ).fetchone()
        assert persons[0] > 300 and persons[1] <= persons[0]


def test_staging_database_is_private_and_key_is_not_in_it(materialised, test_key_hex) -> None:
    settings, _ = materialised
    mode = stat.S_IMODE(settings.paths.staging_db.stat().st_mode)
    assert mode == 0o600
    content = settings.paths.staging_db.read_bytes()
    assert bytes.fromhex(test_key_hex) not in content and test_key_hex.encode() not in content
    with duckdb.connect(str(settings.paths.staging_db), read_only=True) as con:
        kid = con.execute("select key_id from meta.pseudonymisation_runs").fetchone()[0]
    assert len(kid) == 16


def test_conservation_balances_every_landing_file(materialised) -> None:
    settings, _ = materialised
    with duckdb.connect(str(settings.paths.staging_db), read_only=True) as con:
        balance = con.execute("select * from canonical.file_balance").pl()
        manifest = con.execute("select * from raw.manifest").pl()
        quarantined = con.execute("select count(*) from quarantine.rows").fetchone()[0]
    assert balance.height == manifest.height >= 9
    assert balance["balanced"].all()
    assert quarantined > 0  # the synthetic exports carry dirt
