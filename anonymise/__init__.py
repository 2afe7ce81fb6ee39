"""brugstat's pure anonymisation library (polars, numpy, scipy; no I/O beyond hierarchy CSVs).

scipy is imported inside the functions that use it (table protection, statistics), so that
``import anonymise`` costs little more than polars and numpy (``benchmarks/importtime.py``).

* Identifiers: :func:`normalise_bsn`, :func:`is_valid_bsn` (11-proef), :func:`pseudonymise`
  (keyed HMAC-SHA256), :func:`key_id`.
* Microdata: :func:`k_anonymise` — optimal full-domain generalisation over ARX-style hierarchies
  with record or local suppression, per person, with l-diversity / t-closeness constraints, five
  quality metrics and re-identification risk, returning an :class:`AnonymisationResult`.
* Tables: :func:`frequency_table`, :func:`magnitude_table`, :class:`TableSet`, :func:`protect`
  (primary + secondary cell suppression), :func:`audit` (the attacker's LPs), ledgers.
* Analysis: :func:`paired_change`, :func:`share_at_level`, :func:`transition_matrix`,
  :func:`time_to_goal`, :func:`goals_by_confidence` (figures on < threshold persons withheld);
  :func:`check_output` (an analyst's own table against the release's disclosure rules).
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
    MaxValueShare,
    PrivacyModel,
    RecordedDistinctLDiversity,
    RecursiveCLDiversity,
    TCloseness,
)
from anonymise.output_check import OutputDecision, OutputRules, check_output
from anonymise.pseudonym import key_id, pseudonym, pseudonymise
from anonymise.result import AnonymisationResult
from anonymise.risk import RiskSummary, reidentification_risk, risk_from_sizes
from anonymise.search import NoSolutionError, optimal_search
from anonymise.stats import (
    Withheld,
    goals_by_confidence,
    paired_change,
    share_at_level,
    time_to_goal,
    transition_matrix,
)
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
    "MaxValueShare",
    "MemoryLedger",
    "NoSolutionError",
    "NonUniformEntropy",
    "OutputDecision",
    "OutputRules",
    "Precision",
    "PrimaryRules",
    "PrivacyModel",
    "ProtectionResult",
    "QualityMetric",
    "RecordedDistinctLDiversity",
    "RecursiveCLDiversity",
    "RiskSummary",
    "TCloseness",
    "TableSet",
    "Withheld",
    "audit",
    "check_output",
    "encode",
    "frequency_table",
    "generalise_expr",
    "goals_by_confidence",
    "is_valid_bsn",
    "k_anonymise",
    "key_id",
    "magnitude_table",
    "normalise_bsn",
    "optimal_search",
    "paired_change",
    "protect",
    "pseudonym",
    "pseudonymise",
    "reidentification_risk",
    "risk_from_sizes",
    "share_at_level",
    "time_to_goal",
    "transition_matrix",
]
