"""Local recoding: ARX's iterative re-anonymisation of the records a global node suppresses.

Full-domain generalisation gives every record the same level per attribute, so a few rare
persons can coarsen a whole column (or, within the suppression budget, are removed). ARX's local
recoding (``ARXResult.optimizeIterative``) instead takes the optimal node for most records and
re-anonymises only the suppressed remainder, pass after pass, each pass at the coarser node that
is optimal *for that remainder*. The published column then mixes granularities (a wijk for most
persons, a gemeente or ``*`` for a few), and far fewer persons are withheld.

Why it stays k-anonymous: every pass publishes only classes of at least ``k`` units (and
satisfying every model) among its own records, and each record's published value is a
generalisation of its true value. An attacker who knows a person's values finds that person's
class among the records consistent with them, so never fewer than ``k`` candidates; classes of
different passes that happen to publish the same values merge, which only enlarges them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from anonymise.hierarchy import Hierarchy
from anonymise.kanon import k_anonymise
from anonymise.metrics import Loss, QualityMetric, _geo
from anonymise.models import PrivacyModel
from anonymise.result import AnonymisationResult
from anonymise.search import NoSolutionError


@dataclass(frozen=True)
class RecodingPass:
    """One pass: the node chosen for the records still unpublished, and how many it published."""

    node: str
    levels: dict[str, int]
    records_in: int
    records_published: int


@dataclass
class LocalRecodingResult:
    """The published frame (every pass's records, in input order, suppressed ones removed), the
    passes, the first pass's full result (figures of the global optimum) and the units left out.
    """

    published: pl.DataFrame
    passes: list[RecodingPass]
    first: AnonymisationResult
    suppressed: pl.DataFrame = field(repr=False)

    @property
    def suppressed_units(self) -> int:
        """Records (or persons) withheld after every pass."""
        return self.suppressed.height


def local_recode(
    data: pl.DataFrame,
    *,
    quasi_identifiers: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    k: int,
    suppression_limit: float,
    models: Sequence[PrivacyModel] = (),
    metric: QualityMetric = Loss(),  # noqa: B008 - frozen, stateless
    max_passes: int = 8,
    pass_suppression: float = 0.5,
    max_levels: Mapping[str, int] | None = None,
) -> LocalRecodingResult:
    """Anonymise ``data`` (one row per unit) by optimal generalisation plus local recoding.

    Pass 1 is :func:`anonymise.k_anonymise` with ``suppression_limit``. Each later pass runs it
    again on the records the previous pass suppressed, allowing ``pass_suppression`` of them to
    be left for the next pass (so each pass generalises only as far as most of its records
    need: ARX's adaption of the suppression share). After ``max_passes``, or when a pass
    publishes nobody, the rest is suppressed.

    ``max_levels`` caps a QI's generalisation level in pass 1 (ARX's maximum generalisation
    level): the attribute the release is for (e.g. the intake year of a trend) stays detailed
    for most units, and only the rare ones the first node cannot publish are coarsened by the
    later passes, which use the full hierarchies.

    >>> df = pl.DataFrame({"age": ["31", "32", "33", "34", "35", "90", "91", "92", "93", "94",
    ...                            "97"]})
    >>> h = {"age": Hierarchy([(str(a), f"{a // 10 * 10}s", "*") for a in range(120)],
    ...                       name="age")}
    >>> r = local_recode(df, quasi_identifiers=["age"], hierarchies=h, k=5,
    ...                  suppression_limit=0.1)
    >>> sorted(r.published["age"].unique().to_list()), r.suppressed_units
    (['30s', '90s'], 0)
    """
    qis = list(quasi_identifiers)
    keyed = data.with_row_index("__row")
    remaining = keyed
    parts: list[pl.DataFrame] = []
    passes: list[RecodingPass] = []
    first: AnonymisationResult | None = None
    capped = dict(hierarchies)
    for q, top in (max_levels or {}).items():
        if q not in qis:
            continue  # a cap on an attribute that is not a QI of this release binds nothing
        h = hierarchies[q]
        if top < h.height - 1:
            capped[q] = Hierarchy([r[: top + 1] for r in h.rows], name=h.name)
    for i in range(max_passes):
        if remaining.height == 0:
            break
        try:
            res = k_anonymise(
                remaining,
                quasi_identifiers=qis,
                hierarchies=capped if i == 0 else hierarchies,
                k=k,
                suppression_limit=suppression_limit if i == 0 else pass_suppression,
                models=models,
                metric=metric,
            )
        except NoSolutionError:
            if i == 0:
                raise
            break
        if first is None:
            first = res
        out = res.published
        assert isinstance(out, pl.DataFrame)
        passes.append(RecodingPass(res.node, dict(res.levels), remaining.height, out.height))
        if out.height == 0:
            break
        parts.append(out)
        remaining = remaining.join(out.select("__row"), on="__row", how="anti")
    assert first is not None
    published = (
        pl.concat(parts, how="vertical_relaxed").sort("__row").drop("__row")
        if parts
        else data.clear()
    )
    return LocalRecodingResult(
        published=published,
        passes=passes,
        first=first,
        suppressed=remaining.drop("__row"),
    )


def _level_share(h: Hierarchy) -> dict[str, tuple[int, float]]:
    """Each value of ``h`` -> (lowest level it stands at, share of the leaves it covers)."""
    out: dict[str, tuple[int, float]] = {}
    for lv in range(h.height):
        counts: dict[str, int] = {}
        for row in h.rows:
            counts[row[lv]] = counts.get(row[lv], 0) + 1
        for v, c in counts.items():
            out.setdefault(v, (lv, c / h.size))
    out.setdefault("*", (h.height - 1, 1.0))
    return out


def recoding_figures(
    published: pl.DataFrame,
    *,
    suppressed: int,
    quasi_identifiers: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
) -> dict[str, object]:
    """Utility of a locally recoded release: per QI the share of units published at each
    hierarchy level (``suppressed`` units under ``"suppressed"``), and ARX's Loss computed
    cell by cell (a cell's loss is the share of the hierarchy its published value covers; a
    suppressed unit counts 1 in every QI), so mixed granularities are measured truly.

    >>> h = {"a": Hierarchy([("1", "x", "*"), ("2", "x", "*")], name="a")}
    >>> f = recoding_figures(pl.DataFrame({"a": ["1", "x"]}), suppressed=0,
    ...                      quasi_identifiers=["a"], hierarchies=h)
    >>> f["levels"], round(f["loss"], 3)
    ({'a': {'0': 0.5, '1': 0.5}}, 0.5)
    """
    n = published.height + suppressed
    levels: dict[str, dict[str, float]] = {}
    per_qi = []
    for q in quasi_identifiers:
        h = hierarchies[q]
        table = _level_share(h)
        counts = published.group_by(q).len()
        lv_count: dict[str, int] = {}
        agg = float(suppressed)
        for v, c in counts.iter_rows():
            lv, share = table.get(str(v), (h.height - 1, 1.0))
            lv_count[str(lv)] = lv_count.get(str(lv), 0) + int(c)
            agg += c * share
        if suppressed:
            lv_count["suppressed"] = suppressed
        levels[q] = {k: (c / n if n else 0.0) for k, c in sorted(lv_count.items())}
        per_qi.append(Loss.per_qi(agg, n, h.size) if n else 0.0)
    loss = float(_geo(np.array(per_qi, dtype=np.float64))) if per_qi else 0.0
    per = dict(zip(quasi_identifiers, per_qi, strict=True))
    return {"levels": levels, "loss": loss, "loss_per_qi": per}
