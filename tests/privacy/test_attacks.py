"""The project's own attack suite (docs/threat-model.md): each attack on the release, and the
same attack on a deliberately weakened release (positive control) where it must succeed — or
the test proves nothing.

The attackers' outside knowledge is the truth: the pseudonymised layer of the session's small
synthetic deployment (what the organisations' exports say about each person).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from anonymise import k_anonymise
from anonymise.linkage import WITHHELD
from assets.anonymised.generalisation import signature_levels
from assets.anonymised.record import member_column, recording_organisations
from assets.anonymised.release import person_risk
from assets.staging.schema import ORGANISATIONS
from tests.privacy.conftest import World, consistent_counts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def release(world: World):
    return world.release()


# --------------------------------------------------------------------------- row order
def _alignment_accuracy(file_ids: list[int], truth: dict[int, int]) -> float:
    """Share of units whose position among the file's distinct ids equals their position in the
    organisation's export (the attacker's alignment)."""
    order = list(dict.fromkeys(file_ids))
    return float(np.mean([truth.get(t) == i for i, t in enumerate(order)])) if order else 0.0


def test_row_order_carries_no_information(world: World, release):
    """An insider holding their export (in its order) aligns it with the published Bridge file
    and person table: the order of the release is the random ids', so alignment is chance."""
    keys = release.steward["trajectory_keys"]
    eps = world.tables["episodes"]
    # the export's order: the pseudonymised layer keeps each organisation's file order
    export = eps.with_row_index("_pos").join(keys, on="episode_pseudonym", how="inner")
    export = export.sort("_pos").with_row_index("_rank")
    truth = dict(zip(export["trajectory_id"].to_list(), export["_rank"].to_list(), strict=True))
    scores = world.bridge_scores(release)
    acc = _alignment_accuracy(scores["trajectory_id"].to_list(), truth)
    assert acc < 0.05, f"{acc:.1%} of trajectories aligned with the export order"
    # persons: file order is person_id order, and person_id is a random permutation
    ids = release.tables["persons"]["person_id"].to_list()
    assert ids == sorted(ids)

    # positive control: the old release kept the source order (DuckDB's unordered derivation)
    weak = keys.join(
        eps.with_row_index("_pos").select("episode_pseudonym", "_pos"), on="episode_pseudonym"
    ).sort("_pos")
    acc_weak = _alignment_accuracy(weak["trajectory_id"].to_list(), truth)
    assert acc_weak > 0.9, "the control release should be aligned by its order"


def test_ids_are_unlinkable_between_tables(world: World, release):
    """No two published tables share an id column: detail cannot be joined to a person."""
    ids = {
        name: {c for c in df.columns if c.endswith("_id")} for name, df in release.tables.items()
    }
    ids["bridge_scores"] = {"trajectory_id"}
    seen: dict[str, str] = {}
    for name, cols in ids.items():
        assert len(cols) == 1, f"{name} has id columns {cols}"
        (col,) = cols
        assert col not in seen, f"{name} and {seen.get(col)} share {col}"
        seen[col] = name


# --------------------------------------------------------------------------- acquaintance
def test_acquaintance_cannot_single_out(world: World, release):
    """The acquaintance knows a person's QIs and every episode (organisation, programme, year,
    end reason, duration): every person has 0 or >= k consistent published records, and the
    published risk figure is what this attack measures at most."""
    qis = list(world.config.quasi_identifiers)
    published = release.tables["persons"]
    n = consistent_counts(world.record, published, world.hierarchies, qis)
    k = world.config.k
    assert ((n == 0) | (n >= k)).all(), f"{int(((n > 0) & (n < k)).sum())} persons singled out"
    measured = float((1.0 / n[n > 0]).max())
    reported = person_risk(published, qis)["prosecutor_max"]
    assert measured <= reported + 1e-12
    assert reported <= 1.0 / k
    assert release.figures["risk"]["prosecutor_max"] == reported


def test_acquaintance_control_episodes_beside_the_qis(world: World, release):
    """Control: k on the person's QIs without the episode set, the episode set published beside
    them (the old design): the same attack singles persons out."""
    qis = [q for q in world.config.quasi_identifiers if q != "episodes"]
    res = k_anonymise(
        world.record,
        quasi_identifiers=qis,
        hierarchies={q: world.hierarchies[q] for q in qis},
        k=world.config.k,
        suppression_limit=0.02,
    )
    weak = res.published
    weak = weak.with_columns(
        pl.col("episodes").map_elements(lambda s: signature_levels(s)[2], return_dtype=pl.String)
    )
    know = world.record.with_columns(pl.col("episodes").alias("_sig"))
    n = consistent_counts(know, weak, world.hierarchies, [*qis, "episodes"])
    assert ((n > 0) & (n < world.config.k)).sum() > 0


# --------------------------------------------------------------------------- insider
def _insider_counts(world: World, published: pl.DataFrame, organisation: str) -> np.ndarray:
    qis = list(world.config.quasi_identifiers)
    recording = recording_organisations(world.tables["debts"], world.tables["case_problems"])
    known = [s for s in recording[organisation] if s in published.columns]
    members = world.record.filter(pl.col(member_column(organisation)))
    return consistent_counts(members, published, world.hierarchies, qis, {s: s for s in known})


@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_insider_cannot_single_out(world: World, release, organisation: str):
    """Staff of one organisation know its participants' QIs, episodes and what it records
    (debt, health, justice): none of their participants is singled out in the release, so
    nothing another organisation recorded can be read off a recognised record."""
    n = _insider_counts(world, release.tables["persons"], organisation)
    k = world.config.k
    assert ((n == 0) | (n >= k)).all(), f"{organisation}: {int(((n > 0) & (n < k)).sum())}"


def test_insider_control_without_protection(world: World):
    """Control: without insider protection some organisation's staff single participants
    out by the values they record themselves."""
    weak = world.release(insider_protection=False).tables["persons"]
    hits = 0
    for o in ORGANISATIONS:
        n = _insider_counts(world, weak, o)
        hits += int(((n > 0) & (n < world.config.k)).sum())
    assert hits > 0


# --------------------------------------------------------------------------- homogeneity
def _homogeneous(published: pl.DataFrame, qis: list[str]) -> dict[str, int]:
    out = {}
    known = pl.col("debt_band").filter(~pl.col("debt_band").is_in(["onbekend", WITHHELD]))
    g = published.group_by(qis).agg(
        known.n_unique().alias("debt_distinct"),
        known.len().alias("debt_known"),
        *[(pl.col(f) == "ja").sum().alias(f"{f}_ja") for f in ("health_flag", "justice_flag")],
        *[
            pl.col(f).is_in(["ja", "nee"]).sum().alias(f"{f}_known")
            for f in ("health_flag", "justice_flag")
        ],
    )
    out["debt_band"] = g.filter((pl.col("debt_known") > 0) & (pl.col("debt_distinct") < 2)).height
    for f in ("health_flag", "justice_flag"):
        out[f] = g.filter(
            (pl.col(f"{f}_known") > 0) & (pl.col(f"{f}_ja") > 0.9 * pl.col(f"{f}_known"))
        ).height
    return out


def test_no_homogeneous_class(world: World, release):
    """No class of mart_persons has one recorded debt band, or 'ja' for health or justice in
    more than 90 % of its recorded values; no trajectory class one intake level per domain."""
    qis = list(world.config.quasi_identifiers)
    assert _homogeneous(release.tables["persons"], qis) == {
        "debt_band": 0,
        "health_flag": 0,
        "justice_flag": 0,
    }
    scores = world.bridge_scores(release)
    intake = scores.filter(pl.col("measurement_no") == 1)
    per_class = intake.group_by("organisation", "intake_year", "domain").agg(
        pl.col("level").n_unique().alias("levels"), pl.col("trajectory_id").n_unique().alias("n")
    )
    assert per_class.filter(pl.col("levels") < 2).height == 0
    assert per_class["n"].min() >= world.config.k


def test_homogeneity_control(world: World):
    """Control: without the attribute-disclosure models classes are homogeneous."""
    weak = world.release(l_diversity={}, max_share={}, insider_protection=False)
    found = _homogeneous(weak.tables["persons"], list(world.config.quasi_identifiers))
    assert sum(found.values()) > 0


# --------------------------------------------------------------------------- differencing
def _latest_levels_by_year(world: World, release, scores: pl.DataFrame, units: pl.Series | None):
    keys = release.steward["trajectory_keys"].filter(pl.col("unit_id").is_not_null())
    if units is not None:
        keys = keys.filter(pl.col("unit_id").is_in(units.implode()))
    last = (
        scores.join(keys.select("trajectory_id", "unit_id"), on="trajectory_id")
        .sort("measurement_no")
        .group_by("trajectory_id", "domain")
        .agg(pl.col("level").last(), pl.col("intake_year").first())
    )
    return last.group_by("intake_year", "domain", "level").len()


def test_tables_minus_microdata_isolate_nobody(world: World, release):
    """The tables count the whole population; the detail microdata (trajectories) hold every
    person the tables count, withheld from mart_persons or not: per (intake year, domain,
    level) the table's persons minus the trajectories' persons is 0, so no difference isolates
    a withheld person's levels. Control: publishing trajectories for all but one counted
    person (the old design withheld the rare ones) leaves that person's levels as the
    difference."""
    scores = world.bridge_scores(release)
    table = _latest_levels_by_year(world, release, scores, None)
    published_units = release.steward["trajectory_keys"]["unit_id"].drop_nulls()
    micro = _latest_levels_by_year(world, release, scores, published_units)
    diff = table.join(micro, on=["intake_year", "domain", "level"], how="left").with_columns(
        (pl.col("len") - pl.col("len_right").fill_null(0)).alias("d")
    )
    assert diff["d"].abs().sum() == 0

    # control: the old design published trajectories only for the persons in the person
    # table; withhold one counted person from the trajectories and the difference per level
    # is exactly that person's latest levels
    withheld = published_units.sort()[0]
    kept = published_units.filter(published_units != withheld)
    m = _latest_levels_by_year(world, release, scores, kept)
    d = table.join(m, on=["intake_year", "domain", "level"], how="left").with_columns(
        (pl.col("len") - pl.col("len_right").fill_null(0)).alias("d")
    )
    leaked = d.filter(pl.col("d") > 0).select("domain", "level").sort("domain")
    truth = (
        _latest_levels_by_year(world, release, scores, pl.Series([withheld]))
        .select("domain", "level")
        .sort("domain")
    )
    assert leaked.height > 0 and leaked.equals(truth)
