"""Key findings and editions on a real (synthetic, 1,200-person) release: the findings are on
the first PDF page and quote only published cells (read back independently of the report code);
the first edition says so; a research database holding two releases gives a change section
whose numbers recompute from both ledgers, checked by the blocking asset check."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.marts.build import new_release_id
from assets.reports import build_report
from assets.reports.assets import report_only_published_cells

pytestmark = pytest.mark.slow

OUTCOMES = "mart_outcomes_by_organisation_programme"
GRAND_TOTAL = "organisation=Totaal;programme=Totaal;end_reason=Totaal"
PREVIOUS = new_release_id(dt.datetime(2026, 8, 1, 9, 30), "0a1b2c3d-previous")


def _findings(html: str) -> str:
    return html.split('<section id="kernbevindingen"', 1)[1].split("</section>", 1)[0]


def _ledger(db: Path, release: str) -> dict[str, tuple[float | None, bool]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select cell_key, value, is_suppressed from release_ledger where release_id = ?",
            [release],
        ).fetchall()
    return {k: (v, s) for k, v, s in rows}


def add_previous_release(db: Path, fewer_persons: int = 25, more_secret: int = 1) -> str:
    """Record an earlier release in ``db``: the newest one, 4 months earlier, with
    ``fewer_persons`` fewer participants in the grand total and ``more_secret`` more suppressed
    cells. Returns the newest release id."""
    with duckdb.connect(str(db)) as con:
        (release,) = con.execute(
            "select release_id from meta_release order by built_at desc limit 1"
        ).fetchone()
        con.execute(
            "insert into meta_release select ?, built_at - interval 125 day, code_version, "
            "parameters_json, key_id, k_achieved, persons_suppressed, cells_suppressed_primary, "
            "cells_suppressed_secondary, max_risk, avg_risk, information_loss "
            "from meta_release where release_id = ?",
            [PREVIOUS, release],
        )
        con.execute(
            "insert into release_ledger select ?, table_name, cell_key, coordinates, "
            "case when table_name = ? and coordinates = ? then value - ? else value end, "
            "is_suppressed from release_ledger where release_id = ?",
            [PREVIOUS, OUTCOMES, GRAND_TOTAL, fewer_persons, release],
        )
        # the previous edition kept a few more cells secret (not the grand total)
        con.execute(
            "update release_ledger set value = null, is_suppressed = true where release_id = ? "
            "and cell_key in (select cell_key from release_ledger where release_id = ? and not "
            "is_suppressed and coordinates <> ? order by cell_key limit ?)",
            [PREVIOUS, PREVIOUS, GRAND_TOTAL, more_secret],
        )
    return release


def test_key_findings_are_on_the_first_pdf_page(built_report) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    html = built_report.html()
    quoted = [
        htmllib.unescape(t)
        for t in re.findall(r'data-kind="(?:count|derived)"[^>]*>([^<]+)<', _findings(html))
    ]
    assert len(re.findall(r'class="bevinding"', html)) >= 3 and quoted
    pdf = pdfium.PdfDocument(str(built_report.pdf_path))
    try:
        textpage = pdf[0].get_textpage()
        first = textpage.get_text_range()
        textpage.close()
    finally:
        pdf.close()
    assert "Kernbevindingen" in first and "Peildatum" in first
    flat = re.sub(r"\s+", " ", first)
    for number in quoted:
        assert number in flat, f"{number} of a key finding is not on page 1"


def test_findings_reference_only_published_cells(built_report) -> None:
    """Independent of the report code: regexes over the findings, the ledger read with SQL."""
    html = built_report.html()
    ledger = _ledger(built_report.research_db, built_report.metadata["release_id"])
    findings = _findings(html)
    cells = re.findall(r'data-kind="count" data-cell="([^"]*)">([^<]*)<', findings)
    shares = re.findall(r"data-num='([^']*)' data-den='([^']*)'>([^<]*)<", findings)
    assert cells and shares
    for key, shown in cells:
        value, suppressed = ledger[htmllib.unescape(key)]
        assert not suppressed and shown == f"{round(value):,}".replace(",", ".")
    for num, den, shown in shares:
        num, den = json.loads(htmllib.unescape(num)), json.loads(htmllib.unescape(den))
        assert den and all(not ledger[k][1] for k in (*num, *den))
        share = sum(ledger[k][0] for k in num) / sum(ledger[k][0] for k in den)
        assert shown == f"{100 * share:.1f}%".replace(".", ",")
    # nothing but marked figures and ledger labels carries a digit
    bare = re.sub(r'<span[^>]*data-kind="[^"]*"[^>]*>[^<]*</span>', "", findings)
    assert not re.search(r"\d", re.sub(r"<[^>]+>", "", bare))
    assert "×" not in re.sub(r"<[^>]+>", "", findings.split('class="voorbehoud"')[0])


def test_the_demo_release_is_a_first_edition(built_report) -> None:
    html = built_report.html()
    change = html.split('<section id="verandering"', 1)[1].split("</section>", 1)[0]
    assert "eerste editie" in change and 'data-kind="change"' not in change


def test_second_release_shows_the_change_and_passes_the_check(
    built_report, make_resource, tmp_path: Path
) -> None:
    db = tmp_path / "research.duckdb"
    shutil.copyfile(built_report.research_db, db)
    release = add_previous_release(db, fewer_persons=25, more_secret=1)
    reports = tmp_path / "reports"
    built = build_report(db, reports, register=built_report.settings.register)
    assert built.release_id == release
    html = built.html_path.read_text(encoding="utf-8")
    assert f'<meta name="brugstat-previous-release" content="{PREVIOUS}">' in html
    change = html.split('<section id="verandering"', 1)[1].split("</section>", 1)[0]
    assert "eerste editie" not in change and PREVIOUS in change

    def row(label: str) -> list[str]:
        m = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', change, re.S)
        assert m, label
        cells = re.findall(r"<td>(.*?)</td>", m.group(1), re.S)
        return [htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]

    persons = row("Deelnemers (personen)")
    assert persons[2] == "+25"
    before, after = (int(p.replace(".", "")) for p in persons[:2])
    assert after - before == 25
    assert row("Geheimgehouden (onderdrukte) cellen")[2] == "−1"
    assert len(re.findall(r'data-kind="change"', change)) >= 3 + 8

    # the blocking asset check re-reads the written report against both releases
    resource = make_resource(built_report.settings, reports, research_db=db)
    assert report_only_published_cells(report_settings=resource).passed
    # ... and fails once the previous edition's ledger disagrees with what the report shows
    with duckdb.connect(str(db)) as con:
        con.execute(
            "update release_ledger set value = value + 1 where release_id = ? and coordinates = ?",
            [PREVIOUS, GRAND_TOTAL],
        )
    result = report_only_published_cells(report_settings=resource)
    assert not result.passed
    assert "count_differs_from_ledger" in result.description


def test_upgraded_deployment_without_the_previous_cells_says_they_are_not_available(
    built_report, make_resource, tmp_path: Path
) -> None:
    """After an upgrade from the per-snapshot ledgers ``meta_release`` names the previous
    edition but no ledger holds its cells: the report says so in Dutch and shows '.' (CBS: not
    available) for that edition and every change, instead of failing; the check passes, and
    fails once the cells are there after all (the report then misstates their availability)."""
    db = tmp_path / "research.duckdb"
    shutil.copyfile(built_report.research_db, db)
    release = add_previous_release(db, fewer_persons=25, more_secret=1)
    with duckdb.connect(str(db)) as con:
        con.execute("delete from release_ledger where release_id = ?", [PREVIOUS])
    built = build_report(db, tmp_path / "reports", register=built_report.settings.register)
    assert built.release_id == release
    html = built.html_path.read_text(encoding="utf-8")
    assert f'<meta name="brugstat-previous-release" content="{PREVIOUS}">' in html
    change = html.split('<section id="verandering"', 1)[1].split("</section>", 1)[0]
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", change))
    assert "niet in het vrijgaveregister" in text and "niet beschikbaar" in text
    assert PREVIOUS in change and "eerste editie" not in change
    assert "data-release=" not in change  # no figure claims to be the previous edition's
    rows = re.findall(r'<th scope="row">([^<]*)</th>(.*?)</tr>', change, re.S)
    assert len(rows) >= 3 + 8
    for _, cells in rows:
        shown = [
            htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td>(.*?)</td>", cells, re.S)
        ]
        assert shown[0] == "." and shown[2] in (".", "×"), shown
    persons = dict(rows)["Deelnemers (personen)"]
    assert re.search(r"<td>.*\d.*</td>", persons)  # this edition's figure is still shown

    resource = make_resource(built_report.settings, tmp_path / "reports", research_db=db)
    assert report_only_published_cells(report_settings=resource).passed
    # control: the previous edition's cells are in the ledger after all
    with duckdb.connect(str(db)) as con:
        con.execute(
            "insert into release_ledger select ?, table_name, cell_key, coordinates, value, "
            "is_suppressed from release_ledger where release_id = ?",
            [PREVIOUS, release],
        )
    result = report_only_published_cells(report_settings=resource)
    assert not result.passed
    assert "previous_edition_availability_misstated" in result.description
