"""The result of a quality or privacy check, independent of Dagster."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckOutcome:
    """Whether a check passed, a one-sentence description, and JSON-able details.

    Details hold counts, column names and rule names, never personal values.
    """

    passed: bool
    description: str
    details: dict[str, Any] = field(default_factory=dict)
