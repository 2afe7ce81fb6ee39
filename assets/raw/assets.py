"""raw_<organisation>__<export>: each landing export read as it is, with a file manifest.

Dagster only: one asset per export of each organisation's contract (``assets.raw.contracts``),
described from it; reading, writing and validating are in ``assets.raw.reader`` and
``assets.raw.load``. The group is assigned in ``pipelines.definitions``.
"""

from collections.abc import Iterable, Mapping

import dagster as dg

from assets.raw.contracts import CONTRACTS, ExportSpec
from assets.raw.load import write_and_validate
from assets.raw.reader import read_export
from pipelines.checks import check_result
from pipelines.metadata import markdown_table
from pipelines.resources import LandingFolder, StagingDatabase
from quality.gx_runtime import prewarm


def _raw_asset(organisation: str, spec: ExportSpec, register: str = "") -> dg.AssetsDefinition:
    name = f"raw_{organisation}__{spec.name}"

    @dg.asset(
        name=name,
        kinds={"polars", "duckdb"},
        description=describe(organisation, spec) + register,
        tags={"organisation": organisation},
        # Larger exports first: the first raw step also waits for GX's import (~5 s), which a
        # large export's load hides (the in-process executor orders steps by this tag).
        op_tags={"dagster/priority": str(spec.priority)} if spec.priority else None,
        check_specs=[
            dg.AssetCheckSpec(
                "raw_expectations",
                asset=name,
                blocking=True,
                description="Great Expectations suite: required columns, ids present, codes, "
                "levels, dates, amounts and BSN 11-proef within tolerances for a real export.",
            )
        ],
    )
    def _asset(
        context: dg.AssetExecutionContext, landing: LandingFolder, staging_db: StagingDatabase
    ) -> dg.MaterializeResult:
        prewarm()  # GX imports (~5 s of Python) while the export is read and written
        export = read_export(landing.root(), organisation, spec)
        context.log.info(f"{name}: {export.data.height} rows from {export.manifest.height} file(s)")
        outcome = write_and_validate(staging_db, organisation, spec.name, export)
        return dg.MaterializeResult(
            check_results=[check_result(name, "raw_expectations", outcome)],
            metadata={
                "rows": export.data.height,
                "files": markdown_table(
                    export.manifest.select("source_file", "rows", "bytes", "sha256")
                ),
                "columns": len(export.data.columns) - 2,
            },
        )

    return _asset


def describe(organisation: str, spec: ExportSpec) -> str:
    """The raw asset's description, from the export's contract."""
    never = ", ".join(f"`{c}`" for c in spec.never_read) or "none"
    return (
        f"{spec.description or spec.name} — files `{spec.pattern}` in the landing folder "
        f"`{organisation}/`, read as text ({spec.encoding}, separator '{spec.separator}') "
        f"with `_source_file`/`_source_row` lineage; {len(spec.columns)} columns, id "
        f"`{spec.id}`. Never read past raw: {never}. Steward only: holds direct identifiers. "
        f"Contract: `assets/raw/contracts/{organisation}.py`."
    )


def build_raw_assets(
    organisations: Iterable[str], register: Mapping[str, str] | None = None
) -> list[dg.AssetsDefinition]:
    """One raw asset per export of each organisation's contract; ``register`` holds each
    organisation's processing-register text for the asset descriptions."""
    register = register or {}
    return [
        _raw_asset(org, spec, register.get(org, ""))
        for org in organisations
        for spec in CONTRACTS[org].exports
    ]
