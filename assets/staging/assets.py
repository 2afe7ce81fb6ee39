"""staging_<entity>: every organisation's exports mapped into the canonical model.

One multi-asset runs each enabled organisation's adapter over its raw tables and writes the union
per canonical entity, every rejected row to ``quarantine_rows`` (organisation, file, row, rule —
no values) and the per-file balance to ``staging_file_balance``. The blocking ``conservation``
check proves per file: raw rows = staged + quarantined + removed duplicates + withheld.

Dagster only: the work is :func:`assets.staging.load.stage`. The group is assigned in
``pipelines.definitions``.
"""

import dagster as dg
import polars as pl

from assets.staging import schema
from assets.staging.adapters import ADAPTERS
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
    deps = [
        f"raw_{org}__{spec.name}" for org, adapter in ADAPTERS.items() for spec in adapter.EXPORTS
    ]
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
    """Run the adapters and write the canonical staging tables, quarantine and file balance."""
    staged = stage(staging_db, landing.organisations)
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
