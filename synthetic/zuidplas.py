"""Stichting ZO! Zuidplas: one registration per person and process (UTF-8, ``,``).

Each client has 1–3 registrations, each in a different process; person columns repeat on every
registration. Arrears (Vroegsignalering only) are log-normal with a median of about 1,800 euro and
are written with Dutch decimals ("1.234,56").
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic import plant, texts
from synthetic.groningen import household
from synthetic.people import Universe, episodes, house_numbers, postcodes
from synthetic.pools import Pools, pick

ORGANISATION = "zuidplas"
PROCESSES = ("Vroegsignalering", "Geldzaken", "Wisselgeldbudget", "1G1P1R casusregie")
PROCESS_MONTHS = ((3.0, 9.0), (3.0, 18.0), (6.0, 24.0), (6.0, 36.0))
RESULTS = ("opgelost", "doorverwezen", "geen contact", "gestopt")
RESULT_P = (0.50, 0.20, 0.15, 0.15)
HOUSEHOLDS = (
    "alleenstaand",
    "eenoudergezin",
    "samenwonend zonder kinderen",
    "gezin met kinderen",
    "anders",
)
PC4 = np.array([*range(2741, 2750), 2751, 2841])
PLACE_OF_PC4 = {
    **{pc: "Nieuwerkerk aan den IJssel" for pc in range(2741, 2747)},
    **{pc: "Zevenhuizen" for pc in range(2747, 2750)},
    2751: "Moerkapelle",
    2841: "Moordrecht",
}
ISO = "%Y-%m-%d"


def build(
    rng: np.random.Generator, u: Universe, pools: Pools, today: int
) -> dict[str, pl.DataFrame]:
    person = u.clients[ORGANISATION]
    n = person.size
    # person-level attributes
    pc, pc4 = postcodes(rng, pools, PC4, n)
    places = tuple(dict.fromkeys(PLACE_OF_PC4.values()))
    place = np.array([places.index(PLACE_OF_PC4[int(p)]) for p in PC4])[np.searchsorted(PC4, pc4)]
    adres = pl.select(
        pick(pools.streets, rng.integers(0, len(pools.streets), n))
        + pl.lit(" ")
        + house_numbers(rng, n)
    ).to_series()
    hh, kids = household(rng, n)
    naam = u.full_name(person)

    # registrations: 1-3 different processes per person
    per = rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1])
    r = int(per.sum())
    rp = np.repeat(np.arange(n), per)
    j = np.arange(r) - (np.cumsum(per) - per)[rp]
    perm = np.argsort(rng.random((n, len(PROCESSES))), axis=1)
    proc = perm[rp, j]

    start = np.empty(r, np.int64)
    end = np.empty(r, np.int64)
    has_end = np.empty(r, bool)
    for p, months in enumerate(PROCESS_MONTHS):
        sel = np.flatnonzero(proc == p)
        ep = episodes(rng, sel.size, today, months=months, birth=u.birth[person][rp[sel]])
        start[sel], end[sel], has_end[sel] = ep.start, ep.end, ep.has_end
    end = plant.end_before_start(rng, start, end, has_end)
    result = np.where(has_end, rng.choice(len(RESULTS), r, p=RESULT_P), -1)

    vroeg = proc == 0
    arrears = np.rint(np.exp(rng.normal(np.log(1800.0), 0.9, r)) * 100).astype(np.int64)
    arrears = plant.negative(rng, arrears, vroeg)
    creditors = np.where(vroeg, 1 + rng.poisson(1.2, r), 1 + rng.poisson(3.0, r))
    no_notes = rng.random(r) < 0.3
    notes = pick(texts.ZUIDPLAS_NOTES, rng.integers(0, len(texts.ZUIDPLAS_NOTES), r))
    sex = np.asarray(u.sex[person], np.int64)[rp]
    df = pl.DataFrame(
        {
            "registratie_id": plant.messy(rng, plant.ids("ZO-R-", np.arange(1, r + 1), 6)),
            "clientnummer": plant.messy(rng, plant.ids("ZO-", np.arange(1, n + 1), 6).gather(rp)),
            "bsn": plant.bsn_column(rng, u.bsn[person][rp]),
            "naam": naam.gather(rp),
            "adres": adres.gather(rp),
            "postcode": plant.messy(rng, pc.gather(rp)),
            "woonplaats": pick(places, place[rp]),
            "geboortedatum": plant.dates(rng, u.birth[person][rp], ISO),
            "geslacht": plant.codes(
                rng, ("man", "vrouw", "onbekend"), sex, unknown=("m/v", "?", "x", "anders")
            ),
            "gezinssamenstelling": plant.codes(rng, HOUSEHOLDS, hh[rp]),
            "aantal_kinderen": plant.ints(kids[rp]),
            "proces": plant.codes(
                rng, PROCESSES, proc, unknown=("Schuldhulp", "Budgetbeheer", "onbekend")
            ),
            "achterstand_bedrag": plant.dutch_amount(arrears, null=~vroeg),
            "aantal_schuldeisers": plant.ints(creditors, null=proc > 1),
            **plant.span_dates(rng, start, end, has_end, ISO),
            "resultaat": plant.codes(rng, RESULTS, result, unknown=("afgewezen", "onbekend", "?")),
            "bezwaar": plant.codes(rng, ("J", "N"), np.where(rng.random(r) < 0.03, 0, 1)),
            "notitie": notes.scatter(np.flatnonzero(no_notes), None),
        }
    )
    return {"registrations": plant.duplicates(rng, df)}
