"""Read one release of ``research.duckdb`` into typed report content (no Dagster, no HTML).

Every count in the report is looked up in ``release_ledger`` — the cells the release actually
published — never in microdata and never recomputed: a cell that is not in the ledger is not
shown as a number. The notation is CBS's: a suppressed (secret) cell is ``"×"`` — whether it
was small or hidden to protect another cell, so "<10" would be wrong for half of them; a cell
the ledger does not list had no persons (a suppression table does not list true zeros) and is
``"–"``;
a figure that cannot be given is ``"."``. Shares are derived only from published cells; a share
with a suppressed part is ``"×"`` too and says which part. The protected mart tables are read
only to prove they agree with the ledger (:func:`compare_marts`): a disagreement means the file
is not one consistent release.

Key findings (:func:`_findings`) are sentences built around published figures only: a finding
whose figure is secret, nil or not available is left out or said without that part. The change
since the previous edition compares with the release before this one (``meta_release`` keeps
every release; ``release_ledger`` only the current one's cells, so the previous edition's
published cells come from the steward's population ledger); with no earlier release the report
is a first edition, and with an earlier release whose cells no ledger holds the change section
says so (``.``). A table protected by the cell key method (``meta_table_protection``) is read
the same way: its published, perturbed counts are the figures, and its totals need not add up.

The key id in ``meta_release`` is never read here: policymakers do not need it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import duckdb

from anonymise.tables import TOTAL
from assets.marts.aggregates import (
    AGGREGATE_TABLES,
    BRIDGE_LEVELS,
    BRIDGE_PROGRESS,
    GOALS_REACHED,
    INTAKE,
    LEVELS,
    OUTCOMES,
    UNKNOWN,
)
from assets.marts.ledger import POPULATION_LEDGER, DuckDBLedger
from assets.reports import labels as lb

HIGH_LEVELS = ("4", "5")
"""Bridge levels counted as 'op niveau 4–5' (safe / self-sufficient side of the scale)."""
COMPLETED = "completed"
GOAL_YES, GOAL_NO = "ja", "nee"
MAX_MISMATCHES = 20
"""How many mart/ledger disagreements are described (the count is always exact)."""

FigureKind = Literal["count", "absent", "derived", "param", "change", "label"]


class ReportError(RuntimeError):
    """The research database cannot produce a trustworthy report (no release, inconsistent)."""


@dataclass(frozen=True)
class Cell:
    """One published cell of the release ledger (value ``None`` when suppressed)."""

    table: str
    key: str
    coordinates: Mapping[str, str]
    value: int | None
    suppressed: bool


@dataclass(frozen=True)
class Figure:
    """One number as the report shows it, with where it comes from.

    ``count``: a ledger cell (``cell_key``), its value or ``"×"``; ``absent``: a cell
    the ledger does not list (no persons), shown as ``"–"``; ``derived``: a share computed from
    published cells ``num_keys`` / ``den_keys``; ``param``: a release figure from
    ``meta_release`` (``param`` names it); ``change``: the difference ``after − before`` of
    two figures of two editions; ``label``: a coordinate label or fixed phrase with digits
    (``2021``, ``Groningen (GM0014)``, ``niveau 4 of 5``), no number at all.
    ``release`` names the release a figure belongs to when it is not the report's own (the
    previous edition's figures in the change section).
    """

    kind: FigureKind
    text: str
    value: float | None = None
    cell_key: str | None = None
    suppressed: bool = False
    num_keys: tuple[str, ...] = ()
    den_keys: tuple[str, ...] = ()
    note: str = ""
    param: str | None = None
    release: str | None = None
    before: Figure | None = None
    after: Figure | None = None

    @property
    def published(self) -> bool:
        """A number this edition can quote: not secret, not nil, not 'not available'."""
        if self.kind == "change":
            return bool(
                self.before and self.after and self.before.published and self.after.published
            )
        return (
            self.kind in ("count", "derived", "param")
            and self.value is not None
            and not self.suppressed
            and self.text not in (SECRET, NIL, NOT_AVAILABLE)
        )

    def source(self) -> dict[str, Any]:
        """Where the figure comes from, as the HTML carries it (the sides of a change)."""
        return {
            "kind": self.kind,
            "cell": self.cell_key,
            "num": list(self.num_keys),
            "den": list(self.den_keys),
            "param": self.param,
            "release": self.release,
        }


@dataclass(frozen=True)
class Finding:
    """A key finding in plain Dutch: text and figures in reading order.

    ``order`` (``"asc"``/``"desc"``) says the finding's shares, in reading order, rise or fall
    (it names a highest and a lowest): the report check verifies that claim too.
    """

    code: str
    parts: tuple[str | Figure, ...]
    order: Literal["", "asc", "desc"] = ""

    def figures(self) -> list[Figure]:
        """The figures the finding quotes."""
        return [p for p in self.parts if isinstance(p, Figure)]


@dataclass(frozen=True)
class Comparison:
    """The change since the previous edition (``previous`` is ``None`` for a first edition)."""

    previous: ReleaseMeta | None
    tables: tuple[Table, ...] = ()
    peildatum: dt.date | None = None
    ledger: Ledger | None = None
    """The previous edition's ledger (what the report check verifies its figures against);
    ``None`` with a ``previous`` edition: its cells are not in the ledger (an upgraded
    deployment), every figure of that edition and every change is ``.`` (not available)."""

    @property
    def unavailable(self) -> bool:
        """A previous edition whose figures the ledger does not hold."""
        return self.previous is not None and self.ledger is None


@dataclass(frozen=True)
class Row:
    """A table row: a label and one figure per column."""

    label: str
    figures: tuple[Figure, ...]
    is_total: bool = False


@dataclass(frozen=True)
class Table:
    """A report table: caption (without digits), header of the label column, columns, rows."""

    caption: str
    row_header: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    note: str = ""


@dataclass(frozen=True)
class KeyFigure:
    """A headline number of the summary, optionally with a share under it."""

    label: str
    figure: Figure
    detail: Figure | None = None
    detail_label: str = ""


@dataclass(frozen=True)
class DomainSection:
    """One Bridge life domain: level distribution and goals reached."""

    code: str
    label: str
    anchor: str
    measured: Figure
    levels: tuple[tuple[str, Figure], ...]
    share_high: Figure
    goals_total: Figure
    goals_reached: Figure
    goals_not_reached: Figure
    share_reached: Figure
    tables: tuple[Table, ...]
    notes: tuple[str, ...] = ()
    trend: tuple[tuple[str, Figure], ...] = ()
    """Per intake year, the share of the year's measured participants at level 4 or 5."""
    share_high_intake: Figure | None = None
    """Share of the measured participants at level 4 or 5 at their first measurement (``None``:
    the release publishes no intake levels)."""
    progress: Figure | None = None
    """``share_high`` − ``share_high_intake``, in percentage points (a ``change`` figure)."""

    @property
    def has_data(self) -> bool:
        """Whether the ledger holds any cell of this domain."""
        return any(f.kind == "count" for f in (self.measured, self.goals_total))


@dataclass(frozen=True)
class RegisterEntry:
    """One processing-register entry (verwerkingsregister), from brugstat.toml ``[[register]]``."""

    organisation: str
    label: str
    process: str
    purpose: str
    legal_basis: str
    categories: str
    retention: str
    recipients: str


@dataclass(frozen=True)
class OrganisationSection:
    """One organisation: outcomes (how support ended) per programme."""

    code: str
    label: str
    anchor: str
    total: Figure
    end_reasons: tuple[tuple[str, str, Figure], ...]
    share_completed: Figure
    table: Table | None
    process: str = ""

    @property
    def has_data(self) -> bool:
        """Whether the ledger holds any cell of this organisation."""
        return self.table is not None


@dataclass(frozen=True)
class Methods:
    """Figures and lists for the methods and privacy section."""

    params: Mapping[str, Figure]
    quasi_identifiers: tuple[str, ...]
    withheld: tuple[str, ...]
    sensitive: tuple[str, ...]
    l_diversity: tuple[tuple[str, Figure], ...]
    solver: str
    audit_ok: bool | None


@dataclass(frozen=True)
class ReleaseMeta:
    """``meta_release`` of one release (without the key id)."""

    release_id: str
    built_at: dt.datetime
    code_version: str | None
    parameters: Mapping[str, Any]
    k_achieved: int | None
    persons_suppressed: int | None
    cells_suppressed_primary: int | None
    cells_suppressed_secondary: int | None
    max_risk: float | None
    avg_risk: float | None
    information_loss: float | None

    def threshold(self, fallback: int | None = None) -> int:
        """The table threshold the release was protected with (the release's own parameters
        win over the deployment's settings: they are what was applied)."""
        p = self.parameters
        for value in (
            p.get("threshold"),
            p.get("aggregates", {}).get("config", {}).get("threshold"),
            p.get("aggregates", {}).get("rules", {}).get("threshold"),
            fallback,
        ):
            if value is not None:
                return int(value)
        raise ReportError(f"release {self.release_id}: no table threshold in its parameters")


class Ledger:
    """The published cells of one release, looked up by table and coordinates."""

    def __init__(self, release_id: str, cells: Iterable[Cell]) -> None:
        self.release_id = release_id
        self.cells: dict[str, Cell] = {}
        self._index: dict[tuple[str, frozenset], Cell] = {}
        for c in cells:
            self.cells[c.key] = c
            self._index[(c.table, frozenset(c.coordinates.items()))] = c

    def get(self, table: str, **coordinates: str) -> Cell | None:
        """The cell of ``table`` at exactly these coordinates, or ``None`` if not published."""
        return self._index.get((table, frozenset(coordinates.items())))

    def tables(self) -> set[str]:
        """Ledger table names (protection names, e.g. ``mart_…:wonen``)."""
        return {c.table for c in self.cells.values()}

    def codes(self, table: str, dimension: str, **where: str) -> set[str]:
        """Codes of ``dimension`` in ``table`` (optionally where other coordinates match)."""
        return {
            c.coordinates[dimension]
            for c in self.cells.values()
            if c.table == table
            and dimension in c.coordinates
            and all(c.coordinates.get(k) == v for k, v in where.items())
        }

    def labels(self) -> set[str]:
        """Every Dutch label of every coordinate code in the ledger (the header vocabulary)."""
        return {
            lb.coordinate_label(d, code)
            for c in self.cells.values()
            for d, code in c.coordinates.items()
        }

    def __len__(self) -> int:
        return len(self.cells)


@dataclass(frozen=True)
class ReportContent:
    """Everything the report shows, every number traceable to the ledger or meta_release."""

    meta: ReleaseMeta
    threshold: int
    ledger: Ledger
    key_figures: tuple[KeyFigure, ...]
    domain_overview: Table
    domains: tuple[DomainSection, ...]
    outcomes_overview: Table
    organisations: tuple[OrganisationSection, ...]
    methods: Methods
    register: tuple[RegisterEntry, ...]
    mismatches: tuple[str, ...] = field(default=())
    n_mismatches: int = 0
    findings: tuple[Finding, ...] = ()
    comparison: Comparison = field(default_factory=lambda: Comparison(None))
    bridge_sources: tuple[str, ...] = ()
    """Labels of the organisations whose registrations the Bridge tables can come from."""
    progress: Table | None = None
    """Per domain the share at level 4–5 at intake and at the latest measurement (``None``:
    the release publishes no intake levels)."""

    @property
    def suppressed_text(self) -> str:
        """How a suppressed cell is shown (CBS ``×``)."""
        return suppressed_text(self.threshold)

    @property
    def reference_date(self) -> dt.date:
        """The peildatum of the figures (see :func:`reference_date`)."""
        return reference_date(self.meta)

    @property
    def period(self) -> str:
        """The period the figures cover, in Dutch (see :func:`period_text`)."""
        return period_text(self.ledger)


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


def reference_date(meta: ReleaseMeta) -> dt.date:
    """The peildatum: the release's own reference date when its parameters record one
    (``reference_date``, ISO), else the day it was built from the exports as delivered."""
    recorded = meta.parameters.get("reference_date")
    if recorded:
        return dt.date.fromisoformat(str(recorded)[:10])
    return meta.built_at.date()


def period_text(ledger: Ledger) -> str:
    """The intake years the published cells cover, in Dutch, from the ledger's coordinates.

    >>> period_text(Ledger("r", [Cell("t", "k", {"intake_year": "2021"}, 12, False),
    ...                           Cell("t", "l", {"intake_year": "2024"}, None, True)]))
    'instroomjaren 2021 tot en met 2024'
    """
    years = sorted(
        {
            c.coordinates["intake_year"]
            for c in ledger.cells.values()
            if re.fullmatch(r"\d{4}", c.coordinates.get("intake_year", ""))
        }
    )
    if not years:
        return "alle instroomjaren samen (deze release publiceert geen cijfers per instroomjaar)"
    if len(years) == 1:
        return f"instroomjaar {years[0]}"
    return f"instroomjaren {years[0]} tot en met {years[-1]}"


SECRET = "×"
"""CBS sign for a secret (suppressed) figure."""
NIL = "–"
"""CBS sign for nil: no persons."""
NOT_AVAILABLE = "."
"""CBS sign for a figure that is not available (here: a share of nobody)."""


def suppressed_text(threshold: int | None = None) -> str:
    """The text of a suppressed cell: CBS's ``×`` (the threshold is not shown: a cell can also
    be suppressed to protect another one, and then it may be large).

    >>> suppressed_text(10)
    '×'
    """
    return SECRET


def count_figure(cell: Cell | None, threshold: int) -> Figure:
    """How one ledger cell is shown: its value, ``×`` when suppressed, ``–`` when the ledger
    does not list it (a suppression table lists no true zeros) or lists it as 0 (a table the
    cell key method perturbs lists every cell; CBS writes a zero as ``–`` everywhere)."""
    if cell is None:
        return Figure("absent", NIL, value=0.0)
    if cell.suppressed or cell.value is None:
        return Figure("count", suppressed_text(threshold), None, cell.key, suppressed=True)
    if round(cell.value) == 0:
        return Figure("count", NIL, 0.0, cell.key)
    return Figure("count", lb.fmt_int(cell.value), float(cell.value), cell.key)


def share_figure(numerator: Sequence[Figure], denominator: Sequence[Figure]) -> Figure:
    """A percentage from published figures only; ``×`` with the reason when a part of it was
    suppressed (the share would otherwise leak or guess a withheld number), ``.`` for a share of
    nobody."""
    num_keys = tuple(f.cell_key for f in numerator if f.cell_key)
    den_keys = tuple(f.cell_key for f in denominator if f.cell_key)
    sup_num = any(f.suppressed for f in numerator)
    sup_den = any(f.suppressed for f in denominator)
    if sup_num or sup_den:
        which = (
            "teller en noemer onderdrukt"
            if sup_num and sup_den
            else "teller onderdrukt"
            if sup_num
            else "noemer onderdrukt"
        )
        return Figure("derived", SECRET, None, num_keys=num_keys, den_keys=den_keys, note=which)
    den = sum(f.value or 0.0 for f in denominator)
    if den <= 0:
        return Figure("derived", NOT_AVAILABLE, None, num_keys=num_keys, den_keys=den_keys)
    value = sum(f.value or 0.0 for f in numerator) / den
    return Figure("derived", lb.fmt_pct(value), value, num_keys=num_keys, den_keys=den_keys)


def share_from_cells(
    ledger: Ledger, num_keys: Sequence[str], den_keys: Sequence[str]
) -> str | None:
    """The text :func:`share_figure` shows for these cell keys (``None``: a key is unknown).

    Used by the report check to recompute a derived number from the ledger alone.
    """
    cells = [ledger.cells.get(k) for k in (*num_keys, *den_keys)]
    if any(c is None for c in cells):
        return None
    num = [count_figure(ledger.cells[k], 0) for k in num_keys]
    den = [count_figure(ledger.cells[k], 0) for k in den_keys]
    return share_figure(num, den).text


def param_figure(name: str, text: str) -> Figure:
    """A release figure from meta_release, named so the check can look it up."""
    return Figure("param", text, value=lb.parse_int(text), param=name)


def label_figure(text: str) -> Figure:
    """A coordinate label or fixed phrase that holds digits (verified against the vocabulary)."""
    return Figure("label", text)


def change_figure(before: Figure, after: Figure) -> Figure:
    """``after − before`` as the change section shows it: a signed count (``+12``), or for
    shares a signed number of percentage points (``+2,1``); ``×`` when a side is secret (or
    derived from a secret cell), ``.`` when a side is not available."""
    points = "derived" in (before.kind, after.kind)
    sides = (before, after)
    if any(f.suppressed or f.text == SECRET for f in sides):
        return Figure("change", SECRET, None, suppressed=True, before=before, after=after)
    if any(f.value is None for f in sides):
        return Figure("change", NOT_AVAILABLE, None, before=before, after=after)
    diff = float(after.value) - float(before.value)  # type: ignore[arg-type]
    text = lb.fmt_signed_points(diff) if points else lb.fmt_signed_int(diff)
    return Figure("change", text, diff, before=before, after=after)


def figure_from_source(source: Mapping[str, Any], ledger: Ledger, params: Mapping[str, str]):
    """Rebuild a count, absent, derived or param figure from its ``source()`` and its
    release's ledger and parameter texts (``None`` when the source is not in that release).

    Used by the report check to recompute both sides of a change.
    """
    kind = source.get("kind")
    if kind == "absent":
        return Figure("absent", NIL, value=0.0)
    if kind == "count":
        cell = ledger.cells.get(str(source.get("cell")))
        return None if cell is None else count_figure(cell, 0)
    if kind == "derived":
        num, den = list(source.get("num") or []), list(source.get("den") or [])
        if any(k not in ledger.cells for k in (*num, *den)):
            return None
        return share_figure(
            [count_figure(ledger.cells[k], 0) for k in num],
            [count_figure(ledger.cells[k], 0) for k in den],
        )
    if kind == "param":
        text = params.get(str(source.get("param")))
        return None if text is None else param_figure(str(source.get("param")), text)
    return None


# --- reading -----------------------------------------------------------------------------------


def _connect(path: Path | str) -> duckdb.DuckDBPyConnection:
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


# --- building ----------------------------------------------------------------------------------


def _anchor(prefix: str, code: str) -> str:
    return prefix + "-" + re.sub(r"[^a-z0-9]+", "-", code.lower()).strip("-")


def _rows_by(
    ledger: Ledger,
    table: str,
    threshold: int,
    dim: str,
    codes: Sequence[str],
    columns: Sequence[dict[str, str]],
    fixed: Mapping[str, str],
    share: tuple[Sequence[int], Sequence[int]] | None,
    label: Callable[[str], str] | None = None,
) -> list[Row]:
    """Rows ``dim ∈ codes`` (and a Totaal row), one count per column and optionally a share
    computed from the columns at ``share = (numerator indexes, denominator indexes)``."""
    name = label or (lambda code: lb.coordinate_label(dim, code))
    out = []
    for code in codes:
        figs = [
            count_figure(ledger.get(table, **fixed, **{dim: code}, **col), threshold)
            for col in columns
        ]
        if share is not None:
            figs.append(share_figure([figs[i] for i in share[0]], [figs[i] for i in share[1]]))
        out.append(Row(name(code), tuple(figs), is_total=code == TOTAL))
    return out


def _body_codes(codes: set[str], order: Sequence[str] = ()) -> list[str]:
    """Codes without the margin, in ``order`` first, 'onbekend' last."""
    body = codes - {TOTAL}
    ordered = [c for c in order if c in body] + sorted(body - set(order) - {UNKNOWN})
    return ordered + ([UNKNOWN] if UNKNOWN in body else [])


def _domain(ledger: Ledger, code: str, threshold: int) -> DomainSection:
    lt, gt = f"{BRIDGE_LEVELS}:{code}", f"{GOALS_REACHED}:{code}"
    label = lb.domain_label(code)

    def lv(level: str, **kw: str) -> Figure:
        where = {"area": TOTAL, "intake_year": TOTAL} | kw
        return count_figure(ledger.get(lt, **where, level=level), threshold)

    def gl(reached: str) -> Figure:
        return count_figure(ledger.get(gt, area=TOTAL, goal_reached=reached), threshold)

    measured = lv(TOTAL)
    levels = tuple((v, lv(v)) for v in LEVELS)
    share_high = share_figure([f for v, f in levels if v in HIGH_LEVELS], [measured])
    g_total, g_yes, g_no = gl(TOTAL), gl(GOAL_YES), gl(GOAL_NO)
    share_reached = share_figure([g_yes], [g_total])
    # the same persons at their first measurement: the intake total is the measured total
    pt = f"{BRIDGE_PROGRESS}:{code}:{INTAKE}"
    share_intake = progress = None
    if pt in ledger.tables():
        intake = [
            count_figure(ledger.get(pt, area=TOTAL, intake_level=v), threshold) for v in HIGH_LEVELS
        ]
        share_intake = share_figure(intake, [measured])
        progress = change_figure(share_intake, share_high)

    level_cols = [{"level": v} for v in (*LEVELS, TOTAL)]
    high_idx = [LEVELS.index(v) for v in HIGH_LEVELS]
    level_share = (high_idx, [len(LEVELS)])
    headers = (*(lb.level_label(v) for v in LEVELS), "Totaal", lb.SHARE_HIGH_HEADER)
    tables: list[Table] = []
    notes: list[str] = []
    # sub-gemeente areas (stadsdelen, kernen) first, then the gemeenten (their totals)
    all_areas = _body_codes(ledger.codes(lt, "area"))
    areas = [a for a in all_areas if not a.startswith("GM")] + [
        a for a in all_areas if a.startswith("GM")
    ]
    if areas:
        codes = areas if len(areas) == 1 else [*areas, TOTAL]
        rows = _rows_by(
            ledger, lt, threshold, "area", codes, level_cols, {"intake_year": TOTAL}, level_share
        )
        tables.append(
            Table(
                f"{label}: personen naar laatst gemeten niveau, per stadsdeel of kern en "
                "per gemeente",
                "Gebied",
                headers,
                tuple(rows),
            )
        )
    years = _body_codes(ledger.codes(lt, "intake_year"))
    if [y for y in years if y != UNKNOWN]:
        rows = _rows_by(
            ledger,
            lt,
            threshold,
            "intake_year",
            [*years, TOTAL],
            level_cols,
            {"area": TOTAL},
            level_share,
        )
        tables.append(
            Table(
                f"{label}: personen naar laatst gemeten niveau, per jaar van instroom",
                "Jaar van instroom",
                headers,
                tuple(rows),
            )
        )
    trend = tuple(
        (
            y,
            share_figure([lv(v, intake_year=y) for v in HIGH_LEVELS], [lv(TOTAL, intake_year=y)]),
        )
        for y in years
        if re.fullmatch(r"\d{4}", y)
    )
    if not [y for y in years if y != UNKNOWN] and years:
        notes.append(
            "Het jaar van instroom is in deze release gegeneraliseerd (niet beschikbaar); "
            "daarom is er geen uitsplitsing naar jaar."
        )
    goal_areas = _body_codes(ledger.codes(gt, "area"))
    if goal_areas:
        codes = goal_areas if len(goal_areas) == 1 else [*goal_areas, TOTAL]
        goal_cols = [{"goal_reached": g} for g in (GOAL_YES, GOAL_NO, TOTAL)]
        rows = _rows_by(ledger, gt, threshold, "area", codes, goal_cols, {}, ([0], [2]))
        tables.append(
            Table(
                f"{label}: personen met een doel op dit leefgebied, naar resultaat",
                "Gemeente",
                ("Doel bereikt", "Niet bereikt", "Totaal", "% bereikt"),
                tuple(rows),
            )
        )
    return DomainSection(
        code=code,
        label=label,
        anchor=_anchor("leefgebied", code),
        measured=measured,
        levels=levels,
        share_high=share_high,
        goals_total=g_total,
        goals_reached=g_yes,
        goals_not_reached=g_no,
        share_reached=share_reached,
        tables=tuple(tables),
        notes=tuple(notes),
        trend=trend,
        share_high_intake=share_intake,
        progress=progress,
    )


def _progress_overview(domains: Sequence[DomainSection]) -> Table | None:
    """Per domain the share at level 4–5 at intake and at the latest measurement, and the
    change in percentage points (``None`` when the release publishes no intake levels)."""
    rows = [
        Row(d.label, (d.share_high_intake, d.share_high, d.progress))
        for d in domains
        if d.share_high_intake is not None and d.progress is not None
    ]
    if not rows:
        return None
    return Table(
        "Vooruitgang per leefgebied: aandeel deelnemers op de hoogste twee niveaus bij de eerste "
        "en bij de laatste meting",
        "Leefgebied",
        (lb.SHARE_HIGH_INTAKE_HEADER, lb.SHARE_HIGH_LATEST_HEADER, "Verschil (procentpunt)"),
        tuple(rows),
        note="Dezelfde deelnemers bij hun eerste en hun laatste meting in hun meest recente "
        "traject; wie één keer is gemeten, telt bij beide hetzelfde. Percentages zijn afgeleid "
        "uit de gepubliceerde aantallen.",
    )


def _domain_overview(domains: Sequence[DomainSection]) -> Table:
    rows = [
        Row(
            d.label,
            (d.measured, d.share_high, d.goals_total, d.share_reached),
        )
        for d in domains
    ]
    return Table(
        "Overzicht per leefgebied: laatst gemeten niveau en bereikte doelen",
        "Leefgebied",
        ("Personen met meting", lb.SHARE_HIGH_HEADER, "Personen met doel", "% doel bereikt"),
        tuple(rows),
        note="Percentages zijn afgeleid uit de gepubliceerde aantallen.",
    )


def _outcome_columns(ledger: Ledger) -> list[str]:
    return lb.ordered_end_reasons(ledger.codes(OUTCOMES, "end_reason") - {TOTAL})


def _organisation(
    ledger: Ledger, code: str, threshold: int, register: Mapping[str, RegisterEntry]
) -> OrganisationSection:
    reasons = _outcome_columns(ledger)
    label = lb.organisation_label(code)
    entry = register.get(code)

    def oc(reason: str, programme: str = TOTAL) -> Figure:
        cell = ledger.get(OUTCOMES, organisation=code, programme=programme, end_reason=reason)
        return count_figure(cell, threshold)

    total = oc(TOTAL)
    end_reasons = tuple((r, lb.END_REASON_LABELS.get(r, r), oc(r)) for r in reasons)
    share = share_figure([f for r, _, f in end_reasons if r == COMPLETED], [total])
    programmes = _body_codes(
        ledger.codes(OUTCOMES, "programme", organisation=code), tuple(lb.PROGRAMME_LABELS)
    )
    table = None
    if ledger.codes(OUTCOMES, "end_reason", organisation=code):
        cols = [{"end_reason": r} for r in (*reasons, TOTAL)]
        done = [reasons.index(COMPLETED)] if COMPLETED in reasons else []
        rows = _rows_by(
            ledger,
            OUTCOMES,
            threshold,
            "programme",
            [*programmes, TOTAL],
            cols,
            {"organisation": code},
            (done, [len(reasons)]),
        )
        table = Table(
            f"{label}: personen naar programma en afloop van het traject",
            "Programma",
            (*(lb.END_REASON_LABELS.get(r, r) for r in reasons), "Totaal", "% afgerond"),
            tuple(rows),
        )
    return OrganisationSection(
        code=code,
        label=label,
        anchor=_anchor("organisatie", code),
        total=total,
        end_reasons=end_reasons,
        share_completed=share,
        table=table,
        process=entry.process if entry else "",
    )


def _outcomes_overview(ledger: Ledger, orgs: Sequence[str], threshold: int) -> Table:
    reasons = _outcome_columns(ledger)
    cols = [{"end_reason": r} for r in (*reasons, TOTAL)]
    done = [reasons.index(COMPLETED)] if COMPLETED in reasons else []
    rows = _rows_by(
        ledger,
        OUTCOMES,
        threshold,
        "organisation",
        [*orgs, TOTAL],
        cols,
        {"programme": TOTAL},
        (done, [len(reasons)]),
    )
    return Table(
        "Uitkomsten per organisatie: personen naar afloop van het meest recente traject",
        "Organisatie",
        (*(lb.END_REASON_LABELS.get(r, r) for r in reasons), "Totaal", "% afgerond"),
        tuple(rows),
        note="'% afgerond' is het aandeel afgeronde trajecten van alle deelnemers, "
        "inclusief lopende trajecten.",
    )


def _key_figures(ledger: Ledger, threshold: int) -> tuple[KeyFigure, ...]:
    def oc(reason: str) -> Figure:
        cell = ledger.get(OUTCOMES, organisation=TOTAL, programme=TOTAL, end_reason=reason)
        return count_figure(cell, threshold)

    total = oc(TOTAL)
    out = [KeyFigure("Deelnemers (personen)", total)]
    for reason, text in (
        ("completed", "Traject afgerond"),
        ("ongoing", "Traject loopt nog"),
        ("aborted", "Voortijdig gestopt"),
    ):
        f = oc(reason)
        out.append(KeyFigure(text, f, share_figure([f], [total]), "van alle deelnemers"))
    return tuple(out)


def _published(figures: Iterable[Figure]) -> bool:
    return all(f.published for f in figures)


def bridge_sources(ledger: Ledger, organisations: Sequence[str]) -> tuple[list[str], list[str]]:
    """(gemeente codes, organisation codes) the Bridge tables can come from: the gemeenten
    among their area coordinates, and the organisations working in those gemeenten."""
    gemeenten = sorted(
        {
            a
            for t in ledger.tables()
            if t.partition(":")[0] == BRIDGE_LEVELS
            for a in ledger.codes(t, "area")
            if a.startswith("GM")
        }
    )
    orgs = [
        o
        for o in organisations
        if any(g.startswith(lb.ORGANISATION_GEMEENTE.get(o, "-")) for g in gemeenten)
    ]
    return gemeenten, orgs


def _findings(
    ledger: Ledger,
    key_figures: Sequence[KeyFigure],
    domains: Sequence[DomainSection],
    organisations: Sequence[str],
) -> tuple[Finding, ...]:
    """Three to five key findings, each quoting only published figures of the release.

    A finding whose figures are not all published is left out (or said without that part);
    comparisons between domains only use domains whose share is published, and say so.
    """
    out: list[Finding] = []
    total = key_figures[0].figure if key_figures else None
    by_label = {k.label: k for k in key_figures}
    high = label_figure(lb.HIGH_LEVELS_PHRASE)

    # 1. who is counted, and how their support ended
    if total is not None and total.published:
        parts: list[str | Figure] = ["Deze monitor telt ", total, " deelnemers."]
        done, going = by_label.get("Traject afgerond"), by_label.get("Traject loopt nog")
        if done and done.detail and done.detail.published:
            parts += [" Van hen heeft ", done.detail, " het traject afgerond"]
            if going and going.detail and going.detail.published:
                parts += [" en loopt het traject bij ", going.detail, " nog"]
            parts.append(".")
        out.append(Finding("deelnemers", tuple(parts)))

    # 2. where the Bridge figures come from: not every participant is measured
    measured = [d for d in domains if d.measured.published]
    widest = max(measured, key=lambda d: d.measured.value or 0.0) if measured else None
    gemeenten, orgs = bridge_sources(ledger, organisations)
    if widest is not None and total is not None and total.published and gemeenten:
        in_outcomes = ledger.codes(OUTCOMES, "organisation") - {TOTAL}
        only = "alleen " if orgs and set(in_outcomes) - set(orgs) else ""
        parts = ["Het niveau op de Brug naar zelfredzaamheid wordt ", only, "gemeten"]
        if orgs:
            parts += [" bij ", _join([lb.organisation_label(o) for o in orgs]), ","]
        parts += [" bij deelnemers uit de gemeente" + ("n " if len(gemeenten) > 1 else " ")]
        for i, g in enumerate(gemeenten):
            sep = "" if i == 0 else " en " if i == len(gemeenten) - 1 else ", "
            parts += [sep, label_figure(lb.area_label(g))]
        parts += [". De cijfers per leefgebied gaan dus over de deelnemers"]
        parts += [" met een meting (op het leefgebied ", widest.label, ": ", widest.measured]
        parts += ["), niet over alle ", total, " deelnemers."]
        out.append(Finding("brug_herkomst", tuple(parts)))

    # 3. level 4–5 at the latest measurement: the highest and the lowest domain
    ranked = _ranked(domains, lambda d: d.share_high)
    if len(ranked) >= 2:
        out.append(
            _highest_and_lowest(
                "niveau",
                ranked,
                ("Bij de laatste meting staan de gemeten deelnemers het vaakst op ", high,
                 " op het leefgebied "),
                lambda d: (d.share_high,),
                ") en het minst vaak op ",
                secret="het aandeel" if len(ranked) < len(domains) else "",
            )
        )  # fmt: skip

    # 3b. progress since intake: the domain with the most and the least (published only)
    moved = _ranked(domains, lambda d: d.progress)
    if len(moved) >= 2 and (moved[0].progress.value or 0.0) > 0:  # type: ignore[union-attr]
        out.append(
            _highest_and_lowest(
                "vooruitgang",
                moved,
                ("Sinds de eerste meting is het aandeel deelnemers op ", high,
                 " het meest gestegen op het leefgebied "),
                lambda d: (d.progress, " procentpunt, van ", d.share_high_intake, " naar ",
                           d.share_high),
                ") en het minst op ",
                worst=lambda d: (d.progress, " procentpunt"),
                secret="de verandering" if len(moved) < len(domains) else "",
            )
        )  # fmt: skip

    # 4. goals reached: the highest and the lowest domain
    goals = _ranked(domains, lambda d: d.share_reached)
    if len(goals) >= 2:
        out.append(
            _highest_and_lowest(
                "doelen",
                goals,
                ("Deelnemers met een doel bereiken dat doel het vaakst op het leefgebied ",),
                lambda d: (d.share_reached,),
                ") en het minst vaak op ",
            )
        )

    # 5. by intake year, on the domain with the most measured participants
    if widest is not None:
        trend = [(y, f) for y, f in widest.trend if f.published]
        if len(trend) >= 2:
            (y1, f1), (y2, f2) = trend[0], trend[-1]
            out.append(
                Finding(
                    "instroomjaar",
                    (
                        "Op het leefgebied ",
                        widest.label,
                        " staat van de deelnemers die in ",
                        label_figure(lb.coordinate_label("intake_year", y1)),
                        " instroomden ",
                        f1,
                        " bij de laatste meting op ",
                        high,
                        ", van wie in ",
                        label_figure(lb.coordinate_label("intake_year", y2)),
                        " instroomde ",
                        f2,
                        ". Deelnemers uit verschillende instroomjaren hadden niet even lang de "
                        "tijd om vooruit te gaan: het verschil is geen oordeel over de hulp in "
                        "een bepaald jaar.",
                    ),
                )
            )
    return tuple(out[:5])


def _ranked(
    domains: Sequence[DomainSection], figure: Callable[[DomainSection], Figure | None]
) -> list[DomainSection]:
    """The domains whose ``figure`` is published, highest value first."""

    def value(d: DomainSection) -> float:
        f = figure(d)
        return (f.value if f is not None else None) or 0.0

    return sorted(
        (d for d in domains if (f := figure(d)) is not None and f.published),
        key=value,
        reverse=True,
    )


def _highest_and_lowest(
    code: str,
    ranked: Sequence[DomainSection],
    opening: Sequence[str | Figure],
    best: Callable[[DomainSection], Sequence[str | Figure | None]],
    least: str,
    *,
    worst: Callable[[DomainSection], Sequence[str | Figure | None]] | None = None,
    secret: str = "",
) -> Finding:
    """A finding on the first (highest) and the last (lowest) of ``ranked``: ``opening``, the
    first domain with ``best`` of it in brackets, ``least``, the last with ``worst`` (default
    ``best``) of it; when ``secret`` names the figure, it ends by saying that of the other
    domains it is secret."""
    worst = worst or best
    top, bottom = ranked[0], ranked[-1]
    end = f"; van de andere leefgebieden is {secret} geheim." if secret else "."
    parts = (*opening, top.label, " (", *best(top), least, bottom.label, " (", *worst(bottom))
    return Finding(code, (*(p for p in parts if p is not None), ")" + end), order="desc")


def _join(names: Sequence[str]) -> str:
    """``a``, ``a en b``, ``a, b en c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " en " + names[-1]


def _in_release(f: Figure, release_id: str) -> Figure:
    return replace(f, release=release_id)


UNAVAILABLE_NOTE = (
    "‘.’: niet beschikbaar. De cijfers van de vorige editie staan niet in het vrijgaveregister "
    "van deze installatie, dus ook het verschil niet."
)
"""Table note of the change section when the ledger does not hold the previous edition."""


def _comparison(
    meta: ReleaseMeta,
    ledger: Ledger,
    domains: Sequence[DomainSection],
    key_figures: Sequence[KeyFigure],
    previous: tuple[ReleaseMeta, Ledger | None] | None,
    threshold: int | None,
) -> Comparison:
    """Headline figures of this edition beside those of the previous one (``.`` for the
    previous edition and the change when the ledger does not hold that edition's cells)."""
    if previous is None:
        return Comparison(None)
    pmeta, pledger = previous
    pid = pmeta.release_id
    # a share of nobody: '.', verifiable without any ledger (no cell keys)
    nothing = Figure("derived", NOT_AVAILABLE, None)

    def row(label: str, before: Figure, after: Figure) -> Row:
        before = nothing if pledger is None else _in_release(before, pid)
        return Row(label, (before, after, change_figure(before, after)))

    if pledger is None:
        prev_persons, pparams, before_domains = nothing, {}, {}
    else:
        prev = build_content(pmeta, pledger, threshold=threshold, with_previous=False)
        prev_persons = prev.key_figures[0].figure
        pparams = release_params(pmeta, pledger, pmeta.threshold(threshold))
        before_domains = {d.code: d for d in prev.domains}
    params = release_params(meta, ledger, meta.threshold(threshold))

    def param_row(label: str, name: str) -> Row:
        before = param_figure(name, pparams[name]) if name in pparams else nothing
        return row(label, before, param_figure(name, params[name]))

    headline = Table(
        "Deelnemers en geheimgehouden cellen: vorige en deze editie",
        "Kerncijfer",
        ("Vorige editie", "Deze editie", "Verschil"),
        (
            row("Deelnemers (personen)", prev_persons, key_figures[0].figure),
            param_row("Geheimgehouden (onderdrukte) cellen", "cells_withheld"),
            param_row("Cellen in het vrijgaveregister", "cells_published"),
        ),
        note=UNAVAILABLE_NOTE if pledger is None else "",
    )
    now = {d.code: d for d in domains}
    rows = [
        row(
            lb.domain_label(code),
            before_domains[code].share_high if code in before_domains else nothing,
            now[code].share_high if code in now else nothing,
        )
        for code in lb.ordered_domains(set(before_domains) | set(now))
    ]
    shares = Table(
        "Aandeel deelnemers op niveau vier of vijf bij de laatste meting, per leefgebied: "
        "vorige en deze editie",
        "Leefgebied",
        ("Vorige editie", "Deze editie", "Verschil (procentpunt)"),
        tuple(rows),
        note=UNAVAILABLE_NOTE
        if pledger is None
        else "Het verschil is in procentpunten, berekend uit de gepubliceerde aantallen van "
        "beide edities; ‘×’ als een van beide aandelen geheim is.",
    )
    return Comparison(pmeta, (headline, shares), reference_date(pmeta), pledger)


def release_params(meta: ReleaseMeta, ledger: Ledger, threshold: int) -> dict[str, str]:
    """The release figures the methods section shows, as text (name → text).

    The report check recomputes this from the database to verify every ``param`` figure.
    """
    anon = meta.parameters.get("anonymisation", {})
    out: dict[str, str] = {"threshold": lb.fmt_int(threshold)}

    def put(name: str, value: Any, fmt: Any) -> None:
        if value is not None:
            out[name] = fmt(value)

    put("k_required", anon.get("k"), lb.fmt_int)
    put("k_achieved", meta.k_achieved, lb.fmt_int)
    put("persons_suppressed", meta.persons_suppressed, lb.fmt_int)
    put("suppression_limit", anon.get("suppression_limit"), lb.fmt_pct)
    put("cells_primary", meta.cells_suppressed_primary, lb.fmt_int)
    put("cells_secondary", meta.cells_suppressed_secondary, lb.fmt_int)
    put("information_loss", meta.information_loss, lambda v: lb.fmt_decimal(v, 3))
    put("max_risk", meta.max_risk, lambda v: lb.fmt_decimal(v, 3))
    put("avg_risk", meta.avg_risk, lambda v: lb.fmt_decimal(v, 3))
    out["cells_published"] = lb.fmt_int(len(ledger))
    out["cells_withheld"] = lb.fmt_int(sum(c.suppressed for c in ledger.cells.values()))
    for attr, l_value in (anon.get("l_diversity") or {}).items():
        if l_value:
            out[f"l_diversity.{attr}"] = lb.fmt_int(l_value)
    return out


def _methods(meta: ReleaseMeta, ledger: Ledger, threshold: int) -> Methods:
    anon = meta.parameters.get("anonymisation", {})
    agg = meta.parameters.get("aggregates", {})
    params = {n: param_figure(n, t) for n, t in release_params(meta, ledger, threshold).items()}
    method = str(agg.get("method", ""))
    solver = (
        "een optimaliseringsmodel (gemengd geheeltallig lineair programma)"
        if method.startswith("milp")
        else "een heuristiek"
        if method.startswith("heur")
        else "het geconfigureerde oplosalgoritme"
    )
    l_div = tuple(
        (lb.SENSITIVE_LABELS.get(a, a), params[f"l_diversity.{a}"])
        for a in (anon.get("l_diversity") or {})
        if f"l_diversity.{a}" in params
    )
    return Methods(
        params=params,
        quasi_identifiers=tuple(
            lb.QUASI_IDENTIFIER_LABELS.get(q, q) for q in anon.get("quasi_identifiers", [])
        ),
        withheld=tuple(lb.DROPPED_COLUMN_LABELS.get(c, c) for c in anon.get("dropped_columns", [])),
        sensitive=tuple(lb.SENSITIVE_LABELS.get(s, s) for s in anon.get("publish_sensitive", [])),
        l_diversity=l_div,
        solver=solver,
        audit_ok=agg.get("audit_ok"),
    )


def register_entries(
    register: Sequence[Mapping[str, str]], organisations: Sequence[str] = ()
) -> tuple[RegisterEntry, ...]:
    """The processing register, one entry per process, in the deployment's organisation order."""
    order = {
        o: i
        for i, o in enumerate(
            lb.ordered_organisations(
                {str(e.get("organisation", "")) for e in register}, tuple(organisations)
            )
        )
    }
    entries = [
        RegisterEntry(
            organisation=str(e.get("organisation", "")),
            label=lb.organisation_label(str(e.get("organisation", ""))),
            process=str(e.get("process", "")),
            purpose=str(e.get("purpose", "")),
            legal_basis=str(e.get("legal_basis", "")),
            categories=str(e.get("categories", "")),
            retention=str(e.get("retention", "")),
            recipients=str(e.get("recipients", "")),
        )
        for e in register
    ]
    return tuple(sorted(entries, key=lambda e: order.get(e.organisation, len(order))))


def build_content(
    meta: ReleaseMeta,
    ledger: Ledger,
    *,
    register: Sequence[Mapping[str, str]] = (),
    organisations: Sequence[str] = (),
    threshold: int | None = None,
    previous: tuple[ReleaseMeta, Ledger | None] | None = None,
    with_previous: bool = True,
) -> ReportContent:
    """Report content from a release's meta data and ledger alone (pure).

    ``previous`` is the previous edition (its meta data and ledger) for the change section;
    ``None`` makes this a first edition.
    """
    limit = meta.threshold(threshold)
    domain_codes = lb.ordered_domains(
        {
            t.partition(":")[2]
            for t in ledger.tables()
            if t.partition(":")[0] in (BRIDGE_LEVELS, GOALS_REACHED)
        }
    )
    domains = tuple(_domain(ledger, d, limit) for d in domain_codes)
    entries = register_entries(register, organisations)
    by_org = {e.organisation: e for e in entries}
    in_ledger = ledger.codes(OUTCOMES, "organisation") - {TOTAL}
    orgs = lb.ordered_organisations(in_ledger, tuple(organisations))
    listed = lb.ordered_organisations(in_ledger | set(by_org), tuple(organisations))
    key_figures = _key_figures(ledger, limit)
    comparison = (
        _comparison(meta, ledger, domains, key_figures, previous, threshold)
        if with_previous
        else Comparison(None)
    )
    return ReportContent(
        meta=meta,
        threshold=limit,
        ledger=ledger,
        findings=_findings(ledger, key_figures, domains, orgs),
        comparison=comparison,
        bridge_sources=tuple(lb.organisation_label(o) for o in bridge_sources(ledger, orgs)[1]),
        key_figures=key_figures,
        domain_overview=_domain_overview(domains),
        progress=_progress_overview(domains),
        domains=domains,
        outcomes_overview=_outcomes_overview(ledger, orgs, limit),
        organisations=tuple(_organisation(ledger, o, limit, by_org) for o in listed),
        methods=_methods(meta, ledger, limit),
        register=entries,
    )


def read_report_content(
    research_db: Path | str,
    *,
    register: Sequence[Mapping[str, str]] = (),
    organisations: Sequence[str] = (),
    threshold: int | None = None,
    verify_marts: bool = True,
    steward_db: Path | str | None = None,
) -> ReportContent:
    """Read the newest release of ``research_db`` (opened read-only) into report content;
    ``steward_db`` holds the population ledger with the previous edition's cells.

    ``threshold`` is only a fallback for releases whose parameters do not record theirs. With
    ``verify_marts`` the protected mart tables are compared with the ledger and disagreements
    are returned in ``mismatches`` (the report builder refuses such a file).
    """
    with _connect(research_db) as con:
        meta = newest_release(con)
        ledger = read_ledger(con, meta.release_id)
        previous = previous_edition(con, meta, steward_db)
        problems, n = compare_marts(con, ledger) if verify_marts else ([], 0)
    content = build_content(
        meta,
        ledger,
        register=register,
        organisations=organisations,
        threshold=threshold,
        previous=previous,
    )
    return replace(content, mismatches=tuple(problems), n_mismatches=n)
