"""Pseudonymised -> one release: person-level microdata, unlinkable detail tables, population
coordinates for the protected tables. Pure polars (docs/threat-model.md says why each step).

1. **Exclusions.** Everyone who objected to research in any episode, and everyone in
   ``exclude_person_pseudonyms`` (erasure, objection, restriction, retention), is dropped from
   everything: microdata, detail tables and population tables.
2. **Person-level record** (:func:`assets.anonymised.record.person_record`): one row per person,
   the acquaintance's whole knowledge as quasi-identifiers (the episode signature included).
3. **k-anonymity per person with local recoding** (:func:`anonymise.recode.local_recode`) and
   recorded distinct-l-diversity on every sensitive attribute; then **insider protection**
   (:func:`anonymise.linkage.protect_known_values`): sensitive values an organisation records are
   withheld (``*``) where its staff could single a participant out by them.
4. **Detail tables** (Bridge trajectories, goals, case problems, income sources, outcomes): one
   random id per episode *per table*, so no two tables and no table and ``persons`` share an id;
   only organisation and intake year beside the detail, each (organisation, intake year) class
   holding at least ``k`` episodes (else the year becomes ``*``, else the episode is withheld).
   They cover everyone not excluded, like the population tables, so a table count minus a
   microdata count never isolates a withheld person's detail.
5. **Population coordinates** (steward only, never published): per person their latest episode's
   area, intake year, organisation, programme and end reason, the latest trajectory's key and the
   goals reached, under a release-specific random unit id: the marts count the protected tables
   from these.

Every published frame is sorted by its random id: the physical order carries nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from anonymise import (
    AECS,
    Discernibility,
    DistinctLDiversity,
    Loss,
    MaxValueShare,
    NonUniformEntropy,
    Precision,
    PrivacyModel,
    QualityMetric,
    RecordedDistinctLDiversity,
)
from anonymise.banding import band, month_bucket, months_between
from anonymise.linkage import WITHHELD, coarsen_small_classes, protect_known_values
from anonymise.recode import local_recode, recoding_figures
from anonymise.risk import risk_from_sizes
from anonymise.tables.cellkey import record_keys
from assets.anonymised.config import TABLE_AREA_LEVELS, AnonymisationConfig
from assets.anonymised.generalisation import area_levels, build_hierarchies
from assets.anonymised.record import (
    EPISODE,
    PERSON,
    SENSITIVE_ORDER,
    UNKNOWN,
    episode_items,
    member_column,
    person_record,
    population_coordinates,
    recording_organisations,
)
from assets.staging.schema import ORGANISATIONS

INCOME_EDGES: tuple[int, ...] = (0, 500, 1_000, 1_500, 2_000, 3_000)
AMOUNT_EDGES: tuple[int, ...] = (0, 1_000, 2_500, 5_000, 10_000, 25_000)
CONFIDENCE_EDGES: tuple[int, ...] = (1, 4, 7, 9)

DETAIL_IDS: dict[str, str] = {
    "bridge_scores": "trajectory_id",
    "goals": "goal_profile_id",
    "case_problems": "problem_profile_id",
    "income_sources": "income_profile_id",
    "outcomes": "outcome_profile_id",
}
"""Each detail table's own random id (one per episode and table; never shared)."""

PUBLISHED: tuple[str, ...] = ("persons", *DETAIL_IDS)
"""Published microdata entities (``bridge_scores`` is derived in DuckDB from the keys)."""


RECORD_KEY = "record_key"
"""Column of the steward's population frame with each person's cell-key record key."""


@dataclass(frozen=True)
class AnonymisedRelease:
    """One release: published frames, steward-only frames and figures.

    ``tables``: the analysts' microdata (``bridge_scores`` absent: derived from
    ``steward["trajectory_keys"]`` by :func:`bridge_scores_sql`). ``steward``: never published —
    ``population`` (unit_id and table coordinates), ``population_goals``, ``trajectory_keys``
    (episode pseudonym -> trajectory id, organisation, intake year, start date, and the unit id
    when it is the person's latest episode).
    """

    tables: dict[str, pl.DataFrame]
    steward: dict[str, pl.DataFrame]
    config: AnonymisationConfig
    figures: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, entity: str) -> pl.DataFrame:
        return self.tables[entity]

    def summary(self) -> dict[str, Any]:
        """Figures only (JSON-able)."""
        return {**self.figures, "rows": {e: df.height for e, df in self.tables.items()}}


def _metric(name: str) -> QualityMetric:
    return {
        "loss": Loss(),
        "discernibility": Discernibility(),
        "aecs": AECS(),
        "non_uniform_entropy": NonUniformEntropy(),
        "precision": Precision(),
    }[name]


def privacy_models(config: AnonymisationConfig) -> list[PrivacyModel]:
    """The attribute-disclosure models of ``config`` (k-anonymity is added by the engine)."""
    models: list[PrivacyModel] = []
    for col, l_ in sorted(config.l_diversity.items()):
        if l_ <= 1:
            continue
        if config.l_diversity_ignores_unknown:
            models.append(
                RecordedDistinctLDiversity(
                    col, int(l_), order=SENSITIVE_ORDER[col], unknown=UNKNOWN
                )
            )
        else:
            models.append(DistinctLDiversity(col, int(l_)))
    for col, share in sorted(config.max_share.items()):
        models.append(
            MaxValueShare(col, "ja", float(share), order=SENSITIVE_ORDER[col], unknown=UNKNOWN)
        )
    return models


def restore_diversity(
    frame: pl.DataFrame, qis: list[str], config: AnonymisationConfig
) -> pl.DataFrame:
    """Withhold (``*``) a sensitive attribute in every class where, among the values still
    shown, it no longer meets its l-diversity or share rule (after insider protection withheld
    some). Withholding a whole class's values only merges an insider's groups, never splits
    them, so insider protection still holds."""
    shown = ~pl.col("_v").is_in([UNKNOWN, WITHHELD])
    out = frame
    rules: list[tuple[str, pl.Expr]] = []
    for col, l_ in config.l_diversity.items():
        if l_ > 1 and col in frame.columns:
            fails = pl.col("_v").filter(shown).n_unique() < l_
            rules.append((col, fails & (pl.col("_v").filter(shown).len() > 0)))
    for col, share in config.max_share.items():
        if col in frame.columns:
            n = pl.col("_v").filter(shown).len()
            rules.append((col, (pl.col("_v") == "ja").sum() > share * n))
    for col, fails in rules:
        bad = (
            out.with_columns(pl.col(col).alias("_v"))
            .group_by(qis)
            .agg(fails.alias("_bad"))
            .filter("_bad")
            .drop("_bad")
        )
        if bad.height:
            hit = out.join(
                bad.with_columns(pl.lit(True).alias("_hit")), on=qis, how="left", nulls_equal=True
            )["_hit"].fill_null(False)
            out = out.with_columns(
                pl.when(pl.lit(hit)).then(pl.lit(WITHHELD)).otherwise(pl.col(col)).alias(col)
            )
    return out


def random_ids(keys: pl.Series, name: str, rng: np.random.Generator) -> pl.Series:
    """A random permutation of 1..n over the distinct ``keys`` (in sorted order, so independent
    of the input's order), aligned with ``keys``."""
    if keys.null_count():
        raise ValueError(f"{keys.name}: {keys.null_count()} row(s) without a key")
    rank = keys.rank("dense").to_numpy() - 1
    n = int(rank.max()) + 1 if len(rank) else 0
    ids = rng.permutation(n).astype(np.int64) + 1
    return pl.Series(name, ids[rank] if len(rank) else [], dtype=pl.Int64)


def person_risk(persons: pl.DataFrame, qis: list[str]) -> dict[str, float]:
    """Prosecutor risk figures of the published person table over every published QI (the
    acquaintance's record): what ``meta_release`` reports."""
    if persons.height == 0:
        return risk_from_sizes(np.array([])).as_dict()
    sizes = persons.group_by(qis).len()["len"].to_numpy()
    return risk_from_sizes(sizes).as_dict()


def _detail_keys(
    items: pl.DataFrame, name: str, rng: np.random.Generator, k: int
) -> tuple[pl.DataFrame, int]:
    """Per episode of ``items``: its random id in table ``name``, organisation and intake year,
    every (organisation, intake year) class at least ``k`` episodes (year ``*`` otherwise)."""
    keys = items.select(EPISODE, "organisation", "intake_year", "start_date").with_columns(
        random_ids(items[EPISODE], DETAIL_IDS[name], rng)
    )
    return coarsen_small_classes(
        keys,
        unit=DETAIL_IDS[name],
        classes=["organisation", "intake_year"],
        coarsen="intake_year",
        k=k,
    )


def _detail(
    source: pl.DataFrame | None,
    items: pl.DataFrame,
    name: str,
    rng: np.random.Generator,
    k: int,
) -> tuple[pl.DataFrame | None, pl.DataFrame, int]:
    """(rows of ``source`` joined to their table keys, the keys, episodes withheld)."""
    if source is None or source.height == 0:
        return None, pl.DataFrame(), 0
    present = items.join(source.select(EPISODE).unique(), on=EPISODE, how="semi")
    keys, gone = _detail_keys(present, name, rng, k)
    return source.join(keys, on=EPISODE, how="inner"), keys, gone


def anonymise_release(
    tables: Mapping[str, pl.DataFrame],
    *,
    config: AnonymisationConfig,
    release_seed: int,
    exclude_person_pseudonyms: Iterable[str] | pl.Series | None = None,
    scored_episodes: pl.Series | None = None,
    cell_key_secret: bytes | None = None,
) -> AnonymisedRelease:
    """The pseudonymised tables (entity -> frame) -> one release (module docstring).

    ``scored_episodes``: the episode pseudonyms that have Bridge scores (the pipeline lists them
    in DuckDB); by default those of ``tables["bridge_scores"]``. ``cell_key_secret``: when a
    published table is protected by the cell key method, the project's cell-key secret
    (:func:`anonymise.tables.cellkey.derive_secret`); the steward's population frame then carries
    each person's record key, the same in every release. Raises
    :class:`anonymise.NoSolutionError` when no generalisation satisfies the models within the
    suppression limit.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(release_seed)
    persons, episodes = tables["persons"], tables["episodes"]

    def table(name: str) -> pl.DataFrame:
        df = tables.get(name)
        return df if df is not None else pl.DataFrame(schema={EPISODE: pl.String()})

    # 1. exclusions
    objectors = episodes.filter(pl.col("objects_to_research").fill_null(False))[PERSON].unique()
    excluded = pl.Series(
        PERSON,
        [] if exclude_person_pseudonyms is None else list(exclude_person_pseudonyms),
        dtype=pl.String,
    )
    gone = pl.concat([objectors, excluded]).unique()
    eps = episodes.filter(~pl.col(PERSON).is_in(gone.implode()))
    items = episode_items(eps)

    # 2. the person-level record
    area_h = area_levels(config)
    debts, problems = table("debts"), table("case_problems")
    rec = person_record(
        persons,
        eps,
        debts,
        problems,
        area_leaves=area_h.leaves,
        max_age=config.max_age,
        items=items,
    )
    hierarchies = build_hierarchies(
        config,
        intake_years=rec["intake_year"].unique().to_list(),
        signatures=rec["episodes"].unique().to_list(),
    )
    hierarchies["area"] = area_h

    # 3. k-anonymity per person, local recoding, insider protection
    qis = list(config.quasi_identifiers)
    recoded = local_recode(
        rec,
        quasi_identifiers=qis,
        hierarchies={q: hierarchies[q] for q in qis},
        k=config.k,
        suppression_limit=config.suppression_limit,
        models=privacy_models(config),
        metric=_metric(config.metric),
        max_passes=config.recoding_passes,
        max_levels=config.max_levels,
    )
    published = recoded.published
    sensitive = [s for s in config.publish_sensitive if s in published.columns]
    recording = recording_organisations(debts, problems)
    withheld: dict[str, int] = {}
    if config.insider_protection:
        insiders = {
            o: (member_column(o), [s for s in recording.get(o, ()) if s in sensitive])
            for o in ORGANISATIONS
        }
        insiders = {o: v for o, v in insiders.items() if v[1]}
        published, withheld = protect_known_values(
            published, classes=qis, insiders=insiders, k=config.k
        )
        # withholding values can leave a class with one recorded value: withhold the rest too
        published = restore_diversity(published, qis, config)
    person_ids = random_ids(published[PERSON], "person_id", rng)
    out_persons = (
        published.with_columns(person_ids)
        .select(
            "person_id",
            *qis,
            *(
                [pl.lit(config.area_division_year, dtype=pl.Int16).alias("area_division_year")]
                if "area" in qis
                else []
            ),
            *sensitive,
        )
        .sort("person_id")
    )

    # 4. detail tables (own ids, coarse QIs, everyone not excluded)
    buckets = config.month_buckets
    start = pl.col("start_date")
    frames: dict[str, pl.DataFrame] = {"persons": out_persons}
    withheld_episodes: dict[str, int] = {}
    scored = scored_episodes
    if scored is None and "bridge_scores" in tables:
        scored = tables["bridge_scores"][EPISODE].unique()
    scored_items = items.join(
        pl.DataFrame({EPISODE: scored if scored is not None else []}, schema={EPISODE: pl.String}),
        on=EPISODE,
        how="semi",
    )
    traj_keys, withheld_episodes["bridge_scores"] = _detail_keys(
        scored_items, "bridge_scores", rng, config.k
    )

    goals, _, withheld_episodes["goals"] = _detail(table("goals"), items, "goals", rng, config.k)
    if goals is not None and "set_on" in goals.columns:
        frames["goals"] = goals.select(
            "goal_profile_id",
            "organisation",
            "intake_year",
            "domain",
            band(pl.col("confidence").cast(pl.Float64), CONFIDENCE_EDGES)
            .replace({"9+": "9-10"})
            .alias("confidence_band"),
            pl.col("achieved_on").is_not_null().alias("achieved"),
            month_bucket(months_between(start, pl.col("set_on")), buckets).alias("months_to_set"),
            month_bucket(months_between(pl.col("set_on"), pl.col("achieved_on")), buckets).alias(
                "months_to_achieve"
            ),
        ).sort(
            "goal_profile_id",
            "domain",
            "months_to_set",
            "confidence_band",
            "achieved",
            "months_to_achieve",
            nulls_last=False,
        )
    cp, _, withheld_episodes["case_problems"] = _detail(
        table("case_problems"), items, "case_problems", rng, config.k
    )
    if cp is not None and "problem" in cp.columns:
        frames["case_problems"] = cp.select(
            "problem_profile_id", "organisation", "intake_year", "problem", "status"
        ).sort("problem_profile_id", "problem", "status", nulls_last=False)
    inc, _, withheld_episodes["income_sources"] = _detail(
        table("income_sources"), items, "income_sources", rng, config.k
    )
    if inc is not None and "income_source" in inc.columns:
        frames["income_sources"] = inc.select(
            "income_profile_id",
            "organisation",
            "intake_year",
            "income_source",
            band(pl.col("net_monthly_eur"), INCOME_EDGES).alias("net_monthly_band"),
        ).sort("income_profile_id", "income_source", "net_monthly_band", nulls_last=False)
    outc, _, withheld_episodes["outcomes"] = _detail(
        table("outcomes"), items, "outcomes", rng, config.k
    )
    if outc is not None and "measure" in outc.columns:
        src = tables["outcomes"]
        flags = (
            src.group_by("measure")
            .agg(pl.col("value_num").drop_nulls().is_in([0.0, 1.0]).all().alias("_flag"))
            .filter("_flag")["measure"]
        )
        is_flag = pl.col("measure").is_in(flags.implode())
        frames["outcomes"] = outc.select(
            "outcome_profile_id",
            "organisation",
            "intake_year",
            "measure",
            pl.when(is_flag).then(pl.col("value_num") == 1.0).alias("value_flag"),
            pl.when(~is_flag).then(band(pl.col("value_num"), AMOUNT_EDGES)).alias("value_band"),
        ).sort("outcome_profile_id", "measure", nulls_last=False)

    # 5. population coordinates (steward only)
    level = TABLE_AREA_LEVELS[config.table_area_level]
    area_of_pc4 = {r[0]: r[level] for r in area_h.rows}
    pop = population_coordinates(persons, items, area_of_pc4=area_of_pc4)
    pop = pop.with_columns(random_ids(pop[PERSON], "unit_id", rng))
    if cell_key_secret is not None:
        pop = pop.with_columns(record_keys(pop[PERSON], cell_key_secret).alias(RECORD_KEY))
    latest = pop.select(EPISODE, "unit_id")
    traj = traj_keys.join(latest, on=EPISODE, how="left")
    goals_src = table("goals")
    pop_goals = (
        goals_src.join(latest, on=EPISODE, how="inner")
        .group_by("unit_id", "domain")
        .agg(pl.col("achieved_on").is_not_null().any().alias("_r"))
        .select(
            "unit_id",
            "domain",
            pl.when("_r").then(pl.lit("ja")).otherwise(pl.lit("nee")).alias("goal_reached"),
        )
        if "achieved_on" in goals_src.columns
        else pl.DataFrame(
            schema={"unit_id": pl.Int64, "domain": pl.String, "goal_reached": pl.String}
        )
    )
    gemeente = {r[level]: r[3] for r in area_h.rows if r[level] != r[3]}
    steward = {
        "population": pop.drop(PERSON, EPISODE).sort("unit_id"),
        "population_goals": pop_goals.sort("unit_id", "domain"),
        "trajectory_keys": traj.sort("trajectory_id"),
        "area_parents": pl.DataFrame(
            {"area": list(gemeente), "parent": list(gemeente.values())},
            schema={"area": pl.String, "parent": pl.String},
        ),
    }

    n_in = persons.select(pl.col(PERSON).n_unique()).item()
    figures = recoding_figures(
        recoded.published,
        suppressed=recoded.suppressed_units,
        quasi_identifiers=qis,
        hierarchies=hierarchies,
    )
    first = recoded.first
    summary = {
        "k": config.k,
        "k_achieved": int(
            out_persons.group_by(qis).len()["len"].min() if out_persons.height else 0
        ),
        "suppression_limit": config.suppression_limit,
        "node": first.node,
        "levels": dict(first.levels),
        "passes": [
            {"node": p.node, "in": p.records_in, "published": p.records_published}
            for p in recoded.passes
        ],
        "suppressed_persons": recoded.suppressed_units,
        "generalisation": figures["levels"],
        "loss": figures["loss"],
        "metrics": {"loss": figures["loss"]},
        "risk": person_risk(out_persons, qis),
        "insider_withheld_cells": withheld,
        "withheld_cells": int(sum((out_persons[s] == WITHHELD).sum() for s in sensitive)),
        "detail_episodes_withheld": withheld_episodes,
        "persons_in": int(n_in),
        "episodes_in": episodes.height,
        "persons_objecting": objectors.len(),
        "persons_excluded": int(excluded.is_in(persons[PERSON].implode()).sum()),
        "persons_considered": rec.height,
        "persons_out": out_persons.height,
        "population_persons": pop.height,
        "area_division_year": config.area_division_year,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return AnonymisedRelease(tables=frames, steward=steward, config=config, figures=summary)


SCORE_COLUMNS: tuple[str, ...] = (
    "trajectory_id",
    "organisation",
    "intake_year",
    "measurement_no",
    "months_since_intake",
    "domain",
    "level",
)
"""Columns of the published ``bridge_scores``, in order; rows sorted by the random trajectory
id (a trajectory's rows in no particular order among themselves: ``measurement_no`` and
``domain`` say what each row is)."""


def _sql_month_bucket(months: str, buckets: tuple[int, ...]) -> str:
    """SQL of :func:`anonymise.banding.month_bucket` (SMALLINT; NULL stays NULL)."""
    whens = " ".join(f"when {months} >= {int(b)} then {int(b)}" for b in reversed(buckets[1:]))
    return f"(case when {months} is null then null {whens} else {int(buckets[0])} end)::smallint"


def bridge_scores_sql(config: AnonymisationConfig, *, scores: str, keys: str) -> str:
    """DuckDB SQL of the published ``bridge_scores``: the pseudonymised scores (``scores``:
    ``episode_pseudonym``, ``measured_on``, ``domain``, ``level``) of the release's trajectories
    (``keys``: :attr:`AnonymisedRelease.steward` ``trajectory_keys``), with the measurement's
    number within the trajectory (dense rank of its date) and its months since intake
    (bucketed), **ordered by the random trajectory id**: the physical order carries nothing.

    ``scores`` and ``keys`` are relation names the caller controls (never data values).
    """
    months = (
        "((year(s.measured_on) - year(k.start_date)) * 12 + month(s.measured_on) "
        "- month(k.start_date) - (day(s.measured_on) < day(k.start_date))::integer)"
    )
    # the measurement's number is its date's position among the trajectory's distinct dates:
    # dates listed once per trajectory, so the tens of millions of scores are never windowed
    dates = (
        f"select episode_pseudonym, list_sort(list_distinct(list(measured_on))) as dates "
        f"from {scores} group by episode_pseudonym"
    )
    return (
        "select k.trajectory_id, k.organisation, k.intake_year, "
        "(case when s.measured_on is null then null "
        "else list_position(d.dates, s.measured_on) end)::smallint as measurement_no, "
        f"{_sql_month_bucket(months, config.month_buckets)} as months_since_intake, "
        "s.domain::varchar as domain, s.level "
        f"from {scores} s join {keys} k on s.episode_pseudonym = k.episode_pseudonym "
        f"join ({dates}) d on d.episode_pseudonym = k.episode_pseudonym "
        "order by k.trajectory_id"
    )
