"""Protected aggregate tables of a release, built from the anonymised frames.

Every count is a number of distinct persons. To keep the tables additive (a margin is the sum of
its cells, which the suppression model and its audit rely on) each person falls in exactly one
cell of a table: their **most recent episode** (latest ``intake_period``, then highest
``episode_id``) gives their area, intake year, organisation, programme and end reason, and per
Bridge domain their **latest measurement** in that episode gives their level. A person has several
domains, so each domain is its own table (measure ``…:<domain>``) in the one :class:`TableSet` of
the release; the published mart stacks them with a ``domain`` column.

Granularity is chosen so that suppression stays sane: area at gemeente level (or wijk under its
gemeente, :attr:`AggregateConfig.area_level`), period = intake year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from anonymise.tables import (
    TOTAL,
    Ledger,
    MemoryLedger,
    PrimaryRules,
    ProtectionResult,
    TableSet,
    frequency_table,
    protect,
)

UNKNOWN = "onbekend"
"""Code of a missing or locally suppressed ('*') coordinate."""
LEVELS = ("1", "2", "3", "4", "5")

BRIDGE_LEVELS = "mart_bridge_levels_by_area_period"
GOALS_REACHED = "mart_goals_reached_by_domain"
OUTCOMES = "mart_outcomes_by_organisation_programme"
AGGREGATE_TABLES = (BRIDGE_LEVELS, GOALS_REACHED, OUTCOMES)
BRIDGE_DIMS = ("area", "intake_year")
"""The person's coordinates in the Bridge level tables (besides the level)."""


@dataclass(frozen=True)
class AggregateConfig:
    """How the aggregates are built and protected (defaults: threshold 10, gemeente, auto solver).

    ``area_parents`` maps a generalised area code to its parent (wijk → stadsdeel/gemeente …); a
    code without a parent is a gemeente. ``rules`` overrides the primary rules (then
    ``threshold`` is ignored).
    """

    threshold: int = 10
    area_level: Literal["gemeente", "wijk"] = "gemeente"
    area_parents: Mapping[str, str] = field(default_factory=dict)
    method: Literal["milp", "heuristic", "auto"] = "auto"
    cost: Literal["unity", "value", "log"] = "unity"
    time_limit: float = 60.0
    max_suppressed_share: float | None = None
    rules: PrimaryRules | None = None
    # Group disclosure is about the sensitive variable of each table (everyone in a cell at one
    # level / with one outcome); lines over areas, years, organisations or programmes are nested
    # structure (a programme belongs to one organisation) and would suppress large, harmless cells.
    group_dims: tuple[str, ...] = ("level", "goal_reached", "end_reason")

    def primary_rules(self) -> PrimaryRules:
        return self.rules or PrimaryRules(threshold=self.threshold, group_dims=self.group_dims)

    def as_dict(self) -> dict:
        return {
            "threshold": self.primary_rules().threshold,
            "area_level": self.area_level,
            "method": self.method,
            "cost": self.cost,
            "time_limit": self.time_limit,
            "max_suppressed_share": self.max_suppressed_share,
            "rules": self.primary_rules().as_dict(),
        }


@dataclass
class ProtectedAggregates:
    """The protected tables of one release.

    ``tables`` are the steward's view per mart table: coordinates, ``value`` (null when
    suppressed), ``suppressed`` and ``reason``; :meth:`published` is what analysts get (the
    reason is left out: it would tell primary cells, i.e. small ones, from secondary ones).
    ``record`` is the JSON-able protection record (internal: it holds the audit intervals).
    """

    release_id: str
    tables: dict[str, pl.DataFrame]
    record: dict
    audit_ok: bool
    n_primary: int
    n_secondary: int
    result: ProtectionResult | None = field(default=None, repr=False)

    def published(self) -> dict[str, pl.DataFrame]:
        """Mart frames: coordinates, ``persons`` (null when suppressed), ``is_suppressed``.

        Combinations without any person are not listed: every published count is at least the
        threshold or suppressed, with no exception for zeros (the steward's ledger keeps them,
        so the audit still knows they are zero).
        """
        out = {}
        for name, df in self.tables.items():
            coords = [c for c in df.columns if c not in ("value", "suppressed", "reason")]
            out[name] = df.filter(pl.col("suppressed") | (pl.col("value") != 0)).select(
                *coords,
                pl.col("value").round(0).cast(pl.Int64).alias("persons"),
                pl.col("suppressed").alias("is_suppressed"),
            )
        return out

    def ledger_frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """This release's ledger cells and equations (true values included: steward only)."""
        capture = MemoryLedger()
        if self.result is not None:
            self.result.record_release(capture, self.release_id)
        return capture.published(), capture.equations()

    def record_release(self, ledger: Ledger) -> None:
        """Store this release's cells and equations in the steward's ``ledger``."""
        if self.result is not None:
            self.result.record_release(ledger, self.release_id)


def _area_leaf(config: AggregateConfig) -> tuple[pl.Expr, dict[str, str]]:
    """Expression giving each person's area cell, and the area hierarchy (child → parent)."""
    parents = {str(k): str(v) for k, v in config.area_parents.items()}

    def chain(code: str) -> list[str]:
        out = [code]
        while out[-1] in parents and len(out) <= len(parents) + 1:
            out.append(parents[out[-1]])
        return out

    codes = set(parents) | set(parents.values())
    mapping: dict[str, str] = {}
    hierarchy: dict[str, str] = {}
    for code in codes:
        up = chain(code)
        gemeente = up[-1]
        if config.area_level == "gemeente":
            mapping[code] = gemeente
        elif len(up) >= 2:
            mapping[code] = up[-2]
            hierarchy[up[-2]] = gemeente
        else:
            leaf = f"{gemeente} (wijk {UNKNOWN})"
            mapping[code] = leaf
            hierarchy[leaf] = gemeente
    area = pl.col("area").cast(pl.String)
    unknown = area.is_null() | (area == "*") | (area == "")
    mapped = area.replace_strict(mapping, default=area, return_dtype=pl.String)
    if config.area_level == "wijk":
        # an area the hierarchy does not know is taken as a gemeente without wijk detail
        mapped = pl.when(area.is_in(list(mapping))).then(mapped).otherwise(area)
    expr = pl.when(unknown).then(pl.lit(UNKNOWN)).otherwise(mapped)
    return expr.alias("area"), hierarchy


def _year(col: str) -> pl.Expr:
    period = pl.col(col).cast(pl.String)
    year = period.str.extract(r"^(\d{4})(?:[-_ ]?[HQMhqm]\d{1,2})?$", 1)
    return (
        pl.when(period.is_null() | (period == "*"))
        .then(pl.lit(UNKNOWN))
        .otherwise(pl.coalesce(year, period))
    )


def _known(col: str) -> pl.Expr:
    v = pl.col(col).cast(pl.String)
    return pl.when(v.is_null() | (v == "*")).then(pl.lit(UNKNOWN)).otherwise(v).alias(col)


Frame = pl.DataFrame | pl.LazyFrame


def _columns(frame: Frame) -> list[str]:
    return frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns


def _has_rows(frame: Frame | None) -> bool:
    if frame is None:
        return False
    if isinstance(frame, pl.LazyFrame):
        return frame.select(pl.len()).collect().item() > 0
    return frame.height > 0


def latest_episodes(
    persons: pl.DataFrame, config: AggregateConfig, scores: Frame | None = None
) -> pl.DataFrame:
    """One row per person: their most recent episode with its aggregate coordinates.

    Ties are broken on content only (every published attribute, then an order-free hash of the
    episode's Bridge scores), never on the release's random surrogate ids: two releases of the
    same data must publish the same cells, or their difference would disclose something. The
    scores' hash is computed only for the episodes that tie on every attribute (it decides
    nothing elsewhere), so the scores (a frame, or a lazy scan of a large file) are read once.
    """
    area, _ = _area_leaf(config)
    content = [c for c in persons.columns if c not in ("person_id", "episode_id")]
    ranked = persons.lazy()
    tied = (
        persons.lazy()
        .filter(pl.len().over(["person_id", "intake_period", *content]) > 1)
        .select("episode_id")
        .collect()["episode_id"]
    )
    if scores is not None and tied.len():
        score_cols = [c for c in _columns(scores) if c not in ("person_id", "episode_id")]
        fingerprint = (
            scores.lazy()
            .filter(pl.col("episode_id").is_in(tied.implode()))
            .select("episode_id", pl.struct(score_cols).hash(seed=11).alias("_h"))
            .group_by("episode_id")
            .agg(pl.col("_h").sum().alias("_scores_hash"))
        )
        ranked = ranked.join(fingerprint, on="episode_id", how="left")
        content.append("_scores_hash")
    # only persons with several episodes need ranking; the rest have their one episode
    several = pl.len().over("person_id") > 1
    ranked = pl.concat(
        [
            ranked.filter(~several),
            ranked.filter(several)
            .sort(["person_id", "intake_period", *content], nulls_last=False)
            .group_by("person_id", maintain_order=True)
            .last(),
        ],
        how="diagonal_relaxed",
    ).sort("person_id")
    return ranked.select(
        "person_id",
        "episode_id",
        area,
        _year("intake_period").alias("intake_year"),
        _known("organisation"),
        _known("programme"),
        _known("end_reason"),
    ).collect()


def _latest_levels(scores: Frame, latest: pl.DataFrame) -> pl.DataFrame:
    """Per person and domain, the level of their latest measurement in their latest episode
    (highest ``measurement_no``, then ``months_since_intake``, then ``level``; a missing value
    ranks lowest), with the person's coordinates.

    The three are packed into one integer and its maximum taken per group: one pass, no sort.
    Each is a 16-bit integer (a strict cast: anything larger fails loudly), shifted to 1..2**16
    with a missing value as 0, in 17 bits. The rows come in no particular order.
    """
    bits, shift = 17, 1 << 15
    key = pl.lit(0, dtype=pl.Int64)
    for col in ("measurement_no", "months_since_intake", "level"):
        v = (pl.col(col).cast(pl.Int16, strict=True).cast(pl.Int64) + shift + 1).fill_null(0)
        key = key * (1 << bits) + v
    level = pl.col("_k") % (1 << bits) - shift - 1
    # an episode id belongs to one person, and each person has one latest episode: filtering
    # on the episode alone and grouping per episode is the same as per (person, episode)
    return (
        scores.lazy()
        .filter(pl.col("episode_id").is_in(latest["episode_id"].implode()))
        .group_by(["episode_id", "domain"])
        .agg(key.max().alias("_k"))
        .join(latest.lazy(), on="episode_id")
        .select(
            "person_id",
            "domain",
            pl.when(pl.col("_k") % (1 << bits) > 0).then(level.cast(pl.String)).alias("level"),
            *[c for c in latest.columns if c not in ("person_id", "episode_id")],
        )
        # the streaming engine: the same rows (their order means nothing here), a few times
        # faster on the tens of millions of scores than the in-memory group-by and join
        .collect(engine="streaming")
    )


def build_tables(frames: Mapping[str, Frame], config: AggregateConfig) -> TableSet | None:
    """The linked frequency tables of a release (``None`` when there is nobody to count).

    ``frames["persons"]`` is a frame; the scores and goals may be lazy (e.g. scans of the
    release candidate's files), and are then read without being held in memory whole.
    """
    persons = frames["persons"]
    assert isinstance(persons, pl.DataFrame)
    if persons.height == 0:
        return None
    scores = frames.get("bridge_scores")
    if not _has_rows(scores):
        scores = None
    latest = latest_episodes(persons, config, scores)
    _, area_h = _area_leaf(config)
    hier_area = {"area": area_h} if area_h else {}
    level_h = {lv: TOTAL for lv in LEVELS}
    tables = []
    if scores is not None:
        # only the coordinates the Bridge tables count on travel with the ~8 rows per person
        last = _latest_levels(scores, latest.select("person_id", "episode_id", *BRIDGE_DIMS))
        for domain in sorted(last["domain"].unique().to_list()):
            tables.append(
                frequency_table(
                    last.lazy().filter(pl.col("domain") == domain),
                    dims=[*BRIDGE_DIMS, "level"],
                    hierarchies={**hier_area, "level": level_h},
                    person_column="person_id",
                    name=f"{BRIDGE_LEVELS}:{domain}",
                    measure=f"persons_latest_level:{domain}",
                )
            )
    goals = frames.get("goals")
    if _has_rows(goals):
        assert goals is not None
        reached = (
            goals.lazy()
            .join(latest.lazy(), on=["person_id", "episode_id"], how="inner")
            .group_by(["person_id", "domain", "area"])
            .agg(pl.col("achieved").fill_null(False).any().alias("reached"))
            .with_columns(
                goal_reached=pl.when(pl.col("reached")).then(pl.lit("ja")).otherwise(pl.lit("nee"))
            )
            .collect()
        )
        for domain in sorted(reached["domain"].unique().to_list()):
            tables.append(
                frequency_table(
                    reached.lazy().filter(pl.col("domain") == domain),
                    dims=["area", "goal_reached"],
                    hierarchies=hier_area or None,
                    person_column="person_id",
                    name=f"{GOALS_REACHED}:{domain}",
                    measure=f"persons_goal_reached:{domain}",
                )
            )
    tables.append(
        frequency_table(
            latest.lazy(),
            dims=["organisation", "programme", "end_reason"],
            person_column="person_id",
            name=OUTCOMES,
            measure="persons_by_end_reason",
        )
    )
    return TableSet(tables)


def _empty(name: str) -> pl.DataFrame:
    dims = {
        BRIDGE_LEVELS: ["domain", "area", "intake_year", "level"],
        GOALS_REACHED: ["domain", "area", "goal_reached"],
        OUTCOMES: ["organisation", "programme", "end_reason"],
    }[name]
    return pl.DataFrame(
        schema={
            **dict.fromkeys(dims, pl.String),
            "value": pl.Float64,
            "suppressed": pl.Boolean,
            "reason": pl.String,
        }
    )


def protect_aggregates(
    frames: Mapping[str, Frame],
    *,
    config: AggregateConfig | None = None,
    release_id: str,
    ledger: Ledger | None = None,
) -> ProtectedAggregates:
    """Build, link and protect the aggregate tables of a release.

    With the steward's ``ledger`` the cells and equations of earlier releases are part of the
    suppression model and of its audit (no differencing between releases). The release is not
    recorded here: record it (:meth:`ProtectedAggregates.record_release`) only once it is
    published; :func:`assets.marts.build.build_research_database` does so just before the swap.
    """
    config = config or AggregateConfig()
    table_set = build_tables(frames, config)
    if table_set is None:
        empty = {n: _empty(n) for n in AGGREGATE_TABLES}
        return ProtectedAggregates(release_id, empty, {"cells": 0}, True, 0, 0, None)
    result = protect(
        table_set,
        rules=config.primary_rules(),
        method=config.method,
        cost=config.cost,
        ledger=ledger,
        release_id=release_id,
        time_limit=config.time_limit,
        max_suppressed_share=config.max_suppressed_share,
    )
    parts: dict[str, list[pl.DataFrame]] = {n: [] for n in AGGREGATE_TABLES}
    for name, df in result.tables.items():
        mart, _, domain = name.partition(":")
        if domain:
            df = df.select(pl.lit(domain).alias("domain"), pl.all())
        parts[mart].append(df)
    tables = {n: pl.concat(p, how="vertical_relaxed") if p else _empty(n) for n, p in parts.items()}
    record = {**result.record, "config": config.as_dict()}
    return ProtectedAggregates(
        release_id=release_id,
        tables=tables,
        record=record,
        audit_ok=bool(result.audit.ok),
        n_primary=result.n_primary,
        n_secondary=result.n_secondary,
        result=result,
    )
