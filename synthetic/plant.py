"""Formatting helpers that plant the exports' dirt, deterministically from a numpy Generator.

Every helper turns clean numpy values into the text column an organisation exports, with a share
of rows made dirty at the rates of ``RATES`` (the table in ``assets/raw/FORMATS.md``): invalid
BSNs, missing and unparseable dates, unknown codes, stray whitespace and mixed case, end before
start, orphan references, out-of-range values and exact duplicate rows. Dates and codes are
formatted through small lookup tables (one entry per distinct day or code variant) and gathered,
which is much faster than formatting millions of values one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

RATES: dict[str, float] = {
    "duplicate": 0.01,  # exact duplicate rows, every staged file
    "invalid_bsn": 0.005,  # fails the 11-proef, wrong length, letters or empty
    "level_out_of_range": 0.003,  # groningen metingen: a level 0, 6 or 9
    "date_missing": 0.01,  # required dates left empty
    "date_unparseable": 0.004,  # "31-02-2021", "n.b.", "2021/13/01"
    "unknown_code": 0.005,  # a code that is not in the organisation's list
    "end_before_start": 0.005,  # episodes whose end date lies before the start date
    "orphan": 0.003,  # child rows whose parent id does not exist
    "messy": 0.02,  # stray whitespace or mixed case in codes, ids and postcodes
    "confidence_out_of_range": 0.004,  # goals: vertrouwen 0, 11, 12 or 99
    "negative_amount": 0.003,  # debts: a negative amount
}

EPOCH = date(1970, 1, 1)
_BSN_WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], np.int64)
_POW = 10 ** np.arange(8, -1, -1, dtype=np.int64)

DATE_JUNK: dict[str, tuple[str, ...]] = {
    "%d-%m-%Y": ("31-02-2021", "n.b.", "2021/13/01", "00-00-0000", "30-02-2023", "onbekend"),
    "%-d-%-m-%Y": ("31-2-2021", "n.b.", "2021/13/01"),
    "%Y-%m-%d": ("2021-02-31", "n.b.", "2021/13/01", "2022-13-45", "0000-00-00"),
    "%d/%m/%Y": ("31/02/2021", "n.b.", "2021/13/01", "00/00/0000", "32/01/2022"),
    "%-d/%-m/%Y": ("31/2/2021", "n.b.", "2021/13/01"),
}


def days(d: date) -> int:
    """Days since 1970-01-01 (the integer representation of dates used throughout)."""
    return (d - EPOCH).days


def mask(rng: np.random.Generator, n: int, rate: float, where: np.ndarray | None = None):
    """A boolean array with about ``rate`` of the (``where``) rows set."""
    m = rng.random(n) < rate
    return m if where is None else m & where


# --------------------------------------------------------------------------- BSN
def eleven_proof(bsn: np.ndarray) -> np.ndarray:
    """Vectorised 11-proef on BSNs held as integers (a 9-digit number, left-padded with 0).

    >>> eleven_proof(np.array([111222333, 123456782, 123456789, 0])).tolist()
    [True, True, False, False]
    """
    bsn = np.asarray(bsn, np.int64)
    digits = (bsn[:, None] // _POW) % 10
    return ((digits @ _BSN_WEIGHTS) % 11 == 0) & (bsn > 0) & (bsn < 10**9)


def _unique(a: np.ndarray) -> np.ndarray:
    a = np.sort(a)
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if a.size else a


def bsn_unique(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct valid BSNs (integers), in random order.

    Unique 8-digit prefixes plus the computed check digit; prefixes whose check digit would be
    10 are rejected, so every number passes the 11-proef (stack.md Appendix D).
    """
    w = _BSN_WEIGHTS[:8]
    pow8 = 10 ** np.arange(7, -1, -1, dtype=np.int64)
    out = np.empty(0, np.int64)
    while out.size < n:
        want = int((n - out.size) * 1.12) + 100
        pref = _unique(rng.integers(10**6, 10**8, want))  # >= 10**6: never "000…"
        chk = (((pref[:, None] // pow8) % 10) @ w) % 11
        ok = chk != 10
        out = _unique(np.concatenate([out, pref[ok] * 10 + chk[ok]]))
    return rng.permutation(out)[:n]


def invalid_bsn(rng: np.random.Generator, bsn: np.ndarray) -> list[str | None]:
    """Dirty versions of valid BSNs: wrong check digit, 8 or 10 digits, letters, or empty.

    Eight-digit values are checked after left-padding (as the pipeline normalises them) and
    changed again when they would happen to pass.
    """
    out: list[str | None] = []
    kinds = rng.choice(5, size=len(bsn), p=[0.4, 0.15, 0.15, 0.2, 0.1])
    shifts = rng.integers(1, 10, len(bsn))
    for b, kind, shift in zip(bsn.tolist(), kinds.tolist(), shifts.tolist(), strict=True):
        s = f"{b:09d}"
        if kind == 0:  # wrong check digit: any other last digit fails
            out.append(s[:8] + str((int(s[8]) + shift) % 10))
        elif kind == 1:  # 8 digits (a dropped digit), failing even after padding with 0
            short = s[:4] + s[5:]
            if eleven_proof(np.array([int(short)]))[0]:
                short = short[:7] + str((int(short[7]) + 1) % 10)
            out.append(short)
        elif kind == 2:  # 10 digits (a digit typed twice)
            out.append(s[:5] + s[4:])
        elif kind == 3:
            out.append(None)
        else:
            out.append(("onbekend", s[:3] + "O" + s[4:], "n.v.t.")[shift % 3])
    return out


def bsn_column(rng: np.random.Generator, bsn: np.ndarray, rate: float | None = None) -> pl.Series:
    """BSNs as 9-digit text with ``rate`` of them invalid."""
    rate = RATES["invalid_bsn"] if rate is None else rate
    s = pl.Series("bsn", bsn, pl.Int64).cast(pl.String).str.zfill(9)
    idx = np.flatnonzero(mask(rng, len(bsn), rate))
    if idx.size:
        s = s.scatter(idx, pl.Series(invalid_bsn(rng, bsn[idx]), dtype=pl.String))
    return s


# --------------------------------------------------------------------------- dates
def dates(
    rng: np.random.Generator,
    values: np.ndarray,
    fmt: str | Sequence[str],
    *,
    null: np.ndarray | None = None,
    fmt_p: Sequence[float] | None = None,
    missing: float = 0.0,
    unparseable: float = 0.0,
) -> pl.Series:
    """Format integer days as text in ``fmt`` (or a per-row mix of formats with ``fmt_p``).

    ``null`` marks rows that have no date (written empty); of the others, ``missing`` are left
    empty and ``unparseable`` replaced by junk such as "31-02-2021", "n.b." or "2021/13/01".
    """
    fmts = [fmt] if isinstance(fmt, str) else list(fmt)
    values = np.asarray(values, np.int64)
    n = values.size
    have = np.ones(n, bool) if null is None else ~np.asarray(null, bool)
    if have.any():
        lo, hi = int(values[have].min()), int(values[have].max())
    else:
        lo = hi = 0
    span = hi - lo + 1
    day_range = pl.Series(np.arange(lo, hi + 1, dtype=np.int32)).cast(pl.Date)
    junk = list(dict.fromkeys(j for f in fmts for j in DATE_JUNK.get(f, ("n.b.",))))
    table = pl.concat(
        [day_range.dt.strftime(f) for f in fmts] + [pl.Series([None, *junk], dtype=pl.String)]
    )
    null_pos = span * len(fmts)
    which = rng.choice(len(fmts), n, p=fmt_p) if len(fmts) > 1 else np.zeros(n, np.int64)
    idx = which * span + np.where(have, values - lo, 0)
    idx[~have] = null_pos
    if missing:
        idx[mask(rng, n, missing, have)] = null_pos
    if unparseable:
        bad = mask(rng, n, unparseable, have)
        idx[bad] = null_pos + 1 + rng.integers(0, len(junk), int(bad.sum()))
    return table.gather(idx)


def span_dates(
    rng: np.random.Generator, start: np.ndarray, end: np.ndarray, has_end: np.ndarray, fmt: str
) -> dict[str, pl.Series]:
    """An episode's ``startdatum`` (missing and unparseable at the planted rates) and
    ``einddatum`` (empty while it runs) in ``fmt``, as every export writes them."""
    return {
        "startdatum": dates(
            rng,
            start,
            fmt,
            missing=RATES["date_missing"],
            unparseable=RATES["date_unparseable"],
        ),
        "einddatum": dates(rng, end, fmt, null=~has_end),
    }


def end_before_start(
    rng: np.random.Generator, start: np.ndarray, end: np.ndarray, has_end: np.ndarray, rate=None
) -> np.ndarray:
    """``end`` with about ``rate`` of the ended rows moved to 1–180 days before ``start``."""
    rate = RATES["end_before_start"] if rate is None else rate
    bad = mask(rng, start.size, rate, has_end)
    end = end.copy()
    end[bad] = start[bad] - rng.integers(1, 181, int(bad.sum()))
    return end


# --------------------------------------------------------------------------- codes and ids
def _variants(label: str) -> list[str]:
    case1 = label.lower() if label.upper() == label else label.upper()
    case2 = label.capitalize() if label.capitalize() != label else label.lower()
    return [case1, case2, f" {label}", f"{label} ", f"  {label}"]


def codes(
    rng: np.random.Generator,
    labels: Sequence[str],
    idx: np.ndarray,
    *,
    unknown: Sequence[str] = (),
    unknown_rate: float | None = None,
    messy_rate: float | None = None,
) -> pl.Series:
    """``labels[idx]`` (``idx`` = -1: empty) with stray whitespace/case and unknown codes."""
    unknown_rate = RATES["unknown_code"] if unknown_rate is None else unknown_rate
    messy_rate = RATES["messy"] if messy_rate is None else messy_rate
    idx = np.asarray(idx, np.int64)
    n, k = idx.size, len(labels)
    variants = [_variants(lb) for lb in labels]
    nv = len(variants[0])
    table = pl.Series(
        [*labels, *(v for vs in variants for v in vs), *unknown, None], dtype=pl.String
    )
    have = idx >= 0
    out = np.where(have, idx, k + k * nv + len(unknown))
    messy = mask(rng, n, messy_rate, have)
    out[messy] = k + idx[messy] * nv + rng.integers(0, nv, int(messy.sum()))
    if unknown:
        unk = mask(rng, n, unknown_rate, have)
        out[unk] = k + k * nv + rng.integers(0, len(unknown), int(unk.sum()))
    return table.gather(out)


def messy(rng: np.random.Generator, s: pl.Series, rate: float | None = None) -> pl.Series:
    """Stray whitespace or changed case in about ``rate`` of the non-empty values."""
    rate = RATES["messy"] if rate is None else rate
    idx = np.flatnonzero(mask(rng, len(s), rate))
    if not idx.size:
        return s
    sub = s.gather(idx)
    kind = pl.Series(rng.integers(0, 4, idx.size))
    dirty = pl.select(
        pl.when(kind == 0)
        .then(sub.str.to_lowercase())
        .when(kind == 1)
        .then(sub.str.to_uppercase())
        .when(kind == 2)
        .then(pl.lit(" ") + sub)
        .otherwise(sub + pl.lit("  "))
    ).to_series()
    return s.clone().scatter(idx, dirty)


def ids(prefix: str, number: np.ndarray, width: int) -> pl.Series:
    """Identifiers such as KG-0000123 (wider when the numbers need it).

    >>> ids("KG-", np.array([123, 12345678]), 7).to_list()
    ['KG-0000123', 'KG-12345678']
    """
    num = pl.lit(pl.Series(np.asarray(number, np.int64)))
    fmt = prefix.replace("{", "{{").replace("}", "}}") + "{}"
    return pl.select(pl.format(fmt, num.cast(pl.String).str.zfill(width))).to_series()


def constant(value: str, n: int) -> pl.Series:
    """``n`` copies of ``value``."""
    return pl.select(pl.repeat(value, n, dtype=pl.String)).to_series()


def orphans(rng: np.random.Generator, parent: np.ndarray, n_parents: int, rate=None) -> np.ndarray:
    """Parent indices with about ``rate`` replaced by indices of parents that do not exist."""
    rate = RATES["orphan"] if rate is None else rate
    bad = mask(rng, parent.size, rate)
    parent = parent.copy()
    parent[bad] = n_parents + rng.integers(0, max(n_parents, 10), int(bad.sum()))
    return parent


# --------------------------------------------------------------------------- numbers
def ints(values: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """Integers as text; ``null`` rows empty."""
    s = pl.Series(np.asarray(values, np.int64)).cast(pl.String)
    if null is not None and np.any(null):
        s = s.scatter(np.flatnonzero(null), None)
    return s


def dutch_amount(cents: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """Amounts in cents as Dutch decimals: 1234567 -> "12.345,67"; negatives with "-".

    >>> dutch_amount(np.array([123456789, 5, -180012, 100000])).to_list()
    ['1.234.567,89', '0,05', '-1.800,12', '1.000,00']
    """
    cents = np.asarray(cents, np.int64)
    a = np.abs(cents)
    eur, ct = a // 100, a % 100
    df = pl.DataFrame({"m": eur // 1_000_000, "t": (eur // 1000) % 1000, "u": eur % 1000, "c": ct})
    s3 = lambda c: pl.col(c).cast(pl.String).str.zfill(3)  # noqa: E731
    euros = (
        pl.when(pl.col("m") > 0)
        .then(pl.concat_str([pl.col("m").cast(pl.String), s3("t"), s3("u")], separator="."))
        .when(pl.col("t") > 0)
        .then(pl.concat_str([pl.col("t").cast(pl.String), s3("u")], separator="."))
        .otherwise(pl.col("u").cast(pl.String))
    )
    sign = pl.Series(np.where(cents < 0, "-", ""), dtype=pl.String)
    out = df.select(
        pl.lit(sign) + euros + pl.lit(",") + pl.col("c").cast(pl.String).str.zfill(2)
    ).to_series()
    if null is not None and np.any(null):
        out = out.scatter(np.flatnonzero(null), None)
    return out


def negative(rng: np.random.Generator, amount: np.ndarray, have: np.ndarray, rate=None):
    """``amount`` with about ``rate`` of the ``have`` rows made negative."""
    rate = RATES["negative_amount"] if rate is None else rate
    neg = mask(rng, amount.size, rate, have & (amount > 0))
    return np.where(neg, -amount, amount)


# --------------------------------------------------------------------------- rows
def duplicates(
    rng: np.random.Generator, df: pl.DataFrame, rate: float | None = None, *, places: int = 256
) -> pl.DataFrame:
    """``df`` with about ``rate`` of its rows repeated exactly, each copy somewhere after its
    original (at one of ``places`` random insertion points, so no full-frame gather is needed).
    """
    rate = RATES["duplicate"] if rate is None else rate
    n = df.height
    dup = np.flatnonzero(mask(rng, n, rate))
    if not dup.size:
        return df
    cuts = np.unique(np.append(rng.integers(1, n + 1, places), n))  # insertion points
    at = cuts[np.searchsorted(cuts, rng.integers(dup + 1, n + 1))]  # first cut after original
    order = np.lexsort((dup, at))
    dup, at = dup[order], at[order]
    copies = df[dup]
    bounds = np.searchsorted(at, cuts, side="right")
    pieces, prev_cut, prev_b = [], 0, 0
    for cut, b in zip(cuts.tolist(), bounds.tolist(), strict=True):
        pieces.append(df.slice(prev_cut, cut - prev_cut))
        if b > prev_b:
            pieces.append(copies.slice(prev_b, b - prev_b))
        prev_cut, prev_b = cut, b
    return pl.concat(pieces, rechunk=False)
