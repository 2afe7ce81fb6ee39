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

import csv
import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl

from anonymise.output_check import Kind, OutputDecision, OutputRules, check_output
from anonymise.tables import TOTAL, MemoryLedger
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


def _private_dir(folder: Path) -> Path:
    """``folder`` (and missing parents) created 0700: records name cells of analysts' results."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _write_private(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` with mode 0600 from birth (never readable by others)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb", closefd=False) as fh:
            fh.write(raw)
    finally:
        os.close(fd)
    return path


def sniff_separator(path: Path) -> str:
    """The field separator of a CSV file: ``,``, ``;`` (Dutch spreadsheets), tab or ``|``."""
    with path.open("rb") as fh:
        sample = fh.read(65536).decode("utf-8", errors="replace")
    lines = [ln for ln in sample.splitlines() if ln.strip()][:50]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0]
        return max(",;\t|", key=header.count)


def read_result_table(path: Path) -> pl.DataFrame:
    """An analyst's result table from CSV (separator sniffed; with ``;`` a decimal comma),
    Parquet or JSON (records or newline-delimited)."""
    if not path.exists():
        raise OutputCheckError(f"{path}: file not found.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            sep = sniff_separator(path)
            return pl.read_csv(
                path, separator=sep, infer_schema_length=None, decimal_comma=sep == ";"
            )
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".json", ".ndjson", ".jsonl"):
            return pl.read_ndjson(path) if suffix != ".json" else pl.read_json(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise OutputCheckError(f"{path}: could not be read as {suffix[1:]} ({exc}).") from None
    raise OutputCheckError(f"{path}: use a .csv, .parquet, .json or .ndjson file.")


_SQL_START = re.compile(r"\s*(select|with|from|values)\b", re.IGNORECASE)
_SQL_FORBIDDEN = re.compile(
    r"\b(attach|detach|copy|pragma|install|load|export|import|set|reset|call|use|checkpoint"
    r"|create|insert|update|delete|drop|alter|secret)\b"
    r"|\b(read_\w+|glob|sniff_csv|parquet_\w+|query|query_table|getenv|iceberg_\w+|delta_\w+)\s*\(",
    re.IGNORECASE,
)
_SQL_LITERAL = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)
_SQL_IDENT = re.compile(r'"(?:[^"]|"")*"')

SANDBOX = {
    # Analysts' SQL runs with the steward's rights: no file, network or extension access
    # besides research.duckdb itself, and no statement can switch that back on.
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}


def validate_query(sql: str) -> None:
    """Refuse anything but one ``SELECT`` (``WITH``/``FROM``/``VALUES``) statement.

    DuckDB's own parser counts the statements and types them; keywords and file-reading table
    functions outside string literals and quoted names are refused as well (``PRAGMA`` parses
    as a ``SELECT``). The sandboxed connection of :func:`run_query` is the real barrier.
    """
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error:
        raise OutputCheckError(
            "the query could not be parsed: give one SELECT statement."
        ) from None
    if len(statements) != 1:
        raise OutputCheckError(
            f"the query has {len(statements)} statements: give exactly one SELECT statement."
        )
    if statements[0].type != duckdb.StatementType.SELECT or not _SQL_START.match(sql):
        raise OutputCheckError("only a SELECT statement may be checked (rule: select_only).")
    bare = _SQL_IDENT.sub('""', _SQL_LITERAL.sub("''", sql))
    hit = _SQL_FORBIDDEN.search(bare)
    if hit is not None:
        word = (hit.group(1) or hit.group(2)).upper()
        raise OutputCheckError(
            f"the query uses {word}, which is not allowed: one SELECT on the research database "
            "only (rule: select_only)."
        )


def run_query(research_db: Path, sql: str) -> pl.DataFrame:
    """The result of one ``SELECT`` on research.duckdb, read-only, in a locked sandbox.

    External access (files, ATTACH, COPY, extensions, network) is disabled and the configuration
    locked before the analyst's statement runs, so it sees research.duckdb and nothing else."""
    validate_query(sql)
    if not research_db.exists():
        raise OutputCheckError(f"{research_db}: no research release yet (run the pipeline).")
    try:
        con = duckdb.connect(str(research_db), read_only=True, config=dict(SANDBOX))
    except duckdb.Error as exc:
        raise OutputCheckError(f"{research_db.name} could not be opened: {exc}") from None
    with con:
        try:
            return con.execute(sql).pl()
        except duckdb.Error as exc:
            raise OutputCheckError(f"the query failed on {research_db.name}: {exc}") from None


def release_rules(settings: Settings) -> tuple[OutputRules, str | None]:
    """The rules of the newest release in research.duckdb (with [output_check]) and its id.

    Without a release the deployment's threshold and the DwB defaults apply."""
    oc = settings.output_check
    base = OutputRules(
        threshold=settings.tables.threshold, dof=oc.dof, zeros_disclosive=oc.zeros_disclosive
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
            group_dims=tuple(rules["group_dims"]) if rules.get("group_dims") is not None else None,
        ),
        row[0],
    )


def release_code_lists(research_db: Path, dims: list[str]) -> dict[str, list[str]]:
    """Code lists of the release for the dimensions named like a column of a mart table: the
    distinct values of every such column (locally suppressed ``*`` and empty values left out).

    Only names found in the database's catalogue are put into the (quoted) query."""
    if not research_db.exists() or not dims:
        return {}
    wanted = {d.lower(): d for d in dims}
    out: dict[str, set[str]] = {}
    with duckdb.connect(str(research_db), read_only=True, config=dict(SANDBOX)) as con:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'main' and table_name like 'mart\\_%' escape '\\' "
            "and data_type = 'VARCHAR'"
        ).fetchall()
        for table, column in columns:
            dim = wanted.get(column.lower())
            if dim is None:
                continue
            q_table = '"' + table.replace('"', '""') + '"'
            q_column = '"' + column.replace('"', '""') + '"'
            values = con.execute(
                f"select distinct {q_column} from {q_table} "
                f"where {q_column} is not null and {q_column} <> '*'"
            ).fetchall()
            out.setdefault(dim, set()).update(v for (v,) in values)
    return {d: sorted(v) for d, v in out.items() if v}


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
    group_dims: list[str] | Literal["all"] | None = None,
    levels: Literal["release", "observed"] = "release",
) -> CheckedOutput:
    """Check one result table and write its record (JSON), summary (text) and, when it may
    leave (as submitted or suppressed), the table in CBS notation (CSV), all mode 0600 under
    ``data_dir/<records_dir>`` (0700).

    The rules are the release's, group disclosure along the release's ``group_dims`` unless
    ``group_dims`` overrides them (a list, or ``"all"`` for every line). ``levels="release"``
    completes the grid of dimension levels with the release's code lists where a dimension is
    named like a mart column (else, and with ``"observed"``, with the levels the table has)."""
    if (file is None) == (sql is None):
        raise OutputCheckError("give either a result file or --sql QUERY, not both or neither.")
    table = (
        read_result_table(file) if file is not None else run_query(settings.paths.research_db, sql)
    )
    if table.height == 0:
        raise OutputCheckError("the result table is empty: nothing to check.")
    rules, release_id = release_rules(settings)
    if group_dims == "all":
        rules = replace(rules, group_dims=None)
    elif group_dims is not None:
        rules = replace(rules, group_dims=tuple(group_dims))
    code_lists = (
        release_code_lists(settings.paths.research_db, [str(c) for c in table.columns])
        if levels == "release"
        else {}
    )
    # A release code list applies only where the column holds the release's codes: recoded or
    # differently spelled levels are another classification (their observed levels are used).
    code_lists = {
        d: codes
        for d, codes in code_lists.items()
        if set(table[d].drop_nulls().cast(pl.String).unique().to_list()) - {TOTAL} <= set(codes)
    }
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
            levels=code_lists,
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
            table,
            rules=rules,
            kind=kind,
            margins=margins,
            dims=dims,
            count=count,
            value=value,
            levels=code_lists,
        )
        ledger = None
    source = str(file) if file is not None else sql
    digest = hashlib.sha256(table.write_csv().encode()).hexdigest()
    stamp = dt.datetime.now(dt.UTC)
    base = name or (file.stem if file is not None else "query")
    base = re.sub(r"[^\w.-]+", "_", base)[:60]
    folder = settings.paths.data_dir / settings.output_check.records_dir
    _private_dir(folder)
    prefix = folder / f"{stamp:%Y%m%dT%H%M%S}-{base}"
    n = 1
    while prefix.with_suffix(".json").exists():  # two checks of one name in one second
        n += 1
        prefix = folder / f"{stamp:%Y%m%dT%H%M%S}-{base}-{n}"
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
    _write_private(record_path, json.dumps(record, indent=2, ensure_ascii=False))
    summary = "\n".join(
        [
            f"Uitvoercontrole / output check of {source}",
            f"Release {release_id or '(none)'}; {ledger_note}.",
            decision.summary(),
        ]
    )
    summary_path = prefix.with_suffix(".txt")
    _write_private(summary_path, summary + "\n")
    table_path = None
    if decision.may_leave_suppressed:
        table_path = prefix.with_name(prefix.name + "-mag-naar-buiten.csv")
        _write_private(table_path, decision.published().write_csv())
    return CheckedOutput(decision, record_path, summary_path, table_path, summary)


STATUS = {
    "pass": "mag naar buiten",
    "suppressed": "mag onderdrukt naar buiten",
    "fail": "afgewezen",
}
"""An output's status in a session (ACRO's pass / review / fail), with its Dutch label."""


def output_status(decision: OutputDecision) -> str:
    """``pass`` (may leave as submitted), ``suppressed`` (may leave with cells ``×``) or
    ``fail`` (rejected)."""
    if decision.may_leave:
        return "pass"
    return "suppressed" if decision.may_leave_suppressed else "fail"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class OutputSession:
    """An ACRO-style output-checking session: several outputs checked one by one, a
    justification for every exception (an output that does not pass as submitted), and one
    bundle for the data steward's sign-off (:meth:`finalise`).

    The state lives in ``data_dir/<records_dir>/sessions/<name>/session.json`` (0600, folder
    0700), so a session can be continued over several ``brugstat check-output --session`` calls.
    """

    def __init__(self, settings: Settings, name: str) -> None:
        if not re.fullmatch(r"[\w.-]{1,60}", name):
            raise OutputCheckError(
                "a session name has 1-60 letters, digits, '.', '-' or '_' (rule: session_name)."
            )
        self.name = name
        self.folder = settings.paths.data_dir / settings.output_check.records_dir / "sessions"
        self.folder = self.folder / name
        self.state_path = self.folder / "session.json"
        if self.state_path.exists():
            self.state = json.loads(self.state_path.read_text(encoding="utf-8"))
        else:
            self.state = {
                "session": name,
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "outputs": [],
                "finalised_at": None,
            }

    def _save(self) -> None:
        _private_dir(self.folder)
        _write_private(self.state_path, json.dumps(self.state, indent=2, ensure_ascii=False))

    @property
    def outputs(self) -> list[dict]:
        return self.state["outputs"]

    def add(self, checked: CheckedOutput, justification: str | None = None) -> dict:
        """Add a checked output (with the analyst's justification if it is an exception)."""
        if self.state["finalised_at"] is not None:
            raise OutputCheckError(f"session {self.name} is finalised: start a new session.")
        record = json.loads(checked.record_path.read_text(encoding="utf-8"))
        entry = {
            "output_id": f"output_{len(self.outputs) + 1}",
            "source": record["source"],
            "kind": record["kind"],
            "status": output_status(checked.decision),
            "release_id": record.get("release_id"),
            "suppressed_cells": record["suppressed"],
            "reasons": record["reasons"],
            "record": str(checked.record_path),
            "summary": str(checked.summary_path),
            "table": str(checked.table_path) if checked.table_path is not None else None,
            "justification": (justification or "").strip() or None,
        }
        self.outputs.append(entry)
        self._save()
        return entry

    def justify(self, output_id: str, reason: str) -> dict:
        """Give (or replace) the justification of one output."""
        if self.state["finalised_at"] is not None:
            raise OutputCheckError(f"session {self.name} is finalised: start a new session.")
        for entry in self.outputs:
            if entry["output_id"] == output_id:
                if not reason.strip():
                    raise OutputCheckError("a justification cannot be empty.")
                entry["justification"] = reason.strip()
                self._save()
                return entry
        raise OutputCheckError(f"session {self.name} has no output {output_id}.")

    def missing_justifications(self) -> list[str]:
        """Outputs that are exceptions (not ``pass``) and have no justification yet."""
        return [
            e["output_id"] for e in self.outputs if e["status"] != "pass" and not e["justification"]
        ]

    def finalise(self) -> tuple[Path, Path]:
        """Write the bundle for the steward: ``bundle/outputs/`` (the tables that may leave, in
        CBS notation, and every record and summary), ``bundle/results.json`` and
        ``bundle/results.csv`` (one line per output: status, reasons, justification, files with
        SHA-256, and empty fields for the steward's decision and signature).

        Refused while an exception has no justification (ACRO asks one for every exception)."""
        if not self.outputs:
            raise OutputCheckError(f"session {self.name} has no outputs.")
        missing = self.missing_justifications()
        if missing:
            raise OutputCheckError(
                "every exception needs a justification before the session is finalised; "
                f"missing for {', '.join(missing)} (give one with --output ID --justify TEXT)."
            )
        bundle = _private_dir(self.folder / "bundle")
        files_dir = _private_dir(bundle / "outputs")
        results = []
        for e in self.outputs:
            files = []
            for role in ("table", "record", "summary"):
                if e[role] is None:
                    continue
                src = Path(e[role])
                dst = files_dir / f"{e['output_id']}-{src.name}"
                _write_private(dst, src.read_bytes())
                files.append({"role": role, "file": f"outputs/{dst.name}", "sha256": _sha256(dst)})
            results.append(
                {
                    **{k: v for k, v in e.items() if k not in ("record", "summary", "table")},
                    "decision": STATUS[e["status"]],
                    "may_leave": e["status"] != "fail",
                    "files": files,
                    "steward_decision": None,
                    "steward_note": None,
                }
            )
        self.state["finalised_at"] = dt.datetime.now(dt.UTC).isoformat()
        bundle_record = {
            "session": self.name,
            "created_at": self.state["created_at"],
            "finalised_at": self.state["finalised_at"],
            "notation": {"secret": "×", "zero": "–", "not_available": "."},
            "outputs": results,
            "steward": {"signed_by": None, "signed_at": None},
        }
        json_path = _write_private(
            bundle / "results.json", json.dumps(bundle_record, indent=2, ensure_ascii=False)
        )
        rows = [
            {
                "output_id": r["output_id"],
                "source": r["source"].get("file") or r["source"].get("sql"),
                "kind": r["kind"],
                "status": r["status"],
                "decision": r["decision"],
                "suppressed_cells": r["suppressed_cells"],
                "reasons": "; ".join(f"{k}: {v}" for k, v in r["reasons"].items()),
                "justification": r["justification"] or "",
                "files": " ".join(f["file"] for f in r["files"]),
                "sha256": " ".join(f["sha256"] for f in r["files"]),
                "steward_decision": "",
                "steward_note": "",
            }
            for r in results
        ]
        csv_path = _write_private(bundle / "results.csv", pl.DataFrame(rows).write_csv())
        self._save()
        return json_path, csv_path


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def run_check_output(settings: Settings, args) -> int:
    """``brugstat check-output`` (``args`` from the CLI parser); returns the exit code: 0 every
    output may leave, 1 some only suppressed, 3 one is rejected, 2 an error."""
    session = OutputSession(settings, args.session) if args.session else None
    if session is None and (args.finalise or args.output or args.justify):
        raise OutputCheckError("--justify, --output and --finalise need --session NAME.")
    if session is not None and args.output:
        entry = session.justify(args.output, args.justify or "")
        print(f"Sessie {session.name}: {entry['output_id']} gemotiveerd / justified.")
        if not args.finalise:
            return 0
    margins: list[str] | bool | None = _names(args.margins)
    if args.margins == "none":
        margins = False
    group_dims: list[str] | Literal["all"] | None = None
    if args.group_dims == "all":
        group_dims = "all"
    elif args.group_dims == "none":
        group_dims = []
    elif args.group_dims:
        group_dims = _names(args.group_dims)
    sources: list[tuple[Path | None, str | None]] = [(f, None) for f in args.file]
    if args.sql:
        sources.append((None, args.sql))
    if not sources and not (session is not None and args.finalise):
        raise OutputCheckError("give a result file or --sql QUERY.")
    if len(sources) > 1 and args.justify and not args.output:
        raise OutputCheckError("--justify with several outputs: justify each with --output ID.")
    code = 0
    for file, sql in sources:
        checked = check_result(
            settings,
            file=file,
            sql=sql,
            kind=args.kind,
            dims=_names(args.dims),
            margins=margins,
            count=args.count,
            value=args.value,
            measure=args.measure,
            use_ledger=not args.no_ledger,
            name=args.name,
            group_dims=group_dims,
            levels=args.levels,
        )
        print(checked.summary)
        print(f"\nRecord: {checked.record_path}\nSummary: {checked.summary_path}")
        if checked.table_path is not None:
            print(f"Table that may leave (CBS notation, × secret): {checked.table_path}")
        d = checked.decision
        code = max(code, 0 if d.may_leave else (1 if d.may_leave_suppressed else 3))
        if session is not None:
            entry = session.add(checked, None if args.output else args.justify)
            print(f"Sessie {session.name}: {entry['output_id']} ({entry['status']}).")
    if session is not None:
        missing = session.missing_justifications()
        if missing and not args.finalise:
            print(
                f"Motivering nodig / justification needed for {', '.join(missing)}: "
                f"--session {session.name} --output ID --justify TEXT"
            )
        if args.finalise:
            json_path, csv_path = session.finalise()
            print(f"Bundel voor de steward / bundle for sign-off: {json_path} and {csv_path}")
    return code
