"""staging_<entity>: every organisation's exports mapped into the canonical model.

One multi-asset runs each enabled organisation's adapter over its raw tables and writes the union
per canonical entity, every rejected row to ``quarantine_rows`` (organisation, file, row, rule —
no values) and the per-file balance to ``staging_file_balance``. The blocking ``conservation``
check proves per file: raw rows = staged + quarantined + removed duplicates + withheld.
"""

from collections.abc import Mapping, Sequence
from types import ModuleType

import dagster as dg
import polars as pl

from assets.raw.exports import raw_table
from assets.staging import schema
from assets.staging.adapters import ADAPTERS, conservation
from pipelines.checks import check_result
from pipelines.metadata import markdown_table
from pipelines.resources import LandingFolder, StagingDatabase
from quality.conservation import check_conservation
from quality.suites.staging import validate_staging

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


def run_adapters(
    raw_by_org: Mapping[str, Mapping[str, pl.DataFrame]],
    adapters: Mapping[str, ModuleType] = ADAPTERS,
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame]:
    """Adapt every organisation; returns (entity -> union frame, quarantine, file balance)."""
    tables: dict[str, list[pl.DataFrame]] = {e: [] for e in schema.ENTITIES}
    quarantine, balance = [], []
    for org, raw in raw_by_org.items():
        result = adapters[org].adapt(raw)
        for entity, df in result.tables.items():
            tables[entity].append(schema.conform(df, schema.ENTITIES[entity]))
        quarantine.append(schema.conform(result.quarantine, schema.QUARANTINE))
        balance.append(conservation(raw, result).with_columns(organisation=pl.lit(org)))
    union = {
        e: pl.concat(fs) if fs else schema.empty(schema.ENTITIES[e]) for e, fs in tables.items()
    }
    q = pl.concat(quarantine) if quarantine else schema.empty(schema.QUARANTINE)
    b = pl.concat(balance, how="diagonal_relaxed") if balance else pl.DataFrame()
    return union, q, b


def load_raw(
    staging_db: StagingDatabase, organisations: Sequence[str]
) -> dict[str, dict[str, pl.DataFrame]]:
    """The raw tables of ``organisations`` (organisation -> export name -> frame), exactly as
    the raw assets wrote them."""
    return {
        org: {
            spec.name: staging_db.read("raw", raw_table(org, spec.name))
            for spec in ADAPTERS[org].EXPORTS
        }
        for org in organisations
    }


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
    group_name="staging",
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
    # One organisation at a time: its raw tables are dropped as soon as it is adapted.
    parts: dict[str, list[pl.DataFrame]] = {e: [] for e in schema.ENTITIES}
    q_parts, b_parts = [], []
    for org in landing.organisations:
        raw = load_raw(staging_db, [org])
        union, q, b = run_adapters(raw)
        del raw
        for entity, df in union.items():
            parts[entity].append(df)
        q_parts.append(q)
        b_parts.append(b)
    manifest = staging_db.read("raw", "manifest")
    tables = {
        e: pl.concat(fs) if fs else schema.empty(schema.ENTITIES[e]) for e, fs in parts.items()
    }
    del parts
    quarantine = pl.concat(q_parts) if q_parts else schema.empty(schema.QUARANTINE)
    balance = pl.concat(b_parts, how="diagonal_relaxed") if b_parts else pl.DataFrame()
    outcomes = validate_staging(tables)
    for entity in list(tables):
        df = tables.pop(entity)  # written tables are not needed again here
        staging_db.write("canonical", entity, df)
        per_org = df.group_by("organisation").len().sort("organisation")
        yield dg.MaterializeResult(
            asset_key=f"staging_{entity}",
            metadata={"rows": df.height, "rows_per_organisation": markdown_table(per_org)},
            check_results=[
                check_result(f"staging_{entity}", "staging_expectations", outcomes[entity])
            ],
        )
    staging_db.write("quarantine", "rows", quarantine)
    by_rule = (
        quarantine.group_by("organisation", "entity", "rule").len().sort("len", descending=True)
    )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_ASSET,
        metadata={"rows": quarantine.height, "by_rule": markdown_table(by_rule)},
    )
    staging_db.write("canonical", "file_balance", balance)
    outcome = check_conservation(balance, manifest)
    yield dg.MaterializeResult(
        asset_key=BALANCE_ASSET,
        metadata={"files": balance.height, "balance": markdown_table(balance)},
    )
    context.log.info(outcome.description)
    yield check_result(BALANCE_ASSET, "conservation", outcome)
