"""The shape of an export contract: an organisation's files, each with its ordered columns.

Standard library only: the synthetic generator (``synthetic/``) imports the contracts without
pulling in the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Kind = Literal[
    "id",  # an identifier of a row or of the row's parent: trimmed, never empty
    "text",  # kept as text, nothing checked
    "code",  # one value of ``codes`` (matched trimmed and case-folded)
    "integer",  # a whole number within ``range``
    "level",  # a Bridge level 1-5 (empty: the domain was not scored)
    "amount",  # euros, Dutch ("1.234,56") or plain ("1234.56") decimals
    "date",  # a date in one of ``dates`` (names of the adapters' DATE_FORMATS)
    "postcode",  # PC6 ("9711 AB") or PC4
    "bsn",  # the citizen service number (BSN)
    "list",  # pipe-separated items; ``pattern`` is what the whole value must look like
    "identifier",  # a direct identifier (name, address, e-mail, phone, photo): never read
    "free_text",  # a sentence someone typed: never read
]

NEVER_READ_KINDS: frozenset[str] = frozenset({"identifier", "free_text"})
"""Kinds whose columns never leave the raw layer, whatever ``read`` says."""

AGE_RANGE = (0, 120)
"""Plausible ages in years (bounds of every age column; outside: ``age_out_of_range``)."""
CHILDREN_RANGE = (0, 30)
"""Plausible numbers of children in a household (``count_out_of_range`` outside)."""
CREDITORS_RANGE = (0, 500)
"""Plausible numbers of creditors of one household (``count_out_of_range`` outside)."""
LEVEL_RANGE = (1, 5)
"""The Bridge levels."""
CONFIDENCE_RANGE = (1, 10)
"""A goal's confidence score."""
YES_NO = ("ja", "nee")
"""The usual yes/no code list."""


@dataclass(frozen=True)
class Column:
    """One column of an export, as the organisation delivers it.

    ``name`` is the header as delivered; ``alias`` is the name the adapter and the synthetic
    generator use for it (default: ``name``). A column the organisation renames is one edit:
    ``Column("gender", "code", alias="geslacht", …)``; the raw layer, its suite and the purge
    see the delivered name, staging reads it under its alias.
    """

    name: str
    kind: Kind = "text"
    codes: tuple[str, ...] = ()  # code list, lower-case (values are matched case-folded)
    range: tuple[int, int] | None = None  # inclusive bounds of an integer or level
    dates: tuple[str, ...] = ()  # accepted date formats, e.g. ("dd-mm-yyyy", "d-m-yyyy")
    pattern: str = ""  # regex a list value must match (case-folded text)
    read: bool = True  # False: staging never loads it (a column no adapter maps)
    alias: str = ""  # the name staging reads it under (empty: ``name``)

    def __post_init__(self) -> None:
        problems = []
        if self.kind == "code" and not self.codes:
            problems.append("a code column needs its code list")
        if self.kind in ("integer", "level") and self.range is None:
            problems.append("an integer column needs its range")
        if self.kind == "date" and not self.dates:
            problems.append("a date column needs its formats")
        if self.kind == "list" and not self.pattern:
            problems.append("a list column needs its pattern")
        if self.codes and self.codes != tuple(c.lower() for c in self.codes):
            problems.append("codes are written lower-case (values are matched case-folded)")
        if problems:
            raise ValueError(f"column {self.name!r}: " + "; ".join(problems))

    @property
    def staged_name(self) -> str:
        """The name the adapter and the generator use (``alias``, else the delivered name)."""
        return self.alias or self.name

    @property
    def loaded(self) -> bool:
        """Whether staging loads the column (never a direct identifier or free text)."""
        return self.read and self.kind not in NEVER_READ_KINDS


@dataclass(frozen=True)
class ExportSpec:
    """One file type in an organisation's landing folder: its contract.

    The raw layer reads every file matching ``pattern`` as text columns (nothing parsed, nothing
    lost) with ``_source_file`` (path relative to the landing root) and ``_source_row`` (1-based
    data row); its suite requires every column of ``columns``; staging loads only the columns
    that are :attr:`Column.loaded` (:attr:`read`), so names, contact details and free text that
    the adapter never maps are not copied into its working frames (duplicate detection still
    compares every column, :func:`assets.staging.load.read_raw_export`).
    """

    name: str  # export name; the raw asset is raw_<organisation>__<name>
    pattern: str  # glob inside data/landing/<organisation>/, e.g. "deelnemers*.csv"
    columns: tuple[Column, ...] = ()  # the header, in its order
    encoding: str = "utf-8"  # "utf-8" or "latin-1"
    separator: str = ","
    bom: bool = False  # the files start with a byte-order mark (the reader removes it)
    description: str = ""  # one row per …; shown in the Dagster UI
    id: str = ""  # the column identifying a row
    person_key: str = ""  # the column holding the person's source id (or the episode's)
    person_key_of: Literal["person", "episode"] = "person"  # what ``person_key`` identifies
    required: bool = True  # a missing file is an error (False: optional export)
    priority: int = 0  # raw steps with a higher priority run first (the largest exports)
    staged: bool = True  # False: no column is loaded (the rows are only counted, withheld)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        fields = [c.staged_name for c in self.columns]
        problems = []
        if len(set(names)) != len(names) or len(set(fields)) != len(fields):
            problems.append("a column name (or alias) occurs twice")
        for role in ("id", "person_key"):
            value = getattr(self, role)
            if value and value not in names:
                problems.append(f"{role} {value!r} is not a column")
        if problems:
            raise ValueError(f"export {self.name!r}: " + "; ".join(problems))

    @property
    def header(self) -> tuple[str, ...]:
        """The column names as delivered, in header order."""
        return tuple(c.name for c in self.columns)

    @property
    def read(self) -> tuple[str, ...]:
        """The delivered names of the columns staging loads, in header order."""
        if not self.staged:
            return ()
        return tuple(c.name for c in self.columns if c.loaded)

    @property
    def never_read(self) -> tuple[str, ...]:
        """The columns that stay in the raw layer (direct identifiers, free text, unmapped)."""
        read = set(self.read)
        return tuple(c for c in self.header if c not in read)

    @property
    def renamed(self) -> dict[str, str]:
        """Delivered name -> the adapter's name, for the columns whose names differ."""
        return {c.name: c.alias for c in self.columns if c.alias and c.alias != c.name}

    @property
    def ids(self) -> tuple[str, ...]:
        """The columns that must never be empty: the row's id and the person key."""
        return tuple(dict.fromkeys(c for c in (self.id, self.person_key) if c))

    @property
    def bsn(self) -> str:
        """The BSN column ('' when the export has none)."""
        return next((c.name for c in self.columns if c.kind == "bsn"), "")

    @property
    def file_name(self) -> str:
        """The name of one file matching ``pattern`` (what the synthetic generator writes)."""
        return self.pattern.replace("*", "")

    def column(self, name: str) -> Column:
        """The column the adapter calls ``name``; KeyError naming the export otherwise."""
        for c in self.columns:
            if c.staged_name == name:
                return c
        raise KeyError(f"export {self.name!r} has no column {name!r}")

    def dates(self, name: str) -> tuple[str, ...]:
        """The accepted date formats of a date column (by the adapter's name)."""
        return self.column(name).dates

    def range(self, name: str) -> tuple[int, int]:
        """The inclusive bounds of an integer column (by the adapter's name)."""
        bounds = self.column(name).range
        if bounds is None:
            raise KeyError(f"export {self.name!r}: column {name!r} has no range")
        return bounds

    def of_kind(self, *kinds: str) -> tuple[Column, ...]:
        """The columns of the given kinds, in header order."""
        return tuple(c for c in self.columns if c.kind in kinds)


@dataclass(frozen=True)
class Contract:
    """Everything one organisation delivers: its exports, in the order the raw layer lists them."""

    organisation: str  # the code (schema.ORGANISATIONS)
    title: str  # the organisation's name, e.g. "Kansrijk Groningen"
    exports: tuple[ExportSpec, ...] = ()

    def __post_init__(self) -> None:
        names = [e.name for e in self.exports]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.organisation}: an export name occurs twice")

    def export(self, name: str) -> ExportSpec:
        """The export called ``name``; KeyError naming the organisation otherwise."""
        for e in self.exports:
            if e.name == name:
                return e
        known = ", ".join(e.name for e in self.exports)
        raise KeyError(f"{self.organisation} has no export {name!r}; its exports are {known}")


def ints(bounds: tuple[int, int]) -> tuple[str, ...]:
    """The whole numbers within ``bounds`` as text (a code list for the raw suite)."""
    return tuple(str(i) for i in range(bounds[0], bounds[1] + 1))


def names(columns: Iterable[Column]) -> tuple[str, ...]:
    """The delivered names of ``columns``."""
    return tuple(c.name for c in columns)
