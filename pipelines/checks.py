"""Turn a ``quality`` outcome into a Dagster asset check result (the only bridge between them)."""

import json
from collections.abc import Iterable

import dagster as dg

from quality.outcome import CheckOutcome


def check_result(asset: str, name: str, outcome: CheckOutcome) -> dg.AssetCheckResult:
    """An ``AssetCheckResult`` carrying the outcome's sentence and its (value-free) details."""
    details = json.dumps(outcome.details, default=str)
    metadata: dict[str, dg.RawMetadataValue] = {"summary": outcome.description}
    if len(details) <= 20_000:
        metadata["details"] = dg.MetadataValue.json(json.loads(details))
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=name,
        passed=outcome.passed,
        description=outcome.description,
        metadata=metadata,
        severity=dg.AssetCheckSeverity.ERROR,
    )


def failed_check_lines(evaluations: Iterable[dg.AssetCheckEvaluation]) -> list[str]:
    """Console lines for failed checks: asset / check, its description (a sentence naming
    files, columns and rules, never values) and the counts among its details."""
    lines = []
    for c in evaluations:
        lines.append(f"  check failed: {c.asset_key.to_user_string()} / {c.check_name}")
        if c.description:
            lines.append(f"    {c.description}")
        entry = c.metadata.get("details")
        details = entry.value if entry is not None else None
        counts = {
            k: v
            for k, v in (details.items() if isinstance(details, dict) else ())
            if isinstance(v, int) and not isinstance(v, bool)
        }
        if counts:
            lines.append("    " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    return lines
