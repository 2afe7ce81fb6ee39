"""The anonymised layer's hierarchies: files pass the engine's validation, cover every PC4 the
synthetic generator draws, and the built-in ones know every code of the staging code lists."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from anonymise import Hierarchy
from assets.anonymised import AnonymisationConfig, build_hierarchies
from assets.anonymised.config import AREA_DIVISION_YEAR, HIERARCHY_DIR, QUASI_IDENTIFIERS
from assets.staging import schema
from synthetic import aalsmeer, breda, generate, groningen, hengelo, zuidplas

GEMEENTE = {
    "groningen": "GM0014 Groningen",
    "zuidplas": "GM1892 Zuidplas",
    "aalsmeer": "GM0358 Aalsmeer",
    "hengelo": "GM0164 Hengelo",
    "breda": "GM0758 Breda",
}
GENERATOR_PC4 = {
    "groningen": groningen.PC4,
    "zuidplas": zuidplas.PC4,
    "aalsmeer": aalsmeer.PC4,
    "hengelo": hengelo.PC4,
    "breda": breda.PC4,
}
FORMATS_RANGES = {  # assets/raw/FORMATS.md
    "zuidplas": [*range(2741, 2750), 2751, 2841],
    "aalsmeer": range(1431, 1434),
    "hengelo": range(7550, 7560),
    "breda": range(4811, 4840),
}


@pytest.fixture(scope="module")
def area() -> Hierarchy:
    return Hierarchy.from_csv(HIERARCHY_DIR / "area.csv", name="area")


def test_every_hierarchy_file_passes_validation() -> None:
    files = sorted(HIERARCHY_DIR.glob("*.csv"))
    assert files
    for f in files:
        h = Hierarchy.from_csv(f)  # raises HierarchyError when malformed
        assert set(h.level(h.height - 1)) == {"*"}, f.name


def test_area_levels_and_codes(area: Hierarchy) -> None:
    assert area.height == 5
    rows = [r for r in area.rows if r[0] != "onbekend"]
    assert all(re.fullmatch(r"\d{4}", r[0]) for r in rows)
    assert all(re.fullmatch(r"WK\d{6} \S.*", r[1]) for r in rows)
    assert all(re.fullmatch(r"GM\d{4} \S.*", r[3]) for r in rows)
    assert {r[3] for r in rows} == set(GEMEENTE.values())
    for r in rows:  # the wijk code starts with its gemeente's code
        assert r[1][2:6] == r[3][2:6]
    assert ("onbekend", "onbekend", "onbekend", "onbekend", "*") in area.rows
    # Groningen's stadsdelen and Zuidplas's kernen
    gron = {r[2] for r in rows if r[3] == GEMEENTE["groningen"]}
    assert {"Centrum", "Oud-Zuid", "Oud-West", "West", "Oost", "Zuid", "Haren", "Ten Boer"} <= gron
    zp = {r[2] for r in rows if r[3] == GEMEENTE["zuidplas"]}
    assert zp == {"Nieuwerkerk aan den IJssel", "Moordrecht", "Zevenhuizen", "Moerkapelle"}
    assert AREA_DIVISION_YEAR == 2025


def test_wijken_are_contiguous_pc4_blocks(area: Hierarchy) -> None:
    df = pl.DataFrame(
        [r[:2] for r in area.rows if r[0] != "onbekend"], schema=["pc4", "wijk"], orient="row"
    ).with_columns(pl.col("pc4").cast(pl.Int32))
    spans = df.group_by("wijk").agg(
        pl.len().alias("n"), (pl.col("pc4").max() - pl.col("pc4").min() + 1).alias("span")
    )
    assert (spans["n"] == spans["span"]).all()


def test_every_generator_pc4_is_in_area(area: Hierarchy) -> None:
    by_pc4 = {r[0]: r for r in area.rows}
    for org, pcs in GENERATOR_PC4.items():
        for pc in pcs:
            assert str(pc) in by_pc4, (org, pc)
            assert by_pc4[str(pc)][3] == GEMEENTE[org], (org, pc)
    for org, pcs in FORMATS_RANGES.items():
        for pc in pcs:
            assert by_pc4[str(pc)][3] == GEMEENTE[org], (org, pc)


def test_every_emitted_postcode_maps_to_an_area(area: Hierarchy, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(landing, people=300, seed=5)
    found: set[str] = set()
    for f in landing.rglob("*.csv"):
        text = f.read_bytes().decode("latin-1")
        found |= set(re.findall(r"(?<![\d])(\d{4}) ?[A-Z]{2}(?![A-Za-z])", text))
    known = set(area.leaves)
    emitted = {pc for pc in found if pc[:2] in {"97", "27", "28", "14", "75", "48"}}
    assert len(emitted) > 30
    assert emitted <= known


def test_built_hierarchies_know_every_code() -> None:
    hs = build_hierarchies(AnonymisationConfig(), ["2024-03", "2019-12"])
    assert set(hs) == set(QUASI_IDENTIFIERS)
    hs["gender"].check_values([*schema.GENDERS, "onbekend"])
    hs["household_type"].check_values([*schema.HOUSEHOLD_TYPES, "onbekend"])
    hs["nationality_group"].check_values([*schema.NATIONALITY_GROUPS, "onbekend"])
    hs["organisation"].check_values(schema.ORGANISATIONS)
    hs["programme"].check_values(schema.PROGRAMMES)
    hs["children_band"].check_values(["0", "1", "2", "3+", "onbekend"])
    hs["age_at_intake"].check_values([str(a) for a in range(0, 111)] + ["onbekend"])
    assert hs["age_at_intake"].rows[42] == ("42", "40-44", "40-49", "40-59", "*")
    assert hs["children_band"].rows[2] == ("2", "1+", "*")
    assert hs["intake_period"].rows[0] == ("2019-12", "2019-Q4", "2019", "*")
    assert hs["intake_period"].rows[1] == ("2024-03", "2024-Q1", "2024", "*")
    for h in hs.values():
        assert set(h.level(h.height - 1)) == {"*"}


def test_a_configured_file_overrides_a_built_in_hierarchy(tmp_path: Path) -> None:
    f = tmp_path / "gender.csv"
    f.write_text("man;*\nvrouw;*\nanders;*\nonbekend;*\n", encoding="utf-8")
    config = AnonymisationConfig.from_mapping({"hierarchy_files": {"gender": str(f)}})
    hs = build_hierarchies(config)
    assert hs["gender"].height == 2
    assert hs["area"].size > 100
