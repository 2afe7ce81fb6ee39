"""The release ledger in DuckDB, split between what the steward keeps and what analysts see.

The audit of a new release (:func:`anonymise.tables.protect` with a ledger) needs, for every cell
of every earlier release, its **true** value (also of suppressed cells: that is the secret the
audit protects), its protection levels and each release's equations. Those belong to the steward
only, so :class:`DuckDBLedger` — the :class:`~anonymise.tables.Ledger` the pipeline passes to
``protect`` — lives in the steward's database (``staging.duckdb``, mode 0600, schema ``ledger``).

``research.duckdb`` gets ``release_ledger`` (:func:`published_rows`): release, table, cell key,
coordinates, the value *as published* (NULL when suppressed) and the suppression flag — nothing
an analyst could not already read from the published tables. Contributors, protection levels and
reasons are left out: for a suppressed frequency cell the contributor count *is* its value, and the
reason would tell small (primary) cells from secondary ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import ClassVar

import duckdb
import polars as pl

from anonymise.tables.ledger import CELL_SCHEMA, EQUATION_SCHEMA
from pipelines.resources import transaction

RESEARCH_LEDGER_SCHEMA: dict[str, pl.DataType] = {
    "release_id": pl.String(),
    "table_name": pl.String(),
    "cell_key": pl.String(),
    "coordinates": pl.String(),
    "value": pl.Float64(),
    "is_suppressed": pl.Boolean(),
}
"""Columns of ``release_ledger`` in research.duckdb (documented in the catalogue)."""

POPULATION_LEDGER = "ledger_population"
"""Schema of the steward's cell ledger: one per population (deployment), across every data
snapshot, so each release is audited with every earlier one (ADR 0005)."""

_DUCK_TYPES = {
    pl.String: "VARCHAR",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
    pl.Int64: "BIGINT",
}


def _ddl(schema: dict) -> str:
    def duck(t) -> str:
        return _DUCK_TYPES[t if isinstance(t, type) else type(t)]

    return ", ".join(f'"{c}" {duck(t)}' for c, t in schema.items())


def published_rows(cells: pl.DataFrame, *, zeros: bool = False) -> pl.DataFrame:
    """``release_ledger`` rows from ledger cells: only what was published (no true values).

    >>> import polars as pl
    >>> cells = pl.DataFrame({"release_id": ["r1", "r1"], "table": ["t", "t"],
    ...     "key": ["count|g=a", "count|g=b"], "coordinates": ["g=a", "g=b"],
    ...     "value": [12.0, 3.0], "published_value": [13.0, None], "suppressed": [False, True]})
    >>> published_rows(cells)["value"].to_list()
    [13.0, None]

    The value is ``published_value`` (perturbed under the cell key method). Cells with a true
    zero are not published (see ``ProtectedAggregates.published``), so they are not listed here
    either — unless ``zeros`` (a table the cell key method alone protects lists every cell).
    """
    listed = pl.lit(True) if zeros else pl.col("suppressed") | (pl.col("value") != 0)
    return cells.filter(listed).select(
        pl.col("release_id").cast(pl.String),
        pl.col("table").cast(pl.String).alias("table_name"),
        pl.col("key").cast(pl.String).alias("cell_key"),
        pl.col("coordinates").cast(pl.String),
        pl.when(pl.col("suppressed"))
        .then(pl.lit(None, pl.Float64))
        .otherwise(pl.col("published_value").cast(pl.Float64))
        .alias("value"),
        pl.col("suppressed").cast(pl.Boolean).alias("is_suppressed"),
    )


@contextmanager
def _steward_schema(
    database: Path, schema: str, tables: dict[str, str]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the steward's ``database`` with ``schema`` and its ``tables`` (name →
    column DDL) created if missing; a new file gets mode 0600. Closed when the block ends."""
    new = not database.exists()
    con = duckdb.connect(str(database))
    try:
        if new:
            os.chmod(database, 0o600)
        con.execute(f"create schema if not exists {schema}")
        for name, columns in tables.items():
            con.execute(f"create table if not exists {schema}.{name} ({columns})")
        yield con
    finally:
        con.close()


class _StewardStore:
    """A store in its own schema of the steward's database: ``TABLES`` (name → column DDL)
    created on first use; a connection per call (no lock held between calls)."""

    DEFAULT_SCHEMA: ClassVar[str] = "steward"
    TABLES: ClassVar[dict[str, str]] = {}

    def __init__(self, database: Path | str, *, schema: str | None = None) -> None:
        schema = schema or self.DEFAULT_SCHEMA
        if not schema.isidentifier():
            raise ValueError(f"schema {schema!r} is not a plain identifier")
        self.database = Path(database)
        self.schema = schema

    def _connect(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return _steward_schema(self.database, self.schema, self.TABLES)


class DuckDBLedger(_StewardStore):
    """The steward's :class:`~anonymise.tables.Ledger` in a DuckDB file (schema ``ledger``).

    Tables ``<schema>.releases`` (order of recording), ``<schema>.cells`` (every cell with its
    true value, protection levels and reason), ``<schema>.equations`` and ``<schema>.published``
    (every cell as analysts saw it, the cell key method's tables included: what the report
    compares a new edition with). Pass the steward's
    database, never research.duckdb. A connection is opened per call, so the ledger holds no
    lock between calls; a new file is created with mode 0600.
    """

    DEFAULT_SCHEMA: ClassVar[str] = "ledger"
    TABLES: ClassVar[dict[str, str]] = {
        "releases": "release_id varchar primary key, seq bigint, recorded_at timestamptz",
        "cells": _ddl(CELL_SCHEMA),
        "equations": _ddl(EQUATION_SCHEMA),
        "published": _ddl(RESEARCH_LEDGER_SCHEMA),
    }

    def record(
        self,
        release_id: str,
        cells: pl.DataFrame,
        equations: pl.DataFrame,
        *,
        published: pl.DataFrame | None = None,
    ) -> None:
        """Store a release's cells and equations (one transaction; a release id only once),
        and ``published``, its cells as analysts saw them (by default those of ``cells``)."""
        cells = cells.select(list(CELL_SCHEMA)).cast(CELL_SCHEMA)
        equations = equations.select(list(EQUATION_SCHEMA)).cast(EQUATION_SCHEMA)
        seen = published_rows(cells) if published is None else published
        seen = seen.select(list(RESEARCH_LEDGER_SCHEMA)).cast(RESEARCH_LEDGER_SCHEMA)
        s = self.schema
        with self._connect() as con:
            if con.execute(
                f"select count(*) from {s}.releases where release_id = ?", [release_id]
            ).fetchone()[0]:
                raise ValueError(f"release {release_id!r} is already recorded")
            with transaction(con):
                con.execute(
                    f"insert into {s}.releases select ?, "
                    f"coalesce(max(seq), 0) + 1, current_timestamp from {s}.releases",
                    [release_id],
                )
                con.register("new_cells", cells.to_arrow())
                con.register("new_equations", equations.to_arrow())
                con.register("new_published", seen.to_arrow())
                con.execute(f"insert into {s}.cells by name select * from new_cells")
                con.execute(f"insert into {s}.equations by name select * from new_equations")
                con.execute(f"insert into {s}.published by name select * from new_published")

    def discard(self, release_id: str) -> None:
        """Remove a release that was recorded but then not published (e.g. the swap failed)."""
        s = self.schema
        with self._connect() as con, transaction(con):
            for t in ("cells", "equations", "published", "releases"):
                con.execute(f"delete from {s}.{t} where release_id = ?", [release_id])

    def releases(self) -> list[str]:
        """Recorded release ids, oldest first."""
        with self._connect() as con:
            rows = con.execute(f"select release_id from {self.schema}.releases order by seq")
            return [r[0] for r in rows.fetchall()]

    def _before(self, table: str, schema: dict, before_release: str | None) -> pl.DataFrame:
        s = self.schema
        with self._connect() as con:
            seq = None
            if before_release is not None:
                row = con.execute(
                    f"select seq from {s}.releases where release_id = ?", [before_release]
                ).fetchone()
                seq = row[0] if row else None
            cols = ", ".join(f't."{c}"' for c in schema)
            sql = (
                f"select {cols} from {s}.{table} t join {s}.releases r using (release_id) "
                + ("where r.seq < ? " if seq is not None else "")
                + "order by r.seq"
            )
            df = con.execute(sql, [seq] if seq is not None else []).pl()
        if df.height == 0:
            return pl.DataFrame(schema=schema)
        return df.cast(schema)

    def release_rows(self, release_id: str) -> pl.DataFrame:
        """One recorded release's cells as analysts saw them (:func:`published_rows`: the
        published value, NULL when suppressed); empty when the release is not recorded."""
        if not self.database.exists():
            return pl.DataFrame(schema=RESEARCH_LEDGER_SCHEMA)
        with self._connect() as con:
            seen = con.execute(
                f"select * from {self.schema}.published where release_id = ?", [release_id]
            ).pl()
            if seen.height:
                return seen.select(list(RESEARCH_LEDGER_SCHEMA)).cast(RESEARCH_LEDGER_SCHEMA)
            # a release recorded before the ledger kept what was published: its cells say it
            cells = con.execute(
                f"select * from {self.schema}.cells where release_id = ?", [release_id]
            ).pl()
        if cells.height == 0:
            return pl.DataFrame(schema=RESEARCH_LEDGER_SCHEMA)
        return published_rows(cells.cast(CELL_SCHEMA))

    def published(self, before_release: str | None = None) -> pl.DataFrame:
        """Cells of every release recorded before ``before_release`` (all when ``None``)."""
        return self._before("cells", CELL_SCHEMA, before_release)

    def equations(self, before_release: str | None = None) -> pl.DataFrame:
        """Equations of every release recorded before ``before_release`` (all when ``None``)."""
        return self._before("equations", EQUATION_SCHEMA, before_release)


class MicrodataHistory(_StewardStore):
    """What analysts last saw of each microdata class, per release (steward only).

    One table ``<schema>.microdata_state`` in the steward's database: per release and published
    table, every class's multiset of unit digests (:mod:`assets.marts.over_time`) — digests of
    published content only, no pseudonym, no true value. Unlike the cell ledger it spans every
    data snapshot of the population: it is what the next release is compared with.
    """

    DEFAULT_SCHEMA: ClassVar[str] = "release_history"
    TABLES: ClassVar[dict[str, str]] = {
        "microdata_state": "release_id varchar, seq bigint, table_name varchar, "
        "class_key varchar, digest ubigint"
    }

    def latest(self) -> dict[str, pl.DataFrame]:
        """The newest recorded release's state per table (empty when there is none)."""
        s = self.schema
        with self._connect() as con:
            df = con.execute(
                f"select table_name, class_key, digest from {s}.microdata_state "
                f"where seq = (select max(seq) from {s}.microdata_state)"
            ).pl()
        return {
            t: part.drop("table_name").cast({"digest": pl.UInt64})
            for (t,), part in df.partition_by("table_name", as_dict=True).items()
        }

    def record(self, release_id: str, states: dict[str, pl.DataFrame]) -> None:
        """Store the state analysts have after ``release_id`` (one transaction)."""
        frame = (
            pl.concat(
                [
                    st.select(
                        pl.lit(t).alias("table_name"),
                        "class_key",
                        pl.col("digest").cast(pl.UInt64),
                    )
                    for t, st in states.items()
                ],
                how="vertical_relaxed",
            )
            if states
            else pl.DataFrame(
                schema={"table_name": pl.String, "class_key": pl.String, "digest": pl.UInt64}
            )
        )
        s = self.schema
        with self._connect() as con, transaction(con):
            seq = con.execute(
                f"select coalesce(max(seq), 0) + 1 from {s}.microdata_state"
            ).fetchone()[0]
            con.register("__state", frame.to_arrow())
            con.execute(
                f"insert into {s}.microdata_state select ?, ?, table_name, class_key, digest "
                "from __state",
                [release_id, seq],
            )

    def discard(self, release_id: str) -> None:
        """Forget a release that was recorded but not published."""
        with self._connect() as con:
            con.execute(
                f"delete from {self.schema}.microdata_state where release_id = ?", [release_id]
            )
