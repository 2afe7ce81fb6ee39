"""The cell key method as a per-table option of the release (issue 14 item 3): chosen in
``[tables]``, perturbing every cell of the chosen tables by a fixed function of its count and
its persons' record keys, the same published value for the same persons in every release, the
perturbation table and each table's protection published in research.duckdb, the perturbed
(never the true) value in ``release_ledger`` and in the steward's record of what was published,
totals flagged where they no longer add up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from anonymise.tables import TOTAL
from anonymise.tables.cellkey import additive_margins, derive_secret, record_keys, table_cell_keys
from assets.marts.aggregates import (
    AGGREGATE_TABLES,
    BRIDGE_LEVELS,
    BRIDGE_PROGRESS,
    GOALS_REACHED,
    OUTCOMES,
    AggregateConfig,
    build_tables,
    protect_aggregates,
)
from assets.marts.assets import privacy_checks
from assets.marts.build import build_research_database, open_read_only
from assets.marts.ledger import DuckDBLedger
from assets.marts.perturbation import PTABLE, TABLE_PROTECTION
from assets.marts.protection import TableSettings, TableSettingsError
from pipelines.settings import check_settings
from quality.suites.marts import Perturbation, expect_cells_protected
from tests.assets.test_marts_aggregates import AREAS, frames
from tests.assets.test_marts_build import make_frames, release

SECRET = derive_secret(b"project-key-for-tests-" + b"x" * 16)
SETTINGS = TableSettings(protection={OUTCOMES: "cell_key", GOALS_REACHED: "both"})


def keyed_frames(n: int = 240, seed: int = 3, *, drop: int | None = None, shuffle: int = 0):
    """The aggregate test frames with a record key per person (person ``p<unit>``); the unit
    ids re-drawn with ``shuffle`` (each release draws its own), person ``drop`` left out."""
    f = frames(n, seed)
    pop = f["population"].with_columns(person=pl.format("p{}", pl.col("unit_id")))
    pop = pop.with_columns(record_keys(pop["person"], SECRET))
    if drop is not None:
        pop = pop.filter(pl.col("unit_id") != drop)
    if shuffle:
        new = np.random.default_rng(shuffle).permutation(n) + 100_000
        ids = dict(zip(range(1, n + 1), new.tolist(), strict=True))
        remap = {
            name: df.with_columns(pl.col("unit_id").replace_strict(ids, return_dtype=pl.Int64))
            for name, df in f.items()
            if "unit_id" in df.columns
        }
        f |= remap
        pop = pop.with_columns(pl.col("unit_id").replace_strict(ids, return_dtype=pl.Int64))
    f["population"] = pop.drop("person")
    return f


def config(settings: TableSettings = SETTINGS, **kw) -> AggregateConfig:
    return AggregateConfig.from_settings(settings, area_parents=AREAS, **kw)


@pytest.fixture(scope="module")
def perturbed():
    return protect_aggregates(keyed_frames(), config=config(), release_id="r1")


def _truth(name: str, f=None) -> pl.DataFrame:
    """True counts of the cells of mart table ``name`` (every table of the release's set)."""
    ts = build_tables(f or keyed_frames(), config(TableSettings()))
    assert ts is not None
    parts = [t for t in ts.tables if t.name.split(":")[0] == name]
    return pl.concat(
        [
            t.frame.select(*t.dim_names, pl.col("value").alias("truth")).with_columns(
                pl.lit(t.name.partition(":")[2]).alias("domain")
            )
            for t in parts
        ],
        how="diagonal",
    )


# --- configuration -----------------------------------------------------------------------


def test_settings_choose_per_table_and_refuse_what_would_leak():
    s = TableSettings.from_mapping({"protection": {OUTCOMES: "both"}})
    assert s.protection_of(OUTCOMES) == "both" and s.protection_of(GOALS_REACHED) == "suppression"
    assert s.uses_cell_key and not TableSettings().uses_cell_key
    with pytest.raises(TableSettingsError, match="unknown table"):
        TableSettings.from_mapping({"protection": {"mart_nothing": "cell_key"}})
    with pytest.raises(TableSettingsError, match="unknown method"):
        TableSettings.from_mapping({"protection": {OUTCOMES: "noise"}})
    # the level and progress tables share cells: one suppressed, the other perturbed would
    # publish a suppressed cell within ±D
    with pytest.raises(TableSettingsError, match="share cells"):
        TableSettings.from_mapping({"protection": {BRIDGE_PROGRESS: "cell_key"}})
    both = {BRIDGE_LEVELS: "cell_key", BRIDGE_PROGRESS: "cell_key"}
    assert TableSettings.from_mapping({"protection": both}).protection_of(BRIDGE_PROGRESS)
    with pytest.raises(TableSettingsError, match="small counts"):
        TableSettings.from_mapping(
            {"protection": {OUTCOMES: "cell_key"}, "cell_key_small_counts": 3}
        )
    with pytest.raises(ValueError, match="share cells"):
        AggregateConfig(protection={BRIDGE_LEVELS: "cell_key"})


def test_config_check_reports_every_table_problem(tmp_path: Path):
    toml = tmp_path / "brugstat.toml"
    toml.write_text(
        '[paths]\ndata_dir = "d"\nlanding = "d/l"\nstaging_db = "d/s.duckdb"\n'
        'research_db = "d/r.duckdb"\ndagster_home = "d/h"\nkey_file = "k"\n'
        "[tables]\n"
        'protection = { mart_outcomes_by_organisation_programe = "cell_key" }\n'
        'cell_key_max_noise = "two"\n'
        "cell_key_varianse = 1.0\n"
    )
    problems = [str(p) for p in check_settings(toml)]
    assert any("protection" in p and "unknown table" in p for p in problems), problems
    assert any("cell_key_max_noise" in p and "wrong type" in p for p in problems), problems
    assert any("cell_key_varianse" in p and "cell_key_variance" in p for p in problems), problems


# --- the perturbed tables ----------------------------------------------------------------


def test_cell_key_tables_are_perturbed_within_the_ptable(perturbed):
    pt = perturbed.ptable
    assert pt is not None and (pt.D, pt.js) == (2, 1)
    steward = perturbed.tables[OUTCOMES]
    pub = perturbed.published()[OUTCOMES]
    # every combination is listed (a published 0 may be a small count), nothing suppressed
    truth = _truth(OUTCOMES)
    assert pub.height == truth.height and not pub["is_suppressed"].any()
    joined = pub.join(truth.drop("domain"), on=["organisation", "programme", "end_reason"])
    change = joined["persons"] - joined["truth"]
    assert change.abs().max() <= pt.D
    assert (change != 0).any(), "no cell was perturbed: the method is not applied"
    assert joined.filter(pl.col("truth") == 0)["persons"].to_list() == [0] * int(
        (joined["truth"] == 0).sum()
    )
    assert not pub["persons"].is_between(1, pt.js).any()
    # the steward keeps both; the published value is value + noise
    assert (steward["published"] - steward["value"]).abs().max() <= pt.D
    assert perturbed.protection[OUTCOMES] == "cell_key"


def test_both_suppresses_first_then_perturbs(perturbed):
    pub = perturbed.published()[GOALS_REACHED]
    truth = _truth(GOALS_REACHED)
    joined = pub.join(truth, on=["domain", "area", "goal_reached"], how="left")
    assert pub["is_suppressed"].any(), "the test data should have small goal cells"
    shown = joined.filter(~pl.col("is_suppressed"))
    assert (shown["persons"] - shown["truth"]).abs().max() <= 2
    assert shown["truth"].min() >= 10  # only cells at or above the threshold are published
    assert (
        joined.filter(pl.col("is_suppressed"))["persons"].null_count()
        == joined.filter(pl.col("is_suppressed")).height
    )
    # suppression tables are untouched: their published value is the true value
    levels = perturbed.tables[BRIDGE_LEVELS].filter(~pl.col("suppressed"))
    assert (levels["published"] == levels["value"]).all()
    assert perturbed.audit_ok


def test_same_persons_same_value_in_every_release(perturbed):
    """The point of the method: a cell is a fixed function of its persons, so asking again in
    a later release (new unit ids, another row order) gives the same number to average."""
    again = protect_aggregates(keyed_frames(shuffle=7), config=config(), release_id="r2")
    dims = ["organisation", "programme", "end_reason"]
    a = perturbed.published()[OUTCOMES].sort(dims)
    b = again.published()[OUTCOMES].sort(dims)
    assert a.equals(b)
    # one person fewer: the cells holding them get another key, every other cell its value
    gone = keyed_frames(drop=5)
    person = frames()["population"].filter(pl.col("unit_id") == 5).row(0, named=True)
    after = protect_aggregates(gone, config=config(), release_id="r3").published()[OUTCOMES]
    cmp = a.join(after, on=dims, suffix="_after")

    def holds(row: dict) -> bool:
        return all(row[d] in (TOTAL, person[d]) for d in dims)

    rows = cmp.to_dicts()
    untouched = [r for r in rows if not holds(r)]
    assert untouched and all(r["persons"] == r["persons_after"] for r in untouched)
    touched = [r for r in rows if holds(r)]
    assert len(touched) == 2**3  # the person's leaf and its seven margins


def test_a_changed_person_changes_the_cell_key():
    f = keyed_frames()
    ts = build_tables(f, config(TableSettings()))
    assert ts is not None
    table = next(t for t in ts.tables if t.name == OUTCOMES)
    rows = f["population"].select("unit_id", "record_key", *table.dim_names)
    keys = table_cell_keys(rows, table, person="unit_id")
    other = rows.with_columns(
        pl.when(pl.col("unit_id") == 1)
        .then(pl.col("record_key") ^ 1)
        .otherwise(pl.col("record_key"))
        .alias("record_key")
    )
    changed = table_cell_keys(other, table, person="unit_id") != keys
    assert int(changed.sum()) == 2**3  # the person's leaf and its margins, nothing else


def test_totals_that_no_longer_add_up_are_counted(perturbed):
    figures = perturbed.perturbation[OUTCOMES]
    steward = perturbed.tables[OUTCOMES]
    ts = build_tables(keyed_frames(), config(TableSettings()))
    table = next(t for t in ts.tables if t.name == OUTCOMES)
    published = table.frame.select(table.dim_names).join(
        steward, on=list(table.dim_names), how="left", maintain_order="left"
    )["published"]
    flags = additive_margins(table, published)
    assert figures["margins_not_additive"] == int((flags == False).sum()) > 0  # noqa: E712
    # with the true values every margin adds up: the flag is not always raised
    assert int((additive_margins(table, table.frame["value"]) == False).sum()) == 0  # noqa: E712


# --- research.duckdb and the ledgers -----------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory, perturbed):
    folder = tmp_path_factory.mktemp("ckm")
    ledger = DuckDBLedger(folder / "steward.duckdb", schema="ledger_population")
    target = folder / "research.duckdb"
    build_research_database(
        target,
        frames=make_frames(),  # microdata of some release (only the aggregates matter here)
        aggregates=perturbed,
        release=release("r1"),
        steward_ledger=ledger,
    )
    return target, ledger


def test_research_database_publishes_the_ptable_and_each_tables_protection(built, perturbed):
    target, _ = built
    con = open_read_only(target)
    ptable = con.execute(f"select * from {PTABLE} order by original_count, noise").pl()
    expect = perturbed.ptable.frame.sort("i", "v")
    assert ptable["original_count"].to_list() == expect["i"].to_list()
    assert ptable["probability"].to_list() == pytest.approx(expect["p"].to_list())
    prot = dict(con.execute(f"select table_name, protection from {TABLE_PROTECTION}").fetchall())
    assert prot == {
        BRIDGE_LEVELS: "suppression",
        BRIDGE_PROGRESS: "suppression",
        GOALS_REACHED: "both",
        OUTCOMES: "cell_key",
    }
    row = con.execute(
        f"select max_noise, small_counts, margins_not_additive, cells "
        f"from {TABLE_PROTECTION} where table_name = ?",
        [OUTCOMES],
    ).fetchone()
    assert row[:2] == (2, 1) and row[2] == perturbed.perturbation[OUTCOMES]["margins_not_additive"]
    # no cell key, record key or true value anywhere in the analysts' file
    columns = {r[0] for r in con.execute("select column_name from duckdb_columns()").fetchall()}
    assert "record_key" not in columns and "true_value" not in columns


def test_ledgers_hold_the_perturbed_value_never_the_true_one(built, perturbed):
    target, ledger = built
    con = open_read_only(target)
    rows = con.execute(
        "select table_name, coordinates, value, is_suppressed from release_ledger"
    ).pl()
    mart = perturbed.published()[OUTCOMES]
    ledger_out = rows.filter(pl.col("table_name") == OUTCOMES)
    assert sorted(ledger_out["value"].to_list()) == sorted(mart["persons"].cast(float).to_list())
    # the analysts' ledger equals the marts; the steward's record of what was published too
    steward_rows = ledger.release_rows("r1")
    assert (
        steward_rows.sort("cell_key")
        .select("value")
        .equals(con.execute("select * from release_ledger").pl().sort("cell_key").select("value"))
    )
    # and differs from the true values where noise was added
    truth = perturbed.tables[OUTCOMES]
    assert (truth["published"] != truth["value"]).any()
    goals_true = perturbed.tables[GOALS_REACHED].filter(
        ~pl.col("suppressed") & (pl.col("published") != pl.col("value"))
    )
    assert goals_true.height > 0
    # the steward's audit ledger keeps the true value, and the published one beside it
    cells = ledger.published()
    both = cells.filter(pl.col("table").str.starts_with(GOALS_REACHED) & ~pl.col("suppressed"))
    assert (both["published_value"] != both["value"]).any()
    assert (both["published_value"] - both["value"]).abs().max() <= 2


def test_privacy_checks_pass_and_fail_on_the_perturbed_tables(built, perturbed):
    target, _ = built
    outcomes = privacy_checks(
        target,
        quasi_identifiers=[],
        k=1,
        threshold=10,
        audit_ok=perturbed.audit_ok,
        protection=config(),
    )
    for table in AGGREGATE_TABLES:
        assert outcomes[(table, "cells_protected")].passed, outcomes[(table, "cells_protected")]
        assert outcomes[(table, "suppression_audit")].passed
    # control: the same check under the suppression rule refuses the perturbed table (it lists
    # small and zero counts), and a perturbed count in 1..js is refused under the method's rule
    pub = perturbed.published()[OUTCOMES]
    assert not expect_cells_protected(pub, "persons", "is_suppressed", 10).passed
    rule = Perturbation(max_noise=2, small_counts=1)
    assert expect_cells_protected(pub, "persons", "is_suppressed", 10, perturbation=rule).passed
    bad = pub.with_columns(
        persons=pl.when(pl.int_range(pl.len()) == 0).then(1).otherwise("persons")
    )
    assert not expect_cells_protected(bad, "persons", "is_suppressed", 10, perturbation=rule).passed
    # under "both" a suppressed cell must be NULL and a shown one at least threshold − D
    goals = perturbed.published()[GOALS_REACHED]
    both = Perturbation(max_noise=2, small_counts=1, suppression=True)
    assert expect_cells_protected(goals, "persons", "is_suppressed", 10, perturbation=both).passed
    low = goals.with_columns(persons=pl.when(~pl.col("is_suppressed")).then(7).otherwise("persons"))
    assert not expect_cells_protected(low, "persons", "is_suppressed", 10, perturbation=both).passed


def test_without_record_keys_the_method_refuses_to_run():
    f = frames()  # no record_key column: the anonymised step was not asked for it
    with pytest.raises(ValueError, match="record keys"):
        protect_aggregates(f, config=config(), release_id="r1")


def test_suppression_only_is_unchanged_by_the_option():
    """The default publishes exactly what the suppression path always published."""
    plain = protect_aggregates(frames(), config=AggregateConfig(area_parents=AREAS), release_id="r")
    keyed = protect_aggregates(keyed_frames(), config=config(TableSettings()), release_id="r")
    for name in AGGREGATE_TABLES:
        assert plain.published()[name].equals(keyed.published()[name]), name
        t = plain.tables[name]
        assert t.filter(~pl.col("suppressed"))["published"].equals(
            t.filter(~pl.col("suppressed"))["value"]
        )
