"""quality.gx_runtime: lazy GX, frame and DuckDB runners, counts-only outcomes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl

from quality import gx_runtime


def test_importing_quality_does_not_import_gx_or_dagster() -> None:
    code = (
        "import sys, quality.gx_runtime, assets.raw.suite, assets.staging.suite, "
        "quality.suites.marts; "
        "print(any(m.split('.')[0] in ('great_expectations', 'dagster') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="."
    )
    assert out.stdout.strip() == "False"


def test_validate_frame_reports_counts_never_values() -> None:
    x = gx_runtime.gxe()
    df = pl.DataFrame({"bsn": ["111222333", "123456789", None], "n": [1, 2, 30]})
    outcome = gx_runtime.validate_frame(
        df,
        [
            x.ExpectColumnValuesToBeInSet(column="bsn", value_set=["000000000"]),
            x.ExpectColumnValuesToBeBetween(column="n", min_value=0, max_value=10),
            x.ExpectColumnValuesToNotBeNull(column="absent"),
        ],
        name="t",
    )
    assert not outcome.passed
    text = json.dumps(outcome.details)  # JSON-able
    assert "111222333" not in text and "123456789" not in text
    by_col = {r["columns"][0]: r for r in outcome.details["results"]}
    assert by_col["bsn"]["unexpected_count"] == 2
    assert by_col["n"]["unexpected_count"] == 1
    assert by_col["absent"]["success"] is False and "absent" in by_col["absent"]["error"]
    assert "partial_unexpected_list" not in text


def test_validate_frame_passes() -> None:
    x = gx_runtime.gxe()
    outcome = gx_runtime.validate_frame(
        pl.DataFrame({"a": [1, 2]}), [x.ExpectColumnValuesToNotBeNull(column="a")], name="ok"
    )
    assert outcome.passed and outcome.details["rows"] == 2


def test_duckdb_patch_is_idempotent() -> None:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as see

    gx_runtime.patch_duckdb_dialect()
    gx_runtime.patch_duckdb_dialect()
    assert sum(getattr(d, "value", d) == "duckdb" for d in see._PERSISTED_CONNECTION_DIALECTS) == 1


def test_validate_duckdb_table(tmp_path: Path) -> None:
    db = tmp_path / "marts.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table cells as select range as id, range % 5 as n from range(100)")
        con.execute("create schema mart; create table mart.t as select 7 as n")
    x = gx_runtime.gxe()
    bad = gx_runtime.validate_duckdb_table(
        db, "cells", [x.ExpectColumnValuesToBeBetween(column="n", min_value=0, max_value=3)]
    )
    assert not bad.passed
    assert bad.details["results"][0]["unexpected_count"] == 20
    good = gx_runtime.validate_duckdb_table(
        db, "t", [x.ExpectColumnValuesToBeBetween(column="n", min_value=5)], schema="mart"
    )
    assert good.passed
    with duckdb.connect(str(db)) as con:  # the file is released (writable again)
        con.execute("insert into cells values (100, 1)")
