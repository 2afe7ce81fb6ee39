"""The organisation partitions of the raw and staging layers, built from the export contracts.

One partition per organisation with a contract (``assets/raw/contracts/``): a new organisation is
a contract (and its adapter), not a new asset. The raw and staging assets are partitioned by it;
the steps after them (purge, pseudonymisation, anonymisation, marts, report) are not, and depend
on every partition.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import dagster as dg

from assets.raw import contracts

# ``backfill_policy`` is marked beta in Dagster 1.13; the raw and staging assets need it (one run
# over many partitions) and the warning would reach every CLI run's terminal. Only this message.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

STAGING_DB_POOL = "brugstat_staging_db"
"""Dagster concurrency pool of every step that writes staging.duckdb per organisation: DuckDB
lets one process write the file, so the instance (``pipelines.locking.DAGSTER_YAML``) gives the
pool one slot and the run queue starts one run holding it at a time."""

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def organisation_partitions(
    contracts_by_org: Mapping[str, object] | None = None,
) -> dg.StaticPartitionsDefinition:
    """One partition per organisation of the export contracts, in their canonical order."""
    orgs = contracts.CONTRACTS if contracts_by_org is None else contracts_by_org
    return dg.StaticPartitionsDefinition(list(orgs))


ORGANISATIONS = organisation_partitions()
"""The one partitions definition of the raw and staging assets."""


def all_partitions_tags(
    partitions: dg.StaticPartitionsDefinition = ORGANISATIONS,
) -> dict[str, str]:
    """Run tags that select every partition in one run (the first key to the last): the whole
    job's runs (CLI, schedule, sensor) materialise every organisation, then the release."""
    keys = partitions.get_partition_keys()
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
