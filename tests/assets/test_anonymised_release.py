"""The anonymised layer on a small pseudonymised set built through the real chain: one row per
person, k per person over the whole record, l-diversity and share rules on what is shown,
exclusions, no date/postcode/pseudonym in any output, detail tables with their own random ids,
release-specific ids and an order that carries nothing."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from anonymise.banding import band_labels, month_bucket, months_between
from anonymise.linkage import WITHHELD
from anonymise.models import ClassStats, RecordedDistinctLDiversity
from assets.anonymised import (
    AnonymisationConfig,
    AnonymisedRelease,
    ConfigError,
    anonymise_release,
)
from assets.anonymised.config import QUASI_IDENTIFIERS, SENSITIVE_ATTRIBUTES
from assets.anonymised.generalisation import area_levels, build_hierarchies
from assets.anonymised.record import UNKNOWN
from assets.anonymised.release import DETAIL_IDS
from assets.pseudonymised.transform import pseudonymise_all
from assets.raw.reader import read_export
from assets.staging.adapters import ADAPTERS
from assets.staging.load import run_adapters
from synthetic import generate

PEOPLE = 1500
SEED = 20260501
PC6 = re.compile(r"^\d{4}\s?[A-Za-z]{2}$")
HEX = re.compile(r"[0-9a-f]{32}")
DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/]\d{1,2}[-/]\d{4}")
DETAIL = [t for t in DETAIL_IDS if t != "bridge_scores"]  # bridge_scores: derived in DuckDB


def build_pseudonymised(landing: Path, *, people: int, seed: int) -> dict[str, pl.DataFrame]:
    """synthetic -> raw -> staging -> pseudonymised, as the pipeline does it."""
    generate(landing, people=people, seed=seed)
    raw = {
        org: {spec.name: read_export(landing, org, spec).data for spec in adapter.EXPORTS}
        for org, adapter in ADAPTERS.items()
    }
    tables, _, _ = run_adapters(raw)
    return pseudonymise_all(tables, key=bytes(32))


@pytest.fixture(scope="module")
def pseudonymised(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    return build_pseudonymised(tmp_path_factory.mktemp("landing"), people=PEOPLE, seed=SEED)


@pytest.fixture(scope="module")
def config() -> AnonymisationConfig:
    return AnonymisationConfig()


@pytest.fixture(scope="module")
def release(pseudonymised, config) -> AnonymisedRelease:
    return anonymise_release(pseudonymised, config=config, release_seed=1)


def _input_pseudonyms(tables: dict[str, pl.DataFrame]) -> set[str]:
    out: set[str] = set()
    for df in tables.values():
        for c in df.columns:
            if c.endswith("_pseudonym"):
                out |= set(df[c].drop_nulls().to_list())
    return out


def _non_objecting(pseudonymised) -> pl.DataFrame:
    eps = pseudonymised["episodes"]
    objectors = eps.filter("objects_to_research")["person_pseudonym"].unique()
    return eps.filter(~pl.col("person_pseudonym").is_in(objectors.implode()))


# --------------------------------------------------------------------------- k per person
def test_persons_are_one_row_per_person_and_k_anonymous(release, config) -> None:
    persons = release["persons"]
    assert persons.columns == [
        "person_id",
        *QUASI_IDENTIFIERS,
        "area_division_year",
        *SENSITIVE_ATTRIBUTES,
    ]
    assert persons["person_id"].is_unique().all()
    sizes = persons.group_by(list(QUASI_IDENTIFIERS)).len()
    assert sizes["len"].min() >= config.k
    assert release.summary()["k_achieved"] == sizes["len"].min()
    # every published value is a value of its hierarchy (at some level, or locally withheld)
    hs = build_hierarchies(
        config,
        intake_years=[v for v in persons["intake_year"].unique() if v.isdigit()],
    )
    hs["area"] = area_levels(config)
    for q in QUASI_IDENTIFIERS:
        if q == "episodes":
            continue  # built from the signatures that occur; see test_generalisation
        values = {v for row in hs[q].rows for v in row}
        assert set(persons[q].unique()) <= values | {WITHHELD}, q


def test_no_table_but_persons_has_a_person_id(release) -> None:
    for entity, df in release.tables.items():
        if entity == "persons":
            continue
        assert "person_id" not in df.columns and "episode_id" not in df.columns, entity
        own = [c for c in df.columns if c.endswith("_id")]
        assert own == [DETAIL_IDS[entity]], entity
        assert df.columns[:3] == [DETAIL_IDS[entity], "organisation", "intake_year"], entity
    ids = [c for df in release.tables.values() for c in df.columns if c.endswith("_id")]
    assert len(ids) == len(set(ids))  # no two tables share an id column


def test_detail_classes_hold_k_episodes(release, config) -> None:
    for entity in DETAIL:
        df = release[entity]
        assert df.height > 0, entity
        sizes = df.group_by("organisation", "intake_year").agg(
            pl.col(DETAIL_IDS[entity]).n_unique().alias("n")
        )
        assert sizes["n"].min() >= config.k, entity
    keys = release.steward["trajectory_keys"]
    sizes = keys.group_by("organisation", "intake_year").agg(pl.col("trajectory_id").n_unique())
    assert sizes["trajectory_id"].min() >= config.k


def test_detail_tables_cover_everyone_not_excluded(pseudonymised, release) -> None:
    """The detail tables hold every non-objecting episode with detail (also the persons
    withheld from the person table), minus the episodes of too small (organisation, year)
    classes, which the summary counts."""
    kept = _non_objecting(pseudonymised)["episode_pseudonym"]
    withheld = release.summary()["detail_episodes_withheld"]
    for entity in DETAIL:
        src = pseudonymised[entity].filter(pl.col("episode_pseudonym").is_in(kept.implode()))
        assert release[entity][DETAIL_IDS[entity]].n_unique() + withheld[entity] == (
            src["episode_pseudonym"].n_unique()
        ), entity
    scored = pseudonymised["bridge_scores"].filter(
        pl.col("episode_pseudonym").is_in(kept.implode())
    )["episode_pseudonym"]
    keys = release.steward["trajectory_keys"]
    assert keys.height + withheld["bridge_scores"] == scored.n_unique()
    assert set(keys["episode_pseudonym"]) <= set(scored)


def _shown(col: str) -> pl.Expr:
    return pl.col(col).filter(~pl.col(col).is_in([UNKNOWN, WITHHELD]))


def test_l_diversity_and_share_rules_on_shown_values(release, config) -> None:
    persons = release["persons"]
    qis = list(config.quasi_identifiers)
    per_class = persons.group_by(qis).agg(
        _shown("debt_band").n_unique().alias("debt_distinct"),
        _shown("debt_band").len().alias("debt_shown"),
        *[(pl.col(f) == "ja").sum().alias(f"{f}_ja") for f in ("health_flag", "justice_flag")],
        *[_shown(f).len().alias(f"{f}_shown") for f in ("health_flag", "justice_flag")],
    )
    with_debt = per_class.filter(pl.col("debt_shown") > 0)
    assert with_debt.height > 0
    assert with_debt["debt_distinct"].min() >= config.l_diversity["debt_band"]
    for f, share in config.max_share.items():
        assert per_class.filter(pl.col(f"{f}_ja") > share * pl.col(f"{f}_shown")).height == 0, f
    # the rules are not vacuous: values are shown
    assert (persons["debt_band"] != UNKNOWN).sum() > 100


def test_suppression_stays_within_the_budget(release, config) -> None:
    s = release.summary()
    assert s["suppressed_persons"] <= config.suppression_limit * s["persons_considered"] + 1e-9
    assert s["persons_out"] == s["persons_considered"] - s["suppressed_persons"]
    assert s["persons_out"] == release["persons"].height
    assert s["passes"][0]["in"] == s["persons_considered"]
    assert sum(p["published"] for p in s["passes"]) == s["persons_out"]
    assert s["k_achieved"] >= config.k
    # the population tables count everyone not excluded, withheld persons included
    assert s["population_persons"] == s["persons_considered"]
    assert release.steward["population"].height == s["persons_considered"]


def test_intake_year_stays_a_year_for_trends(release) -> None:
    """max_levels keeps the first node's intake year at level 0: most persons keep their year."""
    s = release.summary()
    assert s["levels"]["intake_year"] == 0
    years = release["persons"]["intake_year"]
    assert years.str.contains(r"^\d{4}$").mean() > 0.9


# --------------------------------------------------------------------------- exclusions
def test_objectors_are_absent(pseudonymised, release) -> None:
    episodes = pseudonymised["episodes"]
    objectors = episodes.filter("objects_to_research")["person_pseudonym"].unique()
    assert objectors.len() > 0
    s = release.summary()
    assert s["persons_objecting"] == objectors.len()
    kept = _non_objecting(pseudonymised)
    assert s["persons_considered"] == kept["person_pseudonym"].n_unique()
    # an objector's episodes are in no trajectory
    keys = release.steward["trajectory_keys"]
    assert not set(keys["episode_pseudonym"]) & set(
        episodes.filter(pl.col("person_pseudonym").is_in(objectors.implode()))["episode_pseudonym"]
    )

    # every episode of one organisation objecting: nothing of it is published
    tables = dict(pseudonymised)
    tables["episodes"] = episodes.with_columns(
        objects_to_research=pl.col("objects_to_research") | (pl.col("organisation") == "breda")
    )
    rel = anonymise_release(tables, config=AnonymisationConfig(), release_seed=3)
    for entity in DETAIL:
        assert "breda" not in set(rel[entity]["organisation"]), entity
    assert not rel["persons"]["episodes"].str.contains("breda").any()
    assert not {"breakthrough_reached", "plan_cost_eur"} & set(rel["outcomes"]["measure"])
    assert "breda" not in set(rel.steward["population"]["organisation"])
    assert "breda" not in set(rel.steward["trajectory_keys"]["organisation"])


def test_governance_exclusions_are_absent(pseudonymised) -> None:
    persons = pseudonymised["persons"]
    zuidplas = persons.filter(pl.col("organisation") == "zuidplas")["person_pseudonym"]
    rel = anonymise_release(
        pseudonymised,
        config=AnonymisationConfig(),
        release_seed=4,
        exclude_person_pseudonyms=zuidplas.to_list(),
    )
    assert "arrears_resolved" not in set(rel["outcomes"]["measure"])
    for entity in DETAIL:
        assert "zuidplas" not in set(rel[entity]["organisation"]), entity
    assert not rel["persons"]["episodes"].str.contains("zuidplas").any()
    pop = rel.steward["population"]
    assert "zuidplas" not in set(pop["organisation"])
    assert not {"vroegsignalering", "geldzaken"} & set(pop["programme"])
    assert rel.summary()["persons_excluded"] == zuidplas.n_unique()


# --------------------------------------------------------------------------- nothing identifying
def test_no_date_postcode_or_pseudonym_anywhere(pseudonymised, release) -> None:
    pseudonyms = _input_pseudonyms(pseudonymised)
    assert len(pseudonyms) > PEOPLE
    postcodes = set(pseudonymised["persons"]["postcode"].drop_nulls())
    forbidden = {"postcode", "birth_year", "start_date", "end_date", "measured_on", "set_on"}
    published = {**release.tables}
    # the steward frames the marts read (trajectory_keys stays with the steward: its
    # pseudonyms and dates never leave the anonymised step)
    published |= {
        n: df for n, df in release.steward.items() if n in ("population", "population_goals")
    }
    for entity, df in published.items():
        assert not forbidden & set(df.columns), entity
        assert not any(c.endswith("_pseudonym") for c in df.columns), entity
        for c, dtype in df.schema.items():
            assert not dtype.is_temporal(), (entity, c)
            if dtype != pl.String:
                continue
            values = set(df[c].drop_nulls().unique())
            assert not values & pseudonyms, (entity, c)
            assert not values & postcodes, (entity, c)
            for v in values:
                assert not PC6.match(v), (entity, c)
                assert not HEX.search(v), (entity, c)
                assert not DATE.search(v), (entity, c)


def test_area_is_generalised_from_pc4(release) -> None:
    values = set(release["persons"]["area"])
    shapes = (r"^\d{4}$", r"^WK\d{6} ", r"^GM\d{4} ")
    stadsdelen = {r[2] for r in area_levels(AnonymisationConfig()).rows}
    for v in values:
        assert any(re.match(p, v) for p in shapes) or v in stadsdelen | {UNKNOWN, "*"}, v
    assert set(release["persons"]["area_division_year"]) == {2025}


# --------------------------------------------------------------------------- random ids
def test_random_ids_depend_on_the_release_seed(pseudonymised, release, config) -> None:
    again = anonymise_release(pseudonymised, config=config, release_seed=1)
    other = anonymise_release(pseudonymised, config=config, release_seed=2)
    withheld = release.summary()["detail_episodes_withheld"]
    for entity, df in release.tables.items():
        assert df.equals(again[entity]), entity  # deterministic for one seed
    for entity, df in release.tables.items():
        ident = "person_id" if entity == "persons" else DETAIL_IDS[entity]
        a, b = df, other[entity]
        assert a.height == b.height, entity
        # the ids are drawn from a permutation of 1..n per release (a detail table's episodes
        # of too small classes are removed after the draw, leaving gaps)
        n = a[ident].n_unique()
        gaps = 0 if entity == "persons" else withheld[entity]
        assert set(a[ident]) <= set(range(1, n + gaps + 1)), entity
        # rows are in id order, so another numbering shows the content in another order
        assert not a.drop(ident).equals(b.drop(ident)), entity
        # same content, other numbering
        key = [c for c in a.columns if c != ident]
        assert (
            a.drop(ident)
            .sort(key, nulls_last=True)
            .equals(b.drop(ident).sort(key, nulls_last=True))
        ), entity


def test_rows_are_ordered_by_the_random_id(release) -> None:
    """The physical order is the random id's: it carries no source order."""
    for entity, df in release.tables.items():
        ident = "person_id" if entity == "persons" else DETAIL_IDS[entity]
        assert df[ident].is_sorted(), entity
    assert release.steward["trajectory_keys"]["trajectory_id"].is_sorted()
    assert release.steward["population"]["unit_id"].is_sorted()


# --------------------------------------------------------------------------- microdata
def test_months_are_buckets_and_bands_fixed(release, config) -> None:
    buckets = set(config.month_buckets)
    goals = release["goals"]
    assert set(goals["months_to_set"].drop_nulls()) <= buckets
    assert set(goals["months_to_achieve"].drop_nulls()) <= buckets
    assert (goals["months_to_achieve"].is_null() == ~goals["achieved"]).all()
    assert set(goals["confidence_band"].drop_nulls()) <= {"1-3", "4-6", "7-8", "9-10"}
    income = release["income_sources"]["net_monthly_band"].drop_nulls()
    assert set(income) <= set(band_labels((0, 500, 1_000, 1_500, 2_000, 3_000)))
    outcomes = release["outcomes"]
    assert (outcomes["value_flag"].is_null() | outcomes["value_band"].is_null()).all()


def test_summary_is_json_figures(release) -> None:
    s = release.summary()
    text = json.dumps(s)
    assert "pseudonym" not in text
    for key in (
        "persons_in",
        "suppressed_persons",
        "levels",
        "generalisation",
        "k_achieved",
        "passes",
        "insider_withheld_cells",
        "detail_episodes_withheld",
    ):
        assert key in s
    assert 0 <= s["loss"] <= 1 and s["metrics"]["loss"] == s["loss"]
    assert 0 < s["risk"]["prosecutor_max"] <= 1 / s["k"]
    assert s["withheld_cells"] >= 0


def test_helpers() -> None:
    assert band_labels((0, 1, 1000)) == ("0", "1-999", "1000+")
    df = pl.DataFrame(
        {"s": [dt.date(2024, 1, 31), dt.date(2024, 1, 1)], "e": [dt.date(2024, 3, 30), None]}
    )
    got = df.select(month_bucket(months_between(pl.col("s"), pl.col("e")), (0, 3, 6)))
    assert got.to_series().to_list() == [0, None]
    m = RecordedDistinctLDiversity("y", 2, order=("onbekend", "a", "b"), unknown="onbekend")
    s = ClassStats(size=np.array([5, 5]), hist={"y": np.array([[5, 0, 0], [4, 1, 0]])})
    assert m.class_ok(s).tolist() == [True, False]


# --------------------------------------------------------------------------- config
def test_config_from_mapping() -> None:
    assert AnonymisationConfig.from_mapping({}) == AnonymisationConfig()
    c = AnonymisationConfig.from_mapping(
        {
            "k": 10,
            "suppression_limit": 0.05,
            "l_diversity": {"debt_band": 3, "health_flag": 2},
            "quasi_identifiers": ["age_at_intake", "gender", "area", "intake_year"],
            "month_buckets": [0, 6, 12],
            "max_share": {"health_flag": 0.8},
            "max_levels": {"intake_year": 1},
            "recoding_passes": 3,
            "insider_protection": False,
            "table_area_level": "wijk",
        }
    )
    assert c.k == 10 and c.quasi_identifiers == ("age_at_intake", "gender", "area", "intake_year")
    assert c.month_buckets == (0, 6, 12) and c.hierarchy_files["area"] == "area.csv"
    assert c.max_share == {"health_flag": 0.8} and c.max_levels == {"intake_year": 1}
    assert c.recoding_passes == 3 and not c.insider_protection and c.table_area_level == "wijk"
    json.dumps(c.as_dict())
    for bad in (
        {"kk": 5},
        {"k": 0},
        {"suppression_limit": 2},
        {"quasi_identifiers": ["bsn"]},
        {"quasi_identifiers": ["organisation"]},  # now part of the episode signature
        {"l_diversity": {"income": 2}},
        {"month_buckets": [3, 6]},
        {"metric": "fast"},
        {"max_share": {"debt_band": 0.5}},
        {"max_share": {"health_flag": 0}},
        {"max_levels": {"household": 1}},
        {"recoding_passes": 0},
        {"table_area_level": "pc4"},
        {"insider_protection": "yes"},
    ):
        with pytest.raises(ConfigError):
            AnonymisationConfig.from_mapping(bad)


def test_fewer_quasi_identifiers_publish_fewer_columns(pseudonymised) -> None:
    config = AnonymisationConfig(
        quasi_identifiers=("age_at_intake", "gender", "intake_year"), l_diversity={}
    )
    rel = anonymise_release(pseudonymised, config=config, release_seed=5)
    cols = set(rel["persons"].columns)
    assert {"age_at_intake", "gender", "intake_year"} <= cols
    assert not {"area", "household_type", "episodes", "area_division_year"} & cols
    sizes = rel["persons"].group_by(list(config.quasi_identifiers)).len()
    assert sizes["len"].min() >= config.k
