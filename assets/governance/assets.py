"""governance_purge: the purge (``assets.governance.purge``) as a Dagster asset with its checks.

Dagster only; the group is assigned in ``pipelines.definitions``.
"""

import json
from pathlib import Path

import dagster as dg
import polars as pl

from assets.governance import purge
from assets.governance.requests import read_requests
from assets.governance.resource import GovernanceConfig
from assets.staging import schema
from pipelines.checks import check_result
from pipelines.metadata import markdown_table
from pipelines.resources import PseudonymKey, StagingDatabase
from quality.access import check_private_files


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "governance_purge",
            deps=[f"staging_{e}" for e in schema.ENTITIES] + ["quarantine_rows"],
            description=purge.__doc__,
            kinds={"duckdb"},
        )
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "steward_files_private",
            asset="governance_purge",
            blocking=True,
            description="staging.duckdb, its WAL and the key file are readable by the steward "
            "only (mode 0600); otherwise the run stops before anything is released.",
        ),
        dg.AssetCheckSpec(
            "erased_persons_absent",
            asset="governance_purge",
            blocking=True,
            description="After the purge no staged person carries a BSN with an erasure request.",
        ),
    ],
)
def governance_purge(
    context: dg.AssetExecutionContext,
    staging_db: StagingDatabase,
    governance: GovernanceConfig,
    pseudonym_key: PseudonymKey,
):
    """Apply retention terms and data-subject requests to the steward's database."""
    requests = read_requests(governance.requests_path())
    with staging_db.connect() as con:
        summary = purge.governance_step(
            con,
            policy=governance.policy(),
            requests=requests,
            today=governance.today_date(),
            key=pseudonym_key.load(),
            organisations=list(governance.organisations),
            run_id=context.run.run_id,
        )
        outcome = purge.check_purged(
            con, requests.filter(pl.col("request") == "erasure")["bsn"].to_list()
        )
        report = con.execute(
            "select counts from meta.audit_log order by logged_at desc limit 1"
        ).fetchone()[0]
    context.log.info(f"governance: {json.dumps(summary)}")
    yield dg.MaterializeResult(
        asset_key="governance_purge",
        metadata={
            **{k: v for k, v in summary.items() if isinstance(v, int)},
            "audit_entry": dg.MetadataValue.json(json.loads(report)),
            "retention_terms": markdown_table(governance.policy().frame()),
        },
    )
    yield check_result("governance_purge", "erased_persons_absent", outcome)
    db = Path(staging_db.path)
    private = [db, db.with_name(db.name + ".wal"), Path(pseudonym_key.key_file).expanduser()]
    yield check_result("governance_purge", "steward_files_private", check_private_files(private))
