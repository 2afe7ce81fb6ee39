"""Staging -> pseudonymised: keyed pseudonyms in, direct identifiers and lineage out.

Pure functions on polars frames (no Dagster), so the benchmark and the tests call exactly what the
asset calls. What happens to each canonical column:

* BSN -> ``person_pseudonym`` = HMAC(key, "bsn:v1:" + BSN). The same resident at two
  organisations gets one pseudonym; the steward can find a person for an erasure request by
  computing the same HMAC, without any BSN stored downstream.
* episode/goal ids -> ``episode_pseudonym``/``goal_pseudonym`` = HMAC(key, "<kind>:v1:<org>:<id>").
* source person ids, house numbers, source file and row: dropped.
* birth date -> ``birth_year`` on the person, and ``age_at_intake`` (whole years at the episode's
  start) on each episode; the exact date is dropped.
* postcode (PC6) is kept: it is a quasi-identifier that the anonymised layer generalises to
  wijk/stadsdeel/gemeente, not a direct identifier on its own (without the house number).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from anonymise.pseudonym import pseudonymise

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


def pseudonymise_persons(persons: pl.DataFrame, *, key: bytes) -> pl.DataFrame:
    """One row per person per organisation, keyed by the BSN's pseudonym."""
    return persons.select(
        pseudonymise(pl.col("bsn"), key=key, domain=PERSON_DOMAIN).alias("person_pseudonym"),
        "organisation",
        pl.col("birth_date").dt.year().cast(pl.Int16).alias("birth_year"),
        "age_at_intake",
        "gender",
        "postcode",
        "household_type",
        "children_count",
        "nationality_group",
    )


def pseudonymise_episodes(
    episodes: pl.DataFrame, persons: pl.DataFrame, *, key: bytes
) -> pl.DataFrame:
    """Episodes with person and episode pseudonyms and the age at intake.

    Episodes whose person is not in ``persons`` cannot occur (the adapters quarantine orphans);
    an inner join makes sure none slips through.
    """
    people = persons.select(
        "organisation",
        "source_person_id",
        "bsn",
        "birth_date",
        pl.col("age_at_intake").alias("_person_age"),
    ).unique(subset=["organisation", "source_person_id"], keep="first")
    joined = episodes.join(people, on=["organisation", "source_person_id"], how="inner")
    age_from_birth = (
        (pl.col("start_date").dt.year() - pl.col("birth_date").dt.year())
        - (pl.col("start_date").dt.ordinal_day() < pl.col("birth_date").dt.ordinal_day()).cast(
            pl.Int32
        )
    ).cast(pl.Int16)
    return joined.select(
        _episode_key(key),
        pseudonymise(pl.col("bsn"), key=key, domain=PERSON_DOMAIN).alias("person_pseudonym"),
        "organisation",
        "programme",
        "start_date",
        "end_date",
        "end_reason",
        "outcome",
        "objects_to_research",
        pl.coalesce(age_from_birth, pl.col("_person_age")).alias("age_at_intake"),
    )


def pseudonymise_episode_rows(df: pl.DataFrame, *, key: bytes) -> pl.DataFrame:
    """Any per-episode table: episode id -> pseudonym, lineage dropped, goal ids pseudonymised."""
    drop = {"episode_id", "source_file", "source_row", "goal_id"}
    extra = []
    if "goal_id" in df.columns:
        extra.append(
            pseudonymise(
                pl.col("organisation") + pl.lit(":") + pl.col("goal_id"),
                key=key,
                domain="goal:v1:",
            ).alias("goal_pseudonym")
        )
    # Many rows share one episode: hash each distinct id once, then join.
    ids = df.select("organisation", "episode_id").unique()
    ids = ids.with_columns(_episode_key(key))
    out = df.join(ids, on=["organisation", "episode_id"], how="left")
    keep = [c for c in df.columns if c not in drop]
    return out.select(*extra, "episode_pseudonym", *keep)


def pseudonymise_all(tables: Mapping[str, pl.DataFrame], *, key: bytes) -> dict[str, pl.DataFrame]:
    """Every canonical staging table -> its pseudonymised counterpart (same entity names)."""
    out = {
        "persons": pseudonymise_persons(tables["persons"], key=key),
        "episodes": pseudonymise_episodes(tables["episodes"], tables["persons"], key=key),
    }
    for entity, df in tables.items():
        if entity not in out:
            out[entity] = pseudonymise_episode_rows(df, key=key)
    return out
