"""Attacks on the tables the cell key method protects (issue 14 item 3, ADR 0006), each with a
positive control: the same attack on a deliberately weakened perturbation succeeds.

* **Averaging** over repeated releases: the same persons give the same published value in every
  release, so averaging gains nothing; noise drawn afresh per release is averaged away.
* **Differencing within a release**: the attacker's LP over a perturbed table (every cell within
  ±D of its published value, the table's additivity) does not pin any small cell; perturbing
  only the small cells and publishing the rest exactly lets the totals give them away.
* **Over time with "both"**: suppression with the population ledger, noise on top, keeps the
  guarantee of ``test_tables_over_time`` around an erasure (no small change of a cell by a
  sensitive value certain); the control, a ledger per release, is attacked successfully.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.optimize import linprog

from anonymise.tables import MemoryLedger, TableSet
from anonymise.tables.cellkey import derive_secret, record_keys
from assets.marts.aggregates import (
    BRIDGE_LEVELS,
    BRIDGE_PROGRESS,
    GOALS_REACHED,
    OUTCOMES,
    AggregateConfig,
    build_tables,
    protect_aggregates,
)
from assets.marts.protection import TableSettings
from tests.assets.test_marts_aggregates import AREAS, frames
from tests.privacy.table_attacker import Published, certain_changes

THRESHOLD = 10
CKM = TableSettings(protection={OUTCOMES: "cell_key"})


def _release(secret: bytes, *, seed: int = 11, shuffle: int = 0) -> dict[str, pl.DataFrame]:
    """A population of 600 with small outcome cells; record keys from ``secret``; unit ids
    re-drawn per release (``shuffle``) as the anonymised step does."""
    f = frames(600, seed)
    pop = f["population"]
    persons = pop.select(pl.format("p{}", pl.col("unit_id")).alias("p"))["p"]
    pop = pop.with_columns(record_keys(persons, secret))
    if shuffle:
        perm = np.random.default_rng(shuffle).permutation(pop.height) + 10_000
        pop = pop.with_columns(unit_id=pl.Series(perm))
    return {"population": pop}


def _config(settings: TableSettings = CKM) -> AggregateConfig:
    return AggregateConfig.from_settings(settings, area_parents=AREAS)


def _outcomes(published: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return published[OUTCOMES].sort("organisation", "programme", "end_reason")


def _truth(f: dict[str, pl.DataFrame]) -> tuple[TableSet, pl.DataFrame]:
    ts = build_tables(f, _config(TableSettings()))
    assert ts is not None
    table = next(t for t in ts.tables if t.name == OUTCOMES)
    one = TableSet([table])
    return one, table.frame.select(
        "organisation", "programme", "end_reason", pl.col("value").alias("truth")
    )


SECRET = derive_secret(b"a project key of the tests, 32 b")


def test_repeated_releases_cannot_be_averaged():
    """Ten releases of the same persons (ids re-drawn each time) publish the same values, so
    their mean is no better than one release; noise drawn afresh each release (the control: a
    new secret per release) averages out to the true counts of the small cells."""
    _, truth = _truth(_release(SECRET))
    keys = ["organisation", "programme", "end_reason"]
    small = truth.filter(pl.col("truth").is_between(1, THRESHOLD - 1))
    assert small.height >= 3, "the population should have small outcome cells"

    def mean_of(secrets: list[bytes]) -> pl.DataFrame:
        runs = [
            _outcomes(
                protect_aggregates(
                    _release(s, shuffle=i + 1), config=_config(), release_id=f"r{i}"
                ).published()
            ).select(*keys, pl.col("persons").alias(f"r{i}"))
            for i, s in enumerate(secrets)
        ]
        out = runs[0]
        for r in runs[1:]:
            out = out.join(r, on=keys)
        cols = [c for c in out.columns if c.startswith("r")]
        return out.select(*keys, pl.mean_horizontal(cols).alias("mean"), *cols)

    same = mean_of([SECRET] * 10).join(small, on=keys)
    cols = [c for c in same.columns if c.startswith("r")]
    assert all(same[c].equals(same["r0"]) for c in cols), "a cell changed between releases"
    missed = same.filter(pl.col("mean").round(0) != pl.col("truth")).height
    assert missed > 0, "no small cell was perturbed: nothing to average away"

    fresh = [derive_secret(bytes([i]) * 32) for i in range(40)]
    control = mean_of(fresh).join(small, on=keys)
    recovered = control.filter((pl.col("mean") - pl.col("truth")).abs() < 0.5).height
    assert recovered >= 0.8 * control.height, "the averaging attack should work on fresh noise"


def _lp_intervals(ts: TableSet, lower: np.ndarray, upper: np.ndarray, cells: np.ndarray):
    """The attacker's interval for each of ``cells``: min and max of the cell over every
    non-negative table consistent with the published bounds and the table's equations."""
    a = ts.equations
    out = []
    for j in cells:
        c = np.zeros(ts.n_cells)
        c[j] = 1.0
        bounds = list(zip(lower, upper, strict=True))
        lo = linprog(c, A_eq=a, b_eq=np.zeros(a.shape[0]), bounds=bounds, method="highs")
        hi = linprog(-c, A_eq=a, b_eq=np.zeros(a.shape[0]), bounds=bounds, method="highs")
        assert lo.status == 0 and hi.status == 0
        out.append((lo.fun, -hi.fun))
    return out


def test_a_perturbed_table_pins_no_small_cell():
    f = _release(SECRET)
    ts, _ = _truth(f)
    agg = protect_aggregates(f, config=_config(), release_id="r1")
    d = agg.ptable.D
    cells = ts.cells.select("key", "value", "is_margin")
    published = cells.join(
        agg.release_rows().select(pl.col("cell_key").alias("key"), pl.col("value").alias("p")),
        on="key",
        how="left",
        maintain_order="left",
    )
    true, p = published["value"].to_numpy(), published["p"].to_numpy()
    assert np.abs(p - true).max() <= d
    small = np.flatnonzero((true >= 1) & (true < THRESHOLD) & ~published["is_margin"].to_numpy())
    assert small.size >= 3
    pinned = [
        j
        for j, (lo, hi) in zip(
            small, _lp_intervals(ts, np.maximum(p - d, 0), p + d, small), strict=True
        )
        if hi - lo < 1 - 1e-6
    ]
    assert pinned == []
    # control: noise on the small cells only, everything else exact — the totals give them away
    exact = true >= THRESHOLD
    lo_w = np.where(exact, true, np.maximum(p - d, 0))
    hi_w = np.where(exact, true, p + d)
    weak = _lp_intervals(ts, lo_w, hi_w, small)
    assert sum(hi - lo < 1e-6 for lo, hi in weak) >= 1, "the control should pin a small cell"


@pytest.mark.slow
@pytest.mark.parametrize("linked", [True, False])
def test_both_keeps_the_over_time_guarantee(world, linked: bool):
    """Two releases of the demo population one erased person apart, the Bridge and goal tables
    under "both": no change of a cell by a sensitive value is certain to the attacker holding
    both (who is even given the true published values: the noise only adds doubt). Control: a
    ledger per release lets the erased person's cells show."""
    from assets.anonymised.record import PERSON

    settings = TableSettings(
        protection={BRIDGE_LEVELS: "both", BRIDGE_PROGRESS: "both", GOALS_REACHED: "both"}
    )
    person = world.record.sort(PERSON)[PERSON][0]
    shared = MemoryLedger()
    releases = []
    for i, excluded in enumerate(([], [person])):
        rel = world.release_excluding(excluded, seed=i + 1, cell_key_secret=SECRET)
        fr = {n: rel.steward[n] for n in ("population", "population_goals") if n in rel.steward}
        fr["bridge_scores"] = world.bridge_scores(rel)
        cfg = AggregateConfig.from_settings(
            settings, area_parents=dict(rel.steward["area_parents"].iter_rows())
        )
        ledger = shared if linked else MemoryLedger()
        agg = protect_aggregates(fr, config=cfg, release_id=f"r{i}", ledger=ledger)
        assert agg.audit_ok
        assert any(agg.perturbation.get(m, {}).get("cells_changed") for m in settings.protection)
        agg.record_release(ledger)
        res = agg.result
        releases.append(Published(res.table_set, res.suppressed[: res.table_set.n_cells]))
    certain = certain_changes(*releases, delta=1)
    if linked:
        assert certain == []
    else:
        assert certain, "the control found nothing: the attack cannot fail"
