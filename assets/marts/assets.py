"""mart_*: the analysts' research.duckdb, built from the release candidate and swapped in
atomically only when every blocking privacy check passes on the finished file.

The checks run on the temporary file before the swap (``validate_before_swap``): no
identifier-like column or value in any mart (Great Expectations on every distinct value, listed
by DuckDB), k per person on the published quasi-identifiers (one SQL ``group by``, Great
Expectations on the per-class counts), every published aggregate count at least the threshold
or suppressed, and the attacker's-LP audit of secondary suppression over all linked tables and
earlier releases. A failing check vetoes the swap: the previous release stays.

The microdata go from the candidate's Parquet files into research.duckdb through DuckDB alone;
Python holds only the population coordinates (for the aggregates), never the Bridge scores.
"""

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from assets.anonymised.assets import STEWARD_PREFIX
from assets.anonymised.release import PUBLISHED
from assets.anonymised.resource import ReleaseConfig
from assets.marts.aggregates import AggregateConfig, protect_aggregates
from assets.marts.build import (
    ReleaseInfo,
    ReleaseVetoedError,
    build_research_database,
    new_release_id,
)
from assets.marts.catalogue import CATALOGUE, asset_description
from assets.marts.ledger import POPULATION_LEDGER, DuckDBLedger, MicrodataHistory
from assets.marts.over_time import apply_over_time, release_specs
from pipelines.checks import check_result
from pipelines.metadata import StepTimer
from pipelines.resources import PseudonymKey, StagingDatabase
from quality.outcome import CheckOutcome
from quality.suites.marts import (
    Perturbation,
    expect_cells_protected,
    expect_k_anonymous_in_duckdb,
    expect_no_identifier_like_values_in_duckdb,
)

MICRODATA = [n for n, d in CATALOGUE.items() if d.kind == "microdata"]
AGGREGATES = [n for n, d in CATALOGUE.items() if d.kind == "aggregate"]
ANONYMISED_DEPS = [f"anonymised_{t}" for t in PUBLISHED]


def privacy_checks(
    path: Path,
    *,
    quasi_identifiers: Sequence[str],
    k: int,
    threshold: int,
    audit_ok: bool,
    protection: AggregateConfig | None = None,
) -> dict[tuple[str, str], CheckOutcome]:
    """Every blocking privacy check, run on a finished (not yet published) research database.

    The microdata checks run in DuckDB (distinct values, per-class counts); only the small
    aggregate tables are read into Python. ``protection`` says which tables the cell key
    method perturbs (their rule: no count in 1..js, suppressed only under ``both``).
    """
    out: dict[tuple[str, str], CheckOutcome] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        identifiers = expect_no_identifier_like_values_in_duckdb(con, MICRODATA)
        for table in MICRODATA:
            out[(table, "no_identifier_like_values")] = identifiers[table]
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where table_name = 'mart_persons'"
            ).fetchall()
        }
        qis = [q for q in quasi_identifiers if q in columns]
        out[("mart_persons", "k_anonymous_per_person")] = expect_k_anonymous_in_duckdb(
            con, "mart_persons", qis, "person_id", k
        )
        for table in AGGREGATES:
            df = con.execute(f'select * from "{table}"').pl()
            method = protection.protection_of(table) if protection is not None else "suppression"
            ptable = protection.ptable if protection is not None else None
            perturbation = (
                Perturbation(
                    max_noise=ptable.D, small_counts=ptable.js, suppression=method == "both"
                )
                if method != "suppression" and ptable is not None
                else None
            )
            out[(table, "cells_protected")] = expect_cells_protected(
                df, "persons", "is_suppressed", threshold, perturbation=perturbation
            )
            if method == "cell_key":
                # not in the suppression model: it must then suppress nothing
                none = int(df["is_suppressed"].sum()) == 0
                out[(table, "suppression_audit")] = CheckOutcome(
                    none,
                    "Protected by the cell key method: no cell suppressed, none to audit."
                    if none
                    else "A table protected by the cell key method alone has suppressed cells.",
                )
                continue
            out[(table, "suppression_audit")] = CheckOutcome(
                audit_ok,
                "Every suppressed cell's feasibility interval meets its protection level over "
                "all linked tables and earlier releases."
                if audit_ok
                else "The attacker's LPs narrow a suppressed cell below its protection level.",
            )
    return out


CHECK_NAMES = {
    **{t: ["no_identifier_like_values"] for t in MICRODATA},
    "mart_persons": ["no_identifier_like_values", "k_anonymous_per_person"],
    **{t: ["cells_protected", "suppression_audit"] for t in AGGREGATES},
}
CHECK_DESCRIPTIONS = {
    "no_identifier_like_values": "No column named like an identifier and no value that looks "
    "like a BSN, e-mail, phone number, postcode + house number, date or free text (every "
    "distinct value of the finished file scanned). Blocks the release.",
    "k_anonymous_per_person": "Every combination of the published quasi-identifiers of "
    "mart_persons (the acquaintance's whole record, episode signature included) holds at least "
    "k persons, counted in the finished file. Blocks the release.",
    "cells_protected": "Every published count is at least the threshold or suppressed (NULL "
    "with is_suppressed); in a table the cell key method perturbs (meta_table_protection), no "
    "count is 1 up to the p-table's small counts and none is missing. Blocks the release.",
    "suppression_audit": "The attacker's linear programs over all linked tables (and earlier "
    "releases of the population, each cell's change bounded) cannot narrow any suppressed cell "
    "below its protection interval, nor make a small change of a cell by level certain; the "
    "interval reaches the threshold. Blocks the release.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            name, deps=ANONYMISED_DEPS, description=asset_description(name), kinds={"duckdb"}
        )
        for name in [*MICRODATA, *AGGREGATES]
    ],
    check_specs=[
        dg.AssetCheckSpec(check, asset=table, blocking=True, description=CHECK_DESCRIPTIONS[check])
        for table, checks in CHECK_NAMES.items()
        for check in checks
    ],
)
def mart_tables(
    context: dg.AssetExecutionContext,
    release: ReleaseConfig,
    staging_db: StagingDatabase,
    pseudonym_key: PseudonymKey,
):
    """Protect the aggregates, build research.duckdb, check it, and swap it in."""
    timer = StepTimer()

    candidate = release.candidate_files()
    summary = release.read_summary()
    config = release.config()
    # published microdata (DuckDB reads the files) and the steward-only population frames
    sources: dict[str, pl.DataFrame | Path] = {
        n: p for n, p in candidate.items() if not n.startswith(STEWARD_PREFIX)
    }
    steward = {
        n.removeprefix(STEWARD_PREFIX): p
        for n, p in candidate.items()
        if n.startswith(STEWARD_PREFIX)
    }
    release_id = new_release_id(dt.datetime.now(dt.UTC), context.run.run_id)
    # Microdata over time: a class that changed by fewer than k units since analysts last saw
    # it is held back (assets.marts.over_time), so two releases' difference isolates nobody.
    history = MicrodataHistory(staging_db.path)
    previous = history.latest()
    specs = release_specs(
        {n: pl.read_parquet_schema(p).names() for n, p in sources.items() if isinstance(p, Path)},
        config.quasi_identifiers,
        config.publish_sensitive,
    )
    states: dict[str, pl.DataFrame] = {}
    held_back: dict[str, int] = {}
    for name, spec in specs.items():
        path = sources[name]
        assert isinstance(path, Path)
        outcome = apply_over_time(pl.scan_parquet(path), spec, previous.get(name), config.k)
        states[name] = outcome.state
        held_back[name] = outcome.held.len()
        if outcome.held.len():
            if name == "bridge_scores":  # tens of millions of rows: streamed to a file
                kept = release.spill_dir() / "bridge_scores.parquet"
                outcome.frame.sink_parquet(kept)
                sources[name] = kept
            else:
                sources[name] = outcome.frame.collect()
    timer.lap("over_time")
    # One ledger per population: every earlier release is linked into the suppression model
    # and its audit, with each cell's change between releases bounded (ADR 0005).
    ledger = DuckDBLedger(staging_db.path, schema=POPULATION_LEDGER)
    timer.lap("read")
    agg_frames: dict[str, pl.DataFrame | pl.LazyFrame] = {
        n: pl.read_parquet(steward[n])
        for n in ("population", "population_goals", "population_trajectories")
        if n in steward
    }
    if "bridge_scores" in sources:
        agg_frames["bridge_scores"] = pl.scan_parquet(sources["bridge_scores"])
    parents = pl.read_parquet(steward["area_parents"]) if "area_parents" in steward else None
    agg_config = AggregateConfig.from_settings(
        release.table_settings(),
        area_parents=dict(parents.iter_rows()) if parents is not None else {},
    )
    aggregates = protect_aggregates(
        agg_frames, config=agg_config, release_id=release_id, ledger=ledger
    )
    del agg_frames
    timer.lap("aggregates")
    outcomes: dict[tuple[str, str], CheckOutcome] = {}

    def validate(path: Path) -> list[str]:
        outcomes.update(
            privacy_checks(
                path,
                quasi_identifiers=config.quasi_identifiers,
                k=config.k,
                threshold=agg_config.threshold,
                audit_ok=aggregates.audit_ok,
                protection=agg_config,
            )
        )
        return [f"{t}.{c}: {o.description}" for (t, c), o in outcomes.items() if not o.passed]

    target = Path(release.research_db)
    risk = summary.get("risk", {})
    info = ReleaseInfo(
        release_id=release_id,
        key_id=pseudonym_key.key_id(),
        parameters={"anonymisation": summary.get("config", {}), "threshold": agg_config.threshold},
        k_achieved=summary.get("k_achieved"),
        persons_suppressed=summary.get("suppressed_persons"),
        max_risk=risk.get("prosecutor_max"),
        avg_risk=risk.get("prosecutor_avg"),
        information_loss=summary.get("metrics", {}).get("loss"),
    )
    vetoed: list[str] = []
    report = None
    try:
        report = build_research_database(
            target,
            frames=sources,
            aggregates=aggregates,
            release=info,
            previous=target if target.exists() else None,
            validate_before_swap=validate,
            steward_ledger=ledger,
            on_publish=lambda: history.record(release_id, states),
            on_discard=lambda: history.discard(release_id),
        )
    except ReleaseVetoedError as exc:
        vetoed = list(exc.reasons)
        context.log.error(f"release {release_id} vetoed; the previous release stays: {vetoed}")
    timer.lap("build_and_checks")
    if report is not None:
        timer.timings |= {f"build_{k}": v for k, v in report.steps.items()}
    context.log.info(f"mart_tables timings (s): {timer.json()}")
    published = aggregates.published()
    for table in [*MICRODATA, *AGGREGATES]:
        meta: dict[str, dg.RawMetadataValue] = {
            "release_id": release_id,
            "published": not vetoed,
            "research_db": str(target),
        }
        if report is not None:
            meta["rows"] = report.rows.get(table, 0)
        if table in published:
            df = published[table]
            meta["cells"] = df.height
            meta["cells_suppressed"] = int(df["is_suppressed"].sum())
        if table == "mart_persons":
            # plain rounded numbers (never numpy): the UI plots each across releases; an
            # unknown figure is left out (a gap), never shown as a reassuring 0
            def num(x: object, digits: int | None = None) -> float | int | None:
                v = float("nan") if x is None else float(x)  # type: ignore[arg-type]
                if v != v:
                    return None
                return int(v) if digits is None else round(v, digits)

            figures = {
                "k_achieved": num(info.k_achieved),
                "persons": num(report.rows.get(table) if report is not None else None),
                "persons_suppressed": num(info.persons_suppressed),
                "cells_suppressed": num(aggregates.n_primary + aggregates.n_secondary),
                "max_risk": num(info.max_risk, 4),
                "avg_risk": num(info.avg_risk, 4),
                "loss": num(info.information_loss, 4),
            }
            meta |= {k: v for k, v in figures.items() if v is not None}
            meta |= {
                "classes_held_back": dg.MetadataValue.json(held_back),
                "primary_cells": int(aggregates.n_primary),
                "secondary_cells": int(aggregates.n_secondary),
                "timings": dg.MetadataValue.json(timer.timings),
            }
        checks = [
            check_result(
                table,
                name,
                outcomes.get(
                    (table, name), CheckOutcome(False, "Not evaluated: the build stopped early.")
                ),
            )
            for name in CHECK_NAMES[table]
        ]
        yield dg.MaterializeResult(asset_key=table, metadata=meta, check_results=checks)
