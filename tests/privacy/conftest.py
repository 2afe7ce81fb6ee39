"""The attack suite's release: the session's small synthetic deployment (``demo_release``), its
pseudonymised layer read as the attackers' outside knowledge (the truth), and the release rebuilt
in-process so the tests also hold the steward's keys (to score an attack) — plus deliberately
weakened releases for the positive controls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import duckdb
import numpy as np
import polars as pl
import pytest

from anonymise import Hierarchy
from assets.anonymised.config import AnonymisationConfig
from assets.anonymised.generalisation import area_levels, build_hierarchies
from assets.anonymised.record import PERSON, person_record
from assets.anonymised.release import AnonymisedRelease, anonymise_release, bridge_scores_sql
from assets.staging import schema
from pipelines.settings import Settings


@dataclass
class World:
    """Truth (pseudonymised tables, the person-level record) and how to build releases."""

    tables: dict[str, pl.DataFrame]
    scores: pl.DataFrame
    record: pl.DataFrame
    config: AnonymisationConfig
    hierarchies: dict[str, Hierarchy]

    def release(self, **changes) -> AnonymisedRelease:
        """A release of the truth with ``changes`` to the configuration (seeded)."""
        cfg = replace(self.config, **changes)
        return anonymise_release(
            self.tables,
            config=cfg,
            release_seed=20261204,
            scored_episodes=self.scores["episode_pseudonym"].unique(),
        )

    def release_excluding(
        self, persons: list[str], seed: int, *, cell_key_secret: bytes | None = None
    ) -> AnonymisedRelease:
        """A release of the truth without ``persons`` (erased, objecting, or not yet there);
        with ``cell_key_secret`` the population frame carries record keys."""
        return anonymise_release(
            self.tables,
            config=self.config,
            release_seed=seed,
            exclude_person_pseudonyms=persons,
            scored_episodes=self.scores["episode_pseudonym"].unique(),
            cell_key_secret=cell_key_secret,
        )

    def bridge_scores(self, release: AnonymisedRelease) -> pl.DataFrame:
        """The release's published Bridge scores, derived by the pipeline's own SQL."""
        con = duckdb.connect()
        con.register("scores", self.scores.to_arrow())
        keys = release.steward["trajectory_keys"].select(
            "episode_pseudonym", "trajectory_id", "organisation", "intake_year", "start_date"
        )
        con.register("keys", keys.to_arrow())
        sql = bridge_scores_sql(release.config, scores="scores", keys="keys")
        return con.execute(sql).pl()


@pytest.fixture(scope="session")
def world(demo_release: Settings) -> World:
    with duckdb.connect(str(demo_release.paths.staging_db), read_only=True) as con:

        def read(e: str) -> pl.DataFrame:
            df = con.execute(f'select * from pseudonymised."{e}"').pl()
            return df.with_columns(
                pl.col(c).cast(pl.String) for c, t in df.schema.items() if isinstance(t, pl.Enum)
            )

        tables = {e: read(e) for e in schema.ENTITIES if e != "bridge_scores"}
        scores = read("bridge_scores")
    config = AnonymisationConfig.from_mapping(demo_release.anonymisation)
    eps = tables["episodes"].filter(~pl.col("objects_to_research").fill_null(False))
    record = person_record(
        tables["persons"],
        eps,
        tables["debts"],
        tables["case_problems"],
        area_leaves=area_levels(config).leaves,
        max_age=config.max_age,
    )
    hierarchies = build_hierarchies(
        config,
        intake_years=record["intake_year"].unique().to_list(),
        signatures=record["episodes"].unique().to_list(),
    )
    hierarchies["area"] = area_levels(config)
    return World(tables, scores, record, config, hierarchies)


def consistent_counts(
    knowledge: pl.DataFrame,
    published: pl.DataFrame,
    hierarchies: dict[str, Hierarchy],
    qis: list[str],
    exact: dict[str, str] | None = None,
) -> np.ndarray:
    """For each row of ``knowledge`` (true leaf values), how many ``published`` rows are
    consistent with it: every QI's published value is the true value or one of its
    generalisations (or ``*``), and every column of ``exact`` (knowledge column -> published
    column) is equal or withheld (``*``). The attacker's candidate set size per person."""
    classes = published.group_by([*qis, *(exact or {}).values()]).len()
    ok = np.ones((knowledge.height, classes.height), dtype=bool)
    for q in qis:
        h = hierarchies[q]
        pub_vals = classes[q].to_list()
        anc = {row[0]: {*row, "*"} for row in h.rows}
        for i, v in enumerate(knowledge[q].to_list()):
            a = anc.get(v, {v, "*"})
            ok[i] &= np.fromiter((p in a for p in pub_vals), dtype=bool, count=len(pub_vals))
    for kcol, pcol in (exact or {}).items():
        pub = np.array(classes[pcol].to_list(), dtype=object)
        know = np.array(knowledge[kcol].to_list(), dtype=object)
        ok &= (pub[None, :] == know[:, None]) | (pub[None, :] == "*")
    return ok.astype(np.int64) @ classes["len"].to_numpy()


@pytest.fixture(scope="session")
def counts() -> Callable[..., np.ndarray]:
    return consistent_counts


__all__ = ["PERSON", "World", "consistent_counts"]
