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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
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
from anonymise.tables.cellkey import PTable
from assets.anonymised.release import RECORD_KEY
from assets.marts.ledger import RESEARCH_LEDGER_SCHEMA, DuckDBLedger, published_rows
from assets.marts.perturbation import cell_noise, perturbation_figures
from assets.marts.protection import (
    AGGREGATE_TABLES,
    BRIDGE_LEVELS,
    BRIDGE_PROGRESS,
    GOALS_REACHED,
    INTAKE,
    LATEST,
    LINKED_MARTS,
    OUTCOMES,
    Protection,
    TableSettings,
    mart_of,
)
from assets.staging.schema import UNKNOWN

LEVELS = ("1", "2", "3", "4", "5")

BRIDGE_DIMS = ("area", "intake_year")
"""The person's coordinates in the Bridge level tables (besides the level)."""


@dataclass(frozen=True)
class AggregateConfig:
    """How the aggregates are built and protected (defaults: threshold 10, gemeente, auto solver).

    ``area_parents`` maps a generalised area code to its parent (wijk → stadsdeel/gemeente …); a
    code without a parent is a gemeente. ``rules`` overrides the primary rules (then
    ``threshold`` is ignored).
    """

    threshold: int = TableSettings.threshold
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
    protection: Mapping[str, Protection] = field(default_factory=dict)
    """Mart table → protection; a table not named is protected by suppression."""
    ptable: PTable | None = None
    """The perturbation table of the tables protected by the cell key method."""

    def __post_init__(self) -> None:
        for group in LINKED_MARTS:
            if len({self.protection_of(m) for m in group}) > 1:
                raise ValueError(f"{' and '.join(group)} share cells: protect them the same way")
        if self.ptable is None and any(
            self.protection_of(m) != "suppression" for m in AGGREGATE_TABLES
        ):
            raise ValueError("the cell key method needs a perturbation table (ptable)")

    @classmethod
    def from_settings(cls, settings: TableSettings, **kwargs: Any) -> AggregateConfig:
        """The configuration of a deployment's ``[tables]`` settings (plus ``kwargs``)."""
        return cls(
            threshold=settings.threshold,
            protection={m: settings.protection_of(m) for m in AGGREGATE_TABLES},
            ptable=settings.ptable() if settings.uses_cell_key else None,
            **kwargs,
        )

    def protection_of(self, mart: str) -> Protection:
        """How mart table ``mart`` is protected."""
        return self.protection.get(mart, "suppression")

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
            "protection": {m: self.protection_of(m) for m in AGGREGATE_TABLES},
            **(
                {
                    "cell_key": {
                        "max_noise": self.ptable.D,
                        "variance": self.ptable.V,
                        "small_counts": self.ptable.js,
                    }
                }
                if self.ptable is not None
                else {}
            ),
        }


@dataclass
class ProtectedAggregates:
    """The protected tables of one release.

    ``tables`` are the steward's view per mart table: coordinates, ``value`` (the true count;
    null when suppressed), ``published`` (what analysts see: the value, or its perturbed value
    under the cell key method; null when suppressed), ``suppressed`` and ``reason``;
    :meth:`published` is what analysts get (the reason is left out: it would tell primary cells,
    i.e. small ones, from secondary ones). ``record`` is the JSON-able protection record
    (internal: it holds the audit intervals). ``cells`` lists every published cell once, as
    ``release_ledger`` has it (:data:`~assets.marts.ledger.RESEARCH_LEDGER_SCHEMA`, perturbed
    values, never a true value behind a perturbation).
    """

    release_id: str
    tables: dict[str, pl.DataFrame]
    record: dict
    audit_ok: bool
    n_primary: int
    n_secondary: int
    result: ProtectionResult | None = field(default=None, repr=False)
    cells: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=RESEARCH_LEDGER_SCHEMA), repr=False
    )
    protection: dict[str, str] = field(default_factory=dict)
    ptable: PTable | None = field(default=None, repr=False)
    perturbation: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per perturbed mart table: cells, cells changed, mean and largest change, margins that are
    not the sum of their published parts (steward figures; the counts are published)."""

    def published(self) -> dict[str, pl.DataFrame]:
        """Mart frames: coordinates, ``persons`` (null when suppressed), ``is_suppressed``.

        Combinations without any person are not listed: every published count is at least the
        threshold, perturbed, or suppressed, with no exception for zeros (the steward's ledger
        keeps them, so the audit still knows they are zero).
        """
        out = {}
        for name, df in self.tables.items():
            coords = [c for c in df.columns if c not in _STEWARD_COLUMNS]
            # under the cell key method every cell is listed: a published 0 may be a small count
            listed = (
                pl.lit(True)
                if self.protection.get(name) == "cell_key"
                else pl.col("suppressed") | (pl.col("value") != 0)
            )
            out[name] = df.filter(listed).select(
                *coords,
                pl.col("published").round(0).cast(pl.Int64).alias("persons"),
                pl.col("suppressed").alias("is_suppressed"),
            )
        return out

    def release_rows(self) -> pl.DataFrame:
        """This release's ``release_ledger`` rows: every published cell once."""
        return self.cells

    def ledger_frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """This release's ledger cells and equations (true values included: steward only);
        ``published_value`` is what analysts saw (perturbed where the cell key method applies).
        """
        capture = MemoryLedger()
        if self.result is not None:
            self.result.record_release(capture, self.release_id)
        cells = capture.published()
        seen = self.cells.select(pl.col("cell_key").alias("key"), pl.col("value").alias("_seen"))
        cells = (
            cells.join(seen, on="key", how="left", maintain_order="left")
            .with_columns(
                published_value=pl.when(pl.col("suppressed"))
                .then(None)
                .otherwise(pl.coalesce("_seen", "published_value"))
            )
            .drop("_seen")
        )
        return cells, capture.equations()

    def record_release(self, ledger: Ledger) -> None:
        """Store this release's cells, equations and published cells in the steward's
        ``ledger`` (every table; the cell key method's tables only as published)."""
        cells, equations = self.ledger_frames()
        if cells.height == 0 and self.cells.height == 0:
            return
        if isinstance(ledger, DuckDBLedger):  # the report reads earlier editions from it
            ledger.record(self.release_id, cells, equations, published=self.cells)
        else:
            ledger.record(self.release_id, cells, equations)


_STEWARD_COLUMNS = ("value", "published", "suppressed", "reason")


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


@dataclass(frozen=True)
class _Spec:
    """One frequency table of a release: the rows it counts (one per unit and leaf cell)."""

    rows: pl.LazyFrame
    dims: tuple[str, ...]
    hierarchies: Mapping[str, Mapping[str, str]] | None
    name: str
    measure: str

    def table(self):
        return frequency_table(
            self.rows,
            dims=list(self.dims),
            hierarchies=self.hierarchies,
            person_column="unit_id",
            name=self.name,
            measure=self.measure,
        )


def _specs(frames: Mapping[str, Frame], config: AggregateConfig) -> list[_Spec]:
    """The tables of a release and the rows each counts (empty when there is nobody).

    A population frame with :data:`RECORD_KEY` hands it on to every table's rows (the cell
    key method sums the record keys of a cell's persons)."""
    pop = frames["population"]
    assert isinstance(pop, pl.DataFrame)
    if pop.height == 0:
        return []
    area, area_h = _area_leaf(config)
    gemeente, _ = _area_leaf(replace(config, area_level="gemeente"))
    key = [RECORD_KEY] if RECORD_KEY in pop.columns else []
    latest = pop.select(
        "unit_id",
        *key,
        area,
        gemeente.alias("gemeente"),
        _known("intake_year"),
        _known("organisation"),
        _known("programme"),
        _known("end_reason"),
    )
    hier_area = {"area": area_h} if area_h else {}
    level_h = {lv: TOTAL for lv in LEVELS}
    specs: list[_Spec] = []
    scores, traj = frames.get("bridge_scores"), frames.get("population_trajectories")
    if _has_rows(scores) and _has_rows(traj):
        assert scores is not None and traj is not None
        keys = (
            traj.lazy()
            .join(
                latest.lazy().select("unit_id", *key, *BRIDGE_DIMS, "gemeente"),
                on="unit_id",
                how="inner",
            )
            .collect()
        )
        last = _latest_levels(scores, keys)
        domains = sorted(last["domain"].unique().to_list())
        for domain in domains:
            specs.append(
                _Spec(
                    last.lazy().filter(pl.col("domain") == domain),
                    (*BRIDGE_DIMS, "level"),
                    {**hier_area, "level": level_h},
                    f"{BRIDGE_LEVELS}:{domain}",
                    f"persons_latest_level:{domain}",
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
                specs.append(
                    _Spec(
                        persons,
                        ("area", dim),
                        {dim: level_h},
                        f"{BRIDGE_PROGRESS}:{domain}:{measurement}",
                        f"persons_latest_level:{domain}",
                    )
                )
    goals = frames.get("population_goals")
    if _has_rows(goals):
        assert goals is not None
        reached = (
            goals.lazy()
            .join(latest.lazy().select("unit_id", *key, "area"), on="unit_id", how="inner")
            .collect()
        )
        for domain in sorted(reached["domain"].unique().to_list()):
            specs.append(
                _Spec(
                    reached.lazy().filter(pl.col("domain") == domain),
                    ("area", "goal_reached"),
                    hier_area or None,
                    f"{GOALS_REACHED}:{domain}",
                    f"persons_goal_reached:{domain}",
                )
            )
    specs.append(
        _Spec(
            latest.lazy(),
            ("organisation", "programme", "end_reason"),
            None,
            OUTCOMES,
            "persons_by_end_reason",
        )
    )
    return specs


def build_tables(frames: Mapping[str, Frame], config: AggregateConfig) -> TableSet | None:
    """The linked frequency tables of a release (``None`` when there is nobody to count).

    ``frames``: ``population`` (one row per unit: ``unit_id``, ``area``, ``intake_year``,
    ``organisation``, ``programme``, ``end_reason``; optionally :data:`RECORD_KEY`), and
    optionally ``population_goals`` (``unit_id``, ``domain``, ``goal_reached``),
    ``population_trajectories`` (``trajectory_id``, ``unit_id`` of each unit's latest
    trajectory) with ``bridge_scores`` (the published scores, possibly a lazy scan of the
    candidate's file, read without being held in memory whole).
    """
    specs = _specs(frames, config)
    return TableSet([s.table() for s in specs]) if specs else None


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
            "published": pl.Float64,
            "suppressed": pl.Boolean,
            "reason": pl.String,
        }
    )


def _mart_frames(
    table_set: TableSet,
    suppressed: np.ndarray,
    reasons: Sequence[str | None],
    noise: np.ndarray,
) -> dict[str, list[pl.DataFrame]]:
    """The steward's view of each table (coordinates, value, published, suppressed, reason),
    grouped by mart table, the Bridge domains and measurements as columns."""
    n = table_set.n_cells
    status = pl.DataFrame(
        {
            "cell_id": np.arange(n),
            "suppressed": suppressed[:n],
            "reason": pl.Series(list(reasons[:n]), dtype=pl.String),
            "_noise": noise[:n].astype(np.float64),
        }
    )
    parts: dict[str, list[pl.DataFrame]] = {}
    for t in table_set.tables:
        df = (
            table_set.memberships[t.name]
            .join(status, on="cell_id", how="left", maintain_order="left")
            .select(
                *t.dim_names,
                pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value")).alias("value"),
                pl.when(pl.col("suppressed"))
                .then(None)
                .otherwise(pl.col("value") + pl.col("_noise"))
                .alias("published"),
                "suppressed",
                "reason",
            )
        )
        mart, _, domain = t.name.partition(":")
        if mart == BRIDGE_PROGRESS:
            domain, _, measurement = domain.partition(":")
            df = df.select(
                "area",
                pl.lit(measurement).alias("measurement"),
                pl.col("intake_level" if measurement == INTAKE else "level").alias("level"),
                *_STEWARD_COLUMNS,
            )
        if domain:
            df = df.select(pl.lit(domain).alias("domain"), pl.all())
        parts.setdefault(mart, []).append(df)
    return parts


def _release_rows(
    table_set: TableSet, release_id: str, suppressed: np.ndarray, noise: np.ndarray, *, zeros: bool
) -> pl.DataFrame:
    """``release_ledger`` rows of a protected table set: each cell's published value (true
    count plus its noise; NULL when suppressed)."""
    n = table_set.n_cells
    cells = table_set.cells.select("table", "key", "coordinates", "value").with_columns(
        release_id=pl.lit(release_id),
        suppressed=pl.Series(suppressed[:n]),
        published_value=pl.col("value") + pl.Series(noise[:n].astype(np.float64)),
    )
    return published_rows(cells, zeros=zeros)


def protect_aggregates(
    frames: Mapping[str, Frame],
    *,
    config: AggregateConfig | None = None,
    release_id: str,
    ledger: Ledger | None = None,
) -> ProtectedAggregates:
    """Build, link and protect the aggregate tables of a release.

    Each mart table is protected as ``config.protection`` says: tables under suppression (or
    both) are protected together — with the steward's ``ledger`` the cells and equations of
    earlier releases are part of the suppression model and of its audit (no differencing
    between releases); tables under the cell key method are perturbed, and under both the
    published cells of the suppressed tables are perturbed as well. The release is not
    recorded here: record it (:meth:`ProtectedAggregates.record_release`) only once it is
    published; :func:`assets.marts.build.build_research_database` does so just before the swap.
    """
    config = config or AggregateConfig()
    specs = _specs(frames, config)
    protection = {m: config.protection_of(m) for m in AGGREGATE_TABLES}
    if not specs:
        empty = {n: _empty(n) for n in AGGREGATE_TABLES}
        return ProtectedAggregates(
            release_id,
            empty,
            {"cells": 0},
            True,
            0,
            0,
            None,
            protection=protection,
            ptable=config.ptable,
        )
    rows = {s.name: s.rows for s in specs}
    originals = {s.name: s.table() for s in specs}
    perturbed = {n for n in originals if config.protection_of(mart_of(n)) != "suppression"}
    suppressed_set = [
        t for n, t in originals.items() if config.protection_of(mart_of(n)) != "cell_key"
    ]
    keyed_set = [t for n, t in originals.items() if config.protection_of(mart_of(n)) == "cell_key"]
    parts: dict[str, list[pl.DataFrame]] = {}
    cell_rows: list[pl.DataFrame] = []
    figures: dict[str, dict[str, float]] = {}
    result = None
    record: dict[str, Any] = {"cells": 0}
    if suppressed_set:
        result = protect(
            TableSet(suppressed_set),
            rules=config.primary_rules(),
            method=config.method,
            cost=config.cost,
            ledger=ledger,
            release_id=release_id,
            time_limit=config.time_limit,
            max_suppressed_share=config.max_suppressed_share,
        )
        ts = result.table_set
        noise = (
            cell_noise(ts, rows, originals, perturbed, config.ptable)
            if perturbed and config.ptable is not None
            else np.zeros(ts.n_cells, dtype=np.int64)
        )
        for mart, frames_ in _mart_frames(ts, result.suppressed, result.reasons, noise).items():
            parts.setdefault(mart, []).extend(frames_)
        cell_rows.append(_release_rows(ts, release_id, result.suppressed, noise, zeros=False))
        figures |= perturbation_figures(ts, noise, result.suppressed, perturbed)
        record = dict(result.record)
    if keyed_set:
        assert config.ptable is not None
        ts = TableSet(keyed_set)
        noise = cell_noise(ts, rows, originals, perturbed, config.ptable)
        none = np.zeros(ts.n_cells, dtype=bool)
        for mart, frames_ in _mart_frames(ts, none, [None] * ts.n_cells, noise).items():
            parts.setdefault(mart, []).extend(frames_)
        # every cell of the grid is listed, zeros included: a published 0 may be a small count
        cell_rows.append(_release_rows(ts, release_id, none, noise, zeros=True))
        figures |= perturbation_figures(ts, noise, none, perturbed)
    tables = {
        n: pl.concat(parts[n], how="vertical_relaxed") if parts.get(n) else _empty(n)
        for n in AGGREGATE_TABLES
    }
    record = {**record, "config": config.as_dict()}
    if figures:
        record["cell_key"] = figures
    return ProtectedAggregates(
        release_id=release_id,
        tables=tables,
        record=record,
        audit_ok=bool(result.audit.ok) if result is not None else True,
        n_primary=result.n_primary if result is not None else 0,
        n_secondary=result.n_secondary if result is not None else 0,
        result=result,
        cells=pl.concat(cell_rows)
        .select(list(RESEARCH_LEDGER_SCHEMA))
        .cast(RESEARCH_LEDGER_SCHEMA),
        protection=protection,
        ptable=config.ptable,
        perturbation=figures,
    )
