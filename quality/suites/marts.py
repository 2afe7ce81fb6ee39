"""Privacy expectations for research marts, as reusable building blocks.

* :func:`expect_k_anonymous_per_person`: every combination of quasi-identifiers is shared by at
  least ``k`` distinct persons (a custom GX expectation, evaluated on one row per person and
  combination, so a person with many rows counts once).
* :func:`expect_no_identifier_like_values`: no value looks like a BSN, e-mail address, phone
  number or six-character postcode, and no column is named like a direct identifier.
* :func:`expect_cells_protected`: every published count is at least the threshold, or the cell
  is suppressed (value null and suppression flag true).

Each returns a :class:`~quality.outcome.CheckOutcome` (counts only, never values).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import polars as pl

from quality.outcome import CheckOutcome
from quality.privacy import IDENTIFIER_COLUMN

K_ANONYMOUS_METRIC = "multicolumn_values.k_anonymous_classes"

# Non-capturing groups only (pandas warns on capturing groups in str.contains).
BSN_LIKE = r"^\s*\d{9}\s*$"
EMAIL_LIKE = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
PHONE_LIKE = r"^\s*(?:\+31|0031|0)[\s\-()]*[1-9](?:[\s\-()]*\d){7,8}\s*$"
PC6_LIKE = r"^\s*[1-9][0-9]{3}\s?[A-Za-z]{2}\s*$"
IDENTIFIER_PATTERNS: dict[str, str] = {
    "bsn_like": BSN_LIKE,
    "email_like": EMAIL_LIKE,
    "phone_like": PHONE_LIKE,
    "pc6_like": PC6_LIKE,
}
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


def expect_cells_protected(
    df: pl.DataFrame, value_column: str, suppressed_column: str, threshold: int
) -> CheckOutcome:
    """Every cell is published with ``value >= threshold`` (flag false or null) or suppressed
    (value null and flag true). A suppressed cell that still shows its value fails."""
    name = f"cells_protected(threshold={threshold})"
    missing = [c for c in (value_column, suppressed_column) if c not in df.columns]
    if missing:
        return CheckOutcome(False, f"{name}: column(s) {missing} missing.", {"missing": missing})
    value, flag = pl.col(value_column), pl.col(suppressed_column).fill_null(False)
    frame = df.select(
        ((~flag & value.is_not_null() & (value >= threshold)) | (flag & value.is_null()))
        .fill_null(False)
        .alias(PROTECTED)
    )
    from quality.gx_runtime import gxe, validate_frame

    extra: dict[str, Any] = {
        "value_column": value_column,
        "suppressed_column": suppressed_column,
        "threshold": threshold,
        "cells": df.height,
        "suppressed": int(df.select(flag.sum()).item() or 0),
    }
    expectation = gxe().ExpectColumnValuesToBeInSet(
        column=PROTECTED, value_set=[True], meta={"rule": "published_or_suppressed"}
    )
    return validate_frame(frame, [expectation], name=name, extra=extra)
