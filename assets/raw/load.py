"""Writing a read export into the ``raw`` schema of staging.duckdb (text, code columns as
ENUMs, the file manifest) beside its GX suite; the asset is ``assets.raw.assets``."""

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor

import duckdb
import polars as pl

from assets.raw.contracts import CONTRACTS
from assets.raw.csvtext import DEFECT
from assets.raw.reader import SOURCE_FILE, RawExport
from assets.raw.suite import validate_raw
from pipelines.resources import StagingDatabase, transaction, write_frame
from quality.outcome import CheckOutcome
from quality.privacy import FREE_TEXT, IDENTIFIER_COLUMN

MANIFEST_TABLE = "manifest"


def raw_table(organisation: str, export: str) -> str:
    """Table name of an export in the ``raw`` schema of staging.duckdb."""
    return f"{organisation}__{export}"


def write_raw(staging_db: StagingDatabase, organisation: str, export: str, raw: RawExport) -> None:
    """Replace the raw table and this export's manifest rows in one transaction.

    ``_source_file`` and the export's code-like columns (:func:`code_columns`) are stored as
    ENUMs of the values they hold (a quarter of the cost of text per value); the values are the
    text as read, and read back as text (``pipelines.resources.read_frame``). Never a column
    the export's contract marks personal (:func:`personal_columns`).
    """
    files = raw.manifest.get_column("source_file").to_list()
    never = personal_columns(organisation, export)
    enums = {**code_columns(raw.data, never=never), **({SOURCE_FILE: files} if files else {})}
    with staging_db.connect() as con, transaction(con):
        write_frame(con, "raw", raw_table(organisation, export), raw.data, enums=enums)
        _record_manifest(con, organisation, export, raw.manifest)


CODE_COLUMN_VALUES = 1_000
"""A raw text column with at most this many distinct values is stored as an ENUM of them."""
_PROBE_ROWS = 20_000


PERSONAL_KINDS = frozenset({"id", "bsn", "identifier", "free_text"})
"""Contract column kinds whose values identify or describe a person: never an ENUM."""


def personal_columns(organisation: str, export: str) -> tuple[str, ...]:
    """The columns of the export's contract whose kind is in :data:`PERSONAL_KINDS` (none for
    an export without a contract)."""
    contract = CONTRACTS.get(organisation)
    if contract is None or export not in {e.name for e in contract.exports}:
        return ()
    return tuple(c.name for c in contract.export(export).columns if c.kind in PERSONAL_KINDS)


def code_columns(
    df: pl.DataFrame, limit: int = CODE_COLUMN_VALUES, *, never: Collection[str] = ()
) -> dict[str, list[str]]:
    """Text columns of ``df`` with few distinct values (codes, levels): column -> those values.
    Only columns whose first rows already look code-like are counted in full.

    Never a column in ``never`` (the contract's personal columns), whose name marks a direct
    identifier or free text (names, addresses, notes: ``quality.privacy.IDENTIFIER_COLUMN``) or
    that holds a sentence: an ENUM's values live in the table's definition, where a deleted
    row's value would outlive an erasure until the next raw load."""
    probe = df.head(_PROBE_ROWS)
    out: dict[str, list[str]] = {}
    for column, dtype in df.schema.items():
        lineage = column in (SOURCE_FILE, DEFECT)
        personal = column in never or IDENTIFIER_COLUMN.search(column)
        if lineage or dtype != pl.String or personal:
            continue
        if probe.get_column(column).n_unique() > min(limit, max(probe.height // 10, 50)):
            continue  # ids, names, free text
        values = df.get_column(column).drop_nulls().unique()
        if values.len() <= limit and not values.str.contains(FREE_TEXT).any():
            out[column] = values.to_list()
    return out


def write_and_validate(
    staging_db: StagingDatabase, organisation: str, export: str, raw: RawExport
) -> CheckOutcome:
    """:func:`write_raw` and the export's GX suite (:func:`validate_raw`) side by side.

    DuckDB writes without the GIL and GX validates in Python, so the write runs in a worker
    thread while this thread validates (both only read ``raw``). A failed write raises here.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-write") as pool:
        written = pool.submit(write_raw, staging_db, organisation, export, raw)
        try:
            outcome = validate_raw(organisation, export, raw.data)
        finally:
            written.result()  # waits; re-raises the write's error
    return outcome


def _record_manifest(
    con: duckdb.DuckDBPyConnection, organisation: str, export: str, manifest: pl.DataFrame
) -> None:
    """Replace this export's rows in raw.manifest (file, sha256, rows, when loaded)."""
    con.execute(
        f"create table if not exists raw.{MANIFEST_TABLE} (organisation varchar,"
        " export varchar, source_file varchar, sha256 varchar, bytes bigint, rows bigint,"
        " encoding varchar, loaded_at timestamp)"
    )
    con.execute(
        f"delete from raw.{MANIFEST_TABLE} where organisation = ? and export = ?",
        [organisation, export],
    )
    con.register("_m", manifest)
    con.execute(f"insert into raw.{MANIFEST_TABLE} select *, current_timestamp from _m")
    con.unregister("_m")
