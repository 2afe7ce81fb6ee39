"""pseudonymised_<entity>: staging with keyed pseudonyms and without direct identifiers.

Dagster only: the work is :func:`assets.pseudonymised.write.pseudonymise_database`. The group is
assigned in ``pipelines.definitions``.
"""

import dagster as dg

from assets.pseudonymised.write import pseudonymise_database
from assets.staging import schema
from assets.staging.assets import ENTITY_DESCRIPTIONS
from pipelines.checks import check_result
from pipelines.resources import PseudonymKey, StagingDatabase
from quality.outcome import CheckOutcome

OUTPUTS = [f"pseudonymised_{e}" for e in schema.ENTITIES]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            f"pseudonymised_{e}",
            deps=[f"staging_{e}", "staging_persons", "governance_purge"],
            description=ENTITY_DESCRIPTIONS[e].replace("BSN still present", "BSN replaced")
            + " Keyed HMAC pseudonyms; no direct identifier, no free text, no source ids.",
            kinds={"polars"},
        )
        for e in schema.ENTITIES
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "no_direct_identifiers",
            asset=f"pseudonymised_{e}",
            blocking=True,
            description="No column name or value looks like a name, address, postcode + house "
            "number, BSN, e-mail, phone number, dossier/client id, buddy data or free text.",
        )
        for e in schema.ENTITIES
    ],
)
def pseudonymised_tables(
    context: dg.AssetExecutionContext, staging_db: StagingDatabase, pseudonym_key: PseudonymKey
):
    """Replace identifiers by HMAC pseudonyms under the project key; drop the rest."""
    key_id = pseudonym_key.key_id()
    written = pseudonymise_database(staging_db, pseudonym_key.load())
    with staging_db.connect() as con:
        con.execute(
            "create table if not exists meta.pseudonymisation_runs "
            "(run_id varchar, run_at timestamp, key_id varchar, persons bigint)"
        )
        con.execute(
            "insert into meta.pseudonymisation_runs values (?, current_timestamp, ?, ?)",
            [context.run.run_id, key_id, written["persons"]["rows"]],
        )
    for entity in schema.ENTITIES:
        info = dict(written[entity])
        outcome = info.pop("outcome")
        assert isinstance(outcome, CheckOutcome)
        metadata: dict[str, dg.RawMetadataValue] = {"key_id": key_id}
        metadata |= {k: v for k, v in info.items() if isinstance(v, int | str)}
        yield dg.MaterializeResult(asset_key=f"pseudonymised_{entity}", metadata=metadata)
        yield check_result(f"pseudonymised_{entity}", "no_direct_identifiers", outcome)
    context.log.info(f"pseudonymised with key id {key_id}")
