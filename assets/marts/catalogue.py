"""Every table and column of ``research.duckdb``, described once, with its grain.

This is the single source of the documentation analysts see: :mod:`assets.marts.build` turns it
into DuckDB ``COMMENT ON TABLE/COLUMN`` statements and the ``data_dictionary`` table, and the
Dagster assets use :func:`asset_description` for their description. The build refuses a table or
column that is not described here, so the catalogue cannot drift from the database.

Conventions of the research database: ids are integers that are only meaningful inside one release
(they are re-drawn every release, so releases cannot be linked on them); quasi-identifiers are the
generalised strings the k-anonymisation published (``*`` = locally suppressed); ``Totaal`` is the
total (margin) row of a protected aggregate; units are in the column names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["microdata", "aggregate", "meta"]


@dataclass(frozen=True)
class TableDoc:
    """Documentation of one research table: grain, description and every column, in order."""

    name: str
    grain: str
    description: str
    columns: Mapping[str, str]
    kind: Kind = "microdata"
    source: str | None = None
    """Key of the input frame the table is built from (microdata marts only)."""
    renames: Mapping[str, str] = field(default_factory=dict)
    """Input column → mart column, where the mart uses a clearer name."""

    def comment(self) -> str:
        """The table comment: description plus grain."""
        return f"{self.description} Grain: {self.grain}."


_PERSON_ID = (
    "Anonymised person number, valid only within this release (re-drawn every release; never a "
    "BSN, client number or pseudonym)."
)
_EPISODE_ID = (
    "Anonymised support-episode (trajectory) number, valid only within this release; joins to "
    "mart_persons.episode_id."
)
_QI = "Quasi-identifier, generalised for k-anonymity ('*' = locally suppressed)."
_DOMAIN = (
    "Bridge life domain (leefgebied): wonen, gezin, gezondheid, sociaal_netwerk, schulden, "
    "spaargeld, diploma, netto_inkomen."
)
_PERSONS_AGG = (
    "Number of distinct persons in the cell; NULL when the cell is suppressed (shown as '<10' in "
    "reports; a suppressed cell may be small or may be hidden to protect another cell). "
    "Combinations without any person are not listed, so every published count is at least the "
    "threshold."
)
_SUPPRESSED = (
    "True when the count is withheld (primary suppression below the threshold or secondary "
    "suppression protecting another cell); the count is then NULL."
)
_AREA_AGG = (
    "Area of residence at intake at the level configured for aggregates (gemeente, or wijk under "
    "its gemeente); 'Totaal' = all areas; 'onbekend' = area suppressed in the microdata."
)
_YEAR_AGG = "Calendar year of the intake (from intake_period); 'Totaal' = all years."

CATALOGUE: dict[str, TableDoc] = {
    t.name: t
    for t in [
        TableDoc(
            name="mart_persons",
            source="persons",
            grain="one row per anonymised person per support episode",
            description=(
                "Participants (deelnemers) of the poverty programmes with their generalised "
                "characteristics at intake and how their episode ended. k-anonymous at person "
                "level on the quasi-identifiers (age, gender, area, household, children, "
                "nationality group, organisation, programme, intake period)."
            ),
            columns={
                "person_id": _PERSON_ID,
                "episode_id": _EPISODE_ID,
                "age_at_intake": f"Age in years at intake, as a band. {_QI}",
                "gender": f"Gender as registered. {_QI}",
                "area": f"Area of residence at intake (wijk, stadsdeel or gemeente). {_QI}",
                "household_type": f"Household type (huishoudtype) at intake. {_QI}",
                "children_band": f"Number of children in the household, as a band. {_QI}",
                "nationality_group": f"Nationality/residence group. {_QI}",
                "organisation": f"Organisation that ran the episode. {_QI}",
                "programme": f"Programme or process of the episode (e.g. kansrijk). {_QI}",
                "intake_period": f"Period of intake (year, half-year or quarter). {_QI}",
                "end_reason": (
                    "How the episode ended: completed, refused, aborted, no_support, or ongoing."
                ),
                "outcome": "Organisation-specific outcome code of the episode (NULL if none).",
                "area_division_year": "Year of the municipal area division (wijk boundaries) "
                "that `area` refers to.",
                "debt_band": "Debt at intake in euros, as a band (0, 1-999, 1000-4999, "
                "5000-14999, 15000-49999, 50000+); 'onbekend' where not recorded. Sensitive: "
                "l-diverse within each class.",
                "health_flag": "Health problem registered in the case (ja/nee; 'onbekend' where "
                "the organisation does not record it). Sensitive.",
                "justice_flag": "Justice involvement registered (ja/nee/onbekend). Sensitive.",
                "duration_months": "Duration of an ended episode in whole months, as the lower "
                "bound of its bucket (0, 3, 6, 9, 12, 18, 24, 36 = 36 or more). NULL while the "
                "episode is ongoing (end_reason 'ongoing'): a duration up to the release date "
                "would give away the intake date, which is generalised as a quasi-identifier. For "
                "follow-up of ongoing episodes use the latest months_since_intake in "
                "mart_bridge_scores as a lower bound.",
            },
        ),
        TableDoc(
            name="mart_bridge_scores",
            source="bridge_scores",
            grain="one row per person per episode per Bridge domain per measurement",
            description=(
                "Bridge to Self-Sufficiency (Brug naar Zelfredzaamheid) scores: the level, 1 "
                "(crisis) to 5 (self-sufficient), per life domain at each measurement. Calendar "
                "dates are replaced by months since intake."
            ),
            columns={
                "person_id": _PERSON_ID,
                "episode_id": _EPISODE_ID,
                "domain": _DOMAIN,
                "level": "Bridge level 1 (crisis) to 5 (self-sufficient).",
                "months_since_intake": (
                    "Months between intake and the measurement, bucketed (lower bound of the "
                    "bucket, in months)."
                ),
                "measurement_no": (
                    "Sequence number of the measurement within the episode and domain (1 = first "
                    "measurement, usually at intake)."
                ),
            },
        ),
        TableDoc(
            name="mart_goals",
            source="goals",
            grain="one row per goal (doel) of a person in an episode",
            description=(
                "Goals from the goal-action plans (Mijn Doel-Actieplan), per Bridge domain, with "
                "the participant's confidence and whether and when the goal was achieved. Goal "
                "texts are never copied."
            ),
            renames={"achieved": "is_achieved"},
            columns={
                "person_id": _PERSON_ID,
                "episode_id": _EPISODE_ID,
                "domain": _DOMAIN,
                "confidence_band": (
                    "Participant's confidence (1-10) that the goal will be reached, as a band."
                ),
                "is_achieved": "True when the goal was achieved within the episode.",
                "months_to_set": "Months from intake to setting the goal (bucket lower bound).",
                "months_to_achieve": (
                    "Months from setting to achieving the goal (bucket lower bound); NULL when "
                    "not achieved."
                ),
            },
        ),
        TableDoc(
            name="mart_case_problems",
            source="case_problems",
            grain="one row per problem area registered for a person in an episode",
            description=(
                "Problem areas and municipal processes a case is involved in (schulden, "
                "gezondheid, huisvesting, …), as coded by the organisation."
            ),
            columns={
                "person_id": _PERSON_ID,
                "episode_id": _EPISODE_ID,
                "problem": "Problem area or process code (e.g. schulden, beschermingsbewind).",
                "status": "Status of the problem in the case (aangemeld, lopend, afgerond) or "
                "NULL.",
            },
        ),
        TableDoc(
            name="mart_income_sources",
            source="income_sources",
            grain="one row per income source of a person in an episode",
            description="Sources of household income registered in the episode.",
            columns={
                "person_id": _PERSON_ID,
                "episode_id": _EPISODE_ID,
                "income_source": "Income source code (e.g. loon, bijstand, toeslagen, geen).",
                "net_monthly_band": "Net monthly amount in euros, as a band; NULL if unknown.",
            },
        ),
        TableDoc(
            name="mart_outcomes",
            source="outcomes",
            grain="one row per episode per outcome measure",
            description=(
                "Organisation-specific outcome measures of an episode (e.g. "
                "breakthrough_reached, arrears_resolved), coded; join to mart_persons on "
                "episode_id for the episode's characteristics."
            ),
            columns={
                "person_id": _PERSON_ID,
                "episode_id": _EPISODE_ID,
                "measure": "Name of the outcome measure (snake_case, organisation code list).",
                "value_flag": "Yes/no measures (e.g. breakthrough_reached): true/false; NULL for "
                "amounts.",
                "value_band": "Amount measures (e.g. plan_cost_eur) as a band; NULL for yes/no "
                "measures.",
            },
        ),
        TableDoc(
            name="mart_bridge_levels_by_area_period",
            kind="aggregate",
            grain=(
                "one row per Bridge domain × area × intake year × level, totals included "
                "('Totaal'); each person counted once per domain, at the latest measured level "
                "of their most recent episode"
            ),
            description=(
                "Protected frequency table: distribution of persons over Bridge levels per "
                "domain, area and intake year. Cells under the threshold and the cells needed to "
                "protect them are suppressed (NULL, is_suppressed = true); audited against "
                "differencing with every linked table and earlier release."
            ),
            columns={
                "domain": _DOMAIN,
                "area": _AREA_AGG,
                "intake_year": _YEAR_AGG,
                "level": "Latest Bridge level, '1' (crisis) to '5' (self-sufficient); 'Totaal'.",
                "persons": _PERSONS_AGG,
                "is_suppressed": _SUPPRESSED,
            },
        ),
        TableDoc(
            name="mart_goals_reached_by_domain",
            kind="aggregate",
            grain=(
                "one row per Bridge domain × area × whether a goal was reached, totals included; "
                "each person counted once per domain (persons with at least one goal in it, "
                "most recent episode)"
            ),
            description=(
                "Protected frequency table: persons with goals per domain and whether at least "
                "one of their goals in that domain was achieved. Suppressed cells are NULL "
                "with is_suppressed = true."
            ),
            columns={
                "domain": _DOMAIN,
                "area": _AREA_AGG,
                "goal_reached": "'ja' (at least one goal achieved), 'nee', or 'Totaal'.",
                "persons": _PERSONS_AGG,
                "is_suppressed": _SUPPRESSED,
            },
        ),
        TableDoc(
            name="mart_outcomes_by_organisation_programme",
            kind="aggregate",
            grain=(
                "one row per organisation × programme × end reason, totals included; each "
                "person counted once, in their most recent episode"
            ),
            description=(
                "Protected frequency table: how episodes ended per organisation and programme. "
                "Suppressed cells are NULL with is_suppressed = true."
            ),
            columns={
                "organisation": "Organisation; 'Totaal' = all organisations.",
                "programme": "Programme or process; 'Totaal' = all programmes.",
                "end_reason": "completed, refused, aborted, no_support, ongoing; 'Totaal'.",
                "persons": _PERSONS_AGG,
                "is_suppressed": _SUPPRESSED,
            },
        ),
        TableDoc(
            name="data_dictionary",
            kind="meta",
            grain="one row per column of every table in this database",
            description=(
                "Data dictionary: every table and column of the research database with its "
                "type, description and the table's grain (the same text as the DuckDB comments)."
            ),
            columns={
                "table_name": "Name of the table.",
                "column_name": "Name of the column.",
                "data_type": "DuckDB data type of the column.",
                "description": "What the column holds, with its unit.",
                "grain": "What one row of the table is.",
                "table_description": "What the table holds.",
            },
        ),
        TableDoc(
            name="meta_release",
            kind="meta",
            grain="one row per release of the research database (earlier releases kept)",
            description=(
                "Release register: when and with which code and parameters each release was "
                "built, which pseudonymisation key made it (its public key id, never the key), "
                "and its privacy and utility figures."
            ),
            columns={
                "release_id": "Identifier of the release.",
                "built_at": "When the release was built (UTC timestamp).",
                "code_version": "Version of the pipeline code (git describe or package version).",
                "parameters_json": (
                    "Anonymisation and protection parameters of the release, as JSON (k, "
                    "hierarchies and levels, thresholds, solver)."
                ),
                "key_id": (
                    "Public 16-hex fingerprint of the project's pseudonymisation key (identifies "
                    "the key; reveals nothing about it)."
                ),
                "k_achieved": "Smallest equivalence class (persons) of the microdata: the k met.",
                "persons_suppressed": "Persons removed from the microdata by record suppression.",
                "cells_suppressed_primary": (
                    "Aggregate cells suppressed because they are sensitive (e.g. under threshold)."
                ),
                "cells_suppressed_secondary": (
                    "Aggregate cells suppressed to protect sensitive cells against differencing."
                ),
                "max_risk": "Highest re-identification risk (prosecutor model) of any record, 0-1.",
                "avg_risk": "Average re-identification risk (prosecutor model), 0-1.",
                "information_loss": "Information loss of the generalisation (Loss metric), 0-1.",
            },
        ),
        TableDoc(
            name="release_ledger",
            kind="meta",
            grain="one row per published aggregate cell per release (earlier releases kept)",
            description=(
                "Every aggregate cell ever published, per release, as published: the value, or "
                "NULL when it was suppressed. Lets analysts compare releases; the protection of "
                "each new release takes all earlier published cells into account."
            ),
            columns={
                "release_id": "Release that published the cell.",
                "table_name": "Aggregate table (protection name) the cell belongs to.",
                "cell_key": "Canonical cell identity: measure and non-total coordinates.",
                "coordinates": "The cell's coordinates, 'dimension=code;…'.",
                "value": "Published value; NULL when the cell was suppressed.",
                "is_suppressed": "True when the cell was suppressed in that release.",
            },
        ),
    ]
}
"""Every table of ``research.duckdb`` by name, in build order."""


def table_doc(name: str) -> TableDoc:
    """The documentation of table ``name`` (``KeyError`` naming the known tables otherwise)."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"table {name!r} is not in the catalogue: {sorted(CATALOGUE)}") from None


def asset_description(name: str) -> str:
    """Markdown description for a Dagster asset: description, grain and a column table."""
    doc = table_doc(name)
    lines = [doc.description, "", f"**Grain:** {doc.grain}.", "", "| column | description |"]
    lines.append("|---|---|")
    lines += [f"| `{c}` | {d.replace('|', '/')} |" for c, d in doc.columns.items()]
    return "\n".join(lines)


def undocumented(table: str, columns: list[str]) -> list[str]:
    """Columns of ``table`` that the catalogue does not describe (all, if the table is unknown)."""
    doc = CATALOGUE.get(table)
    return list(columns) if doc is None else [c for c in columns if c not in doc.columns]
