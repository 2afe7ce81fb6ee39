"""Progress intake → latest per life domain in the report, on a small hand-made ledger: the
shares come from published cells only (a secret part makes the share and the change '×'), the
key finding names the domains with the most and the least progress in a true order, and the
report check catches a number that comes from a suppressed cell."""

from __future__ import annotations

import re
from dataclasses import replace

from anonymise.tables import TOTAL
from assets.marts.aggregates import BRIDGE_LEVELS, BRIDGE_PROGRESS, INTAKE
from assets.reports import labels as lb
from assets.reports.charts import make_charts
from assets.reports.content import build_content
from assets.reports.model import Cell, Ledger
from assets.reports.render import render_html
from assets.reports.verify import check_report_html
from tests.assets.reports.test_report_units import THRESHOLD, small_ledger, small_meta

# domain -> (latest levels, intake levels at level 4 and 5); 'None' = suppressed
LATEST = {
    "wonen": {"1": 100, "2": 100, "3": 100, "4": 150, "5": 50, TOTAL: 500},
    "schulden": {"1": 200, "2": 100, "3": 100, "4": 60, "5": 40, TOTAL: 500},
    "gezin": {"1": 100, "2": 100, "3": 100, "4": 100, "5": 100, TOTAL: 500},
}
INTAKE_HIGH = {"wonen": (50, 25), "schulden": (40, 30), "gezin": (None, 60)}
# wonen 15,0% → 40,0% (+25,0); schulden 14,0% → 20,0% (+6,0); gezin: intake level 4 secret


def _key(measure: str, coords: dict[str, str]) -> str:
    return measure + "|" + ";".join(f"{d}={c}" for d, c in sorted(coords.items()) if c != TOTAL)


def progress_ledger(*, with_intake: bool = True) -> Ledger:
    cells = [c for c in small_ledger().cells.values() if not c.table.endswith(":wonen")]
    for domain, levels in LATEST.items():
        measure = f"persons_latest_level:{domain}"
        for lv, n in levels.items():
            coords = {"area": TOTAL, "intake_year": TOTAL, "level": lv}
            cells.append(
                Cell(f"{BRIDGE_LEVELS}:{domain}", _key(measure, coords), coords, n, n is None)
            )
        if not with_intake:
            continue
        # the intake total is the level table's total (one cell): only the levels are listed
        for lv, n in zip(("4", "5"), INTAKE_HIGH[domain], strict=True):
            coords = {"area": TOTAL, "intake_level": lv}
            table = f"{BRIDGE_PROGRESS}:{domain}:{INTAKE}"
            cells.append(Cell(table, _key(measure, coords), coords, n, n is None))
    return Ledger("R1-test", cells)


def _render(ledger: Ledger) -> tuple[str, object]:
    content = build_content(small_meta(), ledger)
    return render_html(content, make_charts(content.domains, content.organisations)), content


def _check(html: str, ledger: Ledger):
    return check_report_html(
        html, ledger=ledger, meta=small_meta(), threshold=THRESHOLD, key_id="ab" * 8
    )


def _section(html: str, name: str) -> str:
    return html.split(f'id="{name}"', 1)[1].split("</section>", 1)[0]


def test_progress_table_from_published_cells() -> None:
    ledger = progress_ledger()
    html, content = _render(ledger)
    assert content.progress is not None
    rows = {r.label: [f.text for f in r.figures] for r in content.progress.rows}
    assert rows[lb.domain_label("wonen")] == ["15,0%", "40,0%", "+25,0"]
    assert rows[lb.domain_label("schulden")] == ["14,0%", "20,0%", "+6,0"]
    # a secret intake cell: the share and the change are secret, never estimated
    assert rows[lb.domain_label("gezin")] == ["×", "40,0%", "×"]
    section = _section(html, "vooruitgang")
    assert lb.SHARE_HIGH_INTAKE_HEADER in section and "<svg" in section
    # the page-1 caveat is gone once intake levels are published
    assert "niet het niveau bij de instroom" not in html
    outcome = _check(html, ledger)
    assert outcome.passed, outcome.details


def test_progress_finding_names_most_and_least_in_true_order() -> None:
    ledger = progress_ledger()
    html, content = _render(ledger)
    (finding,) = [f for f in content.findings if f.code == "vooruitgang"]
    text = "".join(p if isinstance(p, str) else p.text for p in finding.parts)
    assert "Wonen" in text and "+25,0" in text and "+6,0" in text
    assert "geheim" in text  # gezin's change is secret and the finding says so
    assert all(f.published for f in finding.figures() if f.kind != "label")
    assert _check(html, ledger).passed
    # control: the claimed order reversed is caught
    flipped = html.replace(
        'data-finding="vooruitgang" data-order="desc"',
        'data-finding="vooruitgang" data-order="asc"',
    )
    assert flipped != html
    bad = _check(flipped, ledger)
    assert not bad.passed and "finding_order_not_true" in str(bad.details)


def test_a_number_from_a_suppressed_cell_fails_the_check() -> None:
    """Positive control: gezin's intake share shown as if its secret cell were published."""
    ledger = progress_ledger()
    html, _ = _render(ledger)
    section = _section(html, "vooruitgang")
    gezin = section.split(lb.domain_label("gezin"), 1)[1].split("</tr>", 1)[0]
    secret = re.search(r'<span class="n afgeleid" data-kind="derived"[^>]*>×</span>', gezin)
    assert secret is not None
    # the true intake share at level 4–5 of gezin (the suppressed 4 plus the published 5)
    leaked = secret.group(0).replace(">×<", ">32,0%<")
    bad = _check(html.replace(secret.group(0), leaked, 1), ledger)
    assert not bad.passed and "derived_not_reproducible" in str(bad.details)
    # and as a bare number in the table
    bare = html.replace(secret.group(0), "32,0%", 1)
    bad = _check(bare, ledger)
    assert not bad.passed and "unverified_number_in_table" in str(bad.details)


def test_without_intake_levels_the_caveat_stays() -> None:
    ledger = progress_ledger(with_intake=False)
    html, content = _render(ledger)
    assert content.progress is None
    assert not [f for f in content.findings if f.code == "vooruitgang"]
    assert "niet het niveau bij de instroom" in html
    assert _check(html, ledger).passed


def test_no_progress_finding_without_progress() -> None:
    """Honest: with no domain improving, no 'most progress' finding."""
    ledger = progress_ledger()
    down = [
        replace(c, value=400) if c.table.endswith(INTAKE) and c.value is not None else c
        for c in ledger.cells.values()
    ]
    _, content = _render(Ledger("R1-test", down))
    assert not [f for f in content.findings if f.code == "vooruitgang"]
