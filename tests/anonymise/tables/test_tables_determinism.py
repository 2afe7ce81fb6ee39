"""Issue 14 item 7: the MILP's pattern is the same on every run and does not depend on the
time limit (the budget is counted in nodes, rounds and master rows, not seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from anonymise.tables import PrimaryRules, TableSet, frequency_table, protect
from tests.anonymise.tables.frames import random_persons

pytestmark = pytest.mark.slow


def _three_d() -> TableSet:
    lf = random_persons(
        3, 3000, wijken=5, level_p=[0.03, 0.2, 0.4, 0.27, 0.1], age_p=[0.5, 0.3, 0.17, 0.03]
    )
    return TableSet([frequency_table(lf, dims=["wijk", "level", "age"])])


def test_the_milp_gives_one_pattern_whatever_the_time_limit() -> None:
    """A 3-D table whose cutting-plane loop stops on its budget, not at the optimum: with a
    wall-clock budget (the old code) the two runs stop at different rounds."""
    ts = _three_d()
    rules = PrimaryRules(group_share=None)
    runs = [protect(ts, rules=rules, method="milp", time_limit=t) for t in (300.0, 600.0)]
    # it stops on its deterministic budget (or, on a faster path, at the optimum): never on the
    # clock, so both time limits give the same pattern
    assert runs[0].record["solver"]["milp"]["status"] in ("work_limit", "optimal")
    assert np.array_equal(runs[0].suppressed, runs[1].suppressed)
    assert all(r.audit.ok for r in runs)
    assert all("time_limit" not in r.record["status"] for r in runs)
