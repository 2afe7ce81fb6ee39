"""Issue 14 item 7: a table set is solved part by part where the parts cannot interact.

Independent parts (different measures, or unknowns that share no equation once the published
cells are constants) give the same pattern as the undivided model, the parts are audited together
afterwards, and a set of many small tables no longer runs one MILP over all of them."""

from __future__ import annotations

import importlib

import numpy as np
import polars as pl
import pytest

from anonymise.tables import PrimaryRules, TableSet, audit, frequency_table, protect
from anonymise.tables.ledger import build_problem
from anonymise.tables.model import Part, independent_parts
from tests.anonymise.tables.frames import random_persons

protect_module = importlib.import_module("anonymise.tables.protect")
NO_GROUP = PrimaryRules(group_share=None)


def _frame(seed: int, n: int = 400) -> pl.LazyFrame:
    share = [0.3, 0.25, 0.2, 0.15, 0.07, 0.03]
    return random_persons(seed, n, wijken=6, wijk_p=share, level_p=[0.05, 0.2, 0.4, 0.25, 0.1])


def _tables() -> list:
    return [
        frequency_table(_frame(seed), dims=["wijk", "level"], name=f"t{seed}", measure=f"m{seed}")
        for seed in (1, 2, 3)
    ]


def _whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make protect solve the undivided problem (the model before the decomposition)."""
    monkeypatch.setattr(
        protect_module,
        "independent_parts",
        lambda problem, free, sup_fixed: [Part(cells=None, problem=problem)],
    )


def test_parts_follow_the_measures() -> None:
    ts = TableSet(_tables())
    rules = NO_GROUP
    upl, lpl, _ = protect_module._primaries(ts, rules)
    problem, _ = build_problem(ts, upl, lpl)
    sup = problem.primary
    parts = independent_parts(problem, ~sup & (problem.values > 0), sup)
    assert len(parts) == 3
    measures = [set(ts.cells["measure"].to_numpy()[p.cells]) for p in parts]
    assert measures == [{"m1"}, {"m2"}, {"m3"}]
    # every equation of a part lies in it whole
    total = sum(p.problem.equations.shape[0] for p in parts)
    assert total == problem.equations.shape[0]


@pytest.mark.parametrize("method", ["milp", "heuristic"])
def test_decomposition_gives_the_pattern_of_the_whole(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ts = TableSet(_tables())
    parted = protect(ts, rules=NO_GROUP, method=method)
    assert parted.record["solver"]["components"] == 3
    assert parted.audit.ok
    with monkeypatch.context() as m:
        _whole(m)
        whole = protect(ts, rules=NO_GROUP, method=method)
    assert "components" not in whole.record["solver"]
    assert whole.audit.ok
    assert parted.record["cost"] == pytest.approx(whole.record["cost"])
    if method == "milp":
        # both proven optimal: the same cost (the optimum has ties here, so either pattern)
        assert parted.record["status"] == "3 components: optimal ×3"
        assert whole.record["status"] == "optimal"
    else:
        # the greedy heuristic visits each part's lines in the same order: the same cells
        assert np.array_equal(parted.suppressed, whole.suppressed)


def test_each_table_alone_gives_the_same_cells() -> None:
    tables = _tables()
    together = protect(TableSet(tables), rules=NO_GROUP, method="milp")
    for t in tables:
        alone = protect(TableSet([t]), rules=NO_GROUP, method="milp")
        a = alone.tables[t.name].sort("wijk", "level")
        b = together.tables[t.name].sort("wijk", "level")
        assert a["suppressed"].to_list() == b["suppressed"].to_list()
        assert alone.n_secondary > 0  # the case needs secondaries at all


def test_parts_are_audited_together_and_the_audit_still_catches_a_bad_part() -> None:
    ts = TableSet(_tables())
    res = protect(ts, rules=NO_GROUP, method="milp")
    keys = res.problem.keys
    sup = res.suppressed[: ts.n_cells].copy()
    assert audit(ts, sup, rules=NO_GROUP).ok
    # positive control: publish one secondary of the second part -> the whole-set audit fails
    sec = [i for i, r in enumerate(res.reasons) if r == "secondary" and keys[i].startswith("m2|")]
    assert sec
    sup[sec[0]] = False
    assert not audit(ts, sup, rules=NO_GROUP).ok


def test_nothing_sensitive_means_no_part_to_solve() -> None:
    lf = pl.LazyFrame({"wijk": ["A"] * 30 + ["B"] * 40})
    ts = TableSet([frequency_table(lf, dims=["wijk"])])
    res = protect(ts, rules=NO_GROUP)
    assert res.n_primary == 0 and res.n_secondary == 0 and res.audit.ok


def test_a_part_without_free_cells_is_solved() -> None:
    """Found by check-output with a ledger: a part whose only unknown was suppressed in an earlier
    release (no free cell, no protection level) gave the MILP no variable at all."""
    lf = pl.LazyFrame({"g": ["a"] * 30 + ["b"] * 20})
    ts = TableSet([frequency_table(lf, dims=["g"])])
    problem, _ = build_problem(ts, np.zeros(ts.n_cells), np.zeros(ts.n_cells))
    free = np.zeros(ts.n_cells, dtype=bool)
    sup_fixed = np.zeros(ts.n_cells, dtype=bool)
    sup_fixed[1] = True  # unknown regardless (an earlier release's suppression)
    w = np.ones(ts.n_cells)
    _, x, _, _, solver = protect_module._solve(
        problem, w, free, sup_fixed, "milp", ts.n_cells, 10.0
    )
    assert np.array_equal(x, sup_fixed)
    assert "milp" not in solver
