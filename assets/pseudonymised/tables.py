"""pseudonymised_<entity>: staging with keyed pseudonyms and without direct identifiers."""

import dagster as dg

from assets.pseudonymised.transform import (
    episode_pseudonyms,
    person_pseudonyms,
    pseudonymise_episode_rows,
    pseudonymise_episodes,
    pseudonymise_persons,
)
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
    # The steps of transform.pseudonymise_all, one table at a time (read, pseudonymise, write,
    # scan, drop) so that only one large table is in memory at once.
    persons = staging_db.read("canonical", "persons")
    episodes = staging_db.read("canonical", "episodes")
    people = person_pseudonyms(persons, key=key)
    episode_map = episode_pseudonyms(episodes, key=key)
    first = {
        "persons": pseudonymise_persons(persons, key=key, person_pseudonyms=people),
        "episodes": pseudonymise_episodes(
            episodes, persons, key=key, person_pseudonyms=people, episode_map=episode_map
        ),
    }
    del persons, episodes, people
    n_persons = first["persons"].height
    for entity in schema.ENTITIES:
        if entity in first:
            df = first.pop(entity)
        else:
            df = pseudonymise_episode_rows(
                staging_db.read("canonical", entity), key=key, episode_map=episode_map
            )
        staging_db.write("pseudonymised", entity, df)
        outcome = check_no_direct_identifiers({f"pseudonymised_{entity}": df})
        meta = {"rows": df.height, "key_id": key_id, "columns": ", ".join(df.columns)}
        if entity == "persons":
            meta["distinct_persons"] = df["person_pseudonym"].n_unique()
        del df
        yield dg.MaterializeResult(asset_key=f"pseudonymised_{entity}", metadata=meta)
        yield check_result(f"pseudonymised_{entity}", "no_direct_identifiers", outcome)
    del key, episode_map
    with staging_db.connect() as con:
        con.execute(
            "create table if not exists meta.pseudonymisation_runs "
            "(run_id varchar, run_at timestamp, key_id varchar, persons bigint)"
        )
        con.execute(
            "insert into meta.pseudonymisation_runs values (?, current_timestamp, ?, ?)",
            [context.run.run_id, key_id, n_persons],
        )
    context.log.info(f"pseudonymised with key id {key_id}")
