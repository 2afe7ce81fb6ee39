"""anonymised_*: the release candidate — k-anonymous per person, no identifier, no date.

One multi-asset reads the pseudonymised layer and the governance exclusions, runs
``anonymise_release`` and keeps the result as the release candidate (steward side, Parquet) for
the marts step, which builds research.duckdb from it. Blocking checks: k per person on the
published quasi-identifiers (a Great Expectations custom expectation) and no direct identifier,
date or postcode anywhere.
"""

import json
import secrets

import dagster as dg
import polars as pl

from assets.anonymised.transform import anonymise_release
from assets.staging import schema
from pipelines.checks import check_result
from pipelines.metadata import markdown_table
from pipelines.release import ReleaseConfig
from pipelines.resources import StagingDatabase
from quality.privacy import check_no_direct_identifiers
from quality.suites.marts import expect_k_anonymous_per_person

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
    config = release.config()
    tables = {e: staging_db.read("pseudonymised", e) for e in schema.ENTITIES}
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
    # A fresh, unpublished seed per release: surrogate ids cannot be linked across releases.
    result = anonymise_release(
        tables,
        config=config,
        release_seed=secrets.randbits(62),
        exclude_person_pseudonyms=excluded,
    )
    summary = result.summary()
    release.write_candidate(result.tables, {**summary, "config": config.as_dict()})
    context.log.info(f"anonymised: {json.dumps({k: summary[k] for k in ('k_achieved', 'node')})}")
    qis = [q for q in config.quasi_identifiers if q in result.tables["episodes"].columns]
    k_outcome = expect_k_anonymous_per_person(result.tables["episodes"], qis, "person_id", config.k)
    risk = summary["risk"]
    for t in ANONYMISED_TABLES:
        df = result.tables[t]
        meta: dict[str, dg.RawMetadataValue] = {"rows": df.height}
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
                "class_sizes": class_size_chart(df, qis, "person_id"),
                "summary": dg.MetadataValue.json(summary),
            }
        checks = [
            check_result(
                f"anonymised_{t}",
                "no_direct_identifiers",
                check_no_direct_identifiers({f"anonymised_{t}": df}, allow_pc6=False),
            )
        ]
        if t == "episodes":
            checks.append(check_result("anonymised_episodes", "k_anonymous_per_person", k_outcome))
        yield dg.MaterializeResult(asset_key=f"anonymised_{t}", metadata=meta, check_results=checks)
