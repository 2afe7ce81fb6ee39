"""Key findings: sentences in plain Dutch built around published figures only.

A finding whose figure is secret, nil or not available is left out or said without that part;
comparisons between domains use only the domains whose share is published, and say so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from anonymise.tables import TOTAL
from assets.marts.aggregates import BRIDGE_LEVELS, OUTCOMES
from assets.reports import labels as lb
from assets.reports.figures import label_figure
from assets.reports.model import DomainSection, Figure, Finding, KeyFigure, Ledger


def bridge_sources(ledger: Ledger, organisations: Sequence[str]) -> tuple[list[str], list[str]]:
    """(gemeente codes, organisation codes) the Bridge tables can come from: the gemeenten
    among their area coordinates, and the organisations working in those gemeenten."""
    gemeenten = sorted(
        {
            a
            for t in ledger.tables()
            if t.partition(":")[0] == BRIDGE_LEVELS
            for a in ledger.codes(t, "area")
            if a.startswith("GM")
        }
    )
    orgs = [
        o
        for o in organisations
        if any(g.startswith(lb.ORGANISATION_GEMEENTE.get(o, "-")) for g in gemeenten)
    ]
    return gemeenten, orgs


def key_findings(
    ledger: Ledger,
    key_figures: Sequence[KeyFigure],
    domains: Sequence[DomainSection],
    organisations: Sequence[str],
) -> tuple[Finding, ...]:
    """Three to five key findings, each quoting only published figures of the release.

    A finding whose figures are not all published is left out (or said without that part);
    comparisons between domains only use domains whose share is published, and say so.
    """
    out: list[Finding] = []
    total = key_figures[0].figure if key_figures else None
    by_label = {k.label: k for k in key_figures}
    high = label_figure(lb.HIGH_LEVELS_PHRASE)

    # 1. who is counted, and how their support ended
    if total is not None and total.published:
        parts: list[str | Figure] = ["Deze monitor telt ", total, " deelnemers."]
        done, going = by_label.get("Traject afgerond"), by_label.get("Traject loopt nog")
        if done and done.detail and done.detail.published:
            parts += [" Van hen heeft ", done.detail, " het traject afgerond"]
            if going and going.detail and going.detail.published:
                parts += [" en loopt het traject bij ", going.detail, " nog"]
            parts.append(".")
        out.append(Finding("deelnemers", tuple(parts)))

    # 2. where the Bridge figures come from: not every participant is measured
    measured = [d for d in domains if d.measured.published]
    widest = max(measured, key=lambda d: d.measured.value or 0.0) if measured else None
    gemeenten, orgs = bridge_sources(ledger, organisations)
    if widest is not None and total is not None and total.published and gemeenten:
        in_outcomes = ledger.codes(OUTCOMES, "organisation") - {TOTAL}
        only = "alleen " if orgs and set(in_outcomes) - set(orgs) else ""
        parts = ["Het niveau op de Brug naar zelfredzaamheid wordt ", only, "gemeten"]
        if orgs:
            parts += [" bij ", _join([lb.organisation_label(o) for o in orgs]), ","]
        parts += [" bij deelnemers uit de gemeente" + ("n " if len(gemeenten) > 1 else " ")]
        for i, g in enumerate(gemeenten):
            sep = "" if i == 0 else " en " if i == len(gemeenten) - 1 else ", "
            parts += [sep, label_figure(lb.area_label(g))]
        parts += [". De cijfers per leefgebied gaan dus over de deelnemers"]
        parts += [" met een meting (op het leefgebied ", widest.label, ": ", widest.measured]
        parts += ["), niet over alle ", total, " deelnemers."]
        out.append(Finding("brug_herkomst", tuple(parts)))

    # 3. level 4–5 at the latest measurement: the highest and the lowest domain
    ranked = _ranked(domains, lambda d: d.share_high)
    if len(ranked) >= 2:
        out.append(
            _highest_and_lowest(
                "niveau",
                ranked,
                ("Bij de laatste meting staan de gemeten deelnemers het vaakst op ", high,
                 " op het leefgebied "),
                lambda d: (d.share_high,),
                ") en het minst vaak op ",
                secret="het aandeel" if len(ranked) < len(domains) else "",
            )
        )  # fmt: skip

    # 3b. progress since intake: the domain with the most and the least (published only)
    moved = _ranked(domains, lambda d: d.progress)
    if len(moved) >= 2 and (moved[0].progress.value or 0.0) > 0:  # type: ignore[union-attr]
        out.append(
            _highest_and_lowest(
                "vooruitgang",
                moved,
                ("Sinds de eerste meting is het aandeel deelnemers op ", high,
                 " het meest gestegen op het leefgebied "),
                lambda d: (d.progress, " procentpunt, van ", d.share_high_intake, " naar ",
                           d.share_high),
                ") en het minst op ",
                worst=lambda d: (d.progress, " procentpunt"),
                secret="de verandering" if len(moved) < len(domains) else "",
            )
        )  # fmt: skip

    # 4. goals reached: the highest and the lowest domain
    goals = _ranked(domains, lambda d: d.share_reached)
    if len(goals) >= 2:
        out.append(
            _highest_and_lowest(
                "doelen",
                goals,
                ("Deelnemers met een doel bereiken dat doel het vaakst op het leefgebied ",),
                lambda d: (d.share_reached,),
                ") en het minst vaak op ",
            )
        )

    # 5. by intake year, on the domain with the most measured participants
    if widest is not None:
        trend = [(y, f) for y, f in widest.trend if f.published]
        if len(trend) >= 2:
            (y1, f1), (y2, f2) = trend[0], trend[-1]
            out.append(
                Finding(
                    "instroomjaar",
                    (
                        "Op het leefgebied ",
                        widest.label,
                        " staat van de deelnemers die in ",
                        label_figure(lb.coordinate_label("intake_year", y1)),
                        " instroomden ",
                        f1,
                        " bij de laatste meting op ",
                        high,
                        ", van wie in ",
                        label_figure(lb.coordinate_label("intake_year", y2)),
                        " instroomde ",
                        f2,
                        ". Deelnemers uit verschillende instroomjaren hadden niet even lang de "
                        "tijd om vooruit te gaan: het verschil is geen oordeel over de hulp in "
                        "een bepaald jaar.",
                    ),
                )
            )
    return tuple(out[:5])


def _ranked(
    domains: Sequence[DomainSection], figure: Callable[[DomainSection], Figure | None]
) -> list[DomainSection]:
    """The domains whose ``figure`` is published, highest value first."""

    def value(d: DomainSection) -> float:
        f = figure(d)
        return (f.value if f is not None else None) or 0.0

    return sorted(
        (d for d in domains if (f := figure(d)) is not None and f.published),
        key=value,
        reverse=True,
    )


def _highest_and_lowest(
    code: str,
    ranked: Sequence[DomainSection],
    opening: Sequence[str | Figure],
    best: Callable[[DomainSection], Sequence[str | Figure | None]],
    least: str,
    *,
    worst: Callable[[DomainSection], Sequence[str | Figure | None]] | None = None,
    secret: str = "",
) -> Finding:
    """A finding on the first (highest) and the last (lowest) of ``ranked``: ``opening``, the
    first domain with ``best`` of it in brackets, ``least``, the last with ``worst`` (default
    ``best``) of it; when ``secret`` names the figure, it ends by saying that of the other
    domains it is secret."""
    worst = worst or best
    top, bottom = ranked[0], ranked[-1]
    end = f"; van de andere leefgebieden is {secret} geheim." if secret else "."
    parts = (*opening, top.label, " (", *best(top), least, bottom.label, " (", *worst(bottom))
    return Finding(code, (*(p for p in parts if p is not None), ")" + end), order="desc")


def _join(names: Sequence[str]) -> str:
    """``a``, ``a en b``, ``a, b en c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " en " + names[-1]
