"""Protected tables over time: an attacker holding two releases' tables (issue 14, item 1).

Two releases of the same linked tables differ by 0, 1, k−1 or 20 persons (erasures/objections
and arrivals). The attacker (``table_attacker``, written apart from the solver and its audit)
solves one linear programme over both releases' tables, with every cell's change bounded by the
number of persons that changed. With one ledger per population every suppressed cell stays
unknown, every small suppressed cell may still be ≥ the threshold, and no small change of a cell
by level (the changed persons' levels) is certain. The control protects each release on its own
(a ledger per data snapshot, as before): the attack succeeds.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from anonymise.tables import MemoryLedger, PrimaryRules, TableSet, frequency_table, protect
from tests.privacy.table_attacker import Attacker, Published, certain_changes

THRESHOLD = 10
RULES = PrimaryRules(threshold=THRESHOLD, group_dims=("level",))
WIJK_OF = {f"W{i}": ("G1" if i <= 4 else "G2") for i in range(1, 8)}


def _population(n: int = 3_000, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    wijk = rng.choice(list(WIJK_OF), n, p=[0.3, 0.25, 0.15, 0.1, 0.1, 0.06, 0.04])
    year = rng.choice([str(y) for y in range(2021, 2025)], n)
    level = rng.choice(list("12345"), n, p=[0.1, 0.25, 0.3, 0.25, 0.1])
    return pl.DataFrame(
        {"person": [f"p{i}" for i in range(n)], "wijk": wijk, "year": year, "level": level}
    )


def _tables(pop: pl.DataFrame) -> TableSet:
    t = frequency_table(
        pop.lazy(),
        dims=["wijk", "year", "level"],
        hierarchies={"wijk": WIJK_OF},
        person_column="person",
        name="levels",
    )
    return TableSet([t])


def _releases(n: int, *, linked: bool) -> tuple[list[Published], list[TableSet]]:
    pop = _population()
    people = pop["person"].to_list()
    step = max(1, len(people) // max(n, 1))
    changed = people[::step][:n]
    arrivals, leavers = changed[: n // 2], changed[n // 2 :]
    first = _tables(pop.filter(~pl.col("person").is_in(arrivals)))
    second = _tables(pop.filter(~pl.col("person").is_in(leavers)))
    out = []
    ledger = MemoryLedger()
    for rid, ts in (("r1", first), ("r2", second)):
        led = ledger if linked else MemoryLedger()
        res = protect(ts, rules=RULES, method="milp", ledger=led, release_id=rid, time_limit=20)
        assert res.audit.ok, res.record["status"]
        res.record_release(led, rid)
        out.append(Published(ts, res.suppressed[: ts.n_cells]))
    return out, [first, second]


def _violations(releases: list[Published], delta: int) -> list[str]:
    """What the attacker learns beyond the protection, over both releases."""
    att = Attacker(releases, delta)
    found = []
    for r, rel in enumerate(releases):
        vals = dict(zip(rel.keys, rel.values, strict=True))
        for i in np.flatnonzero(rel.suppressed):
            key = rel.keys[i]
            lo, hi = att.cell(r, key)
            if hi - lo < 1e-6:
                found.append(f"release {r + 1}: {key} recomputed exactly ({lo:g})")
            elif 0 < vals[key] < THRESHOLD and hi < THRESHOLD - 1e-6:
                found.append(f"release {r + 1}: {key} shown to be small (≤ {hi:g})")
    a, b = releases
    va = dict(zip(a.keys, a.values, strict=True))
    for key, vb in zip(b.keys, b.values, strict=True):
        d = vb - va.get(key, vb)
        if "level=" in key and 1 <= abs(d) < THRESHOLD:
            lo, hi = att.change(0, 1, key)
            if lo > 1e-6 or hi < -1e-6:
                found.append(f"{key}: changed by {d:+g} for certain ([{lo:g}, {hi:g}])")
    return found


@pytest.mark.parametrize("n", [0, 1, 4, 20])
def test_two_releases_of_tables_leak_nothing(n: int):
    releases, _ = _releases(n, linked=True)
    assert _violations(releases, delta=n) == []


@pytest.mark.parametrize("n", [1, 4, 20])
def test_control_ledger_per_snapshot_is_attacked(n: int):
    """Control: each release protected on its own (as with a ledger per data snapshot)."""
    releases, _ = _releases(n, linked=False)
    assert _violations(releases, delta=n), "the attack found nothing: it cannot fail"


def test_once_suppressed_stays_protected_over_three_releases():
    """A third release, one person later again, still keeps every earlier secret."""
    pop = _population()
    people = pop["person"].to_list()
    ledger = MemoryLedger()
    releases = []
    for r, gone in enumerate(([], people[:1], people[:2])):
        ts = _tables(pop.filter(~pl.col("person").is_in(gone)))
        res = protect(ts, rules=RULES, method="milp", ledger=ledger, release_id=f"r{r}")
        assert res.audit.ok
        res.record_release(ledger, f"r{r}")
        releases.append(Published(ts, res.suppressed[: ts.n_cells]))
    att = Attacker(releases, delta=2)
    for r, rel in enumerate(releases):
        for i in np.flatnonzero(rel.suppressed):
            lo, hi = att.cell(r, rel.keys[i])
            assert hi - lo > 1e-6, (r, rel.keys[i])


def _mart_release(world, excluded: list[str], seed: int, ledger, rid: str):
    from assets.marts.aggregates import AggregateConfig, protect_aggregates

    rel = world.release_excluding(excluded, seed=seed)
    frames = {n: rel.steward[n] for n in ("population", "population_goals") if n in rel.steward}
    frames["bridge_scores"] = world.bridge_scores(rel)
    parents = rel.steward["area_parents"]
    config = AggregateConfig(threshold=THRESHOLD, area_parents=dict(parents.iter_rows()))
    agg = protect_aggregates(frames, config=config, release_id=rid, ledger=ledger)
    assert agg.audit_ok
    agg.record_release(ledger)
    res = agg.result
    return Published(res.table_set, res.suppressed[: res.table_set.n_cells])


@pytest.mark.slow
@pytest.mark.parametrize("linked", [True, False])
def test_mart_tables_of_two_releases_around_an_erasure(world, linked: bool):
    """The policymakers' tables themselves (Bridge levels by area × intake year, goals,
    outcomes), built by the marts from two releases of the demo population one erased person
    apart: with one ledger no change of a cell by level is certain; the control (a ledger per
    release) shows the erased person's cells."""
    from assets.anonymised.record import PERSON

    person = world.record.sort(PERSON)[PERSON][0]
    shared = MemoryLedger()
    first = _mart_release(world, [], 1, shared if linked else MemoryLedger(), "r1")
    second = _mart_release(world, [person], 2, shared if linked else MemoryLedger(), "r2")
    certain = certain_changes(first, second, delta=1)
    if linked:
        assert certain == []
    else:
        assert certain, "the control found nothing: the attack cannot fail"
