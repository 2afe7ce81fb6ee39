"""The typed report content: what the report shows, every number traceable to its source.

:class:`Cell` and :class:`Ledger` are the cells a release published (``release_ledger``);
:class:`ReleaseMeta` is its ``meta_release`` row. A :class:`Figure` is one number as the report
shows it, with where it comes from; tables, sections, key findings, the change since the
previous edition (:class:`Comparison`) and the whole :class:`ReportContent` are frozen
dataclasses that ``render`` and ``charts`` show and ``verify`` checks. The key id in
``meta_release`` has no field here: policymakers do not need it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from assets.reports import labels as lb
from assets.reports.notation import NIL, NOT_AVAILABLE, SECRET, suppressed_text

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
