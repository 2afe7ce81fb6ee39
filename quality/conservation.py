"""Conservation: no raw row is lost between the landing files and staging."""

from __future__ import annotations

import polars as pl

from quality.outcome import CheckOutcome

BALANCE_COLUMNS = (
    "source_file",
    "raw_rows",
    "staged_rows",
    "quarantined",
    "duplicates",
    "withheld",
)


def check_conservation(balance: pl.DataFrame, manifest: pl.DataFrame) -> CheckOutcome:
    """Pass when, for every file, raw = staged + quarantined + duplicates + withheld, and the
    raw count equals the manifest's row count for that file (nothing dropped on reading).

    ``balance`` has one row per source file with ``BALANCE_COLUMNS``; ``manifest`` has
    ``source_file`` and ``rows``.
    """
    missing = [c for c in BALANCE_COLUMNS if c not in balance.columns]
    if missing:
        return CheckOutcome(False, f"The file balance lacks column(s) {missing}.")
    joined = (
        balance.join(
            manifest.select("source_file", pl.col("rows").alias("manifest_rows")),
            on="source_file",
            how="full",
            coalesce=True,
        )
        .with_columns(
            # A file with no data rows (a header-only export) has no row in the balance: it is
            # accounted for by zeros, and balances exactly when the manifest also counts 0 rows.
            pl.col(list(BALANCE_COLUMNS[1:])).fill_null(0)
        )
        .with_columns(
            accounted=pl.col("staged_rows")
            + pl.col("quarantined")
            + pl.col("duplicates")
            + pl.col("withheld")
        )
    )
    bad = joined.filter(
        (pl.col("accounted") != pl.col("raw_rows"))
        | (pl.col("raw_rows") != pl.col("manifest_rows"))
        | pl.col("accounted").is_null()
        | pl.col("manifest_rows").is_null()
    )
    if bad.is_empty():
        total = int(joined["raw_rows"].sum())
        return CheckOutcome(
            True,
            f"All {joined.height} landing files balance ({total} raw rows accounted for).",
            {"files": joined.height, "raw_rows": total, "unbalanced": []},
        )
    names = bad["source_file"].to_list()
    return CheckOutcome(
        False,
        f"{len(names)} file(s) do not balance: {', '.join(map(str, names[:10]))}. "
        "Rows were lost or double-counted between the landing file and staging.",
        {"unbalanced": bad.to_dicts()},
    )
