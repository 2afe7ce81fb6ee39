"""HMAC pseudonyms: deterministic, key-dependent, not a plain hash, equal to the stdlib HMAC."""

import hashlib
import hmac

import polars as pl
import pytest

from anonymise.pseudonym import (
    PseudonymKeyError,
    key_id,
    new_key,
    pseudonym,
    pseudonymise,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))
BSNS = ["111222333", "123456782", "999999990", None]


def _col(key: bytes, values=BSNS) -> list:
    df = pl.DataFrame({"bsn": values}, schema={"bsn": pl.String})
    return df.select(pseudonymise(pl.col("bsn"), key=key, domain="bsn:v1:"))["bsn"].to_list()


def test_deterministic_under_one_key() -> None:
    assert _col(KEY_A) == _col(KEY_A)


def test_different_keys_give_unlinkable_pseudonyms() -> None:
    a, b = _col(KEY_A), _col(KEY_B)
    assert all(x != y for x, y in zip(a[:3], b[:3], strict=True))
    assert a[3] is None and b[3] is None


def test_equals_rfc2104_hmac_and_differs_from_plain_sha256() -> None:
    got = _col(KEY_A)[0]
    expected = hmac.new(KEY_A, b"bsn:v1:111222333", hashlib.sha256).hexdigest()[:32]
    assert got == expected
    assert got != hashlib.sha256(b"111222333").hexdigest()[:32]
    assert got != hashlib.sha256(b"bsn:v1:111222333").hexdigest()[:32]


def test_long_keys_are_hashed_first_as_rfc2104_says() -> None:
    key = bytes(range(100))
    got = _col(key, ["111222333"])[0]
    assert got == hmac.new(key, b"bsn:v1:111222333", hashlib.sha256).hexdigest()[:32]


def test_domains_separate_identifier_kinds() -> None:
    assert pseudonym("123", key=KEY_A, domain="bsn:v1:") != pseudonym(
        "123", key=KEY_A, domain="episode:v1:"
    )


def test_expression_and_scalar_agree() -> None:
    assert _col(KEY_A)[1] == pseudonym("123456782", key=KEY_A, domain="bsn:v1:")


def test_short_key_is_refused() -> None:
    with pytest.raises(PseudonymKeyError, match="at least 32 bytes"):
        pseudonym("1", key=b"short", domain="x")


def test_key_id_identifies_the_key_without_revealing_it() -> None:
    k = new_key()
    assert len(k) == 32 and key_id(k) == key_id(k) and key_id(k) != key_id(new_key())
    assert k.hex()[:16] not in key_id(k)
