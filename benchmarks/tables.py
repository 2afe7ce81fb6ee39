"""Benchmark of anonymise.tables: protect + audit on seeded synthetic microdata.

Prints one JSON line per (case, method, run):
{"case", "cells", "primary", "secondary", "cost", "method", "seconds", "cpu_seconds", "audit_ok",
"pattern", ...}; ``seconds`` is wall-clock time, ``cpu_seconds`` this process's CPU time (the
figure to compare on a shared machine).
``pattern`` is a short hash of the suppressed cells: equal hashes over ``--repeat`` runs show the
solver is deterministic. ``--protection range`` (default) asks every primary's interval to reach
the threshold; ``--protection 1`` is the old ±1.
Run: nice -n 10 .venv/bin/python benchmarks/tables.py [--only 10k] [--max-cells N] [--repeat 3]

``--only linked-second-release`` (the ``over-time`` cases) protects a table set twice with one
ledger, as two quarterly releases of one population (issue 14, ADR 0005): a first release, then a
second one with persons changed — a few erasures and arrivals, or a wholly new population (the
demo's ``--seed 5 --regenerate``); one line per release, ``release`` 1 or 2, ``changed`` the
persons that differ, ``variables`` the linked problem's size. The tables mimic the marts: one
3-D table (area × intake year × level) per Bridge domain, all linked through their totals.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

import numpy as np
import polars as pl

from anonymise.tables import MemoryLedger, PrimaryRules, TableSet, frequency_table, protect


def microdata(n_wijk: int, n_stadsdeel: int, n_age: int, persons: int, seed: int):
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0.0, 0.8, n_wijk)
    wijk = rng.choice(n_wijk, persons, p=size / size.sum())
    # levels 1..5, skewed towards the middle, with a wijk-specific tilt
    tilt = rng.normal(0, 0.6, n_wijk)
    base = np.array([0.06, 0.22, 0.36, 0.24, 0.12])
    u = rng.random(persons)
    probs = base[None, :] * np.exp(np.outer(tilt, np.arange(5) - 2) * 0.4)
    probs /= probs.sum(axis=1, keepdims=True)
    level = (u[:, None] > np.cumsum(probs[wijk], axis=1)).sum(axis=1) + 1
    age = np.minimum(rng.geometric(0.25, persons) - 1, n_age - 1)
    hier = {f"W{w:04d}": f"S{w % n_stadsdeel:03d}" for w in range(n_wijk)}
    hier.update({f"S{s:03d}": "G0363" for s in range(n_stadsdeel)})
    lf = pl.LazyFrame(
        {
            "person": np.arange(persons),
            "wijk": [f"W{w:04d}" for w in wijk],
            "level": level.astype(str),
            "age": [f"A{a:02d}" for a in age],
            "gender": rng.choice(["m", "v", "x"], persons, p=[0.49, 0.49, 0.02]),
        }
    )
    return lf, {"wijk": hier}


CASES = [
    # name, dims, n_wijk, n_stadsdeel, n_age, persons, linked 2-D table
    ("2d-100", ("wijk", "level"), 12, 3, 1, 4_000, False),
    ("3d-100", ("wijk", "level", "age"), 4, 1, 2, 4_000, False),
    ("2d-1k", ("wijk", "level"), 150, 15, 1, 80_000, False),
    ("3d-1k", ("wijk", "level", "age"), 20, 4, 6, 80_000, False),
    ("linked-1k", ("wijk", "level", "age"), 14, 3, 8, 80_000, True),
    ("2d-10k", ("wijk", "level"), 1600, 60, 1, 800_000, False),
    ("3d-10k", ("wijk", "level", "age"), 125, 10, 12, 800_000, False),
    ("3d-10k-linked", ("wijk", "level", "age"), 130, 10, 11, 800_000, True),
]


OVER_TIME = [
    # name, n_wijk, n_stadsdeel, intake years, domains, persons, persons changed ("all": a new
    # population), linked 2-D goals table per domain
    ("linked-second-release-small", 10, 2, 8, 8, 20_000, 20, True),
    ("linked-second-release-new", 10, 2, 8, 8, 20_000, "all", True),
    ("sparse-second-release", 8, 2, 4, 1, 400, 6, False),
]
"""The 20,000-person cases: 8 domains, 5,928 linked cells, about 300 primary (the 20k demo's
``mart_tables`` has 16,364 cells, most of them 0, and 339 primary); the sparse one is a small
population whose 330-cell table is mostly small cells (186 primary)."""


def population(n_wijk: int, n_stadsdeel: int, n_years: int, domains: int, persons: int, seed: int):
    """Persons with an area, an intake year and per domain a level and a goal reached or not."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0.0, 0.8, n_wijk)
    wijk = rng.choice(n_wijk, persons, p=size / size.sum())
    year = rng.choice(n_years, persons)
    cols = {
        "person": [f"p{seed}-{i}" for i in range(persons)],
        "wijk": [f"W{w:03d}" for w in wijk],
        "year": [f"Y{y}" for y in year],
    }
    base = np.array([0.06, 0.22, 0.36, 0.24, 0.12])
    for d in range(domains):
        tilt = rng.normal(0, 0.6, n_wijk)
        probs = base[None, :] * np.exp(np.outer(tilt, np.arange(5) - 2) * 0.4)
        probs /= probs.sum(axis=1, keepdims=True)
        u = rng.random(persons)
        cols[f"level{d}"] = ((u[:, None] > np.cumsum(probs[wijk], axis=1)).sum(axis=1) + 1).astype(
            str
        )
        cols[f"goal{d}"] = rng.choice(["ja", "nee"], persons, p=[0.3, 0.7])
    hier = {f"W{w:03d}": f"S{w % n_stadsdeel:02d}" for w in range(n_wijk)}
    hier.update({f"S{s:02d}": "G0363" for s in range(n_stadsdeel)})
    return pl.DataFrame(cols), {"wijk": hier}


def over_time_tables(pop: pl.DataFrame, hier: dict, domains: int, goals: bool) -> TableSet:
    """One area × intake year × level table per domain (and area × goal reached)."""
    tables = []
    for d in range(domains):
        lf = pop.lazy().select("person", "wijk", "year", pl.col(f"level{d}").alias("level"))
        tables.append(
            frequency_table(
                lf,
                dims=["wijk", "year", "level"],
                hierarchies=hier,
                person_column="person",
                name=f"levels:{d}",
                measure=f"persons:{d}",
            )
        )
        if goals:
            lf = pop.lazy().select("person", "wijk", pl.col(f"goal{d}").alias("goal"))
            tables.append(
                frequency_table(
                    lf,
                    dims=["wijk", "goal"],
                    hierarchies=hier,
                    person_column="person",
                    name=f"goals:{d}",
                    measure=f"goal:{d}",
                )
            )
    return TableSet(tables)


def over_time(args, rules: PrimaryRules) -> None:
    """Two releases of one population under one ledger: one JSON line per release."""
    for name, nw, ns, ny, domains, persons, changed, goals in OVER_TIME:
        if args.only not in name:
            continue
        pop, hier = population(nw, ns, ny, domains, persons, seed=7)
        if changed == "all":
            second, _ = population(nw, ns, ny, domains, persons, seed=8)
            n_changed = persons
        else:
            # half of them erased, half of them arrivals (absent from the first release)
            step = persons // changed
            picked = pop["person"].to_list()[::step][:changed]
            arrivals, leavers = picked[: changed // 2], picked[changed // 2 :]
            second = pop.filter(~pl.col("person").is_in(leavers))
            pop = pop.filter(~pl.col("person").is_in(arrivals))
            n_changed = changed
        for method in (args.methods or "auto").split(","):
            ledger = MemoryLedger()
            for release, frame in enumerate((pop, second), start=1):
                ts = over_time_tables(frame, hier, domains, goals)
                t0 = time.perf_counter()
                c0 = time.process_time()
                res = protect(
                    ts,
                    rules=rules,
                    method=method,
                    cost=args.cost,
                    time_limit=args.time_limit,
                    ledger=ledger,
                    release_id=f"r{release}",
                )
                seconds = time.perf_counter() - t0
                cpu = time.process_time() - c0
                res.record_release(ledger, f"r{release}")
                pattern = hashlib.sha256(np.asarray(res.suppressed, bool).tobytes()).hexdigest()
                print(
                    json.dumps(
                        {
                            "case": name,
                            "release": release,
                            "changed": n_changed if release == 2 else 0,
                            "cells": ts.n_cells,
                            "variables": len(res.problem.keys),
                            "primary": res.n_primary,
                            "secondary": res.n_secondary,
                            "cost": round(res.record["cost"], 3),
                            "method": method,
                            "solver": res.record["method"],
                            "parts": res.record["solver"].get("components", 1),
                            "pattern": pattern[:12],
                            "seconds": round(seconds, 2),
                            "cpu_seconds": round(cpu, 2),
                            "audit_seconds": round(res.audit.seconds, 2),
                            "audit_ok": res.audit.ok,
                        }
                    ),
                    flush=True,
                )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-cells", type=int, default=20_000)
    ap.add_argument("--only", default=None)
    ap.add_argument("--time-limit", type=float, default=8.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cost", default="value", choices=["unity", "value", "log"])
    ap.add_argument("--methods", default=None, help="default heuristic,milp (over time: auto)")
    ap.add_argument("--protection", default="range", help="'range' or a number (old: 1)")
    args = ap.parse_args()
    q = args.protection if args.protection == "range" else float(args.protection)
    if args.only and any(args.only in case[0] for case in OVER_TIME):
        # the marts' rules: group disclosure and small changes on the level (ADR 0005)
        over_time(args, PrimaryRules(frequency_protection=q, group_dims=("level", "goal")))
        return
    rules = PrimaryRules(frequency_protection=q)
    for name, dims, nw, ns, na, persons, linked in CASES:
        if args.only and args.only not in name:
            continue
        lf, hier = microdata(nw, ns, na, persons, seed=7)
        tables = [frequency_table(lf, dims=list(dims), hierarchies=hier, person_column="person")]
        if linked:
            tables.append(
                frequency_table(
                    lf, dims=["wijk", "gender"], hierarchies=hier, person_column="person"
                )
            )
        ts = TableSet(tables)
        if ts.n_cells > args.max_cells:
            continue
        for method in (args.methods or "heuristic,milp").split(","):
            for run in range(args.repeat):
                t0 = time.perf_counter()
                c0 = time.process_time()
                res = protect(
                    ts, rules=rules, method=method, cost=args.cost, time_limit=args.time_limit
                )
                seconds = time.perf_counter() - t0
                cpu = time.process_time() - c0
                pattern = hashlib.sha256(np.asarray(res.suppressed, bool).tobytes()).hexdigest()[
                    :12
                ]
                values = ts.cells["value"].to_numpy()
                n = ts.n_cells
                print(
                    json.dumps(
                        {
                            "case": name,
                            "cells": ts.n_cells,
                            "primary": res.n_primary,
                            "secondary": res.n_secondary,
                            "cost": round(res.record["cost"], 3),
                            "method": method,
                            "run": run + 1,
                            "protection": args.protection,
                            "cost_kind": args.cost,
                            "suppressed_value": float(
                                values[np.asarray(res.suppressed[:n], bool)].sum()
                            ),
                            "pattern": pattern,
                            "solver": res.record["method"],
                            "status": res.record["status"],
                            "seconds": round(seconds, 2),
                            "cpu_seconds": round(cpu, 2),
                            "audit_seconds": round(res.audit.seconds, 2),
                            "audit_ok": res.audit.ok,
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
