"""raw_<organisation>__<export>: each landing export read as it is, with a file manifest."""

from collections.abc import Mapping
from types import ModuleType

import dagster as dg
import polars as pl

from assets.raw.reader import read_export
from assets.staging.adapters.base import ExportSpec
from pipelines.checks import check_result
from pipelines.metadata import markdown_table
from pipelines.resources import LandingFolder, StagingDatabase
from quality.suites.raw import validate_raw

MANIFEST_TABLE = "manifest"


def raw_table(organisation: str, export: str) -> str:
    """Table name of an export in the ``raw`` schema of staging.duckdb."""
    return f"{organisation}__{export}"


def _raw_asset(organisation: str, spec: ExportSpec, register: str = "") -> dg.AssetsDefinition:
    name = f"raw_{organisation}__{spec.name}"

    @dg.asset(
        name=name,
        group_name="raw",
        kinds={"polars", "duckdb"},
        description=(
            f"{spec.description or spec.name} — files `{spec.pattern}` in the landing folder "
            f"`{organisation}/`, read as text ({spec.encoding}, separator '{spec.separator}') "
            "with `_source_file`/`_source_row` lineage. Steward only: holds direct identifiers."
            + register
        ),
        tags={"organisation": organisation},
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
        export = read_export(landing.root(), organisation, spec)
        staging_db.write("raw", raw_table(organisation, spec.name), export.data)
        _record_manifest(staging_db, organisation, spec.name, export.manifest)
        context.log.info(f"{name}: {export.data.height} rows from {export.manifest.height} file(s)")
        outcome = validate_raw(organisation, spec.name, export.data)
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


def _record_manifest(
    staging_db: StagingDatabase, organisation: str, export: str, manifest: pl.DataFrame
) -> None:
    """Replace this export's rows in raw.manifest (file, sha256, rows, when loaded)."""
    with staging_db.connect() as con:
        con.execute(
            f"create table if not exists raw.{MANIFEST_TABLE} (organisation varchar,"
            " export varchar, source_file varchar, sha256 varchar, bytes bigint, rows bigint,"
            " encoding varchar, loaded_at timestamp)"
        )
        con.execute(
            f"delete from raw.{MANIFEST_TABLE} where organisation = ? and export = ?",
            [organisation, export],
        )
        con.register("_m", manifest)
        con.execute(f"insert into raw.{MANIFEST_TABLE} select *, current_timestamp from _m")
        con.unregister("_m")


def build_raw_assets(
    adapters: Mapping[str, ModuleType], register: Mapping[str, str] | None = None
) -> list[dg.AssetsDefinition]:
    """One raw asset per organisation export declared by the adapters; ``register`` holds each
    organisation's processing-register text for the asset descriptions."""
    register = register or {}
    return [
        _raw_asset(org, spec, register.get(org, ""))
        for org, adapter in adapters.items()
        for spec in adapter.EXPORTS
    ]
