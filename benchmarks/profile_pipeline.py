"""Profile the extract -> stage -> pseudonymise path stage by stage (no Dagster).

    python benchmarks/profile_pipeline.py --data DIR [--people 1000000] [--seed S]

Generates the synthetic landing exports into ``DIR/landing`` once (reused when present), then
runs exactly the functions the assets call, timing each stage and printing the process's peak
RSS after it. Writes ``DIR/staging.duckdb`` (replaced on every run). Prints one line per stage
and a final JSON line with the totals.
"""

from __future__ import annotations

import argparse
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


class stage:  # noqa: N801 - used as a context manager
    def __init__(self, name: str, rows: int | None = None) -> None:
        self.name, self.rows = name, rows

    def __enter__(self) -> stage:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        dt = time.perf_counter() - self.t0
        cur, peak = _rss_mb()
        ROWS.append({"stage": self.name, "s": round(dt, 2), "rss": cur, "peak": peak})
        extra = f" rows={self.rows}" if self.rows is not None else ""
        print(f"{self.name:<44} {dt:7.2f} s  rss {cur:6d} MB  peak {peak:6d} MB{extra}", flush=True)


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

    with stage("import gx"):
        from quality.gx_runtime import context

        context()

    from assets.pseudonymised.transform import pseudonymise_all
    from assets.raw.exports import _record_manifest, raw_table
    from assets.raw.reader import read_export
    from assets.staging import schema
    from assets.staging.adapters import ADAPTERS
    from assets.staging.canonical import run_adapters

    try:
        from assets.staging.canonical import load_raw
    except ImportError:  # before the change: read every raw table whole

        def load_raw(db, orgs):
            return {
                o: {s.name: db.read("raw", raw_table(o, s.name)) for s in ADAPTERS[o].EXPORTS}
                for o in orgs
            }

    from pipelines.resources import StagingDatabase
    from quality.conservation import check_conservation
    from quality.privacy import check_no_direct_identifiers
    from quality.suites.raw import validate_raw
    from quality.suites.staging import validate_staging

    db = StagingDatabase(path=str(db_path))
    t_raw = time.perf_counter()
    for org, adapter in ADAPTERS.items():
        for spec in adapter.EXPORTS:
            name = f"{org}/{spec.name}"
            with stage(f"raw read_csv {name}") as s:
                export = read_export(landing, org, spec)
            s.rows = export.data.height
            with stage(f"raw write {name}"):
                db.write("raw", raw_table(org, spec.name), export.data)
                _record_manifest(db, org, spec.name, export.manifest)
            with stage(f"raw validate {name}"):
                outcome = validate_raw(org, spec.name, export.data)
            assert outcome.passed, outcome.description
            del export
    raw_s = time.perf_counter() - t_raw

    t_stg = time.perf_counter()
    with stage("staging read raw"):
        raw_by_org = load_raw(db, list(ADAPTERS))
        manifest = db.read("raw", "manifest")
    tables, quarantine, balance = {}, [], []
    for org in ADAPTERS:
        with stage(f"staging adapt {org}"):
            one, q, b = run_adapters({org: raw_by_org[org]})
        tables[org] = one
        quarantine.append(q)
        balance.append(b)
        raw_by_org[org] = None  # the asset holds them all; here freed per organisation
    import polars as pl

    with stage("staging union"):
        union = {e: pl.concat([tables[o][e] for o in ADAPTERS]) for e in schema.ENTITIES}
        del tables
        quarantine = pl.concat(quarantine)
        balance = pl.concat(balance, how="diagonal_relaxed")
    del raw_by_org
    with stage("staging validate"):
        outcomes = validate_staging(union)
    bad = {e: o.description for e, o in outcomes.items() if not o.passed}
    assert not bad, bad
    with stage("staging write"):
        for e, df in union.items():
            db.write("canonical", e, df)
        db.write("quarantine", "rows", quarantine)
        db.write("canonical", "file_balance", balance)
    with stage("staging conservation"):
        c = check_conservation(balance, manifest)
    assert c.passed, c.description
    n_staged = sum(df.height for df in union.values())
    del union
    stg_s = time.perf_counter() - t_stg

    t_ps = time.perf_counter()
    if not args.skip_pseudonymise:
        key = bytes.fromhex(os.environ["BRUGSTAT_PSEUDONYM_KEY"])
        with stage("pseudo read canonical"):
            staged = {e: db.read("canonical", e) for e in schema.ENTITIES}
        with stage("pseudo pseudonymise_all"):
            out = pseudonymise_all(staged, key=key)
        del staged
        for e, df in out.items():
            with stage(f"pseudo write {e}"):
                db.write("pseudonymised", e, df)
            with stage(f"pseudo scan {e}"):
                o = check_no_direct_identifiers({e: df})
            assert o.passed, o.description
    ps_s = time.perf_counter() - t_ps
    _, peak = _rss_mb()
    print(
        json.dumps(
            {
                "raw_s": round(raw_s, 1),
                "staging_s": round(stg_s, 1),
                "pseudonymise_s": round(ps_s, 1),
                "total_s": round(time.perf_counter() - t_all, 1),
                "staged_rows": n_staged,
                "peak_rss_mb": peak,
                "load": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
