"""Benchmark: time AND peak memory of every pipeline step, for the scaling plan (docs/scaling.md).

    python benchmarks/scaling.py --people 2000000 [--seed S] [--keep DIR] [--all] [--json FILE]

Reuses ``benchmarks/pipeline.py`` (same synthetic exports, same in-process run of the job on an
ephemeral Dagster instance). A sampling thread reads this process's resident set size every
``--interval`` seconds; every Dagster step's interval (STEP_START to STEP_SUCCESS/FAILURE in the
run's event log) is matched against those samples. The in-process executor runs one step at a
time, so a step's samples are its own: per step it prints the seconds, the RSS when it started,
its peak RSS and the growth (peak − start). DuckDB, polars and numpy all allocate inside this
process, so RSS covers them; the ``generate`` row is the synthetic-export writer (not a pipeline
step). Subprocesses (the mart build's optional checks) are not counted.

Prints a Markdown table (slowest steps first) and one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import generate_landing, run_job, step_windows

_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_seconds() -> float:
    """CPU seconds of this process, all threads (steadier than wall time on a shared machine)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_mb() -> float:
    """Current resident set size of this process in MB (from /proc, cheap enough to poll)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE_MB


@dataclass
class RssSampler:
    """Polls :func:`rss_mb` and :func:`cpu_seconds` in a daemon thread; ``samples`` holds
    (epoch seconds, MB, CPU seconds) on the clock of Dagster's event timestamps (``time.time``)."""

    interval: float = 0.05
    samples: list[tuple[float, float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), rss_mb(), cpu_seconds()))
            self._stop.wait(self.interval)

    def window(self, start: float, end: float) -> tuple[float, float, float]:
        """(RSS at ``start``, peak RSS within [start, end]) in MB and the CPU seconds spent in
        between; the last sample before ``start`` (after ``end``) stands for that moment."""
        before = [(mb, cpu) for t, mb, cpu in self.samples if t <= start]
        inside = [(mb, cpu) for t, mb, cpu in self.samples if start <= t <= end]
        after = [cpu for t, _, cpu in self.samples if t >= end]
        first = before[-1] if before else (inside[0] if inside else (0.0, 0.0))
        cpu_end = after[0] if after else (inside[-1][1] if inside else first[1])
        return first[0], max([first[0], *(mb for mb, _ in inside)]), cpu_end - first[1]


def measure(people: int, seed: int, data: Path, *, whole: bool, interval: float) -> dict[str, Any]:
    """Generate ``people`` persons' exports into ``data``, run the job and return the figures:
    per step seconds / start / peak / growth MB, totals and the load average."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    with RssSampler(interval=interval) as sampler:
        g0 = time.time()
        settings, timings = generate_landing(data, people, seed)
        g1 = time.time()
        result, instance, timings["pipeline"] = run_job(settings, whole=whole)
    steps: dict[str, dict[str, float]] = {}
    steps["generate (synthetic exports)"] = _row(g1 - g0, *sampler.window(g0, g1))
    windows = step_windows(instance, result.run_id)
    for key, (t0, t1) in windows.items():
        steps[key] = _row(t1 - t0, *sampler.window(t0, t1))
    return {
        "people": people,
        "scope": "all" if whole else "through pseudonymised",
        "success": result.success,
        "generate_seconds": round(timings["generate"], 1),
        "pipeline_seconds": round(timings["pipeline"], 1),
        "seconds": round(timings["generate"] + timings["pipeline"], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "cpu_seconds": round(cpu_seconds(), 1),
        "load_avg_before": load_before,
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "steps": dict(sorted(steps.items(), key=lambda kv: -kv[1]["seconds"])),
        "windows": {k: [round(t0, 2), round(t1, 2)] for k, (t0, t1) in windows.items()},
        "rss_trace": [[round(t, 2), round(mb)] for t, mb, _ in sampler.samples[::10]],
    }


def _row(seconds: float, start: float, peak: float, cpu: float) -> dict[str, float]:
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "start_mb": round(start),
        "peak_mb": round(peak),
        "growth_mb": round(peak - start),
    }


def markdown(figures: dict[str, Any], top: int) -> str:
    """The per-step table for docs/scaling.md (``top`` slowest steps, the rest summed)."""
    lines = [
        f"people {figures['people']:,} ({figures['scope']}): {figures['seconds']} s total, "
        f"peak RSS {figures['peak_rss_mb']:,} MB, load before/after "
        f"{figures['load_avg_before']} / {figures['load_avg_after']}",
        "",
        "| step | s | CPU s | RSS at start MB | peak MB | growth MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = list(figures["steps"].items())
    for key, r in rows[:top]:
        lines.append(
            f"| {key} | {r['seconds']} | {r['cpu_seconds']} | {r['start_mb']:,} | {r['peak_mb']:,} "
            f"| {r['growth_mb']:,} |"
        )
    rest = rows[top:]
    if rest:
        lines.append(
            f"| {len(rest)} other steps | {round(sum(r['seconds'] for _, r in rest), 1)} "
            f"| {round(sum(r['cpu_seconds'] for _, r in rest), 1)} | | "
            f"{max(r['peak_mb'] for _, r in rest):,} | |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--keep", type=Path, default=None, help="data folder to keep (default: temp)")
    ap.add_argument("--all", action="store_true", help="the whole job, not only to pseudonymised")
    ap.add_argument("--interval", type=float, default=0.05, help="RSS sampling interval (s)")
    ap.add_argument("--top", type=int, default=20, help="rows of the table (slowest steps)")
    ap.add_argument(
        "--json", type=Path, default=None, help="also write the figures, step windows and RSS trace"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = measure(
            args.people, args.seed, args.keep or Path(tmp), whole=args.all, interval=args.interval
        )
    print(markdown(figures, args.top))
    print(json.dumps({k: v for k, v in figures.items() if k not in ("windows", "rss_trace")}))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
