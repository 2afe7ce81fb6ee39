"""The anonymised layer's hierarchies: files pass the engine's validation, cover every PC4 the
synthetic generator draws, the built-in ones know every code of the staging code lists, and the
episode-signature and intake-year hierarchies coarsen at every level by the value alone."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from anonymise import Hierarchy
from assets.anonymised import AnonymisationConfig, build_hierarchies, person_record
from assets.anonymised.config import AREA_DIVISION_YEAR, HIERARCHY_DIR, QUASI_IDENTIFIERS
from assets.anonymised.generalisation import (
    area_levels,
    intake_year_hierarchy,
    signature_hierarchy,
    signature_levels,
)
from assets.anonymised.record import EPISODE_SEP, ITEM_SEP
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
    sig = "groningen/kansrijk/2023/completed/12-23 + zuidplas/geldzaken/2024/ongoing/lopend"
    hs = build_hierarchies(AnonymisationConfig(), intake_years=["2024", "2019"], signatures=[sig])
    assert set(hs) == set(QUASI_IDENTIFIERS)
    hs["gender"].check_values([*schema.GENDERS, "onbekend"])
    hs["household_type"].check_values([*schema.HOUSEHOLD_TYPES, "onbekend"])
    hs["nationality_group"].check_values([*schema.NATIONALITY_GROUPS, "onbekend"])
    hs["children_band"].check_values(["0", "1", "2", "3+", "onbekend"])
    hs["age_at_intake"].check_values([str(a) for a in range(0, 111)] + ["onbekend"])
    hs["intake_year"].check_values(["2019", "2024", "onbekend"])
    hs["episodes"].check_values([sig, "onbekend"])
    assert hs["age_at_intake"].rows[42] == ("42", "40-44", "40-49", "40-59", "*")
    assert hs["children_band"].rows[2] == ("2", "1+", "*")
    assert hs["intake_year"].rows[0] == ("2019", "2018-2019", "2016-2019", "*")
    assert hs["intake_year"].rows[1] == ("2024", "2024-2025", "2024-2027", "*")
    for h in hs.values():
        assert set(h.level(h.height - 1)) == {"*"}


# --------------------------------------------------------------------------- generalisation
CODES = (schema.ORGANISATIONS, schema.PROGRAMMES, schema.END_REASONS)


def _random_signatures(n: int, seed: int) -> list[str]:
    """Signatures as record.episode_items writes them: 1-4 episodes, any codes, sorted."""
    rng = np.random.default_rng(seed)
    durations = ["0-5", "6-11", "12-23", "24+", "lopend", "onbekend"]
    out = []
    for _ in range(n):
        items = []
        for _ in range(int(rng.integers(1, 5))):
            items.append(
                ITEM_SEP.join(
                    [
                        str(rng.choice(schema.ORGANISATIONS)),
                        str(rng.choice([*schema.PROGRAMMES, "onbekend"])),
                        str(rng.choice(["2019", "2020", "2023", "onbekend"])),
                        str(rng.choice([*schema.END_REASONS, "onbekend"])),
                        str(rng.choice(durations)),
                    ]
                )
            )
        out.append(EPISODE_SEP.join(sorted(items)))
    return out


def test_signature_codes_cannot_break_the_separators() -> None:
    for codes in CODES:
        for c in codes:
            assert ITEM_SEP not in c and EPISODE_SEP.strip() not in c and "+" not in c, c


def test_signature_hierarchy_is_a_coarsening_at_every_level() -> None:
    """Each level is a function of the level below, also across hierarchies built from other
    signatures (other releases): the levels depend on the value alone."""
    sigs = _random_signatures(3000, seed=1)
    h = signature_hierarchy(sigs)
    assert h.height == 6
    assert set(h.level(5)) == {"*"}
    parent: list[dict[str, str]] = [{} for _ in range(h.height - 1)]
    for other in (sigs, _random_signatures(3000, seed=2)):
        for row in signature_hierarchy(other).rows:
            for lv in range(h.height - 1):
                assert parent[lv].setdefault(row[lv], row[lv + 1]) == row[lv + 1], (lv, row)
    # every level really coarsens: fewer distinct values, each the generalisation of its items
    sizes = [len(set(h.level(lv))) for lv in range(h.height)]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == h.height
    for row in h.rows:
        if row[0] == "onbekend":
            assert row[:5] == ("onbekend",) * 5
            continue
        items = [i.split(ITEM_SEP) for i in row[0].split(EPISODE_SEP)]
        assert row[1].split(EPISODE_SEP) == sorted(ITEM_SEP.join((i[0], i[1], i[3])) for i in items)
        assert row[2].split(EPISODE_SEP) == sorted(ITEM_SEP.join(i[:2]) for i in items)
        orgs = sorted({i[0] for i in items})
        assert row[3] == "+".join(orgs)
        assert row[4] == ("1 organisatie" if len(orgs) == 1 else "2+ organisaties")


def test_signature_levels_example() -> None:
    sig = "breda/doorbraak/2022/aborted/0-5 + groningen/kansrijk/2023/completed/12-23"
    assert signature_levels(sig) == (
        sig,
        "breda/doorbraak/aborted + groningen/kansrijk/completed",
        "breda/doorbraak + groningen/kansrijk",
        "breda+groningen",
        "2+ organisaties",
        "*",
    )
    two = "groningen/kansrijk/2021/refused/0-5 + groningen/kansrijk/2023/completed/12-23"
    assert signature_levels(two)[2] == "groningen/kansrijk + groningen/kansrijk"
    assert signature_levels(two)[3:5] == ("groningen", "1 organisatie")


def test_the_person_record_signatures_fit_the_hierarchy(tmp_path: Path) -> None:
    """Signatures the record builds from a synthetic set are leaves of their hierarchy, and
    their items follow the documented shape."""
    from assets.pseudonymised.transform import pseudonymise_all
    from assets.raw.reader import read_export
    from assets.staging.adapters import ADAPTERS
    from assets.staging.load import run_adapters

    landing = tmp_path / "landing"
    generate(landing, people=300, seed=8)
    raw = {
        org: {spec.name: read_export(landing, org, spec).data for spec in adapter.EXPORTS}
        for org, adapter in ADAPTERS.items()
    }
    tables, _, _ = run_adapters(raw)
    p = pseudonymise_all(tables, key=bytes(32))
    config = AnonymisationConfig()
    rec = person_record(
        p["persons"],
        p["episodes"],
        p["debts"],
        p["case_problems"],
        area_leaves=area_levels(config).leaves,
        max_age=config.max_age,
    )
    assert rec["person_pseudonym"].is_unique().all()
    sigs = rec["episodes"].to_list()
    signature_hierarchy(sigs).check_values(sigs)

    def alt(codes) -> str:
        return "|".join(re.escape(c) for c in (*codes, "onbekend"))

    item = re.compile(
        rf"^({alt(schema.ORGANISATIONS)})/({alt(schema.PROGRAMMES)})/(\d{{4}}|onbekend)/"
        rf"({alt(schema.END_REASONS)})/(0-5|6-11|12-23|24\+|lopend|onbekend)$"
    )
    for s in sigs:
        for i in s.split(EPISODE_SEP):
            assert item.match(i), i
    # the record's intake year is the first episode's: a year every signature item has
    for year, s in zip(rec["intake_year"], sigs, strict=True):
        assert year in {i.split(ITEM_SEP)[2] for i in s.split(EPISODE_SEP)}
        assert year == min(i.split(ITEM_SEP)[2] for i in s.split(EPISODE_SEP))
    intake_year_hierarchy(rec["intake_year"].to_list()).check_values(rec["intake_year"])


def test_intake_year_hierarchy() -> None:
    years = [str(y) for y in range(2013, 2027)]
    h = intake_year_hierarchy([*years, "onbekend"])
    assert h.height == 4 and h.size == len(years) + 1
    by_year = {r[0]: r for r in h.rows}
    assert by_year["2021"] == ("2021", "2020-2021", "2020-2023", "*")
    assert by_year["2016"] == ("2016", "2016-2017", "2016-2019", "*")
    assert by_year["onbekend"] == ("onbekend", "onbekend", "onbekend", "*")
    for y in years:
        n = int(y)
        two, four = by_year[y][1], by_year[y][2]
        lo2, hi2 = map(int, two.split("-"))
        lo4, hi4 = map(int, four.split("-"))
        assert lo2 <= n <= hi2 and hi2 - lo2 == 1 and lo2 % 2 == 0
        assert lo4 <= lo2 and hi2 <= hi4 and hi4 - lo4 == 3 and lo4 % 4 == 0
    # the blocks depend on the year alone, not on which years occur
    assert intake_year_hierarchy(["2021"]).rows[0] == by_year["2021"]


def test_a_configured_file_overrides_a_built_in_hierarchy(tmp_path: Path) -> None:
    f = tmp_path / "gender.csv"
    f.write_text("man;*\nvrouw;*\nanders;*\nonbekend;*\n", encoding="utf-8")
    config = AnonymisationConfig.from_mapping({"hierarchy_files": {"gender": str(f)}})
    hs = build_hierarchies(config)
    assert hs["gender"].height == 2
    assert hs["area"].size > 100
