"""``k_anonymise``: optimal full-domain generalisation with suppression, risk and utility.

Encoding (:mod:`anonymise.encode`), models (:mod:`anonymise.models`), metrics
(:mod:`anonymise.metrics`), search (:mod:`anonymise.search`) and suppression
(:mod:`anonymise.suppress`) meet here; the result carries its risk and utility.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from anonymise.encode import EncodedData, encode, generalise_expr
from anonymise.hierarchy import Hierarchy
from anonymise.metrics import ALL_METRICS, Loss, QualityMetric
from anonymise.models import KAnonymity, PrivacyModel, TCloseness, sensitive_of
from anonymise.result import AnonymisationResult, UnitDecisions, _pack
from anonymise.risk import RiskSummary, risk_from_sizes
from anonymise.search import Evaluator, node_string, optimal_search, sorted_unique
from anonymise.suppress import (
    STAR,
    enforce,
    failing_units,
    published_groups,
    units_per_group,
)
from anonymise.suppress import (
    local_suppression as greedy_cells,
)


def _sensitive_orders(models: Sequence[PrivacyModel]) -> dict[str, Sequence[object] | None]:
    out: dict[str, Sequence[object] | None] = {}
    for m in models:
        col = sensitive_of(m)
        if col is None:
            continue
        order = getattr(m, "order", None)
        if isinstance(m, TCloseness) and m.distance == "equal":
            order = None
        if out.get(col) is None:
            out[col] = order
        elif order is not None and list(order) != list(out[col] or []):
            raise ValueError(f"models give different value orders for {col!r}.")
    return out


def _strings(data: EncodedData, levels: Sequence[int], codes: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for d, (q, h) in enumerate(zip(data.quasi_identifiers, data.hierarchies, strict=True)):
        vals = np.array([*h.values[levels[d]], "*"], dtype=object)
        c = np.where(codes[d] == STAR, len(vals) - 1, codes[d])
        out[q] = vals[c]
    return out


def _frame(cols: dict[str, np.ndarray], prefix: str = "") -> pl.DataFrame:
    return pl.DataFrame(
        {f"{prefix}{q}": pl.Series(v.tolist(), dtype=pl.String) for q, v in cols.items()}
    )


def k_anonymise(
    data: pl.LazyFrame | pl.DataFrame,
    *,
    quasi_identifiers: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    k: int = 5,
    suppression_limit: float = 0.0,
    person_column: str | None = None,
    models: Sequence[PrivacyModel] = (),
    metric: QualityMetric = Loss(),  # noqa: B008 - a frozen, stateless dataclass
    local_suppression: bool = False,
    population: pl.LazyFrame | pl.DataFrame | None = None,
    risk_threshold: float = 0.2,
) -> AnonymisationResult:
    """Find the optimal full-domain generalisation that is k-anonymous (and satisfies ``models``).

    Parameters
    ----------
    data
        The frame; only the quasi-identifiers, the person column and sensitive columns are read.
    quasi_identifiers, hierarchies
        The QIs in lattice order and a :class:`~anonymise.hierarchy.Hierarchy` for each.
    k
        Minimum class size (rows, or distinct persons with ``person_column``).
    suppression_limit
        Largest share of rows (or persons) that may be suppressed, in [0, 1].
    person_column
        Person-level privacy. A person is counted in every class in which any of their rows
        falls (so a person whose QIs differ between rows counts in several classes); a person in
        any class failing the models is suppressed with all their rows, and because that can
        shrink other classes this repeats until every remaining class passes. The suppression
        limit then applies to persons.
    models
        Further privacy models (l-diversity, t-closeness) checked in the same search.
    metric
        The quality model to minimise; every metric is reported in ``result.metrics``.
    local_suppression
        Instead of removing the records of failing classes, blank QI cells (``*``) of those
        classes greedily until they reach ``k`` (see :mod:`anonymise.suppress`); what cannot
        reach ``k`` is removed. The node is chosen as with record suppression.
    population, risk_threshold
        Population frame (original QI values) for journalist/marketer risk, and the prosecutor
        risk above which a record counts as at risk.

    Examples
    --------
    >>> df = pl.DataFrame({"age": [31, 32, 33, 36, 47, 48], "sex": list("mmvvvm")})
    >>> hs = {"age": Hierarchy.intervals(range(0, 100), widths=(5, 10, 20), name="age"),
    ...       "sex": Hierarchy([("m", "*"), ("v", "*")], name="sex")}
    >>> res = k_anonymise(df, quasi_identifiers=["age", "sex"], hierarchies=hs, k=2)
    >>> res.node, res.levels, res.smallest_class
    ('40', {'age': 4, 'sex': 0}, 3)
    >>> res.published.rows()[:2]
    [('*', 'm'), ('*', 'm')]
    """
    qis = tuple(quasi_identifiers)
    if len(set(qis)) != len(qis):
        raise ValueError("quasi-identifiers must be distinct.")
    if not 0.0 <= suppression_limit <= 1.0:
        raise ValueError(f"suppression_limit must lie in [0, 1], got {suppression_limit}.")
    if person_column is not None and person_column in qis:
        raise ValueError("the person column cannot be a quasi-identifier.")
    all_models: tuple[PrivacyModel, ...] = (KAnonymity(k), *models)
    hier = {q: hierarchies[q] for q in qis} if set(qis) <= set(hierarchies) else dict(hierarchies)
    enc = encode(
        data,
        quasi_identifiers=qis,
        hierarchies=hier,
        person_column=person_column,
        sensitive=_sensitive_orders(models),
    )
    outcome = optimal_search(
        enc, models=all_models, suppression_limit=suppression_limit, metric=metric
    )
    best = outcome.best
    levels = best.levels
    evaluator = Evaluator(enc, all_models, suppression_limit)
    cards = [len(h.values[lv]) for h, lv in zip(enc.hierarchies, levels, strict=True)]
    codes_t = np.ascontiguousarray(enc.codes.T)
    gen = np.stack(
        [
            h.lut[lv][codes_t[d]]
            for d, (h, lv) in enumerate(zip(enc.hierarchies, levels, strict=True))
        ]
    )
    failing = failing_units(gen, enc, all_models, cards, evaluator.overall)
    if local_suppression:
        pub, left = greedy_cells(gen, enc, k=k, small=failing, cards=cards)
        active = ~left
    else:
        pub = gen
        active = ~failing
    if enc.person is not None:
        gone = np.zeros(enc.n_persons, dtype=bool)
        gone[enc.person[~active]] = True
        active &= ~gone[enc.person]
    active, removed_ids = enforce(pub, active, enc, all_models, cards, evaluator.overall)

    # Published classes and their sizes.
    group, n_groups = published_groups(pub, cards)
    sizes = units_per_group(group, active, enc, n_groups)
    live = sizes > 0
    pop_sizes = None
    if population is not None:
        pop_sizes = _population_sizes(population, enc, levels, pub, group, n_groups, person_column)
        pop_sizes = pop_sizes[live]
    risk = risk_from_sizes(sizes[live], pop_sizes, threshold=risk_threshold)
    g0, n0 = published_groups(codes_t, [h.hierarchy.size for h in enc.hierarchies])
    risk_before: RiskSummary = risk_from_sizes(
        units_per_group(g0, np.ones(len(g0), dtype=bool), enc, n0), threshold=risk_threshold
    )

    # Suppression decisions for apply().
    w = enc.weight
    starred = (pub == STAR) & active
    rewrite = None
    if starred.any():
        sel = starred.any(axis=0)
        src = _frame(_strings(enc, levels, gen[:, sel]))
        dst = _frame(_strings(enc, levels, pub[:, sel]), prefix="__out_")
        rewrite = pl.concat([src, dst], how="horizontal").unique()
    removed_classes = None
    removed_persons = None
    if enc.person is None:
        if (~active).any():
            removed_classes = _frame(_strings(enc, levels, pub[:, ~active])).unique()
    elif removed_ids is not None and len(removed_ids):
        assert person_column is not None
        removed_persons = _removed_persons(data, enc, person_column, removed_ids)

    decisions = _decisions(data, enc, levels, cards, gen, pub, active, starred)
    removed_rows = int(w[~active].sum())
    utility = _utility(enc, levels, gen, pub, active, removed_rows)
    assert best.view is not None  # the optimum is feasible, so fully evaluated
    metrics = {m.name: m.value(best.view) for m in ALL_METRICS}
    result = AnonymisationResult(
        quasi_identifiers=qis,
        levels=dict(zip(qis, levels, strict=True)),
        node=node_string(levels),
        k=k,
        suppression_limit=suppression_limit,
        person_column=person_column,
        suppressed_rows=removed_rows,
        suppressed_persons=None if removed_ids is None else len(removed_ids),
        suppressed_cells=int((starred * w).sum()),
        classes=int(live.sum()),
        smallest_class=int(sizes[live].min()) if live.any() else 0,
        metrics=metrics,
        metric=metric.name,
        score=outcome.score,
        search_ms=outcome.search_ms,
        nodes_checked=outcome.nodes_checked,
        lattice_size=outcome.lattice_size,
        risk=risk,
        risk_before=risk_before,
        utility=utility,
        hierarchies=hier,
        rewrite=rewrite,
        removed_classes=removed_classes,
        removed_persons=removed_persons,
        decisions=decisions,
    )
    # The release of the searched frame itself: on a DataFrame one gather per column through
    # ``decisions`` (what every caller did next with ``apply``), on a LazyFrame a lazy plan.
    return replace(result, published=result.apply(data))


def _removed_persons(
    data: pl.LazyFrame | pl.DataFrame, enc: EncodedData, person_column: str, ids: np.ndarray
) -> pl.Series:
    """The values of ``person_column`` of the dense person ids ``ids`` (their ranks among the
    sorted distinct values, as :func:`~anonymise.encode.encode` numbers them).

    For a frame whose string column has no nulls, each id's value is read from one of its rows
    (``row_unit`` and ``person`` say which rows hold it): no sort of the distinct values.
    """
    column = data.get_column(person_column) if isinstance(data, pl.DataFrame) else None
    if (
        column is None
        or column.dtype != pl.String
        or column.null_count()
        or enc.row_unit is None
        or enc.person is None
    ):
        persons = data.lazy().select(pl.col(person_column).unique().sort()).collect().to_series()
        return persons.gather(ids)
    row_person = enc.person[enc.row_unit]
    some_row = np.empty(enc.n_persons, dtype=np.int64)
    some_row[row_person] = np.arange(len(row_person), dtype=np.int64)
    return column.gather(some_row[ids])


def _decisions(
    data: pl.LazyFrame | pl.DataFrame,
    enc: EncodedData,
    levels: Sequence[int],
    cards: Sequence[int],
    gen: np.ndarray,
    pub: np.ndarray,
    active: np.ndarray,
    starred: np.ndarray,
) -> UnitDecisions | None:
    """The release in integer form for :meth:`AnonymisationResult.apply`."""
    radix = tuple(int(c) + 1 for c in cards)
    space = 1
    for r in radix:
        space *= r
    if enc.row_unit is None or space >= 2**62:
        return None
    index = np.where(pub == STAR, np.asarray(cards, dtype=np.int64)[:, None], pub)
    values = tuple(
        pl.Series(q, [*h.values[lv], "*"], dtype=pl.String)
        for q, h, lv in zip(enc.quasi_identifiers, enc.hierarchies, levels, strict=True)
    )
    sel = starred.any(axis=0)
    star_keys, first = np.unique(_pack(gen[:, sel], radix), return_index=True)
    star_index = index[:, sel][:, first]
    removed_keys = None
    if enc.person is None:
        removed_keys = sorted_unique(_pack(index[:, ~active], radix))
    return UnitDecisions(
        source=weakref.ref(data) if isinstance(data, pl.DataFrame) else None,
        row_unit=enc.row_unit,
        values=values,
        value_index=tuple(index),
        active=active,
        levels=tuple(levels),
        gen_radix=radix,
        star_keys=star_keys,
        star_index=star_index,
        removed_keys=removed_keys,
    )


def _utility(
    enc: EncodedData,
    levels: Sequence[int],
    gen: np.ndarray,
    pub: np.ndarray,
    active: np.ndarray,
    removed_rows: int,
) -> pl.DataFrame:
    """Per QI: level, share of rows generalised, share suppressed (rows + cells), Loss part."""
    n = enc.n_rows
    w = enc.weight
    rows = []
    for d, (q, h) in enumerate(zip(enc.quasi_identifiers, enc.hierarchies, strict=True)):
        lv = levels[d]
        changed = np.array(h.hierarchy.leaves) != np.array(h.hierarchy.level(lv))
        star = pub[d] == STAR
        plain = active & ~star
        generalised = w[plain & changed[enc.codes[:, d]]].sum()
        cells = w[active & star].sum()
        agg = (w[plain] * h.share[lv][gen[d, plain]]).sum() + cells + removed_rows
        loss = Loss.per_qi(np.array([agg]), n, np.float64(h.hierarchy.size))[0]
        rows.append(
            {
                "quasi_identifier": q,
                "level": lv,
                "max_level": h.height - 1,
                "share_generalised": float(generalised / n),
                "share_suppressed": float((removed_rows + cells) / n),
                "loss": float(loss),
            }
        )
    return pl.DataFrame(rows)


def _population_sizes(
    population: pl.LazyFrame | pl.DataFrame,
    enc: EncodedData,
    levels: Sequence[int],
    pub: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    person_column: str | None,
) -> np.ndarray:
    """Population size of each published class; a ``*`` cell matches any value."""
    qis = list(enc.quasi_identifiers)
    pop = population.lazy().with_columns(
        generalise_expr(q, h.hierarchy, lv)
        for q, h, lv in zip(qis, enc.hierarchies, levels, strict=True)
    )
    first = np.zeros(n_groups, dtype=np.int64)
    first[group[::-1]] = np.arange(len(group))[::-1]
    cls_codes = pub[:, first]
    strings = _strings(enc, levels, cls_codes)
    out = np.zeros(n_groups)
    patterns = cls_codes == STAR
    for pattern in np.unique(patterns, axis=1).T:
        sel = (patterns == pattern[:, None]).all(axis=0)
        keep = [q for q, s in zip(qis, pattern, strict=True) if not s]
        agg = pl.len() if person_column is None else pl.col(person_column).n_unique()
        wanted = _frame({q: strings[q][sel] for q in keep}).with_row_index("__j")
        if keep:
            counts = pop.group_by(keep).agg(agg.cast(pl.Int64).alias("__F"))
            joined = wanted.lazy().join(counts, on=keep, how="left", nulls_equal=True)
            got = joined.sort("__j").collect()["__F"].fill_null(0).to_numpy()
        else:
            got = np.full(int(sel.sum()), pop.select(agg).collect().item())
        out[sel] = got
    return out
