"""What the cell key method costs: record keys per person, and the protected tables with every
table under suppression, under "both" and under "cell_key" (ADR 0006). Prints JSON.

    python benchmarks/cellkey.py --people 1000000

The population is synthetic (areas under two gemeenten, intake years, organisations,
programmes, end reasons, goals in two domains), in the shape the anonymised step hands the marts.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import polars as pl

from anonymise.tables.cellkey import derive_secret, record_keys
from assets.marts.aggregates import AGGREGATE_TABLES, AggregateConfig, protect_aggregates
from assets.marts.protection import TableSettings

AREAS = {f"W{i}": ("Groningen" if i < 40 else "Breda") for i in range(1, 80)}


def _zipf(k: int, s: float = 1.6) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1) ** s
    return w / w.sum()


def population(n: int, seed: int) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    unit = np.arange(1, n + 1)
    pop = pl.DataFrame(
        {
            "unit_id": unit,
            # skewed like real areas: a few large wijken, a tail of small ones with small cells
            "area": rng.choice(list(AREAS), n, p=_zipf(len(AREAS))),
            "intake_year": rng.choice([str(y) for y in range(2018, 2027)], n, p=_zipf(9, 0.7)),
            "organisation": rng.choice(["groningen", "zuidplas", "aalsmeer", "breda"], n),
            "programme": rng.choice(["p1", "p2", "p3"], n, p=[0.7, 0.25, 0.05]),
            "end_reason": rng.choice(["completed", "aborted", "refused", "ongoing"], n),
        }
    )
    goals = pl.DataFrame(
        {
            "unit_id": np.repeat(unit, 2),
            "domain": np.tile(["wonen", "schulden"], n),
            "goal_reached": rng.choice(["ja", "nee"], 2 * n),
        }
    )
    return {"population": pop, "population_goals": goals}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    frames = population(args.people, args.seed)
    secret = derive_secret(b"benchmark project key, 32 bytes!")
    t0 = time.perf_counter()
    names = frames["population"].select(pl.format("p{}", "unit_id").alias("p"))["p"]
    keys = record_keys(names, secret)
    out: dict[str, object] = {
        "people": args.people,
        "record_keys_s": round(time.perf_counter() - t0, 2),
    }
    frames["population"] = frames["population"].with_columns(keys)
    for method in ("suppression", "both", "cell_key"):
        settings = TableSettings(protection=dict.fromkeys(AGGREGATE_TABLES, method))
        config = AggregateConfig.from_settings(settings, area_parents=AREAS)
        t0 = time.perf_counter()
        agg = protect_aggregates(frames, config=config, release_id=method)
        published = agg.published()
        out[method] = {
            "seconds": round(time.perf_counter() - t0, 2),
            "cells": sum(df.height for df in published.values()),
            "suppressed": sum(int(df["is_suppressed"].sum()) for df in published.values()),
            "perturbed": {m: f.get("cells_changed") for m, f in agg.perturbation.items()},
            "margins_not_additive": {
                m: f.get("margins_not_additive") for m, f in agg.perturbation.items()
            },
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
