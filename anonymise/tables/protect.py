"""Entry points: :func:`protect` (primary + secondary suppression + audit) and :func:`audit`."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Literal

import numpy as np
import polars as pl

from anonymise.tables.audit import AuditReport, audit_problem
from anonymise.tables.heuristic import heuristic, repair
from anonymise.tables.ledger import Ledger, build_problem
from anonymise.tables.model import Problem, TableSet, independent_parts
from anonymise.tables.primary import PrimaryRules, primary_cells
from anonymise.tables.result import ProtectionResult, protected_tables
from anonymise.tables.secondary import (
    COMPACT_LIMIT,
    compact_size,
    costs,
    singleton_violations,
    solve_compact,
    solve_cuts,
)

AUTO_MILP_CELLS = 5_000
"""Largest table set "auto" protects with the MILP: above it the cutting-plane loop stops
on its budget before the optimum and its repair costs minutes, while the heuristic takes
seconds."""
UNFINISHED_REPAIR_ROUNDS = 20
"""Repair rounds granted to a MILP pattern whose cutting-plane budget ran out."""


def _primaries(table_set: TableSet, rules: PrimaryRules):
    prim = primary_cells(table_set, rules)
    n = table_set.n_cells
    upl = np.zeros(n)
    lpl = np.zeros(n)
    reasons: list[str | None] = [None] * n
    ids = prim["cell_id"].to_numpy()
    upl[ids] = prim["upl"].to_numpy()
    lpl[ids] = prim["lpl"].to_numpy()
    for i, r in zip(ids, prim["reason"].to_list(), strict=True):
        reasons[i] = r
    return upl, lpl, reasons


def _problem(
    table_set: TableSet, rules: PrimaryRules, ledger: Ledger | None, release_id: str | None
):
    """The primary cells and the (ledger-linked) problem of a table set, with the reasons."""
    upl, lpl, reasons = _primaries(table_set, rules)
    problem, notes = build_problem(
        table_set,
        upl,
        lpl,
        ledger=ledger,
        release_id=release_id,
        threshold=rules.threshold,
        change_dims=rules.group_dims,
    )
    return problem, notes, reasons


def protect(
    table_set: TableSet,
    *,
    rules: PrimaryRules | None = None,
    method: Literal["milp", "heuristic", "auto"] = "auto",
    cost: Literal["unity", "value", "log"] = "value",
    total_weight: float = 10.0,
    allow_zero_secondaries: bool = False,
    ledger: Ledger | None = None,
    release_id: str | None = None,
    time_limit: float = 60.0,
    max_suppressed_share: float | None = None,
) -> ProtectionResult:
    """Primary and secondary suppression of linked tables, audited before it is returned.

    ``method="milp"`` finds the cheapest safe pattern (compact model for small components,
    cutting planes otherwise, seeded and bounded by the heuristic); ``"heuristic"`` the greedy
    line rule with LP repair; ``"auto"`` the MILP up to 5,000 cells. The set is first split into
    independent parts (:func:`~anonymise.tables.model.independent_parts`: no equation joins their
    unknowns), each solved on its own (``"auto"`` decides on the whole set; a part without a free
    cell has one pattern and is not solved), and the pattern is audited together (the audit
    keeps the result of a component it solved before, so that costs little). With a
    ``ledger``, earlier releases' equations and values are part of the model, so differencing
    across releases is prevented. ``max_suppressed_share`` rolls a hierarchical dimension up one
    level (and protects again) while a table would lose more than that share of its cells.

    ``cost="value"`` (the default) weighs a suppression by the cell's value: on the benchmark
    sets (``benchmarks/tables.py``, 1,000 cells) it suppressed fewer cells than ``"unity"`` in
    3-D and linked tables (one more in 2-D) and a quarter to a half of the value.

    >>> import polars as pl
    >>> from anonymise.tables import TableSet, frequency_table
    >>> levels = ["1"] * 15 + ["2"] * 15 + ["1"] * 12 + ["2"] * 13 + ["1"] * 3
    >>> lf = pl.LazyFrame({"wijk": ["A"] * 30 + ["B"] * 25 + ["C"] * 3, "level": levels})
    >>> res = protect(TableSet([frequency_table(lf, dims=["wijk", "level"])]), method="milp")
    >>> res.audit.ok, res.n_primary, res.n_secondary
    (True, 2, 2)
    """
    rules = rules or PrimaryRules()
    t0 = time.perf_counter()
    problem, notes, reasons = _problem(table_set, rules, ledger, release_id)
    n = len(problem.keys)
    reasons = reasons + [None] * (n - len(reasons))
    sup_fixed = problem.primary | (problem.fixed == 1)
    free = (problem.fixed == -1) & ~sup_fixed
    if not allow_zero_secondaries:
        zero_ok = problem.zero_linked if problem.zero_linked is not None else False
        free &= (problem.values > 0) | zero_ok
    margin = np.concatenate(
        [table_set.cells["is_margin"].to_numpy(), np.zeros(n - table_set.n_cells, bool)]
    )
    w = costs(problem, margin, cost, total_weight)
    if method not in ("milp", "heuristic", "auto"):
        raise ValueError(f"unknown method {method!r}")
    if method == "auto":
        # decided on the whole set, not per part: on the 20,000-person demo (17 parts of up to
        # 864 cells, a third of them primary) the MILP per part took 56 s where the heuristic
        # takes 6 s (at 305 instead of 232 secondaries) — the run-time budget of a release
        method = "milp" if table_set.n_cells <= AUTO_MILP_CELLS else "heuristic"
    # parts without a free cell have one pattern (their suppressed cells): nothing to solve, and
    # the audit of the whole pattern below judges them with the rest
    parts = independent_parts(problem, free, sup_fixed)
    if len(parts) == 1 and parts[0].cells is None:
        # one component: the whole problem as it is (the pattern of the undivided model)
        best, suppressed, report, repaired, solver = _solve(
            problem, w, free, sup_fixed, method, table_set.n_cells, time_limit
        )
        methods = [best]
    else:
        suppressed = sup_fixed.copy()
        solver = {"components": len(parts), "solved": 0}
        methods = []
        repaired = []
        for part in parts:
            if not sup_fixed[part.cells].any():
                continue  # nothing sensitive in it: every cell is published
            sub, cells = part.problem, part.cells
            # each part has its own safety net: a shared clock would cut the later parts short
            # (and make their patterns depend on the machine's load)
            best, x, _, fixes, info = _solve(
                sub, w[cells], free[cells], sup_fixed[cells], method, len(cells), time_limit
            )
            suppressed[cells] = x
            methods.append(best)
            repaired += fixes
            solver["solved"] += 1
            for name, d in info.items():
                agg = solver.setdefault(name, {"cost": 0.0, "seconds": 0.0, "status": {}})
                agg["cost"] += d["cost"]
                agg["seconds"] = round(agg["seconds"] + d["seconds"], 3)
                agg["status"][d["status"]] = agg["status"].get(d["status"], 0) + 1
                agg["audit_ok"] = agg.get("audit_ok", True) and d.get("audit_ok", False)
        # the independent audit of the whole pattern (the components' audits decompose it exactly;
        # this is the check that does not rely on that)
        report = audit_problem(problem, suppressed)
        if not report.ok:
            suppressed, report, fixes = _finalise(problem, suppressed, w, free, sup_fixed)
            repaired += fixes
    for i in np.flatnonzero(suppressed & ~sup_fixed):
        reasons[i] = "secondary"
    if max_suppressed_share is not None:
        rolled = _escalate(table_set, suppressed, max_suppressed_share)
        if rolled is not None:
            return protect(
                rolled,
                rules=rules,
                method=method,
                cost=cost,
                total_weight=total_weight,
                allow_zero_secondaries=allow_zero_secondaries,
                ledger=ledger,
                release_id=release_id,
                time_limit=time_limit,
                max_suppressed_share=max_suppressed_share,
            )
    record = {
        "rules": rules.as_dict(),
        "parameters": {
            "cost": cost,
            "total_weight": total_weight,
            "time_limit": time_limit,
            "allow_zero_secondaries": allow_zero_secondaries,
            "release_id": release_id,
            "with_ledger": ledger is not None,
        },
        "method": "+".join(sorted({m.method for m in methods})) or "none",
        "status": _status(methods, method, report, repaired),
        "cost": float(w[suppressed & free].sum()),
        "cells": table_set.n_cells,
        "primary": int(sum(r is not None and r.startswith("primary") for r in reasons)),
        "secondary": int(sum(r == "secondary" for r in reasons)),
        "solver": solver,
        "notes": notes,
        "seconds": round(time.perf_counter() - t0, 3),
        "audit": report.as_dict(),
    }
    return ProtectionResult(
        tables=protected_tables(table_set, suppressed, reasons),
        table_set=table_set,
        problem=problem,
        suppressed=suppressed,
        reasons=reasons,
        audit=report,
        record=record,
    )


def _status(methods: list, method: str, report: AuditReport, repaired: list[str]) -> str:
    if len(methods) == 1:
        best = methods[0]
        status = best.status
        if best.method == "heuristic" and method == "milp":
            status = f"{status}; heuristic pattern kept (the MILP's was not better or not proven)"
    else:  # one count per status over the components that needed a pattern
        counts: dict[str, int] = {}
        for m in methods:
            counts[m.status] = counts.get(m.status, 0) + 1
        status = ", ".join(f"{k} ×{v}" for k, v in sorted(counts.items()))
        status = f"{len(methods)} components: {status}" if methods else "nothing to protect"
    if repaired:
        status += "; " + "; ".join(repaired)
    if not report.ok and not any(m.status == "infeasible" for m in methods):
        status = f"UNSAFE: audit failed ({status})"
    return status


def _solve(
    problem: Problem,
    w: np.ndarray,
    free: np.ndarray,
    sup_fixed: np.ndarray,
    method: str,
    n_cells: int,
    time_limit: float,
):
    """Heuristic and (for ``milp``, or ``auto`` up to :data:`AUTO_MILP_CELLS` cells) the MILP on
    one problem; each candidate is audited and repaired, the cheapest safe one kept.

    Returns the kept candidate, its final pattern, audit report, repair notes and solver record.
    """
    if method == "auto":
        method = "milp" if n_cells <= AUTO_MILP_CELLS else "heuristic"
    heur = heuristic(problem, w, free, sup_fixed)
    solver: dict = {
        "heuristic": {
            "cost": heur.cost,
            "status": heur.status,
            "seconds": round(heur.seconds, 3),
            "rounds": heur.iterations,
        }
    }
    candidates = [heur]
    if method == "milp" and free.any():  # a part with no free cell has one pattern: its own
        # the safety net counts from the MILP's own start: the heuristic's time before it grows
        # with the machine's load, and a net it shortened stopped the MILP on the clock
        left = max(time_limit, 1.0)
        if compact_size(problem) <= COMPACT_LIMIT:
            opt = solve_compact(problem, w, free, sup_fixed, time_limit=left)
        else:
            opt = solve_cuts(
                problem,
                w,
                free,
                sup_fixed,
                seed_cuts=heur.cuts,
                upper_bound=heur.cost,
                time_limit=left,
            )
        solver["milp"] = {
            "formulation": opt.method,
            "cost": opt.cost,
            "status": opt.status,
            "seconds": round(opt.seconds, 3),
            "iterations": opt.iterations,
        }
        candidates.append(opt)
    # every candidate is judged by the audit (and repaired if it falls short); the cheapest one
    # that passes is kept — so the MILP's pattern never costs more than the heuristic's
    final = []
    for cand in candidates:
        if cand.status not in (
            "optimal",
            "feasible",
            "infeasible",
            "repair_limit",
            "time_limit",
            "node_limit",
            "iteration_limit",
            "work_limit",
        ):
            continue  # no pattern at all
        # an unfinished MILP pattern (budget reached) gets a short repair only: when that is not
        # enough the heuristic's safe pattern is kept instead of a long repair (deterministic)
        rounds = 100 if cand is heur or cand.status == "optimal" else UNFINISHED_REPAIR_ROUNDS
        x, rep, fixes = _finalise(problem, cand.suppressed, w, free, sup_fixed, rounds)
        final.append((not rep.ok, float(w[x & free].sum()), cand is heur, cand, x, rep, fixes))
        solver[cand.method.split(":")[0]]["audit_ok"] = rep.ok
    final.sort(key=lambda f: f[:3])
    _, _, _, best, suppressed, report, repaired = final[0]
    return best, suppressed, report, repaired, solver


def _finalise(
    problem,
    x: np.ndarray,
    w: np.ndarray,
    free: np.ndarray,
    sup_fixed: np.ndarray,
    max_rounds: int = 100,
) -> tuple[np.ndarray, AuditReport, list[str]]:
    """Audit a pattern; publish exactly recoverable secondaries; repair what the audit finds.

    A secondary the attacker recovers exactly protects nothing, so it is published and not used
    again; if that (or anything else) leaves a level or the singleton rule unmet, the repair adds
    suppressions and the audit looks again.
    """
    x0 = x
    free0 = free
    x = x.copy()
    free = free.copy()
    notes: list[str] = []
    need = np.zeros(len(x), dtype=bool)  # secondaries that must not be exact (a PS2 third cell)
    report = audit_problem(problem, x)
    for _ in range(10):
        exact = set(report.intervals.filter(pl.col("exact") & ~pl.col("primary"))["key"])
        pos = np.array([i for i, k in enumerate(problem.keys) if k in exact and free[i]], int)
        if len(pos):
            x[pos] = False
            # a published third cell of a singleton line comes back, and must then be unknown
            back = np.zeros(len(x), dtype=bool)
            for cols in singleton_violations(problem, x):
                back[np.intersect1d(cols, pos)] = True
            x[back] = True
            need |= back
            free[pos[~back[pos]]] = False
            report = audit_problem(problem, x)
            notes.append(f"{int((~back[pos]).sum())} exactly recoverable secondaries published")
        if report.ok:
            break
        aug = replace(problem, upl=np.where(need, np.maximum(problem.upl, 1.0), problem.upl))
        status, rounds, _ = repair(aug, x, w, free, sup_fixed, max_rounds=max_rounds)
        notes.append(f"audit repair {status} in {rounds} rounds")
        report = audit_problem(problem, x)
        if report.ok or status == "infeasible":
            break
    if not report.ok:
        # second try: keep every secondary and ask each to stay unknown (width ≥ 1)
        x = x0.copy()
        sec = x & free0
        aug = replace(problem, upl=np.where(sec, np.maximum(problem.upl, 1.0), problem.upl))
        status, rounds, _ = repair(aug, x, w, free0, sup_fixed, max_rounds=max_rounds)
        notes.append(f"repair with every secondary kept unknown {status} in {rounds} rounds")
        report = audit_problem(problem, x)
    return x, report, notes


def _escalate(table_set: TableSet, suppressed: np.ndarray, share: float) -> TableSet | None:
    for t in table_set.tables:
        ids = table_set.memberships[t.name]["cell_id"].to_numpy()
        if suppressed[ids].mean() <= share:
            continue
        # roll up the dimension with the deepest hierarchy
        depth = {d.name: max(len(d.ancestors(c)) for c in d.codes) for d in t.dims}
        dim = max(depth, key=lambda k: depth[k])
        if depth[dim] <= 2:
            continue
        return table_set.roll_up(t.name, dim)
    return None


def audit(
    table_set: TableSet,
    suppressed: Iterable[str] | np.ndarray,
    *,
    rules: PrimaryRules | None = None,
    ledger: Ledger | None = None,
    release_id: str | None = None,
) -> AuditReport:
    """Audit a pattern: the attacker's interval of every suppressed cell, over all linked tables.

    ``suppressed`` is a boolean array over ``table_set.cells`` or an iterable of cell keys.
    Sensitive cells and their protection levels come from ``rules``; with a ``ledger`` the
    equations and published values of earlier releases are used too.

    >>> import polars as pl
    >>> from anonymise.tables import TableSet, frequency_table
    >>> lf = pl.LazyFrame({"g": ["a"] * 12 + ["b"] * 3 + ["c"] * 10})
    >>> ts = TableSet([frequency_table(lf, dims=["g"])])
    >>> rep = audit(ts, ["count|g=b"], rules=PrimaryRules(group_share=None))
    >>> rep.ok, rep.intervals.select("lower", "upper").row(0)
    (False, (3.0, 3.0))
    """
    rules = rules or PrimaryRules()
    problem, _, _ = _problem(table_set, rules, ledger, release_id)
    mask = np.zeros(len(problem.keys), dtype=bool)
    if isinstance(suppressed, np.ndarray) and suppressed.dtype == bool:
        mask[: len(suppressed)] = suppressed
    else:
        pos = {k: i for i, k in enumerate(problem.keys)}
        for k in suppressed:
            mask[pos[k]] = True
    return audit_problem(problem, mask)
