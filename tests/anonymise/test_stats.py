"""Analysts' statistics: known answers, scipy agreement and the withheld-figure rule."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats as sst

from anonymise.stats import (
    TimeToGoal,
    TransitionMatrix,
    Withheld,
    goals_by_confidence,
    paired_change,
    rank_biserial,
    share_at_level,
    time_to_goal,
    transition_matrix,
)
from anonymise.tables import PrimaryRules, TableSet, audit, frequency_table


def scores_from_pairs(pairs: list[tuple[int, int]], domain: str = "financien") -> pl.DataFrame:
    """Two measurements (intake, 6 months) per person from (intake, latest) level pairs."""
    rows = []
    for i, (a, b) in enumerate(pairs):
        for no, (lvl, m) in enumerate([(a, 0), (b, 6)], start=1):
            rows.append(
                {
                    "person_id": f"p{i:03d}",
                    "episode_id": f"e{i:03d}",
                    "domain": domain,
                    "level": lvl,
                    "months_since_intake": m,
                    "measurement_no": no,
                }
            )
    return pl.DataFrame(rows)


CHANGES = [1, 1, 2, 2, 3, -1, 1, 2, -2, 0, 1, 3]


def test_paired_change_known_answer_and_scipy() -> None:
    pairs = [(2, 2 + d) if d >= 0 else (4, 4 + d) for d in CHANGES]
    res = paired_change(scores_from_pairs(pairs)).row(0, named=True)
    # by hand: zero dropped; |d| ranks: five 1s → 3, four 2s → 7.5, two 3s → 10.5
    t_minus = 3 + 7.5
    t_plus = 66 - t_minus
    assert res["withheld"] is False
    assert res["n"] == 12
    assert res["mean_change"] == pytest.approx(np.mean(CHANGES))
    assert res["median_change"] == pytest.approx(1.0)
    assert res["wilcoxon_statistic"] == pytest.approx(min(t_plus, t_minus))
    assert res["rank_biserial"] == pytest.approx((t_plus - t_minus) / 66)
    ref = sst.wilcoxon(np.array(CHANGES, float), zero_method="wilcox")
    assert res["wilcoxon_statistic"] == pytest.approx(ref.statistic)
    assert res["p_value"] == pytest.approx(ref.pvalue)
    assert res["zero_method"] == "wilcox"
    assert res["ci_low"] < res["mean_change"] < res["ci_high"]
    # 9 improved, 1 stable and 2 declined are all small counts → every share withheld
    assert res["share_improved"] is None
    assert res["share_stable"] is None and res["share_declined"] is None
    assert "share_improved: fewer than 10 persons improved" in res["reason"]
    assert "share_stable" in res["reason"] and "share_declined" in res["reason"]


def test_paired_change_shares_shown_for_large_groups() -> None:
    s = scores_from_pairs([(1, 3)] * 10 + [(2, 2)] * 10 + [(4, 3)] * 10)
    row = paired_change(s).row(0, named=True)
    assert [row[f"share_{k}"] for k in ("improved", "stable", "declined")] == pytest.approx(
        [1 / 3] * 3
    )
    assert row["reason"] is None


def test_paired_change_is_reproducible() -> None:
    s = scores_from_pairs([(2, 2 + d) if d >= 0 else (4, 4 + d) for d in CHANGES])
    assert paired_change(s).equals(paired_change(s))


def test_rank_biserial_zero_methods() -> None:
    d = np.array([1, 2, -1, 0])
    assert rank_biserial(d, "wilcox") == pytest.approx((1.5 + 3 - 1.5) / 6)
    # pratt: ranks 2.5, 4, 2.5 (zero has rank 1, then dropped)
    assert rank_biserial(d, "pratt") == pytest.approx((2.5 + 4 - 2.5) / 9)
    # zsplit: the zero's rank 1 is split
    assert rank_biserial(d, "zsplit") == pytest.approx((7 - 3) / 10)


@pytest.mark.parametrize(("n", "withheld"), [(9, True), (10, False)])
def test_withheld_below_threshold(n: int, withheld: bool) -> None:
    s = scores_from_pairs([(1, 3)] * n)
    row = paired_change(s).row(0, named=True)
    assert row["withheld"] is withheld
    if withheld:
        assert row["reason"] == "fewer than 10 persons"
        assert all(row[c] is None for c in ("n", "mean_change", "p_value", "ci_low"))
    else:
        assert row["n"] == 10 and row["mean_change"] == 2.0
    tm = transition_matrix(s, domain="financien")
    assert isinstance(tm, Withheld) is withheld
    sal = share_at_level(s).filter(pl.col("months_since_intake") == 6).row(0, named=True)
    assert sal["withheld"] is withheld
    assert (sal["share"] is None) is withheld


def test_person_with_one_measurement_is_not_paired() -> None:
    s = scores_from_pairs([(1, 3)] * 10)
    single = s.filter((pl.col("person_id") == "p000") & (pl.col("measurement_no") == 1))
    s = pl.concat([s.filter(pl.col("person_id") != "p000"), single])
    assert paired_change(s)["withheld"].to_list() == [True]


def test_transition_matrix_counts_and_secondary_suppression() -> None:
    pairs = [(1, 2)] * 12 + [(2, 3)] * 15 + [(3, 3)] * 11 + [(1, 1)] * 3 + [(4, 5)] * 10
    tm = transition_matrix(scores_from_pairs(pairs), domain="financien")
    assert isinstance(tm, TransitionMatrix)
    assert tm.n == 51 and tm.audit_ok
    t = tm.table
    assert t.height == 36  # 5×5 plus margins
    cell = {(r["intake"], r["latest"]): r for r in t.iter_rows(named=True)}
    assert cell[("1", "1")]["count"] is None
    assert cell[("1", "1")]["reason"] == "primary:threshold"
    assert cell[("Totaal", "Totaal")]["count"] == 51
    assert cell[("3", "3")]["count"] in (11, None)
    assert cell[("5", "5")]["count"] == 0
    # column 1 holds only the 3, so its total is a primary too; row 1 and column 2 take the
    # secondaries (zeros are never chosen as partners)
    assert cell[("Totaal", "1")]["reason"] == "primary:threshold"
    secondaries = t.filter(pl.col("reason") == "secondary")
    assert secondaries.height >= 2
    # the published cells agree with the true counts
    truth = {(str(a), str(b)): 0 for a in range(1, 6) for b in range(1, 6)}
    for a, b in pairs:
        truth[(str(a), str(b))] += 1
    for (a, b), v in truth.items():
        assert cell[(a, b)]["count"] in (v, None)
    # an independent audit passes; suppressing only the primary would not
    lf = pl.LazyFrame({"intake": [str(a) for a, _ in pairs], "latest": [str(b) for _, b in pairs]})
    hier = {str(lv): "Totaal" for lv in range(1, 6)}
    ts = TableSet(
        [
            frequency_table(
                lf, dims=["intake", "latest"], hierarchies={"intake": hier, "latest": hier}
            )
        ]
    )
    rules = PrimaryRules(threshold=10, dominance=None, p_percent=None, group_share=None)

    def key(a: str, b: str) -> str:
        parts = [f"intake={a}"] * (a != "Totaal") + [f"latest={b}"] * (b != "Totaal")
        return "count|" + ";".join(parts)

    suppressed = [
        key(r["intake"], r["latest"]) for r in t.filter("suppressed").iter_rows(named=True)
    ]
    assert audit(ts, suppressed, rules=rules).ok
    assert not audit(ts, [key("1", "1")], rules=rules).ok
    assert tm.wide().height == 6


def test_share_at_level_over_time() -> None:
    pairs = [(2, 4)] * 12 + [(3, 3)] * 10 + [(5, 5)] * 10
    out = share_at_level(scores_from_pairs(pairs)).sort("months_since_intake")
    assert out["n"].to_list() == [32, 32]
    assert out["share"].to_list() == pytest.approx([10 / 32, 22 / 32])
    # 3 persons at level 4–5 at intake → that share is withheld (3 = share × n)
    few = share_at_level(scores_from_pairs([(5, 5)] * 3 + [(2, 2)] * 12))
    assert few["share"].to_list() == [None, None]
    assert few["withheld"].to_list() == [False, False]
    assert "at level 4/5" in few["reason"][0]


def km_goals(copies: int) -> pl.DataFrame:
    """Events at 1, 1, 2, 3, 5 and censoring at 2, 2, 4, 4, 6 months, ``copies`` times."""
    base = [(True, 1), (True, 1), (True, 2), (False, 2), (False, 2), (True, 3), (False, 4),
            (False, 4), (True, 5), (False, 6)]  # fmt: skip
    rows = []
    for c in range(copies):
        for i, (ach, t) in enumerate(base):
            rows.append(
                {
                    "person_id": f"p{c}_{i}",
                    "episode_id": "e",
                    "domain": "werk",
                    "confidence_band": "7-8",
                    "is_achieved": ach,
                    "months_to_set": 1,
                    "months_to_achieve": t if ach else None,
                    "months_followed": None if ach else t,
                }
            )
    return pl.DataFrame(rows, schema_overrides={"months_followed": pl.Int64})


def test_time_to_goal_kaplan_meier_by_hand() -> None:
    res = time_to_goal(km_goals(10), months=[0, 1, 2, 3, 4, 5])
    assert isinstance(res, TimeToGoal)
    # S(1) = 8/10, S(2) = 0.8·7/8, S(3) = 0.7·4/5, S(5) = 0.56·1/2
    expected = [1.0, 0.8, 0.7, 0.56, 0.56, 0.28]
    assert res.curve["survival"].to_list() == pytest.approx(expected)
    assert res.curve["cumulative"].to_list() == pytest.approx([1 - s for s in expected])
    assert res.curve["at_risk"].to_list() == [100, 100, 80, 50, 40, 20]
    assert res.median == 5.0
    assert (res.n_persons, res.n_goals, res.n_achieved) == (100, 100, 50)
    ref = sst.ecdf(sst.CensoredData(uncensored=[1, 1, 2, 3, 5], right=[2, 2, 4, 4, 6]))
    assert ref.sf.evaluate(np.arange(6)) == pytest.approx(expected)


def test_time_to_goal_withholds_small_groups_and_tails() -> None:
    assert time_to_goal(km_goals(1).head(9)) == Withheld("fewer than 10 persons", 10)
    res = time_to_goal(km_goals(1), months=[0, 1, 2])
    assert res.curve["survival"].to_list()[0] == 1.0
    # 2 of 10 achieved at month 1: the step would say so; at 2, 8 remain at risk
    assert res.curve["withheld"].to_list() == [False, True, True]
    assert res.curve["survival"].to_list()[1:] == [None, None]
    assert res.median is None and "withheld" in res.median_note


def test_time_to_goal_never_lets_a_small_step_be_differenced() -> None:
    """Many at risk, but 2 goals achieved at month 3: publishing S(3) and n(0) would give back
    d = n·(1 − S(3)) = 2. Withheld until 10 or more persons have moved (events and departures)."""
    n = 40
    g = pl.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(n)],
            "episode_id": "e",
            "is_achieved": [True] * 14 + [False] * (n - 14),
            "months_to_set": 0,
            "months_to_achieve": [3] * 2 + [5] * 12 + [None] * (n - 14),
            "months_followed": [None] * 14 + [12] * (n - 14),
        }
    )
    res = time_to_goal(g, months=[0, 3, 5, 8])
    curve = res.curve
    # at 5 the 12 new goals are fine, but at-risk counts would show 2 leaving between 0 and 5;
    # at 8 both counts since 0 are 14: published
    assert curve["withheld"].to_list() == [False, True, True, False]
    s0, s8 = curve["survival"][0], curve["survival"][3]
    # from published points only the 14 goals of months 0–8 can be recovered, not the 2 of 3
    assert round(curve["at_risk"][0] * (1 - s8 / s0)) == 14
    assert res.median is None and res.median_note.startswith("the curve does not reach")


def test_time_to_goal_follow_up_from_persons() -> None:
    g = km_goals(2).drop("months_followed")
    persons = pl.DataFrame({"person_id": g["person_id"], "episode_id": "e", "duration_months": 7})
    res = time_to_goal(g, follow_up=persons)
    assert isinstance(res, TimeToGoal)
    with pytest.raises(ValueError, match="follow-up"):
        time_to_goal(g)


def test_goals_by_confidence() -> None:
    g = pl.DataFrame(
        {
            "person_id": [f"a{i}" for i in range(20)] + [f"b{i}" for i in range(5)],
            "confidence_band": ["7-8"] * 20 + ["1-3"] * 5,
            "is_achieved": [True] * 15 + [False] * 5 + [True] * 5,
        }
    )
    out = goals_by_confidence(g)
    rows = {r["confidence_band"]: r for r in out.iter_rows(named=True)}
    assert rows["1-3"]["withheld"] and rows["1-3"]["n_persons"] is None
    assert rows["1-3"]["share_achieved"] is None
    # 15 achieved, but only 5 persons with an open goal → share withheld (15/20 gives 5 back)
    assert rows["7-8"]["n_persons"] == 20 and rows["7-8"]["share_achieved"] is None
    ok = goals_by_confidence(g.filter(pl.col("confidence_band") == "7-8"), threshold=5)
    assert ok["share_achieved"].to_list() == [0.75]


def _as_trajectories(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as the notebooks read the marts: units under their own id, no person column."""
    return frame.rename({"person_id": "trajectory_id"}).drop("episode_id", strict=False)


def test_unit_column_counts_the_named_units() -> None:
    """unit= names what is counted: the same figures as under person_id, and one person with
    many trajectories is one unit by default (withheld) but many units when asked."""
    s = scores_from_pairs([(1, 3)] * 10 + [(2, 2)] * 10 + [(4, 3)] * 10)
    t = _as_trajectories(s)
    kw = {"unit": "trajectory_id", "episode": None}
    by_person = paired_change(s)
    assert paired_change(t, **kw).equals(by_person)
    assert share_at_level(t, **kw).equals(share_at_level(s))
    tm, tm_t = (
        transition_matrix(s, domain="financien"),
        transition_matrix(t, domain="financien", **kw),
    )
    assert isinstance(tm_t, TransitionMatrix) and tm_t.table.equals(tm.table)
    # one person behind all 30 trajectories: by person withheld, by trajectory not
    one = t.with_columns(person_id=pl.lit("p"), episode_id=pl.col("trajectory_id"))
    assert paired_change(one)["withheld"].to_list() == [True]
    assert paired_change(one, **kw)["n"].to_list() == [30]
    assert isinstance(transition_matrix(one, domain="financien"), Withheld)
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        paired_change(t)  # today's default still needs person_id / episode_id


def test_unit_column_for_goals() -> None:
    g = km_goals(2)
    t = _as_trajectories(g).rename({"trajectory_id": "goal_profile_id"})
    kw = {"unit": "goal_profile_id", "episode": None}
    a, b = time_to_goal(g, months=[0, 1, 2]), time_to_goal(t, months=[0, 1, 2], **kw)
    assert isinstance(a, TimeToGoal) and isinstance(b, TimeToGoal)
    assert b.curve.equals(a.curve) and (b.n_persons, b.median) == (a.n_persons, a.median)
    # follow-up joined on the unit alone when there is no episode column
    follow = t.drop("months_followed")
    fu = t.select("goal_profile_id", duration_months=pl.lit(7))
    c = time_to_goal(follow, follow_up=fu, **kw)
    persons = g.select("person_id", "episode_id", duration_months=pl.lit(7))
    d = time_to_goal(g.drop("months_followed"), follow_up=persons)
    assert isinstance(c, TimeToGoal) and isinstance(d, TimeToGoal) and c.curve.equals(d.curve)
    assert goals_by_confidence(t, unit="goal_profile_id").equals(goals_by_confidence(g))
    # 20 goals of one person: withheld by person, 20 goal profiles when counted by profile
    one = t.with_columns(person_id=pl.lit("p"))
    assert goals_by_confidence(one)["withheld"].to_list() == [True]
    assert goals_by_confidence(one, unit="goal_profile_id")["n_persons"].to_list() == [20]
    assert time_to_goal(one.with_columns(episode_id=pl.lit("e"))) == Withheld(
        "fewer than 10 persons", 10
    )
