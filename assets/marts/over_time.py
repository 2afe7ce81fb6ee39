"""Microdata over time: a change of fewer than k units in a class is not published until it is
not alone (issue 14; docs/adr/0004-microdata-over-time.md).

Two consecutive releases of the same microdata differ by the persons who were erased, objected,
left by retention, arrived, or got a new episode or measurement. Where a class (a combination
of published quasi-identifiers in ``mart_persons``; an organisation × intake year in a detail
table) changed by fewer than ``k`` units since the version analysts last saw, the two versions'
difference would isolate those units' records. Such a class is **held back**: in
``mart_persons`` its sensitive values are withheld (``*``), in a detail table its rows are left
out, until the change accumulated since its last publication reaches ``k`` (or is undone).

Pure polars. A unit's content is summarised by a digest (an order-free sum of 32-bit row
hashes), a class's state by the multiset of its units' digests; the steward's ledger keeps, per
release, the state of every class as analysts last saw it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

STATE_SCHEMA = {"table_name": pl.String, "class_key": pl.String, "digest": pl.UInt64}
"""One row per unit (duplicates kept: a multiset) of a class's last published state."""


@dataclass(frozen=True)
class ClassSpec:
    """How a published table is cut into classes and what a unit's content is."""

    unit: str
    classes: tuple[str, ...]
    content: tuple[str, ...]
    held_back: str  # "values": withhold the content columns; "rows": leave the class's rows out


def class_key(classes: Sequence[str]) -> pl.Expr:
    """The class of a row as one string (``\\x1f``-joined coordinates; null as ``∅``)."""
    return pl.concat_str(
        [pl.col(c).cast(pl.String).fill_null("∅") for c in classes], separator="\x1f"
    ).alias("class_key")


def unit_digests(frame: pl.DataFrame | pl.LazyFrame, spec: ClassSpec) -> pl.DataFrame:
    """``class_key`` and ``digest`` per unit: the sum of the 32-bit hashes of its rows' class
    and content columns (order-free; the unit's random id is not part of it)."""
    cols = [*spec.classes, *spec.content]
    return (
        frame.lazy()
        .select(
            spec.unit,
            class_key(spec.classes),
            (pl.struct(cols).hash(seed=1) // (1 << 32)).alias("_h"),
        )
        .group_by(spec.unit)
        .agg(pl.col("class_key").first(), pl.col("_h").sum().cast(pl.UInt64).alias("digest"))
        .select("class_key", "digest")
        .collect()
    )


def changed_units(current: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """Per class, the size of the multiset difference of unit digests (added + removed units;
    a changed unit counts twice). Classes on one side only count all their units."""

    def counted(df: pl.DataFrame) -> pl.DataFrame:
        return df.group_by("class_key", "digest").agg(pl.len().alias("n"))

    both = counted(current).join(
        counted(previous), on=["class_key", "digest"], how="full", coalesce=True
    )
    return both.group_by("class_key").agg(
        (pl.col("n").cast(pl.Int64).fill_null(0) - pl.col("n_right").cast(pl.Int64).fill_null(0))
        .abs()
        .sum()
        .alias("changed")
    )


def held_back_classes(current: pl.DataFrame, previous: pl.DataFrame | None, k: int) -> pl.Series:
    """Classes whose change since the last published state is between 1 and ``k - 1`` units.

    >>> cur = pl.DataFrame({"class_key": ["a", "a", "b"], "digest": [1, 2, 3]},
    ...                    schema={"class_key": pl.String, "digest": pl.UInt64})
    >>> prev = pl.DataFrame({"class_key": ["a", "a", "a", "b"], "digest": [1, 2, 9, 3]},
    ...                     schema={"class_key": pl.String, "digest": pl.UInt64})
    >>> held_back_classes(cur, prev, 5).to_list()
    ['a']
    """
    if previous is None or previous.height == 0:
        return pl.Series("class_key", [], dtype=pl.String)
    diff = changed_units(current, previous)
    # a class that appears or vanishes whole is at least k units (classes hold k or more)
    return diff.filter((pl.col("changed") > 0) & (pl.col("changed") < k))["class_key"].sort()


def next_state(
    current: pl.DataFrame, previous: pl.DataFrame | None, held: pl.Series
) -> pl.DataFrame:
    """The state analysts have after this release: the current digests of every published
    class, the previous (last published) digests of every held-back class."""
    keep_prev = (
        previous.filter(pl.col("class_key").is_in(held.implode()))
        if previous is not None
        else current.clear()
    )
    return pl.concat(
        [current.filter(~pl.col("class_key").is_in(held.implode())), keep_prev],
        how="vertical_relaxed",
    ).select("class_key", pl.col("digest").cast(pl.UInt64))


def release_specs(
    columns: dict[str, list[str]], quasi_identifiers: Sequence[str], sensitive: Sequence[str]
) -> dict[str, ClassSpec]:
    """The class specification of every published microdata table (``columns``: table ->
    its columns): ``persons`` by its quasi-identifiers (held back: the sensitive values), the
    detail tables by organisation and intake year (held back: their rows)."""
    out: dict[str, ClassSpec] = {}
    for table, cols in columns.items():
        if table == "persons":
            out[table] = ClassSpec(
                unit="person_id",
                classes=tuple(q for q in quasi_identifiers if q in cols),
                content=tuple(s for s in sensitive if s in cols),
                held_back="values",
            )
            continue
        ids = [c for c in cols if c.endswith("_id")]
        if len(ids) != 1 or not {"organisation", "intake_year"} <= set(cols):
            raise ValueError(f"{table}: no single random id with organisation and intake year")
        classes = ("organisation", "intake_year")
        out[table] = ClassSpec(
            unit=ids[0],
            classes=classes,
            content=tuple(c for c in cols if c not in (*classes, ids[0])),
            held_back="rows",
        )
    return out


@dataclass
class HeldBack:
    """One table's outcome: the frame to publish, the state to record, the held-back classes."""

    frame: pl.LazyFrame
    state: pl.DataFrame
    held: pl.Series


def apply_over_time(
    frame: pl.DataFrame | pl.LazyFrame,
    spec: ClassSpec,
    previous: pl.DataFrame | None,
    k: int,
    withheld: str = "*",
) -> HeldBack:
    """Hold back the classes of ``frame`` that changed by 1..k-1 units since ``previous``
    (the state analysts last saw), and the state analysts will have after this release."""
    digests = unit_digests(frame, spec)
    held = held_back_classes(digests, previous, k)
    lazy = frame.lazy()
    if held.len():
        in_held = class_key(spec.classes).is_in(held.implode())
        if spec.held_back == "rows":
            lazy = lazy.filter(~in_held)
        else:
            lazy = lazy.with_columns(
                pl.when(in_held).then(pl.lit(withheld)).otherwise(pl.col(c)).alias(c)
                for c in spec.content
            )
    return HeldBack(lazy, next_state(digests, previous, held), held)
