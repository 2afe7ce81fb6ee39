"""ARX's Adult benchmark data (tests/data/adult): where it lies and its quasi-identifiers."""

from __future__ import annotations

from pathlib import Path

ADULT = Path(__file__).resolve().parents[1] / "data" / "adult"
ADULT_QIS = ["age", "sex", "race", "marital-status", "education", "native-country", "workclass"]
"""The seven quasi-identifiers of the ARX reference results, in lattice order."""
