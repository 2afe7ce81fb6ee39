"""The synthetic population: one row per distinct person, shared by every organisation.

A person has a BSN (valid, unique), birth date, sex, nationality and name. Each person is a
client of one organisation (about 40/20/15/15/10 % for groningen/breda/hengelo/zuidplas/
aalsmeer); about 5 % are also a client of a second organisation under the same BSN, birth date,
sex and name (their address there is drawn anew). Addresses, episodes and everything else are
drawn per organisation in the organisation modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from synthetic import plant
from synthetic.pools import NATIONALITIES, NATIONALITY_P, Pools

ORGANISATIONS: tuple[str, ...] = ("groningen", "zuidplas", "aalsmeer", "hengelo", "breda")
SHARE: dict[str, float] = {
    "groningen": 0.40,
    "zuidplas": 0.15,
    "aalsmeer": 0.10,
    "hengelo": 0.15,
    "breda": 0.20,
}
SECOND_ORG_SHARE = 0.05
MAN, VROUW, X = 0, 1, 2
ORGS_WITHOUT_X = ("aalsmeer", "breda")  # their gender code lists are M/V only


@dataclass(frozen=True)
class Universe:
    """All persons (index = person number) and who is a client where."""

    bsn: np.ndarray  # int64, valid and unique
    birth: np.ndarray  # int64 days since 1970-01-01
    sex: np.ndarray  # int8: MAN, VROUW, X
    nationality: np.ndarray  # int8 index into pools.NATIONALITIES
    first: pl.Series
    tussen: pl.Series  # null when none
    last: pl.Series
    clients: dict[str, np.ndarray]  # organisation -> person indices (primary + second), shuffled
    spare_bsn: np.ndarray  # unused valid BSNs for household members who are not clients

    def full_name(self, idx: np.ndarray) -> pl.Series:
        """ "Voornaam [tussenvoegsel ]Achternaam" for the persons ``idx``."""
        df = pl.DataFrame(
            {"f": self.first.gather(idx), "t": self.tussen.gather(idx), "l": self.last.gather(idx)}
        )
        return df.select(
            pl.concat_str(["f", "t", "l"], separator=" ", ignore_nulls=True)
        ).to_series()

    def last_with_tussen(self, idx: np.ndarray) -> pl.Series:
        """Achternaam including the tussenvoegsel ("van der Berg")."""
        df = pl.DataFrame({"t": self.tussen.gather(idx), "l": self.last.gather(idx)})
        return df.select(pl.concat_str(["t", "l"], separator=" ", ignore_nulls=True)).to_series()


def birth_dates(rng: np.random.Generator, n: int, today: int) -> np.ndarray:
    """Birth dates giving ages of about 21–86 today (mostly 28–62): adults at any intake."""
    age = np.clip(rng.normal(45.0, 12.5, n), 21.0, 86.0)
    return (today - age * 365.25).astype(np.int64)


def names(rng: np.random.Generator, pools: Pools, sex: np.ndarray, nationality: np.ndarray):
    """Indices into the first-name and last-name pools, by sex and nationality."""
    p = pools.names
    n = sex.size
    s = np.where(sex == X, rng.integers(0, 2, n), sex)
    first = p.first_offset[nationality, s] + (rng.random(n) * p.first_size[nationality, s]).astype(
        np.int64
    )
    last = p.last_offset[nationality] + (rng.random(n) * p.last_size[nationality]).astype(np.int64)
    return first, last


def build_universe(rng: np.random.Generator, pools: Pools, people: int, today: int) -> Universe:
    """Draw ``people`` persons and their organisations."""
    n = people
    orgs = len(ORGANISATIONS)
    share = np.array([SHARE[o] for o in ORGANISATIONS])
    primary = rng.choice(orgs, n, p=share)
    sex = rng.choice(3, n, p=[0.485, 0.505, 0.01]).astype(np.int8)
    no_x = np.isin(primary, [ORGANISATIONS.index(o) for o in ORGS_WITHOUT_X])
    sex[no_x & (sex == X)] = rng.integers(0, 2, int((no_x & (sex == X)).sum()))
    nationality = rng.choice(len(NATIONALITIES), n, p=NATIONALITY_P).astype(np.int8)
    birth = birth_dates(rng, n, today)

    # a second organisation for ~5 % (not for sex X: two organisations record only M/V)
    second = np.full(n, -1, np.int64)
    has_second = (rng.random(n) < SECOND_ORG_SHARE) & (sex != X)
    for o in range(orgs):  # the second organisation in proportion to the organisations' sizes
        who = np.flatnonzero(has_second & (primary == o))
        others = np.array([x for x in range(orgs) if x != o])
        second[who] = rng.choice(others, who.size, p=share[others] / share[others].sum())

    first_i, last_i = names(rng, pools, sex, nationality)
    aalsmeer = ORGANISATIONS.index("aalsmeer")
    n_aalsmeer = int((primary == aalsmeer).sum() + (second == aalsmeer).sum())
    bsn = plant.bsn_unique(rng, n + 5 * n_aalsmeer + 16)

    clients = {}
    for o, org in enumerate(ORGANISATIONS):
        idx = np.concatenate([np.flatnonzero(primary == o), np.flatnonzero(second == o)])
        clients[org] = rng.permutation(idx)
    return Universe(
        bsn=bsn[:n],
        birth=birth,
        sex=sex,
        nationality=nationality,
        first=pools.names.first.gather(first_i),
        tussen=pools.names.tussen.gather(last_i),
        last=pools.names.last.gather(last_i),
        clients=clients,
        spare_bsn=bsn[n:],
    )


# --------------------------------------------------------------------------- addresses
def postcodes(
    rng: np.random.Generator,
    pools: Pools,
    pc4: np.ndarray | list[int] | range,
    n: int,
    *,
    space_p: float = 1.0,
    pc4_p: np.ndarray | None = None,
) -> tuple[pl.Series, np.ndarray]:
    """PC6 postcodes ("9711 AB", or "9711AB" for ``1 - space_p`` of them) and their PC4."""
    pc4 = np.asarray(pc4, np.int64)
    chosen = pc4[rng.choice(pc4.size, n, p=pc4_p)]
    letters = pools.postcode_letters.gather(rng.integers(0, len(pools.postcode_letters), n))
    sep = pl.Series(np.where(rng.random(n) < space_p, " ", ""), dtype=pl.String)
    out = pl.select(pl.lit(pl.Series(chosen).cast(pl.String)) + sep + letters).to_series()
    return out, chosen


def house_numbers(rng: np.random.Generator, n: int) -> pl.Series:
    """House numbers 1–~300 (small ones common), some with an addition ("12a", "3-II")."""
    num = np.exp(rng.uniform(0.0, np.log(300.0), n)).astype(np.int64) + 1
    add = pl.Series(["", "a", "b", "c", "A", "-1", "-II", " bis"], dtype=pl.String)
    which = np.where(rng.random(n) < 0.06, rng.integers(1, len(add), n), 0)
    return pl.select(pl.lit(pl.Series(num).cast(pl.String)) + add.gather(which)).to_series()


def phones(rng: np.random.Generator, n: int) -> pl.Series:
    """Mobile numbers, mostly "06-12345678", some "0612345678" or "+31 6 12345678"."""
    digits = pl.Series(rng.integers(10_000_000, 100_000_000, n)).cast(pl.String)
    pre = pl.Series(["06-", "06", "+31 6 "], dtype=pl.String).gather(
        rng.choice(3, n, p=[0.7, 0.2, 0.1])
    )
    return pl.select(pl.lit(pre) + digits).to_series()


def emails(rng: np.random.Generator, pools: Pools, first: pl.Series, last: pl.Series) -> pl.Series:
    """voornaam.achternaam12@domain in lower case ASCII (accents dropped)."""
    n = len(first)
    num = pl.Series(np.where(rng.random(n) < 0.6, rng.integers(1, 100, n), -1))
    num_s = pl.select(pl.when(num >= 0).then(num.cast(pl.String)).otherwise(pl.lit(""))).to_series()
    dom = pools.email_domains.gather(rng.integers(0, len(pools.email_domains), n))
    local = pl.select(
        pl.concat_str([first, last], separator=".")
        .str.to_lowercase()
        .str.replace_many(_ACCENTS_FROM, _ACCENTS_TO)
        .str.replace_all(r"[^a-z0-9.]", "")
    ).to_series()
    return pl.select(local + num_s + pl.lit("@") + dom).to_series()


_ACCENTS_FROM = list("éèêëïíìîöóòôüúùûäáàâçñßø")
_ACCENTS_TO = list("eeeeiiiioooouuuuaaaacnso")


# --------------------------------------------------------------------------- episodes
@dataclass(frozen=True)
class Episodes:
    start: np.ndarray  # int64 days
    end: np.ndarray  # int64 days (meaningless where ~has_end)
    has_end: np.ndarray  # bool: ended on or before today


def episodes(
    rng: np.random.Generator,
    n: int,
    today: int,
    *,
    first_start: int | None = None,
    months: tuple[float, float] = (3.0, 36.0),
    shape: tuple[float, float] = (1.6, 1.2),
    birth: np.ndarray | None = None,
) -> Episodes:
    """Start between 2019-01-01 and today, lasting ``months`` (beta-shaped); ongoing if later.

    With ``birth``, a start before the person's 18th birthday is moved to a random day between
    that birthday and today (birth dates make everyone at least 21 today).
    """
    first_start = plant.days(date(2019, 1, 1)) if first_start is None else first_start
    start = rng.integers(first_start, today - 7, n)
    if birth is not None:
        adult = np.asarray(birth, np.int64) + int(18 * 365.25) + 1
        young = start < adult
        room = np.maximum(today - 7 - adult, 1)
        start = np.where(young, adult + (rng.random(n) * room).astype(np.int64), start)
    lo, hi = months
    dur = (lo + (hi - lo) * rng.beta(*shape, n)) * 30.44
    end = start + dur.astype(np.int64)
    return Episodes(start=start, end=end, has_end=end <= today)


def age_at(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Whole years between ``birth`` and ``on`` (both int days), via calendar dates."""
    b = pl.Series(birth.astype(np.int32)).cast(pl.Date)
    d = pl.Series(on.astype(np.int32)).cast(pl.Date)
    df = pl.DataFrame({"b": b, "d": d})
    age = df.select(
        pl.col("d").dt.year().cast(pl.Int64)
        - pl.col("b").dt.year().cast(pl.Int64)
        - (
            (pl.col("d").dt.month() < pl.col("b").dt.month())
            | (
                (pl.col("d").dt.month() == pl.col("b").dt.month())
                & (pl.col("d").dt.day() < pl.col("b").dt.day())
            )
        ).cast(pl.Int64)
    ).to_series()
    return age.to_numpy()
