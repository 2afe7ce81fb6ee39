"""report_* layer: the policymakers' monitor (Dutch HTML + PDF) built from a release's ledger.

Modules, bottom to top (each imports only those before it): ``labels`` (Dutch labels, Dutch
number style), ``notation`` (CBS's ``×``, ``–``, ``.``), ``model`` (the typed content: cells,
ledger, figures, sections), ``figures`` (a ledger cell, share or release figure → a figure),
``reading`` (one release of ``research.duckdb``, the previous edition, marts against the
ledger), ``sections``, ``findings`` and ``editions`` (the sections, key findings and change
since the previous edition), ``content`` (assembles them: release → typed content, every number
a ledger cell), ``charts`` (altair → inline SVG, offline), ``render`` (Jinja HTML, WeasyPrint
PDF), ``verify`` (the report check), ``build`` (the whole build, no Dagster) and ``assets`` (the
Dagster asset ``report_policy`` with its blocking check).

Wiring (``pipelines/definitions.py``): add ``*report_assets`` to the assets, ``*report_checks``
to ``asset_checks``, and ``REPORT_RESOURCE_KEY: ReportSettings(...)`` (from the deployment's
settings) to the resources; ``report_selection`` selects the report and its check for a job.
"""

import dagster as dg

from assets.reports.assets import (
    REPORT_ASSET,
    REPORT_CHECK,
    REPORT_GROUP,
    REPORT_RESOURCE_KEY,
    ReportSettings,
    report_only_published_cells,
    report_policy,
)
from assets.reports.build import ReportBuild, build_report
from assets.reports.content import read_report_content
from assets.reports.model import ReportError
from assets.reports.verify import check_report_file, check_report_html

report_assets = [report_policy]
"""The report assets (group ``reports``)."""
report_checks = [report_only_published_cells]
"""Their blocking asset checks."""
report_selection = dg.AssetSelection.groups(REPORT_GROUP)
"""The report asset and its check, for a job (e.g. a quarterly report job)."""

__all__ = [
    "REPORT_ASSET",
    "REPORT_CHECK",
    "REPORT_GROUP",
    "REPORT_RESOURCE_KEY",
    "ReportBuild",
    "ReportError",
    "ReportSettings",
    "build_report",
    "check_report_file",
    "check_report_html",
    "read_report_content",
    "report_assets",
    "report_checks",
    "report_only_published_cells",
    "report_policy",
    "report_selection",
]
