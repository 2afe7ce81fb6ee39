"""brugstat's pure anonymisation library (polars, numpy, scipy; no I/O beyond hierarchy CSVs).

* Identifiers: :func:`normalise_bsn`, :func:`is_valid_bsn` (11-proef), :func:`pseudonymise`
  (keyed HMAC-SHA256), :func:`key_id`.
* Microdata: :func:`k_anonymise` — optimal full-domain generalisation over ARX-style hierarchies
  with record or local suppression, per person, with l-diversity / t-closeness constraints, five
  quality metrics and re-identification risk, returning an :class:`AnonymisationResult`.
* Tables: :func:`frequency_table`, :func:`magnitude_table`, :class:`TableSet`, :func:`protect`
  (primary + secondary cell suppression), :func:`audit` (the attacker's LPs), ledgers.
"""

from anonymise.bsn import is_valid_bsn, normalise_bsn
from anonymise.encode import encode, generalise_expr
from anonymise.hierarchy import Hierarchy, HierarchyError
from anonymise.kanon import k_anonymise
from anonymise.metrics import (
    AECS,
    Discernibility,
    Loss,
    NonUniformEntropy,
    Precision,
    QualityMetric,
)
from anonymise.models import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
    RecursiveCLDiversity,
    TCloseness,
)
from anonymise.pseudonym import key_id, pseudonym, pseudonymise
from anonymise.result import AnonymisationResult
from anonymise.risk import RiskSummary, reidentification_risk, risk_from_sizes
from anonymise.search import NoSolutionError, optimal_search
from anonymise.tables import (
    AuditReport,
    Ledger,
    MemoryLedger,
    PrimaryRules,
    ProtectionResult,
    TableSet,
    audit,
    frequency_table,
    magnitude_table,
    protect,
)

__all__ = [
    "AECS",
    "AnonymisationResult",
    "AuditReport",
    "Discernibility",
    "DistinctLDiversity",
    "EntropyLDiversity",
    "Hierarchy",
    "HierarchyError",
    "KAnonymity",
    "Ledger",
    "Loss",
    "MemoryLedger",
    "NoSolutionError",
    "NonUniformEntropy",
    "Precision",
    "PrimaryRules",
    "PrivacyModel",
    "ProtectionResult",
    "QualityMetric",
    "RecursiveCLDiversity",
    "RiskSummary",
    "TCloseness",
    "TableSet",
    "audit",
    "encode",
    "frequency_table",
    "generalise_expr",
    "is_valid_bsn",
    "k_anonymise",
    "key_id",
    "magnitude_table",
    "normalise_bsn",
    "optimal_search",
    "protect",
    "pseudonym",
    "pseudonymise",
    "reidentification_risk",
    "risk_from_sizes",
]
