"""The BSN 11-proef and normalisation."""

import polars as pl

from anonymise.bsn import bsn_check_digit_ok, is_valid_bsn, normalise_bsn


def test_eleven_proof_on_known_numbers() -> None:
    # 111222333: 9+8+7+12+10+8+9+6-3 = 66, divisible by 11.
    df = pl.DataFrame({"b": ["111222333", "123456782", "111222334", "000000000", "12345678", None]})
    out = df.select(is_valid_bsn(normalise_bsn(pl.col("b"))))["b"].to_list()
    assert out == [True, True, False, False, False, False]


def test_normalisation_strips_separators_and_pads_eight_digits() -> None:
    df = pl.DataFrame({"b": [" 1112-22.333 ", "23456782", "12a456789", "1234567890", ""]})
    assert df.select(normalise_bsn(pl.col("b")))["b"].to_list() == [
        "111222333",
        "023456782",
        None,
        None,
        None,
    ]


def test_vectorised_and_scalar_agree_on_every_check_digit() -> None:
    stems = [f"{i:08d}" for i in (1234567, 11122233, 98765432, 55555555)]
    candidates = [s + str(d) for s in stems for d in range(10)]
    vec = pl.DataFrame({"b": candidates}).select(is_valid_bsn(pl.col("b")))["b"].to_list()
    assert vec == [bsn_check_digit_ok(c) for c in candidates]
    assert sum(vec) >= len(stems) - 1  # each stem has at most one valid check digit
