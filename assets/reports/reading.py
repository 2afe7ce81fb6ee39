"""Read one release of ``research.duckdb`` (opened read-only): its meta data, its ledger, the
previous edition, and the protected mart tables checked against the ledger.

The protected mart tables are read only to prove they agree with the ledger
(:func:`compare_marts`): a disagreement means the file is not one consistent release.
``meta_release`` keeps every release; ``release_ledger`` only the current one's cells, so the
previous edition's published cells come from the steward's population ledger
(:func:`previous_edition`). The key id in ``meta_release`` is never read here: policymakers do
not need it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from anonymise.tables import TOTAL
from assets.marts.aggregates import AGGREGATE_TABLES, BRIDGE_PROGRESS, INTAKE
from assets.marts.ledger import POPULATION_LEDGER, DuckDBLedger
from assets.reports.model import Cell, Ledger, ReleaseMeta, ReportError

MAX_MISMATCHES = 20
"""How many mart/ledger disagreements are described (the count is always exact)."""

_COORD_SPLIT = re.compile(r";(?=[A-Za-z_][A-Za-z0-9_]*=)")


def parse_coordinates(text: str | None) -> dict[str, str]:
    """``'area=GM0014 Groningen;level=Totaal'`` → ``{'area': 'GM0014 Groningen', ...}``.

    >>> parse_coordinates("organisation=Totaal;programme=a;b;end_reason=x")
    {'organisation': 'Totaal', 'programme': 'a;b', 'end_reason': 'x'}
    """
    if not text:
        return {}
    out = {}
    for part in _COORD_SPLIT.split(text):
        dim, _, code = part.partition("=")
        out[dim] = code
    return out


def connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    """``research.duckdb`` opened read-only (a :class:`ReportError` when there is none)."""
    path = Path(path)
    if not path.exists():
        raise ReportError(f"{path}: no research database (run the release first)")
    return duckdb.connect(str(path), read_only=True)


def newest_release(con: duckdb.DuckDBPyConnection) -> ReleaseMeta:
    """The newest release recorded in ``meta_release`` (latest ``built_at``)."""
    row = con.execute(
        "select release_id, built_at, code_version, parameters_json, k_achieved, "
        "persons_suppressed, cells_suppressed_primary, cells_suppressed_secondary, "
        "max_risk, avg_risk, information_loss "
        "from meta_release order by built_at desc, release_id desc limit 1"
    ).fetchone()
    if row is None:
        raise ReportError("meta_release is empty: there is no release to report on")
    return _meta(row)


def _meta(row: Sequence[Any]) -> ReleaseMeta:
    params = json.loads(row[3]) if row[3] else {}
    return ReleaseMeta(row[0], row[1], row[2], params, *row[4:])


def previous_release(con: duckdb.DuckDBPyConnection, meta: ReleaseMeta) -> ReleaseMeta | None:
    """The edition before ``meta``: the newest other release built before it (``meta_release``
    and ``release_ledger`` accumulate every release of the research database), or ``None``."""
    row = con.execute(
        "select release_id, built_at, code_version, parameters_json, k_achieved, "
        "persons_suppressed, cells_suppressed_primary, cells_suppressed_secondary, "
        "max_risk, avg_risk, information_loss from meta_release "
        "where release_id <> ? and (built_at < ? or (built_at = ? and release_id < ?)) "
        "order by built_at desc, release_id desc limit 1",
        [meta.release_id, meta.built_at, meta.built_at, meta.release_id],
    ).fetchone()
    return None if row is None else _meta(row)


def previous_edition(
    con: duckdb.DuckDBPyConnection, meta: ReleaseMeta, steward_db: Path | str | None
) -> tuple[ReleaseMeta, Ledger | None] | None:
    """The previous edition and its published cells, or ``None`` for a first edition.

    ``research.duckdb`` keeps only the current release's cells (issue 14): the previous
    edition's published cells come from the steward's population ledger in ``steward_db``
    (what analysts saw then: suppressed cells without a value); a research database that still
    lists them is read as it is. Neither lists them after an upgrade from the per-snapshot
    ledgers: the ledger is then ``None`` and the change section says the previous edition's
    figures are not available (cells that are listed are read, and checked, as they are)."""
    before = previous_release(con, meta)
    if before is None:
        return None
    rows = None
    if steward_db is not None:
        found = DuckDBLedger(steward_db, schema=POPULATION_LEDGER).release_rows(before.release_id)
        if found.height:
            rows = found.select(
                "table_name", "cell_key", "coordinates", "value", "is_suppressed"
            ).rows()
    if rows is None and not _lists_cells(con, before.release_id):
        return before, None
    return before, read_ledger(con, before.release_id, rows=rows)


def _lists_cells(con: duckdb.DuckDBPyConnection, release_id: str) -> bool:
    """Whether ``release_ledger`` of the research database lists any cell of ``release_id``."""
    row = con.execute(
        "select count(*) from release_ledger where release_id = ?", [release_id]
    ).fetchone()
    return bool(row and row[0])


def read_ledger(
    con: duckdb.DuckDBPyConnection, release_id: str, *, rows: list[tuple] | None = None
) -> Ledger:
    """The release's rows of ``release_ledger`` (or ``rows`` in that shape, e.g. from the
    steward's ledger); suppressed rows must carry no value."""
    if rows is None:
        rows = con.execute(
            "select table_name, cell_key, coordinates, value, is_suppressed "
            "from release_ledger where release_id = ?",
            [release_id],
        ).fetchall()
    if not rows:
        raise ReportError(f"release {release_id}: release_ledger lists no cells")
    cells = []
    for table, key, coords, value, suppressed in rows:
        if suppressed and value is not None:
            # a ledger that carries a withheld value is broken; never show it
            raise ReportError(f"release {release_id}: a suppressed ledger cell carries a value")
        cells.append(
            Cell(
                table=table,
                key=key,
                coordinates=parse_coordinates(coords),
                value=None if value is None else round(value),
                suppressed=bool(suppressed),
            )
        )
    return Ledger(release_id, cells)


def _progress_key(domain: str, row: Mapping[str, Any]) -> str:
    """The ledger key of a ``mart_bridge_progress`` row (its measure and non-total coordinates,
    as :func:`anonymise.tables.model.cell_key` builds it; the intake level is ``intake_level``)."""
    dim = "intake_level" if row["measurement"] == INTAKE else "level"
    coords = {"area": str(row["area"]), dim: str(row["level"])}
    parts = [f"{d}={c}" for d, c in sorted(coords.items()) if c != TOTAL]
    return f"persons_latest_level:{domain}|" + ";".join(parts)


def compare_marts(con: duckdb.DuckDBPyConnection, ledger: Ledger) -> tuple[list[str], int]:
    """Disagreements between the protected mart tables and the ledger (descriptions, count).

    Each mart row must be a ledger cell with the same value and suppression flag, and every
    ledger cell of the release must be a mart row. Descriptions name table and coordinates only
    (aggregate codes), never a person.
    """
    seen: set[str] = set()
    problems: list[str] = []
    n = 0

    def problem(text: str) -> None:
        nonlocal n
        n += 1
        if len(problems) < MAX_MISMATCHES:
            problems.append(text)

    present = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    for mart in AGGREGATE_TABLES:
        if mart not in present:
            problem(f"{mart}: table missing")
            continue
        cur = con.execute(f'select * from "{mart}"')
        cols = [d[0] for d in cur.description]
        for rec in cur.fetchall():
            row = dict(zip(cols, rec, strict=True))
            persons, suppressed = row.pop("persons"), bool(row.pop("is_suppressed"))
            domain = row.pop("domain", None)
            table = f"{mart}:{domain}" if domain is not None else mart
            if mart == BRIDGE_PROGRESS:
                # its cells are shared with the level table (totals, latest levels), so the
                # ledger lists each under one table only: found by its canonical key
                cell = ledger.cells.get(_progress_key(str(domain), row))
            else:
                cell = ledger.get(table, **{k: str(v) for k, v in row.items()})
            where = f"{table} ({';'.join(f'{k}={v}' for k, v in row.items())})"
            if cell is None:
                problem(f"{where}: not in the release ledger")
                continue
            seen.add(cell.key)
            if cell.suppressed != suppressed or (
                not suppressed and (persons is None or cell.value != round(persons))
            ):
                problem(f"{where}: mart and release ledger disagree")
    for key, cell in ledger.cells.items():
        if key not in seen and cell.table.partition(":")[0] in present:
            problem(f"{cell.table}: a ledger cell is not in the mart table")
    return problems, n
