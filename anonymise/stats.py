"""Analysts' statistics on the research mart, with every small-group figure withheld.

Pure functions on polars frames with the columns of ``mart_bridge_scores`` (``person_id``,
``episode_id``, ``domain``, ``level`` 1–5, ``months_since_intake``, ``measurement_no``) and
``mart_goals`` (``person_id``, ``episode_id``, ``domain``, ``confidence_band``, ``is_achieved``,
``months_to_set``, ``months_to_achieve``).

Disclosure rule (DwB rule of thumb 1): a figure computed on fewer than ``threshold`` distinct
persons (default 10) is *withheld* — the result says so (a :class:`Withheld` value, or a
``withheld``/``reason`` pair of columns with the figures null) and never carries the number. A
share is withheld too when the persons in its numerator or in its complement number 1 to
``threshold − 1`` (share × n would give that small count back). Results still go through the
output check (:func:`anonymise.output_check.check_output`) before they leave.

Unit of analysis: a person. Where a person has several episodes, the episode with the most
measurements (then the longest follow-up, then the smallest ``episode_id``) is used, so every
paired test has independent pairs and every count is a count of persons.

Every function takes the unit explicitly when it is not the person: ``unit`` names the column
whose distinct values are counted against the threshold (default ``person_id``) and ``episode``
the column that tells a unit's episodes apart (default ``episode_id``; ``None`` when every unit
is one episode, e.g. ``unit="trajectory_id"`` on ``mart_bridge_scores`` or
``unit="goal_profile_id"`` on ``mart_goals``, whose rows carry no person). The messages still
say "persons": the threshold rule is the same for any unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from anonymise.tables import TOTAL, PrimaryRules, TableSet, frequency_table, protect

DEFAULT_THRESHOLD = 10
LEVELS = ("1", "2", "3", "4", "5")
ZeroMethod = Literal["wilcox", "pratt", "zsplit"]


@dataclass(frozen=True)
class Withheld:
    """A figure that may not be shown: computed on fewer than ``threshold`` persons.

    The number of persons is deliberately not kept (a count under the threshold is itself
    disclosive).

    >>> Withheld("fewer than 10 persons", 10)
    Withheld(reason='fewer than 10 persons', threshold=10)
    """

    reason: str
    threshold: int

    @property
    def withheld(self) -> bool:
        return True


def _keys(unit: str, episode: str | None, *more: str) -> list[str]:
    """Group-by keys: the unit, its episode (unless absent or the unit itself), then ``more``."""
    return list(dict.fromkeys([unit, episode or unit, *more]))


def _too_few(threshold: int) -> str:
    return f"fewer than {threshold} persons"


def _small(k: int, threshold: int) -> bool:
    return 0 < k < threshold


def _share_reason(k: int, n: int, threshold: int, what: str) -> str | None:
    """Why the share k/n may not be shown (None when it may)."""
    if n < threshold:
        return _too_few(threshold)
    if _small(k, threshold):
        return f"fewer than {threshold} persons {what}"
    if _small(n - k, threshold):
        return f"fewer than {threshold} persons not {what}"
    return None


# --------------------------------------------------------------------------------------------
# Bridge scores: intake vs latest
# --------------------------------------------------------------------------------------------


def _pairs(
    scores: pl.DataFrame,
    domain: str | Sequence[str] | None = None,
    *,
    unit: str = "person_id",
    episode: str | None = "episode_id",
) -> pl.DataFrame:
    """Per unit and domain: intake (first) and latest level, from one episode, ≥ 2 measurements.

    >>> s = pl.DataFrame({"person_id": ["p"] * 3, "episode_id": ["e"] * 3, "domain": ["d"] * 3,
    ...                   "level": [2, 3, 4], "months_since_intake": [0, 3, 6],
    ...                   "measurement_no": [1, 2, 3]})
    >>> _pairs(s).select("domain", "intake", "latest", "change").rows()
    [('d', 2, 4, 2)]
    """
    df = scores
    if domain is not None:
        doms = [domain] if isinstance(domain, str) else list(domain)
        df = df.filter(pl.col("domain").is_in(doms))
    per_ep = (
        df.filter(pl.col("level").is_not_null())
        .sort("measurement_no")
        .group_by(_keys(unit, episode, "domain"))
        .agg(
            pl.col("level").first().cast(pl.Int64).alias("intake"),
            pl.col("level").last().cast(pl.Int64).alias("latest"),
            pl.len().alias("measurements"),
            pl.col("months_since_intake").max().alias("follow_up"),
        )
        .filter(pl.col("measurements") >= 2)
    )
    return (
        per_ep.sort(
            ["measurements", "follow_up", episode or unit],
            descending=[True, True, False],
        )
        .group_by(unit, "domain", maintain_order=True)
        .first()
        .with_columns(change=pl.col("latest") - pl.col("intake"))
        .sort("domain", unit)
    )


def rank_biserial(d: np.ndarray, zero_method: ZeroMethod = "wilcox") -> float:
    """Matched-pairs rank-biserial correlation r = (T⁺ − T⁻) / (T⁺ + T⁻) (Kerby 2014).

    Ranks of |d| are taken as :func:`scipy.stats.wilcoxon` takes them: ``"wilcox"`` drops zero
    differences before ranking, ``"pratt"`` ranks them and then drops them, ``"zsplit"`` splits
    their ranks evenly between T⁺ and T⁻.

    >>> rank_biserial(np.array([1, 2, -1, 3]))  # ranks 1.5, 3, 1.5, 4: (8.5 − 1.5) / 10
    0.7
    """
    from scipy import stats as sst

    d = np.asarray(d, dtype=float)
    if zero_method == "wilcox":
        d = d[d != 0]
    if not len(d):
        return float("nan")
    r = sst.rankdata(np.abs(d))
    t_plus = r[d > 0].sum()
    t_minus = r[d < 0].sum()
    if zero_method == "zsplit":
        t_plus += r[d == 0].sum() / 2
        t_minus += r[d == 0].sum() / 2
    total = t_plus + t_minus
    return float((t_plus - t_minus) / total) if total else float("nan")


_PAIRED_SCHEMA = {
    "domain": pl.String,
    "withheld": pl.Boolean,
    "reason": pl.String,
    "n": pl.Int64,
    "median_change": pl.Float64,
    "mean_change": pl.Float64,
    "share_improved": pl.Float64,
    "share_stable": pl.Float64,
    "share_declined": pl.Float64,
    "wilcoxon_statistic": pl.Float64,
    "p_value": pl.Float64,
    "zero_method": pl.String,
    "rank_biserial": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "confidence_level": pl.Float64,
}


def paired_change(
    scores: pl.DataFrame,
    *,
    domain: str | Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    zero_method: ZeroMethod = "wilcox",
    confidence_level: float = 0.95,
    n_resamples: int = 9999,
    ci_method: Literal["percentile", "basic", "BCa"] = "percentile",
    seed: int = 20240601,
    unit: str = "person_id",
    episode: str | None = "episode_id",
) -> pl.DataFrame:
    """Intake vs latest Bridge level per domain: one row per domain.

    Persons with at least two measurements; change = latest − intake level. Columns: ``n``
    (persons), ``median_change``, ``mean_change``, ``share_improved/stable/declined``, the
    Wilcoxon signed-rank test (:func:`scipy.stats.wilcoxon`, two-sided, ``zero_method`` —
    default ``"wilcox"``: pairs without change are dropped before ranking, as in Wilcoxon's
    original test; ``"pratt"`` keeps them in the ranking), the matched-pairs rank-biserial
    effect size on the same ranking (:func:`rank_biserial`), and a bootstrap confidence interval
    of the mean change (:func:`scipy.stats.bootstrap`, ``batch=1000``, seeded ``rng``).

    A domain with fewer than ``threshold`` persons has ``withheld`` true, a ``reason`` and every
    figure (``n`` included) null; a share whose count is 1 … ``threshold`` − 1 is null and named
    in ``reason``. The test is null (with a reason) when every change is 0. ``unit`` and
    ``episode``: what is counted (see the module docstring).

    >>> s = pl.DataFrame({"person_id": [f"p{i}" for i in range(9) for _ in (0, 1)],
    ...                   "episode_id": "e", "domain": "financien", "level": [1, 2] * 9,
    ...                   "months_since_intake": [0, 6] * 9, "measurement_no": [1, 2] * 9})
    >>> paired_change(s).select("withheld", "reason", "n").row(0)
    (True, 'fewer than 10 persons', None)
    """
    from scipy import stats as sst

    pairs = _pairs(scores, domain, unit=unit, episode=episode)
    rows = []
    for (dom,), grp in pairs.group_by("domain", maintain_order=True):
        d = grp["change"].to_numpy().astype(float)
        n = len(d)
        if n < threshold:
            rows.append({"domain": dom, "withheld": True, "reason": _too_few(threshold)})
            continue
        row: dict = {
            "domain": dom,
            "withheld": False,
            "n": n,
            "median_change": float(np.median(d)),
            "mean_change": float(d.mean()),
            "zero_method": zero_method,
            "confidence_level": confidence_level,
        }
        notes = []
        for col, k, what in [
            ("share_improved", int((d > 0).sum()), "improved"),
            ("share_stable", int((d == 0).sum()), "stable"),
            ("share_declined", int((d < 0).sum()), "declined"),
        ]:
            why = _share_reason(k, n, threshold, what)
            if why is None:
                row[col] = k / n
            else:
                notes.append(f"{col}: {why}")
        if (d != 0).any():
            res = sst.wilcoxon(d, zero_method=zero_method, alternative="two-sided")
            row["wilcoxon_statistic"] = float(res.statistic)
            row["p_value"] = float(res.pvalue)
            row["rank_biserial"] = rank_biserial(d, zero_method)
        else:
            notes.append("no test: every change is 0")
            row["rank_biserial"] = 0.0
        if np.ptp(d) == 0:
            row["ci_low"] = row["ci_high"] = float(d[0])
        else:
            ci = sst.bootstrap(
                (d,),
                np.mean,
                n_resamples=n_resamples,
                batch=1000,
                confidence_level=confidence_level,
                method=ci_method,
                rng=np.random.default_rng(seed),
            ).confidence_interval
            row["ci_low"], row["ci_high"] = float(ci.low), float(ci.high)
        row["reason"] = "; ".join(notes) or None
        rows.append(row)
    return pl.DataFrame(rows, schema=_PAIRED_SCHEMA)


def share_at_level(
    scores: pl.DataFrame,
    *,
    levels: Sequence[int] = (4, 5),
    by: str = "months_since_intake",
    threshold: int = DEFAULT_THRESHOLD,
    unit: str = "person_id",
    episode: str | None = "episode_id",
) -> pl.DataFrame:
    """Share of persons (``unit``) at ``levels`` (default 4–5) per domain and ``by`` bucket.

    A person counts once per domain and bucket (their last measurement in it, one episode as in
    :func:`paired_change`). Columns ``domain``, ``by``, ``n`` (persons), ``share``,
    ``withheld``, ``reason``; ``n`` and ``share`` are null when the bucket has fewer than
    ``threshold`` persons, ``share`` also when the persons at (or not at) those levels number
    1 … ``threshold`` − 1.

    >>> s = pl.DataFrame({"person_id": [f"p{i}" for i in range(20)], "episode_id": "e",
    ...                   "domain": "wonen", "level": [5] * 10 + [2] * 10,
    ...                   "months_since_intake": 0, "measurement_no": 1})
    >>> share_at_level(s).select("n", "share", "withheld").rows()
    [(20, 0.5, False)]
    """
    keys = _keys(unit, episode, "domain")
    ep = (
        scores.group_by(keys)
        .agg(pl.len().alias("m"), pl.col("months_since_intake").max().alias("f"))
        .sort(["m", "f", episode or unit], descending=[True, True, False])
        .group_by(unit, "domain", maintain_order=True)
        .first()
        .select(keys)
    )
    per = (
        scores.join(ep, on=keys)
        .filter(pl.col("level").is_not_null())
        .sort("measurement_no")
        .group_by("domain", by, unit)
        .agg(pl.col("level").last())
        .group_by("domain", by)
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("level").is_in(list(levels)).sum().cast(pl.Int64).alias("k"),
        )
        .sort("domain", by)
    )
    reasons = [
        _share_reason(k, n, threshold, f"at level {'/'.join(map(str, levels))}")
        for n, k in zip(per["n"].to_list(), per["k"].to_list(), strict=True)
    ]
    return per.with_columns(
        reason=pl.Series(reasons, dtype=pl.String),
    ).select(
        "domain",
        by,
        pl.when(pl.col("n") >= threshold).then(pl.col("n")).alias("n"),
        pl.when(pl.col("reason").is_null()).then(pl.col("k") / pl.col("n")).alias("share"),
        (pl.col("n") < threshold).alias("withheld"),
        "reason",
    )


@dataclass(frozen=True)
class TransitionMatrix:
    """Intake → latest level counts of one domain, protected.

    ``table`` has ``intake``, ``latest`` (``"1"`` … ``"5"`` and ``"Totaal"``), ``count`` (null
    when suppressed), ``suppressed`` and ``reason`` (``primary:threshold`` or ``secondary``);
    ``audit_ok`` is the verdict of the attacker audit (always true: otherwise an error is raised).
    """

    domain: str
    n: int
    table: pl.DataFrame
    audit_ok: bool

    def wide(self) -> pl.DataFrame:
        """The 5×5 matrix (with totals) as intake rows × latest columns; suppressed = null."""
        return self.table.pivot(on="latest", index="intake", values="count", sort_columns=True)


def transition_matrix(
    scores: pl.DataFrame,
    *,
    domain: str,
    threshold: int = DEFAULT_THRESHOLD,
    rules: PrimaryRules | None = None,
    unit: str = "person_id",
    episode: str | None = "episode_id",
) -> TransitionMatrix | Withheld:
    """5×5 counts of persons from intake level to latest level in ``domain``, with margins.

    Cells with 1 … ``threshold`` − 1 persons are suppressed (primary), and because the margins
    are shown, further cells are suppressed (secondary, :func:`anonymise.tables.protect`) until
    the attacker audit finds no suppressed cell recoverable by differencing. ``rules`` overrides
    the primary rules (default: threshold only). Fewer than ``threshold`` persons in total →
    :class:`Withheld`. ``unit`` and ``episode``: what is counted (see the module docstring).
    """
    pairs = _pairs(scores, domain, unit=unit, episode=episode)
    n = pairs.height
    if n < threshold:
        return Withheld(_too_few(threshold), threshold)
    rules = rules or PrimaryRules(
        threshold=threshold, dominance=None, p_percent=None, group_share=None
    )
    hier = {lv: TOTAL for lv in LEVELS}
    lf = pairs.lazy().select(
        pl.col("intake").cast(pl.String), pl.col("latest").cast(pl.String), unit
    )
    table = frequency_table(
        lf,
        dims=["intake", "latest"],
        hierarchies={"intake": hier, "latest": hier},
        person_column=unit,
        name=f"transition_{domain}",
    )
    res = protect(TableSet([table]), rules=rules, method="milp")
    if not res.audit.ok:
        raise RuntimeError(f"transition matrix of {domain!r}: audit failed {res.audit.failures}")
    out = (
        res.tables[table.name]
        .select(
            "intake",
            "latest",
            pl.col("value").cast(pl.Int64).alias("count"),
            "suppressed",
            "reason",
        )
        .sort("intake", "latest")
    )
    return TransitionMatrix(domain=domain, n=n, table=out, audit_ok=True)


# --------------------------------------------------------------------------------------------
# Goals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeToGoal:
    """Kaplan–Meier curve of months from setting to achieving a goal.

    ``curve`` has ``month``, ``at_risk`` (goals still open just before the month), ``survival``
    (share of goals not yet achieved) and ``cumulative`` (1 − survival), null (``withheld``)
    where fewer than ``threshold`` persons are still at risk, or where the persons achieving a
    goal or leaving the risk set since the previous published month number 1 to threshold − 1
    (the step would give them back); ``median`` is the first month at which half the goals are
    achieved, None when the curve never reaches 0.5 or that point is withheld
    (``median_note`` says which).
    """

    n_persons: int
    n_goals: int
    n_achieved: int
    curve: pl.DataFrame
    median: float | None
    median_note: str | None = None  # why ``median`` is None: not reached, or withheld


def _follow_up(goals: pl.DataFrame, follow_up: pl.DataFrame | None, keys: list[str]) -> pl.Series:
    if "months_followed" in goals.columns:
        return goals["months_followed"].cast(pl.Float64)
    if follow_up is None:
        raise ValueError(
            "time_to_goal needs the follow-up of open goals: a 'months_followed' column (months "
            "from setting the goal to the end of follow-up) or follow_up= a frame with "
            f"{', '.join(keys)}, duration_months (e.g. mart_persons)"
        )
    fu = follow_up.select(*keys, "duration_months").unique(keys)
    joined = goals.select(*keys, "months_to_set").join(
        fu, on=keys, how="left", maintain_order="left"
    )
    return (
        (joined["duration_months"] - joined["months_to_set"]).clip(lower_bound=0).cast(pl.Float64)
    )


def time_to_goal(
    goals: pl.DataFrame,
    *,
    follow_up: pl.DataFrame | None = None,
    months: Sequence[float] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    unit: str = "person_id",
    episode: str | None = "episode_id",
) -> TimeToGoal | Withheld:
    """Time to goal with right-censoring, by :func:`scipy.stats.ecdf` on ``CensoredData``.

    An achieved goal is an event at ``months_to_achieve``; a goal not (yet) achieved is
    right-censored at the follow-up available for it: the ``months_followed`` column when
    present, otherwise ``duration_months − months_to_set`` from ``follow_up`` (mart_persons).
    The curve is evaluated at ``months`` (default: every distinct event or censoring month).
    Goals are the units of the curve (a person's goals are treated as independent); the
    threshold counts distinct persons (``unit``), overall and among those still at risk at each
    month; ``follow_up`` is joined on ``unit`` and ``episode`` (see the module docstring).

    >>> g = pl.DataFrame({"person_id": [f"p{i}" for i in range(60)], "episode_id": "e",
    ...                   "is_achieved": [True] * 28 + [False] * 32, "months_to_set": 0,
    ...                   "months_to_achieve": [1] * 12 + [2] * 12 + [9] * 4 + [None] * 32,
    ...                   "months_followed": [None] * 28 + [6] * 32})
    >>> r = time_to_goal(g, months=[0, 1, 2, 9])
    >>> r.curve["survival"].round(3).to_list(), r.median  # 4 persons at risk at month 9
    ([1.0, 0.8, 0.6, None], None)
    >>> r.median_note  # S falls below 0.5 at month 9, where only 4 persons are at risk
    'withheld: fewer than 10 persons still at risk at the median'
    >>> time_to_goal(g.head(9))
    Withheld(reason='fewer than 10 persons', threshold=10)
    """
    from scipy import stats as sst

    n_persons = goals[unit].n_unique()
    if n_persons < threshold:
        return Withheld(_too_few(threshold), threshold)
    achieved = goals["is_achieved"].fill_null(False).to_numpy().astype(bool)
    t_event = goals["months_to_achieve"].cast(pl.Float64).to_numpy()
    t_cens = _follow_up(goals, follow_up, _keys(unit, episode)).to_numpy()
    if np.isnan(t_event[achieved]).any():
        raise ValueError("an achieved goal has no months_to_achieve")
    if np.isnan(t_cens[~achieved]).any():
        raise ValueError("an open goal has no follow-up (months_followed / duration_months)")
    times = np.where(achieved, t_event, t_cens)
    data = sst.CensoredData(uncensored=t_event[achieved], right=t_cens[~achieved])
    res = sst.ecdf(data)
    grid = np.unique(times) if months is None else np.asarray(months, dtype=float)
    surv = res.sf.evaluate(grid)
    person = goals[unit].to_numpy()
    at_risk = np.array([(times >= m).sum() for m in grid], dtype=np.int64)
    persons_at_risk = np.array([len(set(person[times >= m])) for m in grid])
    # Between two published points the curve's step and the at-risk counts give back how many
    # goals were achieved (d = n · (1 − S(m)/S(p))) and how many left the risk set: a point is
    # published only when both counts, in persons, are 0 or at least the threshold; otherwise it
    # is withheld and its interval merges into the next point's.
    ok = np.zeros(len(grid), dtype=bool)
    prev = -np.inf
    for i, m in enumerate(grid):
        if persons_at_risk[i] < threshold:
            continue
        events = len(set(person[achieved & (t_event > prev) & (t_event <= m)]))
        left = len(set(person[(times >= prev) & (times < m)])) if np.isfinite(prev) else 0
        if all(c == 0 or c >= threshold for c in (events, left)):
            ok[i] = True
            prev = m
    curve = pl.DataFrame(
        {
            "month": grid,
            "at_risk": np.where(ok, at_risk, 0),
            "survival": surv,
            "cumulative": 1.0 - surv,
            "withheld": ~ok,
        }
    ).with_columns(
        pl.when(~pl.col("withheld")).then(pl.col(c)).alias(c)
        for c in ("at_risk", "survival", "cumulative")
    )
    median, median_note = None, "the curve does not reach 50 % within the follow-up"
    q, p = res.sf.quantiles, res.sf.probabilities
    hit = np.flatnonzero(p <= 0.5 + 1e-12)
    if len(hit):
        m = float(q[hit[0]])
        if len(set(person[times >= m])) >= threshold:
            median, median_note = m, None
        else:
            median_note = f"withheld: fewer than {threshold} persons still at risk at the median"
    return TimeToGoal(
        n_persons=int(n_persons),
        n_goals=len(times),
        n_achieved=int(achieved.sum()),
        curve=curve,
        median=median,
        median_note=median_note,
    )


def goals_by_confidence(
    goals: pl.DataFrame,
    *,
    by: Sequence[str] = ("confidence_band",),
    threshold: int = DEFAULT_THRESHOLD,
    unit: str = "person_id",
) -> pl.DataFrame:
    """Goals reached per confidence band (or other ``by`` columns): persons, goals, share.

    Columns: ``by``, ``n_persons``, ``n_goals``, ``n_achieved``, ``share_achieved``,
    ``withheld``, ``reason``. Counts are null when the band has fewer than ``threshold``
    persons; the share (and ``n_achieved``) also when the persons with an achieved goal, or
    those without one, number 1 … ``threshold`` − 1. ``unit``: the column whose distinct values
    are the persons counted (e.g. ``goal_profile_id`` on ``mart_goals``).

    >>> g = pl.DataFrame({"person_id": [f"p{i}" for i in range(20)], "confidence_band": "7-8",
    ...                   "is_achieved": [True] * 10 + [False] * 10})
    >>> goals_by_confidence(g).select("n_persons", "share_achieved", "withheld").rows()
    [(20, 0.5, False)]
    """
    by = list(by)
    per = (
        goals.with_columns(pl.col("is_achieved").fill_null(False))
        .group_by(*by)
        .agg(
            pl.col(unit).n_unique().cast(pl.Int64).alias("n_persons"),
            pl.len().cast(pl.Int64).alias("n_goals"),
            pl.col("is_achieved").sum().cast(pl.Int64).alias("n_achieved"),
            pl.col(unit).filter(pl.col("is_achieved")).n_unique().alias("k"),
            pl.col(unit).filter(~pl.col("is_achieved")).n_unique().alias("j"),
        )
        .sort(by)
    )
    reasons = []
    for n, k, j in per.select("n_persons", "k", "j").iter_rows():
        if n < threshold:
            reasons.append(_too_few(threshold))
        elif _small(k, threshold):
            reasons.append(f"fewer than {threshold} persons with an achieved goal")
        elif _small(j, threshold):
            reasons.append(f"fewer than {threshold} persons with an open goal")
        else:
            reasons.append(None)
    small = pl.col("n_persons") < threshold
    show = pl.col("reason").is_null()
    return per.with_columns(reason=pl.Series(reasons, dtype=pl.String)).select(
        *by,
        pl.when(~small).then(pl.col("n_persons")).alias("n_persons"),
        pl.when(~small).then(pl.col("n_goals")).alias("n_goals"),
        pl.when(show).then(pl.col("n_achieved")).alias("n_achieved"),
        pl.when(show).then(pl.col("n_achieved") / pl.col("n_goals")).alias("share_achieved"),
        small.alias("withheld"),
        "reason",
    )


__all__ = [
    "DEFAULT_THRESHOLD",
    "TimeToGoal",
    "TransitionMatrix",
    "Withheld",
    "goals_by_confidence",
    "paired_change",
    "rank_biserial",
    "share_at_level",
    "time_to_goal",
    "transition_matrix",
]
