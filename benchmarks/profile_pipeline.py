"""Profile the extract -> stage -> purge -> pseudonymise path step by step (no Dagster).

    python benchmarks/profile_pipeline.py --data DIR [--people 1000000] [--seed S]

Generates the synthetic landing exports into ``DIR/landing`` once (reused when present), then
runs exactly the functions the assets call (no request file: retention only), timing each step
and printing the process's peak RSS after it. Writes ``DIR/staging.duckdb`` (replaced on every
run). Prints one line per step and a final JSON line with the totals.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROWS: list[dict] = []


def _rss_mb() -> tuple[int, int]:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    with open("/proc/self/statm") as f:
        cur = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20
    return cur, peak


def _cpu() -> float:
    """CPU seconds of this process (all threads): steadier than wall time on a shared machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class stage:  # noqa: N801 - used as a context manager
    def __init__(self, name: str, rows: int | None = None) -> None:
        self.name, self.rows = name, rows

    def __enter__(self) -> stage:
        self.t0, self.c0 = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        dt, cpu = time.perf_counter() - self.t0, _cpu() - self.c0
        cur, peak = _rss_mb()
        ROWS.append({"stage": self.name, "s": round(dt, 2), "rss": cur, "peak": peak})
        extra = f" rows={self.rows}" if self.rows is not None else ""
        print(
            f"{self.name:<40} {dt:7.2f} s  cpu {cpu:6.2f} s  rss {cur:6d} MB  peak {peak:6d} MB"
            + extra,
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--skip-pseudonymise", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("BRUGSTAT_PSEUDONYM_KEY", os.urandom(32).hex())

    from pipelines.settings import load_settings

    settings = load_settings().with_data_dir(args.data)
    landing = settings.paths.landing
    t_all = time.perf_counter()
    if not landing.exists():
        from synthetic import generate

        with stage("generate"):
            generate(landing, people=args.people, seed=args.seed, today=settings.synthetic.today)
    db_path = settings.paths.staging_db
    for f in (db_path, db_path.with_name(db_path.name + ".wal")):
        if f.exists():
            f.unlink()

    from assets.governance.purge import governance_step
    from assets.governance.requests import REQUESTS_SCHEMA
    from assets.governance.retention import RetentionPolicy
    from assets.pseudonymised.write import pseudonymise_database
    from assets.raw.load import write_and_validate
    from assets.raw.reader import read_export
    from assets.staging.adapters import ADAPTERS
    from assets.staging.load import stage as stage_all
    from pipelines.resources import StagingDatabase
    from quality.gx_runtime import context, prewarm

    db = StagingDatabase(path=str(db_path))
    key = bytes.fromhex(os.environ["BRUGSTAT_PSEUDONYM_KEY"])
    t_raw = time.perf_counter()
    prewarm()  # as the raw assets do: GX imports while the first exports are read and written
    for org, adapter in ADAPTERS.items():
        for spec in adapter.EXPORTS:
            name = f"{org}/{spec.name}"
            with stage(f"raw read_csv {name}") as s:
                export = read_export(landing, org, spec)
            s.rows = export.data.height
            with stage(f"raw write+validate {name}"):
                outcome = write_and_validate(db, org, spec.name, export)
            assert outcome.passed, outcome.description
            del export
    with stage("raw gx context"):
        context()
    raw_s = time.perf_counter() - t_raw

    t_stg = time.perf_counter()
    staged = stage_all(db, list(ADAPTERS), step=lambda n: stage(f"staging {n}"))
    bad = {e: o.description for e, o in staged.outcomes.items() if not o.passed}
    assert not bad, bad
    assert staged.conservation.passed, staged.conservation.description
    n_staged = sum(sum(r.values()) for r in staged.rows.values())
    del staged
    stg_s = time.perf_counter() - t_stg

    t_gov = time.perf_counter()
    import polars as pl

    with stage("purge"), db.connect() as con:
        summary = governance_step(
            con,
            policy=RetentionPolicy.from_mapping(settings.governance.retention),
            requests=pl.DataFrame(schema=REQUESTS_SCHEMA),  # no request file: retention only
            today=settings.governance.today or dt.date.today(),
            key=key,
            organisations=list(ADAPTERS),
            run_id="profile",
        )
    print("  purge:", {k: v for k, v in summary.items() if v}, flush=True)
    gov_s = time.perf_counter() - t_gov

    t_ps = time.perf_counter()
    if not args.skip_pseudonymise:
        out = pseudonymise_database(db, key, step=lambda n: stage(f"pseudo {n}"))
        bad = {e: o["outcome"].description for e, o in out.items() if not o["outcome"].passed}
        assert not bad, bad
    ps_s = time.perf_counter() - t_ps
    _, peak = _rss_mb()
    print(
        json.dumps(
            {
                "raw_s": round(raw_s, 1),
                "staging_s": round(stg_s, 1),
                "purge_s": round(gov_s, 1),
                "pseudonymise_s": round(ps_s, 1),
                "total_s": round(time.perf_counter() - t_all, 1),
                "cpu_s": round(_cpu(), 1),
                "staged_rows": n_staged,
                "peak_rss_mb": peak,
                "load": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
