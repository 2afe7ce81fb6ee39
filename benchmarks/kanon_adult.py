"""Benchmark k_anonymise on Adult and on a ~1M-row scaled Adult against ARX's reference times.

Run: ``python benchmarks/kanon_adult.py [--only adult|adult_1m]``. Prints one JSON line per
setting; ``ms`` is the median of 5 runs of ``k_anonymise``, which searches and builds the
published frame (data already loaded into a polars frame; encoding is part of the call),
``cpu_ms`` the median process CPU time of the same runs (comparable on a machine other jobs
share, where wall time is not).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from anonymise.hierarchy import Hierarchy  # noqa: E402
from anonymise.kanon import k_anonymise  # noqa: E402

DATA = ROOT / "tests" / "data" / "adult"
QIS = ["age", "sex", "race", "marital-status", "education", "native-country", "workclass"]
ARX_MS = {
    (2, 0.0): 116, (2, 0.01): 365, (2, 0.05): 246,
    (5, 0.0): 68, (5, 0.01): 307, (5, 0.05): 275,
    (10, 0.0): 52, (10, 0.01): 202, (10, 0.05): 296,
}  # fmt: skip


def scaled(adult: pl.DataFrame, copies: int = 33, seed: int = 20240101) -> pl.DataFrame:
    """``copies`` perturbed copies: age ±2 clipped to 17–90, other QIs resampled (p = 0.02)."""
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(copies):
        n = adult.height
        cols = {"age": np.clip(adult["age"].to_numpy() + rng.integers(-2, 3, n), 17, 90)}
        for q in QIS[1:]:
            vals = adult[q].to_numpy()
            resample = rng.random(n) < 0.02
            cols[q] = np.where(resample, rng.choice(vals, n), vals)
        parts.append(adult.with_columns(pl.Series(q, v) for q, v in cols.items()))
    return pl.concat(parts)


def run(name: str, df: pl.DataFrame, hierarchies: dict[str, Hierarchy]) -> None:
    for k in (2, 5, 10):
        for limit in (0.0, 0.01, 0.05):
            times, cpu = [], []
            for _ in range(5):
                t0, c0 = time.perf_counter(), time.process_time()
                res = k_anonymise(
                    df, quasi_identifiers=QIS, hierarchies=hierarchies, k=k,
                    suppression_limit=limit,
                )  # fmt: skip
                assert res.published is not None  # the release itself, built by k_anonymise
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            line = {
                "dataset": name,
                "k": k,
                "suppression": limit,
                "levels": res.node,
                "suppressed": res.suppressed_rows,
                "classes": res.classes,
                "loss": round(res.metrics["loss"], 4),
                "ms": round(statistics.median(times), 1),
                "cpu_ms": round(statistics.median(cpu), 1),
                "search_ms": round(res.search_ms, 1),
                "nodes_checked": res.nodes_checked,
            }
            if name == "adult":
                line["arx_ms"] = ARX_MS[(k, limit)]
            else:
                line["arx_ms_range"] = [1400, 4100]
            print(json.dumps(line), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["adult", "adult_1m"])
    args = parser.parse_args()
    adult = pl.read_csv(DATA / "adult.csv", separator=";")
    hierarchies = {q: Hierarchy.from_csv(DATA / f"adult_hierarchy_{q}.csv", name=q) for q in QIS}
    if args.only in (None, "adult"):
        run("adult", adult, hierarchies)
    if args.only in (None, "adult_1m"):
        run("adult_1m", scaled(adult), hierarchies)


if __name__ == "__main__":
    main()
