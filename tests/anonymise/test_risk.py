"""Risk figures: hand-computed values, population frames, and the result's summaries."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from anonymise.kanon import k_anonymise
from anonymise.risk import reidentification_risk, risk_from_sizes
from tests.anonymise.adult import ADULT_QIS


def test_hand_computed():
    r = risk_from_sizes(np.array([1, 2, 7]), np.array([4, 2, 14]), threshold=0.4)
    assert r.prosecutor_max == 1.0
    assert r.prosecutor_avg == pytest.approx(3 / 10)
    assert r.journalist_max == pytest.approx(1 / 2)
    assert r.journalist_avg == pytest.approx(3 / 20)
    assert r.marketer == pytest.approx((1 / 4 + 1 + 7 / 14) / 10)
    assert r.sample_uniques == pytest.approx(0.1)
    assert r.records_at_risk == pytest.approx(3 / 10)
    assert r.smallest_class == 1 and r.classes == 3


def test_frame_risk_with_population():
    sample = pl.DataFrame({"g": ["a", "a", "b"]})
    pop = pl.DataFrame({"g": ["a"] * 4 + ["b"] * 3})
    r = reidentification_risk(sample, quasi_identifiers=["g"], population=pop)
    assert r.journalist_max == pytest.approx(1 / 3)
    assert r.marketer == pytest.approx((2 / 4 + 1 / 3) / 3)


def test_result_carries_risk_and_utility(adult, adult_hierarchies):
    res = k_anonymise(
        adult, quasi_identifiers=ADULT_QIS, hierarchies=adult_hierarchies, k=5,
        suppression_limit=0.01, population=adult,
    )  # fmt: skip
    assert res.risk.prosecutor_max <= 1 / 5
    assert res.risk_before.sample_uniques > 0.1
    assert res.risk.sample_uniques == 0 and res.risk.records_at_risk == 0
    assert res.risk.journalist_max <= res.risk.prosecutor_max
    direct = reidentification_risk(res.published, quasi_identifiers=ADULT_QIS)
    assert direct.prosecutor_avg == pytest.approx(res.risk.prosecutor_avg)
    u = res.utility
    assert u["quasi_identifier"].to_list() == ADULT_QIS
    assert u["level"].to_list() == [3, 0, 0, 1, 3, 1, 1]
    loss_d = u["loss"].to_numpy()
    assert np.prod(loss_d + 1) ** (1 / 7) - 1 == pytest.approx(res.metrics["loss"])
    assert set(res.summary()) >= {"node", "search_ms", "nodes_checked", "risk_prosecutor_max"}
