"""Keyed pseudonyms: HMAC-SHA256 of identifiers under a per-research-project key.

A plain hash of a BSN is not a pseudonym: there are fewer than 10⁹ BSNs, so anyone can hash them
all and reverse it. A keyed HMAC cannot be recomputed without the key, is deterministic under one
key (the same person links across organisations and runs) and unlinkable between projects that
use different keys. Each identifier kind has its own domain prefix (``bsn:v1:``,
``episode:v1:<organisation>:`` …), so a BSN and a case number that happen to share digits never
collide, and the scheme can be versioned.

The key never enters a frame, a table or a log: callers pass bytes, and only :func:`key_id`, a
one-way fingerprint, is stored with a release.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

import polars as pl

PSEUDONYM_HEX_CHARS = 32
"""Pseudonyms are the first 128 bits of the HMAC, as 32 lowercase hex characters."""

MIN_KEY_BYTES = 32


class PseudonymKeyError(ValueError):
    """The pseudonymisation key is missing or too weak."""


def check_key(key: bytes) -> bytes:
    """Return ``key`` if it is at least 32 bytes (256 bits), else raise a clear error."""
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"the pseudonymisation key must be at least {MIN_KEY_BYTES} bytes; "
            "create one with `brugstat key create`."
        )
    return bytes(key)


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return secrets.token_bytes(MIN_KEY_BYTES)


def key_id(key: bytes) -> str:
    """A short public fingerprint of the key, safe to store with a release.

    It is itself an HMAC (of a fixed label, keyed with ``key``), so it reveals nothing about the
    key but identifies which key made a set of pseudonyms.

    >>> key_id(b"k" * 32)
    '42d0e686a9530367'
    """
    return hmac.new(check_key(key), b"brugstat:key-id:v1", hashlib.sha256).hexdigest()[:16]


def pseudonym(value: str, *, key: bytes, domain: str) -> str:
    """Pseudonymise one value (plain Python; for look-ups such as an erasure request).

    >>> p = pseudonym("111222333", key=b"k" * 32, domain="bsn:v1:")
    >>> len(p), p == pseudonym("111222333", key=b"k" * 32, domain="bsn:v1:")
    (32, True)
    """
    mac = hmac.new(check_key(key), (domain + value).encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()[:PSEUDONYM_HEX_CHARS]


def pseudonymise(expr: pl.Expr, *, key: bytes, domain: str) -> pl.Expr:
    """Polars expression: HMAC-SHA256 pseudonym of each (string) value; null stays null.

    Examples
    --------
    >>> import polars as pl
    >>> key = b"k" * 32
    >>> df = pl.DataFrame({"bsn": ["111222333", None]})
    >>> out = df.select(pseudonymise(pl.col("bsn"), key=key, domain="bsn:v1:"))
    >>> out["bsn"][0] == pseudonym("111222333", key=key, domain="bsn:v1:"), out["bsn"][1]
    (True, None)
    """
    key = check_key(key)
    hex_of = _hmac_hex(key, prefix=domain.encode("utf-8"))

    def _batch(s: pl.Series) -> pl.Series:
        out = [None if v is None else hex_of(v.encode("utf-8")) for v in s.to_list()]
        return pl.Series(s.name, out, dtype=pl.String)

    return expr.cast(pl.String).map_batches(_batch, return_dtype=pl.String)


def _hmac_hex(key: bytes, prefix: bytes = b"") -> Callable[[bytes], str]:
    """HMAC-SHA256 (RFC 2104) of ``prefix + msg`` with the padded key states precomputed once.

    Equal to ``hmac.new(key, prefix + msg, sha256).hexdigest()[:32]`` (a test proves it) but
    2.5x faster, because the two key blocks (and the domain prefix, which every value of a
    column shares) are hashed once instead of once per value.
    """
    block = hashlib.sha256().block_size
    k = hashlib.sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in k))
    inner.update(prefix)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in k))
    inner_copy, outer_copy, n = inner.copy, outer.copy, PSEUDONYM_HEX_CHARS

    def hex_of(msg: bytes) -> str:
        i = inner_copy()
        i.update(msg)
        o = outer_copy()
        o.update(i.digest())
        return o.hexdigest()[:n]

    return hex_of
