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

    os.environ.setdefault("BRUGSTAT_PSEUDONYM_KEY", os.urandom(32).hex())
    import dagster as dg
    import duckdb

    from pipelines.definitions import ALL_JOB, build_definitions
    from pipelines.settings import load_settings
    from synthetic import generate

    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep or Path(tmp)
        settings = load_settings().with_data_dir(data)
        settings = replace(settings, paths=replace(settings.paths, key_file=data / "unused.key"))
        t0 = time.perf_counter()
        generate(
            settings.paths.landing,
            people=args.people,
            seed=args.seed,
            today=settings.synthetic.today,
        )
        t1 = time.perf_counter()
        defs = build_definitions(settings)
        job = defs.resolve_job_def(ALL_JOB)
        selection = None
        if not args.all:
            scope = (
                dg.AssetSelection.groups("pseudonymised")
                .upstream()
                .required_multi_asset_neighbors()
            )
            selection = sorted(scope.resolve(defs.resolve_asset_graph()))
        instance = dg.DagsterInstance.ephemeral()
        result = job.execute_in_process(instance=instance, asset_selection=selection)
        t2 = time.perf_counter()
        steps = step_seconds(instance, result.run_id)
        with duckdb.connect(str(settings.paths.staging_db), read_only=True) as con:
            raw_rows = con.execute("select sum(rows) from raw.manifest").fetchone()[0]
            scores = con.execute("select count(*) from pseudonymised.bridge_scores").fetchone()[0]
            persons = con.execute(
                "select count(distinct person_pseudonym) from pseudonymised.persons"
            ).fetchone()[0]
    print(
        json.dumps(
            {
                "people": args.people,
                "rows": int(raw_rows),
                "bridge_scores": int(scores),
                "distinct_persons": int(persons),
                "seconds": round(t2 - t0, 1),
                "generate_seconds": round(t1 - t0, 1),
                "pipeline_seconds": round(t2 - t1, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "success": result.success,
                "scope": "all" if args.all else "through pseudonymised",
                "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
                "slowest_steps": dict(list(steps.items())[: args.top]),
            }
        )
    )


def step_seconds(instance: object, run_id: str) -> dict[str, float]:
    """Seconds per Dagster step of the run (start to success or failure), slowest first, from
    the run's event log (the step's own work: asset body, its checks and the IO manager)."""
    from dagster import DagsterEventType

    started: dict[str, float] = {}
    spent: dict[str, float] = {}
    for entry in instance.all_logs(run_id):  # type: ignore[attr-defined]
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            started[entry.step_key] = entry.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            spent[entry.step_key] = entry.timestamp - started.get(entry.step_key, entry.timestamp)
    return {k: round(v, 1) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}


if __name__ == "__main__":
    main()
