"""Bad landing files and request files: clear errors naming file, line and rule, never a value;
row-level defects kept for quarantine so the rest of the file loads."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.governance.requests import RequestFileError, read_requests
from assets.raw import csvtext
from assets.raw.contracts import ExportSpec
from assets.raw.reader import LandingFileError, read_export
from assets.staging import schema
from assets.staging.adapters import ADAPTERS, groningen
from assets.staging.adapters.base import AdapterResult
from assets.staging.load import Staged, stage
from pipelines.resources import StagingDatabase
from tests.fixture_landing import FIXTURE_LANDING, write_fixture_exports

CANARY = "987654321"  # a value that must never appear in a message
SPEC = ExportSpec(name="plans", pattern="plannen*.csv", separator=";")


def _landing(tmp_path: Path, content: bytes, name: str = "plannen.csv") -> Path:
    (tmp_path / "breda").mkdir(exist_ok=True)
    (tmp_path / "breda" / name).write_bytes(content)
    return tmp_path


def test_ragged_rows_are_kept_and_marked_field_count(tmp_path: Path) -> None:
    content = (
        "id;bsn;bedrag\n"
        "1;111222333;5\n"
        f"2;{CANARY}\n"  # truncated: 2 of 3 fields
        f"3;{CANARY};7;extra\n"  # one field too many
        "4;111222333;8\n"
    ).encode()
    export = read_export(_landing(tmp_path, content), "breda", SPEC)
    df = export.data
    assert df.height == 4 and export.manifest["rows"].to_list() == [4]
    assert df["_defect"].to_list() == [None, "field_count", "field_count", None]
    assert df["_source_row"].to_list() == [1, 2, 3, 4]
    assert df["bedrag"].to_list() == ["5", None, "7", "8"]  # cut to the header's width


def test_well_formed_file_has_no_defect_column(tmp_path: Path) -> None:
    export = read_export(_landing(tmp_path, b"id;bsn\n1;2\n"), "breda", SPEC)
    assert "_defect" not in export.data.columns


def test_unclosed_quote_names_file_line_and_rule_not_values(tmp_path: Path) -> None:
    content = f'id;bsn;bedrag\n1;111222333;5\n2;"{CANARY};6\n3;{CANARY};7\n'.encode()
    with pytest.raises(LandingFileError) as err:
        read_export(_landing(tmp_path, content), "breda", SPEC)
    message = str(err.value)
    assert "breda/plannen.csv, line 3" in message and "unclosed_quote" in message
    assert CANARY not in message and err.value.__cause__ is None


def test_header_only_file_reads_as_no_rows(tmp_path: Path) -> None:
    export = read_export(_landing(tmp_path, b"id;bsn;bedrag\n"), "breda", SPEC)
    assert export.data.height == 0 and export.manifest["rows"].to_list() == [0]


def test_utf8_file_where_latin1_is_specified_is_detected(tmp_path: Path) -> None:
    spec = ExportSpec(name="plans", pattern="plannen*.csv", separator=";", encoding="latin-1")
    content = "id;naam\n1;Jan\n2;Joëlle\n".encode()
    with pytest.raises(LandingFileError) as err:
        read_export(_landing(tmp_path, content), "breda", spec)
    assert "line 3" in str(err.value) and "encoding_mismatch" in str(err.value)
    assert "Jo" not in str(err.value)
    # A real Latin-1 file still reads.
    good = _landing(tmp_path, "id;naam\n2;Joëlle\n".encode("latin-1"))
    assert read_export(good, "breda", spec).data["naam"].to_list() == ["Joëlle"]


def test_latin1_byte_in_utf8_file_names_the_line(tmp_path: Path) -> None:
    content = "id;naam\n1;Jan\n2;Joëlle\n".encode("latin-1")
    with pytest.raises(LandingFileError, match=r"plannen\.csv, line 3: .*rule encoding"):
        read_export(_landing(tmp_path, content), "breda", SPEC)


def test_symlink_fifo_and_folder_are_refused_by_name(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(f"id;bsn\n1;{CANARY}\n")
    (tmp_path / "breda").mkdir()
    (tmp_path / "breda" / "plannen_link.csv").symlink_to(secret)
    with pytest.raises(LandingFileError, match=r"breda/plannen_link\.csv: a symbolic link"):
        read_export(tmp_path, "breda", SPEC)
    (tmp_path / "breda" / "plannen_link.csv").unlink()
    os.mkfifo(tmp_path / "breda" / "plannen_pipe.csv")
    with pytest.raises(LandingFileError, match=r"plannen_pipe\.csv: is a pipe"):
        read_export(tmp_path, "breda", SPEC)  # returns at once: never blocks on the FIFO
    (tmp_path / "breda" / "plannen_pipe.csv").unlink()
    (tmp_path / "breda" / "plannen_dir.csv").mkdir()
    with pytest.raises(LandingFileError, match=r"plannen_dir\.csv: is a folder"):
        read_export(tmp_path, "breda", SPEC)


REQUEST_HEADER = "bsn,request,received_on,reference\n"
BAD_REQUEST_FILES = {
    "unclosed_quote": (
        REQUEST_HEADER + f'111222333,erasure,2026-01-01,R1\n"{CANARY},erasure,2026-01-02,R2\n'
        f"{CANARY},objection,2026-01-03,R3\n",
        "line 3",
    ),
    "field_count": (
        REQUEST_HEADER + f"{CANARY},erasure,2026-01-01,R1,extra\n",
        "line(s) [2]",
    ),
    "encoding": (
        REQUEST_HEADER + f"{CANARY},erasure,2026-01-01,Référence\n",
        "line 2",
    ),
}


@pytest.mark.parametrize("rule", sorted(BAD_REQUEST_FILES))
def test_bad_request_file_names_file_line_and_rule_never_a_bsn(tmp_path: Path, rule: str) -> None:
    text, where = BAD_REQUEST_FILES[rule]
    path = tmp_path / "requests.csv"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(RequestFileError) as err:
        read_requests(path)
    message = str(err.value)
    assert str(path) in message and where in message and f"rule {rule}" in message
    assert CANARY not in message and "111222333" not in message


def _staged_with(tmp_path: Path, edit) -> tuple[StagingDatabase, Staged]:
    """The fixture landing folder, edited by ``edit(landing)``, read and staged."""
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURE_LANDING, landing)
    edit(landing)
    db = write_fixture_exports(tmp_path / "staging.duckdb", landing)
    return db, stage(db, list(ADAPTERS))


def _append_breda(landing: Path, lines: list[str], *, replace_first: str | None = None) -> None:
    path = landing / "breda" / "doorbraakplannen.csv"
    text = path.read_text()
    if replace_first is not None:
        head, _, rest = text.split("\n", 2)
        text = "\n".join([head, replace_first, rest])
    path.write_text(text + "".join(line + "\n" for line in lines))


def test_ragged_rows_quarantined_with_field_count_rest_of_file_staged(tmp_path: Path) -> None:
    plans = (FIXTURE_LANDING / "breda" / "doorbraakplannen.csv").read_text().splitlines()
    data_rows = len(plans) - 1
    first = plans[1].split(";")
    assert len(first) == 21
    ok = ";".join(["DB-09001", *first[1:]])
    short = ";".join(["DB-09002", CANARY, "m"])  # truncated
    wide = ";".join(["DB-09003", CANARY, *first[2:], "x", "y"])  # 23 fields
    db, staged = _staged_with(tmp_path, lambda landing: _append_breda(landing, [ok, short, wide]))
    q = staged.quarantine.filter(pl.col("rule") == "field_count")
    assert q.select("source_file", "source_row").rows() == [
        ("breda/doorbraakplannen.csv", data_rows + 2),
        ("breda/doorbraakplannen.csv", data_rows + 3),
    ]
    assert CANARY not in " ".join(q["detail"].to_list())
    assert staged.conservation.passed, staged.conservation.description
    with db.connect(read_only=True) as con:
        ids = {r[0] for r in con.execute("select episode_id from canonical.episodes").fetchall()}
    assert "DB-09001" in ids and "DB-09002" not in ids and "DB-09003" not in ids


def test_header_only_export_and_nul_byte_code_value_load(tmp_path: Path) -> None:
    def edit(landing: Path) -> None:
        plans = landing / "breda" / "doorbraakplannen.csv"
        header = plans.read_text().split("\n", 1)[0]
        (landing / "breda" / "doorbraakplannen_leeg.csv").write_text(header + "\n")
        first = plans.read_text().split("\n")[1].split(";")
        first[2] = "m\x00" + CANARY  # geslacht: a code-like column, with a NUL byte
        _append_breda(landing, [], replace_first=";".join(first))

    db, staged = _staged_with(tmp_path, edit)
    assert staged.conservation.passed, staged.conservation.description
    balance = staged.balance.filter(pl.col("source_file") == "breda/doorbraakplannen_leeg.csv")
    assert balance.is_empty() or balance["raw_rows"].to_list() == [0]
    with db.connect(read_only=True) as con:
        types = dict(
            con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where table_name = 'breda__plans'"
            ).fetchall()
        )
    assert types["geslacht"] == "VARCHAR"  # a value with a control character stays text
    assert types["_source_file"].startswith("ENUM(")


def _groningen_with(changes: list[dict[str, str]]) -> tuple[int, AdapterResult]:
    """Groningen's fixture exports plus copies of participant row 1 with ``changes`` (a new
    id each); returns the first appended row's number and the adapter's result."""
    raw = {s.name: read_export(FIXTURE_LANDING, "groningen", s).data for s in groningen.EXPORTS}
    participants = raw["participants"]
    first = participants.filter(pl.col("_source_row") == 1)
    n = participants.height
    extra = [
        first.with_columns(
            pl.lit(f"KG-99{i:05d}").alias("deelnemer_id"),
            pl.lit(n + 1 + i, pl.Int64).alias("_source_row"),
            *[pl.lit(v).alias(k) for k, v in change.items()],
        )
        for i, change in enumerate(changes)
    ]
    raw["participants"] = pl.concat([participants, *extra])
    return n + 1, groningen.adapt(raw)


def test_row_level_defects_are_quarantined_with_their_rule_not_stopping_staging() -> None:
    future = (dt.date.today() + dt.timedelta(days=40)).strftime("%d-%m-%Y")
    changes = {
        "age_out_of_range": {"geboortedatum": "", "leeftijd_bij_intake": "150"},
        "age_out_of_range ": {"geboortedatum": "", "leeftijd_bij_intake": "-3"},
        "count_out_of_range": {"aantal_kinderen": "40000"},
        "count_out_of_range ": {"aantal_kinderen": "99999"},
        "birth_after_start": {"geboortedatum": "01-01-2024", "startdatum": "01-01-2022"},
        "date_in_future": {"startdatum": future, "einddatum": ""},
        "date_in_future ": {"geboortedatum": future},
    }
    start, result = _groningen_with(list(changes.values()))
    q = result.quarantine.filter(
        (pl.col("source_file") == "groningen/deelnemers.csv") & (pl.col("source_row") >= start)
    ).sort("source_row")
    assert q["rule"].to_list() == [r.strip() for r in changes]
    assert not any(v in d for d in q["detail"] for v in ("150", "40000", "99999", "2024"))
    # The staged tables conform: no cast error (which would print the value).
    persons = schema.conform(result.tables["persons"], schema.PERSONS)
    assert persons["age_at_intake"].max() <= 120


def test_conform_error_never_prints_the_value() -> None:
    df = pl.DataFrame({"n": [1, 40000]})
    with pytest.raises(ValueError, match=r"\['n'\]") as err:
        schema.conform(df, {"n": pl.Int16()})
    assert "40000" not in str(err.value)


@pytest.mark.parametrize("fast", [True, False])
def test_strict_parse_reads_every_fixture_export_as_polars_does(
    fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both paths of :func:`parse_text` (no quotes: polars counts the fields; otherwise the csv
    pass) give exactly polars' frame on well-formed exports."""
    if not fast:
        monkeypatch.setattr(csvtext, "_without_quotes", lambda *args: None)
    for org, adapter in ADAPTERS.items():
        for spec in adapter.EXPORTS:
            for f in sorted((FIXTURE_LANDING / org).glob(spec.pattern)):
                text = f.read_bytes().decode(spec.encoding).removeprefix("\ufeff")
                expected = pl.read_csv(
                    io.BytesIO(text.encode()),
                    separator=spec.separator,
                    infer_schema=False,
                    empty_string_is_null=True,
                )
                parsed = csvtext.parse_text(text, spec.separator, f.name)
                assert_frame_equal(parsed.data, expected)
                assert parsed.ragged_lines == []
