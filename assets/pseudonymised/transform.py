"""Staging -> pseudonymised: keyed pseudonyms in, direct identifiers and lineage out.

Functions on polars frames and DuckDB connections (no Dagster), so the benchmark and the tests
call exactly what the asset calls. What happens to each canonical column:

* BSN -> ``person_pseudonym`` = HMAC(key, "bsn:v1:" + BSN). The same resident at two
  organisations gets one pseudonym; the steward can find a person for an erasure request by
  computing the same HMAC, without any BSN stored downstream.
* episode/goal ids -> ``episode_pseudonym``/``goal_pseudonym`` = HMAC(key, "<kind>:v1:<org>:<id>").
* source person ids, house numbers, source file and row: dropped.
* birth date -> ``birth_year`` on the person, and ``age_at_intake`` (whole years at the episode's
  start) on each episode; the exact date is dropped.
* postcode (PC6) is kept: it is a quasi-identifier that the anonymised layer generalises to
  wijk/stadsdeel/gemeente, not a direct identifier on its own (without the house number).

The per-episode tables (bridge scores: 28 M rows at 1 M people) are pseudonymised inside DuckDB
(:func:`write_episode_table`): the pseudonyms are computed here, once per distinct id, and DuckDB
joins them to the canonical rows, so those tables never pass through Python. It is the only
implementation: :func:`pseudonymise_all` (frames in, frames out) runs it in an in-memory DuckDB.
Rows keep the canonical order except in ``bridge_scores`` (order is not meaningful there and
sorting 28 M rows costs seconds).
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import polars as pl

from anonymise.pseudonym import pseudonymise
from pipelines.resources import temp_table_keyed_like

PERSON_DOMAIN = "bsn:v1:"
PERSON_TABLE_COLUMNS = (
    "person_pseudonym",
    "organisation",
    "birth_year",
    "age_at_intake",
    "gender",
    "postcode",
    "household_type",
    "children_count",
    "nationality_group",
)


def _episode_key(key: bytes) -> pl.Expr:
    return pseudonymise(
        pl.col("organisation") + pl.lit(":") + pl.col("episode_id"), key=key, domain="episode:v1:"
    ).alias("episode_pseudonym")


def episode_pseudonyms(episodes: pl.DataFrame, *, key: bytes) -> pl.DataFrame:
    """``organisation``, ``episode_id``, ``episode_pseudonym`` for each distinct episode id:
    every id is hashed once and the per-episode tables join the result."""
    ids = episodes.select("organisation", "episode_id").unique(maintain_order=True)
    return ids.with_columns(_episode_key(key))


def _with_episode_pseudonym(
    df: pl.DataFrame, episode_map: pl.DataFrame | None, *, key: bytes
) -> pl.DataFrame:
    """``df`` with ``episode_pseudonym`` joined on (organisation, episode_id); ids missing from
    ``episode_map`` (or all, without one) are hashed here, each distinct id once."""
    on = ["organisation", "episode_id"]
    if episode_map is None:
        episode_map = episode_pseudonyms(df, key=key)
    else:
        missing = df.select(on).unique().join(episode_map.select(on), on=on, how="anti")
        missing = missing.filter(pl.col("episode_id").is_not_null())
        if missing.height:
            episode_map = pl.concat([episode_map, missing.with_columns(_episode_key(key))])
    return df.join(episode_map, on=on, how="left", maintain_order="left")


def pseudonymise_persons(
    persons: pl.DataFrame, *, key: bytes, person_pseudonyms: pl.Series | None = None
) -> pl.DataFrame:
    """One row per person per organisation, keyed by the BSN's pseudonym.

    ``person_pseudonyms`` (aligned with ``persons``' rows) may be passed when already computed.
    """
    pseudonym_ = (
        pl.lit(person_pseudonyms)
        if person_pseudonyms is not None
        else pseudonymise(pl.col("bsn"), key=key, domain=PERSON_DOMAIN)
    )
    return persons.with_columns(
        pseudonym_.alias("person_pseudonym"),
        pl.col("birth_date").dt.year().cast(pl.Int16).alias("birth_year"),
    ).select(PERSON_TABLE_COLUMNS)


def person_pseudonyms(persons: pl.DataFrame, *, key: bytes) -> pl.Series:
    """The BSN pseudonym of each row of ``persons`` (each distinct BSN hashed once)."""
    bsns = persons.select("bsn").unique()
    bsns = bsns.with_columns(
        pseudonymise(pl.col("bsn"), key=key, domain=PERSON_DOMAIN).alias("person_pseudonym")
    )
    return (
        persons.select("bsn")
        .join(bsns, on="bsn", how="left", maintain_order="left")
        .get_column("person_pseudonym")
    )


def pseudonymise_episodes(
    episodes: pl.DataFrame,
    persons: pl.DataFrame,
    *,
    key: bytes,
    person_pseudonyms: pl.Series | None = None,
    episode_map: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Episodes with person and episode pseudonyms and the age at intake.

    Episodes whose person is not in ``persons`` cannot occur (the adapters quarantine orphans);
    an inner join makes sure none slips through. ``person_pseudonyms`` (aligned with
    ``persons``) and ``episode_map`` (:func:`episode_pseudonyms`) may be passed when computed
    already; the result is the same.
    """
    person_key = (
        pl.lit(person_pseudonyms)
        if person_pseudonyms is not None
        else pseudonymise(pl.col("bsn"), key=key, domain=PERSON_DOMAIN)
    )
    people = persons.select(
        "organisation",
        "source_person_id",
        person_key.alias("_person_pseudonym"),
        "birth_date",
        pl.col("age_at_intake").alias("_person_age"),
    ).unique(subset=["organisation", "source_person_id"], keep="first", maintain_order=True)
    joined = episodes.join(people, on=["organisation", "source_person_id"], how="inner")
    joined = _with_episode_pseudonym(joined, episode_map, key=key)
    age_from_birth = (
        (pl.col("start_date").dt.year() - pl.col("birth_date").dt.year())
        - (pl.col("start_date").dt.ordinal_day() < pl.col("birth_date").dt.ordinal_day()).cast(
            pl.Int32
        )
    ).cast(pl.Int16)
    return joined.select(
        "episode_pseudonym",
        pl.col("_person_pseudonym").alias("person_pseudonym"),
        "organisation",
        "programme",
        "start_date",
        "end_date",
        "end_reason",
        "outcome",
        "objects_to_research",
        pl.coalesce(age_from_birth, pl.col("_person_age")).alias("age_at_intake"),
    )


# --------------------------------------------------------------------------- in the database
EPISODE_MAP = "_episode_map"
"""Temporary table (organisation, episode_id, episode_pseudonym) of the connection."""
UNORDERED = frozenset({"bridge_scores"})
"""Per-episode tables written without restoring the canonical row order (see the module doc)."""


def register_episode_map(
    con: duckdb.DuckDBPyConnection, episode_map: pl.DataFrame, *, like: str
) -> None:
    """Load :func:`episode_pseudonyms` into the temporary table ``_episode_map``, with the
    ``organisation`` type of the canonical table ``like`` (ENUM or text)."""
    temp_table_keyed_like(
        con,
        EPISODE_MAP,
        episode_map.select("organisation", "episode_id", "episode_pseudonym"),
        like=like,
    )


def add_missing_episodes(con: duckdb.DuckDBPyConnection, relation: str, *, key: bytes) -> int:
    """Hash the episode ids of ``relation`` that ``_episode_map`` lacks (each distinct id once);
    returns how many were added."""
    missing = con.execute(
        f"select distinct t.organisation::varchar as organisation, t.episode_id from {relation} t "
        f"where t.episode_id is not null and not exists (select 1 from {EPISODE_MAP} m "
        "where m.organisation = t.organisation and m.episode_id = t.episode_id)"
    ).pl()
    if missing.height:
        con.register("_missing", missing.with_columns(_episode_key(key)))
        con.execute(f"insert into {EPISODE_MAP} select * from _missing")
        con.unregister("_missing")
    return missing.height


def unmatched_rows(con: duckdb.DuckDBPyConnection, entity: str) -> int:
    """Rows of ``pseudonymised.<entity>`` without an episode pseudonym: an episode id that
    ``_episode_map`` lacked (or none at all). Cheap, unlike looking for missing ids up front in a
    28 M-row table: staging's referential-integrity check makes them rare."""
    return int(
        con.execute(
            f'select count(*) from pseudonymised."{entity}" where episode_pseudonym is null'
        ).fetchone()[0]
    )


def goal_ids(con: duckdb.DuckDBPyConnection, relation: str) -> pl.DataFrame:
    """The distinct (organisation, goal_id) of ``relation``."""
    return con.execute(
        f"select distinct organisation::varchar as organisation, goal_id from {relation} "
        "where goal_id is not null"
    ).pl()


def goal_pseudonyms(ids: pl.DataFrame, *, key: bytes) -> pl.DataFrame:
    """``organisation``, ``goal_id``, ``goal_pseudonym`` for the given goal ids."""
    return ids.with_columns(
        pseudonymise(
            pl.col("organisation") + pl.lit(":") + pl.col("goal_id"), key=key, domain="goal:v1:"
        ).alias("goal_pseudonym")
    )


def write_episode_table(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    *,
    source: str = "canonical",
    goal_map: pl.DataFrame | None = None,
) -> int:
    """``pseudonymised.<entity>`` from ``<source>.<entity>`` by SQL alone: the episode
    pseudonyms joined from ``_episode_map`` (which must hold every id: see
    :func:`register_episode_map`, :func:`add_missing_episodes`), goal pseudonyms from
    ``goal_map`` (:func:`goal_pseudonyms`, needed when the table has goal ids), lineage dropped.
    Uses no key: it may run in another thread while this one hashes. Returns the row count."""
    relation = f'"{source}"."{entity}"'
    columns = [r[0] for r in con.execute(f"describe {relation}").fetchall()]
    drop = {"episode_id", "source_file", "source_row", "goal_id"}
    keep = ", ".join(f't."{c}"' for c in columns if c not in drop)
    joins = (
        f" left join {EPISODE_MAP} m on m.organisation = t.organisation "
        "and m.episode_id = t.episode_id"
    )
    extra = ""
    if "goal_id" in columns:
        if goal_map is None:
            raise ValueError(f"{relation} has goal ids: pass its goal_map")
        temp_table_keyed_like(
            con,
            "_goal_map",
            goal_map.select("organisation", "goal_id", "goal_pseudonym"),
            like=relation,
        )
        joins += (
            " left join _goal_map g on g.organisation = t.organisation and g.goal_id = t.goal_id"
        )
        extra = "g.goal_pseudonym, "
    order = "" if entity in UNORDERED else " order by t.rowid"
    con.execute(
        f'create or replace table pseudonymised."{entity}" as '
        f"select {extra}m.episode_pseudonym{', ' + keep if keep else ''} "
        f"from {relation} t{joins}{order}"
    )
    if extra:
        con.execute("drop table _goal_map")
    return int(con.execute(f'select count(*) from pseudonymised."{entity}"').fetchone()[0])


def pseudonymise_all(tables: Mapping[str, pl.DataFrame], *, key: bytes) -> dict[str, pl.DataFrame]:
    """Every canonical staging table -> its pseudonymised counterpart (same entity names), in
    memory: the pipeline's own steps (:func:`pseudonymise_persons`, :func:`pseudonymise_episodes`
    and, in an in-memory DuckDB, :func:`write_episode_table`), for tests and notebooks."""
    persons = tables["persons"]
    people = person_pseudonyms(persons, key=key)
    episode_map = episode_pseudonyms(tables["episodes"], key=key)
    out = {
        "persons": pseudonymise_persons(persons, key=key, person_pseudonyms=people),
        "episodes": pseudonymise_episodes(
            tables["episodes"], persons, key=key, person_pseudonyms=people, episode_map=episode_map
        ),
    }
    with duckdb.connect() as con:
        con.execute("create schema canonical")
        con.execute("create schema pseudonymised")
        for entity, df in tables.items():
            if entity not in out:
                con.register("_frame", df.to_arrow())
                con.execute(f'create table canonical."{entity}" as select * from _frame')
                con.unregister("_frame")
        rest = [e for e in tables if e not in out]
        if rest:
            register_episode_map(con, episode_map, like=f'canonical."{rest[0]}"')
        for entity in rest:
            relation = f'canonical."{entity}"'
            add_missing_episodes(con, relation, key=key)
            columns = [r[0] for r in con.execute(f"describe {relation}").fetchall()]
            maps = (
                {"goal_map": goal_pseudonyms(goal_ids(con, relation), key=key)}
                if "goal_id" in columns
                else {}
            )
            write_episode_table(con, entity, **maps)
            out[entity] = con.execute(f'select * from pseudonymised."{entity}"').pl()
    return out
