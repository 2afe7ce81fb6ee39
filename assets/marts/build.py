"""Build ``research.duckdb``: the one file analysts get, written whole or not at all.

:func:`build_research_database` writes every table of the catalogue into a temporary file next to
the target (same folder, so the final rename is atomic; microdata straight from the release
candidate's Parquet files, read by DuckDB), documents every table and column with
``COMMENT ON`` and in ``data_dictionary``, records the release in ``meta_release`` and
``release_ledger`` (both accumulating over releases), checkpoints and closes the file, lets the
caller's ``validate_before_swap`` hook (the blocking privacy checks) veto it, and only then
replaces the target with :func:`os.replace`. Anything that fails before the replace removes the
temporary file and leaves the previous release untouched; a process killed midway leaves only a
stale temporary file, removed by the next build.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from anonymise.tables import Ledger
from assets.marts.aggregates import AGGREGATE_TABLES, ProtectedAggregates
from assets.marts.catalogue import CATALOGUE, TableDoc
from assets.marts.ledger import RESEARCH_LEDGER_SCHEMA
from assets.marts.perturbation import PROTECTION_TABLES, protection_frames

Validator = Callable[[Path], Sequence[str]]
"""Receives the finished temporary file; returns reasons to refuse the swap (empty = go)."""

MEMORY_LIMIT = "4GB"
"""Memory DuckDB may use while building the research database before it spills."""

UNORDERED_MARTS = frozenset({"mart_bridge_scores"})
"""Marts loaded without keeping their file's row order (DuckDB writes them as it reads them, in
parallel). Safe for the Bridge scores: their file is ordered by the random trajectory id, and
any interleaving of its row groups is as unrelated to the source as that order (the threat
model's row-order attack, tested)."""

MAX_CODES = 4096
"""String columns with at most this many distinct values are shipped to DuckDB as integer codes."""

_KEY_ID = re.compile(r"[0-9a-f]{16}")
_LONG_HEX = re.compile(r"[0-9a-fA-F]{32,}")
_SECRET_NAME = re.compile(r"(^|_)(key|secret|password|token)($|_)", re.IGNORECASE)

META_RELEASE_DDL = """
create table meta_release (
    release_id varchar not null,
    built_at timestamp not null,
    code_version varchar,
    parameters_json varchar,
    key_id varchar not null,
    k_achieved integer,
    persons_suppressed bigint,
    cells_suppressed_primary integer,
    cells_suppressed_secondary integer,
    max_risk double,
    avg_risk double,
    information_loss double
)"""
RELEASE_LEDGER_DDL = """
create table release_ledger (
    release_id varchar not null,
    table_name varchar not null,
    cell_key varchar not null,
    coordinates varchar,
    value double,
    is_suppressed boolean not null
)"""
DATA_DICTIONARY_DDL = """
create table data_dictionary (
    table_name varchar not null,
    column_name varchar not null,
    data_type varchar not null,
    description varchar not null,
    grain varchar not null,
    table_description varchar not null
)"""


class ReleaseVetoedError(RuntimeError):
    """The ``validate_before_swap`` hook refused the release; the previous one is untouched."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("release refused: " + "; ".join(self.reasons))


def new_release_id(now: datetime, run_id: str) -> str:
    """The id of a release built at ``now`` (UTC) by the Dagster run ``run_id``:
    ``R<yyyymmdd>T<hhmmss>_<first 8 characters of the run id>``.

    The underscore keeps the run part glued to the rest: with a hyphen, a run id that starts with
    eight decimal digits (about 1 in 40) stood alone as an 8-digit number wherever the id is
    shown, which the report's identifier check rightly reads as a possible BSN or phone number.
    """
    return f"R{now:%Y%m%dT%H%M%S}_{run_id[:8]}"


@dataclass(frozen=True)
class ReleaseInfo:
    """What ``meta_release`` records about a release (never the key: only its public id)."""

    release_id: str
    key_id: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    k_achieved: int | None = None
    persons_suppressed: int | None = None
    max_risk: float | None = None
    avg_risk: float | None = None
    information_loss: float | None = None
    code_version: str | None = None
    built_at: datetime | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}", self.release_id):
            raise ValueError(f"release id {self.release_id!r}: use letters, digits, . _ : -")
        if not _KEY_ID.fullmatch(self.key_id):
            raise ValueError("key_id must be the 16-hex public key id (anonymise.pseudonym.key_id)")
        _check_no_secrets(self.parameters, "parameters")


def _check_no_secrets(value: Any, path: str) -> None:
    """Refuse anything in the parameters that looks like key material."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            if _SECRET_NAME.search(str(k)) and str(k) != "key_id":
                raise ValueError(f"{path}.{k}: key material never goes into a release")
            _check_no_secrets(v, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_no_secrets(v, f"{path}[{i}]")
    elif isinstance(value, (bytes, bytearray)) or (
        isinstance(value, str) and _LONG_HEX.search(value)
    ):
        raise ValueError(f"{path}: looks like key material; never put a key in a release")


@dataclass
class BuildReport:
    """Outcome of a build: where, which release, rows per table, size and timings (seconds)."""

    path: Path
    release_id: str
    rows: dict[str, int]
    bytes: int
    seconds: float
    steps: dict[str, float]
    cells_suppressed_primary: int
    cells_suppressed_secondary: int


def open_read_only(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Open a research database the way analysts do: read-only (writes raise)."""
    return duckdb.connect(str(path), read_only=True)


def code_version() -> str:
    """``git describe --always --dirty`` of this checkout, else the package version."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        if out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("brugstat")
    except PackageNotFoundError:
        return "unknown"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove temporary files of builds that died (their process is gone); returns them."""
    removed = []
    pattern = re.compile(re.escape(f".{target.name}.tmp-") + r"(\d+)-[0-9a-f]+(\.wal|\.tmp)?$")
    for p in target.parent.glob(f".{target.name}.tmp-*"):
        m = pattern.match(p.name)
        if m and not _pid_alive(int(m.group(1))):
            if p.is_dir():  # DuckDB's spill folder of a build that died
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _remove(tmp: Path) -> None:
    for p in (tmp, tmp.with_name(tmp.name + ".wal")):
        p.unlink(missing_ok=True)
    shutil.rmtree(tmp.with_name(tmp.name + ".tmp"), ignore_errors=True)


def _load_frame(con: duckdb.DuckDBPyConnection, table: str, df: pl.DataFrame) -> None:
    """Create ``table`` from ``df``; low-cardinality strings travel as integer codes.

    DuckDB's ingestion of Arrow string columns is slow; a dictionary-encoded (polars Enum) column
    arrives as small integer codes plus its few values and is cast back to VARCHAR in DuckDB.
    """
    exprs = []
    send = {}
    for c in df.columns:
        s = df[c]
        if s.dtype in (pl.String, pl.Categorical) or isinstance(s.dtype, pl.Enum):
            s = s.cast(pl.String)
            cats = s.unique().drop_nulls().sort()
            if len(cats) <= MAX_CODES:
                send[c] = s.cast(pl.Enum(cats.to_list()))
                exprs.append(f"{_ident(c)}::varchar as {_ident(c)}")
                continue
        send[c] = s
        exprs.append(_ident(c))
    view = f"__src_{table}"
    con.register(view, pl.DataFrame(send).to_arrow())
    try:
        con.execute(f"create table {_ident(table)} as select {', '.join(exprs)} from {view}")
    finally:
        con.unregister(view)


def _check_columns(doc: TableDoc, columns: Sequence[str]) -> None:
    """Refuse an input whose columns (after the catalogue's renames) are not exactly the
    documented ones."""
    extra = [c for c in columns if c not in doc.columns]
    if extra:
        raise ValueError(
            f"{doc.name}: columns {extra} are not documented in assets/marts/catalogue.py; "
            "describe them there (or drop them) before they can be released"
        )
    missing = [c for c in doc.columns if c not in columns]
    if missing:
        raise ValueError(f"{doc.name}: documented columns {missing} are missing from the input")


def _mart_frame(doc: TableDoc, frames: Mapping[str, pl.DataFrame | Path]) -> pl.DataFrame:
    if doc.source not in frames:
        raise KeyError(f"{doc.name}: input frame {doc.source!r} is missing")
    source = frames[doc.source]
    assert isinstance(source, pl.DataFrame)
    df = source.rename({k: v for k, v in doc.renames.items() if k in source.columns})
    _check_columns(doc, df.columns)
    return df.select(
        pl.col(c).cast(pl.String) if df[c].dtype == pl.Null else pl.col(c) for c in doc.columns
    )


def _load_parquet(con: duckdb.DuckDBPyConnection, doc: TableDoc, path: Path) -> int:
    """Create ``doc.name`` straight from a Parquet file (DuckDB reads it; nothing passes
    through Python), with the catalogue's renames and column order; returns the row count.

    Types are the file's; an all-null column (polars ``Null``) becomes VARCHAR, as
    :func:`_mart_frame` does.
    """
    schema = pl.read_parquet_schema(path)
    back = {v: k for k, v in doc.renames.items() if k in schema}
    columns = [doc.renames.get(c, c) for c in schema]
    _check_columns(doc, columns)
    exprs = []
    for c in doc.columns:
        src = back.get(c, c)
        expr = _ident(src) + ("::varchar" if schema[src] == pl.Null else "")
        exprs.append(f"{expr} as {_ident(c)}")
    con.execute(
        f"create table {_ident(doc.name)} as select {', '.join(exprs)} "
        f"from read_parquet({_quote(str(path))})"
    )
    return int(con.execute(f"select count(*) from {_ident(doc.name)}").fetchone()[0])


def _parameters_json(release: ReleaseInfo, aggregates: ProtectedAggregates | None) -> str:
    params: dict[str, Any] = dict(release.parameters)
    if aggregates is not None:
        rec = aggregates.record
        # the audit intervals and notes describe suppressed cells: never in the analysts' file
        keep = ("rules", "parameters", "config", "method", "status", "cells", "primary")
        params["aggregates"] = {k: rec[k] for k in (*keep, "secondary") if k in rec}
        params["aggregates"]["audit_ok"] = aggregates.audit_ok
    return json.dumps(params, sort_keys=True, default=str)


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _copy_previous(con: duckdb.DuckDBPyConnection, previous: Path, release_id: str) -> None:
    con.execute(f"attach {_quote(str(previous))} as prev (read_only)")
    try:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = 'prev'"
            ).fetchall()
        }
        # only the release register: earlier releases' cells stay in the steward's ledger (a
        # file that shipped them all would let anyone difference every release from one file)
        for t in ("meta_release",):
            if t not in tables:
                continue
            dup = con.execute(
                f"select count(*) from prev.{t} where release_id = ?", [release_id]
            ).fetchone()[0]
            if dup:
                raise ValueError(f"release {release_id!r} is already in {previous} ({t})")
            con.execute(f"insert into {t} by name select * from prev.{t}")
    finally:
        con.execute("detach prev")


def _document(con: duckdb.DuckDBPyConnection) -> None:
    """COMMENT ON every table and column, fill data_dictionary, and refuse any gap."""
    cols = con.execute(
        "select table_name, column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'main' "
        "order by table_name, column_index"
    ).fetchall()
    present: dict[str, list[tuple[str, str]]] = {}
    for t, c, ty in cols:
        present.setdefault(t, []).append((c, ty))
    unknown = sorted(set(present) - set(CATALOGUE))
    if unknown:
        raise ValueError(f"tables {unknown} are not in the catalogue")
    rows = []
    for name, doc in CATALOGUE.items():
        if name not in present:
            raise ValueError(f"catalogue table {name!r} was not built")
        con.execute(f"comment on table {_ident(name)} is {_quote(doc.comment())}")
        for c, ty in present[name]:
            if c not in doc.columns:
                raise ValueError(f"{name}.{c} is not documented in the catalogue")
            con.execute(f"comment on column {_ident(name)}.{_ident(c)} is {_quote(doc.columns[c])}")
            rows.append((name, c, ty, doc.columns[c], doc.grain, doc.description))
    con.executemany("insert into data_dictionary values (?, ?, ?, ?, ?, ?)", rows)
    gaps = con.execute(
        "select table_name, column_name from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'main' "
        "and coalesce(comment, '') = '' union all "
        "select table_name, null from duckdb_tables() "
        "where database_name = current_database() and coalesce(comment, '') = ''"
    ).fetchall()
    if gaps:
        raise ValueError(f"undocumented tables/columns: {gaps[:10]}")


def _fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def build_research_database(
    target: Path,
    *,
    frames: Mapping[str, pl.DataFrame | Path],
    aggregates: ProtectedAggregates | None,
    release: ReleaseInfo,
    previous: Path | None = None,
    validate_before_swap: Validator | None = None,
    steward_ledger: Ledger | None = None,
    on_publish: Callable[[], None] | None = None,
    on_discard: Callable[[], None] | None = None,
) -> BuildReport:
    """Build the research database of ``release`` and swap it in atomically at ``target``.

    ``frames`` are the anonymised frames keyed by entity (``persons``, ``bridge_scores``,
    ``goals``, ``case_problems``, ``income_sources``, ``outcomes``), each a polars frame or the
    path of a Parquet file (loaded by DuckDB itself); ``aggregates`` the protected
    tables (:func:`assets.marts.aggregates.protect_aggregates`) of the same release. Rows of
    ``meta_release`` and ``release_ledger`` of ``previous`` (usually the current target) are
    carried over. ``validate_before_swap`` gets the finished temporary file and may return
    reasons to refuse it (:class:`ReleaseVetoedError`). ``steward_ledger`` (the steward's
    :class:`~assets.marts.ledger.DuckDBLedger`) records the release's true cells after the veto
    point and just before the swap, and is discarded again if the swap itself fails;
    ``on_publish`` and ``on_discard`` do the same for other steward records (the microdata
    history).
    """
    t_start = time.perf_counter()
    target = Path(target)
    if aggregates is not None and aggregates.release_id != release.release_id:
        raise ValueError(
            f"aggregates were protected for {aggregates.release_id!r}, not {release.release_id!r}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = _temp_name(target)
    steps: dict[str, float] = {}
    rows: dict[str, int] = {}
    recorded = False

    def step(name: str, t0: float) -> None:
        steps[name] = round(time.perf_counter() - t0, 3)

    try:
        con = duckdb.connect(str(tmp))
        try:
            # bounded memory: large tables stream from their Parquet files, spilling (if at
            # all) next to the temporary file, into a folder removed with it
            con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
            for doc in CATALOGUE.values():
                if doc.kind != "microdata":
                    continue
                t0 = time.perf_counter()
                source = frames.get(doc.source or "")
                if isinstance(source, Path):
                    # a table whose rows come in no particular order is written without
                    # keeping it: DuckDB then writes it to the file as it goes (no large
                    # checkpoint afterwards)
                    unordered = doc.name in UNORDERED_MARTS
                    if unordered:
                        con.execute("set preserve_insertion_order = false")
                    rows[doc.name] = _load_parquet(con, doc, source)
                    if unordered:
                        con.execute("set preserve_insertion_order = true")
                else:
                    df = _mart_frame(doc, frames)
                    _load_frame(con, doc.name, df)
                    rows[doc.name] = df.height
                    del df
                step(doc.name, t0)
            t0 = time.perf_counter()
            published = aggregates.published() if aggregates is not None else {}
            for name in AGGREGATE_TABLES:
                doc = CATALOGUE[name]
                if name not in published:
                    raise ValueError(f"aggregate table {name!r} is missing")
                df = published[name]
                undocumented = [c for c in df.columns if c not in doc.columns]
                if undocumented:
                    raise ValueError(f"{name}: columns {undocumented} are not documented")
                df = df.select(list(doc.columns))
                _load_frame(con, name, df)
                rows[name] = df.height
            step("aggregates", t0)

            t0 = time.perf_counter()
            con.execute(RELEASE_LEDGER_DDL)
            con.execute(META_RELEASE_DDL)
            if previous is not None:
                _copy_previous(con, Path(previous), release.release_id)
            if aggregates is not None:
                new = aggregates.release_rows().select(list(RESEARCH_LEDGER_SCHEMA))
                con.register("__new_ledger", new.to_arrow())
                con.execute("insert into release_ledger by name select * from __new_ledger")
                con.unregister("__new_ledger")
            for name, df in protection_frames(aggregates).items():
                _load_frame(con, name, df.select(list(CATALOGUE[name].columns)))
            built_at = (release.built_at or datetime.now(UTC)).astimezone(UTC)
            con.execute(
                "insert into meta_release values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    release.release_id,
                    built_at.replace(tzinfo=None),
                    release.code_version or code_version(),
                    _parameters_json(release, aggregates),
                    release.key_id,
                    release.k_achieved,
                    release.persons_suppressed,
                    aggregates.n_primary if aggregates else 0,
                    aggregates.n_secondary if aggregates else 0,
                    _finite(release.max_risk),
                    _finite(release.avg_risk),
                    _finite(release.information_loss),
                ],
            )
            for t in ("release_ledger", "meta_release", *PROTECTION_TABLES):
                rows[t] = con.execute(f"select count(*) from {t}").fetchone()[0]
            step("meta", t0)

            t0 = time.perf_counter()
            con.execute(DATA_DICTIONARY_DDL)
            _document(con)
            rows["data_dictionary"] = con.execute(
                "select count(*) from data_dictionary"
            ).fetchone()[0]
            step("document", t0)

            t0 = time.perf_counter()
            con.execute("checkpoint")
        finally:
            con.close()
        _fsync(tmp)  # still 0600 (born under the steward's umask 077): unchecked, private
        step("checkpoint", t0)

        if validate_before_swap is not None:
            t0 = time.perf_counter()
            reasons = list(validate_before_swap(tmp))
            step("validate", t0)
            if reasons:
                raise ReleaseVetoedError(reasons)
        if steward_ledger is not None and aggregates is not None:
            aggregates.record_release(steward_ledger)
            recorded = True
        if on_publish is not None:
            on_publish()
            recorded = True
        os.chmod(tmp, 0o644)  # readable by analysts only now: checked, just before the swap
        os.replace(tmp, target)
        _fsync(target.parent, directory=True)
    except BaseException:
        _remove(tmp)
        if recorded and hasattr(steward_ledger, "discard"):
            steward_ledger.discard(release.release_id)  # type: ignore[union-attr]
        if recorded and on_discard is not None:
            on_discard()
        raise
    return BuildReport(
        path=target,
        release_id=release.release_id,
        rows=rows,
        bytes=target.stat().st_size,
        seconds=round(time.perf_counter() - t_start, 3),
        steps=steps,
        cells_suppressed_primary=aggregates.n_primary if aggregates else 0,
        cells_suppressed_secondary=aggregates.n_secondary if aggregates else 0,
    )
