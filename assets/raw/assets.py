"""raw_exports: each organisation's landing exports read as they are, with a file manifest.

Dagster only: one asset partitioned by organisation (``assets.raw.partitions``); a partition
reads every export of its organisation's contract (``assets.raw.contracts``) into its own raw
tables. Reading, writing and validating are in ``assets.raw.reader`` and ``assets.raw.load``.
The group is assigned in ``pipelines.definitions``.
"""

from collections.abc import Iterable, Mapping

import dagster as dg
import polars as pl

from assets.raw.contracts import CONTRACTS, ExportSpec
from assets.raw.load import write_and_validate
from assets.raw.partitions import ORGANISATIONS, STAGING_DB_POOL
from assets.raw.reader import read_export
from pipelines.checks import check_result
from pipelines.metadata import markdown_table
from pipelines.resources import LandingFolder, StagingDatabase
from quality.gx_runtime import prewarm
from quality.outcome import CheckOutcome

RAW_ASSET = "raw_exports"
PER_EXPORT = {"organisation": pl.String, "export": pl.String, "rows": pl.Int64, "columns": pl.Int64}
"""The ``rows_per_export`` metadata table's columns."""


def build_raw_asset(register: Mapping[str, str] | None = None) -> dg.AssetsDefinition:
    """The raw asset, one partition per organisation; ``register`` holds each organisation's
    processing-register text for the description."""

    @dg.asset(
        name=RAW_ASSET,
        kinds={"polars", "duckdb"},
        description=describe_all(register or {}),
        partitions_def=ORGANISATIONS,
        # One run may cover every organisation (the whole job, a backfill): one step loops
        # over them, each export in its own transaction (``assets.raw.load.write_raw``).
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=STAGING_DB_POOL,
        check_specs=[
            dg.AssetCheckSpec(
                "raw_expectations",
                asset=RAW_ASSET,
                blocking=True,
                description="Great Expectations suite of every export of the organisation: "
                "required columns, ids present, codes, levels, dates, amounts and BSN 11-proef "
                "within tolerances for a real export.",
            )
        ],
    )
    def raw_exports(
        context: dg.AssetExecutionContext, landing: LandingFolder, staging_db: StagingDatabase
    ) -> dg.MaterializeResult:
        prewarm()  # GX imports (~5 s of Python) while the first export is read and written
        enabled = set(landing.organisations)
        outcomes: dict[str, CheckOutcome] = {}
        counts, manifests = [], []
        for org in context.partition_keys:
            if org not in enabled:
                context.log.info(f"{RAW_ASSET}[{org}]: not enabled in brugstat.toml; not read")
                continue
            for spec in exports_in_load_order(CONTRACTS[org].exports):
                export = read_export(landing.root(), org, spec)
                context.log.info(
                    f"{RAW_ASSET}[{org}] {spec.name}: {export.data.height} rows from "
                    f"{export.manifest.height} file(s)"
                )
                outcomes[f"{org}/{spec.name}"] = write_and_validate(
                    staging_db, org, spec.name, export
                )
                counts.append((org, spec.name, export.data.height, len(export.data.columns) - 2))
                manifests.append(
                    export.manifest.select(
                        pl.lit(org).alias("organisation"), "source_file", "rows", "bytes", "sha256"
                    )
                )
        per_export = pl.DataFrame(counts, schema=PER_EXPORT, orient="row")
        return dg.MaterializeResult(
            check_results=[check_result(RAW_ASSET, "raw_expectations", combined(outcomes))],
            metadata={
                "rows": int(per_export["rows"].sum()),
                "rows_per_export": markdown_table(per_export),
                "files": markdown_table(pl.concat(manifests) if manifests else pl.DataFrame()),
            },
        )

    return raw_exports


def exports_in_load_order(exports: Iterable[ExportSpec]) -> list[ExportSpec]:
    """Larger exports (higher ``priority``) first: the first load hides GX's import."""
    return sorted(exports, key=lambda spec: -spec.priority)


def combined(outcomes: Mapping[str, CheckOutcome]) -> CheckOutcome:
    """One outcome of several exports' suites: passed when every one passed; the description
    names the exports that failed (``organisation/export``) with their own sentences."""
    failed = {name: o for name, o in outcomes.items() if not o.passed}
    if failed:
        description = " ".join(f"{name}: {o.description}" for name, o in failed.items())
    else:
        description = f"{len(outcomes)} export(s) meet their raw expectation suites."
    return CheckOutcome(not failed, description, {name: o.details for name, o in outcomes.items()})


def describe(organisation: str, spec: ExportSpec) -> str:
    """One export's description, from its contract."""
    never = ", ".join(f"`{c}`" for c in spec.never_read) or "none"
    return (
        f"{spec.description or spec.name} — files `{spec.pattern}` in the landing folder "
        f"`{organisation}/`, read as text ({spec.encoding}, separator '{spec.separator}') "
        f"with `_source_file`/`_source_row` lineage; {len(spec.columns)} columns, id "
        f"`{spec.id}`, raw table `raw.{organisation}__{spec.name}`. Never read past raw: "
        f"{never}."
    )


def describe_all(register: Mapping[str, str]) -> str:
    """The raw asset's description: per organisation partition its exports (from the
    contracts) and its processing-register entries."""
    parts = [
        "Every export of one organisation (the partition) read as delivered, with a file "
        "manifest (sha256 per file). Steward only: holds direct identifiers."
    ]
    for org, contract in CONTRACTS.items():
        parts.append(
            f"\n\n**{org}** (contract `assets/raw/contracts/{org}.py`):\n"
            + "".join(f"\n- {describe(org, spec)}" for spec in contract.exports)
            + register.get(org, "")
        )
    return "".join(parts)
