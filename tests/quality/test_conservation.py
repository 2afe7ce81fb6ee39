"""The conservation check balances per file and against the manifest."""

import polars as pl

from quality.conservation import check_conservation


def _balance(staged: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_file": ["g/a.csv", "g/b.csv"],
            "raw_rows": [10, 5],
            "staged_rows": [staged, 0],
            "quarantined": [1, 0],
            "duplicates": [1, 0],
            "withheld": [0, 5],
        }
    )


MANIFEST = pl.DataFrame({"source_file": ["g/a.csv", "g/b.csv"], "rows": [10, 5]})


def test_balanced_files_pass() -> None:
    outcome = check_conservation(_balance(8), MANIFEST)
    assert outcome.passed and outcome.details["raw_rows"] == 15


def test_a_lost_row_fails_and_names_the_file() -> None:
    outcome = check_conservation(_balance(7), MANIFEST)
    assert not outcome.passed and "g/a.csv" in outcome.description


def test_rows_dropped_on_reading_fail_against_the_manifest() -> None:
    manifest = MANIFEST.with_columns(rows=pl.Series([11, 5]))
    assert not check_conservation(_balance(8), manifest).passed


def test_a_file_missing_from_the_balance_fails() -> None:
    manifest = pl.concat([MANIFEST, pl.DataFrame({"source_file": ["g/c.csv"], "rows": [3]})])
    assert not check_conservation(_balance(8), manifest).passed
