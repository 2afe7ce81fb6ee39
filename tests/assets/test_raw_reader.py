"""The raw reader keeps every row and value as text, with lineage and a manifest."""

import hashlib

import pytest

from assets.raw.contracts import ExportSpec
from assets.raw.reader import LandingFileError, read_export


def test_reads_text_with_lineage_and_manifest(tmp_path) -> None:
    org = tmp_path / "breda"
    org.mkdir()
    content = "\ufeffid;bsn;bedrag\n1;012345678;1.234,56\n2; 111222333 ;\n".encode()
    (org / "plannen_1.csv").write_bytes(content)
    spec = ExportSpec(name="plans", pattern="plannen*.csv", separator=";")
    export = read_export(tmp_path, "breda", spec)
    assert export.data.columns == ["id", "bsn", "bedrag", "_source_file", "_source_row"]
    assert export.data["bsn"].to_list() == ["012345678", " 111222333 "]  # nothing cleaned
    assert export.data["bedrag"].to_list() == ["1.234,56", None]  # empty = missing
    assert export.data["_source_row"].to_list() == [1, 2]
    m = export.manifest.row(0, named=True)
    assert m["source_file"] == "breda/plannen_1.csv" and m["rows"] == 2
    assert m["sha256"] == hashlib.sha256(content).hexdigest()


def test_latin1_file_read_as_utf8_names_the_file_not_the_value(tmp_path) -> None:
    (tmp_path / "aalsmeer").mkdir()
    (tmp_path / "aalsmeer" / "leden.csv").write_bytes("naam\nJoëlle\n".encode("latin-1"))
    wrong = ExportSpec(name="members", pattern="leden.csv")
    with pytest.raises(LandingFileError, match=r"aalsmeer/leden\.csv") as err:
        read_export(tmp_path, "aalsmeer", wrong)
    assert "Jo" not in str(err.value)
    right = ExportSpec(name="members", pattern="leden.csv", encoding="latin-1")
    assert read_export(tmp_path, "aalsmeer", right).data["naam"].to_list() == ["Joëlle"]


def test_missing_required_export_is_a_clear_error(tmp_path) -> None:
    spec = ExportSpec(name="contacts", pattern="contacten*.csv")
    with pytest.raises(LandingFileError, match=r"no file matches 'contacten\*\.csv'"):
        read_export(tmp_path, "hengelo", spec)
    optional = ExportSpec(name="contacts", pattern="contacten*.csv", required=False)
    assert read_export(tmp_path, "hengelo", optional).data.height == 0
