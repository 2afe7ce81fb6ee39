"""The anonymised layer on a small pseudonymised set built through the real chain: k per person,
exclusions, no date/postcode/pseudonym in any output, release-specific surrogate ids."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from anonymise.models import ClassStats
from assets.anonymised import (
    AnonymisationConfig,
    AnonymisedRelease,
    ConfigError,
    RecordedDistinctLDiversity,
    anonymise_release,
)
from assets.anonymised.config import QUASI_IDENTIFIERS
from assets.anonymised.transform import band_labels, month_bucket, months_between
from assets.pseudonymised.transform import pseudonymise_all
from assets.raw.reader import read_export
from assets.staging.adapters import ADAPTERS
from assets.staging.canonical import run_adapters
from synthetic import generate

PEOPLE = 1500
SEED = 20260501
PC6 = re.compile(r"^\d{4}\s?[A-Za-z]{2}$")
HEX = re.compile(r"[0-9a-f]{32}")
DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/]\d{1,2}[-/]\d{4}")


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


# --------------------------------------------------------------------------- k per person
def test_every_output_is_k_anonymous_per_person(release, config) -> None:
    episodes = release["episodes"]
    qis = [q for q in config.quasi_identifiers if q in episodes.columns]
    assert qis == list(QUASI_IDENTIFIERS)
    for entity, df in release.tables.items():
        present = [q for q in QUASI_IDENTIFIERS if q in df.columns]
        if not present:
            continue
        sizes = df.group_by(present).agg(pl.col("person_id").n_unique().alias("n"))
        assert sizes["n"].min() >= config.k, entity
    # every other table hangs off a published episode (so carries no unprotected person)
    pairs = episodes.select("person_id", "episode_id")
    for entity in ("bridge_scores", "goals", "case_problems", "income_sources", "outcomes"):
        df = release[entity]
        assert df.height > 0, entity
        assert df.join(pairs, on=["person_id", "episode_id"], how="anti").height == 0, entity
    assert set(release["persons"]["person_id"]) == set(episodes["person_id"])
    assert release.result.smallest_class >= config.k


def test_l_diversity_on_recorded_debt_bands(release, config) -> None:
    df = release["episodes"]
    qis = list(config.quasi_identifiers)
    per_class = (
        df.filter(pl.col("debt_band") != "onbekend")
        .group_by(qis)
        .agg(pl.col("debt_band").n_unique().alias("bands"))
    )
    assert per_class.height > 0
    assert per_class["bands"].min() >= 2


def test_suppression_stays_within_the_budget(release, config) -> None:
    s = release.summary()
    assert s["suppressed_persons"] <= config.suppression_limit * s["persons_considered"] + 1e-9
    assert s["persons_out"] == s["persons_considered"] - s["suppressed_persons"]
    assert s["episodes_out"] == release["episodes"].height
    assert s["k_achieved"] >= config.k


# --------------------------------------------------------------------------- exclusions
def test_objectors_are_absent(pseudonymised, release) -> None:
    episodes = pseudonymised["episodes"]
    objectors = episodes.filter("objects_to_research")["person_pseudonym"].unique()
    assert objectors.len() > 0
    s = release.summary()
    assert s["persons_objecting"] == objectors.len()
    kept = episodes.filter(~pl.col("person_pseudonym").is_in(objectors.implode()))
    assert s["persons_considered"] == kept["person_pseudonym"].n_unique()
    assert s["episodes_considered"] == kept.height

    # every episode of one organisation objecting: nothing of it is published
    tables = dict(pseudonymised)
    tables["episodes"] = episodes.with_columns(
        objects_to_research=pl.col("objects_to_research") | (pl.col("organisation") == "breda")
    )
    rel = anonymise_release(tables, config=AnonymisationConfig(), release_seed=3)
    assert "doorbraak" not in set(rel["episodes"]["programme"])
    assert not {"breakthrough_reached", "plan_cost_eur"} & set(rel["outcomes"]["measure"])
    assert "schuldhulpverlening" not in set(rel["case_problems"]["problem"])


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
    assert not {"vroegsignalering", "geldzaken"} & set(rel["episodes"]["programme"])
    assert rel.summary()["persons_excluded"] == zuidplas.n_unique()


# --------------------------------------------------------------------------- nothing identifying
def test_no_date_postcode_or_pseudonym_anywhere(pseudonymised, release) -> None:
    pseudonyms = _input_pseudonyms(pseudonymised)
    assert len(pseudonyms) > PEOPLE
    postcodes = set(pseudonymised["persons"]["postcode"].drop_nulls())
    forbidden = {"postcode", "birth_year", "start_date", "end_date", "measured_on", "set_on"}
    for entity, df in release.tables.items():
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
    level = release.result.levels["area"]
    values = set(release["episodes"]["area"])
    prefix = {0: r"^\d{4}$", 1: r"^WK\d{6} ", 3: r"^GM\d{4} "}.get(level)
    if prefix:
        assert all(re.match(prefix, v) or v in ("onbekend", "*") for v in values)
    assert set(release["episodes"]["area_division_year"]) == {2025}


# --------------------------------------------------------------------------- surrogates
def test_surrogate_ids_depend_on_the_release_seed(pseudonymised, release, config) -> None:
    again = anonymise_release(pseudonymised, config=config, release_seed=1)
    other = anonymise_release(pseudonymised, config=config, release_seed=2)
    for entity, df in release.tables.items():
        assert df.equals(again[entity]), entity  # deterministic for one seed
    a, b = release["episodes"], other["episodes"]
    assert a.height == b.height
    assert a["person_id"].to_list() != b["person_id"].to_list()
    # same content, other numbering: the ids are a permutation of 1..n
    n = a["person_id"].n_unique()
    assert sorted(a["person_id"].unique()) == list(range(1, n + 1))
    assert sorted(a["episode_id"]) == list(range(1, a.height + 1))
    drop = ["person_id", "episode_id"]
    key = [c for c in a.columns if c not in drop]
    assert a.drop(drop).sort(key).equals(b.drop(drop).sort(key))


# --------------------------------------------------------------------------- microdata
def test_months_since_intake_are_buckets(release, config) -> None:
    buckets = set(config.month_buckets)
    scores = release["bridge_scores"]
    assert set(scores["months_since_intake"].unique()) <= buckets
    assert scores["measurement_no"].min() == 1
    goals = release["goals"]
    assert set(goals["months_to_set"].drop_nulls()) <= buckets
    assert set(goals["months_to_achieve"].drop_nulls()) <= buckets
    assert (goals["months_to_achieve"].is_null() == ~goals["achieved"]).all()
    assert set(goals["confidence_band"].drop_nulls()) <= {"1-3", "4-6", "7-8", "9-10"}
    assert set(release["episodes"]["duration_months"].drop_nulls()) <= buckets


def test_summary_is_json_figures(release) -> None:
    s = release.summary()
    text = json.dumps(s)
    assert "pseudonym" not in text
    for key in ("persons_in", "suppressed_persons", "levels", "k_achieved", "search_ms"):
        assert key in s
    assert s["metrics"]["loss"] >= 0
    assert 0 < s["risk"]["prosecutor_max"] <= 1 / s["k"]


def test_helpers() -> None:
    assert band_labels((0, 1, 1000)) == ("0", "1-999", "1000+")
    df = pl.DataFrame(
        {"s": [dt.date(2024, 1, 31), dt.date(2024, 1, 1)], "e": [dt.date(2024, 3, 30), None]}
    )
    got = df.select(month_bucket(months_between(pl.col("s"), pl.col("e")), (0, 3, 6)))
    assert got.to_series().to_list() == [0, None]
    m = RecordedDistinctLDiversity("y", 2, order=("onbekend", "a", "b"))
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
            "quasi_identifiers": ["age_at_intake", "gender", "area"],
            "month_buckets": [0, 6, 12],
        }
    )
    assert c.k == 10 and c.quasi_identifiers == ("age_at_intake", "gender", "area")
    assert c.month_buckets == (0, 6, 12) and c.hierarchy_files["area"] == "area.csv"
    json.dumps(c.as_dict())
    for bad in (
        {"kk": 5},
        {"k": 0},
        {"suppression_limit": 2},
        {"quasi_identifiers": ["bsn"]},
        {"l_diversity": {"income": 2}},
        {"month_buckets": [3, 6]},
        {"metric": "fast"},
    ):
        with pytest.raises(ConfigError):
            AnonymisationConfig.from_mapping(bad)


def test_fewer_quasi_identifiers_publish_fewer_columns(pseudonymised) -> None:
    config = AnonymisationConfig(
        quasi_identifiers=("age_at_intake", "gender", "organisation"), l_diversity={}
    )
    rel = anonymise_release(pseudonymised, config=config, release_seed=5)
    cols = set(rel["episodes"].columns)
    assert {"age_at_intake", "gender", "organisation"} <= cols
    assert not {"area", "household_type", "intake_period", "area_division_year"} & cols
    sizes = (
        rel["episodes"].group_by(list(config.quasi_identifiers)).agg(pl.col("person_id").n_unique())
    )
    assert sizes["person_id"].min() >= config.k
