"""What ``import anonymise`` costs against importing polars and numpy (issue 17: at most their
cost + 0.2 s), from ``python -X importtime``.

Run: ``python benchmarks/importtime.py [--runs 7]``. Each run is a fresh interpreter; a figure is
the median over the runs of the cumulative microseconds ``-X importtime`` reports for the
top-level modules (``polars`` + ``numpy`` in ``import polars, numpy``; ``anonymise`` in ``import
anonymise``, which includes its own polars and numpy), and the sum of the self times of every
module ``import anonymise`` loads that ``import polars, numpy`` does not (``extra_s``: the
library's own cost, less noisy than a difference of two totals on a busy machine). Also prints
the library's modules that cost most, and whether scipy was imported (it must not be: it is
imported inside the functions that use it). Prints one JSON line.

Bytecode is written and used (``PYTHONDONTWRITEBYTECODE`` is dropped for the child processes,
after one warm-up run), as in an installed deployment: compiling the library's sources on every
import would triple its cost and measure the compiler, not the import.

Measured 2026-12-04 on the 2-core CI-like machine under load (9 runs): before (scipy imported by
``anonymise.stats`` and ``anonymise.tables``) ``anonymise_s`` 3.08 against ``polars_numpy_s`` 0.82
(+2.27 s); after: 1.06 against 0.81 (+0.25 s difference of the two medians, ``extra_s`` 0.11 s),
``scipy_imported`` false. Whole interpreters (``python -c``, median of 15): 1.16 s for
``import polars, numpy``, 1.29 s for ``import anonymise``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def importtime(code: str) -> list[tuple[int, int, int, str]]:
    """(self µs, cumulative µs, depth, module) per line of ``-X importtime`` for ``code``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    ).stderr
    rows = []
    for line in err.splitlines():
        if m := LINE.match(line):
            rows.append((int(m[1]), int(m[2]), len(m[3]) // 2, m[4]))
    return rows


def top_level(rows: list[tuple[int, int, int, str]], names: set[str]) -> int:
    """Cumulative µs of the top-level imports ``names``."""
    return sum(cum for _, cum, depth, mod in rows if depth == 0 and mod in names)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    importtime("import polars, numpy, anonymise")  # warm-up: writes the bytecode
    base, lib, extra, own = [], [], [], {}
    scipy = False
    for _ in range(args.runs):
        rows = importtime("import polars, numpy")
        base.append(top_level(rows, {"polars", "numpy"}))
        loaded = {mod for *_, mod in rows}
        rows = importtime("import anonymise")
        lib.append(top_level(rows, {"anonymise"}))
        extra.append(sum(s for s, _, _, mod in rows if mod not in loaded))
        scipy |= any(mod.split(".")[0] == "scipy" for *_, mod in rows)
        for self_us, _, _, mod in rows:
            if mod.split(".")[0] == "anonymise":
                own.setdefault(mod, []).append(self_us)
    b, a = statistics.median(base) / 1e6, statistics.median(lib) / 1e6
    print(
        json.dumps(
            {
                "runs": args.runs,
                "polars_numpy_s": round(b, 3),
                "anonymise_s": round(a, 3),
                "anonymise_minus_polars_numpy_s": round(a - b, 3),
                "extra_s": round(statistics.median(extra) / 1e6, 3),
                "budget_s": 0.2,
                "scipy_imported": scipy,
                "own_modules_self_ms": {
                    m: round(statistics.median(v) / 1e3, 1)
                    for m, v in sorted(own.items(), key=lambda kv: -statistics.median(kv[1]))[:6]
                },
            }
        )
    )


if __name__ == "__main__":
    main()
