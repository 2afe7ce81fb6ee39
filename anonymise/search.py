"""Optimal full-domain generalisation: a bounded, monotonicity-pruned search of the lattice.

The lattice holds one node per combination of hierarchy levels. Two facts make it searchable:

* **Feasibility is monotone.** With the models in :mod:`anonymise.models`, a class built by
  merging classes that pass also passes, so the suppressed share never grows under
  generalisation: every generalisation of a feasible node is feasible, every specialisation of an
  infeasible node is infeasible.
* **Metrics have lower bounds.** Loss is not monotone once suppression is allowed, but each
  metric gives a bound valid whatever is suppressed that grows with generalisation (e.g. Loss
  with nothing suppressed). A node whose bound is not below the best score found can be skipped
  together with everything above it.

The search (in the Flash/OLA family) first binary-searches one path from the lowest-bound node to
the top for a first feasible incumbent, then repeatedly evaluates the *most general* node that
is still a candidate (unknown or feasible, bound ≤ best): an infeasible answer prunes its whole
set of specialisations, a feasible one may lower the best score and shrink the candidate set. It
stops when no candidate is left, so the result is the optimum among feasible nodes (tests check
this against brute force). Ties are broken by lower height, then lexicographically.

Counting follows ARX's *groupify*: classes are counted on the distinct-combination table, and a
node's class table is rolled up from the smallest class table already computed for one of its
specialisations (a few hundred rows rather than the data).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anonymise.encode import EncodedData, _sorted_inverse
from anonymise.metrics import NodeView, QualityMetric
from anonymise.models import ClassStats, KAnonymity, PrivacyModel, sensitive_of

_EPS = 1e-12
_CACHE_SIZE = 256
_BIG = np.iinfo(np.int64).max


def node_string(levels: Sequence[int]) -> str:
    """A node written as its levels, e.g. ``"3001311"`` (levels above 9 go in brackets).

    >>> node_string((3, 0, 0, 1, 3, 1, 1))
    '3001311'
    """
    return "".join(str(v) if v < 10 else f"[{v}]" for v in levels)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-D integer array, sorted (``np.unique`` without options).

    A sort and a comparison of neighbours: NumPy 2.4's ``np.unique`` counts distinct integers
    with a hash table that is several times slower on the arrays the search sorts per node.

    >>> sorted_unique(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    s = np.sort(values)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def lattice_nodes(heights: Sequence[int]) -> np.ndarray:
    """Every node of the lattice, one row of levels per node (last QI varies fastest).

    >>> lattice_nodes((2, 3)).tolist()
    [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    """
    grids = np.meshgrid(*[np.arange(h) for h in heights], indexing="ij")
    return np.stack(grids, axis=-1).reshape(-1, len(heights)).astype(np.int64)


def group_codes(
    gen: np.ndarray | Sequence[np.ndarray],
    cards: Sequence[int],
    weight: np.ndarray,
    *,
    inverse: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Group the columns of value codes ``gen`` (D×n, one row per QI; or D arrays of length n).

    Returns the classes' codes (D×C), their summed weights and, if asked, each column's class.
    A mixed-radix key is counted with ``bincount`` when its range is small, else ranked
    (:func:`_dense_classes`); either way the classes come in key order.

    >>> codes, w, inv = group_codes(np.array([[0, 0, 1], [1, 1, 0]]), (2, 2), np.ones(3),
    ...                             inverse=True)
    >>> codes.tolist(), w.tolist(), inv.tolist()
    ([[0, 1], [1, 0]], [2.0, 1.0], [0, 0, 1])
    """
    d, n = len(gen), len(gen[0])
    space = 1
    for c in cards:
        space *= max(int(c), 1)
    if space >= 2**62:
        uniq_cols, inv = np.unique(np.stack(gen), axis=1, return_inverse=True)
        inv = inv.reshape(-1)
        return uniq_cols, np.bincount(inv, weights=weight), inv if inverse else None
    limit = 4 * n + 1024
    if space > limit:
        out, inv = _dense_classes(gen, cards, limit)
        return out, np.bincount(inv, weights=weight), inv if inverse else None
    key = gen[0].astype(np.int64, copy=True)
    for j in range(1, d):
        c = int(cards[j])
        if c > 1:  # a single-valued QI (code 0 everywhere) adds nothing to the key
            key *= c
            key += gen[j]
    inv = None
    counts = np.bincount(key, weights=weight)
    uniq = np.flatnonzero(counts)
    rows = counts[uniq]
    if inverse:
        relabel = np.empty(len(counts), dtype=np.int64)
        relabel[uniq] = np.arange(len(uniq))
        inv = relabel[key]
    out = np.empty((d, len(uniq)), dtype=np.int64)
    rest = uniq
    for j in range(d - 1, 0, -1):
        c = int(cards[j])
        if c > 1:
            rest, out[j] = np.divmod(rest, c)
        else:
            out[j] = 0
    out[0] = rest
    return out, rows, inv if inverse else None


def _dense_classes(
    gen: np.ndarray | Sequence[np.ndarray], cards: Sequence[int], limit: int
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct columns of ``gen`` in mixed-radix key order (D×C) and each column's class:
    exactly ``np.unique`` of the mixed-radix key, without sorting when it can be avoided.

    The key is built one QI at a time; whenever the next QI would take its range above
    ``limit``, the partial key is replaced by its dense rank among the values present (a
    presence table and a cumulative sum: linear, and order-preserving, so the final classes come
    out in key order). Only a key that stays too wide after that is sorted.

    >>> gen = [np.array([3, 0, 3, 1]), np.array([9, 4, 9, 4])]
    >>> codes, inv = _dense_classes(gen, (4, 10), 8)
    >>> codes.tolist(), inv.tolist()
    ([[0, 1, 3], [4, 4, 9]], [2, 0, 2, 1])
    """

    def dense(r: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
        present = np.zeros(space, dtype=bool)
        present[r] = True
        rank = np.cumsum(present, dtype=np.int64)
        rank -= 1
        return np.flatnonzero(present), rank[r]

    d = len(gen)
    r = gen[0].astype(np.int64, copy=True)
    space = max(int(cards[0]), 1)
    steps: list[tuple[int, int] | np.ndarray] = []  # (QI, radix) appended, or a rank's values
    for j in range(1, d):
        c = int(cards[j])
        if c <= 1:  # a single-valued QI (code 0 everywhere) adds nothing to the key
            continue
        if space * c > limit and space <= limit:
            values, ranked = dense(r, space)
            if len(values) < space:
                r, space = ranked, len(values)
                steps.append(values)
        r *= c
        r += gen[j]
        space *= c
        steps.append((j, c))
    if space <= limit:
        uniq, inv = dense(r, space)
    else:
        uniq, inv = _sorted_inverse(r, space)
    out = np.zeros((d, len(uniq)), dtype=np.int64)
    v = uniq
    for step in reversed(steps):
        if isinstance(step, tuple):
            v, out[step[0]] = np.divmod(v, step[1])
        else:
            v = step[v]
    out[0] = v
    return out, inv


@dataclass(frozen=True)
class NodeEvaluation:
    """The outcome of checking one node."""

    levels: tuple[int, ...]
    feasible: bool
    suppressed_units: int
    """Units suppressed; for a node found infeasible early (``feasibility_only``), a lower
    bound above the limit."""
    view: NodeView | None
    """The node's classes (``None`` for a node found infeasible early)."""
    class_units: np.ndarray
    """Units (rows or persons) per class after suppression."""
    active_persons: np.ndarray | None
    """Person mode: which person ids survive."""


class Evaluator:
    """Counts the equivalence classes of nodes, applies the models and the suppression rule.

    Row mode without sensitive attributes uses the roll-up cache; otherwise each node is
    counted on the distinct-combination table directly. In person mode a class's size is its
    number of distinct persons; a person in any failing class is suppressed with all their rows,
    and since that can shrink other classes, this repeats until every remaining class passes.
    """

    def __init__(
        self, data: EncodedData, models: Sequence[PrivacyModel], suppression_limit: float
    ) -> None:
        self.data = data
        self.models = tuple(models)
        self.sensitive = sorted({c for m in self.models if (c := sensitive_of(m)) is not None})
        self.person_mode = data.person is not None
        self.fast = not self.person_mode and not self.sensitive
        units = data.n_persons if self.person_mode else data.n_rows
        self.total_units = units
        self.limit = suppression_limit * units + 1e-9
        hs = data.hierarchies
        self.cards = [np.array([len(v) for v in h.values]) for h in hs]
        self._cards = [[len(v) for v in h.values] for h in hs]  # as Python ints, per node
        self.ups = [
            {(a, b): h.up(a, b) for a in range(h.height) for b in range(a, h.height)} for h in hs
        ]
        self.overall = {}
        for col in self.sensitive:
            ns = data.n_sensitive[col]
            if self.person_mode:
                pairs = sorted_unique(data.person * ns + data.sensitive[col])
                dist = np.bincount(pairs % ns, minlength=ns).astype(np.float64)
            else:
                dist = np.bincount(data.sensitive[col], weights=data.weight, minlength=ns)
            self.overall[col] = dist / dist.sum()
        if self.person_mode:
            # Most persons own a single unit, whose (class, person) pair and (pair, sensitive
            # value) triple are unique at every node; only the units of persons with several
            # units need deduplicating (a sort), which keeps each node's sorts small.
            assert data.person is not None
            per_person = np.bincount(data.person, minlength=data.n_persons)
            multi = per_person[data.person] > 1
            self._single = np.flatnonzero(~multi)
            self._multi = np.flatnonzero(multi)
            self._single_person = data.person[self._single]
            self._multi_person = data.person[self._multi]
            self._max_units = int(per_person.max(initial=1))
        # a class with fewer units than the largest k fails whatever else holds
        self._k = max((m.k for m in self.models if isinstance(m, KAnonymity)), default=0)
        d = len(hs)
        self.codes_t = np.ascontiguousarray(data.codes.T)
        self._base_gen: list[list[np.ndarray]] | None = None
        self._cache_levels = np.zeros((_CACHE_SIZE, d), dtype=np.int64)
        self._cache_rows = np.full(_CACHE_SIZE, _BIG)
        self._cache: list[tuple[np.ndarray, np.ndarray] | None] = [None] * _CACHE_SIZE
        self._cache_levels[0] = 0
        self._cache_rows[0] = len(data.weight)
        self._cache[0] = (self.codes_t, data.weight.astype(np.float64))
        self._next = 1

    @property
    def base_gen(self) -> list[list[np.ndarray]]:
        """The base table generalised to every level of every QI, so that a roll-up from the
        base (the usual case early in a most-general-first search) needs no gathers. Built on
        first use: an evaluator used only for its figures (e.g. ``overall``) never needs it."""
        if self._base_gen is None:
            hs = self.data.hierarchies
            self._base_gen = [
                [h.lut[lv][self.codes_t[j]] for lv in range(h.height)] for j, h in enumerate(hs)
            ]
        return self._base_gen

    def _node_cards(self, levels: Sequence[int]) -> list[int]:
        return [c[lv] for c, lv in zip(self._cards, levels, strict=True)]

    def _rollup(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = (self._cache_levels <= levels).all(axis=1)
        slot = int(np.argmin(np.where(ok, self._cache_rows, _BIG)))
        entry = self._cache[slot]
        assert entry is not None
        codes, weight = entry
        dst = levels.tolist()
        gen: list[np.ndarray] | np.ndarray
        if slot == 0:
            gen = [self.base_gen[j][b] for j, b in enumerate(dst)]
        else:
            src = self._cache_levels[slot].tolist()
            gen = np.empty_like(codes)
            for j, (a, b) in enumerate(zip(src, dst, strict=True)):
                if a == b:
                    gen[j] = codes[j]
                else:
                    np.take(self.ups[j][(a, b)], codes[j], out=gen[j])
        class_codes, rows, _ = group_codes(gen, self._node_cards(dst), weight)
        store = self._next
        self._next = self._next % (_CACHE_SIZE - 1) + 1  # slot 0 (the base table) stays
        self._cache[store] = (class_codes, rows)
        self._cache_levels[store] = levels
        self._cache_rows[store] = len(rows)
        return class_codes, rows

    def _check(self, stats: ClassStats) -> np.ndarray:
        ok = np.ones(len(stats.size), dtype=bool)
        for m in self.models:
            ok &= m.class_ok(stats)
        return ok

    def evaluate(self, levels: Sequence[int], *, feasibility_only: bool = False) -> NodeEvaluation:
        """Count the classes of the node ``levels`` and apply models and suppression.

        With ``feasibility_only`` (the search), a person-mode node may be reported infeasible as
        soon as that is certain, without its view (see :meth:`_evaluate_slow`).
        """
        lv = np.asarray(levels, dtype=np.int64)
        key = tuple(lv.tolist())
        if self.fast:
            class_codes, rows = self._rollup(lv)
            ok = self._check(ClassStats(size=rows))
            sup_rows = np.where(ok, 0.0, rows)
            view = NodeView(key, class_codes, rows - sup_rows, sup_rows, self.data)
            sup = int(sup_rows.sum())
            return NodeEvaluation(key, sup <= self.limit, sup, view, rows - sup_rows, None)
        return self._evaluate_slow(key, feasibility_only=feasibility_only)

    def classes_of(self, levels: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Class codes, row counts, and the class of each distinct-table row, at ``levels``."""
        data = self.data
        gen = [self.base_gen[j][lv] for j, lv in enumerate(levels)]
        codes, rows, inv = group_codes(gen, self._node_cards(levels), data.weight, inverse=True)
        assert inv is not None
        return codes, rows, inv

    def _hist(self, cls: np.ndarray, col: np.ndarray, w: np.ndarray, c: int, ns: int) -> np.ndarray:
        return np.bincount(cls * ns + col, weights=w, minlength=c * ns).reshape(c, ns)

    def _infeasible(self, key: tuple[int, ...], bound: int) -> NodeEvaluation:
        empty = np.zeros(0, dtype=np.int64)
        return NodeEvaluation(key, False, bound, None, empty, None)

    def _evaluate_slow(
        self, key: tuple[int, ...], *, feasibility_only: bool = False
    ) -> NodeEvaluation:
        data = self.data
        class_codes, rows, inv = self.classes_of(key)
        c = len(rows)
        if feasibility_only and self.person_mode and self._k > 1:
            # Every person with a unit in a class of fewer than k units is suppressed: the
            # single-unit persons there, and at least 1/max_units of the other units there.
            units = np.bincount(inv, minlength=c)
            singles = np.bincount(inv[self._single], minlength=c)
            small = units < self._k
            multi_units = int((units - singles)[small].sum())
            bound = int(singles[small].sum()) + -(-multi_units // self._max_units)
            if bound > self.limit:
                return self._infeasible(key, bound)
        if not self.person_mode:
            hist = {
                col: self._hist(inv, data.sensitive[col], data.weight, c, data.n_sensitive[col])
                for col in self.sensitive
            }
            ok = self._check(ClassStats(size=rows, hist=hist, overall=self.overall))
            sup_rows = np.where(ok, 0.0, rows)
            sup = int(sup_rows.sum())
            view = NodeView(key, class_codes, rows - sup_rows, sup_rows, data)
            return NodeEvaluation(key, sup <= self.limit, sup, view, rows - sup_rows, None)

        assert data.person is not None
        n_p = data.n_persons
        # Distinct (class, person) pairs: one per single-unit person's unit, plus the sorted
        # distinct pairs of the multi-unit persons' units (see __init__).
        single, multi = self._single, self._multi
        n_single = len(single)
        pair_key = inv[multi] * n_p + self._multi_person
        multi_pairs: np.ndarray | None = None
        multi_triples: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for col in self.sensitive:
            # distinct (class, person, value) keys, sorted; the distinct pairs and each
            # triple's pair follow from the sorted keys without another sort
            ns = data.n_sensitive[col]
            t = sorted_unique(pair_key * ns + data.sensitive[col][multi])
            t_pair = t // ns
            if multi_pairs is None:
                first = np.ones(len(t_pair), dtype=bool)
                first[1:] = t_pair[1:] != t_pair[:-1]
                multi_pairs = t_pair[first]
                index = np.cumsum(first) - 1
            else:
                index = np.searchsorted(multi_pairs, t_pair)
            multi_triples[col] = (index, t % ns)
        if multi_pairs is None:
            multi_pairs = sorted_unique(pair_key)
        pair_class = np.concatenate([inv[single], multi_pairs // n_p])
        pair_person = np.concatenate([self._single_person, multi_pairs % n_p])
        triples = {}
        for col, (index, value) in multi_triples.items():
            ns = data.n_sensitive[col]
            tp = np.concatenate([np.arange(n_single), n_single + index])
            tv = np.concatenate([data.sensitive[col][single], value])
            triples[col] = (tp, pair_class[tp] * ns + tv, ns)
        # First pass over every class; then, as persons of failing classes are suppressed,
        # only the classes that lose one of their persons are counted down and checked again.
        size = np.bincount(pair_class, minlength=c)
        hist = {
            col: np.bincount(cell, minlength=c * ns).reshape(c, ns).astype(np.float64)
            for col, (_, cell, ns) in triples.items()
        }
        ok = self._check(ClassStats(size=size, hist=hist, overall=self.overall))
        bad = ~ok & (size > 0)
        active = np.ones(n_p, dtype=bool)
        pa = np.ones(len(pair_class), dtype=bool)
        while True:
            drop = pa & bad[pair_class]
            if not drop.any():
                break
            active[pair_person[drop]] = False
            if feasibility_only and n_p - int(active.sum()) > self.limit:
                return self._infeasible(key, n_p - int(active.sum()))  # only grows from here
            gone = pa & ~active[pair_person]  # every pair of a newly suppressed person
            pa &= ~gone
            gone_class = pair_class[gone]
            np.subtract.at(size, gone_class, 1)
            for col, (tp, cell, _) in triples.items():
                np.subtract.at(hist[col].reshape(-1), cell[gone[tp]], 1.0)
            touched = sorted_unique(gone_class)
            sub = ClassStats(
                size=size[touched],
                hist={col: h[touched] for col, h in hist.items()},
                overall=self.overall,
            )
            bad = np.zeros(c, dtype=bool)
            bad[touched] = ~self._check(sub) & (size[touched] > 0)
        unit_active = active[data.person]
        kept_rows = np.bincount(inv, weights=data.weight * unit_active, minlength=c)
        sup_rows = rows - kept_rows
        sup = int(n_p - active.sum())
        view = NodeView(key, class_codes, kept_rows, sup_rows, data)
        return NodeEvaluation(key, sup <= self.limit, sup, view, size, active)


@dataclass(frozen=True)
class SearchOutcome:
    """The optimum, its score and how the search went."""

    best: NodeEvaluation
    score: float
    nodes_checked: int
    lattice_size: int
    search_ms: float


class NoSolutionError(ValueError):
    """No lattice node satisfies the privacy models within the suppression limit."""


def optimal_search(
    data: EncodedData,
    *,
    models: Sequence[PrivacyModel],
    suppression_limit: float,
    metric: QualityMetric,
) -> SearchOutcome:
    """Return the feasible node with the lowest ``metric`` (see the module docstring).

    Examples
    --------
    >>> import polars as pl
    >>> from anonymise.encode import encode
    >>> from anonymise.hierarchy import Hierarchy
    >>> from anonymise.metrics import Loss
    >>> from anonymise.models import KAnonymity
    >>> df = pl.DataFrame({"age": [31, 32, 33, 47], "sex": ["m", "m", "v", "v"]})
    >>> hs = {"age": Hierarchy.intervals(range(30, 50), widths=(5, 10), name="age"),
    ...       "sex": Hierarchy([("m", "*"), ("v", "*")], name="sex")}
    >>> enc = encode(df, quasi_identifiers=["age", "sex"], hierarchies=hs)
    >>> out = optimal_search(enc, models=[KAnonymity(2)], suppression_limit=0.25, metric=Loss())
    >>> out.best.levels, out.best.suppressed_units
    ((3, 0), 0)
    """
    t0 = time.perf_counter()
    heights = data.heights
    nodes = lattice_nodes(heights)
    height = nodes.sum(axis=1)
    strides = np.array([int(np.prod(heights[j + 1 :])) for j in range(len(heights))])
    bound = np.asarray(metric.lower_bounds(nodes, data), dtype=np.float64)
    status = np.zeros(len(nodes), dtype=np.int8)  # 0 unknown, 1 feasible, 2 infeasible, 3 done
    # The same statuses as a grid (a view): a node's specialisations and generalisations are
    # boxes of the lattice, so marking them is slicing, not comparing every node's levels.
    grid = status.reshape(tuple(heights))
    evaluator = Evaluator(data, models, suppression_limit)
    best: NodeEvaluation | None = None
    best_key: tuple[float, int, tuple[int, ...]] = (np.inf, 0, ())
    checked = 0

    def visit(j: int) -> bool:
        nonlocal best, best_key, checked
        ev = evaluator.evaluate(nodes[j], feasibility_only=True)
        checked += 1
        levels = ev.levels
        if not ev.feasible:
            grid[tuple(slice(0, lv + 1) for lv in levels)] = 2  # every specialisation
            return False
        above = grid[tuple(slice(lv, None) for lv in levels)]  # every generalisation
        above[above == 0] = 1
        status[j] = 3
        assert ev.view is not None
        score = metric.value(ev.view)
        key = (score, int(height[j]), ev.levels)
        if score < best_key[0] - _EPS or (
            abs(score - best_key[0]) <= _EPS and key[1:] < best_key[1:]
        ):
            best, best_key = ev, key
        return True

    # Phase 1: one path from the lowest-bound node up to the top, binary-searched for the
    # lowest feasible node on it (the first incumbent).
    start = int(np.argmin(bound))
    path = [start]
    cur = nodes[start].copy()
    top = np.array(heights) - 1
    while (cur < top).any():
        options = [j for j in range(len(cur)) if cur[j] < top[j]]
        idx = [int((cur * strides).sum() + strides[j]) for j in options]
        nxt = idx[int(np.argmin(bound[idx]))]
        path.append(nxt)
        cur = nodes[nxt].copy()
    lo, hi = 0, len(path) - 1
    if not visit(path[hi]):
        raise NoSolutionError(
            "no generalisation satisfies the privacy models within the suppression limit, "
            "not even suppressing every quasi-identifier."
        )
    while lo < hi:
        mid = (lo + hi) // 2
        if visit(path[mid]):
            hi = mid
        else:
            lo = mid + 1

    # Phase 2: most general candidate first (a candidate is unknown or feasible with a bound not
    # above the best score; among them the highest, then the lowest bound, then the lowest
    # index). A node that stops being a candidate never becomes one again (statuses only grow,
    # the best score only falls), so one pass down that fixed order finds every next candidate.
    priority = np.lexsort((bound, -height)).tolist()  # stable: ties by index
    bounds = bound.tolist()
    pos = 0
    while True:
        limit = best_key[0] + _EPS
        while pos < len(priority) and not (
            status[priority[pos]] <= 1 and bounds[priority[pos]] <= limit
        ):
            pos += 1
        if pos == len(priority):
            break
        visit(priority[pos])

    assert best is not None
    return SearchOutcome(
        best=best,
        score=best_key[0],
        nodes_checked=checked,
        lattice_size=len(nodes),
        search_ms=(time.perf_counter() - t0) * 1000.0,
    )
