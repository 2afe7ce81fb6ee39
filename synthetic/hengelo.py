"""Wijkkracht Hengelo: contacts and their support trajectories (UTF-8 with BOM, ``,``).

One contact per person; 15 % have a second trajectory after the first ended. Birth dates come
in three formats; a quarter of the contacts have health notes; most have a photo file name.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic import plant, texts
from synthetic.people import Universe, emails, episodes, house_numbers, phones, postcodes
from synthetic.pools import Pools, pick

ORGANISATION = "hengelo"
STATUSES = ("afgerond", "gestopt", "niet gestart", "lopend")
RESULTS = ("zelfredzaam", "verbeterd", "gelijk", "verslechterd")
RESULT_P = {  # per status; the remainder is empty
    0: (0.30, 0.45, 0.20, 0.05),
    1: (0.0, 0.15, 0.50, 0.20),
}
BIRTH_FORMATS = ("%d-%m-%Y", "%Y-%m-%d", "%-d/%-m/%Y")
PC4 = np.arange(7550, 7560)
DMY = "%d-%m-%Y"


def build(
    rng: np.random.Generator, u: Universe, pools: Pools, today: int
) -> dict[str, pl.DataFrame]:
    person = u.clients[ORGANISATION]
    n = person.size
    contact_ids = plant.ids("WK-", np.arange(1, n + 1), 5)
    naam = u.full_name(person)
    pc, _ = postcodes(rng, pools, PC4, n)
    adres = pl.select(
        pick(pools.streets, rng.integers(0, len(pools.streets), n))
        + pl.lit(" ")
        + house_numbers(rng, n)
    ).to_series()
    health = pick(texts.HENGELO_HEALTH, rng.integers(0, len(texts.HENGELO_HEALTH), n))
    photo = pl.select(pl.lit("foto_") + contact_ids + pl.lit(".jpg")).to_series()
    mail = emails(rng, pools, u.first.gather(person), u.last_with_tussen(person))
    contacts = pl.DataFrame(
        {
            "contact_id": plant.messy(rng, contact_ids),
            "naam": naam,
            "geboortedatum": plant.dates(
                rng, u.birth[person], BIRTH_FORMATS, fmt_p=(0.5, 0.3, 0.2)
            ),
            "geslacht": plant.codes(
                rng, ("m", "v", "x"), np.asarray(u.sex[person], np.int64), unknown=("o", "?", "mv")
            ),
            "telefoon": phones(rng, n).scatter(np.flatnonzero(rng.random(n) < 0.08), None),
            "email": mail.scatter(np.flatnonzero(rng.random(n) < 0.15), None),
            "bsn": plant.bsn_column(rng, u.bsn[person]),
            "adres": adres,
            "postcode": plant.messy(rng, pc),
            "gezondheid_notities": health.scatter(np.flatnonzero(rng.random(n) >= 0.25), None),
            "foto": photo.scatter(np.flatnonzero(rng.random(n) >= 0.7), None),
        }
    )

    # ---------------------------------------------------------------- trajectories
    ep = episodes(rng, n, today, months=(3.0, 24.0), birth=u.birth[person])
    gap = rng.integers(30, 366, n)
    second = (rng.random(n) < 0.15) & ep.has_end & (ep.end + gap < today - 7)
    ep2 = episodes(rng, int(second.sum()), today, months=(3.0, 24.0))
    s2 = ep.end[second] + gap[second]
    e2 = s2 + (ep2.end - ep2.start)
    owner = np.concatenate([np.arange(n), np.flatnonzero(second)])
    start = np.concatenate([ep.start, s2])
    end = np.concatenate([ep.end, e2])
    has_end = np.concatenate([ep.has_end, e2 <= today])
    order = np.lexsort((start, owner))
    owner, start, end, has_end = owner[order], start[order], end[order], has_end[order]
    t = owner.size

    status = np.where(has_end, rng.choice(3, t, p=[0.65, 0.25, 0.10]), 3)
    not_started = status == 2
    end = np.where(not_started, start + rng.integers(7, 61, t), end)
    has_end = has_end | not_started
    end = plant.end_before_start(rng, start, end, has_end)
    result = np.full(t, -1)
    for s, p in RESULT_P.items():
        sel = np.flatnonzero(status == s)
        result[sel] = rng.choice(5, sel.size, p=[*p, 1.0 - sum(p)])
    result[result == 4] = -1
    trajecten = pl.DataFrame(
        {
            "traject_id": plant.messy(rng, plant.ids("WT-", np.arange(1, t + 1), 5)),
            "contact_id": plant.messy(rng, plant.ids("WK-", plant.orphans(rng, owner, n) + 1, 5)),
            **plant.span_dates(rng, start, end, has_end, DMY),
            "status": plant.codes(rng, STATUSES, status, unknown=("on hold", "onbekend", "?")),
            "resultaat": plant.codes(rng, RESULTS, result),
            "bezwaar_onderzoek": plant.codes(rng, ("ja", "nee"), (rng.random(t) >= 0.03) * 1),
        }
    )
    return {
        "contacts": plant.duplicates(rng, contacts),
        "trajectories": plant.duplicates(rng, trajecten),
    }
