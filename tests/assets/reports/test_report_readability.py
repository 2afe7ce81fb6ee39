"""The report read on paper and by colour-blind readers: charts whose categories do not depend on
colour alone, palettes that stay apart in grey and under protanopia/deuteranopia, table headers
repeated on every PDF page, and the peildatum on the first page."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import replace

import pytest

from assets.marts.aggregates import LEVELS
from assets.reports.charts import (
    END_REASON_COLOURS,
    LEVEL_COLOURS,
    _luminance,
    make_charts,
    overview_levels_chart,
)
from assets.reports.content import build_content
from assets.reports.model import reference_date
from assets.reports.render import environment, render_html
from tests.assets.reports.test_report_units import REGISTER, small_ledger, small_meta

# Viénot, Brettel & Mollon (1999): dichromat simulation in linear RGB.
PROTAN = ((0.11238, 0.88762, 0.0), (0.11238, 0.88762, 0.0), (0.00401, -0.00401, 1.0))
DEUTAN = ((0.29275, 0.70725, 0.0), (0.29275, 0.70725, 0.0), (-0.02234, 0.02234, 1.0))


def _linear(hex_colour: str) -> tuple[float, float, float]:
    c = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    return tuple(v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c)


def _seen(hex_colour: str, matrix) -> tuple[float, ...]:
    rgb = _linear(hex_colour)
    lin = [sum(m * v for m, v in zip(row, rgb, strict=True)) for row in matrix]
    # back to perceptual (gamma) space, where distances are closer to what the eye sees
    return tuple(
        12.92 * v if v <= 0.0031308 else 1.055 * max(v, 0) ** (1 / 2.4) - 0.055 for v in lin
    )


def _min_distance(colours, matrix) -> float:
    seen = [_seen(c, matrix) for c in colours]
    return min(
        sum((a - b) ** 2 for a, b in zip(x, y, strict=True)) ** 0.5
        for x, y in itertools.combinations(seen, 2)
    )


def test_level_palette_is_ordered_by_lightness() -> None:
    """Levels 1–5 read as an ordered scale in black and white: luminance strictly falls."""
    lum = [_luminance(c) for c in LEVEL_COLOURS]
    assert all(a > b + 0.05 for a, b in itertools.pairwise(lum)), lum


def test_old_diverging_palette_would_fail_the_lightness_test() -> None:
    """Positive control: RdYlBu (both ends dark) is not ordered in grey."""
    lum = [_luminance(c) for c in ("#d7191c", "#fdae61", "#e6e29a", "#abd9e9", "#2c7bb6")]
    assert not all(a > b + 0.05 for a, b in itertools.pairwise(lum))


@pytest.mark.parametrize("matrix", [PROTAN, DEUTAN], ids=["protanopia", "deuteranopia"])
@pytest.mark.parametrize(
    "palette", [LEVEL_COLOURS, tuple(END_REASON_COLOURS.values())], ids=["levels", "end_reasons"]
)
def test_palettes_stay_apart_for_colour_blind_readers(palette, matrix) -> None:
    assert _min_distance(palette, matrix) > 0.12


def test_red_green_pair_fails_the_colour_blind_test() -> None:
    """Positive control: a red and a green of equal lightness collapse for deuteranopes."""
    assert _min_distance(("#d62728", "#6f8f00"), DEUTAN) < 0.12


def test_stacked_chart_labels_every_wide_segment_directly() -> None:
    content = build_content(small_meta(), small_ledger(), register=REGISTER)
    complete = replace(
        content.domains[0],
        levels=tuple(
            (v, replace(f, suppressed=False, value=100.0)) for v, f in content.domains[0].levels
        ),
    )
    chart = overview_levels_chart([complete])
    assert chart is not None
    texts = set(re.findall(r"<text[^>]*>([^<]*)</text>", chart.svg))
    assert {str(v) for v in LEVELS} <= texts, texts  # each 20 % segment carries its level


def test_table_headers_repeat_on_every_pdf_page(tmp_path) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    weasyprint = pytest.importorskip("weasyprint")
    css = environment().get_template("rapport.css.j2").render()
    rows = "".join(f"<tr><th scope='row'>Rij {i}</th><td>{i}</td></tr>" for i in range(150))
    html = (
        f"<html><head><style>{css}</style></head><body><main><table class='cijfers'>"
        "<thead><tr><th class='rijkop'>Kopregel</th><th>Personen</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></main></body></html>"
    )
    target = tmp_path / "t.pdf"
    weasyprint.HTML(string=html).write_pdf(target)
    pdf = pdfium.PdfDocument(str(target))
    try:
        pages = []
        for i in range(len(pdf)):
            textpage = pdf[i].get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
    finally:
        pdf.close()
    assert len(pages) >= 3
    assert all("Kopregel" in p for p in pages), [p[:80] for p in pages]


def test_print_css_repeats_headers_and_keeps_rows_whole() -> None:
    css = environment().get_template("rapport.css.j2").render()
    print_css = css.split("@media print", 1)[1]
    assert re.search(r"thead\s*{\s*display:\s*table-header-group", print_css)
    assert re.search(r"tr\s*{[^}]*break-inside:\s*avoid", print_css)


def test_peildatum_is_the_recorded_reference_date_or_the_build_day() -> None:
    meta = small_meta()
    assert reference_date(meta) == meta.built_at.date()
    recorded = replace(meta, parameters={**meta.parameters, "reference_date": "2026-10-01"})
    assert reference_date(recorded) == dt.date(2026, 10, 1)
    content = build_content(recorded, small_ledger(), register=REGISTER)
    html = render_html(content, make_charts(content.domains, content.organisations))
    title_page = html.split('<nav class="inhoud"', 1)[0]
    assert '<dd class="peildatum">1 oktober 2026</dd>' in title_page
    assert '<dd class="periode">' in title_page
