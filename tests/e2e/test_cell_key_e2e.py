"""The cell key method chosen in ``[tables]``, through the whole pipeline: the anonymised step
derives record keys from the project key, the marts perturb the chosen tables, every blocking
check passes, research.duckdb says how each table was protected, and the report is built from
the perturbed cells (totals that no longer add up are not a reason to fail)."""

from __future__ import annotations

import html as html_lib
import re

import duckdb
import polars as pl
import pytest

from assets.marts.aggregates import GOALS_REACHED, OUTCOMES
from assets.marts.ledger import POPULATION_LEDGER, DuckDBLedger
from assets.marts.perturbation import PTABLE, TABLE_PROTECTION
from assets.marts.protection import TableSettings
from tests.conftest import materialise_release

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    tables = TableSettings(protection={OUTCOMES: "cell_key", GOALS_REACHED: "both"})
    return materialise_release(tmp_path_factory.mktemp("ckm"), people=1200, seed=5, tables=tables)


def test_the_chosen_tables_are_perturbed_and_published_with_their_ptable(released):
    con = duckdb.connect(str(released.paths.research_db), read_only=True)
    prot = dict(con.execute(f"select table_name, protection from {TABLE_PROTECTION}").fetchall())
    assert prot[OUTCOMES] == "cell_key" and prot[GOALS_REACHED] == "both"
    assert con.execute(f"select count(*) from {PTABLE}").fetchone()[0] > 0
    changed = con.execute(
        f"select sum(cells_perturbed) from {TABLE_PROTECTION} where protection <> 'suppression'"
    ).fetchone()[0]
    assert changed > 0
    # the analysts' ledger shows exactly the marts' (perturbed) values
    mart = con.execute(
        f"select count(*), sum(persons) from {OUTCOMES} where not is_suppressed"
    ).fetchone()
    ledger = con.execute(
        "select count(*), sum(value) from release_ledger where table_name = ?", [OUTCOMES]
    ).fetchone()
    assert mart == (ledger[0], ledger[1])
    # a cell-key table lists every combination and never a count in 1..js
    js = con.execute(
        f"select small_counts from {TABLE_PROTECTION} where table_name = ?", [OUTCOMES]
    ).fetchone()[0]
    small = con.execute(
        f"select count(*) from {OUTCOMES} where persons between 1 and ?", [js]
    ).fetchone()[0]
    assert small == 0


def test_the_steward_ledger_records_what_analysts_saw(released):
    ledger = DuckDBLedger(released.paths.staging_db, schema=POPULATION_LEDGER)
    (release_id,) = ledger.releases()
    seen = ledger.release_rows(release_id)
    con = duckdb.connect(str(released.paths.research_db), read_only=True)
    shipped = con.execute("select * from release_ledger").pl()
    key = ["table_name", "cell_key"]
    assert seen.sort(key).select(*key, "value").equals(shipped.sort(key).select(*key, "value"))
    # the audit cells keep the true value beside what was published
    cells = ledger.published().filter(pl.col("table").str.starts_with(GOALS_REACHED))
    shown = cells.filter(~pl.col("suppressed"))
    assert (shown["published_value"] != shown["value"]).any()


def test_the_report_is_built_from_the_perturbed_cells(released):
    reports = sorted((released.paths.data_dir / "reports").glob("**/*.html"))
    assert reports, "no report was written"
    html = reports[-1].read_text(encoding="utf-8")
    shown = dict(re.findall(r'data-kind="count" data-cell="([^"]*)">([^<]*)<', html))
    con = duckdb.connect(str(released.paths.research_db), read_only=True)
    values = dict(
        con.execute(
            "select cell_key, value from release_ledger where table_name = ?", [OUTCOMES]
        ).fetchall()
    )
    quoted = {html_lib.unescape(k): v for k, v in shown.items() if html_lib.unescape(k) in values}
    assert quoted, "the report shows no cell of the perturbed outcomes table"
    for key, text in quoted.items():
        value = values[key]
        # the perturbed count as published; a listed zero in CBS notation
        assert text == ("–" if value == 0 else f"{round(value):,}".replace(",", ".")), key
