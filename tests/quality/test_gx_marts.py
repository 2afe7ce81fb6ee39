"""quality.suites.marts: k-anonymity per person, identifier-like values, cell protection."""

from __future__ import annotations

import polars as pl

from quality.suites.marts import (
    expect_cells_protected,
    expect_k_anonymous_per_person,
    expect_no_identifier_like_values,
)


def people_in_classes(
    classes: dict[tuple[str | None, str], int], rows_per_person: int = 1
) -> pl.DataFrame:
    """``persons`` people per (age_band, sex) class, each on ``rows_per_person`` rows."""
    rows = []
    pid = 0
    for (band, sex), persons in classes.items():
        for _ in range(persons):
            pid += 1
            rows += [{"person": pid, "age_band": band, "sex": sex}] * rows_per_person
    return pl.DataFrame(rows, schema={"person": pl.Int64, "age_band": pl.String, "sex": pl.String})


def test_k_anonymity_passes_with_enough_persons() -> None:
    df = people_in_classes({("18-29", "man"): 5, ("30-44", "vrouw"): 7}, rows_per_person=2)
    o = expect_k_anonymous_per_person(df, ["age_band", "sex"], "person", 5)
    assert o.passed, o.description
    assert o.details["classes"] == 2 and o.details["persons"] == 12


def test_k_anonymity_counts_persons_not_rows() -> None:
    # two persons with 10 rows each: 20 rows, but only 2 persons in the class
    df = people_in_classes({("18-29", "man"): 5, ("30-44", "vrouw"): 2}, rows_per_person=10)
    assert df.filter(pl.col("age_band") == "30-44").height >= 5
    o = expect_k_anonymous_per_person(df, ["age_band", "sex"], "person", 5)
    assert not o.passed
    assert o.details["classes_below_k"] == 1
    assert o.details["results"][0]["unexpected_count"] == 2  # person-class rows below k
    assert o.details["results"][0]["type"] == "expect_multicolumn_values_to_be_k_anonymous"


def test_k_anonymity_null_is_its_own_class_and_missing_column_fails() -> None:
    df = people_in_classes({("18-29", "man"): 5}).vstack(
        pl.DataFrame({"person": [99], "age_band": [None], "sex": [None]}).cast(
            {"age_band": pl.String, "sex": pl.String}
        )
    )
    assert not expect_k_anonymous_per_person(df, ["age_band", "sex"], "person", 5).passed
    assert not expect_k_anonymous_per_person(df, ["age_band", "pc4"], "person", 5).passed


def test_no_identifier_like_values() -> None:
    clean = pl.DataFrame(
        {"gemeente": ["groningen", "breda"], "pc4": ["9711", "4811"], "n": [12, 40]}
    )
    assert expect_no_identifier_like_values(clean).passed
    for column, value in [
        ("code", "111222333"),
        ("contact", "iemand@example.nl"),
        ("code", "06-12345678"),
        ("area", "9711 AB"),
    ]:
        df = clean.with_columns(pl.Series(column, [value, "x"]))
        o = expect_no_identifier_like_values(df)
        assert not o.passed, (column, value)
        assert value not in str(o.details)
    as_int = clean.with_columns(pl.Series("code", [111222333, 5]))
    assert not expect_no_identifier_like_values(as_int).passed
    named = clean.with_columns(pl.Series("achternaam", ["a", "b"]))
    o = expect_no_identifier_like_values(named)
    assert not o.passed and o.details["identifier_like_columns"] == ["achternaam"]


def test_cells_protected() -> None:
    good = pl.DataFrame({"n": [12, None, 10], "suppressed": [False, True, None]})
    assert expect_cells_protected(good, "n", "suppressed", 10).passed
    small = pl.DataFrame({"n": [12, 3], "suppressed": [False, False]})
    o = expect_cells_protected(small, "n", "suppressed", 10)
    assert not o.passed and o.details["results"][0]["unexpected_count"] == 1
    leaked = pl.DataFrame({"n": [12, 3], "suppressed": [False, True]})  # flagged but shown
    assert not expect_cells_protected(leaked, "n", "suppressed", 10).passed
    assert not expect_cells_protected(good, "n", "flag", 10).passed
