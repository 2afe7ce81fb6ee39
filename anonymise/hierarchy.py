"""Generalisation hierarchies in ARX's format: one row per original value, one column per level.

Column 0 holds the original (leaf) value, column ``L`` the value at generalisation level ``L``;
the last column is usually ``*``. Every level must be a *coarsening* of the level below it: two
rows that agree at level ``L`` must agree at every level above ``L``.

Builders cover the usual Dutch municipal cases: numeric bands (:meth:`Hierarchy.intervals`),
dates (:meth:`Hierarchy.dates`), prefix masking of postcodes (:meth:`Hierarchy.prefix`) and
code lists such as wijk → stadsdeel → gemeente (:meth:`Hierarchy.code_list`). The only file
access in ``anonymise/`` is the explicit :meth:`Hierarchy.from_csv` convenience.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

TOP = "*"


class HierarchyError(ValueError):
    """A hierarchy is malformed, or data hold values its hierarchy does not know."""


@dataclass(frozen=True)
class Hierarchy:
    """A generalisation hierarchy: ``rows[i][L]`` is leaf ``i``'s value at level ``L``.

    Parameters
    ----------
    rows
        One tuple per original value; all of the same length (the number of levels).
    name
        The attribute it belongs to, used in error sentences.

    Examples
    --------
    >>> h = Hierarchy([("9711AB", "9711", "97", "*"), ("9712CD", "9712", "97", "*")], name="pc6")
    >>> h.height, h.size
    (4, 2)
    >>> h.level(1)
    ('9711', '9712')
    """

    rows: tuple[tuple[str, ...], ...]
    name: str = "attribute"
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __init__(self, rows: Iterable[Sequence[object]], name: str = "attribute") -> None:
        clean = tuple(tuple(str(v) for v in row) for row in rows)
        object.__setattr__(self, "rows", clean)
        object.__setattr__(self, "name", name)
        self._validate()
        object.__setattr__(self, "_index", {row[0]: i for i, row in enumerate(clean)})

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        if not self.rows:
            raise HierarchyError(f"the hierarchy of {self.name!r} has no rows.")
        widths = {len(r) for r in self.rows}
        if len(widths) != 1:
            raise HierarchyError(
                f"the hierarchy of {self.name!r} is ragged: its rows have "
                f"{sorted(widths)} columns; every row needs the same number of levels."
            )
        leaves = [r[0] for r in self.rows]
        if len(set(leaves)) != len(leaves):
            n_dup = len(leaves) - len(set(leaves))
            raise HierarchyError(
                f"the hierarchy of {self.name!r} lists {n_dup} original value(s) more than once."
            )
        for level in range(1, len(self.rows[0]) - 1):
            parent: dict[str, str] = {}
            for r in self.rows:
                seen = parent.setdefault(r[level], r[level + 1])
                if seen != r[level + 1]:
                    raise HierarchyError(
                        f"level {level + 1} of the hierarchy of {self.name!r} is not a coarsening "
                        f"of level {level}: {r[level]!r} maps to both {seen!r} and "
                        f"{r[level + 1]!r}."
                    )

    def check_values(self, values: Iterable[object]) -> None:
        """Raise :class:`HierarchyError` if any value is not an original value of this hierarchy.

        The message gives the attribute and the number of unknown values, never the values.

        >>> h = Hierarchy([("a", "*"), ("b", "*")], name="sex")
        >>> h.check_values(["a", "b", "a"])
        >>> h.check_values(["a", "x", "y"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        anonymise.hierarchy.HierarchyError: attribute 'sex': 2 distinct value(s) are missing ...
        """
        missing = {str(v) for v in values} - self._index.keys()
        if missing:
            raise HierarchyError(
                f"attribute {self.name!r}: {len(missing)} distinct value(s) are missing from "
                "its hierarchy."
            )

    # ------------------------------------------------------------------ accessors
    @property
    def height(self) -> int:
        """The number of levels, level 0 (the original values) included."""
        return len(self.rows[0])

    @property
    def size(self) -> int:
        """The number of original (leaf) values."""
        return len(self.rows)

    @property
    def leaves(self) -> tuple[str, ...]:
        """The original values, in row order."""
        return self.level(0)

    def level(self, level: int) -> tuple[str, ...]:
        """The values at ``level``, one per row (so aligned with :attr:`leaves`)."""
        if not 0 <= level < self.height:
            raise HierarchyError(
                f"the hierarchy of {self.name!r} has levels 0..{self.height - 1}, not {level}."
            )
        return tuple(r[level] for r in self.rows)

    def codes(self, level: int) -> tuple[np.ndarray, tuple[str, ...]]:
        """Integer codes of each row's value at ``level`` and the distinct values they index.

        >>> h = Hierarchy([("1", "0-4"), ("2", "0-4"), ("7", "5-9")])
        >>> codes, values = h.codes(1)
        >>> codes.tolist(), values
        ([0, 0, 1], ('0-4', '5-9'))
        """
        values = tuple(dict.fromkeys(self.level(level)))
        index = {v: i for i, v in enumerate(values)}
        return np.array([index[v] for v in self.level(level)], dtype=np.int64), values

    def index_of(self, value: object) -> int:
        """The row of an original value (raises :class:`HierarchyError` when unknown)."""
        try:
            return self._index[str(value)]
        except KeyError:
            raise HierarchyError(
                f"attribute {self.name!r}: 1 distinct value(s) are missing from its hierarchy."
            ) from None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_csv(cls, path: str | Path, *, name: str | None = None, sep: str = ";") -> Hierarchy:
        """Read an ARX hierarchy CSV (no header; column 0 original value, last column ``*``)."""
        path = Path(path)
        with path.open(newline="", encoding="utf-8") as f:
            rows = [row for row in csv.reader(f, delimiter=sep) if row and any(row)]
        return cls(rows, name=name or path.stem)

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[object]], *, name: str = "attribute") -> Hierarchy:
        """Build a hierarchy from rows (the same as the constructor, keyword ``name``)."""
        return cls(rows, name=name)

    @classmethod
    def intervals(
        cls,
        values: Iterable[int],
        *,
        widths: Sequence[int] = (5, 10, 20),
        start: int = 0,
        name: str = "attribute",
    ) -> Hierarchy:
        """Numeric bands: each level groups integers into intervals of the next width.

        Every width must be a multiple of the one before, so each level coarsens the previous.

        >>> h = Hierarchy.intervals(range(17, 20), widths=(5, 10), name="age")
        >>> h.rows[0]
        ('17', '15-19', '10-19', '*')
        """
        for a, b in pairwise(widths):
            if b % a:
                raise HierarchyError(
                    f"interval widths for {name!r} must each divide the next; {a} does not "
                    f"divide {b}."
                )
        rows = []
        for v in sorted({int(x) for x in values}):
            row = [str(v)]
            for w in widths:
                lo = start + ((v - start) // w) * w
                row.append(f"{lo}-{lo + w - 1}")
            rows.append((*row, TOP))
        return cls(rows, name=name)

    @classmethod
    def dates(cls, values: Iterable[dt.date], *, name: str = "attribute") -> Hierarchy:
        """Dates: day (ISO ``2024-03-17``) → month ``2024-03`` → quarter ``2024-Q1`` → year → ``*``.

        >>> Hierarchy.dates([dt.date(2024, 3, 17)], name="intake_on").rows[0]
        ('2024-03-17', '2024-03', '2024-Q1', '2024', '*')
        """
        rows = [
            (
                d.isoformat(),
                f"{d.year:04d}-{d.month:02d}",
                f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}",
                f"{d.year:04d}",
                TOP,
            )
            for d in sorted(set(values))
        ]
        return cls(rows, name=name)

    @classmethod
    def prefix(
        cls, values: Iterable[str], *, lengths: Sequence[int] = (4, 2), name: str = "attribute"
    ) -> Hierarchy:
        """Prefix masking: keep the first ``lengths[i]`` characters at level ``i + 1``.

        >>> Hierarchy.prefix(["9711AB"], lengths=(4, 2), name="pc6").rows[0]
        ('9711AB', '9711', '97', '*')
        """
        if list(lengths) != sorted(lengths, reverse=True):
            raise HierarchyError(f"prefix lengths for {name!r} must decrease, got {list(lengths)}.")
        rows = [(v, *(v[:n] for n in lengths), TOP) for v in sorted({str(x) for x in values})]
        return cls(rows, name=name)

    @classmethod
    def code_list(
        cls,
        mapping: Mapping[str, Sequence[str]] | Iterable[Sequence[str]],
        *,
        top: bool = True,
        name: str = "attribute",
    ) -> Hierarchy:
        """A code list: rows ``(code, parent, grandparent, …)``, e.g. wijk → stadsdeel → gemeente.

        ``mapping`` is a dict ``code -> (parent, …)`` or an iterable of full rows; ``top`` adds
        a final ``*`` level.

        >>> h = Hierarchy.code_list({"WK036301": ("Centrum", "Amsterdam")}, name="wijk")
        >>> h.rows[0]
        ('WK036301', 'Centrum', 'Amsterdam', '*')
        """
        if isinstance(mapping, Mapping):
            rows = [(code, *parents) for code, parents in mapping.items()]
        else:
            rows = [tuple(r) for r in mapping]
        if top:
            rows = [(*r, TOP) for r in rows]
        return cls(rows, name=name)
