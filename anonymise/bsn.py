"""Burgerservicenummer (BSN) normalisation and the 11-proef, as polars expressions.

The 11-proef for a BSN d1..d9: 9*d1 + 8*d2 + 7*d3 + 6*d4 + 5*d5 + 4*d6 + 3*d7 + 2*d8 - 1*d9 must
be divisible by 11 (and the number is not 000000000). Eight-digit numbers are valid BSNs with a
leading zero dropped by spreadsheet software, so normalisation left-pads them.
"""

from __future__ import annotations

import polars as pl

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def normalise_bsn(expr: pl.Expr) -> pl.Expr:
    """Strip spaces, dots and dashes; left-pad 8 digits to 9. Anything else becomes null.

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(normalise_bsn(pl.lit(" 1112.22.333 "))).item()
    '111222333'
    >>> pl.select(normalise_bsn(pl.lit("12345678"))).item()
    '012345678'
    >>> pl.select(normalise_bsn(pl.lit("12a456789"))).item() is None
    True
    """
    cleaned = expr.cast(pl.String).str.replace_all(r"[\s.\-]", "")
    padded = pl.when(cleaned.str.len_chars() == 8).then(cleaned.str.zfill(9)).otherwise(cleaned)
    return pl.when(padded.str.contains(r"^\d{9}$")).then(padded).otherwise(None)


def is_valid_bsn(expr: pl.Expr) -> pl.Expr:
    """True when a normalised 9-digit BSN passes the 11-proef (null input gives False).

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(is_valid_bsn(pl.lit("111222333"))).item()
    True
    >>> pl.select(is_valid_bsn(pl.lit("111222334"))).item()
    False
    """
    s = expr.cast(pl.String)
    total = pl.sum_horizontal(
        [s.str.slice(i, 1).cast(pl.Int32, strict=False) * w for i, w in enumerate(_WEIGHTS)]
    )
    ok = s.str.contains(r"^\d{9}$") & (s != "000000000") & ((total % 11) == 0)
    return ok.fill_null(False)


def bsn_check_digit_ok(bsn: str) -> bool:
    """Plain-Python 11-proef for one string (used in messages and tests).

    >>> bsn_check_digit_ok("111222333"), bsn_check_digit_ok("123456789")
    (True, False)
    """
    if len(bsn) != 9 or not bsn.isdigit() or bsn == "000000000":
        return False
    return sum(int(d) * w for d, w in zip(bsn, _WEIGHTS, strict=True)) % 11 == 0
