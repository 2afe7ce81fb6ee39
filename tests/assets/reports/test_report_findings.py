"""Key findings on the first page, the change since the previous edition, and the methods
section with its technical appendix — on small hand-made ledgers (no release needed).

Privacy tests attack the report check: a finding built on a suppressed or absent cell, a bare
number typed into a finding, a false "highest … lowest" claim and a change that does not
recompute from both editions must each fail it (positive controls beside the passing report).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pytest

from anonymise.tables import TOTAL
from assets.marts.aggregates import BRIDGE_LEVELS, GOALS_REACHED, OUTCOMES
from assets.marts.build import new_release_id
from assets.reports.charts import make_charts
from assets.reports.content import build_content
from assets.reports.figures import count_figure, share_figure
from assets.reports.model import Cell, Finding, Ledger, ReleaseMeta
from assets.reports.render import render_html
from assets.reports.verify import check_report_html
from tests.assets.reports.releases import release_meta as shared_release_meta

THRESHOLD = 10
NOW = new_release_id(dt.datetime(2026, 11, 23, 14, 0), "5e1ea5e0-now")
BEFORE = new_release_id(dt.datetime(2026, 8, 23, 14, 0), "5e1ea5e0-old")

# per domain: latest level counts (None = suppressed), per intake year; goals (ja, nee)
LEVELS = {
    "wonen": {"2021": (20, 30, 40, 50, 60), "2024": (40, 50, 30, 20, 10)},
    "schulden": {"2021": (60, 50, 40, 20, 12), "2024": (70, 40, 30, 15, None)},
    "gezondheid": {"2021": (15, 25, 35, 45, 55), "2024": (30, 30, 30, 30, 30)},
}
GOALS = {"wonen": (80, 40), "schulden": (30, 90), "gezondheid": (50, 50)}
OUTCOME_ROWS = {"groningen": (300, 120, None), "zuidplas": (200, 100, 40)}  # done, ongoing, abort


def _sum(counts) -> int:
    return sum(n or 0 for n in counts)


def _key(measure: str, coords: dict[str, str]) -> str:
    return measure + "|" + ";".join(f"{d}={c}" for d, c in sorted(coords.items()) if c != TOTAL)


def _cell(table: str, measure: str, coords: dict[str, str], value: int | None) -> Cell:
    return Cell(table, _key(measure, coords), coords, value, suppressed=value is None)


def release_ledger(release_id: str, shift: int = 0) -> Ledger:
    """Three domains over two intake years in Groningen, two organisations' outcomes; ``shift``
    adds persons to level 5 of every year (a later edition with more participants)."""
    cells: list[Cell] = []
    for domain, years in LEVELS.items():
        table, measure = f"{BRIDGE_LEVELS}:{domain}", f"persons_latest_level:{domain}"
        totals, secret = [0] * 5, [False] * 5
        for year, counts in years.items():
            counts = (*counts[:4], None if counts[4] is None else counts[4] + shift)
            for area in ("GM0014 Groningen", TOTAL):
                for lv, n in zip("12345", counts, strict=True):
                    coords = {"area": area, "intake_year": year, "level": lv}
                    cells.append(_cell(table, measure, coords, n))
                coords = {"area": area, "intake_year": year, "level": TOTAL}
                cells.append(_cell(table, measure, coords, sum(n or 0 for n in counts)))
            totals = [t + (n or 0) for t, n in zip(totals, counts, strict=True)]
            secret = [s or n is None for s, n in zip(secret, counts, strict=True)]
        # a level suppressed in one year stays secret in the total (as secondary suppression would)
        shown = [None if s else t for t, s in zip(totals, secret, strict=True)]
        for area in ("GM0014 Groningen", TOTAL):
            for lv, n in zip((*"12345", TOTAL), (*shown, sum(totals)), strict=True):
                coords = {"area": area, "intake_year": TOTAL, "level": lv}
                cells.append(_cell(table, measure, coords, n))
        yes, no = GOALS[domain]
        for area in ("GM0014 Groningen", TOTAL):
            for g, n in (("ja", yes), ("nee", no), (TOTAL, yes + no)):
                cells.append(
                    _cell(
                        f"{GOALS_REACHED}:{domain}",
                        f"persons_goal_reached:{domain}",
                        {"area": area, "goal_reached": g},
                        n,
                    )
                )
    grand = [0, 0, 0]
    for org, counts in OUTCOME_ROWS.items():
        counts = (counts[0] + shift, *counts[1:])
        for prog in ("x", TOTAL):
            for reason, n in zip(("completed", "ongoing", "aborted"), counts, strict=True):
                coords = {"organisation": org, "programme": prog, "end_reason": reason}
                cells.append(_cell(OUTCOMES, "persons_by_end_reason", coords, n))
            coords = {"organisation": org, "programme": prog, "end_reason": TOTAL}
            cells.append(_cell(OUTCOMES, "persons_by_end_reason", coords, _sum(counts) + 25))
        grand = [
            g + n for g, n in zip(grand, (counts[0], counts[1], _sum(counts) + 25), strict=True)
        ]
    for reason, n in zip(("completed", "ongoing", TOTAL), grand, strict=True):
        coords = {"organisation": TOTAL, "programme": TOTAL, "end_reason": reason}
        cells.append(_cell(OUTCOMES, "persons_by_end_reason", coords, n))
    return Ledger(release_id, cells)


def release_meta(release_id: str, built_at: dt.datetime) -> ReleaseMeta:
    return shared_release_meta(
        release_id, built_at, threshold=THRESHOLD, l_diversity={"debt_band": 2}
    )


NOW_META = release_meta(NOW, dt.datetime(2026, 11, 23, 14, 0))
BEFORE_META = release_meta(BEFORE, dt.datetime(2026, 8, 23, 14, 0))
ORGS = ("groningen", "zuidplas")


def _render(content) -> str:
    return render_html(content, make_charts(content.domains, content.organisations))


def _check(html: str, ledger: Ledger, previous=None):
    return check_report_html(
        html, ledger=ledger, meta=NOW_META, threshold=THRESHOLD, previous=previous
    )


@pytest.fixture(scope="module")
def first() -> tuple:
    ledger = release_ledger(NOW)
    content = build_content(NOW_META, ledger, organisations=ORGS)
    return content, _render(content), ledger


@pytest.fixture(scope="module")
def second() -> tuple:
    ledger, before = release_ledger(NOW, shift=10), release_ledger(BEFORE)
    content = build_content(NOW_META, ledger, organisations=ORGS, previous=(BEFORE_META, before))
    return content, _render(content), ledger, (BEFORE_META, before)


def _findings_html(html: str) -> str:
    return html.split('<section id="kernbevindingen"', 1)[1].split("</section>", 1)[0]


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", fragment))


def test_key_findings_are_on_the_title_page_and_pass_the_check(first) -> None:
    content, html, ledger = first
    assert 3 <= len(content.findings) <= 5
    title_page = html.split('<nav class="inhoud"', 1)[0]
    assert 'id="kernbevindingen"' in title_page and "Kernbevindingen" in title_page
    assert title_page.count('class="bevinding"') == len(content.findings)
    outcome = _check(html, ledger)
    assert outcome.passed, outcome.description
    assert outcome.details["findings"] == len(content.findings)


def test_every_finding_quotes_only_published_cells_with_their_numbers(first) -> None:
    content, html, ledger = first
    for finding in content.findings:
        quoted = [f for f in finding.figures() if f.kind != "label"]
        assert quoted, f"finding {finding.code} quotes no number"
        for f in quoted:
            assert f.published
            keys = [k for k in (f.cell_key, *f.num_keys, *f.den_keys) if k]
            assert keys and all(not ledger.cells[k].suppressed for k in keys)
    text = _text(_findings_html(html))
    assert "Deze monitor telt 810 deelnemers" in text  # 2 × 25 beside the end reasons
    # only Groningen's gemeente has Bridge cells; Zuidplas has outcomes but no measurements
    assert "alleen gemeten bij Kansrijk Groningen" in text
    assert "Groningen (GM0014)" in text


def test_highest_and_lowest_domain_are_the_true_extremes(first) -> None:
    content, html, _ = first
    (niveau,) = [f for f in content.findings if f.code == "niveau"]
    shares = {d.label: d.share_high.value for d in content.domains if d.share_high.published}
    best, worst = (f for f in niveau.figures() if f.kind == "derived")
    assert best.value == max(shares.values()) and worst.value == min(shares.values())
    # schulden has a suppressed level-5 cell: its share is secret and not ranked, and said so
    assert "Schulden" not in shares
    assert "van de andere leefgebieden is het aandeel geheim" in _text(_findings_html(html))


def _plant(html: str, fragment: str) -> str:
    """Put ``fragment`` at the end of the first finding."""
    return re.sub(
        r"(<li class=\"bevinding\"[^>]*>.*?)(</li>)", rf"\1{fragment}\2", html, count=1, flags=re.S
    )


def _suppressed(ledger: Ledger) -> Cell:
    return next(c for c in ledger.cells.values() if c.suppressed)


@pytest.mark.parametrize(
    ("plant", "rule"),
    [
        (
            lambda h, led: _plant(
                h, f' <span class="n" data-kind="count" data-cell="{_suppressed(led).key}">×</span>'
            ),
            "finding_quotes_suppressed_cell",
        ),
        (
            lambda h, led: _plant(h, ' <span class="n" data-kind="absent">–</span>'),
            "finding_quotes_absent_cell",
        ),
        (lambda h, led: _plant(h, " Dat zijn er 4.321."), "unverified_number_in_finding"),
        (
            lambda h, led: re.sub(
                r'(data-finding="niveau" data-order=")desc', r"\1asc", h, count=1
            ),
            "finding_order_not_true",
        ),
    ],
)
def test_check_fails_a_finding_that_quotes_what_was_not_published(first, plant, rule) -> None:
    _, html, ledger = first
    planted = plant(html, ledger)
    assert planted != html, "the plant did not apply"
    outcome = _check(planted, ledger)
    assert not outcome.passed
    assert rule in outcome.details["problems"], outcome.details


@pytest.mark.parametrize("which", ["suppressed_count", "secret_share", "absent_count"])
def test_a_finding_built_on_an_unpublished_cell_fails_the_check(first, which) -> None:
    """Built through the report code itself (not planted text): the rendered figure is
    correct ('×', '–'), so only the findings rule can catch it."""
    content, _, ledger = first
    secret = count_figure(_suppressed(ledger), THRESHOLD)
    total = content.key_figures[0].figure
    figure = {
        "suppressed_count": secret,
        "secret_share": share_figure([secret], [total]),
        "absent_count": count_figure(None, THRESHOLD),
    }[which]
    bad = Finding("proef", ("Op dit niveau staan ", figure, " van de ", total, " deelnemers."))
    html = _render(replace(content, findings=(*content.findings[:2], bad)))
    outcome = _check(html, ledger)
    assert not outcome.passed
    expected = "finding_quotes_absent_cell" if which == "absent_count" else "finding_quotes_"
    assert any(r.startswith(expected) for r in outcome.details["problems"]), outcome.details
    assert set(outcome.details["problems"]) <= {
        "finding_quotes_suppressed_cell",
        "finding_quotes_absent_cell",
    }


def test_first_edition_says_so(first) -> None:
    content, html, ledger = first
    assert content.comparison.previous is None
    change = html.split('<section id="verandering"', 1)[1].split("</section>", 1)[0]
    assert "eerste editie" in change
    assert 'data-kind="change"' not in html
    assert '<meta name="brugstat-previous-release" content="">' in html
    # a report claiming a first edition while an earlier release exists fails its check
    outcome = _check(html, ledger, previous=(BEFORE_META, release_ledger(BEFORE)))
    assert "previous_edition_is_not_the_previous_release" in outcome.details["problems"]


def test_second_edition_shows_the_change_since_the_previous_one(second) -> None:
    content, html, ledger, previous = second
    assert content.comparison.previous is not None
    assert content.comparison.previous.release_id == BEFORE
    outcome = _check(html, ledger, previous=previous)
    assert outcome.passed, outcome.description
    assert outcome.details["changes_shown"] >= 5
    change = html.split('<section id="verandering"', 1)[1].split("</section>", 1)[0]
    assert "eerste editie" not in change
    assert BEFORE in change
    rows = {
        _text(m.group(1)).strip(): [
            _text(td).strip() for td in re.findall(r"<td>(.*?)</td>", m.group(2))
        ]
        for m in re.finditer(r'<th scope="row">(.*?)</th>(.*?)</tr>', change, re.S)
    }
    # shift=10: two organisations each +10 completed, so +20 participants
    assert rows["Deelnemers (personen)"] == ["810", "830", "+20"]
    # wonen: level 4–5 of 2021 and 2024 = (50+60+20+10) / 350 before; +20 at level 5 after
    before, after = 140 / 350, 160 / 370
    assert rows["Wonen"][:2] == [
        f"{100 * before:.1f}%".replace(".", ","),
        f"{100 * after:.1f}%".replace(".", ","),
    ]
    assert rows["Wonen"][2] == f"+{100 * (after - before):.1f}".replace(".", ",")
    # schulden's share is secret in both editions: its change is secret too
    assert rows["Schulden"][2].startswith("×")
    assert rows["Geheimgehouden (onderdrukte) cellen"][2] == "0"


def test_a_change_that_does_not_recompute_fails_the_check(second) -> None:
    _, html, ledger, previous = second
    planted = html.replace(">+20<", ">+21<", 1)
    assert planted != html
    outcome = _check(planted, ledger, previous=previous)
    assert "change_not_reproducible" in outcome.details["problems"]
    # the previous edition's figures are checked against the previous ledger, not this one
    wrong = check_report_html(html, ledger=ledger, meta=NOW_META, threshold=THRESHOLD)
    assert not wrong.passed
    assert "figure_of_unknown_release" in wrong.details["problems"]


def test_methods_in_plain_language_with_a_technical_appendix(first) -> None:
    _, html, _ = first
    order = [html.index(f'<section id="{s}"') for s in ("methoden", "techniek", "register")]
    assert order == sorted(order)
    methods = html[order[0] : order[1]]
    appendix = html[order[1] : order[2]]
    for heading in (
        "Welke gegevens",
        "Wie telt mee",
        "Hoe de privacy is beschermd",
        "Wat u niet ziet",
    ):
        assert heading in methods
    assert "k-anonimiteit" in methods and "×" in methods
    assert 'href="#techniek"' in methods
    # the technical figures live in the appendix, not in the plain-language section
    assert 'class="cijfers parameters"' in appendix
    assert 'class="cijfers parameters"' not in methods
    for param in ("k_required", "k_achieved", "cells_primary", "cells_secondary"):
        assert f'data-param="{param}"' in appendix
    for param in ("information_loss", "max_risk", "l_diversity.debt_band"):
        assert f'data-param="{param}"' in appendix
    assert "Bijlage A: technische verantwoording" in appendix
    assert "Bijlage B: verwerkingsregister" in html[order[2] :]
