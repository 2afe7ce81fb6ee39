"""The policymakers' report of a real (synthetic, 1,200-person) release: built through Dagster,
every number a published ledger value, suppressed cells as CBS's '×', no URL, the blocking check
catching planted numbers and e-mail addresses, and the HTML and PDF actually rendering (headless
Chromium screenshot, pdftoppm pages)."""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from assets.reports import ReportError, build_report, read_report_content
from assets.reports.assets import report_only_published_cells
from assets.reports.labels import fmt_int

pytestmark = pytest.mark.slow

OUTCOMES = "mart_outcomes_by_organisation_programme"
GRAND_TOTAL = "organisation=Totaal;programme=Totaal;end_reason=Totaal"


def _newest_ledger(db: Path) -> tuple[str, dict[str, tuple[float | None, bool]], str]:
    """Release id, {cell_key: (value, suppressed)} and key id, read straight from the file."""
    with duckdb.connect(str(db), read_only=True) as con:
        release, key_id = con.execute(
            "select release_id, key_id from meta_release order by built_at desc limit 1"
        ).fetchone()
        rows = con.execute(
            "select cell_key, value, is_suppressed from release_ledger where release_id = ?",
            [release],
        ).fetchall()
    return release, {k: (v, s) for k, v, s in rows}, key_id


def _copy_db(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "research.duckdb"
    shutil.copyfile(src, dst)
    return dst


def _non_white_share(path: Path) -> tuple[float, int]:
    """Share of pixels that are not (near) white, and the number of distinct colours."""
    with Image.open(path) as im:
        rgb = im.convert("RGB")
        grey = rgb.convert("L")
        hist = grey.histogram()
        colours = rgb.getcolors(maxcolors=1 << 20) or []
    return 1 - sum(hist[245:]) / sum(hist), len(colours)


def test_asset_materialises_and_its_check_passes(built_report) -> None:
    meta = built_report.metadata
    release, ledger, _ = _newest_ledger(built_report.research_db)
    assert meta["release_id"] == release
    assert meta["pages"] >= 3
    assert 0 < meta["cells_suppressed"] <= meta["cells_shown"] <= len(ledger)
    assert built_report.html_path == built_report.html_path.parent / "rapport.html"
    assert built_report.html_path.parent.name == release
    assert built_report.pdf_path.exists() and built_report.pdf_path.stat().st_size > 10_000
    (evaluation,) = built_report.result.get_asset_check_evaluations()
    assert evaluation.check_name == "report_only_published_cells"
    assert evaluation.passed, evaluation.description


def test_every_number_in_the_tables_is_a_published_ledger_value(built_report) -> None:
    """Independent of the report code: regexes over the HTML, the ledger read with SQL."""
    html = built_report.html()
    _, ledger, _ = _newest_ledger(built_report.research_db)
    threshold = built_report.settings.tables.threshold
    cells = re.findall(r'data-kind="count" data-cell="([^"]*)">([^<]*)<', html)
    assert len(cells) > 50
    for key, shown in cells:
        key, shown = htmllib.unescape(key), htmllib.unescape(shown)
        assert key in ledger, "a shown cell is not in the release ledger"
        value, suppressed = ledger[key]
        assert shown == ("×" if suppressed else "–" if value == 0 else fmt_int(value))
    published = {fmt_int(v) for v, s in ledger.values() if not s}
    statistics, methods = html.split('<section id="methoden"', 1)
    for td in re.findall(r"<td>(.*?)</td>", statistics, flags=re.S):
        for cls, text in re.findall(r'<span class="([^"]*)"[^>]*>([^<]*)</span>', td):
            text = htmllib.unescape(text)
            if not re.search(r"\d", text):
                continue
            if "afgeleid" in cls:
                assert re.fullmatch(r"\d{1,3},\d%", text), "a derived number is not a share"
            elif "verschil" in cls:
                # progress since intake: points between two shares, recomputed below
                assert re.fullmatch(r"[+−]?\d{1,3},\d", text), "a change is not in points"
            else:
                assert text in published
        bare = re.sub(r"<span[^>]*>[^<]*</span>", "", td)
        assert not re.search(r"\d", bare), "a table cell has a number outside a figure"
    # progress since intake: each row's change is its latest share minus its intake share
    progress = statistics.split('id="vooruitgang"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", progress, flags=re.S)
    assert rows, "the release publishes intake levels: the progress table is there"
    compared = 0
    for tr in rows:
        spans = re.findall(r'<span class="n[^"]*" data-kind="[^"]*"[^>]*>([^<]*)</span>', tr)
        if not spans:
            continue  # the header row
        intake, latest, change = (htmllib.unescape(x) for x in spans[:3])
        if "×" in (intake, latest):
            assert change == "×"
            continue
        a, b = (float(x.rstrip("%").replace(",", ".")) for x in (intake, latest))
        d = float(change.replace("−", "-").replace(",", "."))
        assert abs((b - a) - d) <= 0.1 + 1e-9, (intake, latest, change)
        compared += 1
    assert compared > 0
    # the methods table shows the release's own figures from meta_release
    with duckdb.connect(str(built_report.research_db), read_only=True) as con:
        row = con.execute(
            "select parameters_json, k_achieved, persons_suppressed, cells_suppressed_primary, "
            "cells_suppressed_secondary, max_risk, avg_risk, information_loss "
            "from meta_release order by built_at desc limit 1"
        ).fetchone()
    anon = json.loads(row[0])["anonymisation"]
    expected = {fmt_int(v) for v in (*row[1:5], anon["k"], threshold, len(ledger))}
    expected |= {fmt_int(sum(s for _, s in ledger.values()))}
    expected |= {f"{v:.3f}".replace(".", ",") for v in row[5:8]}
    expected |= {f"{100 * anon['suppression_limit']:.1f}%".replace(".", ",")}
    expected |= {fmt_int(v) for v in anon.get("l_diversity", {}).values()}
    params = re.findall(r'data-kind="param" data-param="[^"]*">([^<]*)<', methods)
    assert params and set(params) <= expected


def test_every_suppressed_cell_renders_as_the_cbs_secret_sign(built_report) -> None:
    html = built_report.html()
    _, ledger, _ = _newest_ledger(built_report.research_db)
    hidden = {k for k, (_, s) in ledger.items() if s}
    shown = {htmllib.unescape(k): v for k, v in re.findall(r'data-cell="([^"]*)">([^<]*)<', html)}
    shown_hidden = hidden & set(shown)
    assert shown_hidden, "the demo release should show at least one suppressed cell"
    assert {shown[k] for k in shown_hidden} == {"×"}
    assert {k for k, v in shown.items() if v == "×"} == shown_hidden  # × only for secret cells
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", html))
    assert not re.search(r"<\s*\d", text), "a '<threshold' notation is left in the report"
    assert "n.b." not in text


def test_first_page_has_peildatum_and_period(built_report) -> None:
    html = built_report.html()
    title_page = html.split('<nav class="inhoud"', 1)[0]
    peildatum = re.search(r'<dd class="peildatum">([^<]+)</dd>', title_page)
    assert peildatum and re.fullmatch(r"\d{1,2} \w+ \d{4}", peildatum.group(1))
    assert re.search(r'<dd class="periode">[^<]*instroomja', title_page)
    guide = html.split('class="leeswijzer"', 1)[1].split("</section>", 1)[0]
    for sign, meaning in (("×", "Geheim"), ("–", "Nihil"), (".", "Gegevens ontbreken")):
        assert f'<span class="n{" onderdrukt" if sign == "×" else ""}">{sign}</span>' in guide
        assert meaning in guide


def test_threshold_and_numbers_come_from_the_release(built_report, tmp_path: Path) -> None:
    """A changed ledger value and a changed release threshold are what the report shows; the
    marts are only compared, and a disagreement is flagged and refused."""
    db = _copy_db(built_report.research_db, tmp_path)
    register = built_report.settings.register
    before = read_report_content(db, register=register)
    total = before.key_figures[0].figure
    assert total.kind == "count" and not total.suppressed
    with duckdb.connect(str(db)) as con:
        release = before.meta.release_id
        con.execute(
            "update release_ledger set value = 12345 where release_id = ? and table_name = ? "
            "and coordinates = ?",
            [release, OUTCOMES, GRAND_TOTAL],
        )
        params = json.loads(
            con.execute(
                "select parameters_json from meta_release where release_id = ?", [release]
            ).fetchone()[0]
        )
        params["threshold"] = 15
        con.execute(
            "update meta_release set parameters_json = ? where release_id = ?",
            [json.dumps(params), release],
        )
    after = read_report_content(db, register=register, verify_marts=False)
    assert after.key_figures[0].figure.text == "12.345"  # from the ledger, not the mart
    assert after.suppressed_text == "×"  # the sign does not depend on the threshold ...
    assert after.methods.params["threshold"].text == "15"  # ... which the reading guide names
    flagged = read_report_content(db, register=register)
    assert flagged.n_mismatches == 1
    assert OUTCOMES in flagged.mismatches[0]
    with pytest.raises(ReportError, match="disagree with the release ledger"):
        build_report(db, tmp_path / "reports", register=register)
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").rglob("*.html"))


def test_a_tampered_mart_does_not_change_the_report(built_report, tmp_path: Path) -> None:
    db = _copy_db(built_report.research_db, tmp_path)
    before = read_report_content(db).key_figures[0].figure.text
    with duckdb.connect(str(db)) as con:
        con.execute(
            f"update {OUTCOMES} set persons = persons + 1 where organisation = 'Totaal' "
            "and programme = 'Totaal' and end_reason = 'Totaal'"
        )
    content = read_report_content(db)
    assert content.key_figures[0].figure.text == before
    assert content.n_mismatches == 1


def test_html_is_self_contained_dutch_and_complete(built_report) -> None:
    html = built_report.html()
    _, _, key_id = _newest_ledger(built_report.research_db)
    assert "http" not in html.lower()
    assert not re.search(r"<(script|link|img|iframe)\b", html, flags=re.I)
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', html))
    assert not re.search(r"url\((?!#)", html)
    assert '<html lang="nl">' in html
    assert key_id not in html
    for section in ("samenvatting", "leefgebieden", "organisaties", "methoden", "register"):
        assert f'id="{section}"' in html
    assert len(re.findall(r'<section id="leefgebied-', html)) == 8
    assert html.count('class="registeritem"') == len(built_report.settings.register)


def test_check_fails_on_a_planted_number_and_email(
    built_report, make_resource, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    shutil.copytree(built_report.html_path.parent.parent, reports)
    resource = make_resource(built_report.settings, reports)
    html_path = reports / built_report.html_path.parent.name / "rapport.html"
    original = html_path.read_text(encoding="utf-8")
    assert report_only_published_cells(report_settings=resource).passed

    html_path.write_text(original.replace("<td>", "<td>4.321 ", 1), encoding="utf-8")
    result = report_only_published_cells(report_settings=resource)
    assert not result.passed
    assert "unverified_number_in_table" in result.description

    planted = original.replace("<main>", "<main><p>Contact: j.de.vries@example.nl</p>", 1)
    html_path.write_text(planted, encoding="utf-8")
    result = report_only_published_cells(report_settings=resource)
    assert not result.passed
    assert "identifier:email_value" in result.description
    assert "vries" not in result.description


def test_chromium_renders_the_html(built_report, headless_chromium, tmp_path: Path) -> None:
    png = tmp_path / "rapport.png"
    headless_chromium(built_report.html_path, f"--screenshot={png}", "--window-size=1200,2000")
    with Image.open(png) as im:
        assert im.size == (1200, 2000)
    ink, colours = _non_white_share(png)
    assert ink > 0.10, f"screenshot is nearly blank ({ink:.1%} non-white)"
    assert colours > 50


def test_pdf_pages_are_rendered_and_not_blank(built_report, require_tool, tmp_path: Path) -> None:
    pdftoppm = require_tool("pdftoppm")
    subprocess.run(
        [pdftoppm, "-r", "50", "-png", str(built_report.pdf_path), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == built_report.metadata["pages"] >= 3
    for page in pages:
        ink, colours = _non_white_share(page)
        assert ink > 0.005 and colours > 2, f"{page.name} is blank"


def test_pdf_text_has_every_part(built_report) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    _, _, key_id = _newest_ledger(built_report.research_db)
    pdf = pdfium.PdfDocument(str(built_report.pdf_path))
    try:
        assert len(pdf) == built_report.metadata["pages"]
        texts = []
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        pdf.close()
    text = "\n".join(texts)
    for expected in (
        "Samenvatting",
        "Leefgebieden",
        "Organisaties",
        "Methoden en privacy",
        "verwerkingsregister",
        "Verwerking",
        "×",
        "Peildatum",
        built_report.metadata["release_id"],
    ):
        assert expected in text, expected
    assert key_id not in text
