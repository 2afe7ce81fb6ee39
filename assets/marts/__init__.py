"""mart_* layer: the analysts' research.duckdb (documented marts + protected aggregates).

Modules: ``catalogue`` (every table and column, once, with its grain), ``aggregates`` (protected
frequency tables), ``ledger`` (the release ledger: steward side in DuckDB, published side in the
research file) and ``build`` (atomic build of research.duckdb). No Dagster here: the asset module
wraps these kernels.
"""

from assets.marts.aggregates import AggregateConfig, ProtectedAggregates, protect_aggregates
from assets.marts.build import (
    BuildReport,
    ReleaseInfo,
    ReleaseVetoedError,
    build_research_database,
    open_read_only,
)
from assets.marts.catalogue import CATALOGUE, TableDoc, asset_description
from assets.marts.ledger import DuckDBLedger, published_rows

__all__ = [
    "CATALOGUE",
    "AggregateConfig",
    "BuildReport",
    "DuckDBLedger",
    "ProtectedAggregates",
    "ReleaseInfo",
    "ReleaseVetoedError",
    "TableDoc",
    "asset_description",
    "build_research_database",
    "open_read_only",
    "protect_aggregates",
    "published_rows",
]
