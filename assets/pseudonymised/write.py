"""Writing the ``pseudonymised`` schema: staging with keyed pseudonyms and without direct
identifiers, scanned after it is stored; the asset is ``assets.pseudonymised.assets``."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext

from assets.pseudonymised.transform import (
    EPISODE_MAP,
    add_missing_episodes,
    episode_pseudonyms,
    goal_ids,
    goal_pseudonyms,
    person_pseudonyms,
    pseudonymise_episodes,
    pseudonymise_persons,
    register_episode_map,
    unmatched_rows,
    write_episode_table,
)
from assets.staging import schema
from pipelines.resources import StagingDatabase, read_frame, write_frame
from quality.privacy import check_tables_no_direct_identifiers

EPISODE_TABLES = [e for e in schema.ENTITIES if e not in ("persons", "episodes")]


def _no_step(name: str) -> AbstractContextManager[object]:
    return nullcontext()


def pseudonymise_database(
    staging_db: StagingDatabase,
    key: bytes,
    *,
    step: Callable[[str], AbstractContextManager[object]] = _no_step,
) -> dict[str, dict[str, object]]:
    """Write every ``pseudonymised.<entity>`` from ``canonical`` (one transaction) and scan what
    was stored; returns per entity its metadata and ``outcome`` (no direct identifiers).
    ``step(name)`` wraps each step (timing)."""
    out: dict[str, dict[str, object]] = {}
    with staging_db.connect() as con:
        # Persons and episodes in polars (ages, first person row per id); every per-episode
        # table inside DuckDB with the episode pseudonyms joined to it (each id hashed once).
        # The score table (28 M rows at 1 M people) is built by DuckDB in a worker thread while
        # this thread computes the person and goal pseudonyms (Python, holding the GIL).
        with step("episode pseudonyms"):
            persons = read_frame(con, "select * from canonical.persons")
            episodes = read_frame(con, "select * from canonical.episodes")
            goals = goal_ids(con, "canonical.goals")
            episode_map = episode_pseudonyms(episodes, key=key)
        con.execute("begin transaction")
        try:
            register_episode_map(con, episode_map, like="canonical.episodes")
            with (
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="pseudonymise") as pool,
                step("bridge_scores (with persons, goals)"),
            ):
                scores = pool.submit(write_episode_table, con, "bridge_scores")
                try:
                    people = person_pseudonyms(persons, key=key)
                    goal_map = goal_pseudonyms(goals, key=key)
                    first = {
                        "persons": pseudonymise_persons(persons, key=key, person_pseudonyms=people),
                        "episodes": pseudonymise_episodes(
                            episodes,
                            persons,
                            key=key,
                            person_pseudonyms=people,
                            episode_map=episode_map,
                        ),
                    }
                finally:
                    out["bridge_scores"] = {"rows": scores.result()}
            del persons, episodes, people, episode_map
            distinct_persons = first["persons"]["person_pseudonym"].n_unique()
            for entity in schema.ENTITIES:
                if entity in out:
                    continue
                with step(f"write {entity}"):
                    if entity in first:
                        df = first.pop(entity)
                        rows = write_frame(
                            con, "pseudonymised", entity, df, enums=schema.ENUM_COLUMNS
                        )
                        del df
                    else:
                        maps = {"goal_map": goal_map} if entity == "goals" else {}
                        rows = write_episode_table(con, entity, **maps)
                out[entity] = {"rows": rows}
            # An episode id the episodes table lacks (staging's checks make it rare) is hashed
            # now and its table rebuilt: the result is as if every id had been mapped first.
            for entity in EPISODE_TABLES:
                if unmatched_rows(con, entity):
                    add_missing_episodes(con, f'canonical."{entity}"', key=key)
                    maps = {"goal_map": goal_map} if entity == "goals" else {}
                    out[entity]["rows"] = write_episode_table(con, entity, **maps)
            con.execute(f"drop table {EPISODE_MAP}")
            with step("commit"):
                con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        out["persons"]["distinct_persons"] = distinct_persons
        # What was stored is what is scanned (distinct values counted in DuckDB).
        for entity in schema.ENTITIES:
            with step(f"scan {entity}"):
                relation = f'pseudonymised."{entity}"'
                columns = [r[0] for r in con.execute(f"describe {relation}").fetchall()]
                out[entity]["columns"] = ", ".join(columns)
                out[entity]["outcome"] = check_tables_no_direct_identifiers(
                    con, {f"pseudonymised_{entity}": relation}
                )
    return out
