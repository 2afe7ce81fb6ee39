"""CBS notation for the report's published figures (the codebase's rule for published tables).

A suppressed (secret) cell is ``"×"`` — whether it was small or hidden to protect another cell,
so "<10" would be wrong for half of them; a cell the ledger does not list had no persons (a
suppression table does not list true zeros) and is ``"–"``; a figure that cannot be given is
``"."``. The bottom of the report package: it imports nothing of it.
"""

from __future__ import annotations

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
