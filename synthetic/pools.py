"""Value pools: the only place Faker is called; everything else samples these with numpy.

Faker (nl_NL) is slow per call, so it only builds small pools (street names, e-mail domains) once
per run; names come straight from the nl_NL provider's tuples. Pools are deduplicated with
``dict.fromkeys``/``sorted`` (never by iterating a ``set``), so their order does not depend on
Python's hash seed and a run is byte-identical in any process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import polars as pl
from faker import Faker
from faker.providers.person.nl_NL import Provider as NlPerson

PARTICLES = r"(?:van|de|der|den|het|'t|'s|ter|ten|te|in|op|uit|aan|bij|onder|d'|la|le|von|zu)"
_SPLIT = re.compile(rf"^((?:{PARTICLES}\s+)*)(.+)$", re.IGNORECASE)

NATIONALITIES: tuple[str, ...] = (
    "Nederlandse",
    "Poolse",
    "Turkse",
    "Marokkaanse",
    "Syrische",
    "Eritrese",
    "Belgische",
    "Duitse",
    "Oekraïense",
)
NATIONALITY_P = np.array([0.76, 0.05, 0.04, 0.04, 0.03, 0.02, 0.02, 0.02, 0.02])

# Hand-written, Latin-1-safe name pools for residents with another nationality (Faker's own pl_PL
# or tr_TR names contain letters such as ł and ş that Latin-1 cannot encode).
_FOREIGN: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "Poolse": (
        ("Piotr", "Krzysztof", "Tomasz", "Marek", "Pawel", "Jakub", "Michal", "Andrzej"),
        ("Agnieszka", "Katarzyna", "Magdalena", "Anna", "Joanna", "Zofia", "Ewa", "Monika"),
        ("Kowalski", "Nowak", "Wisniewski", "Wójcik", "Kaminska", "Lewandowski", "Król", "Mazur"),
    ),
    "Turkse": (
        ("Mehmet", "Mustafa", "Ahmet", "Emre", "Hüseyin", "Yusuf", "Murat", "Ömer"),
        ("Ayse", "Fatma", "Elif", "Zeynep", "Gül", "Özlem", "Emine", "Büsra"),
        ("Yilmaz", "Kaya", "Demir", "Çelik", "Öztürk", "Aydin", "Özdemir", "Koç", "Sahin"),
    ),
    "Marokkaanse": (
        ("Mohamed", "Youssef", "Said", "Hamza", "Karim", "Bilal", "Mustapha", "Anouar"),
        ("Fatima", "Khadija", "Naima", "Samira", "Soumaya", "Yasmina", "Nadia", "Ikram"),
        ("El Amrani", "Bouzid", "El Idrissi", "Benali", "Ouali", "Azzouzi", "Ait Taleb"),
    ),
    "Syrische": (
        ("Ahmad", "Mohammad", "Omar", "Khaled", "Rami", "Fadi", "Hussam", "Tarek"),
        ("Rania", "Lina", "Hala", "Nour", "Dima", "Reem", "Rasha", "Aya"),
        ("Al-Hassan", "Haddad", "Al-Khatib", "Darwish", "Khoury", "Mansour", "Al-Ahmad"),
    ),
    "Eritrese": (
        ("Yonas", "Dawit", "Tesfay", "Michael", "Semere", "Filmon", "Robel", "Samuel"),
        ("Helen", "Senait", "Luwam", "Selam", "Tsega", "Rahel", "Saba", "Winta"),
        ("Tesfaye", "Gebremedhin", "Haile", "Tekle", "Berhane", "Mehari", "Ghebreyesus"),
    ),
    "Belgische": (
        ("Jérôme", "Frédéric", "Wouter", "Stéphane", "Pieter", "Benoît", "Jens", "Thibault"),
        ("Hélène", "Céline", "Mathilde", "Elise", "Noémie", "Anaïs", "Ine", "Zoë"),
        ("Dubois", "Peeters", "Lefèvre", "Janssens", "Claes", "Maes", "Goossens", "Desmet"),
    ),
    "Duitse": (
        ("Jürgen", "Jörg", "Stefan", "Lukas", "Björn", "Matthias", "Günter", "Felix"),
        ("Käthe", "Sabine", "Ursula", "Jana", "Lena", "Bärbel", "Heike", "Renée"),
        ("Müller", "Schröder", "Schäfer", "Köhler", "Becker", "Weiß", "Hoffmann", "Krüger"),
    ),
    "Oekraïense": (
        ("Oleksandr", "Andriy", "Dmytro", "Taras", "Serhiy", "Bohdan", "Vitaliy", "Yuriy"),
        ("Olena", "Iryna", "Oksana", "Natalia", "Yulia", "Kateryna", "Svitlana", "Tetiana"),
        ("Kovalenko", "Shevchenko", "Bondarenko", "Tkachenko", "Melnyk", "Kravchenko"),
    ),
}

# Postcode letter pairs: F, I, O, Q, U and Y are not used, nor SA, SD and SS.
_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"
POSTCODE_LETTERS: tuple[str, ...] = tuple(
    a + b for a in _LETTERS for b in _LETTERS if a + b not in ("SA", "SD", "SS")
)


def split_last_name(name: str) -> tuple[str, str] | None:
    """Split a Faker nl_NL last name into (tussenvoegsel, achternaam); None for unusable names.

    >>> split_last_name("van der Berg"), split_last_name("Bakker"), split_last_name("Van Bragt")
    (('van der', 'Berg'), ('', 'Bakker'), ('van', 'Bragt'))
    >>> split_last_name("Aelftrud van Wessex") is None, split_last_name("Bourgondië, van") is None
    (True, True)
    """
    if "," in name:
        return None
    m = _SPLIT.match(name.strip())
    if m is None:
        return None
    particles, rest = " ".join(m.group(1).split()).lower(), m.group(2)
    if " " in rest or not rest[:1].isupper():
        return None  # historical names ("Aelftrud van Wessex") and stray particles
    return particles, rest


def _latin1(names: tuple[str, ...] | list[str]) -> list[str]:
    out = []
    for n in names:
        try:
            n.encode("latin-1")
        except UnicodeEncodeError:
            continue
        out.append(n)
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class NamePools:
    """Concatenated name pools with (offset, size) per nationality and sex (0 man, 1 vrouw)."""

    first: pl.Series
    first_offset: np.ndarray  # shape (nationalities, 2)
    first_size: np.ndarray
    tussen: pl.Series  # tussenvoegsel per last name (null when none)
    last: pl.Series
    last_offset: np.ndarray  # shape (nationalities,)
    last_size: np.ndarray


@dataclass(frozen=True)
class Pools:
    names: NamePools
    streets: pl.Series
    email_domains: pl.Series
    postcode_letters: pl.Series


def build_pools(seed: int, *, streets: int = 3000) -> Pools:
    """Build every pool from Faker nl_NL seeded with ``seed``."""
    fake = Faker("nl_NL")
    fake.seed_instance(seed)

    firsts: list[str] = []
    f_off = np.zeros((len(NATIONALITIES), 2), np.int64)
    f_size = np.zeros((len(NATIONALITIES), 2), np.int64)
    tussens: list[str] = []
    lasts: list[str] = []
    l_off = np.zeros(len(NATIONALITIES), np.int64)
    l_size = np.zeros(len(NATIONALITIES), np.int64)
    dutch_last = [
        s for s in (split_last_name(n) for n in _latin1(NlPerson.last_names)) if s is not None
    ]
    dutch_last = list(dict.fromkeys(dutch_last))
    for i, nat in enumerate(NATIONALITIES):
        if nat == "Nederlandse":
            male = _latin1(NlPerson.first_names_male)
            female = _latin1(NlPerson.first_names_female)
            last = dutch_last
        else:
            m, f, ln = _FOREIGN[nat]
            male, female, last = _latin1(m), _latin1(f), [("", x) for x in _latin1(ln)]
        for sex, pool in ((0, male), (1, female)):
            f_off[i, sex], f_size[i, sex] = len(firsts), len(pool)
            firsts.extend(pool)
        l_off[i], l_size[i] = len(lasts), len(last)
        tussens.extend(t for t, _ in last)
        lasts.extend(a for _, a in last)

    street_names = sorted(dict.fromkeys(fake.street_name() for _ in range(streets)))
    domains = (["gmail.com"] * 5 + ["hotmail.com"] * 4 + ["outlook.com"] * 2 + ["live.nl"] * 2) + [
        "ziggo.nl",
        "kpnmail.nl",
        "planet.nl",
        "home.nl",
        "yahoo.com",
    ]
    return Pools(
        names=NamePools(
            first=pl.Series("first", firsts, pl.String),
            first_offset=f_off,
            first_size=f_size,
            tussen=pl.Series("tussen", [t or None for t in tussens], pl.String),
            last=pl.Series("last", lasts, pl.String),
            last_offset=l_off,
            last_size=l_size,
        ),
        streets=pl.Series("street", street_names, pl.String),
        email_domains=pl.Series("domain", domains, pl.String),
        postcode_letters=pl.Series("letters", POSTCODE_LETTERS, pl.String),
    )


def pick(pool: pl.Series | list[str] | tuple[str, ...], idx: np.ndarray) -> pl.Series:
    """``pool[idx]`` as a polars Series (fast for millions of rows)."""
    if not isinstance(pool, pl.Series):
        pool = pl.Series(list(pool), dtype=pl.String)
    return pool.gather(idx)


def sample(
    rng: np.random.Generator, pool: pl.Series | list[str] | tuple[str, ...], n: int, p=None
) -> pl.Series:
    """``n`` values drawn from ``pool`` (uniformly, or with probabilities ``p``)."""
    size = len(pool)
    idx = rng.integers(0, size, n) if p is None else rng.choice(size, n, p=np.asarray(p))
    return pick(pool, idx)
