"""Local recoding (anonymise.recode): every published class holds k units and satisfies the
models, every published value generalises the unit's true value, fewer units are withheld than
by the single global node, and the first pass keeps the capped attributes detailed."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from anonymise import DistinctLDiversity, Hierarchy
from anonymise.kanon import k_anonymise
from anonymise.recode import LocalRecodingResult, local_recode, recoding_figures
from anonymise.search import NoSolutionError

K = 5


def age_hierarchy() -> Hierarchy:
    return Hierarchy(
        [(str(a), f"{a - a % 5}-{a - a % 5 + 4}", f"{a - a % 10}s", "*") for a in range(100)],
        name="age",
    )


SEX = Hierarchy([("m", "*"), ("v", "*")], name="sex")
YEARS = [str(y) for y in range(2016, 2026)]


def year_hierarchy() -> Hierarchy:
    return Hierarchy(
        [(y, f"{int(y) - int(y) % 2}-{int(y) - int(y) % 2 + 1}", "*") for y in YEARS], name="year"
    )


def skewed(seed: int = 1, n: int = 300, rare: int = 12) -> pl.DataFrame:
    """Most persons in their thirties; ``rare`` persons of distinct ages in their eighties, each
    alone at the detail the rest can be published at (within a 5 % suppression budget)."""
    rng = np.random.default_rng(seed)
    ages = np.concatenate([rng.integers(30, 40, n - rare), 80 + np.arange(rare) % 10])
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "age": ages.astype(str),
            "sex": rng.choice(["m", "v"], n),
            "debt": rng.choice(["0", "1-999", "1000+"], n),
        }
    )


def _hierarchies(qis: list[str]) -> dict[str, Hierarchy]:
    makers = {"age": age_hierarchy, "year": year_hierarchy, "sex": lambda: SEX}
    return {q: makers[q]() for q in qis}


def _recode(data: pl.DataFrame, qis: list[str], **options) -> LocalRecodingResult:
    """``local_recode`` of ``data`` on ``qis`` with this file's hierarchies, ``k = K`` unless
    ``options`` say otherwise."""
    options.setdefault("k", K)
    return local_recode(data, quasi_identifiers=qis, hierarchies=_hierarchies(qis), **options)


def _check_published(data: pl.DataFrame, published: pl.DataFrame, hs: dict[str, Hierarchy]):
    """Every published value is the unit's own value or one of its generalisations."""
    truth = data.join(published, on="id", suffix="_pub")
    assert truth.height == published.height
    for q, h in hs.items():
        for true, pub in zip(truth[q], truth[f"{q}_pub"], strict=True):
            assert pub in h.rows[h.index_of(true)], (q, true, pub)


def test_published_classes_hold_k_and_the_models() -> None:
    data = skewed()
    hs = _hierarchies(["age", "sex"])
    r = _recode(
        data, ["age", "sex"], suppression_limit=0.05, models=[DistinctLDiversity("debt", 2)]
    )
    assert len(r.passes) >= 2  # the remainder was re-anonymised
    classes = r.published.group_by("age", "sex").agg(
        pl.len().alias("n"), pl.col("debt").n_unique().alias("l")
    )
    assert classes["n"].min() >= K
    assert classes["l"].min() >= 2
    _check_published(data, r.published, hs)
    # published and suppressed partition the input, published in input order
    assert r.published.height + r.suppressed_units == data.height
    assert r.published["id"].is_sorted()
    assert not set(r.published["id"]) & set(r.suppressed["id"])
    # mixed granularity: the thirties stay detailed, the eighties are coarsened
    ages = set(r.published["age"])
    assert {str(a) for a in range(30, 40)} & ages and not {str(a) for a in range(80, 90)} & ages


def test_fewer_suppressed_than_one_global_node() -> None:
    data = skewed()
    glob = k_anonymise(
        data,
        quasi_identifiers=["age", "sex"],
        hierarchies=_hierarchies(["age", "sex"]),
        k=K,
        suppression_limit=0.05,
    )
    local = _recode(data, ["age", "sex"], suppression_limit=0.05)
    assert glob.suppressed_rows >= 10  # the control: the global node withholds the rare ones
    assert local.first.node == glob.node  # pass 1 is the global optimum
    assert local.suppressed_units < glob.suppressed_rows
    # one pass is the global node alone
    single = _recode(data, ["age", "sex"], suppression_limit=0.05, max_passes=1)
    assert single.suppressed_units == glob.suppressed_rows


def _years(seed: int = 0) -> pl.DataFrame:
    """Ten persons per year; within a year mostly one sex, so year × sex has small cells."""
    rows = []
    for y in YEARS:
        men = 9 if int(y) % 2 == 0 else 3
        rows += [(y, "m")] * men + [(y, "v")] * (12 - men)
    return pl.DataFrame(rows, schema=["year", "sex"], orient="row").with_row_index("id")


def test_first_pass_respects_max_levels() -> None:
    data = _years()
    free = _recode(data, ["year", "sex"], suppression_limit=0.0)
    assert free.passes[0].levels["year"] > 0  # control: the optimum would coarsen the year
    capped = _recode(data, ["year", "sex"], suppression_limit=0.0, max_levels={"year": 0})
    assert capped.passes[0].levels["year"] == 0 and capped.first.levels["year"] == 0
    assert set(capped.published["year"]) == set(YEARS)
    assert capped.published.group_by("year", "sex").len()["len"].min() >= K
    _check_published(data, capped.published, _hierarchies(["year", "sex"]))


def test_capped_rare_values_are_coarsened_by_later_passes() -> None:
    """The cap binds the first node only: the rare years it cannot publish (2016 and 2017, three
    persons each) are published at a coarser level by the later passes, not withheld."""
    data = pl.concat(
        [
            _years().filter(~pl.col("year").is_in(["2016", "2017"])),
            pl.DataFrame({"year": ["2016"] * 3, "sex": ["m", "v", "m"]}).with_row_index(
                "id", offset=1000
            ),
            pl.DataFrame({"year": ["2017"] * 3, "sex": ["v", "v", "m"]}).with_row_index(
                "id", offset=2000
            ),
        ],
        how="vertical_relaxed",
    )
    r = _recode(data, ["year", "sex"], suppression_limit=0.1, max_levels={"year": 0})
    assert r.first.levels["year"] == 0
    published = set(r.published["year"])
    assert not {"2016", "2017"} & published and {"2016-2017", "*"} & published
    assert r.suppressed_units == 0
    assert r.published.group_by("year", "sex").len()["len"].min() >= K
    _check_published(data, r.published, _hierarchies(["year", "sex"]))


def test_no_solution_in_the_first_pass_raises() -> None:
    data = _years()
    with pytest.raises(NoSolutionError):
        _recode(data, ["year", "sex"], k=200, suppression_limit=0.0)


def test_recoding_figures_count_each_cell_at_its_level() -> None:
    hs = _hierarchies(["age", "sex"])
    r = _recode(skewed(), ["age", "sex"], suppression_limit=0.05)
    f = recoding_figures(
        r.published, suppressed=r.suppressed_units, quasi_identifiers=["age", "sex"], hierarchies=hs
    )
    for q in ("age", "sex"):
        assert sum(f["levels"][q].values()) == pytest.approx(1.0)
    assert len(f["levels"]["age"]) >= 2  # mixed granularity is measured as such
    assert 0.0 <= f["loss"] <= 1.0
    # everything at the top: loss 1
    top = r.published.with_columns(pl.lit("*").alias("age"), pl.lit("*").alias("sex"))
    g = recoding_figures(top, suppressed=0, quasi_identifiers=["age", "sex"], hierarchies=hs)
    assert g["loss"] == pytest.approx(1.0)
