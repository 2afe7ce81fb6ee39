"""Benchmark: the release half (anonymised + marts) on an existing staging database.

    python benchmarks/release.py --data DIR [--repeat N] [--keep-ledger] [--previous]

``DIR`` is a data folder kept by ``benchmarks/pipeline.py --people N --all --keep DIR`` (it holds
``staging.duckdb`` with the pseudonymised layer). Each run works on a scratch copy of that
database (``DIR/release_bench/``) without the steward's ledgers and without a previous
research.duckdb, so every run measures a first release like the whole-pipeline benchmark does
(``--keep-ledger`` keeps the ledgers, ``--previous`` keeps the earlier research.duckdb of the
scratch folder, to measure a second release on the same data).

Runs the two Dagster assets (``anonymised_tables``, then ``mart_tables``) in-process through the
project's job, each as its own execution, and prints one JSON line per run: seconds and peak RSS
(MB, sampled every 50 ms) per asset, the release's timings from the asset metadata where the
assets publish them, the success flag and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class PeakRss:
    """Peak resident set size of this process between :meth:`reset` calls (sampled)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def current_mb() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.current_mb())

    def reset(self) -> None:
        self.peak = self.current_mb()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _scratch(data: Path, *, keep_ledger: bool, previous: bool) -> Path:
    """A scratch data folder with a copy of ``data``'s staging database (ledgers dropped)."""
    import duckdb

    work = data / "release_bench"
    work.mkdir(exist_ok=True)
    for p in work.iterdir():
        if p.is_file() and not (previous and p.name == "research.duckdb"):
            p.unlink()
        elif p.is_dir():
            shutil.rmtree(p)
    shutil.copy2(data / "staging.duckdb", work / "staging.duckdb")
    os.chmod(work / "staging.duckdb", 0o600)
    if not keep_ledger:
        with duckdb.connect(str(work / "staging.duckdb")) as con:
            schemas = con.execute(
                "select schema_name from duckdb_schemas() where database_name = current_database() "
                "and schema_name like 'ledger%'"
            ).fetchall()
            for (s,) in schemas:
                con.execute(f'drop schema "{s}" cascade')
            con.execute("checkpoint")
    return work


def _metadata(result, asset: str) -> dict:
    """JSON-able metadata entries of one materialisation (timings only)."""
    for m in result.get_asset_materialization_events():
        if m.asset_key.to_user_string() != asset:
            continue
        md = m.step_materialization_data.materialization.metadata
        entry = md.get("timings")
        if entry is not None:
            return dict(entry.value)
    return {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--keep-ledger", action="store_true")
    ap.add_argument("--previous", action="store_true")
    ap.add_argument("--only", choices=["anonymised", "marts"], default=None)
    args = ap.parse_args()

    os.environ.setdefault("BRUGSTAT_PSEUDONYM_KEY", os.urandom(32).hex())
    import dagster as dg

    from pipelines.definitions import ALL_JOB, build_definitions
    from pipelines.settings import load_settings

    rss = PeakRss()
    for _ in range(args.repeat):
        work = _scratch(args.data.resolve(), keep_ledger=args.keep_ledger, previous=args.previous)
        if args.only == "marts":
            shutil.copytree(args.data / "release_candidate", work / "release_candidate")
        settings = load_settings().with_data_dir(work)
        settings = replace(settings, paths=replace(settings.paths, key_file=work / "unused.key"))
        defs = build_definitions(settings)
        job = defs.resolve_job_def(ALL_JOB)
        graph = defs.resolve_asset_graph()
        out: dict = {"data": str(args.data)}
        ok = True
        for group in ("anonymised", "marts"):
            if args.only and group != args.only:
                continue
            selection = sorted(dg.AssetSelection.groups(group).resolve(graph))
            rss.reset()
            t0 = time.perf_counter()
            result = job.execute_in_process(
                instance=dg.DagsterInstance.ephemeral(),
                asset_selection=selection,
                raise_on_error=False,
            )
            out[f"{group}_s"] = round(time.perf_counter() - t0, 1)
            out[f"{group}_peak_rss_mb"] = rss.peak
            timings = _metadata(
                result, f"{group}_episodes" if group == "anonymised" else "mart_persons"
            )
            if timings:
                out[f"{group}_timings"] = timings
            ok &= result.success and all(e.passed for e in result.get_asset_check_evaluations())
        out["success"] = ok
        out["process_peak_rss_mb"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        out["load_avg_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(out), flush=True)
    rss.stop()


if __name__ == "__main__":
    main()
