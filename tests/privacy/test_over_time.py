"""Releases over time: comparing two releases' microdata isolates nobody who was erased,
objected or arrived (issue 14; assets/marts/over_time.py, docs/adr/0004).

The attacker holds both releases and takes their difference class by class: a class whose
published content changed by 1..k-1 units (persons in ``mart_persons``, episodes in a detail
table) shows exactly those units' records. The release holds such classes back; the control —
the same two releases without holding back — is attacked successfully.
"""

from __future__ import annotations

import polars as pl
import pytest

from assets.anonymised.record import PERSON
from assets.anonymised.release import AnonymisedRelease
from assets.marts.over_time import (
    ClassSpec,
    apply_over_time,
    changed_units,
    release_specs,
    unit_digests,
)
from tests.privacy.conftest import World

pytestmark = pytest.mark.slow


def _published(world: World, release: AnonymisedRelease) -> dict[str, pl.DataFrame]:
    return {**release.tables, "bridge_scores": world.bridge_scores(release)}


def _specs(world: World, frames: dict[str, pl.DataFrame]) -> dict[str, ClassSpec]:
    return release_specs(
        {n: f.columns for n, f in frames.items()},
        world.config.quasi_identifiers,
        world.config.publish_sensitive,
    )


def _isolated(a: pl.DataFrame, b: pl.DataFrame, spec: ClassSpec, k: int) -> int:
    """Classes whose published content differs between the releases by 1..k-1 units while
    the second release shows it (not withheld, not left out)."""
    da, db = unit_digests(a, spec), unit_digests(b, spec)
    shown = db["class_key"].unique()
    if spec.held_back == "values":
        shown = unit_digests(
            b.filter(~pl.any_horizontal(pl.col(c) == "*" for c in spec.content)), spec
        )["class_key"].unique()
    diff = changed_units(db, da).filter(pl.col("class_key").is_in(shown.implode()))
    return diff.filter((pl.col("changed") > 0) & (pl.col("changed") < k)).height


def _changed_population(world: World, n: int) -> tuple[list[str], list[str]]:
    """(persons left out of the first release, persons left out of the second): half of the n
    changes are arrivals, half erasures/objections; spread over the population."""
    people = world.record.sort(PERSON)[PERSON].to_list()
    step = max(1, len(people) // max(n, 1))
    chosen = people[::step][:n]
    arrivals, leavers = chosen[: n // 2], chosen[n // 2 :]
    return arrivals, leavers


def _two_releases(world: World, n: int):
    arrivals, leavers = _changed_population(world, n)
    first = world.release_excluding(arrivals, seed=1)
    second = world.release_excluding(leavers, seed=2)
    return _published(world, first), _published(world, second)


@pytest.mark.parametrize("n", [0, 1, 4, 20])
def test_difference_of_two_releases_isolates_nobody(world: World, n: int):
    """0, 1, k-1 and 20 persons changed (arrivals, erasures/objections): after holding back,
    no class's difference between the releases shows 1..k-1 units; with 0 changes nothing is
    held back."""
    k = world.config.k
    a, b = _two_releases(world, n)
    specs = _specs(world, a)
    held_total = 0
    for name, spec in specs.items():
        previous = apply_over_time(a[name], spec, None, k).state
        outcome = apply_over_time(b[name], spec, previous, k)
        held_total += outcome.held.len()
        assert _isolated(a[name], outcome.frame.collect(), spec, k) == 0, name
    if n == 0:
        assert held_total == 0


@pytest.mark.parametrize("n", [1, 4, 20])
def test_difference_control_without_holding_back(world: World, n: int):
    """Control: the same two releases published as they are: the difference of some class
    shows fewer than k changed units (the changed persons' records)."""
    k = world.config.k
    a, b = _two_releases(world, n)
    specs = _specs(world, a)
    assert sum(_isolated(a[t], b[t], spec, k) for t, spec in specs.items()) > 0


def test_held_back_change_accumulates_until_k(world: World):
    """A class held back stays compared with what analysts last saw: publishing it again one
    release later, after another single change, would show two changed units — still held."""
    k = world.config.k
    people = world.record.sort(PERSON)[PERSON].to_list()
    r1 = _published(world, world.release_excluding([], seed=1))
    r2 = _published(world, world.release_excluding(people[:1], seed=2))
    r3 = _published(world, world.release_excluding(people[:2], seed=3))
    spec = _specs(world, r1)["persons"]
    s1 = apply_over_time(r1["persons"], spec, None, k).state
    o2 = apply_over_time(r2["persons"], spec, s1, k)
    o3 = apply_over_time(r3["persons"], spec, o2.state, k)
    assert _isolated(r1["persons"], o3.frame.collect(), spec, k) == 0
    assert _isolated(r2["persons"], o3.frame.collect(), spec, k) == 0
