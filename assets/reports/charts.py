"""Charts of the report: altair specifications rendered offline to SVG by vl-convert.

Charts draw only published figures. A suppressed cell is never drawn as a bar or a number: it
gets the word "onderdrukt" where its bar would be, and a stacked (100 %) bar is drawn only when
every part of it is published — a stack with a hidden part would understate the whole. The SVG
is inlined into the HTML: namespace URLs are stripped (HTML5 needs none) and element ids are
prefixed per chart, so several charts in one document cannot clash.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import altair as alt
import vl_convert as vlc

from assets.marts.aggregates import LEVELS
from assets.reports import labels as lb
from assets.reports.model import DomainSection, Figure, OrganisationSection

LOCALE = "nl-NL"
FONT = "DejaVu Sans"
SUPPRESSED_WORD = "× geheim"
"""Drawn where a suppressed cell's bar would be: CBS's sign for a secret figure, and the word."""
LEVEL_COLOURS = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
"""Sequential (ColorBrewer YlGnBu), level 1 (crisis) light to 5 (self-sufficient) dark: the
lightness alone orders the levels, so the scale reads in black and white and for every kind of
colour blindness; stacked segments also carry their level number."""
GOAL_COLOURS = ("#2c7fb8", "#d9d9d9")
END_REASON_COLOURS = {
    "completed": "#0072b2",
    "ongoing": "#56b4e9",
    "no_support": "#cccccc",
    "aborted": "#e69f00",
    "refused": "#d55e00",
}
"""Okabe–Ito colours (distinguishable with each colour-vision deficiency); segments carry their
label, bars their category on the axis, so no reading depends on colour alone."""
OUTLINE = "#1f2d3d"
"""Thin dark outline around every bar: a pale fill stays visible on white paper."""
CHAR_PX = 6.5
"""Approximate width of one character of a 10 px segment label (whether a label fits)."""
BAR_STEP = 22  # px per bar row
WIDE, NARROW = 300, 170  # px plot widths: fits A4 (170 mm text width) side by side


@dataclass(frozen=True)
class ChartSvg:
    """An inline SVG chart with a text alternative and what it had to leave out."""

    svg: str
    alt: str
    omitted: tuple[str, ...] = ()


CONFIG = {
    "font": FONT,
    "background": "white",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "labelColor": "#333", "titleColor": "#333"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom"},
    "title": {"fontSize": 12, "anchor": "start", "color": "#1f2d3d"},
}
"""Vega-Lite config of every chart (handed to vl-convert: altair's ``configure`` deep-copies
the whole chart, which costs more than rendering it)."""


_XMLNS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_ID = re.compile(r'\bid="([^"]+)"')


def to_inline_svg(chart: alt.TopLevelMixin, prefix: str) -> str:
    """Render ``chart`` offline to SVG fit for inlining into HTML (see module docstring)."""
    # altair's schema validation costs ~0.4 s per chart; vl-convert rejects invalid specs anyway
    spec = chart.to_json(validate=False)
    svg = vlc.vegalite_to_svg(spec, config=CONFIG, format_locale=LOCALE)
    svg = _XMLNS.sub("", svg, count=2)
    for old in set(_ID.findall(svg)):
        new = f"{prefix}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"').replace(f"#{old})", f"#{new})")
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
    svg = svg.replace("<svg ", '<svg role="img" focusable="false" ', 1)
    return svg


def _bars(
    rows: list[dict], categories: Sequence[str], colours: Sequence[str], width: int, title: str
) -> alt.LayerChart:
    """Horizontal bars of published counts; suppressed rows get the word instead of a bar."""
    data = alt.Data(values=rows)
    y = alt.Y("categorie:N", sort=list(categories), title=None, scale=alt.Scale(domain=categories))
    base = alt.Chart(data).encode(y=y)
    bars = (
        base.transform_filter("datum.personen != null")
        .mark_bar(height=BAR_STEP - 6, stroke=OUTLINE, strokeWidth=0.6)
        .encode(
            x=alt.X("personen:Q", title="Personen", axis=alt.Axis(format=",d", tickCount=4)),
            color=alt.Color(
                "categorie:N",
                scale=alt.Scale(domain=list(categories), range=list(colours)),
                legend=None,
            ),
        )
    )
    values = (
        base.transform_filter("datum.personen != null && datum.personen > 0")
        .mark_text(align="left", dx=3, fontSize=10, color="#333")
        .encode(x="personen:Q", text=alt.Text("personen:Q", format=",d"))
    )
    hidden = (
        base.transform_filter("datum.onderdrukt")
        .mark_text(align="left", dx=3, fontSize=10, fontStyle="italic", color="#777")
        .encode(x=alt.datum(0), text=alt.value(SUPPRESSED_WORD))
    )
    return alt.layer(bars, values, hidden).properties(
        width=width, height=BAR_STEP * len(categories), title=title
    )


def _row(category: str, figure: Figure) -> dict:
    return {
        "categorie": category,
        "personen": None if figure.suppressed else figure.value,
        "onderdrukt": figure.suppressed,
    }


def domain_chart(domain: DomainSection) -> ChartSvg | None:
    """Level distribution and goals reached of one life domain (``None``: nothing published)."""
    level_names = [lb.level_label(v) for v in LEVELS]
    level_rows = [_row(lb.level_label(v), f) for v, f in domain.levels]
    goal_names = [lb.GOAL_LABELS["ja"], lb.GOAL_LABELS["nee"]]
    goal_rows = [
        _row(goal_names[0], domain.goals_reached),
        _row(goal_names[1], domain.goals_not_reached),
    ]
    parts = []
    if any(r["personen"] for r in level_rows):
        parts.append(_bars(level_rows, level_names, LEVEL_COLOURS, WIDE, "Laatst gemeten niveau"))
    if any(r["personen"] for r in goal_rows):
        parts.append(_bars(goal_rows, goal_names, GOAL_COLOURS, NARROW, "Doelen"))
    if not parts:
        return None
    chart = (
        alt.hconcat(*parts, spacing=30).resolve_scale(color="independent")
        if len(parts) > 1
        else parts[0]
    )
    hidden = [r["categorie"] for r in (*level_rows, *goal_rows) if r["onderdrukt"]]
    alt_text = (
        f"Staafdiagram {domain.label}: aantal personen per laatst gemeten niveau en per "
        "resultaat van hun doelen" + (f"; onderdrukt: {', '.join(hidden)}" if hidden else "") + "."
    )
    return ChartSvg(to_inline_svg(chart, domain.anchor), alt_text, tuple(hidden))


def trend_chart(domain: DomainSection) -> ChartSvg | None:
    """The share at level 4–5 per intake year (a line with marked points, readable in black and
    white); a year whose share is not published is a gap, named in the text alternative.
    ``None`` with fewer than two published years."""
    rows = [
        {"jaar": year, "aandeel": None if f.suppressed or f.value is None else f.value}
        for year, f in domain.trend
    ]
    shown = [r for r in rows if r["aandeel"] is not None]
    if len(shown) < 2:
        return None
    years = [r["jaar"] for r in rows]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("jaar:O", sort=years, title="Jaar van instroom", axis=alt.Axis(labelAngle=0)),
        y=alt.Y(
            "aandeel:Q",
            title="% op niveau 4–5",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%", tickCount=5),
        ),
    )
    line = base.mark_line(color="#253494", strokeWidth=2).transform_filter("datum.aandeel != null")
    points = base.mark_point(
        shape="square", filled=True, size=40, color="#253494"
    ).transform_filter("datum.aandeel != null")
    chart = alt.layer(line, points).properties(
        width=WIDE + NARROW, height=120, title="Aandeel op niveau 4–5, per jaar van instroom"
    )
    hidden = [r["jaar"] for r in rows if r["aandeel"] is None]
    alt_text = (
        f"Lijndiagram {domain.label}: aandeel deelnemers op niveau 4 of 5 bij de laatste meting, "
        f"per jaar van instroom ({years[0]}–{years[-1]})"
        + (f"; niet gepubliceerd: {', '.join(hidden)}" if hidden else "")
        + ". De cijfers staan in de tabel per jaar van instroom."
    )
    return ChartSvg(to_inline_svg(chart, domain.anchor + "-trend"), alt_text, tuple(hidden))


def progress_chart(domains: Sequence[DomainSection]) -> ChartSvg | None:
    """Per domain the share at level 4–5 at the first measurement (open circle) and at the
    latest (filled square), joined by a line: shape, not colour, tells the two apart. A
    domain with a secret share is left out and named. ``None`` when no domain has both."""
    rows, hidden = [], []
    for d in domains:
        if d.share_high_intake is None:
            continue
        sides = (d.share_high_intake, d.share_high)
        if any(f.suppressed or f.value is None for f in sides):
            hidden.append(d.label)
            continue
        for name, f in zip(("bij instroom", "laatste meting"), sides, strict=True):
            rows.append({"leefgebied": d.label, "meting": name, "aandeel": f.value})
    if not rows:
        return None
    order = list(dict.fromkeys(r["leefgebied"] for r in rows))
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("leefgebied:N", sort=order, title=None),
        x=alt.X(
            "aandeel:Q",
            title="% op niveau 4–5",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%", tickCount=5),
        ),
    )
    line = base.mark_line(color="#777", strokeWidth=1.5).encode(detail="leefgebied:N")
    points = base.mark_point(size=60, strokeWidth=1.5, color="#253494").encode(
        shape=alt.Shape(
            "meting:N",
            scale=alt.Scale(domain=["bij instroom", "laatste meting"], range=["circle", "square"]),
            legend=alt.Legend(title="Meting"),
        ),
        fill=alt.Fill(
            "meting:N",
            scale=alt.Scale(domain=["bij instroom", "laatste meting"], range=["white", "#253494"]),
            legend=None,
        ),
    )
    chart = alt.layer(line, points).properties(
        width=WIDE + NARROW, height=BAR_STEP * len(order), title="Aandeel op niveau 4–5"
    )
    alt_text = (
        "Puntdiagram: per leefgebied het aandeel deelnemers op niveau 4 of 5 bij de eerste en "
        "bij de laatste meting"
        + (f"; niet getoond (geheim): {', '.join(hidden)}" if hidden else "")
        + ". De cijfers staan in de tabel vooruitgang per leefgebied."
    )
    return ChartSvg(to_inline_svg(chart, "vooruitgang"), alt_text, tuple(hidden))


def _complete(figures: Sequence[Figure]) -> bool:
    return all(not f.suppressed for f in figures)


def _luminance(hex_colour: str) -> float:
    """Relative luminance (WCAG) of ``#rrggbb``, 0 black to 1 white."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _stacked(
    rows: list[dict],
    groups: Sequence[str],
    parts: Sequence[str],
    colours: Sequence[str],
    title: str,
    short: dict[str, str] | None = None,
) -> alt.LayerChart:
    """100 % stacked bars with a label inside every segment wide enough to hold it (``short``
    maps a part to its label; default the part itself), so no segment is told by colour alone."""
    width = WIDE + NARROW
    colour_of = dict(zip(parts, colours, strict=True))
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["groep"]] = totals.get(r["groep"], 0.0) + (r["aandeel"] or 0.0)
    placed, start = [], dict.fromkeys(totals, 0.0)
    for r in sorted(rows, key=lambda r: (r["groep"], r["volgorde"])):
        total = totals[r["groep"]]
        share = (r["aandeel"] or 0.0) / total if total else 0.0
        label = (short or {}).get(r["deel"], r["deel"])
        fits = share * width >= CHAR_PX * len(label) + 4
        placed.append(
            {
                **r,
                "begin": start[r["groep"]],
                "eind": start[r["groep"]] + share,
                "midden": start[r["groep"]] + share / 2,
                "label": label if fits and share > 0 else "",
                "tekstkleur": "#ffffff" if _luminance(colour_of[r["deel"]]) < 0.25 else OUTLINE,
            }
        )
        start[r["groep"]] += share
    base = alt.Chart(alt.Data(values=placed)).encode(
        y=alt.Y("groep:N", sort=list(groups), title=None)
    )
    bars = base.mark_bar(height=BAR_STEP - 6, stroke="#ffffff", strokeWidth=1).encode(
        x=alt.X(
            "begin:Q",
            title="Aandeel van de personen",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%", tickCount=5),
        ),
        x2="eind:Q",
        color=alt.Color(
            "deel:N",
            scale=alt.Scale(domain=list(parts), range=list(colours)),
            sort=list(parts),
            legend=alt.Legend(
                title=None, columns=5, symbolType="square", symbolStrokeColor=OUTLINE
            ),
        ),
    )
    labels = base.mark_text(fontSize=10).encode(
        x="midden:Q", text="label:N", color=alt.Color("tekstkleur:N", scale=None)
    )
    return alt.layer(bars, labels).properties(
        width=width, height=BAR_STEP * len(groups), title=title
    )


def overview_levels_chart(domains: Sequence[DomainSection]) -> ChartSvg | None:
    """100 % stacked bars of the level distribution per domain (complete domains only)."""
    rows, shown, omitted = [], [], []
    for d in domains:
        figs = [f for _, f in d.levels]
        if not d.has_data or d.measured.suppressed or not _complete(figs):
            omitted.append(d.label)
            continue
        shown.append(d.label)
        for i, (v, f) in enumerate(d.levels):
            rows.append(
                {"groep": d.label, "deel": lb.level_label(v), "aandeel": f.value, "volgorde": i}
            )
    if not shown:
        return None
    chart = _stacked(
        rows,
        shown,
        [lb.level_label(v) for v in LEVELS],
        LEVEL_COLOURS,
        "Laatst gemeten niveau per leefgebied",
        short={lb.level_label(v): str(v) for v in LEVELS},
    )
    alt_text = (
        "Gestapeld staafdiagram: verdeling van de deelnemers over de niveaus 1 tot en met 5 "
        "per leefgebied."
    )
    return ChartSvg(to_inline_svg(chart, "overzicht-niveaus"), alt_text, tuple(omitted))


def outcomes_chart(organisations: Sequence[OrganisationSection]) -> ChartSvg | None:
    """100 % stacked bars of how support ended, per organisation (complete ones only)."""
    rows, shown, omitted = [], [], []
    reasons: list[str] = []
    for o in organisations:
        if not o.has_data:
            continue
        figs = [f for _, _, f in o.end_reasons]
        if o.total.suppressed or not _complete(figs):
            omitted.append(o.label)
            continue
        shown.append(o.label)
        for i, (code, label, f) in enumerate(o.end_reasons):
            rows.append({"groep": o.label, "deel": label, "aandeel": f.value, "volgorde": i})
            if code not in reasons:
                reasons.append(code)
    if not shown:
        return None
    labels = [lb.END_REASON_LABELS.get(r, r) for r in reasons]
    colours = [END_REASON_COLOURS.get(r, "#999999") for r in reasons]
    chart = _stacked(rows, shown, labels, colours, "Afloop van het traject per organisatie")
    alt_text = "Gestapeld staafdiagram: afloop van het meest recente traject per organisatie."
    return ChartSvg(to_inline_svg(chart, "overzicht-uitkomsten"), alt_text, tuple(omitted))


def organisation_chart(organisation: OrganisationSection) -> ChartSvg | None:
    """Bars of how support ended for one organisation (``None``: nothing published)."""
    rows = [_row(label, f) for _, label, f in organisation.end_reasons]
    if not any(r["personen"] for r in rows):
        return None
    names = [label for _, label, _ in organisation.end_reasons]
    colours = [END_REASON_COLOURS.get(c, "#999999") for c, _, _ in organisation.end_reasons]
    chart = _bars(rows, names, colours, WIDE, "Afloop van het traject")
    hidden = [r["categorie"] for r in rows if r["onderdrukt"]]
    alt_text = (
        f"Staafdiagram {organisation.label}: aantal personen naar afloop van het traject"
        + (f"; onderdrukt: {', '.join(hidden)}" if hidden else "")
        + "."
    )
    return ChartSvg(to_inline_svg(chart, organisation.anchor), alt_text, tuple(hidden))


@dataclass(frozen=True)
class ReportCharts:
    """Every chart of the report, keyed the way the template uses them."""

    overview_levels: ChartSvg | None
    outcomes: ChartSvg | None
    domains: dict[str, ChartSvg | None]
    organisations: dict[str, ChartSvg | None]
    trends: dict[str, ChartSvg | None] = field(default_factory=dict)
    progress: ChartSvg | None = None


def make_charts(
    domains: Sequence[DomainSection], organisations: Sequence[OrganisationSection]
) -> ReportCharts:
    """All charts of a report's content."""
    return ReportCharts(
        overview_levels=overview_levels_chart(domains),
        outcomes=outcomes_chart(organisations),
        domains={d.code: domain_chart(d) for d in domains},
        organisations={o.code: organisation_chart(o) for o in organisations},
        trends={d.code: trend_chart(d) for d in domains},
        progress=progress_chart(domains),
    )
