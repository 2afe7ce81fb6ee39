"""Dagster resources: the steward's staging database and the pseudonymisation key."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa

from anonymise.pseudonym import key_id
from pipelines.keys import load_key
from pipelines.locking import exclusive_run, fail_orphaned_runs
from pipelines.modes import apply_umask, check_steward_files

# AUDIT_DDL and transaction are re-exported: assets reach the shared helpers through resources
from pipelines.sql import AUDIT_DDL, column_list, qualified, quote_ident, transaction  # noqa: F401

LAYERS = ("raw", "canonical", "quarantine", "pseudonymised", "meta")
"""Schemas in staging.duckdb, one per layer (the staging_* assets live in `canonical`: a schema
named `staging` would clash with the file's own catalog name)."""


WRITE_SLICE_ROWS = 4_000_000
"""Rows converted to Arrow and inserted at a time by :func:`write_frame`."""

ARROW_BATCH_ROWS = 122_880
"""Rows per Arrow record batch handed to DuckDB (its row-group size): DuckDB scans batches in
parallel, so a frame of one chunk is still written by every thread."""

DUCKDB_SETTINGS: dict[str, str] = {
    "disabled_compression_methods": "fsst,dict_fsst",
    "max_vacuum_tasks": "0",
}
"""Settings of every read-write connection.

* No FSST: its analysis is the most expensive part of writing text columns (~25 % of the CPU of
  writing the raw exports, ~15 % for the 5.5 M-row score table at 200 k people) and gains little
  on the steward's tables, dominated by codes and ids that dictionary compression handles.
* No vacuum: a checkpoint after the governance purge would otherwise compact every row group
  with deleted rows, ~6 s for the 28 M-row score table at 1 M people, and it happens at the next
  checkpoint of any connection. Deleted rows stay marked deleted (invisible to every query)
  until the table is rebuilt, which the raw and staging assets do on every run."""


READ_SETTINGS: dict[str, str] = {"arrow_output_version": "1.4", "produce_arrow_string_view": "true"}
"""Settings of every connection: Arrow results carry text as string views, which polars takes
without a copy (reading a 3.7 M x 13 text table: 0.9 s of conversion saved)."""


CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
"""A value with a control character (a NUL byte in a broken export) never goes into an ENUM:
DuckDB re-parses an ENUM's values from the table definition, and a NUL cuts that text short."""


def enum_safe(values: Sequence[str]) -> bool:
    """Whether ``values`` can be the values of a DuckDB ENUM (no control characters)."""
    return not any(CONTROL_CHARACTER.search(str(v)) for v in values)


def write_frame(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    table: str,
    df: pl.DataFrame,
    *,
    enums: Mapping[str, Sequence[str]] | None = None,
    append: bool = False,
) -> int:
    """Replace (or with ``append`` extend) ``layer.table`` with ``df`` on an open connection.

    Columns named in ``enums`` are stored as DuckDB ``ENUM`` of the given values (a value outside
    them fails the write): a code column of 25 M rows costs a quarter of its text write and reads
    back as text (:func:`read_frame`). In SQL an ENUM compares, joins and concatenates as text.
    The ENUM types are made from the values as a registered relation, never from SQL text with
    the values in it (:func:`_enum_types`); values with control characters stay text.
    The caller owns the transaction. Returns the row count.
    """
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; expected one of {LAYERS}")
    name = qualified(layer, table)
    wanted = {c: v for c, v in (enums or {}).items() if c in df.columns and enum_safe(v)}
    types = _enum_types(con, layer, wanted)
    select = "select *"
    if types:
        select += (
            " replace (" + ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in types.items()) + ")"
        )
    try:
        # In slices of WRITE_SLICE_ROWS rows: only one slice at a time is copied to Arrow, so a
        # 25 M-row table is never held twice in memory.
        for i, start in enumerate(range(0, max(df.height, 1), WRITE_SLICE_ROWS)):
            frame = _arrow_for_duckdb(df.slice(start, WRITE_SLICE_ROWS))
            con.register("_frame", frame)
            try:
                if i == 0 and not append:
                    con.execute(f"create or replace table {name} as {select} from _frame")
                else:
                    con.execute(f"insert into {name} {select} from _frame")
            finally:
                con.unregister("_frame")
            del frame
    finally:
        # A table column keeps its own copy of the ENUM: the named types are only a vehicle.
        for t in types.values():
            con.execute(f"drop type if exists {t}")
    return df.height


def replace_partition(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    table: str,
    df: pl.DataFrame,
    *,
    column: str,
    value: str,
    enums: Mapping[str, Sequence[str]] | None = None,
) -> int:
    """Replace the rows of ``layer.table`` whose ``column`` is ``value`` (one organisation's)
    by ``df``, leaving every other row as it is; the caller owns the transaction, so a failure
    leaves the old rows of ``value`` too. Returns the row count.

    A table that does not exist yet, or has other columns than ``df`` (written by an older
    version), is written whole from ``df`` (:func:`write_frame`). An ENUM column (``enums``)
    whose type lacks a value of ``df``'s is first widened to hold the old values and the new
    ones (a new landing file's name); values an ENUM cannot hold turn the column into text.
    """
    name = qualified(layer, table)
    present = {
        r[0]: str(r[1])
        for r in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [layer, table],
        ).fetchall()
    }
    if list(present) != df.columns:
        return write_frame(con, layer, table, df, enums=enums)
    for col, values in (enums or {}).items():
        if col in present and present[col].startswith("ENUM"):
            _widen_enum(con, layer, name, col, values)
    con.execute(f"delete from {name} where {quote_ident(column)} = ?", [value])
    return write_frame(con, layer, table, df, append=True)


def _widen_enum(
    con: duckdb.DuckDBPyConnection, layer: str, name: str, column: str, values: Sequence[str]
) -> None:
    """Make the ENUM ``column`` of ``name`` hold ``values`` too (text if they cannot be ENUM
    values); the column's type is read from the table, never written as SQL text."""
    (current,) = con.execute(
        f"select enum_range(max({quote_ident(column)})) from {name}"
    ).fetchone()
    wanted = {str(v) for v in values}
    if wanted <= set(current):
        return
    if not enum_safe(sorted(wanted)):
        con.execute(f"alter table {name} alter column {quote_ident(column)} set data type varchar")
        return
    types = _enum_types(con, layer, {column: sorted(wanted | set(current))})
    try:
        con.execute(
            f"alter table {name} alter column {quote_ident(column)} set data type {types[column]}"
        )
    finally:
        con.execute(f"drop type if exists {types[column]}")


def _enum_types(
    con: duckdb.DuckDBPyConnection, layer: str, enums: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """Column -> the qualified name of a new ENUM type of its values (sorted, so ``order by``
    sorts as the text would), created from a registered relation: the values never become
    SQL text, so no value can break the statement or appear in a parser error."""
    out: dict[str, str] = {}
    for column, values in enums.items():
        type_name = f'"{layer}"."_enum_{uuid.uuid4().hex}"'
        con.register("_enum_values", pl.DataFrame({"v": sorted({str(v) for v in values})}))
        try:
            con.execute(f"create type {type_name} as enum (select v from _enum_values order by v)")
        finally:
            con.unregister("_enum_values")
        out[column] = type_name
    return out


def read_frame(
    con: duckdb.DuckDBPyConnection,
    query: str,
    params: Sequence[object] | None = None,
    *,
    categorical: bool = False,
) -> pl.DataFrame:
    """The result of ``query`` as a polars frame, through Arrow record batches (about twice as
    fast as ``.pl()`` on tens of millions of rows with DuckDB 1.5.6).

    ``ENUM`` columns arrive as ``pl.String`` (the logical type every reader expects), or as
    ``pl.Categorical`` with ``categorical=True`` (less memory for large code columns).
    """
    result = con.execute(query, params) if params is not None else con.execute(query)
    reader = result.arrow()
    table = reader if isinstance(reader, pa.Table) else reader.read_all()
    df = pl.from_arrow(table, rechunk=False)
    assert isinstance(df, pl.DataFrame)
    if not categorical:
        cats = [c for c, t in df.schema.items() if isinstance(t, pl.Categorical | pl.Enum)]
        if cats:
            df = df.with_columns(pl.col(cats).cast(pl.String))
    return df


def select_columns(columns: Sequence[str] | None) -> str:
    """``*`` or the quoted column list for a ``select``."""
    return column_list(columns) if columns else "*"


def column_type(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> str:
    """The DuckDB type of ``relation.column`` (ENUM(...) for a code column)."""
    for name, dtype, *_ in con.execute(f"describe {relation}").fetchall():
        if name == column:
            return str(dtype)
    raise ValueError(f"{relation} has no column {column!r}")


def temp_table_keyed_like(
    con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, *, like: str
) -> None:
    """Load ``frame`` into the temporary table ``name`` with its ``organisation`` column typed
    as in the table ``like`` (ENUM or text): joins on it then compare codes, not text."""
    org_type = column_type(con, like, "organisation")
    rest = column_list([c for c in frame.columns if c != "organisation"])
    con.register("_keyed_frame", frame)
    try:
        con.execute(
            f"create or replace temp table {name} as select cast(organisation as {org_type}) "
            f"as organisation, {rest} from _keyed_frame"
        )
    finally:
        con.unregister("_keyed_frame")


class StagingDatabase(dg.ConfigurableResource):
    """staging.duckdb: raw, staging, quarantine and pseudonymised layers (steward only, 0600).

    In a Dagster run the resource holds the exclusive run lock on ``run_lock_dir`` (default:
    the database's folder) from the run's first step to its last (``pipelines.locking``), and
    marks runs that a kill left ``STARTED`` as failed."""

    path: str
    run_lock_dir: str = ""

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[StagingDatabase]:
        """The resource for one run, with the run lock held throughout."""
        lock_dir = Path(self.run_lock_dir) if self.run_lock_dir else Path(self.path).parent
        with exclusive_run(lock_dir):
            if context.instance is not None:
                run = context.run
                keep = run.run_id if run is not None else None
                orphans = fail_orphaned_runs(context.instance, keep=keep)
                if orphans and context.log is not None:
                    context.log.warning(f"Marked {len(orphans)} interrupted run(s) failed.")
            yield self

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection; the file is created with its layer schemas.

        The process runs under umask 077 from the first connection on (``pipelines.modes``):
        the file and its WAL are born 0600. A file or WAL found readable by others is refused
        (``StewardModeError``, with an audit entry), never quietly chmod-ed.

        Within one process use one kind of connection at a time: DuckDB refuses a read-only
        connection to a file that is open read-write (use this one for both).
        """
        apply_umask()
        p = Path(self.path)
        p.parent.mkdir(parents=True, exist_ok=True)
        check_steward_files(p)
        con = duckdb.connect(str(p), read_only=read_only)
        try:
            # SET, not connect(config=…): another connection to the file in this process
            # (plain duckdb.connect) must not see a "different configuration".
            for setting, value in READ_SETTINGS.items():
                con.execute(f"set {setting} = '{value}'")
            if not read_only:
                for setting, value in DUCKDB_SETTINGS.items():
                    con.execute(f"set {setting} = '{value}'")
                for schema in LAYERS:
                    con.execute(f"create schema if not exists {quote_ident(schema)}")
            yield con
        finally:
            con.close()

    def write(
        self,
        layer: str,
        table: str,
        df: pl.DataFrame,
        *,
        enums: Mapping[str, Sequence[str]] | None = None,
    ) -> int:
        """Replace ``layer.table`` with ``df`` in one transaction (readers see the whole table
        or the previous one); ``enums`` as in :func:`write_frame`. Returns the row count."""
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; expected one of {LAYERS}")
        with self.connect() as con, transaction(con):
            write_frame(con, layer, table, df, enums=enums)
        return df.height

    def read(
        self,
        layer: str,
        table: str,
        columns: Sequence[str] | None = None,
        *,
        categorical: bool = False,
    ) -> pl.DataFrame:
        """``layer.table`` (or only ``columns`` of it) as a polars frame (:func:`read_frame`:
        ENUM code columns as ``pl.String`` unless ``categorical``)."""
        with self.connect(read_only=True) as con:
            return read_frame(
                con,
                f"select {select_columns(columns)} from {qualified(layer, table)}",
                categorical=categorical,
            )

    def tables(self, layer: str) -> list[str]:
        """Names of the tables in one layer."""
        with self.connect(read_only=True) as con:
            rows = con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "order by table_name",
                [layer],
            ).fetchall()
        return [r[0] for r in rows]


def _arrow_for_duckdb(df: pl.DataFrame) -> pa.Table:
    """polars -> Arrow as DuckDB ingests it fastest: string views (no copy into large strings;
    measured 28 % faster than 32-bit-offset strings on a 5.5 M-row score table) in record
    batches of ARROW_BATCH_ROWS rows, so DuckDB's threads share the work."""
    table = df.to_arrow(compat_level=pl.CompatLevel.newest())
    if table.num_rows <= ARROW_BATCH_ROWS:
        return table
    return pa.Table.from_batches(table.to_batches(max_chunksize=ARROW_BATCH_ROWS), table.schema)


class PseudonymKey(dg.ConfigurableResource):
    """The research project's pseudonymisation key (env var or a 0600 key file outside the repo)."""

    key_file: str

    def load(self) -> bytes:
        """The key bytes. Hand them to ``anonymise.pseudonym`` (or derive the cell-key secret
        from them) only; never log or store them."""
        return load_key(Path(self.key_file))

    def key_id(self) -> str:
        """The key's public fingerprint (stored with every pseudonymised table and release)."""
        return key_id(self.load())


class LandingFolder(dg.ConfigurableResource):
    """The folder the organisations' exports are dropped in (one sub-folder per organisation)."""

    path: str
    organisations: list[str]

    def root(self) -> Path:
        """The landing folder as a path."""
        return Path(self.path)
