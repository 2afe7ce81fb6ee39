"""Every organisation's raw tables through its adapter into the canonical model.

:func:`stage` reads each organisation's raw tables (duplicates flagged, ragged rows split off),
adapts them and writes the union per canonical entity, every rejected row to ``quarantine.rows``
(organisation, file, row, rule — no values) and the per-file balance; the blocking
conservation check proves per file: raw rows = staged + quarantined + removed duplicates +
withheld. The asset is ``assets.staging.assets``.
"""

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from types import ModuleType

import duckdb
import polars as pl

from assets.raw.contracts import ExportSpec
from assets.raw.csvtext import DEFECT, FIELD_COUNT
from assets.raw.load import raw_table
from assets.staging import schema
from assets.staging.adapters import ADAPTERS, BALANCE_SCHEMA, conservation
from assets.staging.adapters.common import (
    DUPLICATE,
    SOURCE_FILE,
    SOURCE_ROW,
    repeated,
    row_hash,
)
from assets.staging.suite import StagingValidation
from pipelines.resources import (
    StagingDatabase,
    qualified,
    read_frame,
    replace_partition,
    transaction,
)
from quality.conservation import check_conservation
from quality.outcome import CheckOutcome


def run_adapters(
    raw_by_org: Mapping[str, Mapping[str, pl.DataFrame]],
    adapters: Mapping[str, ModuleType] = ADAPTERS,
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame]:
    """Adapt every organisation; returns (entity -> union frame, quarantine, file balance)."""
    tables: dict[str, list[pl.DataFrame]] = {e: [] for e in schema.ENTITIES}
    quarantine, balance = [], []
    for org, raw in raw_by_org.items():
        clean, defects = split_defects(org, raw)
        result = adapters[org].adapt(clean)
        if defects.height:
            result = replace(result, quarantine=pl.concat([defects, result.quarantine]))
        for entity, df in result.tables.items():
            tables[entity].append(schema.conform(df, schema.ENTITIES[entity]))
        quarantine.append(schema.conform(result.quarantine, schema.QUARANTINE))
        balance.append(conservation(raw, result).with_columns(organisation=pl.lit(org)))
    union = {
        e: pl.concat(fs) if fs else schema.empty(schema.ENTITIES[e]) for e, fs in tables.items()
    }
    q = pl.concat(quarantine) if quarantine else schema.empty(schema.QUARANTINE)
    b = pl.concat(balance, how="diagonal_relaxed") if balance else pl.DataFrame()
    return union, q, b


DEFECT_DETAIL = {
    FIELD_COUNT: "the row has another number of fields than the header (a truncated row or a "
    "separator inside an unquoted field); its columns cannot be told apart"
}
"""Rules the raw reader marks in ``_defect`` -> detail sentence (no values)."""


def split_defects(
    organisation: str, raw: Mapping[str, pl.DataFrame]
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Raw frames without the rows the reader marked in ``_defect`` (ragged rows), and those
    rows as QUARANTINE rows (entity: the export's name; they never reach an adapter, whose
    columns they would fill with shifted values)."""
    clean: dict[str, pl.DataFrame] = {}
    parts = []
    for export, df in raw.items():
        if DEFECT not in df.columns:
            clean[export] = df
            continue
        bad = pl.col(DEFECT).is_not_null()
        parts.append(
            df.filter(bad).select(
                pl.lit(organisation).alias("organisation"),
                pl.col(SOURCE_FILE).alias("source_file"),
                pl.col(SOURCE_ROW).alias("source_row"),
                pl.lit(export).alias("entity"),
                pl.col(DEFECT).alias("rule"),
                pl.col(DEFECT).replace_strict(DEFECT_DETAIL, default="").alias("detail"),
            )
        )
        clean[export] = df.filter(~bad).drop(DEFECT)
    q = pl.concat(parts) if parts else schema.empty(schema.QUARANTINE)
    return clean, schema.conform(q, schema.QUARANTINE)


_REST_HASH = "_rest_hash"


def _quoted(columns: Sequence[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{c}"' for c in columns)


def read_raw_export(
    con: duckdb.DuckDBPyConnection, organisation: str, spec: ExportSpec
) -> pl.DataFrame:
    """One raw table as its adapter needs it: the columns its contract says staging reads
    (``spec.read``, under their aliases), the lineage, and ``_duplicate``: the row exactly
    repeats an earlier row of its file, compared over *every* export column, also those not
    read, in file order.

    Duplicates are found hash first: DuckDB hashes the columns not read into one value in the
    same scan, polars hashes the rest; only the rows whose hash repeats (about 1 %) are fetched
    whole and compared value by value, so the flag is exact.
    """
    table = f'raw."{raw_table(organisation, spec.name)}"'
    present = [r[0] for r in con.execute(f"describe {table}").fetchall()]
    data = [c for c in present if c not in (SOURCE_FILE, SOURCE_ROW, DEFECT)]
    lineage = [SOURCE_FILE, SOURCE_ROW, *([DEFECT] if DEFECT in present else [])]
    wanted = list(spec.read)
    missing = [c for c in wanted if c not in data]
    if missing and data:
        raise ValueError(
            f"{table} lacks column(s) {missing} that the {organisation} adapter reads; "
            f"check the export contract '{spec.name}' (assets/raw/contracts/{organisation}.py)."
        )
    read = [c for c in wanted if c in data]
    rest = [c for c in data if c not in read]
    rest_hash = f", hash({_quoted(rest)}) as {_REST_HASH}" if rest else ""
    df = read_frame(con, f"select {_quoted([*read, *lineage])}{rest_hash} from {table}")
    key = [SOURCE_FILE, *read, *([_REST_HASH] if rest else [])]
    maybe = repeated(df.select(row_hash(key)).to_series())
    duplicates = pl.DataFrame(schema={SOURCE_FILE: pl.String, SOURCE_ROW: pl.Int64})
    if maybe.any():
        candidates = df.filter(maybe).select(SOURCE_FILE, SOURCE_ROW)
        if rest:  # compare the candidates on every column
            con.register("_candidates", candidates)
            candidates = read_frame(
                con,
                f"select t.* from {table} t "
                f"semi join _candidates c using ({SOURCE_FILE}, {SOURCE_ROW})",
            )
            con.unregister("_candidates")
        else:
            candidates = df.filter(maybe).drop(_REST_HASH, strict=False)
        duplicates = (
            candidates.sort(SOURCE_FILE, SOURCE_ROW)  # file order
            .filter(~pl.struct([SOURCE_FILE, *data]).is_first_distinct())
            .select(SOURCE_FILE, SOURCE_ROW)
        )
    df = df.drop(_REST_HASH, strict=False)
    # An export without files (optional) has no columns at all: give it the ones the adapter reads.
    df = df.with_columns([pl.lit(None, pl.String).alias(c) for c in missing])
    flagged = (
        df.select(SOURCE_FILE, SOURCE_ROW)
        .join(
            duplicates.with_columns(pl.lit(True).alias(DUPLICATE)),
            on=[SOURCE_FILE, SOURCE_ROW],
            how="left",
            maintain_order="left",
        )
        .get_column(DUPLICATE)
        .fill_null(False)
        if duplicates.height
        else pl.repeat(False, df.height, dtype=pl.Boolean, eager=True).alias(DUPLICATE)
    )
    renamed = {name: alias for name, alias in spec.renamed.items() if name in df.columns}
    return df.with_columns(flagged).rename(renamed)


def load_raw(
    staging_db: StagingDatabase, organisations: Sequence[str]
) -> dict[str, dict[str, pl.DataFrame]]:
    """The raw tables of ``organisations`` (organisation -> export name -> frame) as their
    adapters read them (:func:`read_raw_export`)."""
    with staging_db.connect(read_only=True) as con:
        return {
            org: {spec.name: read_raw_export(con, org, spec) for spec in ADAPTERS[org].EXPORTS}
            for org in organisations
        }


def source_file_values(con: duckdb.DuckDBPyConnection, organisations: Sequence[str]) -> list[str]:
    """Every landing file name staging can meet: the manifest's and the raw tables' (the ENUM
    values of the canonical ``source_file`` columns)."""
    parts = ["select source_file from raw.manifest"]
    for org in organisations:
        for spec in ADAPTERS[org].EXPORTS:
            parts.append(f'select distinct {SOURCE_FILE} from raw."{raw_table(org, spec.name)}"')
    rows = con.execute(" union ".join(parts)).fetchall()
    return sorted({str(r[0]) for r in rows if r[0] is not None})


@dataclass
class Staged:
    """What :func:`stage` wrote, for the asset's metadata and checks."""

    rows: dict[str, dict[str, int]]  # entity -> organisation -> staged rows
    quarantine: pl.DataFrame
    balance: pl.DataFrame
    manifest: pl.DataFrame
    outcomes: dict[str, CheckOutcome]  # entity -> GX suite outcome
    conservation: CheckOutcome


def _no_step(name: str) -> AbstractContextManager[object]:
    return nullcontext()


ORGANISATION = "organisation"
"""The partition column of every staging table (canonical entities, quarantine, file balance)."""


def stage(
    staging_db: StagingDatabase,
    organisations: Sequence[str],
    *,
    remove: Sequence[str] = (),
    step: Callable[[str], AbstractContextManager[object]] = _no_step,
) -> Staged:
    """Adapt each organisation's raw tables and replace its rows of the canonical tables,
    quarantine and file balance; validate them (GX suites, conservation). ``remove`` names
    organisations whose rows are deleted instead (switched off in brugstat.toml).
    ``step(name)`` wraps each step (timing).

    One organisation (partition) at a time, each in its own transaction (read its raw rows,
    adapt, collect its witness rows for the GX suites, replace its rows): only one
    organisation's frames are ever in memory, every other organisation's rows stay as they
    are, and a failure leaves the failing organisation's previous rows in place (the ones
    committed before it stay committed; the error is raised).
    """
    validation = StagingValidation()
    rows: dict[str, dict[str, int]] = {e: {} for e in schema.ENTITIES}
    q_parts, b_parts = [], []
    with staging_db.connect() as con:
        manifest = read_frame(con, "select * from raw.manifest")
        for org in organisations:
            with step(f"read raw {org}"):
                raw = {spec.name: read_raw_export(con, org, spec) for spec in ADAPTERS[org].EXPORTS}
            with step(f"adapt {org}"):
                union, q, b = run_adapters({org: raw})
            del raw
            with step(f"witness {org}"):
                validation.add(union)
            enums = {**schema.ENUM_COLUMNS, "source_file": source_file_values(con, [org])}
            with step(f"write {org}"), transaction(con):
                for entity in schema.ENTITIES:
                    df = union.pop(entity)
                    rows[entity][org] = _replace(con, "canonical", entity, org, df, enums)
                    del df
                _replace(con, "quarantine", "rows", org, q)
                _replace(con, "canonical", "file_balance", org, b.cast(BALANCE_TYPES))
            q_parts.append(q)
            b_parts.append(b)
        for org in remove:
            with step(f"remove {org}"), transaction(con):
                for layer, table in STAGING_TABLES:
                    if _exists(con, layer, table):
                        con.execute(
                            f"delete from {qualified(layer, table)} where {ORGANISATION} = ?",
                            [org],
                        )
    quarantine = pl.concat(q_parts) if q_parts else schema.empty(schema.QUARANTINE)
    balance = pl.concat(b_parts, how="diagonal_relaxed") if b_parts else schema.empty(BALANCE_TYPES)
    with step("validate (GX)"):
        outcomes = validation.outcomes()
    staged_manifest = manifest.filter(pl.col(ORGANISATION).is_in(list(organisations)))
    return Staged(
        rows=rows,
        quarantine=quarantine,
        balance=balance,
        manifest=manifest,
        outcomes=outcomes,
        conservation=check_conservation(balance, staged_manifest),
    )


STAGING_TABLES: tuple[tuple[str, str], ...] = (
    *(("canonical", e) for e in schema.ENTITIES),
    ("quarantine", "rows"),
    ("canonical", "file_balance"),
)
"""Every table staging writes, as (layer, table): each holds whole organisations."""

BALANCE_TYPES: dict[str, pl.DataType] = {**BALANCE_SCHEMA, ORGANISATION: pl.String()}
"""The file balance's columns: per source file its counts, and the organisation."""


def _replace(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    table: str,
    org: str,
    df: pl.DataFrame,
    enums: dict[str, Sequence[str]] | None = None,
) -> int:
    return replace_partition(con, layer, table, df, column=ORGANISATION, value=org, enums=enums)


def _exists(con: duckdb.DuckDBPyConnection, layer: str, table: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [layer, table],
    ).fetchone()
    return bool(found and found[0])
