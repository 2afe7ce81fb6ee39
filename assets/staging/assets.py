"""staging_<entity>: each organisation's exports mapped into the canonical model.

One multi-asset partitioned by organisation (``assets.raw.partitions``): a partition runs its
organisation's adapter over its raw tables and replaces that organisation's rows of every
canonical entity, of ``quarantine_rows`` (organisation, file, row, rule — no values) and of
``staging_file_balance``, in one transaction per organisation. The blocking ``conservation``
check proves per file: raw rows = staged + quarantined + removed duplicates + withheld.

Dagster only: the work is :func:`assets.staging.load.stage`. The group is assigned in
``pipelines.definitions``.
"""

import dagster as dg
import polars as pl

from assets.raw.assets import RAW_ASSET
from assets.raw.partitions import ORGANISATIONS, STAGING_DB_POOL
from assets.staging import schema
from assets.staging.load import stage
from pipelines.checks import check_result
from pipelines.metadata import markdown_table
from pipelines.resources import LandingFolder, StagingDatabase

ENTITY_DESCRIPTIONS: dict[str, str] = {
    "persons": "One row per person per organisation (canonical person; BSN still present).",
    "episodes": "One row per support trajectory (case, registration, plan) per organisation.",
    "bridge_scores": "One row per episode × measurement date × Bridge domain, level 1–5.",
    "goals": "One row per goal of a Doel-Actieplan (free text never copied).",
    "case_problems": "One row per episode × problem or municipal process involved.",
    "debts": "One row per episode × measurement of the debt amount.",
    "income_sources": "One row per episode × income source.",
    "outcomes": "One row per episode × organisation-specific outcome measure.",
}

STAGING_OUTPUTS = [f"staging_{e}" for e in schema.ENTITIES]
QUARANTINE_ASSET = "quarantine_rows"
BALANCE_ASSET = "staging_file_balance"


def _specs() -> list[dg.AssetSpec]:
    deps = [RAW_ASSET]  # the same organisation's partition (identity mapping)
    specs = [
        dg.AssetSpec(
            f"staging_{e}", description=ENTITY_DESCRIPTIONS[e], deps=deps, kinds={"polars"}
        )
        for e in schema.ENTITIES
    ]
    specs.append(
        dg.AssetSpec(
            QUARANTINE_ASSET,
            deps=deps,
            kinds={"polars"},
            description="Every rejected raw row: organisation, file, row number, entity, rule "
            "and a sentence naming column and rule. Never the rejected values themselves.",
        )
    )
    specs.append(
        dg.AssetSpec(
            BALANCE_ASSET,
            deps=deps,
            kinds={"polars"},
            description="Per landing file: raw rows, staged, quarantined, removed duplicates, "
            "withheld, and whether they balance.",
        )
    )
    return specs


@dg.multi_asset(
    specs=_specs(),
    partitions_def=ORGANISATIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),  # a run may stage every organisation
    pool=STAGING_DB_POOL,
    check_specs=[
        *[
            dg.AssetCheckSpec(
                "staging_expectations",
                asset=f"staging_{e}",
                blocking=True,
                description="Great Expectations suite: exact columns, keys unique, code lists, "
                "ranges, date order and referential integrity.",
            )
            for e in schema.ENTITIES
        ],
        dg.AssetCheckSpec(
            "conservation",
            asset=BALANCE_ASSET,
            blocking=True,
            description="Per file: raw rows = staged + quarantined + removed duplicates + "
            "withheld, and raw rows equal the manifest's count.",
        ),
    ],
)
def staging_canonical(
    context: dg.AssetExecutionContext, landing: LandingFolder, staging_db: StagingDatabase
):
    """Run the partitions' adapters and replace their organisations' canonical staging rows,
    quarantine and file balance (an organisation switched off in brugstat.toml: its rows are
    removed)."""
    enabled = set(landing.organisations)
    keys = list(context.partition_keys)
    staged = stage(
        staging_db,
        [org for org in keys if org in enabled],
        remove=[org for org in keys if org not in enabled],
    )
    rows, quarantine, balance, outcomes = (
        staged.rows,
        staged.quarantine,
        staged.balance,
        staged.outcomes,
    )
    for entity in schema.ENTITIES:
        per_org = pl.DataFrame(
            {"organisation": list(rows[entity]), "len": list(rows[entity].values())},
            schema={"organisation": pl.String, "len": pl.UInt32},
        ).sort("organisation")
        yield dg.MaterializeResult(
            asset_key=f"staging_{entity}",
            metadata={
                "rows": int(per_org["len"].sum()),
                "rows_per_organisation": markdown_table(per_org),
            },
            check_results=[
                check_result(f"staging_{entity}", "staging_expectations", outcomes[entity])
            ],
        )
    by_rule = (
        quarantine.group_by("organisation", "entity", "rule").len().sort("len", descending=True)
    )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_ASSET,
        metadata={"rows": quarantine.height, "by_rule": markdown_table(by_rule)},
    )
    outcome = staged.conservation
    yield dg.MaterializeResult(
        asset_key=BALANCE_ASSET,
        metadata={"files": balance.height, "balance": markdown_table(balance)},
    )
    context.log.info(outcome.description)
    yield check_result(BALANCE_ASSET, "conservation", outcome)
