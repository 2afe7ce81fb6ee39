"""Privacy expectations for research marts, as reusable building blocks.

* :func:`expect_k_anonymous_per_person`: every combination of quasi-identifiers is shared by at
  least ``k`` distinct persons (a custom GX expectation, evaluated on one row per person and
  combination, so a person with many rows counts once).
* :func:`expect_no_identifier_like_values`: no value looks like a BSN, e-mail address, phone
  number or six-character postcode, and no column is named like a direct identifier.
* :func:`expect_cells_protected`: every published count is at least the threshold, or the cell
  is suppressed (value null and suppression flag true).

Each returns a :class:`~quality.outcome.CheckOutcome` (counts only, never values).

The checks of a finished research database run *in* DuckDB (:func:`expect_k_anonymous_in_duckdb`,
:func:`expect_no_identifier_like_values_in_duckdb`): the database computes the per-class person
counts and each column's distinct values, and only those (thousands of classes, at most a few
hundred thousand distinct ids) go through Great Expectations, never the tens of millions of rows.
Both are exact: every class and every distinct value is checked.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

from quality.outcome import CheckOutcome
from quality.privacy import IDENTIFIER_COLUMN, RESEARCH_VALUE_PATTERNS

K_ANONYMOUS_METRIC = "multicolumn_values.k_anonymous_classes"

IDENTIFIER_PATTERNS: dict[str, str] = RESEARCH_VALUE_PATTERNS
"""The value rules of the research database (defined once, in ``quality.privacy``)."""
PROTECTED = "_protected"


@functools.cache
def k_anonymity_expectation_class() -> type:
    """``ExpectMulticolumnValuesToBeKAnonymous`` (defined once per process: GX registers
    expectation and metric classes by name when they are defined)."""
    from quality.gx_runtime import gx, quiet

    gx()
    with quiet():
        from great_expectations.execution_engine import PandasExecutionEngine
        from great_expectations.expectations.expectation import MulticolumnMapExpectation
        from great_expectations.expectations.metrics.map_metric_provider import (
            MulticolumnMapMetricProvider,
            multicolumn_condition_partial,
        )

    class MulticolumnValuesKAnonymousClasses(MulticolumnMapMetricProvider):
        """Row condition: the row's combination of values occurs in at least ``k`` rows."""

        condition_metric_name = K_ANONYMOUS_METRIC
        condition_domain_keys = (
            "batch_id",
            "table",
            "column_list",
            "row_condition",
            "condition_parser",
            "ignore_row_if",
        )
        condition_value_keys = ("k",)

        @multicolumn_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column_list, k, **kwargs):  # noqa: N805  (GX passes the class)
            cols = list(column_list.columns)
            sizes = (
                column_list.assign(_one=1)
                .groupby(cols, dropna=False, observed=True)["_one"]
                .transform("size")
            )
            return sizes >= k

    class ExpectMulticolumnValuesToBeKAnonymous(MulticolumnMapExpectation):
        """Every combination of values in ``column_list`` occurs in at least ``k`` rows.

        Give it one row per person and combination to count persons, not rows.
        """

        k: int
        ignore_row_if: str = "never"  # a missing quasi-identifier is a class of its own
        map_metric = K_ANONYMOUS_METRIC
        success_keys = ("column_list", "k", "mostly")
        domain_keys = (
            "batch_id",
            "table",
            "column_list",
            "row_condition",
            "condition_parser",
            "ignore_row_if",
        )

    return ExpectMulticolumnValuesToBeKAnonymous


def expect_k_anonymous_per_person(
    df: pl.DataFrame, quasi_identifiers: Sequence[str], person_column: str, k: int
) -> CheckOutcome:
    """Every combination of ``quasi_identifiers`` is shared by at least ``k`` distinct persons.

    The frame is first reduced to one row per (person, combination), so a class of two persons
    with many rows each still fails. A null quasi-identifier is a value of its own.
    """
    qis = list(quasi_identifiers)
    name = f"k_anonymity(k={k})"
    missing = [c for c in (*qis, person_column) if c not in df.columns]
    if missing or not qis:
        return CheckOutcome(
            False,
            f"{name}: column(s) {missing or 'quasi-identifiers'} missing.",
            {"missing_columns": missing, "quasi_identifiers": qis},
        )
    reduced = df.select(person_column, *qis).unique()
    classes = reduced.group_by(qis).agg(pl.len().alias("persons"))
    small = classes.filter(pl.col("persons") < k)
    extra = {
        "k": k,
        "quasi_identifiers": qis,
        "person_column": person_column,
        "rows": df.height,
        "persons": int(reduced.select(pl.col(person_column).n_unique()).item()),
        "classes": classes.height,
        "classes_below_k": small.height,
        "person_class_rows_below_k": int(small["persons"].sum()),
    }
    from quality.gx_runtime import validate_frame

    expectation = k_anonymity_expectation_class()(
        column_list=qis, k=k, meta={"rule": "k_anonymous_per_person"}
    )
    outcome = validate_frame(reduced.drop(person_column), [expectation], name=name, extra=extra)
    if outcome.passed:
        return CheckOutcome(
            True,
            f"{name}: all {classes.height} class(es) of {'/'.join(qis)} hold >= {k} persons.",
            outcome.details,
        )
    return CheckOutcome(
        False,
        f"{name}: {small.height} of {classes.height} class(es) of {'/'.join(qis)} hold fewer "
        f"than {k} persons.",
        outcome.details,
    )


class SqlConnection(Protocol):
    """What the DuckDB checks need of a connection (a ``duckdb.DuckDBPyConnection``)."""

    def execute(self, query: str, parameters: object = ...) -> Any: ...

    def register(self, view_name: str, python_object: object) -> Any: ...

    def unregister(self, view_name: str) -> Any: ...


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _k_outcome(
    persons_per_class: pl.DataFrame,
    *,
    k: int,
    qis: Sequence[str],
    person_column: str,
    extra: dict[str, Any],
) -> CheckOutcome:
    """GX on the class-size column (one row per class): every class holds >= k persons."""
    from quality.gx_runtime import gxe, validate_frame

    name = f"k_anonymity(k={k})"
    sizes = persons_per_class["persons"]
    small = sizes.filter(sizes < k)
    details = {
        "k": k,
        "quasi_identifiers": list(qis),
        "person_column": person_column,
        **extra,
        "classes": persons_per_class.height,
        "classes_below_k": small.len(),
        "person_class_rows_below_k": int(small.sum()),
    }
    expectation = gxe().ExpectColumnValuesToBeBetween(
        column="persons", min_value=k, meta={"rule": "k_anonymous_per_person"}
    )
    outcome = validate_frame(
        persons_per_class.select("persons"), [expectation], name=name, extra=details
    )
    label = "/".join(qis)
    if outcome.passed:
        return CheckOutcome(
            True,
            f"{name}: all {details['classes']} class(es) of {label} hold >= {k} persons.",
            outcome.details,
        )
    return CheckOutcome(
        False,
        f"{name}: {details['classes_below_k']} of {details['classes']} class(es) of {label} "
        f"hold fewer than {k} persons.",
        outcome.details,
    )


def _missing_k_columns(
    columns: Sequence[str], qis: Sequence[str], person_column: str, k: int
) -> CheckOutcome | None:
    missing = [c for c in (*qis, person_column) if c not in columns]
    if missing or not qis:
        return CheckOutcome(
            False,
            f"k_anonymity(k={k}): column(s) {missing or 'quasi-identifiers'} missing.",
            {"missing_columns": missing, "quasi_identifiers": list(qis)},
        )
    return None


def expect_k_anonymous_classes(
    df: pl.DataFrame | pl.LazyFrame, quasi_identifiers: Sequence[str], person_column: str, k: int
) -> CheckOutcome:
    """:func:`expect_k_anonymous_per_person` computed per class: polars counts the distinct
    persons of every combination (a null is a value of its own), GX checks each count >= k.

    Same verdict as the row-level expectation, on one row per class instead of one per person.
    """
    lf = df.lazy()
    qis = list(quasi_identifiers)
    bad = _missing_k_columns(lf.collect_schema().names(), qis, person_column, k)
    if bad is not None:
        return bad
    person = pl.col(person_column)
    classes = lf.group_by(qis).agg(person.n_unique().cast(pl.Int64).alias("persons")).collect()
    totals = lf.select(pl.len().alias("rows"), person.n_unique().alias("persons")).collect()
    extra = {"rows": int(totals["rows"][0]), "persons": int(totals["persons"][0])}
    return _k_outcome(classes, k=k, qis=qis, person_column=person_column, extra=extra)


def expect_k_anonymous_in_duckdb(
    con: SqlConnection, table: str, quasi_identifiers: Sequence[str], person_column: str, k: int
) -> CheckOutcome:
    """Every combination of ``quasi_identifiers`` in ``table`` holds at least ``k`` distinct
    persons: one SQL ``group by`` in DuckDB (NULL is a value of its own, as in SQL grouping),
    then GX on the per-class person counts."""
    qis = list(quasi_identifiers)
    cols = [r[0] for r in con.execute(f"select * from {_quote_ident(table)} limit 0").description]
    bad = _missing_k_columns(cols, qis, person_column, k)
    if bad is not None:
        return bad
    keys = ", ".join(_quote_ident(q) for q in qis)
    person = _quote_ident(person_column)
    t = _quote_ident(table)
    classes = pl.DataFrame(
        {
            "persons": [
                r[0]
                for r in con.execute(
                    f"select count(distinct {person}) from {t} group by {keys}"
                ).fetchall()
            ]
        },
        schema={"persons": pl.Int64},
    )
    rows, persons = con.execute(f"select count(*), count(distinct {person}) from {t}").fetchone()
    extra = {"table": table, "rows": int(rows), "persons": int(persons)}
    return _k_outcome(classes, k=k, qis=qis, person_column=person_column, extra=extra)


_SCANNED_DUCKDB = re.compile(
    r"^(VARCHAR|ENUM\(.*\)|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER"
    r"|UBIGINT|UHUGEINT)$",
    re.DOTALL,
)
"""DuckDB types scanned for identifier-like values: text, and integers as their decimal text."""


def _matching(values: pl.Series) -> pl.Series:
    """The values any identifier pattern matches, by the same Python regexes (pandas
    ``str.contains``) Great Expectations applies."""
    text = values.drop_nulls().to_pandas()
    hit = None
    for pattern in IDENTIFIER_PATTERNS.values():
        m = text.str.contains(pattern).to_numpy(dtype=bool)
        hit = m if hit is None else hit | m
    return pl.Series(values.name, text[hit].tolist() if hit is not None else [], dtype=pl.String)


PRINTABLE_ASCII = "[ -~]*"
"""Text of printable ASCII characters only (RE2 syntax, full match)."""


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _candidates(con: SqlConnection, distinct: str) -> tuple[int, pl.Series]:
    """The number of distinct values of the query ``distinct`` (column ``value``), and those
    that may look like an identifier: every value with a character outside printable ASCII,
    and every printable-ASCII value an identifier pattern matches in DuckDB (RE2).

    Exact, not a sample: on printable ASCII text RE2 and Python's ``re`` agree on these
    patterns (``\\d`` is 0-9 and ``\\s`` a space in both, and there is no newline for
    Python's ``$`` to stop before), so a printable value RE2 does not flag cannot fail the GX
    expectation, which then runs on every candidate with Python's regexes. Should DuckDB
    refuse a pattern, every value is a candidate.
    """
    matches = " or ".join(
        f"regexp_matches(value, {_sql_text(p)})" for p in IDENTIFIER_PATTERNS.values()
    )
    query = (
        f"with v as ({distinct}) select count(*), "
        f"coalesce(list(value) filter (where not regexp_full_match(value, "
        f"{_sql_text(PRINTABLE_ASCII)}) or {matches}), []) from v"
    )
    try:
        n, candidates = con.execute(query).fetchone()
        return int(n), pl.Series("value", candidates, dtype=pl.String)
    except Exception:  # any refusal: every value goes to GX (Python's regexes)
        result = con.execute(distinct).arrow()
        table = result if hasattr(result, "column") else result.read_all()
        values = pl.Series("value", table.column("value"), dtype=pl.String)
        return values.len(), values


def expect_no_identifier_like_values_in_duckdb(
    con: SqlConnection, tables: Sequence[str]
) -> dict[str, CheckOutcome]:
    """:func:`expect_no_identifier_like_values` for tables of a DuckDB database, per table.

    DuckDB lists the distinct values (as text) of every scanned column of every table, all in
    one set: ids recur in every table and in two id columns, so each text is checked once, and
    sets aside the values that cannot match (:func:`_candidates`); GX checks the rest. Only when
    it finds something are the matching values (found again by the same regexes) counted per
    table and column. Exact: every distinct value is decided.
    """
    columns: dict[str, list[tuple[str, str]]] = {}
    for t in tables:
        columns[t] = [
            (r[0], r[1])
            for r in con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where database_name = current_database() and schema_name = 'main' "
                "and table_name = ? order by column_index",
                [t],
            ).fetchall()
        ]
    scanned = [(t, c) for t, cols in columns.items() for c, ty in cols if _SCANNED_DUCKDB.match(ty)]
    n_values = 0
    values = pl.Series("value", [], dtype=pl.String)
    if scanned:
        # distinct per column on the stored type first (an integer hash, not a string per
        # row), then text, then distinct over everything
        union = " union all ".join(
            f"select distinct cast(v as varchar) as value from "
            f"(select distinct {_quote_ident(c)} as v from {_quote_ident(t)})"
            for t, c in scanned
        )
        distinct = f"select distinct value from ({union}) where value is not null"
        n_values, values = _candidates(con, distinct)
    extra: dict[str, Any] = {
        "tables": list(tables),
        "scanned_columns": sorted({c for _, c in scanned}),
        "distinct_values": n_values,
        "values_checked_by_gx": values.len(),
        "patterns": sorted(IDENTIFIER_PATTERNS),
    }
    shared: dict[str, Any] = {"success": True}
    flagged = pl.Series("value", [], dtype=pl.String)
    if n_values:
        from quality.gx_runtime import gxe, validate_frame

        expectation = gxe().ExpectColumnValuesToNotMatchRegexList(
            column="value",
            regex_list=list(IDENTIFIER_PATTERNS.values()),
            meta={"rule": "identifier_like_value"},
        )
        outcome = validate_frame(
            values.to_frame(), [expectation], name="no_identifier_like_values", extra=extra
        )
        shared = outcome.details["results"][0]
        if not outcome.passed:
            flagged = _matching(values)
            if not flagged.len():  # fail closed: GX objected but names no value to count
                shared = {**shared, "error": shared.get("error", "unexplained failure")}
    out: dict[str, CheckOutcome] = {}
    for t, cols in columns.items():
        named = [c for c, _ in cols if IDENTIFIER_COLUMN.search(c)]
        results = []
        for c in [c for tt, c in scanned if tt == t]:
            rows = 0
            if flagged.len():  # rows of this column holding a flagged value (a count only)
                con.register("__flagged", flagged.to_frame().to_arrow())
                try:
                    rows = con.execute(
                        f"select count(*) from {_quote_ident(t)} where "
                        f"cast({_quote_ident(c)} as varchar) in (select value from __flagged)"
                    ).fetchone()[0]
                finally:
                    con.unregister("__flagged")
            results.append(
                {
                    "type": shared.get("type", "expect_column_values_to_not_match_regex_list"),
                    "columns": [c],
                    "success": rows == 0 and "error" not in shared,
                    "rule": "identifier_like_value",
                    "unexpected_rows": int(rows),
                    **({"error": shared["error"]} if "error" in shared else {}),
                }
            )
        bad = [r for r in results if not r["success"]]
        details = {
            **extra,
            "suite": "no_identifier_like_values",
            "table": t,
            "expectation": {k: v for k, v in shared.items() if k != "columns"},
            "expectations": len(results),
            "failed": len(bad),
            "identifier_like_columns": named,
            "results": results,
        }
        if not bad and not named:
            out[t] = CheckOutcome(
                True,
                f"no_identifier_like_values: all {len(results)} scanned column(s) of {t} clean.",
                details,
            )
            continue
        parts = []
        if named:
            parts.append(f"column name(s) like a direct identifier: {', '.join(named)}")
        if bad:
            parts.append(
                "identifier-like values in "
                + ", ".join(f"{r['columns'][0]} ({r['unexpected_rows']}x)" for r in bad)
            )
        out[t] = CheckOutcome(False, f"no_identifier_like_values: {'; '.join(parts)}.", details)
    return out


def identifier_like_columns(df: pl.DataFrame) -> list[str]:
    """Columns whose name denotes a direct identifier or free text (``quality.privacy``)."""
    return [c for c in df.columns if IDENTIFIER_COLUMN.search(c)]


def expect_no_identifier_like_values(df: pl.DataFrame) -> CheckOutcome:
    """No value looks like a BSN (9 digits), e-mail, phone number or PC6 postcode, and no column
    is named like a direct identifier. String columns are scanned as they are, integer columns
    as their decimal text (a BSN stored as a number is still a BSN)."""
    from quality.gx_runtime import gxe, validate_frame

    x = gxe()
    scanned = [c for c, t in df.schema.items() if t == pl.String or t.is_integer()]
    frame = df.select(pl.col(c).cast(pl.String) for c in scanned)
    expectations = [
        x.ExpectColumnValuesToNotMatchRegexList(
            column=c,
            regex_list=list(IDENTIFIER_PATTERNS.values()),
            meta={"rule": "identifier_like_value"},
        )
        for c in scanned
    ]
    named = identifier_like_columns(df)
    extra = {
        "scanned_columns": scanned,
        "patterns": sorted(IDENTIFIER_PATTERNS),
        "identifier_like_columns": named,
    }
    outcome = validate_frame(frame, expectations, name="no_identifier_like_values", extra=extra)
    if outcome.passed and not named:
        return outcome
    parts = []
    if named:
        parts.append(f"column name(s) like a direct identifier: {', '.join(named)}")
    bad = [r for r in outcome.details.get("results", []) if not r["success"]]
    if bad:
        parts.append(
            "identifier-like values in "
            + ", ".join(f"{r['columns'][0]} ({r.get('unexpected_count', '?')}x)" for r in bad)
        )
    return CheckOutcome(False, f"no_identifier_like_values: {'; '.join(parts)}.", outcome.details)


@dataclass(frozen=True)
class Perturbation:
    """A table protected by the cell key method: its p-table's largest noise (D) and small
    counts (js), and whether cells are suppressed first (``both``)."""

    max_noise: int
    small_counts: int
    suppression: bool = False


def expect_cells_protected(
    df: pl.DataFrame,
    value_column: str,
    suppressed_column: str,
    threshold: int,
    *,
    perturbation: Perturbation | None = None,
) -> CheckOutcome:
    """Every cell is published with ``value >= threshold`` (flag false or null) or suppressed
    (value null and flag true). A suppressed cell that still shows its value fails.

    Under the cell key method (``perturbation``) a published count is never in ``1..js`` and
    never missing; with suppression first (``both``) it is at least ``threshold - D`` (a count
    at the threshold moved down by the noise) or suppressed; alone, no cell is suppressed."""
    name = f"cells_protected(threshold={threshold})"
    missing = [c for c in (value_column, suppressed_column) if c not in df.columns]
    if missing:
        return CheckOutcome(False, f"{name}: column(s) {missing} missing.", {"missing": missing})
    value, flag = pl.col(value_column), pl.col(suppressed_column).fill_null(False)
    if perturbation is None:
        ok = (~flag & value.is_not_null() & (value >= threshold)) | (flag & value.is_null())
    else:
        js, lowest = perturbation.small_counts, threshold - perturbation.max_noise
        name = f"cells_protected(cell_key, D={perturbation.max_noise}, js={js})"
        shown = ~flag & value.is_not_null() & (value >= 0) & ~value.is_between(1, js)
        if perturbation.suppression:
            ok = (shown & (value >= lowest)) | (flag & value.is_null())
        else:
            ok = shown
    frame = df.select(ok.fill_null(False).alias(PROTECTED))
    from quality.gx_runtime import gxe, validate_frame

    smallest = df.filter(~flag).select(value.min()).item() if df.height else None
    extra: dict[str, Any] = {
        "value_column": value_column,
        "suppressed_column": suppressed_column,
        "threshold": threshold,
        "cells": df.height,
        "suppressed": int(df.select(flag.sum()).item() or 0),
        "smallest_published": smallest,
    }
    expectation = gxe().ExpectColumnValuesToBeInSet(
        column=PROTECTED, value_set=[True], meta={"rule": "published_or_suppressed"}
    )
    outcome = validate_frame(frame, [expectation], name=name, extra=extra)
    if outcome.passed:
        # say what was checked, with its figures, instead of "all 1 expectation(s) met"
        rule = (
            f"at least {threshold}"
            if perturbation is None
            else f"perturbed by the cell key method, none in 1..{perturbation.small_counts}"
            + (
                f", none below {threshold - perturbation.max_noise}"
                if perturbation.suppression
                else ""
            )
        )
        return CheckOutcome(
            True,
            f"{df.height} cells: {extra['suppressed']} suppressed, every published count "
            f"{rule} (smallest published: {smallest}).",
            outcome.details,
        )
    return outcome
