"""Retention, erasure, objection and restriction applied to the steward's database."""

import datetime as dt
import json
from dataclasses import replace

import dagster as dg
import duckdb
import polars as pl
import pytest

from anonymise.pseudonym import pseudonym
from assets.governance.access import person_records
from assets.governance.requests import RequestFileError, read_requests
from assets.governance.retention import RetentionPolicy, Term, expired_persons
from assets.raw.partitions import all_partitions_tags
from pipelines.definitions import ALL_JOB, build_definitions
from pipelines.resources import read_frame
from synthetic import generate


def test_terms_parse_and_reject_nonsense() -> None:
    assert (
        Term("10y").offset == "10y" and Term("6w").offset == "6w" and Term("18m").offset == "18mo"
    )
    with pytest.raises(ValueError, match="not a number followed by"):
        Term("ten years")
    with pytest.raises(ValueError, match="unknown organisation"):
        RetentionPolicy.from_mapping({"utrecht": {"completed": "1y"}})


def test_expiry_follows_organisation_and_end_reason() -> None:
    ep = pl.DataFrame(
        {
            "organisation": ["aalsmeer", "aalsmeer", "groningen", "groningen", "groningen"],
            "source_person_id": ["a", "b", "c", "c", "d"],
            "end_date": [
                dt.date(2026, 9, 1),
                dt.date(2026, 10, 20),
                dt.date(2015, 1, 1),
                None,
                dt.date(2016, 1, 1),
            ],
            "end_reason": ["aborted", "aborted", "completed", "ongoing", None],
        }
    )
    out = expired_persons(ep, RetentionPolicy.from_mapping(), today=dt.date(2026, 11, 1))
    # a: aborted at Aalsmeer, 6 weeks passed; b: not yet; c: one episode ongoing; d: 10 years.
    assert out.select("organisation", "source_person_id").rows() == [
        ("aalsmeer", "a"),
        ("groningen", "d"),
    ]


def test_request_file_errors_name_the_row_not_the_bsn(tmp_path) -> None:
    f = tmp_path / "r.csv"
    f.write_text(
        "bsn,request,received_on,reference\n111222333,erasure,2026-01-02,R1\n"
        "123456789,bezwaar,2026-01-03,R2\n"
    )
    with pytest.raises(RequestFileError, match=r"row\(s\) \[2\]: the BSN") as err:
        read_requests(f)
    assert "123456789" not in str(err.value)
    f.write_text("bsn,request,received_on,reference\n1112.22.333,Bezwaar,2026-01-02,R1\n")
    assert read_requests(f).row(0, named=True)["request"] == "objection"
    assert read_requests(tmp_path / "absent.csv").height == 0


def _run(settings) -> None:
    with dg.instance_for_test() as instance:
        res = (
            build_definitions(settings)
            .resolve_job_def(ALL_JOB)
            .execute_in_process(instance=instance, raise_on_error=False, tags=all_partitions_tags())
        )
    assert res.success
    assert all(e.passed for e in res.get_asset_check_evaluations())


def _q(settings, sql: str, params=None):
    # read_frame: ENUM code columns (organisation, domain, source_file) as text
    with duckdb.connect(str(settings.paths.staging_db), read_only=True) as con:
        return read_frame(con, sql, params or [])


@pytest.mark.slow
def test_retention_erasure_and_objection_through_the_pipeline(settings_in, test_key_hex) -> None:
    gen_today = settings_in.synthetic.today
    generate(settings_in.paths.landing, people=500, seed=11, today=gen_today)
    # 1. A run with nothing expired yet, to see who is there.
    early = replace(
        settings_in, governance=replace(settings_in.governance, today=dt.date(2000, 1, 1))
    )
    _run(early)
    episodes = _q(
        early, "select organisation, source_person_id, end_date, end_reason from canonical.episodes"
    )
    persons = _q(early, "select organisation, source_person_id, bsn from canonical.persons")
    expected = expired_persons(
        episodes, RetentionPolicy.from_mapping(early.governance.retention), today=gen_today
    )
    assert expected.height > 0
    kept = persons.join(expected, on=["organisation", "source_person_id"], how="anti")
    erase_bsn, object_bsn = kept["bsn"][0], kept["bsn"][1]
    req = settings_in.governance.requests_file
    req.parent.mkdir(parents=True, exist_ok=True)
    req.write_text(
        f"bsn,request,received_on,reference\n{erase_bsn},erasure,2026-10-01,AVG-1\n"
        f"{object_bsn},objection,2026-10-02,AVG-2\n"
    )

    # 2. The real run, twice (requests are processed once; the purge repeats).
    now = replace(settings_in, governance=replace(settings_in.governance, today=gen_today))
    _run(now)
    _run(now)

    left = _q(now, "select organisation, source_person_id, bsn from canonical.persons")
    assert left.join(expected, on=["organisation", "source_person_id"], how="semi").height == 0
    assert erase_bsn not in left["bsn"].to_list()
    assert object_bsn in left["bsn"].to_list()  # objection keeps staging, not releases
    for (table,) in _q(
        now,
        "select table_name from information_schema.tables "
        "where table_schema = 'raw' and table_name <> 'manifest'",
    ).rows():
        raw = _q(now, f'select * from raw."{table}"')
        if "bsn" in raw.columns:
            assert erase_bsn not in raw["bsn"].str.strip_chars().to_list()
    excl = _q(now, "select * from meta.research_exclusions")
    key = bytes.fromhex(test_key_hex)
    assert excl.rows() == [(pseudonym(object_bsn, key=key, domain="bsn:v1:"), "objection")]
    log = _q(now, "select * from meta.request_log order by reference")
    assert log["reference"].to_list() == ["AVG-1", "AVG-2"]  # once each, though run twice
    audit = _q(now, "select * from meta.audit_log")
    text = log.write_csv() + audit.write_csv()
    assert erase_bsn not in text and object_bsn not in text
    counts = json.loads(audit.sort("logged_at")["counts"][-1])
    # Access request (inzage): exactly the objector's records, nobody else's.
    with duckdb.connect(str(now.paths.staging_db), read_only=True) as con:
        records = person_records(con, object_bsn)
        for table, rows in records["raw"].items():
            raw = con.execute(f'select * from raw."{table}"').pl()
            if "bsn" in raw.columns:
                mine = raw.filter(
                    pl.col("bsn").str.replace_all(r"[\s.\-]", "") == object_bsn
                ).height
                assert len(rows) >= mine
    assert records["canonical"]["persons"]
    assert {p["bsn"] for p in records["canonical"]["persons"]} == {object_bsn}
    other_bsns = set(left["bsn"].to_list()) - {object_bsn}
    export = json.dumps(records, default=str)
    assert not [b for b in other_bsns if b in export]
    assert erase_bsn not in export

    # The organisations' exports still hold them, so every run purges them again and says how
    # many landing rows the steward should have replaced.
    assert counts["persons_past_retention"] == expected.height
    assert counts["landing_rows_still_present"] > 0


def test_key_rotation_and_destruction(tmp_path, monkeypatch, capsys) -> None:
    from pipelines.cli import main

    cfg = tmp_path / "brugstat.toml"
    cfg.write_text(
        '[project]\nname = "p1"\n[paths]\ndata_dir = "d"\nlanding = "d/l"\n'
        'staging_db = "d/s.duckdb"\nresearch_db = "d/r.duckdb"\ndagster_home = "d/h"\n'
        'key_file = "keys/p1.key"\n'
    )
    monkeypatch.setenv("BRUGSTAT_CONFIG", str(cfg))
    monkeypatch.delenv("BRUGSTAT_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("BRUGSTAT_DATA_DIR", raising=False)
    assert main(["key", "create"]) == 0
    old_id = capsys.readouterr().out.split("key id ")[1][:16]
    assert main(["key", "rotate", "--project", "p2"]) == 0
    out = capsys.readouterr().out
    new_key = tmp_path / "keys" / "p2.key"
    assert new_key.exists() and oct(new_key.stat().st_mode & 0o777) == "0o600"
    assert old_id not in out  # a different key
    assert main(["key", "destroy", "--yes"]) == 0
    assert "cannot be recovered" in capsys.readouterr().out
    assert not (tmp_path / "keys" / "p1.key").exists()


def test_loose_permissions_fail_the_access_check(tmp_path) -> None:
    from quality.access import check_private_files

    f = tmp_path / "staging.duckdb"
    f.write_bytes(b"x")
    f.chmod(0o600)
    assert check_private_files([f, tmp_path / "absent.wal"]).passed
    f.chmod(0o644)
    outcome = check_private_files([f])
    assert not outcome.passed and "chmod 600" in outcome.description


def test_processing_register_reaches_the_asset_descriptions(settings_in) -> None:
    from pipelines.definitions import build_definitions

    graph = build_definitions(settings_in).resolve_asset_graph()
    text = graph.get(dg.AssetKey("raw_exports")).description
    assert "Verwerkingsregister" in text and "6 weken bij afbreken" in text
    # under its organisation's heading (the asset describes every partition)
    aalsmeer = text.split("**aalsmeer**", 1)[1].split("**hengelo**", 1)[0]  # contract order
    assert "6 weken bij afbreken" in aalsmeer
