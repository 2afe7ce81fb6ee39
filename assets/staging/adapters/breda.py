"""Doorbraakmethode Breda (doorbraakplannen) -> canonical model.

One plan row (one household, one applicant) -> a person (age at start only, no birth date), an
episode, income sources (pipe list), debts (total), case problems (schuldhulpverlening status,
beschermingsbewind, justitie, ggz) and outcomes (breakthrough reached, plan cost). The free-text
columns (beroep, werkverleden, probleemomschrijving) are not copied.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from assets.raw.contracts import ExportSpec
from assets.raw.contracts.breda import CONTRACT
from assets.staging.adapters import common as c
from assets.staging.adapters.base import AdapterResult

ORGANISATION = CONTRACT.organisation
PROGRAMME = "doorbraak"

# What this adapter reads, its date formats and ranges: the organisation's export contract.
EXPORTS: tuple[ExportSpec, ...] = CONTRACT.exports
PLANS = CONTRACT.export("plans")

GENDERS = {"m": "man", "v": "vrouw"}
END_REASONS = {
    "afgerond": "completed",
    "afgebroken": "aborted",
    "niet gestart": "no_support",  # the plan never started: no support was given
}
INCOME = {
    "bijstand": "bijstand",
    "toeslagen": "toeslagen",
    "loon": "loon",
    "uwv": "uwv",
    "ww": "uwv",
    "wia": "uwv",
    "wajong": "uwv",
    "ziektewet": "uwv",
    "aow": "aow_pensioen",
    "pensioen": "aow_pensioen",
    "zelfstandig": "zelfstandig",
    "zzp": "zelfstandig",
    "studiefinanciering": "studiefinanciering",
    "alimentatie": "overig",
    "overig": "overig",
    "geen": "geen",
}
DEBT_HELP = {"geen": None, "aangemeld": "aangemeld", "lopend": "lopend", "afgerond": "afgerond"}
FLAG_PROBLEMS = {  # yes/no column -> canonical problem
    "beschermingsbewind": "beschermingsbewind",
    "justitie": "justitie",
    "ggz": "psychisch",
}


def _pipe_items(column: str) -> pl.Expr:
    """A pipe-separated list, items trimmed and case-folded, empty items dropped."""
    return (
        c.code(column)
        .str.split("|")
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element().str.len_bytes() > 0))
    )


def adapt(raw: Mapping[str, pl.DataFrame]) -> AdapterResult:
    """Map Breda's doorbraakplannen into the canonical model."""
    df, dups = c.dedupe(raw["plans"], ORGANISATION)
    sources = _pipe_items("inkomstenbronnen").list.eval(
        pl.element().replace_strict(INCOME, default=None, return_dtype=pl.String)
    )
    kid_items = _pipe_items("kinderen_leeftijden")
    df = c.parse(
        df,
        [
            c.id_field("plan_id", "_id"),
            c.bsn_field(),
            c.code_field("geslacht", "_gender", GENDERS),
            c.int_field(
                "leeftijd", "_age", *PLANS.range("leeftijd"), range_rule="age_out_of_range"
            ),
            c.Field(
                sources.alias("_sources"),
                (
                    c.Check(
                        "unknown_code",
                        "inkomstenbronnen",
                        pl.col("_sources").list.eval(pl.element().is_null()).list.any(),
                    ),
                ),
            ),
            c.amount_field("schulden_totaal", "_debt"),
            c.Field(
                kid_items.list.len().cast(pl.Int16).fill_null(0).alias("_children"),
                (
                    c.Check(
                        "number_unparseable",
                        "kinderen_leeftijden",
                        kid_items.list.eval(~pl.element().str.contains(r"^\d{1,2}$")).list.any(),
                    ),
                ),
            ),
            c.code_field("schuldhulpverlening", "_debt_help", DEBT_HELP),
            *[c.yes_no_field(col, f"_{col}") for col in FLAG_PROBLEMS],
            c.amount_field("plankosten", "_cost"),
            c.yes_no_field("doorbraak_bereikt", "_breakthrough"),
            *c.span_fields(PLANS),
            c.code_field("reden_einde", "_reason", END_REASONS),
            c.yes_no_field("bezwaar", "_objects"),
        ],
        [
            c.duplicate_id("plan_id", "_id"),
            c.end_before_start("einddatum", "_end", "_start"),
        ],
    )
    kept, quarantine = c.split(df, ORGANISATION, "episodes")
    line = c.lineage(ORGANISATION)
    episode = pl.col("_id").alias("episode_id")

    persons = kept.select(
        *line,
        pl.col("_id").alias("source_person_id"),
        pl.col("_bsn").alias("bsn"),
        pl.lit(None, pl.Date).alias("birth_date"),
        pl.col("_age").alias("age_at_intake"),
        pl.col("_gender").alias("gender"),
        c.postcode("postcode").alias("postcode"),
        pl.lit(None, pl.String).alias("house_number"),
        pl.lit(None, pl.String).alias("household_type"),
        pl.col("_children").alias("children_count"),
        pl.lit(None, pl.String).alias("nationality_group"),
    )
    episodes = kept.select(
        *line,
        episode,
        pl.col("_id").alias("source_person_id"),
        pl.lit(PROGRAMME).alias("programme"),
        *c.span_columns(),
        pl.lit(None, pl.String).alias("outcome"),
    )
    income = (
        kept.select(*line, episode, pl.col("_sources").alias("income_source"))
        .explode("income_source")
        .filter(pl.col("income_source").is_not_null())
        .unique(["source_file", "source_row", "income_source"], maintain_order=True)
        .with_columns(pl.lit(None, pl.Float64).alias("net_monthly_eur"))
    )
    debts = kept.filter(pl.col("_debt").is_not_null()).select(
        *line,
        episode,
        pl.col("_start").alias("measured_on"),
        pl.col("_debt").alias("debt_amount_eur"),
        pl.lit(None, pl.Int16).alias("creditor_count"),
    )
    problems = [
        kept.filter(pl.col("_debt_help").is_not_null()).select(
            *line,
            episode,
            pl.lit("schuldhulpverlening").alias("problem"),
            pl.col("_debt_help").alias("status"),
        ),
        *[
            kept.filter(pl.col(f"_{col}").fill_null(False)).select(
                *line,
                episode,
                pl.lit(problem).alias("problem"),
                pl.lit(None, pl.String).alias("status"),
            )
            for col, problem in FLAG_PROBLEMS.items()
        ],
    ]
    outcomes = [
        kept.filter(pl.col("_breakthrough").is_not_null()).select(
            *line,
            episode,
            pl.lit("breakthrough_reached").alias("measure"),
            pl.col("_breakthrough").cast(pl.Float64).alias("value_num"),
        ),
        kept.filter(pl.col("_cost").is_not_null()).select(
            *line,
            episode,
            pl.lit("plan_cost_eur").alias("measure"),
            pl.col("_cost").alias("value_num"),
        ),
    ]
    return AdapterResult(
        organisation=ORGANISATION,
        tables=c.conformed(
            {
                "persons": persons,
                "episodes": episodes,
                "income_sources": income,
                "debts": debts,
                "case_problems": c.concat(problems, c.schema.CASE_PROBLEMS),
                "outcomes": c.concat(outcomes, c.schema.OUTCOMES),
            }
        ),
        quarantine=quarantine,
        duplicates=dups,
    )
