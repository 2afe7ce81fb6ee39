"""Table protection: frequency/magnitude tables, primary rules, optimal secondary suppression,
an independent LP audit and a release ledger against differencing between releases.

Pure library (polars, numpy, scipy); no I/O.
"""

from anonymise.tables.audit import AuditReport
from anonymise.tables.build import frequency_table, magnitude_table
from anonymise.tables.ledger import Ledger, MemoryLedger
from anonymise.tables.model import TOTAL, Dimension, Table, TableSet
from anonymise.tables.primary import PrimaryRules, primary_cells
from anonymise.tables.protect import audit, protect
from anonymise.tables.result import ProtectionResult

__all__ = [
    "TOTAL",
    "AuditReport",
    "Dimension",
    "Ledger",
    "MemoryLedger",
    "PrimaryRules",
    "ProtectionResult",
    "Table",
    "TableSet",
    "audit",
    "frequency_table",
    "magnitude_table",
    "primary_cells",
    "protect",
]
