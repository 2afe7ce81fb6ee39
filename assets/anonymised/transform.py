"""Pseudonymised -> anonymised: k-anonymous research microdata per person, one release at a time.

Pure functions on polars frames (no Dagster, no DuckDB; :func:`bridge_scores_sql` only writes
the SQL text of the one derivation the pipeline runs in DuckDB). :func:`anonymise_release` does:

1. **Exclusions.** Every person who objected to research in any episode
   (``objects_to_research``) is dropped with all their episodes, and so is every person in
   ``exclude_person_pseudonyms`` (governance: erasure, objection, restriction, retention).
2. **Research record**, one row per episode, with the person's quasi-identifiers — age at intake,
   gender, area (PC6 -> PC4; the PC6 itself never leaves this function), household type, children
   band, nationality group, organisation, programme, intake period (month of the start) — and the
   sensitive attributes: ``debt_band`` (the episode's first recorded debt amount, banded),
   ``health_flag`` and ``justice_flag`` (from case problems; ``onbekend`` where the organisation
   does not record them). Missing values are the value ``onbekend`` in every hierarchy.
3. :func:`anonymise.k_anonymise` with the person pseudonym as ``person_column`` (k counts
   distinct persons), the configured l-diversity models and suppression budget.
4. **Surrogates.** Person and episode pseudonyms are replaced by integers (``person_id``,
   ``episode_id``) in a random order drawn from ``release_seed``, so the research database holds
   no pseudonym and two releases' ids cannot be linked. Use a fresh, unpublished seed per release.
5. **Microdata** (every row of a suppressed person dropped; no calendar date, postcode, free
   text or pseudonym anywhere): ``persons``, ``episodes``, ``bridge_scores``, ``goals``,
   ``case_problems``, ``income_sources``, ``outcomes``. Dates become whole months since intake,
   bucketed by ``config.month_buckets`` (the bucket's lower bound; the last bucket is open, so
   with the default buckets ``36`` means "36 months or more"); amounts become bands. The Bridge
   scores (tens of millions of rows) can be left out (``leave_out``) and derived from
   :attr:`AnonymisedRelease.episode_keys` by :func:`bridge_scores_sql` instead: same frame.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from anonymise import (
    AECS,
    AnonymisationResult,
    Discernibility,
    DistinctLDiversity,
    Hierarchy,
    Loss,
    NonUniformEntropy,
    Precision,
    PrivacyModel,
    QualityMetric,
    k_anonymise,
)
from anonymise.models import ClassStats
from assets.anonymised.config import AnonymisationConfig
from assets.staging.schema import (
    GENDERS,
    HOUSEHOLD_TYPES,
    NATIONALITY_GROUPS,
    ORGANISATIONS,
    PROGRAMMES,
)

UNKNOWN = "onbekend"
"""The value of a quasi-identifier or sensitive attribute that is missing or not recorded."""
PERSON = "person_pseudonym"
EPISODE = "episode_pseudonym"
TOP = "*"

DEBT_EDGES: tuple[int, ...] = (0, 1, 1_000, 5_000, 15_000, 50_000)
INCOME_EDGES: tuple[int, ...] = (0, 500, 1_000, 1_500, 2_000, 3_000)
AMOUNT_EDGES: tuple[int, ...] = (0, 1_000, 2_500, 5_000, 10_000, 25_000)
CONFIDENCE_EDGES: tuple[int, ...] = (1, 4, 7, 9)
HEALTH_PROBLEMS: tuple[str, ...] = ("gezondheid", "psychisch", "verslaving")
JUSTICE_PROBLEMS: tuple[str, ...] = ("justitie",)

HOUSEHOLD_GROUP: dict[str, str] = {
    "alleenstaand": "zonder_partner",
    "alleenstaande_ouder": "zonder_partner",
    "paar_zonder_kinderen": "met_partner",
    "paar_met_kinderen": "met_partner",
    "overig": "overig_of_onbekend",
    UNKNOWN: "overig_of_onbekend",
}
NATIONALITY_GROUP: dict[str, str] = {
    "nederlands": "nederlands",
    "eu": "niet_nederlands",
    "buiten_eu": "niet_nederlands",
    UNKNOWN: UNKNOWN,
}
GENDER_GROUP: dict[str, str] = {
    "man": "man",
    "vrouw": "vrouw",
    "anders": "anders_of_onbekend",
    UNKNOWN: "anders_of_onbekend",
}
ORGANISATION_GROUP: dict[str, str] = {
    "groningen": "grote_gemeente",
    "hengelo": "grote_gemeente",
    "breda": "grote_gemeente",
    "zuidplas": "kleine_gemeente",
    "aalsmeer": "kleine_gemeente",
}
PROGRAMME_GROUP: dict[str, str] = {
    "kansrijk": "begeleiding",
    "sociaal_team": "begeleiding",
    "wijkkracht": "begeleiding",
    "casusregie_1g1p1r": "begeleiding",
    "vroegsignalering": "schulden_en_geld",
    "geldzaken": "schulden_en_geld",
    "wisselgeldbudget": "schulden_en_geld",
    "doorbraak": "schulden_en_geld",
}
CHILDREN_GROUP: dict[str, str] = {"0": "0", "1": "1+", "2": "1+", "3+": "1+", UNKNOWN: UNKNOWN}

ENTITIES_OUT: tuple[str, ...] = (
    "persons",
    "episodes",
    "bridge_scores",
    "goals",
    "case_problems",
    "income_sources",
    "outcomes",
)


# --------------------------------------------------------------------------- privacy model
@dataclass(frozen=True)
class RecordedDistinctLDiversity(PrivacyModel):
    """Distinct-l-diversity over *recorded* values: ``unknown`` is not a sensitive value.

    A class passes when it holds at least ``l`` distinct recorded values, or none at all (an
    attacker learns nothing about a person whose organisation never records the attribute).
    Monotone: merging passing classes keeps them passing.

    >>> m = RecordedDistinctLDiversity("y", 2, order=("onbekend", "a", "b"))
    >>> s = ClassStats(size=np.array([5, 5, 5]),
    ...                hist={"y": np.array([[5, 0, 0], [3, 2, 0], [1, 2, 2]])})
    >>> m.class_ok(s).tolist()
    [True, False, True]
    """

    sensitive_column: str
    l: int  # noqa: E741 - the literature's name
    order: tuple[str, ...]
    unknown: str = UNKNOWN

    def class_ok(self, stats: ClassStats) -> np.ndarray:
        h = self._hist(stats)
        u = self.order.index(self.unknown)
        # the unknown column subtracted instead of deleted: no copy of the (classes × values)
        # histogram per node evaluated
        distinct_known = (h > 0).sum(axis=1) - (h[:, u] > 0)
        known_total = h.sum(axis=1) - h[:, u]
        return (distinct_known >= self.l) | (known_total == 0)


# --------------------------------------------------------------------------- bands
def band_labels(edges: Sequence[int]) -> tuple[str, ...]:
    """Labels of the bands ``[e_i, e_{i+1})``; the last is open.

    >>> band_labels((0, 1, 1000))
    ('0', '1-999', '1000+')
    """
    out = []
    for lo, hi in zip(edges, [*edges[1:], None], strict=True):
        if hi is None:
            out.append(f"{lo}+")
        elif hi - 1 == lo:
            out.append(str(lo))
        else:
            out.append(f"{lo}-{hi - 1}")
    return tuple(out)


def band(expr: pl.Expr, edges: Sequence[int]) -> pl.Expr:
    """``expr`` (a number) -> its band label; null stays null, below the first edge -> first."""
    labels = band_labels(edges)
    v = expr.floor()
    out = pl.lit(labels[0])
    for lo, label in zip(edges[1:], labels[1:], strict=True):
        out = pl.when(v >= lo).then(pl.lit(label)).otherwise(out)
    return pl.when(expr.is_null()).then(pl.lit(None, dtype=pl.String)).otherwise(out)


def months_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Whole calendar months from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    m = (end.dt.year().cast(pl.Int32) - start.dt.year().cast(pl.Int32)) * 12 + (
        end.dt.month().cast(pl.Int32) - start.dt.month().cast(pl.Int32)
    )
    return m - (end.dt.day() < start.dt.day()).cast(pl.Int32)


def month_bucket(months: pl.Expr, buckets: Sequence[int]) -> pl.Expr:
    """Months -> the lower bound of its bucket (negative months count as 0); Int16."""
    out = pl.lit(buckets[0], dtype=pl.Int16)
    for b in buckets[1:]:
        out = pl.when(months >= b).then(pl.lit(b, dtype=pl.Int16)).otherwise(out)
    return pl.when(months.is_null()).then(pl.lit(None, dtype=pl.Int16)).otherwise(out)


# --------------------------------------------------------------------------- hierarchies
def _grouping(mapping: Mapping[str, str], name: str) -> Hierarchy:
    return Hierarchy([(v, g, TOP) for v, g in mapping.items()], name=name)


def intake_period_hierarchy(months: Iterable[str]) -> Hierarchy:
    """Month ``2024-03`` -> quarter ``2024-Q1`` -> year ``2024`` -> ``*`` (+ ``onbekend``)."""
    rows = []
    for m in sorted({m for m in months if m != UNKNOWN}):
        year, month = m.split("-")
        rows.append((m, f"{year}-Q{(int(month) - 1) // 3 + 1}", year, TOP))
    rows.append((UNKNOWN, UNKNOWN, UNKNOWN, TOP))
    return Hierarchy(rows, name="intake_period")


def build_hierarchies(
    config: AnonymisationConfig, intake_months: Iterable[str] = ()
) -> dict[str, Hierarchy]:
    """Every quasi-identifier's hierarchy: ``area`` (and any configured QI) from its CSV file,
    the others built here from the code lists in :mod:`assets.staging.schema`."""
    age = Hierarchy.intervals(
        range(0, config.max_age + 1), widths=config.age_widths, name="age_at_intake"
    )
    age = Hierarchy([*age.rows, (UNKNOWN,) * (age.height - 1) + (TOP,)], name="age_at_intake")
    assert set(GENDER_GROUP) == {*GENDERS, UNKNOWN}
    assert set(HOUSEHOLD_GROUP) == {*HOUSEHOLD_TYPES, UNKNOWN}
    assert set(NATIONALITY_GROUP) == {*NATIONALITY_GROUPS, UNKNOWN}
    assert set(ORGANISATION_GROUP) == set(ORGANISATIONS)
    assert set(PROGRAMME_GROUP) == set(PROGRAMMES)
    out = {
        "age_at_intake": age,
        "gender": _grouping(GENDER_GROUP, "gender"),
        "household_type": _grouping(HOUSEHOLD_GROUP, "household_type"),
        "children_band": _grouping(CHILDREN_GROUP, "children_band"),
        "nationality_group": _grouping(NATIONALITY_GROUP, "nationality_group"),
        "organisation": _grouping(ORGANISATION_GROUP, "organisation"),
        "programme": _grouping(PROGRAMME_GROUP, "programme"),
        "intake_period": intake_period_hierarchy(intake_months),
    }
    for qi in (*out, "area"):
        path = config.hierarchy_path(qi)
        if path is not None:
            out[qi] = Hierarchy.from_csv(path, name=qi)
    return out


# --------------------------------------------------------------------------- the release
@dataclass(frozen=True)
class AnonymisedRelease:
    """One release: the analysts' frames, the engine's result and the release's figures."""

    tables: dict[str, pl.DataFrame]
    result: AnonymisationResult
    config: AnonymisationConfig
    figures: dict[str, Any] = field(default_factory=dict)
    episode_keys: pl.DataFrame | None = field(default=None, repr=False)
    """Steward only (holds pseudonyms; never published): each published episode's
    ``episode_pseudonym``, ``person_id``, ``episode_id`` and ``start_date``, for deriving a left
    out entity elsewhere (:func:`bridge_scores_sql`)."""

    def __getitem__(self, entity: str) -> pl.DataFrame:
        return self.tables[entity]

    def summary(self) -> dict[str, Any]:
        """Figures only (JSON-able): counts, levels, k achieved, suppression, metrics, risk."""
        r = self.result
        out: dict[str, Any] = {
            **self.figures,
            "k": r.k,
            "k_achieved": r.smallest_class,
            "suppression_limit": r.suppression_limit,
            "node": r.node,
            "levels": dict(r.levels),
            "suppressed_persons": r.suppressed_persons,
            "suppressed_rows": r.suppressed_rows,
            "suppressed_cells": r.suppressed_cells,
            "classes": r.classes,
            "metric": r.metric,
            "metrics": dict(r.metrics),
            "risk": r.risk.as_dict(),
            "risk_before": r.risk_before.as_dict(),
            "search_ms": r.search_ms,
            "nodes_checked": r.nodes_checked,
            "lattice_size": r.lattice_size,
            "rows": {e: df.height for e, df in self.tables.items()},
        }
        return _plain(out)


def _plain(v: Any) -> Any:
    """Numpy scalars -> Python, NaN/inf -> None, tuples -> lists (JSON-able)."""
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _metric(name: str) -> QualityMetric:
    metrics: dict[str, QualityMetric] = {
        "loss": Loss(),
        "discernibility": Discernibility(),
        "aecs": AECS(),
        "non_uniform_entropy": NonUniformEntropy(),
        "precision": Precision(),
    }
    return metrics[name]


SENSITIVE_ORDER: dict[str, tuple[str, ...]] = {
    "debt_band": (UNKNOWN, *band_labels(DEBT_EDGES)),
    "health_flag": (UNKNOWN, "nee", "ja"),
    "justice_flag": (UNKNOWN, "nee", "ja"),
}


def privacy_models(config: AnonymisationConfig) -> list[PrivacyModel]:
    """The l-diversity models of ``config`` (k-anonymity is added by the engine)."""
    models: list[PrivacyModel] = []
    for col, l_ in sorted(config.l_diversity.items()):
        if l_ <= 1:
            continue
        if config.l_diversity_ignores_unknown:
            models.append(RecordedDistinctLDiversity(col, int(l_), order=SENSITIVE_ORDER[col]))
        else:
            models.append(DistinctLDiversity(col, int(l_)))
    return models


def _flag(
    problems: pl.DataFrame, episodes: pl.DataFrame, codes: Sequence[str], name: str
) -> pl.DataFrame:
    """Per episode ``ja``/``nee`` where the organisation records the problems, else onbekend."""
    hit = problems.filter(pl.col("problem").is_in(list(codes)))
    recording = hit.select("organisation").unique()
    with_hit = hit.select(EPISODE).unique().with_columns(pl.lit(True).alias("_hit"))
    return (
        episodes.select(EPISODE, "organisation")
        .join(with_hit, on=EPISODE, how="left")
        .with_columns(
            pl.when(~pl.col("organisation").is_in(recording["organisation"].implode()))
            .then(pl.lit(UNKNOWN))
            .when(pl.col("_hit").fill_null(False))
            .then(pl.lit("ja"))
            .otherwise(pl.lit("nee"))
            .alias(name)
        )
        .select(EPISODE, name)
    )


def research_record(
    persons: pl.DataFrame,
    episodes: pl.DataFrame,
    debts: pl.DataFrame,
    case_problems: pl.DataFrame,
    *,
    area_leaves: Iterable[str],
) -> pl.DataFrame:
    """One row per episode: pseudonyms, every QI (as strings) and every sensitive attribute."""
    people = persons.unique(subset=[PERSON, "organisation"], keep="first", maintain_order=True)
    rec = episodes.join(
        people.select(
            PERSON,
            "organisation",
            "gender",
            "postcode",
            "household_type",
            "children_count",
            "nationality_group",
        ),
        on=[PERSON, "organisation"],
        how="left",
    )
    first_debt = (
        debts.filter(pl.col("debt_amount_eur").is_not_null())
        .sort(EPISODE, "measured_on", nulls_last=True)
        .group_by(EPISODE, maintain_order=True)
        .agg(pl.col("debt_amount_eur").first())
    )
    pc4 = pl.col("postcode").str.replace_all(r"\s", "").str.slice(0, 4)
    leaves = sorted(set(area_leaves))
    unknown = pl.lit(UNKNOWN)
    rec = rec.join(first_debt, on=EPISODE, how="left").select(
        PERSON,
        EPISODE,
        pl.when(pl.col("age_at_intake").is_between(0, 200))
        .then(pl.col("age_at_intake").cast(pl.String))
        .otherwise(unknown)
        .alias("age_at_intake"),
        pl.col("gender").fill_null(unknown),
        pl.when(pc4.is_in(leaves)).then(pc4).otherwise(unknown).alias("area"),
        pl.col("household_type").fill_null(unknown),
        pl.when(pl.col("children_count") >= 3)
        .then(pl.lit("3+"))
        .when(pl.col("children_count") >= 0)
        .then(pl.col("children_count").cast(pl.String))
        .otherwise(unknown)
        .alias("children_band"),
        pl.col("nationality_group").fill_null(unknown),
        "organisation",
        "programme",
        pl.col("start_date").dt.strftime("%Y-%m").fill_null(unknown).alias("intake_period"),
        band(pl.col("debt_amount_eur"), DEBT_EDGES).fill_null(unknown).alias("debt_band"),
        "start_date",
        "end_date",
        "end_reason",
        "outcome",
    )
    for name, codes in (("health_flag", HEALTH_PROBLEMS), ("justice_flag", JUSTICE_PROBLEMS)):
        rec = rec.join(_flag(case_problems, episodes, codes, name), on=EPISODE, how="left")
    return rec


def _surrogates(values: pl.Series, name: str, rng: np.random.Generator) -> pl.Series:
    """Each value's surrogate: the distinct values, in sorted order (so independent of input
    order), get a random permutation of 1..n. Aligned with ``values`` (no join needed)."""
    if values.null_count():
        raise ValueError(f"{values.name}: {values.null_count()} row(s) without a pseudonym")
    rank = values.rank("dense").to_numpy() - 1  # position of the value among the sorted ones
    n = int(rank.max()) + 1 if len(rank) else 0
    ids = rng.permutation(n).astype(np.int64) + 1
    return pl.Series(name, ids[rank], dtype=pl.Int64)


def anonymise_release(
    tables: Mapping[str, pl.DataFrame],
    *,
    config: AnonymisationConfig,
    release_seed: int,
    exclude_person_pseudonyms: Iterable[str] | pl.Series | None = None,
    leave_out: Collection[str] = (),
) -> AnonymisedRelease:
    """The pseudonymised tables (entity -> frame) -> one k-anonymous release (module docstring).

    Entities in ``leave_out`` (only ``bridge_scores`` can be) are not derived here and are
    absent from the result's tables: the caller derives them from
    :attr:`AnonymisedRelease.episode_keys` (the pipeline does so in DuckDB with
    :func:`bridge_scores_sql`, which gives the same frame).

    Raises :class:`anonymise.NoSolutionError` when no generalisation satisfies the models within
    the suppression limit, and :class:`anonymise.HierarchyError` when data hold a value a
    configured hierarchy does not know.
    """
    t0 = time.perf_counter()
    persons, episodes = tables["persons"], tables["episodes"]

    def table(name: str) -> pl.DataFrame:
        df = tables.get(name)
        return df if df is not None else pl.DataFrame(schema={EPISODE: pl.String()})

    # (a) exclusions
    objectors = episodes.filter(pl.col("objects_to_research").fill_null(False))[PERSON].unique()
    excluded = pl.Series(
        PERSON,
        [] if exclude_person_pseudonyms is None else list(exclude_person_pseudonyms),
        dtype=pl.String,
    )
    gone = pl.concat([objectors, excluded]).unique()
    eps = episodes.filter(~pl.col(PERSON).is_in(gone.implode()))

    # (b) research record
    hierarchies = build_hierarchies(config, [])
    area_leaves = hierarchies["area"].leaves
    rec = research_record(
        persons, eps, table("debts"), table("case_problems"), area_leaves=area_leaves
    )
    hierarchies["intake_period"] = (
        Hierarchy.from_csv(p, name="intake_period")
        if (p := config.hierarchy_path("intake_period")) is not None
        else intake_period_hierarchy(rec["intake_period"].unique().to_list())
    )

    # (c) k-anonymity per person
    qis = list(config.quasi_identifiers)
    models = privacy_models(config)
    sensitive = sorted({m.sensitive_column for m in models})  # type: ignore[attr-defined]
    # the record itself goes in (the engine reads only the person, the QIs and the sensitive
    # columns): applying the result to that very frame is then one gather per column, where
    # another frame would be encoded and matched again
    assert {PERSON, *qis, *sensitive} <= set(rec.columns)
    result = k_anonymise(
        rec,
        quasi_identifiers=qis,
        hierarchies={q: hierarchies[q] for q in qis},
        k=config.k,
        suppression_limit=config.suppression_limit,
        person_column=PERSON,
        models=models,
        metric=_metric(config.metric),
        local_suppression=config.local_suppression,
    )
    published = result.apply(rec)
    assert isinstance(published, pl.DataFrame)

    # (d) release-specific surrogates
    rng = np.random.default_rng(release_seed)
    person_ids = _surrogates(published[PERSON], "person_id", rng)
    episode_ids = _surrogates(published[EPISODE], "episode_id", rng)
    keys = published.select(PERSON, EPISODE, "start_date").with_columns(person_ids, episode_ids)

    # (e) microdata
    unknown = set(leave_out) - {"bridge_scores"}
    if unknown:
        raise ValueError(f"only bridge_scores can be left out, not {sorted(unknown)}")
    frames = _microdata(published, keys, tables, config, leave_out=set(leave_out))
    n_in = persons.select(pl.col(PERSON).n_unique()).item()
    figures = {
        "persons_in": int(n_in),
        "episodes_in": episodes.height,
        "persons_objecting": objectors.len(),
        "persons_excluded": int(excluded.is_in(persons[PERSON].implode()).sum()),
        "persons_considered": rec[PERSON].n_unique(),
        "episodes_considered": rec.height,
        "persons_out": frames["persons"].height,
        "episodes_out": frames["episodes"].height,
        "area_unknown_episodes": int((rec["area"] == UNKNOWN).sum()),
        "area_division_year": config.area_division_year,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return AnonymisedRelease(
        tables=frames,
        result=result,
        config=config,
        figures=figures,
        episode_keys=keys.select(EPISODE, "person_id", "episode_id", "start_date"),
    )


SCORE_COLUMNS: tuple[str, ...] = (
    "person_id",
    "episode_id",
    "domain",
    "level",
    "months_since_intake",
    "measurement_no",
)
"""Columns of the ``bridge_scores`` microdata, in order."""
SCORE_ORDER: tuple[str, ...] = (
    "episode_id",
    "measurement_no",
    "domain",
    "level",
    "months_since_intake",
)
"""Row order of ``bridge_scores`` (nulls first): every column but the person, so the order is
the same whatever engine sorts."""


def bridge_scores_frame(
    scores: pl.DataFrame, keys: pl.DataFrame, buckets: Sequence[int]
) -> pl.DataFrame:
    """The ``bridge_scores`` microdata with polars: the scores of published episodes (``keys``:
    ``episode_pseudonym``, ``person_id``, ``episode_id``, ``start_date``) with the measurement's
    number within the episode (dense rank of its date) and its months since intake (bucketed),
    sorted by :data:`SCORE_ORDER`. :func:`bridge_scores_sql` is the same in DuckDB."""
    start = pl.col("start_date")
    joined = scores.join(
        keys.select(EPISODE, "person_id", "episode_id", "start_date"), on=EPISODE, how="inner"
    )
    return (
        joined.with_columns(
            pl.col("measured_on").rank("dense").over(EPISODE).cast(pl.Int16).alias("measurement_no")
        )
        .select(
            "person_id",
            "episode_id",
            "domain",
            "level",
            month_bucket(months_between(start, pl.col("measured_on")), buckets).alias(
                "months_since_intake"
            ),
            "measurement_no",
        )
        .sort(*SCORE_ORDER, nulls_last=False)
    )


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_month_bucket(months: str, buckets: Sequence[int]) -> str:
    """SQL of :func:`month_bucket` (SMALLINT; NULL stays NULL, below the first bound -> it)."""
    whens = " ".join(f"when {months} >= {int(b)} then {int(b)}" for b in reversed(buckets[1:]))
    return f"(case when {months} is null then null {whens} else {int(buckets[0])} end)::smallint"


def _sql_months_between(start: str, end: str) -> str:
    """SQL of :func:`months_between` (whole calendar months; NULL if either date is)."""
    return (
        f"((year({end}) - year({start})) * 12 + month({end}) - month({start}) "
        f"- (day({end}) < day({start}))::integer)"
    )


def bridge_scores_sql(
    config: AnonymisationConfig, *, scores: str, keys: str, ordered: bool = True
) -> str:
    """DuckDB SQL of the ``bridge_scores`` microdata: exactly what :func:`anonymise_release`
    computes with polars when it is given the scores (same rows, values and types; the same
    order when ``ordered``, else the order the engine produces).

    ``scores`` names the pseudonymised scores (``episode_pseudonym``, ``measured_on``,
    ``domain`` (text or a DuckDB ``ENUM``), ``level``); ``keys`` the release's episode keys
    (:attr:`AnonymisedRelease.episode_keys`). The pipeline runs it in DuckDB so that the largest
    table (tens of millions of rows) never passes through Python. A test holds the two equal.
    """
    months = _sql_months_between("k.start_date", "s.measured_on")
    # The measurement's number is the dense rank of its date within the episode: its position
    # in the episode's sorted distinct dates (a missing date has none). The dates are listed
    # per episode once (a few hundred thousand lists) and travel with the release keys, so the
    # tens of millions of scores are joined once and never sorted or windowed.
    dates = (
        f"select episode_pseudonym, list_sort(list_distinct(list(measured_on))) as dates "
        f"from {scores} group by episode_pseudonym"
    )
    episode = (
        f"select k0.episode_pseudonym, k0.person_id, k0.episode_id, k0.start_date, d.dates "
        f"from {keys} k0 join ({dates}) d on d.episode_pseudonym = k0.episode_pseudonym"
    )
    dropped = set(config.dropped_columns)
    columns = [c for c in SCORE_COLUMNS if c not in dropped]
    order = ", ".join(f"{_sql_ident(c)} nulls first" for c in SCORE_ORDER if c in columns)
    return (
        f"select {', '.join(_sql_ident(c) for c in columns)} from ("
        f"select person_id, episode_id, domain, level, "
        f"{_sql_month_bucket('months', config.month_buckets)} as months_since_intake, "
        f"measurement_no from ("
        f"select k.person_id, k.episode_id, s.domain::varchar as domain, s.level, "
        f"{months} as months, "
        f"(case when s.measured_on is null then null "
        f"else list_position(k.dates, s.measured_on) end)::smallint as measurement_no "
        f"from {scores} s join ({episode}) k on s.episode_pseudonym = k.episode_pseudonym))"
        + (f" order by {order}" if order and ordered else "")
    )


def _microdata(
    published: pl.DataFrame,
    keys: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    config: AnonymisationConfig,
    *,
    leave_out: Collection[str] = (),
) -> dict[str, pl.DataFrame]:
    buckets = config.month_buckets
    qis = list(config.quasi_identifiers)
    sens = list(config.publish_sensitive)
    start = pl.col("start_date")
    ids = keys.select(EPISODE, "person_id", "episode_id", "start_date")

    # keys are row-aligned with published (one row per published episode)
    episodes = (
        published.with_columns(keys["person_id"], keys["episode_id"])
        .with_columns(
            month_bucket(months_between(start, pl.col("end_date")), buckets).alias(
                "duration_months"
            ),
            pl.lit(config.area_division_year, dtype=pl.Int16).alias("area_division_year"),
        )
        .select(
            "episode_id",
            "person_id",
            *qis,
            *(["area_division_year"] if "area" in qis else []),
            *sens,
            "end_reason",
            "outcome",
            "duration_months",
        )
        .sort("episode_id")
    )
    persons = (
        episodes.group_by("person_id")
        .agg(
            pl.len().alias("_n"),
            *([pl.col("organisation").n_unique().alias("_o")] if "organisation" in qis else []),
        )
        .select(
            "person_id",
            pl.when(pl.col("_n") >= 3)
            .then(pl.lit("3+"))
            .otherwise(pl.col("_n").cast(pl.String))
            .alias("episodes"),
            *(
                [
                    pl.when(pl.col("_o") >= 2)
                    .then(pl.lit("2+"))
                    .otherwise(pl.col("_o").cast(pl.String))
                    .alias("organisations")
                ]
                if "organisation" in qis
                else []
            ),
        )
        .sort("person_id")
    )

    def rows(name: str) -> pl.DataFrame:
        df = tables.get(name)
        if df is None:
            return pl.DataFrame(schema={EPISODE: pl.String(), "person_id": pl.Int64()})
        return df.join(ids, on=EPISODE, how="inner")

    scores = None
    if "bridge_scores" not in leave_out:
        source = tables.get("bridge_scores")
        if source is not None and "measured_on" in source.columns:
            scores = bridge_scores_frame(source, keys, buckets)
        else:
            scores = rows("bridge_scores")

    goals = rows("goals")
    if "set_on" in goals.columns:
        goals = goals.select(
            "person_id",
            "episode_id",
            "domain",
            band(pl.col("confidence").cast(pl.Float64), CONFIDENCE_EDGES)
            .replace({"9+": "9-10"})
            .alias("confidence_band"),
            pl.col("achieved_on").is_not_null().alias("achieved"),
            month_bucket(months_between(start, pl.col("set_on")), buckets).alias("months_to_set"),
            month_bucket(months_between(pl.col("set_on"), pl.col("achieved_on")), buckets).alias(
                "months_to_achieve"
            ),
        ).sort("episode_id", "domain", "months_to_set")

    problems = rows("case_problems")
    if "problem" in problems.columns:
        problems = problems.select("person_id", "episode_id", "problem", "status").sort(
            "episode_id", "problem"
        )

    income = rows("income_sources")
    if "income_source" in income.columns:
        income = income.select(
            "person_id",
            "episode_id",
            "income_source",
            band(pl.col("net_monthly_eur"), INCOME_EDGES).alias("net_monthly_band"),
        ).sort("episode_id", "income_source")

    outcomes = rows("outcomes")
    if "measure" in outcomes.columns:
        src = tables["outcomes"]
        flags = (
            src.group_by("measure")
            .agg(pl.col("value_num").drop_nulls().is_in([0.0, 1.0]).all().alias("_flag"))
            .filter("_flag")["measure"]
        )
        is_flag = pl.col("measure").is_in(flags.implode())
        outcomes = outcomes.select(
            "person_id",
            "episode_id",
            "measure",
            pl.when(is_flag).then(pl.col("value_num") == 1.0).alias("value_flag"),
            pl.when(~is_flag).then(band(pl.col("value_num"), AMOUNT_EDGES)).alias("value_band"),
        ).sort("episode_id", "measure")

    out = {
        "persons": persons,
        "episodes": episodes,
        "bridge_scores": scores,
        "goals": goals,
        "case_problems": problems,
        "income_sources": income,
        "outcomes": outcomes,
    }
    dropped = set(config.dropped_columns)
    return {
        e: df.drop([c for c in df.columns if c in dropped])
        for e, df in out.items()
        if df is not None
    }
