"""Doorbraakmethode Breda: one doorbraakplan per household (UTF-8, ``;``).

Multi-problem households: large debts (median about 15,000 euro), rare justice (3 %) and mental
health (8 %) flags, plan costs of a few thousand euros, a breakthrough in about 60 % of ended plans.
Amounts are whole euros.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic import plant, texts
from synthetic.people import Universe, age_at, episodes, postcodes
from synthetic.pools import Pools, pick

ORGANISATION = "breda"
INCOME_SOURCES = (
    "bijstand",
    "toeslagen",
    "loon",
    "uwv",
    "zelfstandig",
    "aow",
    "studiefinanciering",
)
INCOME_P = (0.55, 0.60, 0.25, 0.12, 0.04, 0.05, 0.02)
DEBT_HELP = ("geen", "aangemeld", "lopend", "afgerond")
END_REASONS = ("afgerond", "afgebroken", "niet gestart")
PC4 = np.arange(4811, 4840)
ISO = "%Y-%m-%d"
MAX_KIDS = 5


def _pipe_join(columns: list[pl.Series]) -> pl.Series:
    """Join non-null values with "|" (all null: empty)."""
    out = pl.select(pl.concat_str(columns, separator="|", ignore_nulls=True)).to_series()
    return pl.select(pl.when(out == "").then(None).otherwise(out)).to_series()


def build(
    rng: np.random.Generator, u: Universe, pools: Pools, today: int
) -> dict[str, pl.DataFrame]:
    person = u.clients[ORGANISATION]
    n = person.size
    ep = episodes(rng, n, today, months=(3.0, 30.0), birth=u.birth[person])
    end = plant.end_before_start(rng, ep.start, ep.end, ep.has_end)
    reason = np.where(ep.has_end, rng.choice(3, n, p=[0.75, 0.15, 0.10]), -1)
    age = age_at(u.birth[person], ep.start)
    pc, _ = postcodes(rng, pools, PC4, n, space_p=0.8)

    has = rng.random((n, len(INCOME_SOURCES))) < np.array(INCOME_P)
    none = ~has.any(axis=1)
    src = [
        plant.constant(s, n).scatter(np.flatnonzero(~has[:, i]), None)
        for i, s in enumerate(INCOME_SOURCES)
    ]
    sources = _pipe_join(src)
    sources = sources.scatter(np.flatnonzero(none), "geen")

    kids = rng.choice(MAX_KIDS + 1, n, p=[0.35, 0.20, 0.20, 0.15, 0.07, 0.03])
    max_age = np.clip(age - 17, 0, 17)
    kid_age = (rng.random((n, MAX_KIDS)) * (max_age[:, None] + 1)).astype(np.int64)
    kid_age = np.where(np.arange(MAX_KIDS)[None, :] < kids[:, None], kid_age, 99)
    kid_age = -np.sort(-np.where(kid_age == 99, -1, kid_age), axis=1)  # oldest first
    kid_cols = [
        pl.Series(kid_age[:, i]).cast(pl.String).scatter(np.flatnonzero(kid_age[:, i] < 0), None)
        for i in range(MAX_KIDS)
    ]

    debt = np.where(
        rng.random(n) < 0.08, 0, np.rint(np.exp(rng.normal(np.log(15000.0), 1.0, n)))
    ).astype(np.int64)
    debt = plant.negative(rng, debt, np.ones(n, bool))
    cost = np.rint(np.exp(rng.normal(np.log(3000.0), 0.6, n))).astype(np.int64)
    breakthrough = np.where(ep.has_end, np.where(rng.random(n) < 0.60, 0, 1), -1)
    yes_no = ("ja", "nee")

    def flag(p: float) -> pl.Series:
        return plant.codes(rng, yes_no, (rng.random(n) >= p) * 1)

    df = pl.DataFrame(
        {
            "plan_id": plant.messy(rng, plant.ids("DB-", np.arange(1, n + 1), 5)),
            "bsn": plant.bsn_column(rng, u.bsn[person]),
            "geslacht": plant.codes(
                rng, ("m", "v"), np.asarray(u.sex[person], np.int64), unknown=("x", "o", "?")
            ),
            "leeftijd": plant.ints(age),
            "postcode": plant.messy(rng, pc),
            "inkomstenbronnen": sources,
            "beroep": pick(texts.BREDA_JOBS, rng.integers(0, len(texts.BREDA_JOBS), n)).scatter(
                np.flatnonzero(rng.random(n) < 0.1), None
            ),
            "werkverleden": pick(
                texts.BREDA_WORK_HISTORY, rng.integers(0, len(texts.BREDA_WORK_HISTORY), n)
            ),
            "schulden_totaal": plant.ints(debt),
            "kinderen_leeftijden": _pipe_join(kid_cols),
            "probleemomschrijving": pick(
                texts.BREDA_PROBLEMS, rng.integers(0, len(texts.BREDA_PROBLEMS), n)
            ),
            "schuldhulpverlening": plant.codes(
                rng, DEBT_HELP, rng.choice(4, n, p=[0.35, 0.20, 0.30, 0.15])
            ),
            "beschermingsbewind": flag(0.15),
            "justitie": flag(0.03),
            "ggz": flag(0.08),
            "plankosten": plant.ints(cost),
            "doorbraak_bereikt": plant.codes(rng, yes_no, breakthrough),
            **plant.span_dates(rng, ep.start, end, ep.has_end, ISO),
            "reden_einde": plant.codes(
                rng, END_REASONS, reason, unknown=("verhuisd", "onbekend", "?")
            ),
            "bezwaar": flag(0.03),
        }
    )
    return {"plans": plant.duplicates(rng, df)}
