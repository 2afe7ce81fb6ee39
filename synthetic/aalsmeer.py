"""Sociaal team Aalsmeer: household cases and their members (Latin-1, ``;``).

One case per applicant (a person of the population); the household has 1–6 members: the
applicant, maybe a partner, children and sometimes a huisgenoot. Partners, children and
huisgenoten are not clients themselves (not counted in ``people``) but get their own valid,
unique BSNs. Names include é, ë and ö, which is why the export is Latin-1.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic import plant, texts
from synthetic.people import Universe, birth_dates, episodes, house_numbers, names, postcodes
from synthetic.pools import NATIONALITIES, Pools, pick

ORGANISATION = "aalsmeer"
END_REASONS = ("afgerond", "geen ondersteuning", "afgebroken")
OUTCOMES = ("doelen behaald", "deels behaald", "niet behaald")
SOURCES = ("bijstand", "loon", "uwv", "aow", "zelfstandig", "geen")
SOURCE_P = (0.40, 0.28, 0.12, 0.10, 0.05, 0.05)
INCOME_MEDIAN = (1450.0, 2300.0, 1650.0, 1500.0, 1900.0, 150.0)
HOUSING = ("huur", "koop", "inwonend")
ROLES = ("aanvrager", "partner", "kind", "huisgenoot")
EU = {"Nederlandse", "Poolse", "Belgische", "Duitse"}
PERMITS = (
    "verblijfsvergunning asiel bepaalde tijd",
    "verblijfsvergunning asiel onbepaalde tijd",
    "verblijfsvergunning regulier onbepaalde tijd",
    "verblijfsvergunning regulier bepaalde tijd",
    "naturalisatie aangevraagd",
)
PC4 = np.array([1431, 1432, 1433])
DMY = "%d/%m/%Y"


def build(
    rng: np.random.Generator, u: Universe, pools: Pools, today: int
) -> dict[str, pl.DataFrame]:
    person = u.clients[ORGANISATION]
    n = person.size
    case_ids = plant.ids("AST-", np.arange(1, n + 1), 5)

    # ---------------------------------------------------------------- cases
    ep = episodes(rng, n, today, months=(3.0, 30.0), birth=u.birth[person])
    end = plant.end_before_start(rng, ep.start, ep.end, ep.has_end)
    reason = np.where(ep.has_end, rng.choice(3, n, p=[0.70, 0.15, 0.15]), -1)
    outcome = np.full(n, -1)
    done, aborted = reason == 0, reason == 2
    outcome[done] = rng.choice(3, int(done.sum()), p=[0.5, 0.35, 0.15])
    outcome[aborted] = rng.choice(3, int(aborted.sum()), p=[0.0, 0.35, 0.65])
    source = rng.choice(len(SOURCES), n, p=SOURCE_P)
    income = np.rint(np.array(INCOME_MEDIAN)[source] * np.exp(rng.normal(0, 0.18, n)))
    no_income = rng.random(n) < 0.05
    debt = np.where(
        rng.random(n) < 0.35, 0, np.rint(np.exp(rng.normal(np.log(4000.0), 1.0, n)))
    ).astype(np.int64)
    no_debt = rng.random(n) < 0.10
    debt = plant.negative(rng, debt, ~no_debt)
    housing = rng.choice(3, n, p=[0.72, 0.14, 0.14])
    cases = pl.DataFrame(
        {
            "casus_id": plant.messy(rng, case_ids),
            **plant.span_dates(rng, ep.start, end, ep.has_end, DMY),
            "reden_einde": plant.codes(
                rng, END_REASONS, reason, unknown=("verhuisd", "onbekend", "?")
            ),
            "uitkomst": plant.codes(rng, OUTCOMES, outcome),
            "netto_inkomen_huishouden": plant.ints(income, null=no_income),
            "inkomstenbron": plant.codes(rng, SOURCES, source),
            "schuld_bedrag": plant.ints(debt, null=no_debt),
            "medische_gegevens": plant.codes(rng, ("ja", "nee"), (rng.random(n) >= 0.20) * 1),
            "woonsituatie": plant.codes(rng, HOUSING, housing),
            "bezwaar": plant.codes(rng, ("ja", "nee"), (rng.random(n) >= 0.03) * 1),
            "ondersteuningsplan": pick(
                texts.AALSMEER_PLANS, rng.integers(0, len(texts.AALSMEER_PLANS), n)
            ),
        }
    )

    # ---------------------------------------------------------------- members
    partner = (rng.random(n) < 0.40).astype(np.int64)
    lodger = (rng.random(n) < 0.08).astype(np.int64)
    kids = rng.choice(5, n, p=[0.40, 0.22, 0.22, 0.11, 0.05])
    kids = np.minimum(kids, 5 - partner - lodger)
    size = 1 + partner + kids + lodger
    m = int(size.sum())
    hh = np.repeat(np.arange(n), size)
    j = np.arange(m) - (np.cumsum(size) - size)[hh]
    role = np.select(
        [j == 0, (j == 1) & (partner[hh] == 1), j < 1 + partner[hh] + kids[hh]], [0, 1, 2], 3
    )
    app = person[hh]  # the applicant of each member's household
    is_app = role == 0
    sex = rng.integers(0, 2, m)
    sex[is_app] = u.sex[app[is_app]]
    sex[role == 1] = np.where(
        rng.random(int((role == 1).sum())) < 0.95,
        1 - sex[is_app][partner == 1],
        sex[is_app][partner == 1],
    )
    nat = np.asarray(u.nationality[app], np.int64)
    other_nat = (role != 2) & ~is_app & (rng.random(m) < 0.25)
    nat[other_nat] = rng.choice(len(NATIONALITIES), int(other_nat.sum()))

    bsn = np.empty(m, np.int64)
    bsn[is_app] = u.bsn[app[is_app]]
    bsn[~is_app] = u.spare_bsn[: int((~is_app).sum())]

    first_i, last_i = names(rng, pools, sex, nat)
    first = pools.names.first.gather(first_i)
    own_last = pl.DataFrame(
        {"t": pools.names.tussen.gather(last_i), "l": pools.names.last.gather(last_i)}
    ).select(pl.concat_str(["t", "l"], separator=" ", ignore_nulls=True))
    app_last = u.last_with_tussen(app)
    last = pl.select(
        pl.when(pl.lit(pl.Series(role == 2)))
        .then(pl.lit(app_last))
        .otherwise(pl.lit(own_last.to_series()))
    ).to_series()
    first = first.scatter(np.flatnonzero(is_app), u.first.gather(app[is_app]))

    birth = birth_dates(rng, m, today)
    birth[is_app] = u.birth[app[is_app]]
    app_birth = u.birth[app]
    birth[role == 1] = (app_birth + rng.normal(0, 4 * 365.25, m)).astype(np.int64)[role == 1]
    kid_oldest = np.minimum(24 * 365.25, today - app_birth - 18 * 365.25)
    kid_birth = today - (rng.random(m) * np.maximum(kid_oldest, 30)).astype(np.int64)
    birth[role == 2] = kid_birth[role == 2]

    # residence permit: n.v.t. (Dutch), EU-burger, Ukrainian protection, or a permit
    is_eu = np.isin(nat, [NATIONALITIES.index(x) for x in EU])
    permit = np.where(is_eu, 1, 3 + rng.integers(0, len(PERMITS), m))
    permit[nat == NATIONALITIES.index("Nederlandse")] = 0
    permit[nat == NATIONALITIES.index("Oekraïense")] = 2
    permit_pool = ("n.v.t.", "EU-burger", "tijdelijke bescherming Oekraïne", *PERMITS)
    permit_s = pick(permit_pool, permit).scatter(np.flatnonzero(rng.random(m) < 0.15), None)

    pc, _ = postcodes(rng, pools, PC4, n, space_p=0.3)
    street = pick(pools.streets, rng.integers(0, len(pools.streets), n))
    number = house_numbers(rng, n)
    leden = pl.DataFrame(
        {
            "lid_id": plant.ids("L-", np.arange(1, m + 1), 6),
            "casus_id": plant.messy(rng, plant.ids("AST-", plant.orphans(rng, hh, n) + 1, 5)),
            "rol": plant.codes(rng, ROLES, role),
            "bsn": plant.bsn_column(rng, bsn),
            "voornaam": first,
            "achternaam": last,
            "geboortedatum": plant.dates(rng, birth, DMY),
            "geslacht": plant.codes(rng, ("M", "V"), sex, unknown=("X", "O", "?")),
            "nationaliteit": pick(NATIONALITIES, nat),
            "verblijfstitel": permit_s,
            "straat": street.gather(hh),
            "huisnummer": number.gather(hh),
            "postcode": plant.messy(rng, pc.gather(hh)),
        }
    )
    return {
        "households": plant.duplicates(rng, cases),
        "members": plant.duplicates(rng, leden),
    }
