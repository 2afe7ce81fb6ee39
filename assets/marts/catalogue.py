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
    "Anonymised person number, valid only within this release (a random permutation re-drawn "
    "every release; never a BSN, client number or pseudonym). Appears in mart_persons only: no "
    "other table can be joined to a person."
)
_OWN_ID = (
    "Random number of one support episode in this table only, re-drawn every release. It joins "
    "to no other table: the detail cannot be tied to a person's record (threat model)."
)
_ORG_DETAIL = "Organisation that recorded the detail."
_YEAR_DETAIL = (
    "Calendar year of the episode's intake; '*' where fewer than k episodes of the "
    "organisation share the year."
)
_QI = "Quasi-identifier, generalised for k-anonymity ('*' = locally suppressed)."
_DOMAIN = (
    "Bridge life domain (leefgebied): wonen, gezin, gezondheid, sociaal_netwerk, schulden, "
    "spaargeld, diploma, netto_inkomen."
)
_PERSONS_AGG = (
    "Number of distinct persons in the cell; NULL when the cell is suppressed (shown as '×' in "
    "reports; a suppressed cell may be small or may be hidden to protect another cell). "
    "Under suppression, combinations without any person are not listed, so every published count "
    "is at least the threshold; a table protected by the cell key method (meta_table_protection) "
    "lists every combination with a perturbed count (never 1 up to its small_counts)."
)
_SUPPRESSED = (
    "True when the count is withheld (primary suppression below the threshold or secondary "
    "suppression protecting another cell); the count is then NULL."
)
_AREA_AGG = (
    "Area of residence (of the most recent episode) at the level configured for the tables "
    "(stadsdeel/kern or wijk) with its gemeente as the total above it; 'Totaal' = all areas; "
    "'onbekend' = no known postcode. Counted from the whole population, not the microdata."
)
_YEAR_AGG = "Calendar year of the most recent episode's intake; 'Totaal' = all years."

CATALOGUE: dict[str, TableDoc] = {
    t.name: t
    for t in [
        TableDoc(
            name="mart_persons",
            source="persons",
            grain="one row per anonymised person",
            description=(
                "Participants (deelnemers) of the poverty programmes: everything an acquaintance "
                "may know about them (age, gender, area and household at intake, intake year, "
                "and every support episode: organisation, programme, year, end reason, duration "
                "band), generalised per person so that every combination holds at least k "
                "persons (rare persons are generalised further, not the whole column), with the "
                "sensitive attributes debt, health and justice (l-diverse per class; '*' where "
                "an organisation's own staff could otherwise recognise a participant by them)."
            ),
            columns={
                "person_id": _PERSON_ID,
                "age_at_intake": f"Age in years at the first intake, as a band. {_QI}",
                "gender": f"Gender as registered. {_QI}",
                "area": f"Area of residence at intake (PC4, wijk, stadsdeel or gemeente). {_QI}",
                "household_type": f"Household type (huishoudtype) at intake. {_QI}",
                "children_band": f"Number of children in the household, as a band. {_QI}",
                "nationality_group": f"Nationality/residence group. {_QI}",
                "intake_year": f"Calendar year of the first intake (or a block of years). {_QI}",
                "episodes": (
                    "The person's support episodes, ' + '-separated, at the level the release "
                    "could publish: 'organisation/programme/year/end reason/duration band' per "
                    "episode, or without year and duration, or organisation/programme, or the "
                    "organisations, or their number ('1 organisatie', '2+ organisaties'). "
                    f"{_QI}"
                ),
                "area_division_year": "Year of the municipal area division (wijk boundaries) "
                "that `area` refers to.",
                "debt_band": "First recorded debt in euros, as a band (0, 1-999, 1000-4999, "
                "5000-14999, 15000-49999, 50000+); 'onbekend' where not recorded, '*' withheld. "
                "Sensitive: at least 2 distinct recorded bands per class.",
                "health_flag": "Health problem registered in any case (ja/nee; 'onbekend' where "
                "no organisation records it; '*' withheld). Sensitive: 'ja' at most 90 % of a "
                "class's recorded values.",
                "justice_flag": "Justice involvement registered (ja/nee/onbekend/'*'). Sensitive, "
                "as health_flag.",
            },
        ),
        TableDoc(
            name="mart_bridge_scores",
            source="bridge_scores",
            grain="one row per trajectory (episode) per measurement per Bridge domain",
            description=(
                "Bridge to Self-Sufficiency (Brug naar Zelfredzaamheid) scores: the level, 1 "
                "(crisis) to 5 (self-sufficient), per life domain at each measurement of a "
                "trajectory. A trajectory has its own random id and only organisation and intake "
                "year beside it: it cannot be joined to mart_persons or to goals. Calendar "
                "dates are replaced by months since intake. Covers every participant not "
                "excluded (also those withheld from mart_persons)."
            ),
            columns={
                "trajectory_id": _OWN_ID,
                "organisation": _ORG_DETAIL,
                "intake_year": _YEAR_DETAIL,
                "measurement_no": (
                    "Sequence number of the measurement within the trajectory (1 = first "
                    "measurement, usually at intake)."
                ),
                "months_since_intake": (
                    "Months between intake and the measurement, bucketed (lower bound of the "
                    "bucket, in months)."
                ),
                "domain": _DOMAIN,
                "level": "Bridge level 1 (crisis) to 5 (self-sufficient).",
            },
        ),
        TableDoc(
            name="mart_goals",
            source="goals",
            grain="one row per goal (doel) of an episode",
            description=(
                "Goals from the goal-action plans (Mijn Doel-Actieplan), per Bridge domain, with "
                "the participant's confidence and whether and when the goal was achieved; own "
                "random id per episode (not joinable to persons or trajectories). Goal texts are "
                "never copied."
            ),
            renames={"achieved": "is_achieved"},
            columns={
                "goal_profile_id": _OWN_ID,
                "organisation": _ORG_DETAIL,
                "intake_year": _YEAR_DETAIL,
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
            grain="one row per problem area registered in an episode",
            description=(
                "Problem areas and municipal processes a case is involved in (schulden, "
                "gezondheid, huisvesting, …), as coded by the organisation; own random id per "
                "episode (not joinable to persons or other tables)."
            ),
            columns={
                "problem_profile_id": _OWN_ID,
                "organisation": _ORG_DETAIL,
                "intake_year": _YEAR_DETAIL,
                "problem": "Problem area or process code (e.g. schulden, beschermingsbewind).",
                "status": "Status of the problem in the case (aangemeld, lopend, afgerond) or "
                "NULL.",
            },
        ),
        TableDoc(
            name="mart_income_sources",
            source="income_sources",
            grain="one row per income source registered in an episode",
            description="Sources of household income registered in an episode; own random id "
            "per episode (not joinable to persons or other tables).",
            columns={
                "income_profile_id": _OWN_ID,
                "organisation": _ORG_DETAIL,
                "intake_year": _YEAR_DETAIL,
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
                "breakthrough_reached, arrears_resolved), coded; own random id per episode (not "
                "joinable to persons or other tables)."
            ),
            columns={
                "outcome_profile_id": _OWN_ID,
                "organisation": _ORG_DETAIL,
                "intake_year": _YEAR_DETAIL,
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
            name="mart_bridge_progress",
            kind="aggregate",
            grain=(
                "one row per Bridge domain × gemeente × measurement (intake, latest) × level, "
                "totals included ('Totaal'); each person counted once per domain and "
                "measurement, in their most recent episode's trajectory"
            ),
            description=(
                "Protected frequency table: progress per life domain, the same persons by the "
                "level of the first measurement of their trajectory in the domain (intake) and "
                "by the level of its latest measurement, per gemeente. The 'latest' rows are "
                "the gemeente rows of mart_bridge_levels_by_area_period (intake_year 'Totaal'), "
                "protected together with them; a gemeente's intake total equals its latest "
                "total. Suppressed cells are NULL with is_suppressed = true."
            ),
            columns={
                "domain": _DOMAIN,
                "area": (
                    "Gemeente of residence (of the most recent episode); 'Totaal' = all "
                    "gemeenten; 'onbekend' = no known postcode. Counted from the whole "
                    "population, not the microdata."
                ),
                "measurement": (
                    "'intake' = the trajectory's first measurement in the domain, 'latest' = "
                    "its last (the same measurement when it was measured once)."
                ),
                "level": "Bridge level at that measurement, '1' (crisis) to '5' "
                "(self-sufficient); 'Totaal'.",
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
                "persons_suppressed": "Persons withheld from mart_persons (after local recoding).",
                "cells_suppressed_primary": (
                    "Aggregate cells suppressed because they are sensitive (e.g. under threshold)."
                ),
                "cells_suppressed_secondary": (
                    "Aggregate cells suppressed to protect sensitive cells against differencing."
                ),
                "max_risk": "Highest re-identification risk (prosecutor model) of any record of "
                "mart_persons over all its quasi-identifiers (the acquaintance's record), 0-1.",
                "avg_risk": "Average re-identification risk (prosecutor model), 0-1.",
                "information_loss": "Information loss of the generalisation (ARX Loss, cell by "
                "cell over the locally recoded record, withheld persons counting 1), 0-1.",
            },
        ),
        TableDoc(
            name="release_ledger",
            kind="meta",
            grain="one row per published aggregate cell of this release",
            description=(
                "Every aggregate cell of this release as published: the value, or NULL when it "
                "was suppressed. Earlier releases' cells stay in the steward's ledger, where the "
                "protection of each new release takes them into account."
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
        TableDoc(
            name="meta_table_protection",
            kind="meta",
            grain="one row per protected aggregate table of this release",
            description=(
                "How each aggregate table of this release is protected: 'suppression' (cells "
                "below the threshold and cells that would give them away are NULL), "
                "'cell_key' (every cell perturbed by the cell key method: a small, fixed noise "
                "per cell from meta_ptable, the same for the same persons in every release; "
                "totals are perturbed on their own, so they need not equal the sum of their "
                "parts) or 'both' (suppression, then the published cells perturbed)."
            ),
            columns={
                "table_name": "Aggregate table.",
                "protection": "'suppression', 'cell_key' or 'both'.",
                "threshold": "Minimum persons per unsuppressed cell before perturbation; NULL "
                "for 'cell_key' (no cell suppressed).",
                "max_noise": "Largest change the perturbation makes to a count (D); NULL "
                "without perturbation.",
                "noise_variance": "Variance of the perturbation of larger counts (V).",
                "small_counts": "No count is published as 1 up to this number (js); zeros stay "
                "zero.",
                "cells": "Cells listed in the table.",
                "cells_suppressed": "Cells published as NULL (suppressed).",
                "cells_perturbed": "Listed cells whose published count differs from the true "
                "count.",
                "mean_abs_change": "Mean absolute change of the listed cells (persons).",
                "margins_not_additive": "Totals and subtotals that differ from the sum of the "
                "published cells below them (flagged, not repaired).",
            },
        ),
        TableDoc(
            name="meta_ptable",
            kind="meta",
            grain="one row per original count class and noise value",
            description=(
                "The perturbation table of the cell key method (ABS / Destatis / tau-ARGUS "
                "practice): for a true count (counts above the last class use the last class) "
                "the noise added and its probability. Each cell's noise is picked by its cell "
                "key, a secret sum over its persons, so it is fixed per cell and cannot be "
                "averaged away by asking again. Empty when no table is perturbed."
            ),
            columns={
                "original_count": "True count class (the last class serves all larger counts).",
                "noise": "Noise added to a count of that class.",
                "probability": "Probability of that noise for a count of that class.",
                "cell_key_from": "Start of the cell-key interval (of 0..2^32) picking it.",
                "cell_key_to": "End (exclusive) of that interval.",
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
