"""Random person frames for the table-protection tests (one generator, seeded per test)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl


def random_persons(
    seed: int,
    n: int,
    *,
    wijken: int,
    level_p: Sequence[float],
    age_p: Sequence[float] = (),
    wijk_p: Sequence[float] | None = None,
) -> pl.LazyFrame:
    """``n`` persons: a wijk ``W0``… (shares ``wijk_p``, else uniform), a level 1–5 with shares
    ``level_p`` and, with ``age_p``, an age band ``A``, ``B``, … with those shares."""
    rng = np.random.default_rng(seed)
    columns = {
        "wijk": rng.choice([f"W{i}" for i in range(wijken)], n, p=wijk_p),
        "level": rng.choice(list("12345"), n, p=level_p),
    }
    if age_p:
        columns["age"] = rng.choice(list("ABCDEFGH"[: len(age_p)]), n, p=age_p)
    return pl.LazyFrame(columns)
