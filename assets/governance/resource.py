"""The governance resource (Dagster): retention terms, the request file and the date that
retention counts to."""

import datetime as dt
from pathlib import Path

import dagster as dg

from assets.governance.retention import RetentionPolicy


class GovernanceConfig(dg.ConfigurableResource):
    """Retention overrides ({organisation: {end_reason: "10y"}}), the steward's request file,
    and optionally a fixed 'today' (ISO date; default: the real date) for reproducible runs."""

    requests_file: str
    retention: dict[str, dict[str, str]]
    organisations: list[str]
    today: str | None = None

    def policy(self) -> RetentionPolicy:
        """Seed terms overlaid with this deployment's overrides."""
        return RetentionPolicy.from_mapping(self.retention)

    def requests_path(self) -> Path:
        """The data-subject request file (absent file = no requests)."""
        return Path(self.requests_file)

    def today_date(self) -> dt.date:
        """The date retention terms are counted to."""
        return dt.date.fromisoformat(self.today) if self.today else dt.date.today()
