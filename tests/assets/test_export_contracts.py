"""One export contract per organisation (assets/raw/contracts/); everything else derives from it.

The raw assets, the raw suites, the adapters (what they read, date formats, ranges), the purge and
access lookups and the synthetic generator take an export's facts from its contract, so a
changed export is one edit. The privacy review below is written out on purpose: reading one more
identifier or free-text column must be a deliberate change to this test, not a silent one.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import synthetic
from assets.governance import access, purge
from assets.raw.assets import RAW_ASSET, build_raw_asset
from assets.raw.contracts import CONTRACTS, Column, Contract, ExportSpec, export_spec
from assets.raw.load import code_columns, personal_columns, write_raw
from assets.raw.reader import read_export
from assets.raw.suite import RAW_SPECS, raw_spec
from assets.staging import schema
from assets.staging.adapters import ADAPTERS, aalsmeer, breda, groningen, hengelo, zuidplas
from assets.staging.adapters import common as c
from assets.staging.load import read_raw_export
from pipelines.resources import StagingDatabase, write_frame

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_DIR = ROOT / "assets" / "raw" / "contracts"
LANDING = ROOT / "tests" / "fixtures" / "landing"

EVERY = object()
"""Marks an export staging reads no column of (its rows are only counted, withheld)."""

NEVER_READ: dict[tuple[str, str], tuple[str, ...] | object] = {
    ("groningen", "participants"): (
        "voornaam",
        "tussenvoegsel",
        "achternaam",
        "straat",
        "woonplaats",
        "email",
        "telefoon",
        "wij_dossiernummer",
        "buddy_id",
    ),
    ("groningen", "buddies"): EVERY,
    ("groningen", "measurements"): (),
    ("groningen", "goals"): ("doel", "actie", "uitdaging", "wie_helpt"),
    ("zuidplas", "registrations"): ("naam", "woonplaats", "notitie"),
    ("aalsmeer", "households"): ("woonsituatie", "ondersteuningsplan"),
    ("aalsmeer", "members"): ("voornaam", "achternaam", "verblijfstitel", "straat"),
    ("hengelo", "contacts"): ("naam", "telefoon", "email", "foto"),
    ("hengelo", "trajectories"): (),
    ("breda", "plans"): ("beroep", "werkverleden", "probleemomschrijving"),
}
"""The reviewed privacy intent: (organisation, export) -> the columns staging never loads."""

CODE_MAPS: dict[tuple[str, str, str], dict] = {
    ("groningen", "participants", "geslacht"): groningen.GENDERS,
    ("groningen", "participants", "huishouden"): groningen.HOUSEHOLDS,
    ("groningen", "participants", "reden_einde"): groningen.END_REASONS,
    ("groningen", "participants", "bezwaar_onderzoek"): c.YES_NO,
    ("groningen", "goals", "pijler"): groningen.PILLARS,
    ("zuidplas", "registrations", "geslacht"): zuidplas.GENDERS,
    ("zuidplas", "registrations", "gezinssamenstelling"): zuidplas.HOUSEHOLDS,
    ("zuidplas", "registrations", "proces"): zuidplas.PROCESSES,
    ("zuidplas", "registrations", "resultaat"): zuidplas.RESULTS,
    ("zuidplas", "registrations", "bezwaar"): zuidplas.YES_NO,
    ("aalsmeer", "households", "reden_einde"): aalsmeer.END_REASONS,
    ("aalsmeer", "households", "uitkomst"): aalsmeer.OUTCOMES,
    ("aalsmeer", "households", "inkomstenbron"): aalsmeer.INCOME,
    ("aalsmeer", "households", "medische_gegevens"): c.YES_NO,
    ("aalsmeer", "households", "bezwaar"): c.YES_NO,
    ("aalsmeer", "members", "rol"): aalsmeer.ROLES,
    ("aalsmeer", "members", "geslacht"): aalsmeer.GENDERS,
    ("hengelo", "contacts", "geslacht"): hengelo.GENDERS,
    ("hengelo", "trajectories", "status"): hengelo.STATUSES,
    ("hengelo", "trajectories", "resultaat"): hengelo.RESULTS,
    ("hengelo", "trajectories", "bezwaar_onderzoek"): c.YES_NO,
    ("breda", "plans", "geslacht"): breda.GENDERS,
    ("breda", "plans", "schuldhulpverlening"): breda.DEBT_HELP,
    ("breda", "plans", "beschermingsbewind"): c.YES_NO,
    ("breda", "plans", "justitie"): c.YES_NO,
    ("breda", "plans", "ggz"): c.YES_NO,
    ("breda", "plans", "doorbraak_bereikt"): c.YES_NO,
    ("breda", "plans", "reden_einde"): breda.END_REASONS,
    ("breda", "plans", "bezwaar"): c.YES_NO,
}
"""Every coded column staging reads -> the adapter's mapping of its codes."""


def _exports() -> list[tuple[str, ExportSpec]]:
    return [(org, e) for org, contract in CONTRACTS.items() for e in contract.exports]


def _renamed(export: ExportSpec, old: str, new: str, *, alias: bool) -> ExportSpec:
    """``export`` with column ``old`` delivered as ``new`` (read under ``old`` with ``alias``)."""
    columns = tuple(
        replace(col, name=new, alias=old if alias else "") if col.name == old else col
        for col in export.columns
    )
    roles = {r: new for r in ("id", "person_key") if getattr(export, r) == old}
    return replace(export, columns=columns, **roles)


# --------------------------------------------------------------------------- one contract each
def test_every_organisation_has_exactly_one_contract() -> None:
    modules = sorted(
        p.stem for p in CONTRACT_DIR.glob("*.py") if p.stem not in ("__init__", "model")
    )
    assert modules == sorted(schema.ORGANISATIONS)
    assert tuple(CONTRACTS) == schema.ORGANISATIONS == tuple(ADAPTERS)
    assert set(synthetic.MODULES) == set(CONTRACTS)
    for org, contract in CONTRACTS.items():
        assert importlib.import_module(f"assets.raw.contracts.{org}").CONTRACT is contract
        assert contract.organisation == org and contract.exports
    assert set(NEVER_READ) == {(o, e.name) for o, e in _exports()}


def test_adapters_suites_purge_and_raw_assets_take_their_exports_from_the_contract() -> None:
    for org, contract in CONTRACTS.items():
        assert ADAPTERS[org].EXPORTS is contract.exports, org
    assert dict(RAW_SPECS) == {(o, e.name): raw_spec(e) for o, e in _exports()}
    raw = build_raw_asset()
    assert raw.partitions_def.get_partition_keys() == list(CONTRACTS)
    for org, e in _exports():
        assert f"raw.{org}__{e.name}" in raw.descriptions_by_key[raw.key], (org, e.name)
    for org, e in _exports():
        assert synthetic.COLUMNS[org][e.file_name] == e.header
    # No second declaration is left beside the contracts.
    assert importlib.util.find_spec("assets.raw.formats") is None
    assert not hasattr(purge, "RAW_PERSON_KEYS")
    assert not hasattr(importlib.import_module("assets.staging.adapters.base"), "ExportSpec")
    for module in synthetic.MODULES.values():
        assert not {"COLUMNS", "ENCODING", "SEPARATOR", "BOM"} & set(vars(module))


@pytest.mark.parametrize(
    ("organisation", "export"), _exports(), ids=lambda v: getattr(v, "name", v)
)
def test_staging_never_reads_identifiers_or_free_text(
    organisation: str, export: ExportSpec
) -> None:
    never = NEVER_READ[organisation, export.name]
    expected = export.header if never is EVERY else never
    assert export.never_read == expected
    kinds = {col.kind for col in export.columns if col.name in export.read}
    assert not kinds & {"identifier", "free_text"}
    if export.bsn:  # the BSN is read: pseudonymised downstream, its rows purged by it
        assert export.bsn in export.read


def test_adapter_code_maps_cover_the_contract_code_lists() -> None:
    coded = {
        (o, e.name, col.name): col.codes
        for o, e in _exports()
        for col in e.of_kind("code")
        if col.name in e.read
    }
    assert set(coded) == set(CODE_MAPS)
    for key, codes in coded.items():
        mapped = {str(k).lower() for k in CODE_MAPS[key]}
        assert set(codes) <= mapped, (key, set(codes) - mapped)


# --------------------------------------------------------------------------- derivation
def test_a_renamed_column_changes_the_suite_the_adapter_and_the_generator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One edit in the contract (breda delivers ``geslacht`` as ``gender``, read under its old
    name) reaches the raw suite, the generator's header and what staging hands the adapter."""
    plans = CONTRACTS["breda"].export("plans")
    moved = _renamed(plans, "geslacht", "gender", alias=True)

    # the raw suite requires (and code-checks) the delivered name
    spec = raw_spec(moved)
    assert "gender" in spec.required and "geslacht" not in spec.required
    assert spec.codes["gender"] == raw_spec(plans).codes["geslacht"]

    # the generator writes the new header, at the same place, with the same values
    contract = replace(CONTRACTS["breda"], exports=(moved,))
    monkeypatch.setattr(synthetic, "CONTRACTS", {**CONTRACTS, "breda": contract})
    synthetic.generate(tmp_path / "new", people=200)
    monkeypatch.setattr(synthetic, "CONTRACTS", CONTRACTS)
    synthetic.generate(tmp_path / "old", people=200)
    name = plans.file_name
    new_text = (tmp_path / "new" / "breda" / name).read_text()
    old_text = (tmp_path / "old" / "breda" / name).read_text()
    assert new_text.split("\n", 1)[0].split(";") == list(moved.header)
    assert new_text.split("\n", 1)[1] == old_text.split("\n", 1)[1]

    # staging reads the delivered column under the adapter's name: the adapter sees no change
    db = StagingDatabase(path=str(tmp_path / "s.duckdb"))
    write_raw(db, "breda", "plans", read_export(tmp_path / "new", "breda", moved))
    write_raw(db, "breda", "old", read_export(tmp_path / "old", "breda", plans))
    with db.connect(read_only=True) as con:
        assert set(con.execute('describe raw."breda__plans"').pl()["column_name"]) >= {"gender"}
        got = read_raw_export(con, "breda", moved)
        expected = read_raw_export(con, "breda", replace(plans, name="old"))
    assert "gender" not in got.columns
    assert_frame_equal(got.drop("_source_file"), expected.drop("_source_file"))
    result = breda.adapt({"plans": got})
    assert result.tables["persons"]["gender"].null_count() < result.tables["persons"].height


def test_a_column_renamed_without_alias_is_read_and_required_under_its_new_name() -> None:
    """Without an alias the adapter reads the new name (and so must map it): the contract is
    still the one place the name is written; the generator refuses a column it does not know."""
    plans = CONTRACTS["breda"].export("plans")
    moved = _renamed(plans, "geslacht", "gender", alias=False)
    assert "gender" in moved.read and "geslacht" not in moved.read
    assert "gender" in raw_spec(moved).required
    built = pl.DataFrame({col: ["x"] for col in plans.header})
    with pytest.raises(AssertionError, match=r"\['geslacht'\] are not in the contract"):
        synthetic.as_delivered(built, moved, "breda")
    assert synthetic.as_delivered(built, plans, "breda").columns == list(plans.header)


def test_adapters_take_date_formats_and_ranges_from_the_contract(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plans = CONTRACTS["breda"].export("plans")
    raw = {"plans": read_export(LANDING, "breda", plans).data}

    def rules() -> dict[str, int]:
        q = breda.adapt(raw).quarantine
        return dict(q.group_by("rule").len().iter_rows())

    before = rules()
    ages = tuple(
        replace(col, range=(0, 1)) if col.name == "leeftijd" else col for col in plans.columns
    )
    monkeypatch.setattr(breda, "PLANS", replace(plans, columns=ages))
    assert rules().get("age_out_of_range", 0) > before.get("age_out_of_range", 0)
    dates = tuple(
        replace(col, dates=("dd/mm/yyyy",)) if col.name == "startdatum" else col
        for col in plans.columns
    )
    monkeypatch.setattr(breda, "PLANS", replace(plans, columns=dates))
    assert rules().get("date_unparseable", 0) > before.get("date_unparseable", 0)


def _purge_db(tmp_path: Path, plans: ExportSpec, bsn: str) -> duckdb.DuckDBPyConnection:
    """A staging database with one Breda person and three raw plan rows under ``plans``'s
    column names: the person's own, another with the person's BSN, and a stranger's."""
    con = duckdb.connect(str(tmp_path / "purge.duckdb"))
    for layer in ("raw", "canonical", "quarantine", "meta"):
        con.execute(f"create schema {layer}")
    for entity, target in schema.ENTITIES.items():
        write_frame(con, "canonical", entity, schema.empty(target))
    write_frame(con, "quarantine", "rows", schema.empty(schema.QUARANTINE))
    values = {"organisation": "breda", "source_person_id": "DB-00001", "bsn": bsn}
    person = pl.select(
        pl.lit(values.get(col)).cast(dtype).alias(col)
        for col, dtype in schema.ENTITIES["persons"].items()
    )
    write_frame(con, "canonical", "persons", person)
    key, bsn_column = plans.person_key, plans.bsn
    raw = pl.DataFrame(
        {
            key: [" db-00001", "DB-00002", "DB-00003"],
            bsn_column: ["", bsn, "123456782"],
            "_source_file": ["breda/doorbraakplannen.csv"] * 3,
            "_source_row": [1, 2, 3],
        }
    )
    write_frame(con, "raw", "breda__plans", raw)
    return con


@pytest.mark.parametrize("follows", [True, False], ids=["contract", "stale-contract"])
def test_purge_and_access_find_raw_rows_by_the_contract_person_key_and_bsn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, follows: bool
) -> None:
    """Breda renames its plan id and BSN columns. With the edited contract the access request
    finds, and the erasure deletes, both of the person's raw rows; with the old contract
    (the control) neither lookup knows the columns and nothing is found."""
    bsn = "111222333"
    plans = CONTRACTS["breda"].export("plans")
    moved = _renamed(
        _renamed(plans, "plan_id", "plannummer", alias=False),
        "bsn",
        "burgerservicenummer",
        alias=False,
    )
    con = _purge_db(tmp_path, moved, bsn)
    if follows:
        contracts = {"breda": replace(CONTRACTS["breda"], exports=(moved,))}
        monkeypatch.setattr(purge, "CONTRACTS", contracts)
        monkeypatch.setattr(access, "CONTRACTS", contracts)
    else:
        monkeypatch.setattr(access, "CONTRACTS", {"breda": CONTRACTS["breda"]})
    found = access.person_records(con, bsn)["raw"].get("breda__plans", [])
    gone = pl.DataFrame({"organisation": ["breda"], "source_person_id": ["DB-00001"]})
    counts = purge.purge_persons(con, gone, [bsn], ["breda"])
    left = con.execute('select "_source_row" from raw.breda__plans order by 1').fetchall()
    if follows:
        assert sorted(r["_source_row"] for r in found) == [1, 2]
        assert counts["raw.breda__plans"] == 2 and left == [(3,)]
    else:
        assert found == [] and "raw.breda__plans" not in counts
        assert left == [(1,), (2,), (3,)]
    con.close()


# --------------------------------------------------------------------------- the contract itself
def test_a_contract_refuses_what_it_cannot_derive_from() -> None:
    with pytest.raises(ValueError, match="needs its code list"):
        Column("geslacht", "code")
    with pytest.raises(ValueError, match="needs its range"):
        Column("leeftijd", "integer")
    with pytest.raises(ValueError, match="needs its formats"):
        Column("startdatum", "date")
    with pytest.raises(ValueError, match="lower-case"):
        Column("geslacht", "code", codes=("M", "V"))
    with pytest.raises(ValueError, match="person_key 'nummer' is not a column"):
        ExportSpec("plans", "p*.csv", columns=(Column("plan_id", "id"),), person_key="nummer")
    with pytest.raises(ValueError, match="occurs twice"):
        ExportSpec("plans", "p*.csv", columns=(Column("a"), Column("b", alias="a")))
    with pytest.raises(ValueError, match="export name occurs twice"):
        Contract("breda", "Breda", exports=(ExportSpec("p", "p*.csv"), ExportSpec("p", "q*.csv")))
    with pytest.raises(ValueError, match="no export contract for breda/plannen"):
        export_spec("breda", "plannen")
    assert export_spec("breda", "plans") is CONTRACTS["breda"].export("plans")
    assert Column("startdatum", "date", dates=("yyyy-mm-dd",)).loaded
    assert not Column("naam", "identifier").loaded


def test_contracts_import_only_the_standard_library() -> None:
    # The synthetic generator imports the contracts; they must not pull in the pipeline.
    heavy = (
        "('polars', 'numpy', 'dagster', 'duckdb', 'great_expectations', 'assets.staging', "
        "'quality')"
    )
    code = (
        f"import sys, assets.raw.contracts; print(sorted(m for m in {heavy} if m in sys.modules)); "
        "import synthetic; print(sorted(m for m in ('dagster', 'duckdb', 'great_expectations', "
        "'assets.staging', 'quality') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.split() == ["[]", "[]"]


def test_raw_asset_descriptions_come_from_the_contract() -> None:
    asset = build_raw_asset()
    assert asset.key.to_user_string() == RAW_ASSET
    text = asset.descriptions_by_key[asset.key]
    members = CONTRACTS["aalsmeer"].export("members")
    assert members.description in text and members.pattern in text and "latin-1" in text
    for column in members.never_read:
        assert f"`{column}`" in text


def test_personal_columns_of_the_contract_are_never_stored_as_enums(tmp_path: Path) -> None:
    """An ENUM's values live in the table's definition and outlive an erased row. In a small
    export the ids look code-like by shape alone (the control); the contract says they, the BSN,
    identifiers and free text identify a person, so raw stores them as text."""
    members = CONTRACTS["aalsmeer"].export("members")
    export = read_export(LANDING, "aalsmeer", members)
    # control: under names that say nothing the ids are code-like by shape; ``never`` drops them
    renamed = export.data.rename({"lid_id": "a", "casus_id": "b"})
    assert {"a", "b"} <= set(code_columns(renamed))
    assert not {"a", "b"} & set(code_columns(renamed, never=("a", "b")))
    personal = personal_columns("aalsmeer", "members")
    assert {"lid_id", "casus_id", "bsn", "voornaam", "verblijfstitel"} <= set(personal)
    assert personal_columns("groningen", "no_such_export") == ()
    db = StagingDatabase(path=str(tmp_path / "staging.duckdb"))
    write_raw(db, "aalsmeer", "members", export)
    with db.connect(read_only=True) as con:
        rows = con.execute('describe raw."aalsmeer__members"').fetchall()
    types = {r[0]: r[1] for r in rows}
    assert all(types[c] == "VARCHAR" for c in personal)
    assert types["rol"].startswith("ENUM") and types["geslacht"].startswith("ENUM")
