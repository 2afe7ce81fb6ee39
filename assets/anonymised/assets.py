"""anonymised_*: the release candidate (steward side, Parquet), built from the pseudonymised layer.

One multi-asset runs :func:`assets.anonymised.release.anonymise_release` (the person-level record,
k-anonymity with local recoding, insider protection, detail tables with their own ids, and the
population coordinates the protected tables are counted from) and keeps the result as the
release candidate for the marts step. The Bridge scores (by far the largest table) never pass
through Python: DuckDB joins them to the release's trajectory keys and writes them ordered by the
random trajectory id. Blocking checks: k per person over every published quasi-identifier of
``anonymised_persons`` and no direct identifier, date or postcode in any published table.
Steward-only frames are written as ``steward_*.parquet`` and never published.
"""

import json
import os
import secrets
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa

from anonymise.tables.cellkey import derive_secret
from assets.anonymised.config import AnonymisationConfig
from assets.anonymised.generalisation import configured_vocabulary
from assets.anonymised.release import DETAIL_IDS, PUBLISHED, anonymise_release, bridge_scores_sql
from assets.anonymised.resource import ReleaseConfig
from assets.staging import schema
from pipelines.checks import check_result
from pipelines.metadata import StepTimer, markdown_table
from pipelines.resources import PseudonymKey, StagingDatabase
from quality.outcome import CheckOutcome
from quality.privacy import check_no_direct_identifiers
from quality.suites.marts import expect_k_anonymous_classes

DUCKDB_MEMORY_LIMIT = "3GB"
"""Memory DuckDB may use for the Bridge scores before it spills (into the candidate folder)."""

ANONYMISED_TABLES = PUBLISHED
TABLE_DESCRIPTIONS = {
    "persons": "One row per person: every quasi-identifier an acquaintance may know "
    "(the episode signature included), generalised per person (local recoding), k-anonymous "
    "per person; sensitive attributes l-diverse and withheld where an insider could use them.",
    "bridge_scores": "One row per trajectory × measurement × Bridge domain; own random "
    "trajectory_id, only organisation and intake year beside it; months since intake bucketed.",
    "goals": "One row per goal: own random goal_profile_id, organisation, intake year, domain, "
    "confidence band, achieved, months to set/achieve (buckets).",
    "case_problems": "One row per episode × case problem; own random problem_profile_id.",
    "income_sources": "One row per episode × income source, amounts banded; own random id.",
    "outcomes": "One row per episode × organisation-specific outcome; own random id.",
}
STEWARD_PREFIX = "steward_"
"""Candidate files never published (population coordinates, trajectory keys)."""


def class_size_chart(persons: pl.DataFrame, qis: list[str]) -> dg.MetadataValue:
    """A small text histogram of equivalence-class sizes (persons per class)."""
    sizes = persons.group_by(qis).len()["len"]
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
    """Derive the published ``bridge_scores`` in DuckDB from ``pseudonymised.bridge_scores``
    (``con``: the staging database) and the release's trajectory keys, straight into the
    Parquet file ``path`` (mode 0600), ordered by the random trajectory id; returns its rows."""
    con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.execute(f"set temp_directory = '{spill.as_posix()}'")
    con.register("__trajectory_keys", keys.to_arrow())
    try:
        # ordered by the random trajectory id: the source's order (an organisation's export
        # order) would otherwise survive in the file and re-identify (threat model, row order)
        sql = bridge_scores_sql(
            config, scores="pseudonymised.bridge_scores", keys="__trajectory_keys"
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
        con.unregister("__trajectory_keys")


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
    check_specs=[
        dg.AssetCheckSpec(
            "k_anonymous_per_person",
            asset="anonymised_persons",
            blocking=True,
            description="Every combination of the published quasi-identifiers (the whole "
            "person-level record, episode signature included) holds at least k persons.",
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
    context: dg.AssetExecutionContext,
    staging_db: StagingDatabase,
    release: ReleaseConfig,
    pseudonym_key: PseudonymKey,
):
    """Anonymise the pseudonymised layer into the release candidate."""
    timer = StepTimer()
    config = release.config()
    # record keys for the cell key method: from the project key, the same in every release
    secret = derive_secret(pseudonym_key.load()) if release.table_settings().uses_cell_key else None
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
        scored = con.execute(
            "select distinct episode_pseudonym from pseudonymised.bridge_scores"
        ).pl()["episode_pseudonym"]
    timer.lap("read")
    # A fresh, unpublished seed per release: ids and order cannot be linked across releases.
    result = anonymise_release(
        tables,
        config=config,
        release_seed=secrets.randbits(62),
        exclude_person_pseudonyms=excluded,
        scored_episodes=scored,
        cell_key_secret=secret,
    )
    del tables
    timer.lap("anonymise")
    folder = release.clear_candidate()
    scores_path = folder / "bridge_scores.parquet"
    keys = result.steward["trajectory_keys"]
    with staging_db.connect(read_only=True) as con:
        n_scores = write_bridge_scores(
            con,
            keys.select(
                "episode_pseudonym", "trajectory_id", "organisation", "intake_year", "start_date"
            ),
            config,
            scores_path,
            spill=release.spill_dir(),
        )
    timer.lap("bridge_scores")
    summary = result.summary()
    summary["rows"]["bridge_scores"] = n_scores
    steward = {
        "population": result.steward["population"],
        "population_goals": result.steward["population_goals"],
        # only the latest trajectory's unit matters to the tables; no pseudonym leaves here
        "population_trajectories": keys.filter(pl.col("unit_id").is_not_null()).select(
            "trajectory_id", "unit_id"
        ),
        "area_parents": result.steward["area_parents"],
    }
    release.write_candidate(
        {**result.tables, **{f"{STEWARD_PREFIX}{n}": df for n, df in steward.items()}},
        {**summary, "config": config.as_dict()},
        clear=False,
    )
    timer.lap("write")
    context.log.info(f"anonymised: {json.dumps({k: summary[k] for k in ('k_achieved', 'node')})}")
    persons = result.tables["persons"]
    qis = [q for q in config.quasi_identifiers if q in persons.columns]
    k_outcome = expect_k_anonymous_classes(persons, qis, "person_id", config.k)
    # the hierarchies' own names (a kern such as "Nieuwerkerk aan den IJssel") are not free text
    vocabulary = configured_vocabulary(config)
    identifiers = {
        t: check_no_direct_identifiers(
            {f"anonymised_{t}": df}, allow_pc6=False, vocabulary=vocabulary
        )
        for t, df in result.tables.items()
    }
    identifiers["bridge_scores"] = scan_parquet_identifiers(scores_path, "anonymised_bridge_scores")
    timer.lap("checks")
    context.log.info(f"anonymised timings (s): {timer.json()}")
    risk = summary["risk"]
    for t in ANONYMISED_TABLES:
        meta: dict[str, dg.RawMetadataValue] = {"rows": summary["rows"].get(t, 0)}
        if t in DETAIL_IDS:
            meta["episodes_withheld"] = summary["detail_episodes_withheld"].get(t, 0)
        if t == "persons":
            meta |= {
                "k": summary["k"],
                "k_achieved": summary["k_achieved"],
                "persons_suppressed": summary["suppressed_persons"],
                "recoding_passes": len(summary["passes"]),
                "loss": round(summary["loss"], 4),
                "max_risk": round(risk.get("prosecutor_max", 0.0), 4),
                "avg_risk": round(risk.get("prosecutor_avg", 0.0), 4),
                "classes": risk.get("classes"),
                "insider_withheld_cells": sum(summary["insider_withheld_cells"].values()),
                "generalisation": markdown_table(
                    pl.DataFrame(
                        [
                            {"attribute": q, "level": lv, "share": round(share, 4)}
                            for q, levels in summary["generalisation"].items()
                            for lv, share in levels.items()
                        ]
                    )
                ),
                "class_sizes": class_size_chart(persons, qis),
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
        if t == "persons":
            checks.append(check_result("anonymised_persons", "k_anonymous_per_person", k_outcome))
        yield dg.MaterializeResult(asset_key=f"anonymised_{t}", metadata=meta, check_results=checks)
