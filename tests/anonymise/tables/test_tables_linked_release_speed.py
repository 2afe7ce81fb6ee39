"""A linked second release after a population change (issue 14): the speed-ups keep the answer.

After a large change most parts of the ledger-linked problem are one difference of two published
cells: no free cell, one pattern. They are no longer solved one by one, and the audit keeps the
result of a component it has already solved. Neither may change a pattern or a verdict.
"""

from __future__ import annotations

import importlib

import numpy as np
import polars as pl
import pytest

from anonymise.tables import MemoryLedger, PrimaryRules, TableSet, frequency_table, protect
from anonymise.tables.model import independent_parts

protect_module = importlib.import_module("anonymise.tables.protect")
audit_module = importlib.import_module("anonymise.tables.audit")
RULES = PrimaryRules(threshold=10, group_dims=("level",))
WIJK_OF = {f"W{i}": ("G1" if i <= 4 else "G2") for i in range(1, 8)}
# wijken without anyone (as the demo's area × year × level grids): cells 0 in both releases,
# whose difference is a part of its own
EMPTY = {f"W{i}": "G2" for i in range(8, 30)}


def _tables(seed: int, n: int = 3_000) -> TableSet:
    rng = np.random.default_rng(seed)
    pop = pl.LazyFrame(
        {
            "person": [f"p{seed}-{i}" for i in range(n)],
            "wijk": rng.choice(list(WIJK_OF), n, p=[0.3, 0.25, 0.15, 0.1, 0.1, 0.06, 0.04]),
            "year": rng.choice(["2022", "2023", "2024"], n),
            "level": rng.choice(list("12345"), n, p=[0.1, 0.25, 0.3, 0.25, 0.1]),
        }
    )
    t = frequency_table(
        pop,
        dims=["wijk", "year", "level"],
        hierarchies={"wijk": WIJK_OF | EMPTY},
        person_column="person",
        name="levels",
    )
    return TableSet([t])


def _second_release(monkeypatch: pytest.MonkeyPatch | None = None):
    """A first release, then a wholly new population under the same ledger."""
    ledger = MemoryLedger()
    first = protect(_tables(1), rules=RULES, method="heuristic", ledger=ledger, release_id="r1")
    assert first.audit.ok
    first.record_release(ledger, "r1")
    if monkeypatch is not None:
        # the model before: every part, also one without a free cell, solved on its own
        real = independent_parts
        monkeypatch.setattr(
            protect_module,
            "independent_parts",
            lambda problem, free, sup_fixed: real(problem, free, sup_fixed, keep_forced=True),
        )
    second = protect(_tables(2), rules=RULES, method="heuristic", ledger=ledger, release_id="r2")
    return second


def test_forced_parts_are_left_out_and_the_pattern_is_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = _second_release()
    problem = fast.problem
    sup_fixed = problem.primary | (problem.fixed == 1)
    free = (problem.fixed == -1) & ~sup_fixed & ((problem.values > 0) | problem.zero_linked)
    every = independent_parts(problem, free, sup_fixed, keep_forced=True)
    chosen = independent_parts(problem, free, sup_fixed)
    # the case has what the demo has: many parts without a choice
    assert len(every) > 2 * len(chosen) > 0
    assert all(free[p.cells].any() for p in chosen)
    with monkeypatch.context() as m:
        slow = _second_release(m)
    assert fast.audit.ok and slow.audit.ok
    assert slow.record["solver"]["components"] == len(every)
    assert fast.record["solver"]["components"] == len(chosen)
    assert np.array_equal(fast.suppressed, slow.suppressed)


def test_the_audit_memo_gives_the_verdict_of_a_fresh_audit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    res = _second_release()
    problem, x = res.problem, res.suppressed
    kept = audit_module.audit_problem(problem, x)  # solved during protect: from the memo
    with monkeypatch.context() as m:
        m.setattr(audit_module, "MEMO_COMPONENTS", 0)
        m.setattr(audit_module, "_MEMO", type(audit_module._MEMO)())
        fresh = audit_module.audit_problem(problem, x)
    assert kept.ok and fresh.ok
    assert kept.intervals.equals(fresh.intervals)
    assert kept.lps == fresh.lps
    # positive control: after a passing pattern is kept, publishing one of its secondaries
    # changes the component, and the audit sees it
    broken = None
    secondaries = np.flatnonzero(x[: problem.n_current] & ~problem.primary[: problem.n_current])
    for i in secondaries[:40]:
        y = x.copy()
        y[i] = False
        rep = audit_module.audit_problem(problem, y)
        if not rep.ok:
            broken = (y, rep)
            break
    assert broken is not None, "no secondary could be published unsafely: the test cannot fail"
    y, rep = broken
    with monkeypatch.context() as m:
        m.setattr(audit_module, "MEMO_COMPONENTS", 0)
        m.setattr(audit_module, "_MEMO", type(audit_module._MEMO)())
        assert audit_module.audit_problem(problem, y).failures == rep.failures
