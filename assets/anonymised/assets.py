"""anonymised_*: the release candidate — k-anonymous per person, no identifier, no date.

One multi-asset reads the pseudonymised layer and the governance exclusions, runs
``anonymise_release`` and keeps the result as the release candidate (steward side, Parquet) for
the marts step, which builds research.duckdb from it. The Bridge scores (by far the largest
table) never pass through Python: DuckDB joins the pseudonymised scores to the release's episode
keys and writes the candidate file (``bridge_scores_sql``, held equal to the polars derivation by
a test). Blocking checks: k per person on the published quasi-identifiers (Great Expectations on
the per-class person counts) and no direct identifier, date or postcode anywhere (every distinct
value of every table is scanned).
"""

import json
import os
import secrets
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa

from assets.anonymised.config import AnonymisationConfig
from assets.anonymised.transform import anonymise_release, bridge_scores_sql
from assets.staging import schema
from pipelines.checks import check_result
from pipelines.metadata import StepTimer, markdown_table
from pipelines.release import ReleaseConfig
from pipelines.resources import StagingDatabase
from quality.outcome import CheckOutcome
from quality.privacy import check_no_direct_identifiers
from quality.suites.marts import expect_k_anonymous_classes

DUCKDB_MEMORY_LIMIT = "3GB"
"""Memory DuckDB may use for the Bridge scores before it spills (into the candidate folder)."""

ANONYMISED_TABLES = (
    "persons",
    "episodes",
    "bridge_scores",
    "goals",
    "case_problems",
    "income_sources",
    "outcomes",
)
TABLE_DESCRIPTIONS = {
    "persons": "One row per person in the release (release-specific person_id; no QIs).",
    "episodes": "One row per support episode with the person's generalised quasi-identifiers; "
    "k-anonymous per person.",
    "bridge_scores": "One row per episode × measurement × Bridge domain; months since intake "
    "bucketed, no dates.",
    "goals": "One row per goal: domain, confidence band, achieved, months to achieve (bucket).",
    "case_problems": "One row per episode × case problem / municipal process.",
    "income_sources": "One row per episode × income source, amounts banded.",
    "outcomes": "One row per episode × organisation-specific outcome, values flagged or banded.",
}


def class_size_chart(episodes: pl.DataFrame, qis: list[str], person: str) -> dg.MetadataValue:
    """A small text histogram of equivalence-class sizes (distinct persons per class)."""
    sizes = episodes.select(*qis, person).unique().group_by(qis).len()["len"]
    edges = [(5, 9), (10, 19), (20, 49), (50, 99), (100, 10**9)]
    rows = []
    peak = max(1, max(int(((sizes >= lo) & (sizes <= hi)).sum()) for lo, hi in edges))
    for lo, hi in edges:
        n = int(((sizes >= lo) & (sizes <= hi)).sum())
        label = f"{lo}+" if hi > 10**8 else f"{lo}–{hi}"
        rows.append(f"| {label} | {n} | {'█' * round(20 * n / peak)} |")
    below = int((sizes < 5).sum())
    head = "| persons per class | classes | |\n|---|---|---|\n"
    note = f"\n\nclasses below 5 persons: {below}"
    return dg.MetadataValue.md(head + "\n".join(rows) + note)


def write_bridge_scores(
    con: duckdb.DuckDBPyConnection,
    keys: pl.DataFrame,
    config: AnonymisationConfig,
    path: Path,
    *,
    spill: Path,
) -> int:
    """Derive the ``bridge_scores`` microdata in DuckDB from ``pseudonymised.bridge_scores``
    (``con``: the staging database) and the release's episode keys, straight into the Parquet
    file ``path`` (mode 0600); returns its row count."""
    con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.execute(f"set temp_directory = '{spill.as_posix()}'")
    con.execute("set preserve_insertion_order = false")  # the rows' order means nothing here
    con.register("__episode_keys", keys.to_arrow())
    try:
        # unordered: sorting tens of millions of rows would double the time, and nothing
        # downstream depends on the order (aggregates group, the snapshot hash is order-free)
        sql = bridge_scores_sql(
            config, scores="pseudonymised.bridge_scores", keys="__episode_keys", ordered=False
        )
        tmp = path.with_name(path.name + ".part")
        old = os.umask(0o077)  # born private: the file is steward-only like the folder
        try:
            con.execute(f"copy ({sql}) to '{tmp.as_posix()}' (format parquet, compression snappy)")
        finally:
            os.umask(old)
        os.replace(tmp, path)
        os.chmod(path, 0o600)
        count = f"select count(*) from read_parquet('{path.as_posix()}')"
        return int(con.execute(count).fetchone()[0])
    finally:
        con.unregister("__episode_keys")


def scan_parquet_identifiers(path: Path, table: str) -> CheckOutcome:
    """``check_no_direct_identifiers`` on a Parquet file without loading it: DuckDB lists each
    column's distinct values and the scan runs on those (the same findings: the rules look at
    values, not rows). Only when something is found is the file read whole, for exact counts."""
    with duckdb.connect() as con:
        src = f"read_parquet('{path.as_posix()}')"
        names = [r[0] for r in con.execute(f"select * from {src} limit 0").description]
        columns = []
        for c in names:
            col = '"' + c.replace('"', '""') + '"'
            result = con.execute(f"select distinct {col} as v from {src}").arrow()
            table_ = result if isinstance(result, pa.Table) else result.read_all()
            columns.append(pl.from_arrow(table_).to_series().alias(c))
    width = max((s.len() for s in columns), default=0)
    distinct = pl.DataFrame([s.extend_constant(None, width - s.len()) for s in columns])
    outcome = check_no_direct_identifiers({table: distinct}, allow_pc6=False)
    if outcome.passed:
        return outcome
    return check_no_direct_identifiers({table: pl.read_parquet(path)}, allow_pc6=False)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            f"anonymised_{t}",
            deps=[f"pseudonymised_{e}" for e in schema.ENTITIES] + ["governance_purge"],
            description=TABLE_DESCRIPTIONS[t],
            kinds={"polars"},
        )
        for t in ANONYMISED_TABLES
    ],
    group_name="anonymised",
    check_specs=[
        dg.AssetCheckSpec(
            "k_anonymous_per_person",
            asset="anonymised_episodes",
            blocking=True,
            description="Every combination of published quasi-identifiers holds at least k "
            "distinct persons (Great Expectations custom expectation).",
        ),
        *[
            dg.AssetCheckSpec(
                "no_direct_identifiers",
                asset=f"anonymised_{t}",
                blocking=True,
                description="No identifier-like column or value, no date, no PC6 postcode.",
            )
            for t in ANONYMISED_TABLES
        ],
    ],
)
def anonymised_tables(
    context: dg.AssetExecutionContext, staging_db: StagingDatabase, release: ReleaseConfig
):
    """Generalise and suppress the pseudonymised layer into the release candidate."""
    timer = StepTimer()

    config = release.config()
    # every entity but the Bridge scores (derived in DuckDB below)
    tables = {
        e: staging_db.read("pseudonymised", e) for e in schema.ENTITIES if e != "bridge_scores"
    }
    with staging_db.connect(read_only=True) as con:
        has = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'meta' "
            "and table_name = 'research_exclusions'"
        ).fetchone()[0]
        excluded = (
            con.execute("select person_pseudonym from meta.research_exclusions").pl()[
                "person_pseudonym"
            ]
            if has
            else pl.Series("person_pseudonym", [], dtype=pl.String)
        )
    timer.lap("read")
    # A fresh, unpublished seed per release: surrogate ids cannot be linked across releases.
    result = anonymise_release(
        tables,
        config=config,
        release_seed=secrets.randbits(62),
        exclude_person_pseudonyms=excluded,
        leave_out=("bridge_scores",),
    )
    del tables
    timer.lap("anonymise")
    assert result.episode_keys is not None
    folder = release.clear_candidate()
    scores_path = folder / "bridge_scores.parquet"
    with staging_db.connect(read_only=True) as con:
        n_scores = write_bridge_scores(
            con, result.episode_keys, config, scores_path, spill=release.spill_dir()
        )
    timer.lap("bridge_scores")
    summary = result.summary()
    summary["rows"]["bridge_scores"] = n_scores
    release.write_candidate(result.tables, {**summary, "config": config.as_dict()}, clear=False)
    timer.lap("write")
    context.log.info(f"anonymised: {json.dumps({k: summary[k] for k in ('k_achieved', 'node')})}")
    episodes = result.tables["episodes"]
    qis = [q for q in config.quasi_identifiers if q in episodes.columns]
    k_outcome = expect_k_anonymous_classes(episodes, qis, "person_id", config.k)
    identifiers = {
        t: check_no_direct_identifiers({f"anonymised_{t}": df}, allow_pc6=False)
        for t, df in result.tables.items()
    }
    identifiers["bridge_scores"] = scan_parquet_identifiers(scores_path, "anonymised_bridge_scores")
    timer.lap("checks")
    context.log.info(f"anonymised timings (s): {timer.json()}")
    risk = summary["risk"]
    for t in ANONYMISED_TABLES:
        meta: dict[str, dg.RawMetadataValue] = {"rows": summary["rows"].get(t, 0)}
        if t == "episodes":
            meta |= {
                "k": summary["k"],
                "k_achieved": summary["k_achieved"],
                "persons_suppressed": summary["suppressed_persons"],
                "node": summary["node"],
                "loss": summary["metrics"].get("loss"),
                "max_risk": risk.get("prosecutor_max"),
                "avg_risk": risk.get("prosecutor_avg"),
                "classes": summary["classes"],
                "levels": markdown_table(
                    pl.DataFrame(
                        {
                            "attribute": list(summary["levels"]),
                            "level": list(summary["levels"].values()),
                        }
                    )
                ),
                "class_sizes": class_size_chart(episodes, qis, "person_id"),
                "summary": dg.MetadataValue.json(summary),
                "timings": dg.MetadataValue.json(timer.timings),
            }
        checks = [
            check_result(
                f"anonymised_{t}",
                "no_direct_identifiers",
                identifiers.get(
                    t, CheckOutcome(False, f"anonymised_{t} was not produced.", {"table": t})
                ),
            )
        ]
        if t == "episodes":
            checks.append(check_result("anonymised_episodes", "k_anonymous_per_person", k_outcome))
        yield dg.MaterializeResult(asset_key=f"anonymised_{t}", metadata=meta, check_results=checks)
