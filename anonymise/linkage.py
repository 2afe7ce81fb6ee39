"""Protection against linkage by what a particular attacker already knows.

Two helpers for records that k-anonymity over the acquaintance's quasi-identifiers does not
cover by itself:

* :func:`protect_known_values` — an **insider** of one source (an organisation's staff, holding
  its export) also knows the attributes that source records about its own participants. Within a
  published class, those values can single a participant out, and the rest of the record (what
  *other* sources recorded) would then be read. Values are withheld (``*``) until every
  combination an insider can match holds at least ``k`` records.
* :func:`coarsen_small_classes` — detail tables published with their own ids and only coarse
  quasi-identifiers: a class below ``k`` units first loses its finest attribute (``*``), and what
  still falls below ``k`` is withheld.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

WITHHELD = "*"
"""The published value of a cell withheld to protect a record."""


def _violations(
    frame: pl.DataFrame, classes: Sequence[str], known: Sequence[str], member: str, k: int
) -> pl.DataFrame:
    """(class, known-values) groups holding a member of the source and fewer than ``k`` rows."""
    return (
        frame.group_by([*classes, *known])
        .agg(pl.len().alias("_n"), pl.col(member).any().alias("_m"))
        .filter(pl.col("_m") & (pl.col("_n") < k))
        .select(*classes, *known)
    )


def protect_known_values(
    frame: pl.DataFrame,
    *,
    classes: Sequence[str],
    insiders: Mapping[str, tuple[str, Sequence[str]]],
    k: int,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Withhold values an insider knows until no insider can single a record out.

    ``frame`` has one row per person; ``classes`` are its published quasi-identifier columns;
    ``insiders`` maps a source to ``(member_column, known_columns)``: a boolean column saying
    whether the person is that source's participant, and the published columns whose values the
    source knows for its participants. For each source, any (class, known values) group that
    holds one of its participants must hold ``k`` rows (participants or not: rows with the same
    published values are indistinguishable). Otherwise, in three steps that each settle what the
    previous could not: the participants' known values in that group are withheld; then every
    participant's in the class; then every row's in the class (the class holds ``k`` rows).
    Returns the frame and the number of cells withheld per source.

    >>> f = pl.DataFrame({"q": ["a"] * 6, "debt": ["0", "0", "0", "0", "0", "1000+"],
    ...                   "in_x": [True] * 6})
    >>> out, n = protect_known_values(f, classes=["q"], insiders={"x": ("in_x", ["debt"])}, k=5)
    >>> sorted(out["debt"].to_list()), n
    (['*', '*', '*', '*', '*', '*'], {'x': 6})
    """
    out = frame
    withheld: dict[str, int] = dict.fromkeys(insiders, 0)
    # One source's withholding moves rows out of the groups another source had already settled
    # (a group can fall below k again), so the sources are revisited until none changes a cell.
    # Each round that changes anything withholds at least one more cell: this terminates.
    changed = True
    while changed:
        changed = False
        for source, (member, known) in insiders.items():
            known = list(known)
            before = out.select(pl.sum_horizontal(pl.col(c) == WITHHELD for c in known)).to_series()
            for step in range(3):
                bad = _violations(out, classes, known, member, k)
                if bad.height == 0:
                    break
                if step == 0:
                    hit = (
                        out.join(
                            bad.with_columns(pl.lit(True).alias("_bad")),
                            on=[*classes, *known],
                            how="left",
                            nulls_equal=True,
                        )["_bad"].fill_null(False)
                        & out[member]
                    )
                else:
                    cls = bad.select(classes).unique().with_columns(pl.lit(True).alias("_bad"))
                    in_cls = out.join(cls, on=list(classes), how="left", nulls_equal=True)[
                        "_bad"
                    ].fill_null(False)
                    hit = in_cls & out[member] if step == 1 else in_cls
                out = out.with_columns(
                    pl.when(pl.lit(hit)).then(pl.lit(WITHHELD)).otherwise(pl.col(c)).alias(c)
                    for c in known
                )
            after = out.select(pl.sum_horizontal(pl.col(c) == WITHHELD for c in known)).to_series()
            n = int((after - before).sum())
            withheld[source] += n
            changed = changed or n > 0
    return out, withheld


def coarsen_small_classes(
    frame: pl.DataFrame,
    *,
    unit: str,
    classes: Sequence[str],
    coarsen: str,
    k: int,
) -> tuple[pl.DataFrame, int]:
    """Make every class (``classes``) of a detail table hold at least ``k`` distinct ``unit``\\ s.

    A unit in a smaller class gets ``*`` in ``coarsen`` (its finest class attribute, e.g. the
    intake year); units still in a class below ``k`` are removed with all their rows. Returns the
    frame and the number of units removed.

    >>> f = pl.DataFrame({"u": [1, 2, 3, 4, 5, 6, 7], "org": ["a"] * 6 + ["b"],
    ...                   "year": ["2020"] * 5 + ["2021", "2020"]})
    >>> out, gone = coarsen_small_classes(f, unit="u", classes=["org", "year"], coarsen="year",
    ...                                   k=5)
    >>> out.sort("u")["year"].to_list(), gone
    (['2020', '2020', '2020', '2020', '2020'], 2)
    """
    sizes = pl.col(unit).n_unique().over(list(classes))
    out = frame.with_columns(
        pl.when(sizes < k).then(pl.lit(WITHHELD)).otherwise(pl.col(coarsen)).alias(coarsen)
    )
    keep = out.filter(pl.col(unit).n_unique().over(list(classes)) >= k)
    gone = out[unit].n_unique() - keep[unit].n_unique()
    return keep, int(gone)
