"""Benchmark: generate synthetic exports, then extract + stage + pseudonymise through Dagster.

    python benchmarks/pipeline.py --people 1000000 [--seed S] [--keep DIR] [--all]

Runs the job's assets up to and including the pseudonymised layer (the benchmark's scope:
extract + stage + purge + pseudonymise); ``--all`` runs the whole job (anonymised layer too).

Prints one JSON line: people, rows (raw rows read), staged rows, seconds (generate + pipeline),
the split, peak_rss_mb (this process, which runs everything in-process) and the slowest steps.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--keep", type=Path, default=None, help="data folder to keep (default: temp)")
    ap.add_argument(
        "--all", action="store_true", help="run the whole job, not only up to pseudonymised"
    )
    ap.add_argument("--top", type=int, default=15, help="how many of the slowest steps to print")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep or Path(tmp)
        settings, timings = generate_landing(data, args.people, args.seed)
        result, instance, timings["pipeline"] = run_job(settings, whole=args.all)
        steps = step_seconds(instance, result.run_id)
        counts = staged_counts(settings)
    print(
        json.dumps(
            {
                "people": args.people,
                **counts,
                "seconds": round(timings["generate"] + timings["pipeline"], 1),
                "generate_seconds": round(timings["generate"], 1),
                "pipeline_seconds": round(timings["pipeline"], 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "success": result.success,
                "scope": "all" if args.all else "through pseudonymised",
                "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
                "slowest_steps": dict(list(steps.items())[: args.top]),
            }
        )
    )


def generate_landing(data: Path, people: int, seed: int) -> tuple[Any, dict[str, float]]:
    """Settings for a throw-away data folder ``data`` (random key in the environment) and the
    synthetic exports for ``people`` written into its landing folder; returns the settings and
    ``{"generate": seconds}``."""
    os.environ.setdefault("BRUGSTAT_PSEUDONYM_KEY", os.urandom(32).hex())
    from pipelines.settings import load_settings
    from synthetic import generate

    settings = load_settings().with_data_dir(data)
    settings = replace(settings, paths=replace(settings.paths, key_file=data / "unused.key"))
    t0 = time.perf_counter()
    generate(settings.paths.landing, people=people, seed=seed, today=settings.synthetic.today)
    return settings, {"generate": time.perf_counter() - t0}


def run_job(settings: Any, *, whole: bool) -> tuple[Any, Any, float]:
    """Run the job in-process on an ephemeral instance: the whole job when ``whole``, else the
    assets up to and including the pseudonymised layer. Returns (result, instance, seconds)."""
    import dagster as dg

    from assets.raw.partitions import all_partitions_tags
    from pipelines.definitions import ALL_JOB, build_definitions

    t0 = time.perf_counter()
    defs = build_definitions(settings)
    job = defs.resolve_job_def(ALL_JOB)
    selection = None
    if not whole:
        scope = (
            dg.AssetSelection.groups("pseudonymised").upstream().required_multi_asset_neighbors()
        )
        selection = sorted(scope.resolve(defs.resolve_asset_graph()))
    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(
        instance=instance, asset_selection=selection, tags=all_partitions_tags()
    )
    return result, instance, time.perf_counter() - t0


def staged_counts(settings: Any) -> dict[str, int]:
    """Raw rows read, pseudonymised Bridge scores and distinct persons in the staging database."""
    import duckdb

    with duckdb.connect(str(settings.paths.staging_db), read_only=True) as con:
        raw_rows = con.execute("select sum(rows) from raw.manifest").fetchone()[0]
        scores = con.execute("select count(*) from pseudonymised.bridge_scores").fetchone()[0]
        persons = con.execute(
            "select count(distinct person_pseudonym) from pseudonymised.persons"
        ).fetchone()[0]
    return {"rows": int(raw_rows), "bridge_scores": int(scores), "distinct_persons": int(persons)}


def step_windows(instance: Any, run_id: str) -> dict[str, tuple[float, float]]:
    """(start, end) epoch seconds of every Dagster step of the run (STEP_START to STEP_SUCCESS or
    STEP_FAILURE in its event log: the asset body, its checks and the IO manager)."""
    from dagster import DagsterEventType

    started: dict[str, float] = {}
    windows: dict[str, tuple[float, float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            started[entry.step_key] = entry.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            windows[entry.step_key] = (
                started.get(entry.step_key, entry.timestamp),
                entry.timestamp,
            )
    return windows


def step_seconds(instance: Any, run_id: str) -> dict[str, float]:
    """Seconds per Dagster step of the run, slowest first (see :func:`step_windows`)."""
    spent = {k: t1 - t0 for k, (t0, t1) in step_windows(instance, run_id).items()}
    return {k: round(v, 1) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}


if __name__ == "__main__":
    main()
