"""report_*: the policymakers' monitor (HTML + PDF) of the newest release, and its blocking check.

``report_policy`` depends on the protected aggregate marts: it runs after a release was built
(and its blocking privacy checks passed), reads only research.duckdb (read-only) and writes
``<data_dir>/reports/<release_id>/rapport.html`` and ``rapport.pdf``. The blocking check
``report_only_published_cells`` re-reads the written HTML and verifies every number in it against
the release ledger, and that it holds nothing identifier-like and no external reference.

No ``from __future__ import annotations`` here: Dagster inspects the context type hints.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from assets.marts.aggregates import AGGREGATE_TABLES
from assets.reports.build import HTML_NAME, ReportBuild, build_report, report_dir
from assets.reports.model import ReportError
from assets.reports.reading import newest_release
from assets.reports.verify import check_report_file
from pipelines.checks import check_result
from quality.outcome import CheckOutcome

REPORT_ASSET = "report_policy"
REPORT_CHECK = "report_only_published_cells"
REPORT_GROUP = "reports"
REPORT_RESOURCE_KEY = "report_settings"


class ReportSettings(dg.ConfigurableResource):
    """Where the report reads from and writes to, and the deployment's register.

    ``research_db`` is opened read-only; ``reports_dir`` gets one folder per release.
    ``threshold`` is only a fallback for a release that does not record its own.
    """

    research_db: str
    reports_dir: str
    processing_register: list[dict[str, str]] = Field(default_factory=list)
    organisations: list[str] = Field(default_factory=list)
    threshold: int  # [tables] threshold (its default lives in pipelines.settings)
    steward_db: str = ""  # the steward's database: the previous edition's cells (its ledger)

    def build(self) -> ReportBuild:
        """Build the report of the newest release."""
        return build_report(
            self.research_db,
            self.reports_dir,
            register=self.processing_register,
            organisations=self.organisations,
            threshold=self.threshold,
            steward_db=self.steward_db or None,
        )

    def html_path(self) -> Path:
        """Where the newest release's HTML report is (or would be)."""
        import duckdb

        with duckdb.connect(self.research_db, read_only=True) as con:
            release_id = newest_release(con).release_id
        return report_dir(self.reports_dir, release_id) / HTML_NAME

    def check(self) -> CheckOutcome:
        """Verify the written report of the newest release (see ``assets.reports.verify``)."""
        if not Path(self.research_db).exists():
            return CheckOutcome(False, f"No research database at {self.research_db}.")
        try:
            return check_report_file(
                self.html_path(),
                self.research_db,
                threshold=self.threshold,
                steward_db=self.steward_db or None,
            )
        except ReportError as exc:
            return CheckOutcome(False, f"The report cannot be verified: {exc}")


@dg.asset(
    name=REPORT_ASSET,
    deps=list(AGGREGATE_TABLES),
    kinds={"html", "pdf"},
    description=(
        "Monitor for policymakers (Dutch HTML + PDF) of the newest release: key findings on "
        "the first page, participants, progress since intake per life domain, the change since "
        "the previous edition, Bridge levels and "
        "goals per life domain, outcomes per organisation, methods in plain language with a "
        "technical appendix, and the processing register. Built only from the release ledgers' "
        "published cells; suppressed cells show as '×' (CBS notation). Written to "
        "<data_dir>/reports/<release_id>/."
    ),
)
def report_policy(
    context: dg.AssetExecutionContext, report_settings: ReportSettings
) -> dg.MaterializeResult:
    """Build the report of the newest release and describe what it shows."""
    built = report_settings.build()
    context.log.info(
        f"report of release {built.release_id}: {built.pages} pages, {built.cells_shown} cells "
        f"({built.cells_suppressed} suppressed) in {built.seconds} s"
    )
    return dg.MaterializeResult(
        metadata={
            "release_id": built.release_id,
            "pages": built.pages,
            "cells_shown": built.cells_shown,
            "cells_suppressed": built.cells_suppressed,
            "derived_shown": built.derived_shown,
            "html": dg.MetadataValue.path(str(built.html_path)),
            "pdf": dg.MetadataValue.path(str(built.pdf_path)),
            "seconds": built.seconds,
            "steps": dg.MetadataValue.json(built.steps),
        }
    )


@dg.asset_check(
    asset=report_policy,
    name=REPORT_CHECK,
    blocking=True,
    description="Every number in the written report is a published ledger value of its release "
    "(or a share recomputed from them; the previous edition's figures against its own ledger); "
    "key findings quote no suppressed or absent cell; no identifier-like text, no key id, no "
    "external URL.",
)
def report_only_published_cells(report_settings: ReportSettings) -> dg.AssetCheckResult:
    """Re-read the written HTML and verify it against the release ledger."""
    return check_result(REPORT_ASSET, REPORT_CHECK, report_settings.check())
