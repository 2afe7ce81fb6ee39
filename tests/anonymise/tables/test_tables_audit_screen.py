"""The audit's screening (one attacker LP per round, one direction per round) agrees with exact
intervals for every cell, and spares most single LPs on a large suppressed component."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from anonymise.tables import PrimaryRules, TableSet, frequency_table, protect
from tests.anonymise.tables.frames import random_persons

audit_module = importlib.import_module("anonymise.tables.audit")


def _table() -> TableSet:
    lf = random_persons(
        11, 1500, wijken=12, level_p=[0.05, 0.2, 0.4, 0.25, 0.1], age_p=[0.6, 0.3, 0.1]
    )
    return TableSet([frequency_table(lf, dims=["wijk", "level", "age"])])


def test_screened_audit_agrees_with_exact_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    res = protect(_table(), rules=PrimaryRules(group_share=None), method="heuristic")
    problem = res.problem
    assert res.suppressed.sum() > audit_module.EXACT_INTERVALS  # the screen is used at all
    patterns = {"protected": res.suppressed.copy()}
    # positive control: publish secondaries until a primary is no longer protected
    broken = res.suppressed.copy()
    for i in np.flatnonzero(res.suppressed & ~problem.primary):
        broken[i] = False
        if not audit_module.audit_problem(problem, broken).ok:
            break
    patterns["broken"] = broken
    for name, x in patterns.items():
        screened = audit_module.audit_problem(problem, x)
        with monkeypatch.context() as m:
            m.setattr(audit_module, "EXACT_INTERVALS", 10**9)
            exact = audit_module.audit_problem(problem, x)
        assert screened.ok == exact.ok == (name == "protected")
        assert screened.failures == exact.failures
        a = screened.intervals.select("key", "protected", "exact").sort("key")
        b = exact.intervals.select("key", "protected", "exact").sort("key")
        assert a.equals(b)
        assert screened.lps < exact.lps / 2
