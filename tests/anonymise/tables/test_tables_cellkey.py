"""Cell key method: record keys, the p-table as data, perturbation that is the same for the same
contributors in every release, and differencing that gains nothing."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from anonymise.tables.cellkey import (
    MOD,
    PTable,
    cell_keys,
    perturb_frequency_table,
    ptable,
    ptable_from_frame,
    record_key,
    record_keys,
)

SECRET = b"cell-key-secret-" + b"x" * 16


@pytest.mark.parametrize(("D", "V", "js"), [(2, 1.05, 1), (5, 3.0, 2), (2, 0.9, 0)])
def test_ptable_moments_bounds_and_no_small_results(D: int, V: float, js: int) -> None:  # noqa: N803
    pt = ptable(D, V, js)
    m = pt.moments()
    assert m.filter(pl.col("i") == 0)["max_abs"].to_list() == [0]  # zeros never perturbed
    assert (m["mean"].abs() < 1e-9).all()
    assert (m["max_abs"] <= D).all()
    # no perturbed count in 1..js, none negative
    results = pt.frame.filter(pl.col("p") > 0).select((pl.col("i") + pl.col("v")).alias("r"))
    assert (results["r"] >= 0).all()
    assert not results["r"].is_between(1, js).any() if js else True
    # the variance is V wherever the allowed results make it reachable (always the last row)
    assert abs(m.filter(pl.col("i") == pt.max_count)["variance"][0] - V) < 1e-6
    assert (m.filter(pl.col("i") > 0)["variance"] <= V + 1e-6).all()
    # every row's integer intervals cover [0, 2**32) exactly
    for (_,), r in pt.frame.group_by(["i"]):
        r = r.sort("lower")
        assert r["lower"][0] == 0 and r["upper"][-1] == MOD
        assert (r["lower"][1:].to_numpy() == r["upper"][:-1].to_numpy()).all()
        assert np.allclose((r["upper"] - r["lower"]).to_numpy() / MOD, r["p"].to_numpy(), atol=1e-9)


def test_the_ptable_is_data_and_reads_back() -> None:
    pt = ptable()
    again = ptable_from_frame(
        pt.frame.sample(fraction=1.0, shuffle=True, seed=1), D=2, V=1.05, js=1
    )
    assert again.frame.equals(pt.frame.sort("i", "lower"))
    broken = pt.frame.with_columns(
        pl.when(pl.col("i") == 0).then(pl.lit(1)).otherwise(pl.col("v")).alias("v")
    )
    with pytest.raises(ValueError, match="perturbs zeros"):
        ptable_from_frame(broken, D=2, V=1.05, js=1)
    gap = pt.frame.filter(~((pl.col("i") == 3) & (pl.col("v") == 0)))
    with pytest.raises(ValueError, match="do not cover"):
        ptable_from_frame(gap, D=2, V=1.05, js=1)


def test_record_keys_are_a_keyed_hash_of_the_pseudonym() -> None:
    keys = record_keys(pl.Series(["p1", "p2", "p1"]), SECRET)
    assert keys.dtype == pl.UInt32 and keys[0] == keys[2] != keys[1]
    assert keys.to_list()[0] == record_key("p1", SECRET)
    other = record_keys(pl.Series(["p1"]), b"another-secret-" + b"y" * 16)
    assert other[0] != keys[0]  # a different secret gives unrelated keys
    with pytest.raises(ValueError, match="16 bytes"):
        record_keys(pl.Series(["p1"]), b"short")
    # roughly uniform over [0, 2**32)
    many = record_keys(pl.Series([f"p{i}" for i in range(4000)]), SECRET).to_numpy() / MOD
    assert abs(many.mean() - 0.5) < 0.02 and np.histogram(many, bins=4)[0].min() > 850


def _records(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    df = pl.DataFrame(
        {
            "person": [f"p{i}" for i in range(n)],
            "wijk": rng.choice(["A", "B", "C"], n).tolist(),
            "niveau": rng.choice(["1", "2", "3", "4", "5"], n).tolist(),
        }
    )
    return df.with_columns(record_keys(df["person"], SECRET))


def test_cell_keys_count_distinct_persons_with_margins() -> None:
    recs = _records(200, 1)
    twice = pl.concat([recs, recs.head(10)])  # a person with two episodes in one cell
    ck = cell_keys(twice, ["wijk", "niveau"])
    total = ck.filter((pl.col("wijk") == "Totaal") & (pl.col("niveau") == "Totaal")).row(
        0, named=True
    )
    assert total["count"] == 200
    assert total["cell_key"] == int(recs["record_key"].cast(pl.Int64).sum()) % MOD
    assert ck.height == 3 * 5 + 3 + 5 + 1


def test_same_contributors_same_noise_in_every_release() -> None:
    pt = ptable()
    first = _records(300, 2)
    # the next release: 40 new persons, all in wijk C, and one person of C erased
    new = _records(340, 3).tail(40).with_columns(pl.lit("C").alias("wijk"))
    new = new.with_columns(pl.format("n{}", pl.col("person")).alias("person"))
    new = new.with_columns(record_keys(new["person"], SECRET))
    gone = first.filter(pl.col("wijk") == "C")["person"][0]
    second = pl.concat([first.filter(pl.col("person") != gone), new])
    a = perturb_frequency_table(first, ["wijk", "niveau"], pt)
    b = perturb_frequency_table(second, ["wijk", "niveau"], pt)
    j = a.join(b, on=["wijk", "niveau"], suffix="_2")
    same = j.filter(pl.col("cell_key") == pl.col("cell_key_2"))
    unchanged = j.filter(pl.col("wijk").is_in(["A", "B"]) & (pl.col("niveau") != "Totaal"))
    assert unchanged.height == 10 and same.height >= 10
    assert (same["published"] == same["published_2"]).all()
    # deterministic: the same release perturbed twice is identical
    assert a.equals(perturb_frequency_table(first, ["wijk", "niveau"], pt))


def _isolated(pt: PTable, recs: pl.DataFrame, trials: int) -> int:
    """How many of ``trials`` erased persons the attacker pins: the only published cell that
    changed between the two releases dropped by exactly one, and it is the person's cell."""
    base = perturb_frequency_table(recs, ["wijk", "niveau"], pt)
    hits = 0
    for k in range(trials):
        gone = recs.row(k, named=True)
        after = perturb_frequency_table(
            recs.filter(pl.col("person") != gone["person"]), ["wijk", "niveau"], pt
        )
        j = base.join(after, on=["wijk", "niveau"], suffix="_2").filter(
            (pl.col("wijk") != "Totaal") & (pl.col("niveau") != "Totaal")
        )
        changed = j.filter(pl.col("published") != pl.col("published_2"))
        if (
            changed.height == 1
            and changed.row(0, named=True)["published"] - changed.row(0, named=True)["published_2"]
            == 1
        ):
            hits += changed.select("wijk", "niveau").row(0) == (gone["wijk"], gone["niveau"])
    return hits


def test_differencing_a_one_person_change_gains_little() -> None:
    """Positive control: without noise (a p-table of zeros) the difference of two releases
    pins every erased person's cell. With cell keys the changed cell gets a new, independent
    noise, so the published difference is often not that one drop of one."""
    recs = _records(120, 4)
    identity = PTable(
        D=0,
        V=0.0,
        js=0,
        frame=pl.DataFrame(
            {"i": [0, 1], "v": [0, 0], "p": [1.0, 1.0], "lower": [0, 0]}
        ).with_columns(upper=pl.lit(MOD, pl.Int64)),
    )
    trials = 40
    assert _isolated(identity, recs, trials) == trials
    assert _isolated(ptable(), recs, trials) < trials * 0.6


def test_zeros_and_code_lists_are_not_perturbed() -> None:
    recs = _records(50, 5).filter(pl.col("niveau") != "5")
    out = perturb_frequency_table(
        recs, ["niveau"], ptable(), levels={"niveau": ["1", "2", "3", "4", "5"]}
    )
    five = out.filter(pl.col("niveau") == "5").row(0, named=True)
    assert (five["count"], five["noise"], five["published"]) == (0, 0, 0)
    assert (out["published"] >= 0).all()
    small = out.filter(pl.col("published") > 0)["published"]
    assert not small.is_between(1, 1).any()  # js = 1: no published 1
    assert set(out.columns) >= {"noise", "published", "additive"}
    assert out.filter(pl.col("niveau") == "Totaal")["additive"].dtype == pl.Boolean


def test_noise_is_a_function_of_count_and_cell_key() -> None:
    pt: PTable = ptable()
    counts = np.array([0, 1, 2, 3, 4, 50, 50])
    keys = np.array([5, 0, MOD - 1, 12345, 2**31, 777, 777])
    n1 = pt.noise(counts, keys)
    assert n1[0] == 0 and n1[5] == n1[6]
    assert np.array_equal(n1, pt.noise(counts, keys))
    with pytest.raises(ValueError):
        pt.noise(np.array([1]), np.array([MOD]))
