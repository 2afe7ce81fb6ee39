"""Kansrijk Groningen: participants, buddies, Bridge measurements and goals (UTF-8, ``;``).

One participant row per person (person and trajectory in one row). Bridge measurements follow at
intake and then about every 3 months (± 3 weeks) until the end or ``today``. Intake levels are
low for debts, savings and income; each participant is an improver (55 %), a staller (30 %) or
a relapser (15 %: a drop of 1–2 levels in the financial domains after a few measurements), with
a shared shock that moves schulden, spaargeld and netto_inkomen together.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import polars as pl

from assets.raw.contracts import BRIDGE_DOMAINS
from synthetic import plant, texts
from synthetic.people import (
    Universe,
    age_at,
    emails,
    episodes,
    house_numbers,
    names,
    phones,
    postcodes,
)
from synthetic.pools import NATIONALITY_P, Pools, pick

ORGANISATION = "groningen"
DOMAINS = BRIDGE_DOMAINS
PILLARS = (
    "Wonen",
    "Gezin",
    "Gezondheid",
    "Sociaal netwerk",
    "Schulden",
    "Spaargeld",
    "Diploma",
    "Netto inkomen",
)
FINANCIAL = np.array([DOMAINS.index(d) for d in ("schulden", "spaargeld", "netto_inkomen")])
# intake level distribution (levels 1..5) per domain: low for debts, savings and income
INTAKE_P = np.array(
    [
        [0.15, 0.25, 0.30, 0.20, 0.10],  # wonen
        [0.10, 0.20, 0.30, 0.25, 0.15],  # gezin
        [0.15, 0.25, 0.30, 0.20, 0.10],  # gezondheid
        [0.15, 0.25, 0.30, 0.20, 0.10],  # sociaal_netwerk
        [0.45, 0.30, 0.14, 0.08, 0.03],  # schulden
        [0.55, 0.28, 0.10, 0.05, 0.02],  # spaargeld
        [0.25, 0.30, 0.25, 0.13, 0.07],  # diploma
        [0.38, 0.34, 0.16, 0.08, 0.04],  # netto_inkomen
    ]
)
PC4 = np.arange(9711, 9748)
HOUSEHOLDS = ("AL", "EO", "PZK", "PMK", "OV")
HOUSEHOLD_P = (0.42, 0.22, 0.12, 0.16, 0.08)
END_REASONS = ("afgerond", "geweigerd", "afgebroken")
END_REASON_P = (0.75, 0.10, 0.15)
INTERVAL = 91  # days between measurements
MEAS_FORMATS = ("%d-%m-%Y", "%Y-%m-%d", "%-d-%-m-%Y")
MEAS_FORMAT_P = (0.6, 0.25, 0.15)
DMY = "%d-%m-%Y"


def _yes_no(rng: np.random.Generator, n: int, p_yes: float) -> pl.Series:
    return plant.codes(rng, ("ja", "nee"), np.where(rng.random(n) < p_yes, 0, 1))


def household(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Household type index into HOUSEHOLDS and a consistent number of children."""
    hh = rng.choice(len(HOUSEHOLDS), n, p=HOUSEHOLD_P)
    kids = np.zeros(n, np.int64)
    with_kids = (hh == 1) | (hh == 3)
    kids[with_kids] = 1 + np.minimum(rng.poisson(0.9, int(with_kids.sum())), 5)
    ov = hh == 4
    kids[ov] = np.minimum(rng.poisson(0.3, int(ov.sum())), 3)
    return hh, kids


def build(
    rng: np.random.Generator, u: Universe, pools: Pools, today: int
) -> dict[str, pl.DataFrame]:
    """All four Groningen exports (by export name) as frames of text columns (dirt planted,
    duplicates added)."""
    person = u.clients[ORGANISATION]
    n = person.size
    ep = episodes(rng, n, today, shape=(3.5, 0.7), birth=u.birth[person])
    reason = np.where(ep.has_end, rng.choice(3, n, p=END_REASON_P), -1)
    end = plant.end_before_start(rng, ep.start, ep.end, ep.has_end)
    hh, kids = household(rng, n)
    number = np.arange(1, n + 1)
    pid_ids = plant.ids("KG-", number, 7)

    # ---------------------------------------------------------------- buddies
    nb = max(1, n // 3)
    b_sex = rng.integers(0, 2, nb)
    b_nat = rng.choice(NATIONALITY_P.size, nb, p=NATIONALITY_P)
    bf, bl = names(rng, pools, b_sex, b_nat)
    b_first, b_last = pools.names.first.gather(bf), pools.names.last.gather(bl)
    b_pc, _ = postcodes(rng, pools, PC4, nb, space_p=0.5)
    buddy_ids = plant.ids("BD-", np.arange(1, nb + 1), 5)
    buddies = pl.DataFrame(
        {
            "buddy_id": buddy_ids,
            "voornaam": b_first,
            "tussenvoegsel": pools.names.tussen.gather(bl),
            "achternaam": b_last,
            "straat": pick(pools.streets, rng.integers(0, len(pools.streets), nb)),
            "huisnummer": house_numbers(rng, nb),
            "postcode": b_pc,
            "woonplaats": plant.constant("Groningen", nb),
            "email": emails(rng, pools, b_first, b_last),
        }
    )

    # ---------------------------------------------------------------- participants
    first, last = u.first.gather(person), u.last.gather(person)
    pc, _ = postcodes(rng, pools, PC4, n, space_p=0.5)
    age_only = rng.random(n) < 0.20
    age = age_at(u.birth[person], ep.start)
    no_mail = rng.random(n) < 0.12
    no_phone = rng.random(n) < 0.05
    wij = rng.random(n) < 0.35
    sex = np.asarray(u.sex[person], np.int64)
    deelnemers = pl.DataFrame(
        {
            "deelnemer_id": plant.messy(rng, pid_ids),
            "voornaam": first,
            "tussenvoegsel": u.tussen.gather(person),
            "achternaam": last,
            "straat": pick(pools.streets, rng.integers(0, len(pools.streets), n)),
            "huisnummer": house_numbers(rng, n),
            "postcode": plant.messy(rng, pc),
            "woonplaats": plant.constant("Groningen", n),
            "geboortedatum": plant.dates(rng, u.birth[person], DMY, null=age_only),
            "leeftijd_bij_intake": plant.ints(age, null=~age_only),
            "geslacht": plant.codes(rng, ("M", "V", "X"), sex, unknown=("O", "?", "MV", "9")),
            "bsn": plant.bsn_column(rng, u.bsn[person]),
            "email": _blank(emails(rng, pools, first, last), no_mail),
            "telefoon": _blank(phones(rng, n), no_phone),
            "wij_dossiernummer": _blank(plant.ids("WIJ-", rng.integers(1, 999_999, n), 6), ~wij),
            "buddy_id": plant.messy(rng, buddy_ids.gather(rng.integers(0, nb, n))),
            "huishouden": plant.codes(rng, HOUSEHOLDS, hh),
            "aantal_kinderen": plant.ints(kids),
            **plant.span_dates(rng, ep.start, end, ep.has_end, DMY),
            "reden_einde": plant.codes(
                rng, END_REASONS, reason, unknown=("verhuisd", "onbekend", "?", "overleden")
            ),
            "bezwaar_onderzoek": _yes_no(rng, n, 0.03),
        }
    )

    # ---------------------------------------------------------------- measurements
    obs_end = np.where(ep.has_end, ep.end, today)
    n_meas = 1 + (obs_end - ep.start) // INTERVAL
    m_total = int(n_meas.sum())
    pid = np.repeat(np.arange(n), n_meas)
    first_row = np.cumsum(n_meas) - n_meas
    k = np.arange(m_total) - first_row[pid]
    jitter = np.where(k == 0, rng.integers(0, 8, m_total), rng.integers(-21, 22, m_total))
    when = np.minimum(ep.start[pid] + k * INTERVAL + jitter, obs_end[pid])
    levels = trajectories(rng, n, pid, k, first_row)
    metingen = {
        "meting_id": plant.ids("M-", np.arange(1, m_total + 1), 7),
        "deelnemer_id": plant.messy(rng, plant.ids("KG-", plant.orphans(rng, pid, n) + 1, 7)),
        "meetdatum": plant.dates(
            rng,
            when,
            MEAS_FORMATS,
            fmt_p=MEAS_FORMAT_P,
            missing=plant.RATES["date_missing"],
            unparseable=plant.RATES["date_unparseable"],
        ),
    }
    table = pl.Series([str(i) for i in range(10)] + [None], dtype=pl.String)
    for d, name in enumerate(DOMAINS):
        metingen[name] = table.gather(levels[:, d])
    metingen = pl.DataFrame(metingen)

    # ---------------------------------------------------------------- goals
    doelen = goals(rng, n, ep.start, obs_end, levels[first_row])

    return {
        "participants": plant.duplicates(rng, deelnemers),
        "buddies": buddies,
        "measurements": plant.duplicates(rng, metingen),
        "goals": plant.duplicates(rng, doelen),
    }


def _blank(s: pl.Series, where: np.ndarray) -> pl.Series:
    idx = np.flatnonzero(where)
    return s.scatter(idx, None) if idx.size else s


def intake_levels(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 8) intake levels 1..5, correlated across domains through a person factor."""
    nd = NormalDist()
    cum = np.cumsum(INTAKE_P, axis=1)[:, :4]
    thr = np.vectorize(nd.inv_cdf)(np.clip(cum, 1e-9, 1 - 1e-9))  # (8, 4)
    z = 0.45 * rng.standard_normal((n, 1)) + np.sqrt(1 - 0.45**2) * rng.standard_normal((n, 8))
    return 1 + (z[:, :, None] > thr[None, :, :]).sum(axis=2)


def trajectories(
    rng: np.random.Generator, n: int, pid: np.ndarray, k: np.ndarray, first_row: np.ndarray
) -> np.ndarray:
    """(measurements, 8) level indices: 1..5, with out-of-range 0/6/9 and 10 (= not scored)."""
    m = pid.size
    nd = len(DOMAINS)
    fin = np.zeros(nd, bool)
    fin[FINANCIAL] = True
    intake = intake_levels(rng, n).astype(np.float32)
    kind = rng.choice(3, n, p=[0.55, 0.30, 0.15])  # improver, staller, relapser
    drift = np.where(
        fin[None, :],
        rng.normal(0.16, 0.06, (n, nd)),
        rng.normal(0.10, 0.05, (n, nd)),
    ).astype(np.float32)
    drift[kind == 1] = rng.normal(0.0, 0.03, (int((kind == 1).sum()), nd))
    relapse_at = rng.integers(2, 6, n)
    drop = np.where(fin, -1.6, -0.5).astype(np.float32)

    noise = rng.standard_normal((m, nd), dtype=np.float32)
    noise *= np.float32(0.18)
    shock = rng.standard_normal((m, 1), dtype=np.float32) * np.float32(0.22)
    noise[:, FINANCIAL] += shock  # debts, savings and income move together
    noise[k == 0] = 0.0
    walk = np.cumsum(noise, axis=0, dtype=np.float32)
    walk -= walk[first_row][pid]
    latent = intake[pid] + 0.5 + drift[pid] * k[:, None].astype(np.float32) + walk
    relapsed = (kind[pid] == 2) & (k >= relapse_at[pid])
    latent[relapsed] += drop
    level = np.clip(np.floor(latent), 1, 5).astype(np.int8)
    del latent, walk, noise

    level[rng.random((m, nd), dtype=np.float32) < 0.015] = 10  # domain not scored: empty
    bad = np.flatnonzero(plant.mask(rng, m, plant.RATES["level_out_of_range"]))
    level[bad, rng.integers(0, nd, bad.size)] = rng.choice([0, 6, 9], bad.size)
    return level


def goals(
    rng: np.random.Generator,
    n: int,
    start: np.ndarray,
    obs_end: np.ndarray,
    intake: np.ndarray,
) -> pl.DataFrame:
    """1–6 goals per participant, mostly in low intake domains; ~45 % achieved."""
    per = rng.choice(np.arange(1, 7), n, p=[0.18, 0.25, 0.22, 0.16, 0.11, 0.08])
    g = int(per.sum())
    gp = np.repeat(np.arange(n), per)
    lv = np.clip(np.where(intake[gp] > 5, 3, intake[gp]), 1, 5)  # not scored / bad -> middling
    w = ((6.0 - lv) ** 2).astype(np.float64)
    cw = np.cumsum(w, axis=1)
    domain = (cw < (rng.random(g) * cw[:, -1])[:, None]).sum(axis=1)

    span = obs_end[gp] - start[gp]
    set_on = start[gp] + (rng.random(g) * 0.6 * span).astype(np.int64)
    conf = np.clip(np.rint(rng.normal(6.6, 1.9, g)), 1, 10).astype(np.int64)
    p = np.clip(0.02 + 0.073 * conf, 0.05, 0.95)
    reached = set_on + 21 + rng.exponential(110.0, g).astype(np.int64)
    achieved = (rng.random(g) < p) & (reached <= obs_end[gp])
    bad_conf = plant.mask(rng, g, plant.RATES["confidence_out_of_range"])
    conf[bad_conf] = rng.choice([0, 11, 12, 99, -1], int(bad_conf.sum()))

    goal_texts = [t for d in DOMAINS for t in texts.GOALS[d]]
    per_domain = len(texts.GOALS[DOMAINS[0]])
    empty_c = rng.random(g) < 0.1
    empty_h = rng.random(g) < 0.15
    return pl.DataFrame(
        {
            "doel_id": plant.ids("D-", np.arange(1, g + 1), 7),
            "deelnemer_id": plant.messy(rng, plant.ids("KG-", plant.orphans(rng, gp, n) + 1, 7)),
            "pijler": plant.codes(rng, PILLARS, domain),
            "doel": pick(goal_texts, domain * per_domain + rng.integers(0, per_domain, g)),
            "actie": pick(texts.ACTIONS, rng.integers(0, len(texts.ACTIONS), g)),
            "uitdaging": _blank(
                pick(texts.CHALLENGES, rng.integers(0, len(texts.CHALLENGES), g)), empty_c
            ),
            "wie_helpt": _blank(
                pick(texts.HELPERS, rng.integers(0, len(texts.HELPERS), g)), empty_h
            ),
            "datum_gesteld": plant.dates(
                rng,
                set_on,
                DMY,
                missing=plant.RATES["date_missing"],
                unparseable=plant.RATES["date_unparseable"],
            ),
            "datum_behaald": plant.dates(rng, reached, DMY, null=~achieved),
            "vertrouwen": plant.ints(conf),
        }
    )
