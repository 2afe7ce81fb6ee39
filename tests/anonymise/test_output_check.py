"""The analysts' output checker: threshold, differencing via margins, dof, dominance, ledger."""

from __future__ import annotations

import json

import polars as pl
import pytest

from anonymise.output_check import OutputDecision, OutputRules, check_output
from anonymise.tables import MemoryLedger, TableSet, audit, frequency_table, protect

NO_GROUP = OutputRules(group_share=None)


def test_rules_are_frozen_with_dwb_defaults() -> None:
    r = OutputRules()
    assert (r.threshold, r.dof, r.dominance, r.p_percent) == (10, 10, (1, 50.0), 10.0)
    assert r.zeros_disclosive and r.group_share == 0.9
    assert OutputRules.acro().dominance == (2, 90.0)
    with pytest.raises(AttributeError):
        r.threshold = 5  # type: ignore[misc]


def test_rejects_a_cell_of_three() -> None:
    t = pl.DataFrame({"wijk": ["A", "B", "C"], "count": [12, 3, 15], "pct": [40.0, 10.0, 50.0]})
    d = check_output(t, rules=NO_GROUP)
    assert isinstance(d, OutputDecision)
    assert not d.may_leave and d.may_leave_suppressed
    assert d.table["count"].to_list() == [12, None, 15]
    assert d.table["pct"].to_list() == [40.0, None, 50.0]  # derived columns go too
    assert d.table["suppressed"].to_list() == [False, True, False]
    assert d.cells["reason"].to_list() == [None, "primary:threshold", None]
    rec = json.loads(d.to_json())
    assert rec["may_leave"] is False and rec["reasons"] == {"primary:threshold": 1}
    assert rec["cells"] == [{"row": 1, "wijk": "B", "reason": "primary:threshold"}]
    text = d.summary()
    assert "NOT leave" in text and "mag NIET" in text
    assert "wijk=B" in text and "fewer than 10 units" in text and "minder dan 10" in text


def test_a_clean_table_may_leave() -> None:
    t = pl.DataFrame({"wijk": ["A", "A", "B", "B"], "level": [1, 2, 1, 2], "n": [12, 11, 10, 15]})
    d = check_output(t, rules=NO_GROUP)
    assert d.may_leave and d.table["n"].to_list() == [12, 11, 10, 15]
    assert "MAY LEAVE" in d.summary()


def test_zeros_and_group_disclosure() -> None:
    t = pl.DataFrame(
        {
            "wijk": ["A", "A", "B", "B"],
            "level": ["1", "2", "1", "2"],
            "count": [0, 40, 95, 5 + 20],
        }
    )
    d = check_output(t)
    reasons = dict(zip(d.cells["level"] + d.cells["wijk"], d.cells["reason"], strict=True))
    assert reasons["1A"] == "primary:zero"
    assert reasons["2A"] == "primary:group"  # 40 of 40 in wijk A
    assert check_output(t, rules=OutputRules(zeros_disclosive=False, group_share=None)).may_leave


def test_margins_force_secondary_suppression_and_the_audit_passes() -> None:
    # a 2×2 table with all margins where only one cell (3) is small
    t = pl.DataFrame(
        {
            "g": ["a", "a", "a", "b", "b", "b", "Totaal", "Totaal", "Totaal"],
            "h": ["x", "y", "Totaal"] * 3,
            "count": [3, 20, 23, 25, 30, 55, 28, 50, 78],
        }
    )
    d = check_output(t, rules=NO_GROUP)
    assert not d.may_leave and d.may_leave_suppressed
    assert d.record["margins"] == ["g", "h"]
    assert d.record["audit"]["ok"] is True
    sup = {
        (r["g"], r["h"]): r["reason"] for r in d.cells.filter("suppressed").iter_rows(named=True)
    }
    assert sup[("a", "x")] == "primary:threshold"
    # the 3 would follow from 23 − 20 or 28 − 25: its row and column partners go too
    assert {("a", "y"), ("b", "x"), ("b", "y")} <= set(sup)
    assert all(v == "secondary" for k, v in sup.items() if k != ("a", "x"))
    assert d.table.filter(pl.col("suppressed"))["count"].null_count() == len(sup)
    # the attacker's audit: the pattern holds, the primary alone does not
    ts = d.protection.table_set
    rules = NO_GROUP.primary_rules()

    def key(g: str, h: str) -> str:
        return "count|" + ";".join([f"g={g}"] * (g != "Totaal") + [f"h={h}"] * (h != "Totaal"))

    assert audit(ts, [key(*k) for k in sup], rules=rules).ok
    primary_only = audit(ts, [key("a", "x")], rules=rules)
    assert not primary_only.ok
    row = primary_only.intervals.row(0, named=True)
    assert row["lower"] == row["upper"] == 3.0


def test_totals_that_do_not_add_up_are_an_error() -> None:
    t = pl.DataFrame({"g": ["a", "b", "Totaal"], "count": [12, 15, 30]})
    with pytest.raises(ValueError, match="do not equal"):
        check_output(t)


def test_model_summary_needs_ten_degrees_of_freedom() -> None:
    coef = pl.DataFrame(
        {
            "term": ["const", "age", "debt"],
            "coef": [1.2, 0.3, -0.8],
            "std_err": [0.4, 0.1, 0.2],
            "df_resid": [8, 8, 8],
            "nobs": [11, 11, 11],
        }
    )
    d = check_output(coef, kind="model")
    assert not d.may_leave and not d.may_leave_suppressed
    assert set(d.cells["reason"]) == {"model:dof"}
    assert d.table["coef"].null_count() == 3 and d.table["term"].to_list() == [
        "const",
        "age",
        "debt",
    ]
    assert "vrijheidsgraden" in d.summary() and "degrees of freedom" in d.summary()
    ok = check_output(coef.with_columns(df_resid=pl.lit(40), nobs=pl.lit(43)), kind="model")
    assert ok.may_leave and ok.table["coef"].to_list() == [1.2, 0.3, -0.8]
    small_n = check_output(coef.with_columns(df_resid=pl.lit(10), nobs=pl.lit(9)), kind="model")
    assert set(small_n.cells["reason"]) == {"model:n"}


def test_dominance_and_p_percent_on_a_magnitude_table() -> None:
    t = pl.DataFrame(
        {
            "wijk": ["A", "B", "C"],
            "debt": [1000.0, 1000.0, 1000.0],
            "n": [12, 15, 20],
            "largest": [700.0, 200.0, 490.0],
            "second": [250.0, 150.0, 480.0],
        }
    )
    d = check_output(t, kind="magnitude", value="debt", rules=NO_GROUP)
    reasons = dict(zip(d.cells["wijk"], d.cells["reason"], strict=True))
    assert reasons == {"A": "primary:dominance", "B": None, "C": "primary:p-percent"}
    assert d.table["debt"].to_list() == [None, 1000.0, None]
    assert "largest" not in d.table.columns and "second" not in d.table.columns
    assert d.record["contributions_given"] is True
    acro_rules = OutputRules(dominance=(2, 90.0), p_percent=None, group_share=None)
    acro = check_output(t, kind="magnitude", value="debt", rules=acro_rules)
    assert dict(zip(acro.cells["wijk"], acro.cells["reason"], strict=True)) == {
        "A": "primary:dominance",  # 700 + 250 > 90 % of 1000
        "B": None,
        "C": "primary:dominance",
    }
    few = check_output(
        t.with_columns(n=pl.Series([12, 4, 20])),
        kind="magnitude",
        value="debt",
        rules=OutputRules(dominance=None, p_percent=None, group_share=None),
    )
    assert few.cells["reason"].to_list() == [None, "primary:threshold", None]


def test_ledger_of_published_cells() -> None:
    # released earlier: persons per wijk with the total; B (3) suppressed with a partner
    lf = pl.LazyFrame({"wijk": ["A"] * 12 + ["B"] * 3 + ["C"] * 15})
    rules = NO_GROUP.primary_rules()
    first = protect(TableSet([frequency_table(lf, dims=["wijk"])]), rules=rules, method="milp")
    assert first.audit.ok
    ledger = MemoryLedger()
    first.record_release(ledger, "r1")
    # the analyst's own version of the same table is checked against that release
    t = pl.DataFrame({"wijk": ["A", "B", "C", "Totaal"], "count": [12, 3, 15, 30]})
    d = check_output(t, rules=NO_GROUP, ledger=ledger)
    assert d.record["with_ledger"] and d.record["audit"]["ok"]
    assert not d.may_leave and d.table["count"][1] is None
    assert d.cells["suppressed"].sum() >= 2
    # a table without its totals cannot be matched to a ledger's equations
    with pytest.raises(ValueError, match="ledger"):
        check_output(t.head(3), rules=NO_GROUP, ledger=ledger, margins=False)


def test_notes_beside_a_result_are_not_dimensions_and_blanks_are_explained() -> None:
    t = pl.DataFrame(
        {"band": ["1-3", "4-6", "7-8"], "n": [25, 14, 30], "withheld": False, "reason": None}
    ).with_columns(pl.col("reason").cast(pl.String))
    d = check_output(t, rules=NO_GROUP, count="n")
    assert d.may_leave and [
        c for c in d.cells.columns if c not in ("row", "suppressed", "reason", "implicit")
    ] == ["band"]
    with pytest.raises(ValueError, match=r"missing values .*row 1.*true counts"):
        check_output(t.with_columns(n=pl.Series([25, None, 30])), rules=NO_GROUP, count="n")


def test_implicit_zeros_are_checked_like_written_ones() -> None:
    """A GROUP BY leaves the empty combination out; the decision must not depend on that."""
    written = pl.DataFrame(
        {"wijk": ["A", "A", "B", "B"], "gezond": ["ja", "nee", "ja", "nee"], "n": [25, 0, 14, 30]}
    )
    grouped = written.filter(pl.col("n") > 0)  # what `group by wijk, gezond` returns
    rules = OutputRules(group_dims=("gezond",))
    a, b = check_output(written, rules=rules), check_output(grouped, rules=rules)
    assert not a.may_leave and not b.may_leave, "the absent zero would have let it leave"
    key = ["wijk", "gezond", "suppressed", "reason"]
    assert a.cells.select(key).sort(key[:2]).equals(b.cells.select(key).sort(key[:2]))
    # the completed row is part of what may leave, as a secret cell
    out = b.published().sort("wijk", "gezond")
    assert out["n"].to_list() == ["×", "×", "14", "30"]
    assert b.cells.filter(pl.col("implicit"))["reason"].to_list() == ["primary:zero"]
    assert "empty cell the table left out" in b.summary()
    # positive control: without completing the grid nothing in the submitted rows is flagged
    control = check_output(grouped, rules=OutputRules(zeros_disclosive=False, group_share=None))
    assert control.may_leave


def test_code_lists_complete_levels_the_table_never_saw() -> None:
    t = pl.DataFrame({"eindreden": ["afgerond", "afgebroken"], "aantal": [40, 12]})
    d = check_output(t, levels={"eindreden": ["afgerond", "afgebroken", "geweigerd"]})
    row = d.cells.filter(pl.col("eindreden") == "geweigerd")
    assert row["implicit"].to_list() == [True] and row["reason"].to_list() == ["primary:zero"]
    assert d.record["implicit_rows"] == 1 and d.record["levels_from_code_lists"] == ["eindreden"]
    plain = check_output(t, rules=OutputRules(group_share=None))
    assert plain.may_leave  # without the code list the level is unknown


def test_group_disclosure_on_a_line_with_one_category() -> None:
    """Everyone in the table has the same health flag: a line of one category is 100 %."""
    t = pl.DataFrame({"wijk": ["A", "B"], "gezondheid": ["ja", "ja"], "personen": [25, 30]})
    d = check_output(t, rules=OutputRules(group_dims=("gezondheid",)))
    assert d.cells["reason"].to_list() == ["primary:group", "primary:group"]
    control = check_output(t, rules=OutputRules(group_dims=("wijk",)))
    assert control.may_leave  # lines over wijk hold 25 of 55 and 30 of 55


def test_group_dims_keep_a_large_cell_of_a_one_dimensional_table() -> None:
    t = pl.DataFrame({"gemeente": ["groningen", "breda"], "aantal": [3914, 3]})
    every_line = check_output(t)
    assert every_line.cells["suppressed"].to_list() == [True, True]  # the case
    release = check_output(t, rules=OutputRules(group_dims=("level", "goal_reached")))
    assert release.cells["reason"].to_list() == [None, "primary:threshold"]
    assert release.published()["aantal"].to_list() == ["3914", "×"]


def test_dutch_count_names_and_a_hint_when_none_is_found() -> None:
    for name in ("aantal", "Personen", "N"):
        t = pl.DataFrame({"wijk": ["A", "B"], name: [25, 30]})
        assert check_output(t, rules=NO_GROUP).may_leave
    with pytest.raises(ValueError, match=r"no count column found .*--count COLUMN"):
        check_output(pl.DataFrame({"wijk": ["A"], "mensen": [25]}))


def test_cbs_notation_never_writes_less_than() -> None:
    t = pl.DataFrame(
        {"wijk": ["A", "B", "C", "D"], "n": [12, 3, 0, 15], "pct": [40.0, 10, 0, None]}
    )
    d = check_output(t, rules=OutputRules(zeros_disclosive=False, group_share=None))
    out = d.published()
    assert out["n"].to_list() == ["12", "×", "–", "15"]
    assert out["pct"].to_list() == ["40.0", "×", "–", "."]
    assert "<" not in out.write_csv() + d.summary()
