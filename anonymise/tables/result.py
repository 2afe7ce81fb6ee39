"""What :func:`~anonymise.tables.protect` returns: protected tables plus a JSON-able record."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from anonymise.tables.audit import AuditReport
from anonymise.tables.ledger import Ledger, ledger_frames
from anonymise.tables.model import Problem, TableSet


@dataclass
class ProtectionResult:
    """Protected tables (``value`` null when suppressed, ``suppressed``, ``reason``) and a record.

    ``record`` holds the rules, parameters, method, cost, solver status and the audit (per
    suppressed cell its feasibility interval); keep it internal, the intervals are not for
    publication.
    """

    tables: dict[str, pl.DataFrame]
    table_set: TableSet
    problem: Problem
    suppressed: np.ndarray
    reasons: list[str | None]
    audit: AuditReport
    record: dict = field(default_factory=dict)

    @property
    def n_primary(self) -> int:
        return sum(r is not None and r.startswith("primary") for r in self.reasons)

    @property
    def n_secondary(self) -> int:
        return sum(r == "secondary" for r in self.reasons)

    def to_json(self) -> str:
        """The record as JSON."""
        return json.dumps(self.record, default=_jsonable)

    def record_release(self, ledger: Ledger, release_id: str) -> None:
        """Store this release's cells and equations in ``ledger``."""
        cells, equations = ledger_frames(
            self.table_set,
            release_id,
            self.suppressed,
            self.problem.upl,
            self.problem.lpl,
            self.reasons,
        )
        ledger.record(release_id, cells, equations)


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON-able: {type(o)}")


def protected_tables(
    table_set: TableSet, suppressed: np.ndarray, reasons: list[str | None]
) -> dict[str, pl.DataFrame]:
    """Per table: coordinates, ``value`` (null if suppressed), ``suppressed``, ``reason``."""
    n = table_set.n_cells
    status = pl.DataFrame(
        {
            "cell_id": np.arange(n),
            "suppressed": suppressed[:n],
            "reason": pl.Series(reasons[:n], dtype=pl.String),
        }
    )
    out = {}
    for t in table_set.tables:
        frame = table_set.memberships[t.name].join(status, on="cell_id", how="left")
        out[t.name] = frame.select(
            *t.dim_names,
            pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value")).alias("value"),
            "suppressed",
            "reason",
        )
    return out
