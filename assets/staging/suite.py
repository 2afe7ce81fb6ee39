"""Expectation suites for the canonical staging tables (``assets.staging.schema.ENTITIES``).

Staging is clean by construction (the adapters quarantine what does not fit), so these suites
are exact: no ``mostly``. Per table: the canonical columns (plus the computed check columns
below), lineage present, keys not null and unique, code lists exact (nulls only where the
schema allows them), ranges, date order, and referential integrity to the parent table.

Computed check columns (added in polars before GX sees the frame; names start with ``_``):
``_bsn_valid`` (persons: the BSN passes the 11-proef) and ``_parent_known`` (the row's
(organisation, parent key) exists in the parent table, when that table is given). Date order uses
GX's ``ExpectColumnPairValuesAToBeGreaterThanB`` (``or_equal``, rows with a missing date
ignored).

Large tables (more than :data:`SAMPLE_ROWS` rows; bridge_scores holds ~28 M at 1 M people) are
not handed to GX whole: GX converts to pandas and evaluates row by row, minutes per table. GX
validates a *witness* frame instead: every row that violates any of the suite's rules, computed
exactly in polars over **all** rows (:func:`witness_rows`: nulls, unknown codes, out-of-range
values, pattern misses, every row whose key occurs more than once, orphans, end-before-start,
failing BSNs, and the rows holding each date column's minimum and maximum), plus a seeded sample
of :data:`SAMPLE_ROWS` ordinary rows. Every expectation therefore reaches the same verdict with
the same ``unexpected_count`` as on the whole table (a violating row is always in the witness;
uniqueness within the witness equals uniqueness in the table because all copies of a repeated
key are in it; min/max are the table's). Only ``element_count`` and the percentages refer to the
witness; the details carry ``rows`` (whole table) and ``validated_rows`` (the witness).

The staging asset adapts one organisation at a time and never holds the union of all
organisations: :class:`StagingValidation` takes the tables part by part (whole organisations per
part: every key and reference includes ``organisation``), keeps each part's witness rows and a
sample, and validates every table once at the end, with the same verdicts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from anonymise.bsn import is_valid_bsn
from assets.staging import schema
from assets.staging.adapters.common import repeated, row_hash
from quality.outcome import CheckOutcome

BSN_VALID = "_bsn_valid"
PARENT_KNOWN = "_parent_known"
SNAKE_CASE = r"^[a-z0-9]+(?:_[a-z0-9]+)*$"
PC6 = r"^[1-9][0-9]{3}[A-Z]{2}$"
EARLIEST_DATE = dt.date(1900, 1, 1)
SAMPLE_ROWS = 50_000
"""Tables above this size are validated on their witness rows plus a sample of this many rows."""
SAMPLE_SEED = 20261123


@dataclass(frozen=True)
class Reference:
    """Rows of this table must point at an existing (organisation, key) row in ``parent``."""

    parent: str
    columns: tuple[str, ...]  # in this table
    parent_columns: tuple[str, ...]  # in the parent table


@dataclass(frozen=True)
class StagingSpec:
    """Exact expectations for one canonical table."""

    not_null: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()  # compound key (organisation included)
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # nulls allowed
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    patterns: dict[str, str] = field(default_factory=dict)  # nulls allowed
    date_order: tuple[tuple[str, str], ...] = ()  # (later, earlier): later >= earlier
    dates: tuple[str, ...] = ()  # not before 1900 and not in the future
    reference: Reference | None = None
    bsn: str | None = None


_LINEAGE_NOT_NULL = ("organisation", "source_file", "source_row")
_EPISODE_REF = Reference("episodes", ("organisation", "episode_id"), ("organisation", "episode_id"))

STAGING_SPECS: dict[str, StagingSpec] = {
    "persons": StagingSpec(
        not_null=("source_person_id", "bsn"),
        unique=("organisation", "source_person_id"),
        codes={
            "gender": schema.GENDERS,
            "household_type": schema.HOUSEHOLD_TYPES,
            "nationality_group": schema.NATIONALITY_GROUPS,
        },
        ranges={"age_at_intake": (0, 120), "children_count": (0, 20)},
        patterns={"postcode": PC6},
        dates=("birth_date",),
        bsn="bsn",
    ),
    "episodes": StagingSpec(
        not_null=(
            "episode_id",
            "source_person_id",
            "programme",
            "start_date",
            "end_reason",
            "objects_to_research",
        ),
        unique=("organisation", "episode_id"),
        codes={"programme": schema.PROGRAMMES, "end_reason": schema.END_REASONS},
        patterns={"outcome": SNAKE_CASE},
        date_order=(("end_date", "start_date"),),
        dates=("start_date", "end_date"),
        reference=Reference(
            "persons",
            ("organisation", "source_person_id"),
            ("organisation", "source_person_id"),
        ),
    ),
    "bridge_scores": StagingSpec(
        not_null=("episode_id", "measured_on", "domain", "level"),
        unique=("organisation", "episode_id", "measured_on", "domain"),
        codes={"domain": schema.DOMAINS},
        ranges={"level": (1, 5)},
        dates=("measured_on",),
        reference=_EPISODE_REF,
    ),
    "goals": StagingSpec(
        not_null=("goal_id", "episode_id", "domain", "set_on"),
        unique=("organisation", "goal_id"),
        codes={"domain": schema.DOMAINS},
        ranges={"confidence": (1, 10)},
        date_order=(("achieved_on", "set_on"),),
        dates=("set_on", "achieved_on"),
        reference=_EPISODE_REF,
    ),
    "case_problems": StagingSpec(
        not_null=("episode_id", "problem"),
        codes={"problem": schema.PROBLEMS},
        patterns={"status": SNAKE_CASE},
        reference=_EPISODE_REF,
    ),
    "debts": StagingSpec(
        # A debt row may carry only the number of creditors (Zuidplas registers arrears cases
        # before the amount is known), so the amount itself may be null.
        not_null=("episode_id",),
        ranges={"debt_amount_eur": (0, None), "creditor_count": (0, None)},
        dates=("measured_on",),
        reference=_EPISODE_REF,
    ),
    "income_sources": StagingSpec(
        not_null=("episode_id", "income_source"),
        codes={"income_source": schema.INCOME_SOURCES},
        ranges={"net_monthly_eur": (0, None)},
        reference=_EPISODE_REF,
    ),
    "outcomes": StagingSpec(
        not_null=("episode_id", "measure", "value_num"),
        patterns={"measure": SNAKE_CASE},
        reference=_EPISODE_REF,
    ),
}
"""Canonical entity -> its exact expectations (keys as in ``schema.ENTITIES``)."""


def _parent_keys(ref: Reference, parent: pl.DataFrame) -> pl.DataFrame:
    """The parent's distinct non-null keys, named as in the child table."""
    return (
        parent.select(
            [pl.col(p).alias(c) for p, c in zip(ref.parent_columns, ref.columns, strict=True)]
        )
        .drop_nulls()
        .unique()
    )


def _reference_usable(ref: Reference, df: pl.DataFrame, parent: pl.DataFrame) -> bool:
    return all(c in df.columns for c in ref.columns) and all(
        c in parent.columns for c in ref.parent_columns
    )


def _with_check_columns(
    entity: str,
    spec: StagingSpec,
    df: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    parent_keys: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Add the computed check columns; returns the frame and notes for the details.

    ``parent_keys`` (the parent's distinct keys, see :func:`_parent_keys`) may be passed when the
    caller already computed them.
    """
    notes: dict[str, Any] = {}
    out = df
    if spec.bsn and spec.bsn in df.columns:
        out = out.with_columns(is_valid_bsn(pl.col(spec.bsn)).alias(BSN_VALID))
    ref = spec.reference
    if ref is not None:
        parent = tables.get(ref.parent)
        if parent is None:
            notes["referential_integrity"] = f"not checked: no {ref.parent} table given"
        elif _reference_usable(ref, df, parent):
            keys = (
                parent_keys if parent_keys is not None else _parent_keys(ref, parent)
            ).with_columns(pl.lit(True).alias(PARENT_KNOWN))
            out = out.join(keys, on=list(ref.columns), how="left", nulls_equal=False).with_columns(
                pl.col(PARENT_KNOWN).fill_null(False)
            )
            notes["referential_integrity"] = f"{'/'.join(ref.columns)} -> {ref.parent}"
    return out, notes


def _outside(c: str, low: float | None, high: float | None, dtype: pl.DataType) -> pl.Expr:
    v = pl.col(c)
    bad = pl.lit(False)
    if low is not None:
        bad = bad | (v < low)
    if high is not None:
        bad = bad | (v > high)
    if dtype.is_float():
        bad = bad | v.is_nan()
    return bad.fill_null(False)


def _required_rows(
    entity: str,
    df: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    parent_keys: pl.DataFrame | None = None,
) -> pl.Series:
    """Positions (UInt32, ascending) of the rows GX must see to judge ``df`` exactly: every row
    violating a rule of the suite and the rows holding each date column's min and max."""
    spec = STAGING_SPECS[entity]
    schema_ = df.schema
    present = set(df.columns)
    bad: list[pl.Expr] = []
    for c in dict.fromkeys((*_LINEAGE_NOT_NULL, *spec.not_null, *spec.unique)):
        if c in present:
            null = pl.col(c).is_null()
            bad.append(null | pl.col(c).is_nan() if schema_[c].is_float() else null)
    if "organisation" in present:
        bad.append(~pl.col("organisation").is_in(list(schema.ORGANISATIONS)).fill_null(True))
    if "source_row" in present:
        bad.append(_outside("source_row", 1, None, schema_["source_row"]))
    for c, codes in spec.codes.items():
        if c in present:
            bad.append(~pl.col(c).is_in(list(codes)).fill_null(True))
    for c, (low, high) in spec.ranges.items():
        if c in present:
            bad.append(_outside(c, low, high, schema_[c]))
    for c, pattern in spec.patterns.items():
        if c in present:
            bad.append(~pl.col(c).cast(pl.String).str.contains(pattern).fill_null(True))
    for later, earlier in spec.date_order:
        if later in present and earlier in present:
            bad.append((pl.col(later) < pl.col(earlier)).fill_null(False))
    if spec.bsn and spec.bsn in present:
        bad.append(~is_valid_bsn(pl.col(spec.bsn)))
    if spec.unique and all(c in present for c in spec.unique):
        # Every row whose key hash repeats: a superset of the duplicated keys (a hash collision
        # only adds a row, which stays unique within the witness).
        key_hash = df.select(row_hash(list(spec.unique))).to_series()
        bad.append(repeated(key_hash))
    ref = spec.reference
    parent = tables.get(ref.parent) if ref is not None else None
    if ref is not None and parent is not None and _reference_usable(ref, df, parent):
        keys = parent_keys if parent_keys is not None else _parent_keys(ref, parent)
        bad.append(_orphans(list(ref.columns), df, keys))
        # rows with a null key are already in (not_null)
    index = pl.int_range(pl.len(), dtype=pl.UInt32)
    picked = (
        df.select(index.alias("i"), pl.any_horizontal(bad).alias("_bad"))
        .filter("_bad")
        .get_column("i")
        if bad
        else pl.Series("i", [], dtype=pl.UInt32)
    )
    extremes = []
    for c in spec.dates:
        if c in present and df[c].null_count() < df.height:
            extremes += [df[c].arg_min(), df[c].arg_max()]
    extra = pl.Series("i", [i for i in extremes if i is not None], dtype=pl.UInt32)
    return pl.concat([picked, extra]).unique().sort()


def _orphans(cols: list[str], df: pl.DataFrame, keys: pl.DataFrame) -> pl.Expr | pl.Series:
    """True for rows of ``df`` whose non-null key ``cols`` is not among ``keys`` (exact)."""
    if len(cols) == 2 and cols[0] == "organisation":
        # Per organisation, a set look-up of the other key column: several times faster than a
        # join over the pairs on tens of millions of rows.
        known = [
            (pl.col("organisation") == org)
            & pl.col(cols[1]).is_in(ids.get_column(cols[1]).implode())
            for (org,), ids in keys.partition_by("organisation", as_dict=True).items()
        ]
        if not known:
            return pl.all_horizontal([pl.col(c).is_not_null() for c in cols])
        return ~pl.any_horizontal(known).fill_null(False) & pl.all_horizontal(
            [pl.col(c).is_not_null() for c in cols]
        )
    orphans = df.select(cols).drop_nulls().unique().join(keys, on=cols, how="anti")
    if not orphans.height:
        return pl.repeat(False, df.height, eager=True)
    flagged = orphans.with_columns(pl.lit(True).alias("_orphan"))
    return (
        df.select(cols)
        .join(flagged, on=cols, how="left", maintain_order="left")
        .get_column("_orphan")
        .fill_null(False)
    )


def _sample_rows(
    height: int, n: int, *, exclude: pl.Series | None = None, seed: int = SAMPLE_SEED
) -> pl.Series:
    """A seeded sample of ``n`` row positions of a ``height``-row frame, none in ``exclude``."""
    index = pl.int_range(0, height, dtype=pl.UInt32, eager=True).alias("i")
    if exclude is not None and exclude.len():
        index = index.filter(~index.is_in(exclude.implode()))
    return index.sample(n=min(n, index.len()), seed=seed)


def witness_rows(
    entity: str,
    df: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    parent_keys: pl.DataFrame | None = None,
    *,
    sample: int = SAMPLE_ROWS,
) -> pl.DataFrame:
    """The rows of ``df`` GX must see to judge the whole table exactly (see the module doc):
    every row violating a rule of the suite, the rows holding each date column's min and max,
    and a seeded sample of ``sample`` rows; in table order, columns unchanged."""
    required = _required_rows(entity, df, tables, parent_keys)
    drawn = _sample_rows(df.height, sample)
    return df[pl.concat([required, drawn]).unique().sort()]


def staging_expectations(
    entity: str, columns: list[str], all_null: frozenset[str] = frozenset()
) -> list[Any]:
    """The GX expectations for one canonical table whose frame has ``columns``.

    Date-range expectations are left out for the ``all_null`` columns (GX's column min/max
    expectations fail on a column without values).
    """
    from quality.gx_runtime import gxe

    x = gxe()
    spec = STAGING_SPECS[entity]
    expected = [*schema.ENTITIES[entity], *(c for c in columns if c.startswith("_"))]
    out: list[Any] = [
        x.ExpectTableColumnsToMatchSet(
            column_set=expected, exact_match=True, meta={"rule": "canonical_columns"}
        )
    ]
    present = set(columns)
    for c in (*_LINEAGE_NOT_NULL, *spec.not_null):
        if c in present:
            out.append(x.ExpectColumnValuesToNotBeNull(column=c, meta={"rule": "not_null"}))
    if "organisation" in present:
        out.append(
            x.ExpectColumnValuesToBeInSet(
                column="organisation", value_set=list(schema.ORGANISATIONS), meta={"rule": "code"}
            )
        )
    if "source_row" in present:
        out.append(
            x.ExpectColumnValuesToBeBetween(
                column="source_row", min_value=1, meta={"rule": "range"}
            )
        )
    if spec.unique and all(c in present for c in spec.unique):
        out.append(
            x.ExpectCompoundColumnsToBeUnique(column_list=list(spec.unique), meta={"rule": "key"})
        )
    for c, codes in spec.codes.items():
        if c in present:
            out.append(
                x.ExpectColumnValuesToBeInSet(
                    column=c, value_set=list(codes), meta={"rule": "code"}
                )
            )
    for c, (low, high) in spec.ranges.items():
        if c in present:
            out.append(
                x.ExpectColumnValuesToBeBetween(
                    column=c, min_value=low, max_value=high, meta={"rule": "range"}
                )
            )
    for c, pattern in spec.patterns.items():
        if c in present:
            out.append(
                x.ExpectColumnValuesToMatchRegex(column=c, regex=pattern, meta={"rule": "pattern"})
            )
    # Min/max rather than ExpectColumnValuesToBeBetween: on datetime columns the latter takes
    # ~8 s per 1 M rows in GX 1.24.1 (element-wise), min/max ~0.3 s.
    earliest = dt.datetime.combine(EARLIEST_DATE, dt.time())
    today = dt.datetime.combine(dt.date.today(), dt.time())
    for c in spec.dates:
        if c in present and c not in all_null:
            out.append(
                x.ExpectColumnMinToBeBetween(
                    column=c, min_value=earliest, meta={"rule": "date_not_before_1900"}
                )
            )
            out.append(
                x.ExpectColumnMaxToBeBetween(
                    column=c, max_value=today, meta={"rule": "date_not_in_future"}
                )
            )
    for later, earlier in spec.date_order:
        if later in present and earlier in present:
            out.append(
                x.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=later,
                    column_B=earlier,
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                    meta={"rule": "date_order"},
                )
            )
    if spec.bsn and BSN_VALID in present:
        out.append(
            x.ExpectColumnValuesToBeInSet(
                column=BSN_VALID, value_set=[True], meta={"rule": "bsn_11_proef"}
            )
        )
    if PARENT_KNOWN in present:
        out.append(
            x.ExpectColumnValuesToBeInSet(
                column=PARENT_KNOWN, value_set=[True], meta={"rule": "referential_integrity"}
            )
        )
    return out


@dataclass
class _Accumulated:
    """What :class:`StagingValidation` keeps of one canonical table across parts."""

    rows: int = 0
    columns: list[str] = field(default_factory=list)
    dates_with_values: set[str] = field(default_factory=set)
    required: list[pl.DataFrame] = field(default_factory=list)  # rows GX must see
    sampled: list[pl.DataFrame] = field(default_factory=list)  # ordinary rows
    notes: dict[str, Any] = field(default_factory=dict)


class StagingValidation:
    """Validate canonical tables that arrive in parts (one organisation at a time), each table
    once at the end, with the verdicts and unexpected counts of validating the whole table.

    Every key and reference of the suites includes ``organisation``, so a part that holds whole
    organisations can be judged on its own: :meth:`add` keeps its witness rows (every violating
    row, each date column's extreme rows) with their computed check columns, plus a seeded
    sample of ordinary rows; :meth:`outcomes` runs GX once per table on all parts' witness rows
    and at most :data:`SAMPLE_ROWS` sampled rows. A table of at most :data:`SAMPLE_ROWS` rows in
    all is validated whole. An organisation may appear in only one part (else a key repeated
    across two parts would be missed): :meth:`add` refuses a second part of it.
    """

    def __init__(self) -> None:
        self._tables: dict[str, _Accumulated] = {}
        self._unknown: set[str] = set()
        self._organisations: set[str | None] = set()

    def add(self, tables: Mapping[str, pl.DataFrame]) -> None:
        """Add one part: canonical tables of the same organisation(s), parents included (the
        part's ``persons`` and ``episodes`` are the references of its other tables)."""
        orgs: set[str | None] = set()
        for df in tables.values():
            if "organisation" in df.columns and not df.is_empty():
                column = df.get_column("organisation")
                lo, hi = column.min(), column.max()  # one pass, no hashing: usually one value
                orgs |= {lo, hi} if lo == hi else set(column.drop_nulls().unique().to_list())
        orgs.discard(None)
        repeated = orgs & self._organisations
        if repeated:
            raise ValueError(
                f"organisation(s) {sorted(repeated)} already validated in an earlier part; "
                "a part must hold whole organisations."
            )
        self._organisations |= orgs
        keys: dict[tuple, pl.DataFrame] = {}  # parent -> its distinct keys, computed once
        for entity, df in tables.items():
            if entity not in STAGING_SPECS:
                self._unknown.add(entity)
                continue
            ref = STAGING_SPECS[entity].reference
            parent_keys = None
            if ref is not None and ref.parent in tables:
                parent = tables[ref.parent]
                if _reference_usable(ref, df, parent):
                    cache = (ref.parent, ref.columns, ref.parent_columns)
                    if cache not in keys:
                        keys[cache] = _parent_keys(ref, parent)
                    parent_keys = keys[cache]
            self.add_table(entity, df, tables, parent_keys=parent_keys)

    def add_table(
        self,
        entity: str,
        df: pl.DataFrame,
        tables: Mapping[str, pl.DataFrame] | None = None,
        *,
        parent_keys: pl.DataFrame | None = None,
    ) -> None:
        """Add one part of one table; ``tables`` supplies its parent (``parent_keys``, the
        parent's distinct keys, may be passed when already computed)."""
        tables = tables or {}
        spec = STAGING_SPECS[entity]
        acc = self._tables.setdefault(entity, _Accumulated())
        acc.rows += df.height
        acc.columns = df.columns
        acc.dates_with_values |= {
            c for c in spec.dates if c in df.columns and df[c].null_count() < df.height
        }
        if df.height <= SAMPLE_ROWS:
            required, sampled = df, df.clear()
        else:
            must = _required_rows(entity, df, tables, parent_keys)
            required = df[must]
            sampled = df[_sample_rows(df.height, SAMPLE_ROWS, exclude=must).sort()]
        required, notes = _with_check_columns(entity, spec, required, tables, parent_keys)
        sampled, _ = _with_check_columns(entity, spec, sampled, tables, parent_keys)
        acc.required.append(required)
        acc.sampled.append(sampled)
        acc.notes.update(notes)

    def outcome(self, entity: str) -> CheckOutcome:
        """The outcome of one table over every part added."""
        from quality.gx_runtime import validate_frame

        acc = self._tables[entity]
        spec = STAGING_SPECS[entity]
        sampled = pl.concat(acc.sampled, how="diagonal_relaxed")
        if acc.rows > SAMPLE_ROWS and sampled.height > SAMPLE_ROWS:
            sampled = sampled.sample(n=SAMPLE_ROWS, seed=SAMPLE_SEED)
        frame = pl.concat([*acc.required, sampled], how="diagonal_relaxed")
        all_null = frozenset(
            c for c in spec.dates if c in acc.columns and c not in acc.dates_with_values
        )
        expectations = staging_expectations(entity, frame.columns, all_null)
        notes = {"rows": acc.rows, "validated_rows": frame.height, **acc.notes}
        return validate_frame(frame, expectations, name=f"staging_{entity}", extra=notes)

    def outcomes(self) -> dict[str, CheckOutcome]:
        """One outcome per table added (a table name outside the canonical model fails)."""
        out = {e: self.outcome(e) for e in self._tables}
        for entity in sorted(self._unknown):
            out[entity] = CheckOutcome(
                False,
                f"{entity}: not a canonical staging table.",
                {"known": sorted(STAGING_SPECS)},
            )
        return out


def validate_staging_table(
    entity: str,
    df: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame] | None = None,
    *,
    parent_keys: pl.DataFrame | None = None,
) -> CheckOutcome:
    """Validate one canonical table; ``tables`` supplies the parent for referential integrity.

    Tables above :data:`SAMPLE_ROWS` rows are validated on their witness rows (see the module
    docstring): the same verdicts and unexpected counts as on the whole table.
    """
    validation = StagingValidation()
    validation.add_table(entity, df, tables, parent_keys=parent_keys)
    return validation.outcome(entity)


def validate_staging(tables: Mapping[str, pl.DataFrame]) -> dict[str, CheckOutcome]:
    """One outcome per given canonical table (unknown table names fail); the tables are one
    part of :class:`StagingValidation` (so any mix of organisations)."""
    validation = StagingValidation()
    validation.add(tables)
    outcomes = validation.outcomes()
    return {e: outcomes[e] for e in tables}
