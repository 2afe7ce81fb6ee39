"""Turn a ``quality`` outcome into a Dagster asset check result (the only bridge between them)."""

import json

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
