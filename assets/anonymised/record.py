"""The person-level research record and the population coordinates, from the pseudonymised layer.

Pure polars. Two frames per release, both one row per person:

* :func:`person_record` — what an **acquaintance** may know about a person (docs/threat-model.md):
  age at intake, gender, area (PC4; the PC6 never leaves this module), household type, children,
  nationality group, intake year, and the **episode signature**: every episode as
  ``organisation/programme/intake year/end reason/duration band``, sorted, joined with `` + ``.
  Beside them the sensitive attributes (``debt_band``, ``health_flag``, ``justice_flag``) and,
  steward only, ``in_<organisation>`` flags (whose insider knows this person).
* :func:`population_coordinates` — the person's coordinates in the protected tables, from their
  most recent episode: area, intake year, organisation, programme, end reason. Tables count the
  whole population (everyone not excluded), not the anonymised microdata.

The person's base attributes come from the organisation of their **first** episode (the intake
that started their path); ties are broken on content only (dates, codes, the pseudonym), never
on row order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

from anonymise.banding import band, band_labels, month_band, months_between
from assets.staging.schema import ORGANISATIONS, UNKNOWN

PERSON = "person_pseudonym"
EPISODE = "episode_pseudonym"
ITEM_SEP = "/"
EPISODE_SEP = " + "

DEBT_EDGES: tuple[int, ...] = (0, 1, 1_000, 5_000, 15_000, 50_000)
DURATION_EDGES: tuple[int, ...] = (0, 6, 12, 24)
"""Months of an ended episode -> ``0-5``, ``6-11``, ``12-23``, ``24+``; ongoing -> ``lopend``."""
ONGOING = "lopend"
HEALTH_PROBLEMS: tuple[str, ...] = ("gezondheid", "psychisch", "verslaving")
JUSTICE_PROBLEMS: tuple[str, ...] = ("justitie",)
SENSITIVE_ORDER: dict[str, tuple[str, ...]] = {
    "debt_band": (UNKNOWN, *band_labels(DEBT_EDGES)),
    "health_flag": (UNKNOWN, "nee", "ja"),
    "justice_flag": (UNKNOWN, "nee", "ja"),
}
"""Each sensitive attribute's values (``onbekend`` first: not recorded)."""


def member_column(organisation: str) -> str:
    """Name of the steward-only flag "this person took part in ``organisation``"."""
    return f"in_{organisation}"


def episode_items(episodes: pl.DataFrame) -> pl.DataFrame:
    """Per episode: pseudonyms, organisation, programme, intake year, end reason, duration band,
    and its signature item ``organisation/programme/year/end reason/duration``."""
    duration = (
        pl.when(pl.col("end_date").is_null() | (pl.col("end_reason") == "ongoing"))
        .then(pl.lit(ONGOING))
        .otherwise(
            month_band(months_between(pl.col("start_date"), pl.col("end_date")), DURATION_EDGES)
        )
    )
    out = episodes.select(
        PERSON,
        EPISODE,
        pl.col("organisation").cast(pl.String),
        pl.col("programme").cast(pl.String).fill_null(UNKNOWN),
        "start_date",
        "end_date",
        pl.col("start_date").dt.year().cast(pl.String).fill_null(UNKNOWN).alias("intake_year"),
        pl.col("end_reason").cast(pl.String).fill_null(UNKNOWN),
        duration.fill_null(UNKNOWN).alias("duration_band"),
        pl.col("age_at_intake")
        if "age_at_intake" in episodes.columns
        else pl.lit(None).alias("age_at_intake"),
    )
    return out.with_columns(
        pl.concat_str(
            ["organisation", "programme", "intake_year", "end_reason", "duration_band"],
            separator=ITEM_SEP,
        ).alias("item")
    )


def _first_by_content(frame: pl.DataFrame, key: str, order: Sequence[str]) -> pl.DataFrame:
    """The first row per ``key`` by the content columns ``order`` (nulls last)."""
    return frame.sort([key, *order], nulls_last=True).group_by(key, maintain_order=True).first()


def _flag(
    problems: pl.DataFrame, items: pl.DataFrame, codes: Sequence[str], name: str
) -> pl.DataFrame:
    """Per person ``ja`` when any episode at an organisation that records these problems has
    one, ``nee`` when they have such an episode without, else ``onbekend``."""
    if problems.height == 0 or "problem" not in problems.columns:
        return items.select(PERSON).unique().with_columns(pl.lit(UNKNOWN).alias(name))
    hit = problems.filter(pl.col("problem").is_in(list(codes)))
    recording = hit.select(pl.col("organisation").cast(pl.String)).unique()["organisation"]
    with_hit = hit.select(EPISODE).unique().with_columns(pl.lit(True).alias("_hit"))
    per_episode = items.select(PERSON, EPISODE, "organisation").join(
        with_hit, on=EPISODE, how="left"
    )
    return per_episode.group_by(PERSON).agg(
        pl.when(pl.col("_hit").fill_null(False).any())
        .then(pl.lit("ja"))
        .when(pl.col("organisation").is_in(recording.implode()).any())
        .then(pl.lit("nee"))
        .otherwise(pl.lit(UNKNOWN))
        .alias(name)
    )


def recording_organisations(
    debts: pl.DataFrame, case_problems: pl.DataFrame
) -> dict[str, tuple[str, ...]]:
    """Which sensitive attributes each organisation records (and so its insider knows)."""
    out: dict[str, set[str]] = {o: set() for o in ORGANISATIONS}
    if debts.height and "organisation" in debts.columns:
        for o in debts.select(pl.col("organisation").cast(pl.String)).unique().to_series():
            out.setdefault(o, set()).add("debt_band")
    if case_problems.height and "problem" in case_problems.columns:
        for name, codes in (("health_flag", HEALTH_PROBLEMS), ("justice_flag", JUSTICE_PROBLEMS)):
            hit = case_problems.filter(pl.col("problem").is_in(list(codes)))
            for o in hit.select(pl.col("organisation").cast(pl.String)).unique().to_series():
                out.setdefault(o, set()).add(name)
    return {o: tuple(sorted(s)) for o, s in out.items()}


def person_record(
    persons: pl.DataFrame,
    episodes: pl.DataFrame,
    debts: pl.DataFrame,
    case_problems: pl.DataFrame,
    *,
    area_leaves: Iterable[str],
    max_age: int,
) -> pl.DataFrame:
    """One row per person with an episode: QIs (strings), signature, sensitive attributes and
    the ``in_<organisation>`` flags (module docstring)."""
    items = episode_items(episodes)
    first = _first_by_content(
        items, PERSON, ["start_date", "organisation", "programme", "end_reason", EPISODE]
    )
    people = persons.select(
        PERSON,
        pl.col("organisation").cast(pl.String),
        "gender",
        "postcode",
        "household_type",
        "children_count",
        "nationality_group",
    ).unique(subset=[PERSON, "organisation"], keep="first")
    base = first.select(PERSON, "organisation", "intake_year", "age_at_intake").join(
        people, on=[PERSON, "organisation"], how="left"
    )
    signature = (
        items.sort(PERSON, "item")
        .group_by(PERSON)
        .agg(
            pl.col("item").str.join(EPISODE_SEP).alias("episodes"),
            *[(pl.col("organisation") == o).any().alias(member_column(o)) for o in ORGANISATIONS],
        )
    )
    first_debt = (
        debts.filter(pl.col("debt_amount_eur").is_not_null())
        .join(items.select(EPISODE, PERSON), on=EPISODE, how="inner")
        .sort(PERSON, "measured_on", "debt_amount_eur", nulls_last=True)
        .group_by(PERSON, maintain_order=True)
        .agg(pl.col("debt_amount_eur").first())
        if debts.height
        else pl.DataFrame(schema={PERSON: pl.String, "debt_amount_eur": pl.Float64})
    )
    pc4 = pl.col("postcode").str.replace_all(r"\s", "").str.slice(0, 4)
    leaves = sorted(set(area_leaves))
    unknown = pl.lit(UNKNOWN)
    rec = (
        base.join(signature, on=PERSON, how="left")
        .join(first_debt, on=PERSON, how="left")
        .select(
            PERSON,
            pl.when(pl.col("age_at_intake").is_between(0, max_age))
            .then(pl.col("age_at_intake").cast(pl.String))
            .otherwise(unknown)
            .alias("age_at_intake"),
            pl.col("gender").fill_null(unknown),
            pl.when(pc4.is_in(leaves)).then(pc4).otherwise(unknown).alias("area"),
            pl.col("household_type").fill_null(unknown),
            pl.when(pl.col("children_count") >= 3)
            .then(pl.lit("3+"))
            .when(pl.col("children_count") >= 0)
            .then(pl.col("children_count").cast(pl.String))
            .otherwise(unknown)
            .alias("children_band"),
            pl.col("nationality_group").fill_null(unknown),
            "intake_year",
            "episodes",
            band(pl.col("debt_amount_eur"), DEBT_EDGES).fill_null(unknown).alias("debt_band"),
            *[member_column(o) for o in ORGANISATIONS],
        )
    )
    for name, codes in (("health_flag", HEALTH_PROBLEMS), ("justice_flag", JUSTICE_PROBLEMS)):
        rec = rec.join(_flag(case_problems, items, codes, name), on=PERSON, how="left")
    return rec


def latest_episodes(episodes: pl.DataFrame) -> pl.DataFrame:
    """Each person's most recent episode (latest start; ties on content), with its items."""
    items = episode_items(episodes)
    return (
        items.sort(
            [PERSON, "start_date", "organisation", "programme", "end_reason", EPISODE],
            descending=[False, True, False, False, False, False],
            nulls_last=True,
        )
        .group_by(PERSON, maintain_order=True)
        .first()
    )


def population_coordinates(
    persons: pl.DataFrame, episodes: pl.DataFrame, *, area_of_pc4: dict[str, str]
) -> pl.DataFrame:
    """One row per person: pseudonym, latest episode pseudonym, and the table coordinates of
    that episode (``area`` mapped from the PC4 by ``area_of_pc4``, unknown -> ``onbekend``;
    ``intake_year``, ``organisation``, ``programme``, ``end_reason``)."""
    latest = latest_episodes(episodes)
    pc = persons.select(
        PERSON,
        pl.col("organisation").cast(pl.String),
        pl.col("postcode").str.replace_all(r"\s", "").str.slice(0, 4).alias("_pc4"),
    ).unique(subset=[PERSON, "organisation"], keep="first")
    return latest.join(pc, on=[PERSON, "organisation"], how="left").select(
        PERSON,
        EPISODE,
        pl.col("_pc4")
        .replace_strict(area_of_pc4, default=UNKNOWN, return_dtype=pl.String)
        .alias("area"),
        "intake_year",
        "organisation",
        "programme",
        "end_reason",
    )
