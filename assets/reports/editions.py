"""The change since the previous edition: headline figures of this edition beside the last one's.

It compares with the release before this one (``meta_release`` keeps every release;
``release_ledger`` only the current one's cells, so the previous edition's published cells come
from the steward's population ledger, see :func:`assets.reports.reading.previous_edition`).
With no earlier release the report is a first edition; with an earlier release whose cells no
ledger holds, the change section says so (``.``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from assets.reports import labels as lb
from assets.reports.figures import change_figure, param_figure, release_params
from assets.reports.model import (
    Comparison,
    DomainSection,
    Figure,
    KeyFigure,
    Ledger,
    ReleaseMeta,
    ReportContent,
    Row,
    Table,
    reference_date,
)
from assets.reports.notation import NOT_AVAILABLE

UNAVAILABLE_NOTE = (
    "‘.’: niet beschikbaar. De cijfers van de vorige editie staan niet in het vrijgaveregister "
    "van deze installatie, dus ook het verschil niet."
)
"""Table note of the change section when the ledger does not hold the previous edition."""


def _in_release(f: Figure, release_id: str) -> Figure:
    return replace(f, release=release_id)


def compare_editions(
    meta: ReleaseMeta,
    ledger: Ledger,
    domains: Sequence[DomainSection],
    key_figures: Sequence[KeyFigure],
    previous: tuple[ReleaseMeta, ReportContent | None] | None,
    threshold: int | None,
) -> Comparison:
    """Headline figures of this edition beside those of the previous one (``.`` for the
    previous edition and the change when the ledger does not hold that edition's cells).

    ``previous`` is the previous edition's meta data and its content (built without a change
    section; ``None`` when no ledger holds its cells).
    """
    if previous is None:
        return Comparison(None)
    pmeta, prev = previous
    pledger = None if prev is None else prev.ledger
    pid = pmeta.release_id
    # a share of nobody: '.', verifiable without any ledger (no cell keys)
    nothing = Figure("derived", NOT_AVAILABLE, None)

    def row(label: str, before: Figure, after: Figure) -> Row:
        before = nothing if pledger is None else _in_release(before, pid)
        return Row(label, (before, after, change_figure(before, after)))

    if prev is None:
        prev_persons, pparams, before_domains = nothing, {}, {}
    else:
        prev_persons = prev.key_figures[0].figure
        pparams = release_params(pmeta, prev.ledger, pmeta.threshold(threshold))
        before_domains = {d.code: d for d in prev.domains}
    params = release_params(meta, ledger, meta.threshold(threshold))

    def param_row(label: str, name: str) -> Row:
        before = param_figure(name, pparams[name]) if name in pparams else nothing
        return row(label, before, param_figure(name, params[name]))

    headline = Table(
        "Deelnemers en geheimgehouden cellen: vorige en deze editie",
        "Kerncijfer",
        ("Vorige editie", "Deze editie", "Verschil"),
        (
            row("Deelnemers (personen)", prev_persons, key_figures[0].figure),
            param_row("Geheimgehouden (onderdrukte) cellen", "cells_withheld"),
            param_row("Cellen in het vrijgaveregister", "cells_published"),
        ),
        note=UNAVAILABLE_NOTE if pledger is None else "",
    )
    now = {d.code: d for d in domains}
    rows = [
        row(
            lb.domain_label(code),
            before_domains[code].share_high if code in before_domains else nothing,
            now[code].share_high if code in now else nothing,
        )
        for code in lb.ordered_domains(set(before_domains) | set(now))
    ]
    shares = Table(
        "Aandeel deelnemers op niveau vier of vijf bij de laatste meting, per leefgebied: "
        "vorige en deze editie",
        "Leefgebied",
        ("Vorige editie", "Deze editie", "Verschil (procentpunt)"),
        tuple(rows),
        note=UNAVAILABLE_NOTE
        if pledger is None
        else "Het verschil is in procentpunten, berekend uit de gepubliceerde aantallen van "
        "beide edities; ‘×’ als een van beide aandelen geheim is.",
    )
    return Comparison(pmeta, (headline, shares), reference_date(pmeta), pledger)
