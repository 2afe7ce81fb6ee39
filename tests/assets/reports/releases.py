"""Release meta data of the hand-built ledgers in the report unit tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from assets.reports.model import ReleaseMeta


def release_meta(
    release_id: str, built_at: dt.datetime, *, threshold: int, **anonymisation: Any
) -> ReleaseMeta:
    """A release with k = 5 on ``gender``, ``threshold`` and fixed release figures;
    ``anonymisation`` adds parameters (e.g. ``l_diversity``)."""
    return ReleaseMeta(
        release_id=release_id,
        built_at=built_at,
        code_version="test",
        parameters={
            "threshold": threshold,
            "anonymisation": {
                "k": 5,
                "quasi_identifiers": ["gender"],
                "dropped_columns": [],
                **anonymisation,
            },
            "aggregates": {"method": "milp:cuts", "audit_ok": True},
        },
        k_achieved=5,
        persons_suppressed=3,
        cells_suppressed_primary=2,
        cells_suppressed_secondary=4,
        max_risk=0.2,
        avg_risk=0.05,
        information_loss=0.12,
    )
