"""Fixtures of the report tests: one report of the shared demo release, built through Dagster.

The report is built once per session (into its own folder: the demo release's files are only
read); tests that tamper with anything copy the research database or the HTML to ``tmp_path``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from assets.reports import REPORT_RESOURCE_KEY, ReportSettings, report_assets, report_checks
from pipelines.settings import Settings


@pytest.fixture
def make_resource():
    """``make_resource(settings, reports_dir, research_db=None)`` → a ReportSettings."""
    return report_resource


@dataclass(frozen=True)
class BuiltReport:
    """The session's report: settings of the demo release, the resource, the Dagster result."""

    settings: Settings
    resource: ReportSettings
    result: dg.ExecuteInProcessResult
    html_path: Path
    pdf_path: Path
    metadata: dict

    @property
    def research_db(self) -> Path:
        """The demo release's research database (read-only for the tests)."""
        return self.settings.paths.research_db

    def html(self) -> str:
        """The written HTML report."""
        return self.html_path.read_text(encoding="utf-8")


def report_resource(settings: Settings, reports_dir: Path, research_db: Path | None = None):
    """A report resource on the demo release (or another research db), writing to reports_dir."""
    return ReportSettings(
        research_db=str(research_db or settings.paths.research_db),
        reports_dir=str(reports_dir),
        processing_register=[dict(e) for e in settings.register],
        organisations=list(settings.organisations),
        threshold=settings.tables.threshold,
    )


@pytest.fixture(scope="session")
def built_report(demo_release: Settings, tmp_path_factory: pytest.TempPathFactory) -> BuiltReport:
    """``report_policy`` and its check materialised once on the demo release."""
    resource = report_resource(demo_release, tmp_path_factory.mktemp("reports"))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*report_assets, *report_checks],
            resources={REPORT_RESOURCE_KEY: resource},
            instance=instance,
            raise_on_error=False,
        )
    assert result.success, "the report asset did not materialise"
    mat = result.asset_materializations_for_node("report_policy")[0]
    metadata = {k: v.value for k, v in mat.metadata.items()}
    return BuiltReport(
        settings=demo_release,
        resource=resource,
        result=result,
        html_path=Path(str(metadata["html"])),
        pdf_path=Path(str(metadata["pdf"])),
        metadata=metadata,
    )
