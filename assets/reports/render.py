"""Render report content to one self-contained HTML document, and that HTML to an A4 PDF.

The HTML has no external reference of any kind: CSS is inline, charts are inline SVG, there are
no scripts, fonts come from the system (DejaVu on Debian). Every displayed number carries where it
came from (``data-kind`` and the ledger cell key, or the parameter name), which is what the
report check verifies. The PDF is WeasyPrint's print rendering of the very same HTML, with a URL
fetcher that refuses every URL, so nothing can be fetched even if a reference slipped in.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from assets.reports import labels as lb
from assets.reports.charts import ReportCharts
from assets.reports.model import ReportContent

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "rapport.html.j2"
REPORT_TITLE = "Monitor Brug naar zelfredzaamheid"

PARAM_LABELS: tuple[tuple[str, str], ...] = (
    ("k_required", "Vereiste k (k-anonimiteit per persoon)"),
    ("k_achieved", "Bereikte k (kleinste groep personen met dezelfde kenmerken)"),
    ("persons_suppressed", "Personen weggelaten uit de microdata (recordonderdrukking)"),
    ("suppression_limit", "Maximaal toegestaan aandeel weggelaten personen"),
    ("threshold", "Drempel: minimum aantal personen per gepubliceerde cel"),
    ("cells_published", "Cellen in het vrijgaveregister van deze release"),
    ("cells_withheld", "waarvan onderdrukt"),
    ("cells_primary", "Primair onderdrukte cellen (onder de drempel)"),
    ("cells_secondary", "Secundair onderdrukte cellen (ter bescherming van andere cellen)"),
    ("information_loss", "Informatieverlies door generalisatie (Loss-maat)"),
    ("max_risk", "Hoogste heridentificatierisico van een record"),
    ("avg_risk", "Gemiddeld heridentificatierisico"),
)
"""Rows of the methods table: parameter name → Dutch label (labels hold no digits)."""


def environment() -> jinja2.Environment:
    """The report's Jinja environment: autoescaping on, undefined names are errors."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value is escaped; only our own SVG is marked safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(content: ReportContent, charts: ReportCharts) -> str:
    """The report as one self-contained HTML document (Dutch, ``lang="nl"``)."""
    svg = {
        "overview_levels": charts.overview_levels,
        "outcomes": charts.outcomes,
        "domains": charts.domains,
        "organisations": charts.organisations,
        "trends": charts.trends,
        "progress": charts.progress,
    }
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            c=content,
            charts=svg,
            title=REPORT_TITLE,
            date=lb.fmt_date(content.meta.built_at),
            peildatum=lb.fmt_date(content.reference_date),
            previous_peildatum=(
                lb.fmt_date(content.comparison.peildatum) if content.comparison.peildatum else ""
            ),
            params=[
                (label, content.methods.params[name])
                for name, label in PARAM_LABELS
                if name in content.methods.params
            ],
            level_legend=lb.LEVEL_LEGEND,
        )
    )


def write_pdf(html: str, target: Path) -> int:
    """Write ``html`` as an A4 PDF to ``target``; returns the number of pages."""
    import weasyprint  # slow import (~1 s); only the PDF step needs it
    from weasyprint.urls import URLFetcher

    # refuse every URL: the report is self-contained, and a renderer must never go online
    fetcher = URLFetcher(allowed_protocols=(), fail_on_errors=True)
    document = weasyprint.HTML(string=html, url_fetcher=fetcher).render()
    document.write_pdf(target)
    return len(document.pages)
