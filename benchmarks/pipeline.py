"""Benchmark: generate synthetic exports, then extract + stage + pseudonymise through Dagster.

    python benchmarks/pipeline.py --people 1000000 [--seed S] [--keep DIR]

Prints one JSON line: people, rows (raw rows read), staged rows, seconds (generate + pipeline),
the split, and peak_rss_mb (this process, which runs everything in-process).
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
        job = build_definitions(settings).resolve_job_def(ALL_JOB)
        result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
        t2 = time.perf_counter()
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
            }
        )
    )


if __name__ == "__main__":
    main()
