"""Benchmark the synthetic generator: one JSON line with size, rows, seconds and peak RSS.

    .venv/bin/python benchmarks/generate.py --people 1000000 [--seed N] [--keep DIR]

Writes into a temporary folder (removed afterwards unless ``--keep`` names a folder).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthetic import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the files")
    parser.add_argument("--per-file", action="store_true", help="add rows per file to the line")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="brugstat-synthetic-") as tmp:
        landing = args.keep if args.keep is not None else Path(tmp)
        t0 = time.perf_counter()
        summary = generate(landing, people=args.people, seed=args.seed)
        seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    line = {
        "people": args.people,
        "files": len(summary.files),
        "rows": summary.rows,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
    if args.per_file:
        line["rows_per_file"] = summary.files
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
