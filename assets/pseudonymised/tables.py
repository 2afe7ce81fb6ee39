"""pseudonymised_<entity>: staging with keyed pseudonyms and without direct identifiers."""

import dagster as dg

from assets.pseudonymised.transform import pseudonymise_all
from assets.staging import schema
from assets.staging.canonical import ENTITY_DESCRIPTIONS
from pipelines.checks import check_result
from pipelines.resources import PseudonymKey, StagingDatabase
from quality.privacy import check_no_direct_identifiers

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
    group_name="pseudonymised",
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
    key = pseudonym_key.load()
    key_id = pseudonym_key.key_id()
    staged = {e: staging_db.read("canonical", e) for e in schema.ENTITIES}
    out = pseudonymise_all(staged, key=key)
    del key
    for entity, df in out.items():
        staging_db.write("pseudonymised", entity, df)
        outcome = check_no_direct_identifiers({f"pseudonymised_{entity}": df})
        meta = {"rows": df.height, "key_id": key_id, "columns": ", ".join(df.columns)}
        if entity == "persons":
            meta["distinct_persons"] = df["person_pseudonym"].n_unique()
        yield dg.MaterializeResult(asset_key=f"pseudonymised_{entity}", metadata=meta)
        yield check_result(f"pseudonymised_{entity}", "no_direct_identifiers", outcome)
    with staging_db.connect() as con:
        con.execute(
            "create table if not exists meta.pseudonymisation_runs "
            "(run_id varchar, run_at timestamp, key_id varchar, persons bigint)"
        )
        con.execute(
            "insert into meta.pseudonymisation_runs values (?, current_timestamp, ?, ?)",
            [context.run.run_id, key_id, out["persons"].height],
        )
    context.log.info(f"pseudonymised with key id {key_id}")
