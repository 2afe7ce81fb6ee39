"""The report's pure pieces on a small hand-made ledger (no release needed): Dutch number style,
suppressed cells as CBS's '×', shares that say what was suppressed, charts that never draw a
suppressed cell, and the report check catching planted numbers, identifiers and URLs."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pytest

from anonymise.tables import TOTAL
from assets.marts.aggregates import BRIDGE_LEVELS, GOALS_REACHED, OUTCOMES
from assets.marts.build import new_release_id
from assets.reports import labels as lb
from assets.reports.charts import domain_chart, make_charts
from assets.reports.content import build_content
from assets.reports.figures import count_figure, share_figure
from assets.reports.model import Cell, Ledger, ReleaseMeta
from assets.reports.reading import parse_coordinates
from assets.reports.render import render_html
from assets.reports.verify import check_report_html
from tests.assets.reports.releases import release_meta

THRESHOLD = 10


def _cells(table: str, measure: str, rows: list[tuple[dict[str, str], int | None]]) -> list[Cell]:
    out = []
    for coords, value in rows:
        key = measure + "|" + ";".join(f"{d}={c}" for d, c in sorted(coords.items()) if c != TOTAL)
        out.append(
            Cell(table, key, coords, value, suppressed=value is None),
        )
    return out


def small_ledger() -> Ledger:
    """One domain (level 4 suppressed), its goals, and one organisation (ongoing suppressed)."""
    levels = {"1": 120, "2": 200, "3": 300, "4": None, "5": 150, TOTAL: 775}
    cells = []
    for area in ("GM0014 Groningen", TOTAL):
        for year in ("onbekend", TOTAL):
            cells += _cells(
                f"{BRIDGE_LEVELS}:wonen",
                "persons_latest_level:wonen",
                [({"area": area, "intake_year": year, "level": lv}, n) for lv, n in levels.items()],
            )
        cells += _cells(
            f"{GOALS_REACHED}:wonen",
            "persons_goal_reached:wonen",
            [
                ({"area": area, "goal_reached": g}, n)
                for g, n in (("ja", 40), ("nee", 35), (TOTAL, 75))
            ],
        )
    for org in ("zuidplas", TOTAL):
        for prog in ("geldzaken", TOTAL):
            cells += _cells(
                OUTCOMES,
                "persons_by_end_reason",
                [
                    ({"organisation": org, "programme": prog, "end_reason": r}, n)
                    for r, n in (("completed", 50), ("ongoing", None), (TOTAL, 60))
                ],
            )
    return Ledger("R1-test", cells)


def small_meta() -> ReleaseMeta:
    return release_meta("R1-test", dt.datetime(2026, 11, 23, 14, 0), threshold=THRESHOLD)


REGISTER = [
    {
        "organisation": "zuidplas",
        "process": "Geldzaken",
        "purpose": "Hulp bij geldzaken",
        "legal_basis": "AVG art. 6 lid 1 sub e",
        "categories": "NAW, e-mail",
        "retention": "10 jaar",
        "recipients": "Gemeente",
    }
]


@pytest.fixture(scope="module")
def small_html() -> str:
    content = build_content(small_meta(), small_ledger(), register=REGISTER)
    return render_html(content, make_charts(content.domains, content.organisations))


def _check(html: str):
    return check_report_html(
        html, ledger=small_ledger(), meta=small_meta(), threshold=THRESHOLD, key_id="ab" * 8
    )


def test_dutch_number_style() -> None:
    assert lb.fmt_int(1234567) == "1.234.567"
    assert lb.fmt_int(999) == "999"
    assert lb.fmt_pct(0.4356) == "43,6%"
    assert lb.fmt_decimal(0.2, 3) == "0,200"
    assert lb.fmt_date(dt.date(2026, 3, 1)) == "1 maart 2026"


def test_coordinates_parse_back_into_their_dimensions() -> None:
    assert parse_coordinates("area=GM0014 Groningen;intake_year=Totaal;level=3") == {
        "area": "GM0014 Groningen",
        "intake_year": TOTAL,
        "level": "3",
    }
    assert parse_coordinates("") == {}


def test_suppressed_cell_shows_the_cbs_secret_sign() -> None:
    cell = Cell("t", "m|a=x", {"a": "x"}, None, suppressed=True)
    assert count_figure(cell, 10).text == "×"
    assert count_figure(cell, 15).text == "×"
    assert count_figure(cell, 10).value is None
    assert count_figure(Cell("t", "m|a=y", {"a": "y"}, 1234, False), 10).text == "1.234"
    assert count_figure(None, 10).text == "–"  # not in the ledger: no persons


def test_share_says_which_part_was_suppressed() -> None:
    pub = count_figure(Cell("t", "k1", {}, 30, False), 10)
    tot = count_figure(Cell("t", "k2", {}, 120, False), 10)
    sup = count_figure(Cell("t", "k3", {}, None, True), 10)
    assert share_figure([pub], [tot]).text == "25,0%"
    assert (share_figure([sup], [tot]).text, share_figure([sup], [tot]).note) == (
        "×",
        "teller onderdrukt",
    )
    assert share_figure([pub], [count_figure(None, 10)]).text == "."  # a share of nobody
    assert share_figure([pub], [sup]).note == "noemer onderdrukt"
    assert share_figure([sup], [sup]).note == "teller en noemer onderdrukt"


def test_small_report_passes_its_check(small_html: str) -> None:
    outcome = _check(small_html)
    assert outcome.passed, outcome.description
    assert outcome.details["cells_suppressed_shown"] >= 2
    assert 'lang="nl"' in small_html
    assert "http" not in small_html.lower()


def test_suppressed_cells_render_as_the_secret_sign(small_html: str) -> None:
    ledger = small_ledger()
    hidden = [c.key for c in ledger.cells.values() if c.suppressed]
    for key in hidden:
        for shown in re.findall(rf'data-cell="{re.escape(key)}">([^<]*)<', small_html):
            assert shown == "×"
    # level 4 is suppressed: the share on level 4–5 is not computed, and says why
    assert '×</span><span class="nb-reden">teller onderdrukt' in small_html


def test_chart_never_draws_a_suppressed_cell() -> None:
    content = build_content(small_meta(), small_ledger())
    chart = domain_chart(content.domains[0])
    assert chart is not None
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", chart.svg)
    assert {"120", "200", "300", "150", "× geheim"} <= set(texts)
    assert not any("<" in t or "&lt;" in t for t in texts)  # no "<10" drawn as a number
    assert chart.omitted == ("Niveau 4",)
    assert "http" not in chart.svg


@pytest.mark.parametrize(
    ("plant", "rule"),
    [
        (lambda h: h.replace("<td>", "<td>4.321 ", 1), "unverified_number_in_table"),
        (lambda h: h.replace("<caption>", "<caption>9876 ", 1), "unverified_number_in_table"),
        (
            lambda h: re.sub(r'(data-kind="count" data-cell="[^"]*">)120<', r"\g<1>121<", h),
            "count_differs_from_ledger",
        ),
        (lambda h: h.replace(">53,3%<", ">53,4%<", 1), "derived_not_reproducible"),
        (
            lambda h: h.replace("<main>", "<main><p>jan.jansen@example.nl</p>", 1),
            "identifier:email_value",
        ),
        (
            lambda h: h.replace("<main>", "<main><p>bel 06-12345678</p>", 1),
            "identifier:phone_value",
        ),
        (
            lambda h: h.replace("<main>", "<main><p>Dorpsstraat, 2741 AB 12</p>", 1),
            "identifier:postcode_house_number_value",
        ),
        (
            lambda h: h.replace("<main>", "<main><p>BSN 111222333</p>", 1),
            "identifier:bsn_value",
        ),
        (
            lambda h: h.replace("<main>", "<main><p>sleutel abababababababab</p>", 1),
            "key_id_present",
        ),
        (
            lambda h: h.replace("<main>", '<main><a href="https://example.org">x</a>', 1),
            "external_reference",
        ),
        (
            lambda h: h.replace("<main>", '<main><img src="logo.png" alt="">', 1),
            "external_element:img",
        ),
        (lambda h: h.replace('content="R1-test"', 'content="R0-old"', 1), "report_is_not_of"),
    ],
)
def test_check_catches_what_the_release_did_not_publish(small_html: str, plant, rule: str) -> None:
    planted = plant(small_html)
    assert planted != small_html, "the plant did not apply"
    outcome = _check(planted)
    assert not outcome.passed
    assert any(r.startswith(rule) for r in outcome.details["problems"]), outcome.details
    # findings never repeat the planted text
    assert "jan.jansen" not in outcome.description
    assert "111222333" not in str(outcome.details)


@pytest.mark.parametrize(
    ("release_id", "passes"),
    [
        # a run id that starts with eight decimal digits (about 1 in 40 runs)
        (new_release_id(dt.datetime(2026, 11, 23, 18, 31, 53), "86305525-7f1c-4d0e"), True),
        # the earlier format: the digits stood alone and read as a phone number or BSN
        ("R20261123T183153-86305525", False),
    ],
)
def test_release_id_never_reads_as_an_identifier(release_id: str, passes: bool) -> None:
    meta = replace(small_meta(), release_id=release_id)
    ledger = Ledger(release_id, small_ledger().cells.values())
    content = build_content(meta, ledger, register=REGISTER)
    html = render_html(content, make_charts(content.domains, content.organisations))
    assert release_id in html
    outcome = check_report_html(
        html, ledger=ledger, meta=meta, threshold=THRESHOLD, key_id="ab" * 8
    )
    assert outcome.passed is passes, outcome.description
