"""``brugstat check-output``: check an analyst's result table before it leaves the research
environment, with the rules of the current release (ACRO-style output checking, plus secondary
suppression and a check against the release ledger).

The checking itself is :func:`anonymise.output_check.check_output`; this module finds the
table (a CSV/Parquet/JSON file, or a SQL query run read-only on research.duckdb), takes the rules
from the newest ``meta_release`` (threshold, dominance, p%, group disclosure — the rules the
published tables were protected with) and brugstat.toml's ``[output_check]`` (degrees of freedom,
zeros), loads the steward's ledger of the current release when the steward database is readable,
and writes a JSON record, a readable summary and (when cells had to go) the suppressed table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from anonymise.output_check import Kind, OutputDecision, OutputRules, check_output
from anonymise.tables import MemoryLedger
from anonymise.tables.ledger import CELL_SCHEMA, EQUATION_SCHEMA
from pipelines.settings import Settings


class OutputCheckError(ValueError):
    """A problem the analyst can fix (file not found, bad query, no release); no data inside."""


@dataclass(frozen=True)
class CheckedOutput:
    """One output check: the decision and where its record, summary and table were written."""

    decision: OutputDecision
    record_path: Path
    summary_path: Path
    table_path: Path | None
    summary: str


def csv_separator(path: Path) -> str:
    """The separator of a CSV file from its header line: ``,``, ``;`` (Dutch spreadsheets save
    CSV with semicolons) or a tab, whichever the header holds most of (``,`` by default)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline()
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def read_result_table(path: Path) -> pl.DataFrame:
    """An analyst's result table from CSV (comma, semicolon or tab separated), Parquet or JSON
    (records or newline-delimited)."""
    if not path.exists():
        raise OutputCheckError(f"{path}: file not found.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema_length=None, separator=csv_separator(path))
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".json", ".ndjson", ".jsonl"):
            return pl.read_ndjson(path) if suffix != ".json" else pl.read_json(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise OutputCheckError(f"{path}: could not be read as {suffix[1:]} ({exc}).") from None
    raise OutputCheckError(f"{path}: use a .csv, .parquet, .json or .ndjson file.")


def run_query(research_db: Path, sql: str) -> pl.DataFrame:
    """The result of ``sql`` on research.duckdb, opened read-only."""
    if not research_db.exists():
        raise OutputCheckError(f"{research_db}: no research release yet (run the pipeline).")
    with duckdb.connect(str(research_db), read_only=True) as con:
        try:
            return con.execute(sql).pl()
        except duckdb.Error as exc:
            raise OutputCheckError(f"the query failed on {research_db.name}: {exc}") from None


def release_rules(settings: Settings) -> tuple[OutputRules, str | None]:
    """The rules of the newest release in research.duckdb (with [output_check]) and its id.

    Without a release the deployment's threshold and the DwB defaults apply."""
    oc = settings.output_check
    base = OutputRules(
        threshold=settings.threshold, dof=oc.dof, zeros_disclosive=oc.zeros_disclosive
    )
    db = settings.paths.research_db
    if not db.exists():
        return base, None
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            "select release_id, parameters_json from meta_release order by built_at desc limit 1"
        ).fetchone()
    if row is None:
        return base, None
    params = json.loads(row[1] or "{}")
    rules = (params.get("aggregates") or {}).get("rules") or {}
    dominance = rules.get("dominance", base.dominance)
    return (
        OutputRules(
            threshold=int(rules.get("threshold", params.get("threshold", base.threshold))),
            dof=oc.dof,
            dominance=tuple(dominance) if dominance else None,
            p_percent=rules.get("p_percent", base.p_percent),
            zeros_disclosive=oc.zeros_disclosive,
            group_share=rules.get("group_share", base.group_share),
        ),
        row[0],
    )


def steward_ledger(staging_db: Path, release_id: str) -> MemoryLedger | None:
    """The steward's ledger series holding ``release_id``, read-only, as an in-memory ledger.

    ``None`` when the steward database is absent or not readable (an analyst's account): the
    check then covers the submitted table and its own totals, and the record says so."""
    if release_id is None or not staging_db.exists() or not os.access(staging_db, os.R_OK):
        return None
    try:
        con = duckdb.connect(str(staging_db), read_only=True)
    except duckdb.Error:
        return None  # locked by a running pipeline or unreadable: say so in the record
    with con:
        schemas = [
            s
            for (s,) in con.execute(
                "select distinct schema_name from duckdb_tables() "
                "where schema_name like 'ledger_%' and table_name = 'releases'"
            ).fetchall()
        ]
        for s in schemas:
            if not re.fullmatch(r"ledger_\w+", s):
                continue
            hit = con.execute(
                f"select count(*) from {s}.releases where release_id = ?", [release_id]
            )
            if not hit.fetchone()[0]:
                continue
            ledger = MemoryLedger()
            order = [
                r
                for (r,) in con.execute(
                    f"select release_id from {s}.releases order by seq"
                ).fetchall()
            ]
            cells = con.execute(f"select * from {s}.cells").pl()
            equations = con.execute(f"select * from {s}.equations").pl()
            for rid in order:
                ledger.record(
                    rid,
                    cells.filter(pl.col("release_id") == rid).select(list(CELL_SCHEMA)),
                    equations.filter(pl.col("release_id") == rid).select(list(EQUATION_SCHEMA)),
                )
            return ledger
    return None


def check_result(
    settings: Settings,
    *,
    file: Path | None = None,
    sql: str | None = None,
    kind: Kind = "frequency",
    dims: list[str] | None = None,
    margins: list[str] | bool | None = None,
    count: str | None = None,
    value: str | None = None,
    measure: str | None = None,
    use_ledger: bool = True,
    name: str | None = None,
) -> CheckedOutput:
    """Check one result table and write its record (JSON), summary (text) and, when cells had
    to be suppressed, the table that may leave (CSV), under ``data_dir/<records_dir>``."""
    if (file is None) == (sql is None):
        raise OutputCheckError("give either a result file or --sql QUERY, not both or neither.")
    table = (
        read_result_table(file) if file is not None else run_query(settings.paths.research_db, sql)
    )
    if table.height == 0:
        raise OutputCheckError("the result table is empty: nothing to check.")
    rules, release_id = release_rules(settings)
    ledger = steward_ledger(settings.paths.staging_db, release_id) if use_ledger else None
    try:
        decision = check_output(
            table,
            rules=rules,
            kind=kind,
            margins=margins,
            ledger=ledger if (ledger is not None and margins is not False) else None,
            dims=dims,
            count=count,
            value=value,
            measure=measure,
            release_id=None,
        )
    except ValueError as exc:
        if ledger is not None and " now but " in str(exc):
            # Never echo the message: it holds the ledger's true value of the cell.
            raise OutputCheckError(
                "a cell of the table has the same measure and coordinates as a released cell "
                "but a different count; if it describes another population, give the table "
                "its own --measure name"
            ) from None
        if ledger is None or "needs the table with its totals" not in str(exc):
            raise OutputCheckError(f"the table cannot be checked: {exc}") from None
        # A table without totals cannot be linked to the ledger's equations: check it alone.
        decision = check_output(
            table, rules=rules, kind=kind, margins=margins, dims=dims, count=count, value=value
        )
        ledger = None
    source = str(file) if file is not None else sql
    digest = hashlib.sha256(table.write_csv().encode()).hexdigest()
    stamp = dt.datetime.now(dt.UTC)
    base = name or (file.stem if file is not None else "query")
    base = re.sub(r"[^\w.-]+", "_", base)[:60]
    folder = settings.paths.data_dir / settings.output_check.records_dir
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / f"{stamp:%Y%m%dT%H%M%S}-{base}"
    ledger_note = (
        "checked against the steward's ledger of this release"
        if ledger is not None
        else "not checked against the release ledger (steward database not readable here, or "
        "the table has no totals); the data steward repeats the check before release"
    )
    record = {
        "checked_at": stamp.isoformat(),
        "source": {"file": str(file)} if file is not None else {"sql": sql},
        "input_sha256": digest,
        "release_id": release_id,
        "ledger": ledger is not None,
        "ledger_note": ledger_note,
        **decision.record,
    }
    record_path = prefix.with_suffix(".json")
    record_path.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    summary = "\n".join(
        [
            f"Uitvoercontrole / output check of {source}",
            f"Release {release_id or '(none)'}; {ledger_note}.",
            decision.summary(),
        ]
    )
    summary_path = prefix.with_suffix(".txt")
    summary_path.write_text(summary + "\n", encoding="utf-8")
    table_path = None
    if not decision.may_leave and decision.may_leave_suppressed:
        table_path = prefix.with_name(prefix.name + "-mag-naar-buiten.csv")
        decision.table.write_csv(table_path)
    return CheckedOutput(decision, record_path, summary_path, table_path, summary)
