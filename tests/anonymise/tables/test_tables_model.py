"""Table model: cells with all margins, hierarchies, linked tables, equations."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from anonymise.tables import TableSet, frequency_table, magnitude_table
from tests.anonymise.test_library_purity import FORBIDDEN

HIER = {"wijk": {"W1": "S1", "W2": "S1", "W3": "S2", "S1": "G", "S2": "G"}}


def micro() -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "person": [1, 2, 3, 4, 5, 6],
            "wijk": ["W1", "W1", "W2", "W3", "W3", "W3"],
            "level": [1, 2, 2, 3, 3, 1],
            "debt": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
        }
    )


def test_hierarchy_margins_and_values():
    t = frequency_table(micro(), dims=["wijk", "level"], hierarchies=HIER, person_column="person")
    # wijk codes: G, S1, S2, W1, W2, W3 (6) × level codes: Totaal, 1, 2, 3 (4)
    assert t.frame.height == 24
    v = {(w, lv): x for w, lv, x in t.frame.select("wijk", "level", "value").rows()}
    assert v[("G", "Totaal")] == 6
    assert v[("S1", "Totaal")] == 3
    assert v[("S2", "3")] == 2
    assert v[("W2", "1")] == 0


def test_equations_hold_and_link_tables():
    t1 = frequency_table(micro(), dims=["wijk", "level"], hierarchies=HIER)
    t2 = frequency_table(micro(), dims=["wijk"], hierarchies=HIER, name="by_wijk")
    ts = TableSet([t1, t2])
    assert ts.n_cells == 24  # the 1-D table is the 2-D table's margin: no new cells
    assert np.allclose(ts.equations @ ts.values, 0)
    # each equation is children minus one parent
    eq = ts.equations.toarray()
    assert ((eq < 0).sum(axis=1) == 1).all()
    # wijk lines per level code: 2 hierarchy nodes (S1, S2) + G = 3 × 4 levels; level lines 6
    assert ts.n_equations == 3 * 4 + 6


def test_person_counted_in_two_categories_is_rejected():
    lf = pl.LazyFrame({"person": [1, 1], "level": ["1", "2"]})
    with pytest.raises(ValueError, match="not additive"):
        TableSet([frequency_table(lf, dims=["level"], person_column="person")])


def test_magnitude_top_contributions_per_person():
    lf = pl.LazyFrame({"person": [1, 1, 2], "wijk": ["A", "A", "A"], "debt": [5.0, 7.0, 3.0]})
    t = magnitude_table(lf, dims=["wijk"], value="debt", person_column="person")
    row = t.frame.filter(pl.col("wijk") == "A").row(0, named=True)
    assert row["value"] == 15 and row["contributors"] == 2 and row["top"] == [12.0, 3.0]


def test_roll_up_drops_leaf_level():
    ts = TableSet([frequency_table(micro(), dims=["wijk", "level"], hierarchies=HIER)])
    up = ts.roll_up(ts.tables[0].name, "wijk")
    assert set(up.tables[0].frame["wijk"]) == {"G", "S1", "S2"}
    assert np.allclose(up.equations @ up.values, 0)


def test_package_imports_only_allowed_libraries():
    root = Path(__file__).parents[3] / "anonymise" / "tables"
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                assert n.split(".")[0] not in FORBIDDEN, f"{path.name} imports {n}"
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
                raise AssertionError(f"{path.name} does file I/O")
