"""Protected aggregate tables of a release, counted from the whole population.

The tables are **not** built from the anonymised microdata: the anonymised step hands over, per
person of the population (everyone not excluded), the coordinates of their **most recent
episode** (area at the configured level below the gemeente, intake year, organisation,
programme, end reason) under a release-specific random unit id, the goals reached in it, and the
key of its Bridge trajectory; per Bridge domain the **latest measurement** of that trajectory
gives the level. Each person falls in exactly one cell of a table, so the tables stay additive
(a margin is the sum of its cells, which the suppression model and its audit rely on). A person
has several domains, so each domain is its own table (measure ``…:<domain>``) in the one
:class:`TableSet` of the release; the published mart stacks them with a ``domain`` column.
The progress table counts the same persons per gemeente twice, by the level of the trajectory's
**first** measurement in the domain (intake) and by its latest: two tables per domain, each
additive, linked to the level table through their shared totals.
Cell suppression protects them (threshold, group disclosure on the sensitive dimension,
secondary suppression audited by the attacker's LPs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
from assets.staging.schema import UNKNOWN

LEVELS = ("1", "2", "3", "4", "5")

BRIDGE_LEVELS = "mart_bridge_levels_by_area_period"
BRIDGE_PROGRESS = "mart_bridge_progress"
GOALS_REACHED = "mart_goals_reached_by_domain"
OUTCOMES = "mart_outcomes_by_organisation_programme"
AGGREGATE_TABLES = (BRIDGE_LEVELS, BRIDGE_PROGRESS, GOALS_REACHED, OUTCOMES)
INTAKE, LATEST = "intake", "latest"
"""The two measurements of :data:`BRIDGE_PROGRESS` (first and last of the trajectory)."""
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
    area_level: Literal["gemeente", "wijk"] = "wijk"
    """``wijk``: the area one level below the gemeente (wijk or stadsdeel, whatever the
    population's area codes are), with the gemeente as its total; ``gemeente``: gemeenten only."""
    area_parents: Mapping[str, str] = field(default_factory=dict)
    method: Literal["milp", "heuristic", "auto"] = "auto"
    cost: Literal["unity", "value", "log"] = "value"
    time_limit: float = 10.0
    max_suppressed_share: float | None = None
    rules: PrimaryRules | None = None
    # Group disclosure is about the sensitive variable of each table (everyone in a cell at one
    # level / with one outcome); lines over areas, years, organisations or programmes are nested
    # structure (a programme belongs to one organisation) and would suppress large, harmless cells.
    group_dims: tuple[str, ...] = ("level", "intake_level", "goal_reached", "end_reason")

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


def _latest_levels(scores: Frame, latest: pl.DataFrame) -> pl.DataFrame:
    """Per unit and domain, the level of the latest measurement of the unit's latest trajectory
    (``latest``: ``trajectory_id``, ``unit_id`` and the coordinates; highest ``measurement_no``,
    then ``months_since_intake``, then ``level``; a missing value ranks lowest), and as
    ``intake_level`` the level of its first measurement (lowest known ``measurement_no``, then
    ``months_since_intake``; of two measurements alike, the higher level, as for the latest),
    with the unit's coordinates.

    The three are packed into one integer and its maximum taken per group: one pass, no sort
    (the intake's key negates number and month, so its maximum is the first measurement).
    Each is a 16-bit integer (a strict cast: anything larger fails loudly), shifted to 1..2**16
    with a missing value as 0, in 17 bits. The rows come in no particular order.
    """
    bits, shift = 17, 1 << 15

    def packed(sign: int) -> pl.Expr:
        key = pl.lit(0, dtype=pl.Int64)
        for col in ("measurement_no", "months_since_intake", "level"):
            v = pl.col(col).cast(pl.Int16, strict=True).cast(pl.Int64)
            v = (v * (sign if col != "level" else 1) + shift + 1).fill_null(0)
            key = key * (1 << bits) + v
        return key

    def level(k: str) -> pl.Expr:
        v = pl.col(k) % (1 << bits)
        return pl.when(v > 0).then((v - shift - 1).cast(pl.String))

    # a trajectory belongs to one unit, and each unit has at most one latest trajectory
    return (
        scores.lazy()
        .filter(pl.col("trajectory_id").is_in(latest["trajectory_id"].implode()))
        .group_by(["trajectory_id", "domain"])
        .agg(packed(1).max().alias("_k"), packed(-1).max().alias("_i"))
        .join(latest.lazy(), on="trajectory_id")
        .select(
            "unit_id",
            "domain",
            level("_k").alias("level"),
            level("_i").alias("intake_level"),
            *[c for c in latest.columns if c not in ("unit_id", "trajectory_id")],
        )
        # the streaming engine: the same rows (their order means nothing here), a few times
        # faster on the tens of millions of scores than the in-memory group-by and join
        .collect(engine="streaming")
    )


def build_tables(frames: Mapping[str, Frame], config: AggregateConfig) -> TableSet | None:
    """The linked frequency tables of a release (``None`` when there is nobody to count).

    ``frames``: ``population`` (one row per unit: ``unit_id``, ``area``, ``intake_year``,
    ``organisation``, ``programme``, ``end_reason``), and optionally ``population_goals``
    (``unit_id``, ``domain``, ``goal_reached``), ``population_trajectories`` (``trajectory_id``,
    ``unit_id`` of each unit's latest trajectory) with ``bridge_scores`` (the published scores,
    possibly a lazy scan of the candidate's file, read without being held in memory whole).
    """
    pop = frames["population"]
    assert isinstance(pop, pl.DataFrame)
    if pop.height == 0:
        return None
    area, area_h = _area_leaf(config)
    gemeente, _ = _area_leaf(replace(config, area_level="gemeente"))
    latest = pop.select(
        "unit_id",
        area,
        gemeente.alias("gemeente"),
        _known("intake_year"),
        _known("organisation"),
        _known("programme"),
        _known("end_reason"),
    )
    hier_area = {"area": area_h} if area_h else {}
    level_h = {lv: TOTAL for lv in LEVELS}
    tables = []
    scores, traj = frames.get("bridge_scores"), frames.get("population_trajectories")
    if _has_rows(scores) and _has_rows(traj):
        assert scores is not None and traj is not None
        keys = (
            traj.lazy()
            .join(
                latest.lazy().select("unit_id", *BRIDGE_DIMS, "gemeente"), on="unit_id", how="inner"
            )
            .collect()
        )
        last = _latest_levels(scores, keys)
        domains = sorted(last["domain"].unique().to_list())
        for domain in domains:
            tables.append(
                frequency_table(
                    last.lazy().filter(pl.col("domain") == domain),
                    dims=[*BRIDGE_DIMS, "level"],
                    hierarchies={**hier_area, "level": level_h},
                    person_column="unit_id",
                    name=f"{BRIDGE_LEVELS}:{domain}",
                    measure=f"persons_latest_level:{domain}",
                )
            )
        # Progress per gemeente: the same persons by intake level and by latest level. Both
        # tables count the measure of the level tables (persons at their latest trajectory in
        # the domain), so the cells they share with them (every total, the latest levels per
        # gemeente) are one cell each, and a gemeente's intake total is linked to its latest
        # total: the attacker knows they are equal, and so does the audit. Added after the
        # level tables, so a shared cell keeps the level table's name in the ledger.
        for domain in domains:
            persons = (
                last.lazy()
                .filter(pl.col("domain") == domain)
                .with_columns(pl.col("gemeente").alias("area"))
            )
            for measurement, dim in ((INTAKE, "intake_level"), (LATEST, "level")):
                tables.append(
                    frequency_table(
                        persons,
                        dims=["area", dim],
                        hierarchies={dim: level_h},
                        person_column="unit_id",
                        name=f"{BRIDGE_PROGRESS}:{domain}:{measurement}",
                        measure=f"persons_latest_level:{domain}",
                    )
                )
    goals = frames.get("population_goals")
    if _has_rows(goals):
        assert goals is not None
        reached = (
            goals.lazy()
            .join(latest.lazy().select("unit_id", "area"), on="unit_id", how="inner")
            .collect()
        )
        for domain in sorted(reached["domain"].unique().to_list()):
            tables.append(
                frequency_table(
                    reached.lazy().filter(pl.col("domain") == domain),
                    dims=["area", "goal_reached"],
                    hierarchies=hier_area or None,
                    person_column="unit_id",
                    name=f"{GOALS_REACHED}:{domain}",
                    measure=f"persons_goal_reached:{domain}",
                )
            )
    tables.append(
        frequency_table(
            latest.lazy(),
            dims=["organisation", "programme", "end_reason"],
            person_column="unit_id",
            name=OUTCOMES,
            measure="persons_by_end_reason",
        )
    )
    return TableSet(tables)


def _empty(name: str) -> pl.DataFrame:
    dims = {
        BRIDGE_LEVELS: ["domain", "area", "intake_year", "level"],
        BRIDGE_PROGRESS: ["domain", "area", "measurement", "level"],
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
        if mart == BRIDGE_PROGRESS:
            domain, _, measurement = domain.partition(":")
            df = df.select(
                "area",
                pl.lit(measurement).alias("measurement"),
                pl.col("intake_level" if measurement == INTAKE else "level").alias("level"),
                "value",
                "suppressed",
                "reason",
            )
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
