"""The report's sections from one release's ledger: the key figures, a section per Bridge life
domain (levels, goals, progress since intake) and per organisation (how support ended), the
overviews, the methods and privacy section and the processing register.

Every number is a :mod:`~assets.reports.figures` figure of a ledger cell or of ``meta_release``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from anonymise.tables import TOTAL
from assets.marts.aggregates import (
    BRIDGE_LEVELS,
    BRIDGE_PROGRESS,
    GOALS_REACHED,
    INTAKE,
    LEVELS,
    OUTCOMES,
    UNKNOWN,
)
from assets.reports import labels as lb
from assets.reports.figures import (
    change_figure,
    count_figure,
    param_figure,
    release_params,
    share_figure,
)
from assets.reports.model import (
    DomainSection,
    Figure,
    KeyFigure,
    Ledger,
    Methods,
    OrganisationSection,
    RegisterEntry,
    ReleaseMeta,
    Row,
    Table,
)

HIGH_LEVELS = ("4", "5")
"""Bridge levels counted as 'op niveau 4–5' (safe / self-sufficient side of the scale)."""

COMPLETED = "completed"

GOAL_YES, GOAL_NO = "ja", "nee"


def _anchor(prefix: str, code: str) -> str:
    return prefix + "-" + re.sub(r"[^a-z0-9]+", "-", code.lower()).strip("-")


def _rows_by(
    ledger: Ledger,
    table: str,
    threshold: int,
    dim: str,
    codes: Sequence[str],
    columns: Sequence[dict[str, str]],
    fixed: Mapping[str, str],
    share: tuple[Sequence[int], Sequence[int]] | None,
    label: Callable[[str], str] | None = None,
) -> list[Row]:
    """Rows ``dim ∈ codes`` (and a Totaal row), one count per column and optionally a share
    computed from the columns at ``share = (numerator indexes, denominator indexes)``."""
    name = label or (lambda code: lb.coordinate_label(dim, code))
    out = []
    for code in codes:
        figs = [
            count_figure(ledger.get(table, **fixed, **{dim: code}, **col), threshold)
            for col in columns
        ]
        if share is not None:
            figs.append(share_figure([figs[i] for i in share[0]], [figs[i] for i in share[1]]))
        out.append(Row(name(code), tuple(figs), is_total=code == TOTAL))
    return out


def _body_codes(codes: set[str], order: Sequence[str] = ()) -> list[str]:
    """Codes without the margin, in ``order`` first, 'onbekend' last."""
    body = codes - {TOTAL}
    ordered = [c for c in order if c in body] + sorted(body - set(order) - {UNKNOWN})
    return ordered + ([UNKNOWN] if UNKNOWN in body else [])


def key_figures(ledger: Ledger, threshold: int) -> tuple[KeyFigure, ...]:
    """The summary's headline numbers: all participants, then how their support ended, each
    with its share of all participants."""

    def oc(reason: str) -> Figure:
        cell = ledger.get(OUTCOMES, organisation=TOTAL, programme=TOTAL, end_reason=reason)
        return count_figure(cell, threshold)

    total = oc(TOTAL)
    out = [KeyFigure("Deelnemers (personen)", total)]
    for reason, text in (
        ("completed", "Traject afgerond"),
        ("ongoing", "Traject loopt nog"),
        ("aborted", "Voortijdig gestopt"),
    ):
        f = oc(reason)
        out.append(KeyFigure(text, f, share_figure([f], [total]), "van alle deelnemers"))
    return tuple(out)


def domain_section(ledger: Ledger, code: str, threshold: int) -> DomainSection:
    """The section of Bridge life domain ``code``: levels, goals, tables and progress."""
    lt, gt = f"{BRIDGE_LEVELS}:{code}", f"{GOALS_REACHED}:{code}"
    label = lb.domain_label(code)

    def lv(level: str, **kw: str) -> Figure:
        where = {"area": TOTAL, "intake_year": TOTAL} | kw
        return count_figure(ledger.get(lt, **where, level=level), threshold)

    def gl(reached: str) -> Figure:
        return count_figure(ledger.get(gt, area=TOTAL, goal_reached=reached), threshold)

    measured = lv(TOTAL)
    levels = tuple((v, lv(v)) for v in LEVELS)
    share_high = share_figure([f for v, f in levels if v in HIGH_LEVELS], [measured])
    g_total, g_yes, g_no = gl(TOTAL), gl(GOAL_YES), gl(GOAL_NO)
    share_reached = share_figure([g_yes], [g_total])
    # the same persons at their first measurement: the intake total is the measured total
    pt = f"{BRIDGE_PROGRESS}:{code}:{INTAKE}"
    share_intake = progress = None
    if pt in ledger.tables():
        intake = [
            count_figure(ledger.get(pt, area=TOTAL, intake_level=v), threshold) for v in HIGH_LEVELS
        ]
        share_intake = share_figure(intake, [measured])
        progress = change_figure(share_intake, share_high)

    level_cols = [{"level": v} for v in (*LEVELS, TOTAL)]
    high_idx = [LEVELS.index(v) for v in HIGH_LEVELS]
    level_share = (high_idx, [len(LEVELS)])
    headers = (*(lb.level_label(v) for v in LEVELS), "Totaal", lb.SHARE_HIGH_HEADER)
    tables: list[Table] = []
    notes: list[str] = []
    # sub-gemeente areas (stadsdelen, kernen) first, then the gemeenten (their totals)
    all_areas = _body_codes(ledger.codes(lt, "area"))
    areas = [a for a in all_areas if not a.startswith("GM")] + [
        a for a in all_areas if a.startswith("GM")
    ]
    if areas:
        codes = areas if len(areas) == 1 else [*areas, TOTAL]
        rows = _rows_by(
            ledger, lt, threshold, "area", codes, level_cols, {"intake_year": TOTAL}, level_share
        )
        tables.append(
            Table(
                f"{label}: personen naar laatst gemeten niveau, per stadsdeel of kern en "
                "per gemeente",
                "Gebied",
                headers,
                tuple(rows),
            )
        )
    years = _body_codes(ledger.codes(lt, "intake_year"))
    if [y for y in years if y != UNKNOWN]:
        rows = _rows_by(
            ledger,
            lt,
            threshold,
            "intake_year",
            [*years, TOTAL],
            level_cols,
            {"area": TOTAL},
            level_share,
        )
        tables.append(
            Table(
                f"{label}: personen naar laatst gemeten niveau, per jaar van instroom",
                "Jaar van instroom",
                headers,
                tuple(rows),
            )
        )
    trend = tuple(
        (
            y,
            share_figure([lv(v, intake_year=y) for v in HIGH_LEVELS], [lv(TOTAL, intake_year=y)]),
        )
        for y in years
        if re.fullmatch(r"\d{4}", y)
    )
    if not [y for y in years if y != UNKNOWN] and years:
        notes.append(
            "Het jaar van instroom is in deze release gegeneraliseerd (niet beschikbaar); "
            "daarom is er geen uitsplitsing naar jaar."
        )
    goal_areas = _body_codes(ledger.codes(gt, "area"))
    if goal_areas:
        codes = goal_areas if len(goal_areas) == 1 else [*goal_areas, TOTAL]
        goal_cols = [{"goal_reached": g} for g in (GOAL_YES, GOAL_NO, TOTAL)]
        rows = _rows_by(ledger, gt, threshold, "area", codes, goal_cols, {}, ([0], [2]))
        tables.append(
            Table(
                f"{label}: personen met een doel op dit leefgebied, naar resultaat",
                "Gemeente",
                ("Doel bereikt", "Niet bereikt", "Totaal", "% bereikt"),
                tuple(rows),
            )
        )
    return DomainSection(
        code=code,
        label=label,
        anchor=_anchor("leefgebied", code),
        measured=measured,
        levels=levels,
        share_high=share_high,
        goals_total=g_total,
        goals_reached=g_yes,
        goals_not_reached=g_no,
        share_reached=share_reached,
        tables=tuple(tables),
        notes=tuple(notes),
        trend=trend,
        share_high_intake=share_intake,
        progress=progress,
    )


def progress_overview(domains: Sequence[DomainSection]) -> Table | None:
    """Per domain the share at level 4–5 at intake and at the latest measurement, and the
    change in percentage points (``None`` when the release publishes no intake levels)."""
    rows = [
        Row(d.label, (d.share_high_intake, d.share_high, d.progress))
        for d in domains
        if d.share_high_intake is not None and d.progress is not None
    ]
    if not rows:
        return None
    return Table(
        "Vooruitgang per leefgebied: aandeel deelnemers op de hoogste twee niveaus bij de eerste "
        "en bij de laatste meting",
        "Leefgebied",
        (lb.SHARE_HIGH_INTAKE_HEADER, lb.SHARE_HIGH_LATEST_HEADER, "Verschil (procentpunt)"),
        tuple(rows),
        note="Dezelfde deelnemers bij hun eerste en hun laatste meting in hun meest recente "
        "traject; wie één keer is gemeten, telt bij beide hetzelfde. Percentages zijn afgeleid "
        "uit de gepubliceerde aantallen.",
    )


def domain_overview(domains: Sequence[DomainSection]) -> Table:
    """One row per domain: measured participants, share at level 4–5, goals and share reached."""
    rows = [
        Row(
            d.label,
            (d.measured, d.share_high, d.goals_total, d.share_reached),
        )
        for d in domains
    ]
    return Table(
        "Overzicht per leefgebied: laatst gemeten niveau en bereikte doelen",
        "Leefgebied",
        ("Personen met meting", lb.SHARE_HIGH_HEADER, "Personen met doel", "% doel bereikt"),
        tuple(rows),
        note="Percentages zijn afgeleid uit de gepubliceerde aantallen.",
    )


def _outcome_columns(ledger: Ledger) -> list[str]:
    return lb.ordered_end_reasons(ledger.codes(OUTCOMES, "end_reason") - {TOTAL})


def organisation_section(
    ledger: Ledger, code: str, threshold: int, register: Mapping[str, RegisterEntry]
) -> OrganisationSection:
    """The section of organisation ``code``: its outcomes per programme (and its register
    entry's process)."""
    reasons = _outcome_columns(ledger)
    label = lb.organisation_label(code)
    entry = register.get(code)

    def oc(reason: str, programme: str = TOTAL) -> Figure:
        cell = ledger.get(OUTCOMES, organisation=code, programme=programme, end_reason=reason)
        return count_figure(cell, threshold)

    total = oc(TOTAL)
    end_reasons = tuple((r, lb.END_REASON_LABELS.get(r, r), oc(r)) for r in reasons)
    share = share_figure([f for r, _, f in end_reasons if r == COMPLETED], [total])
    programmes = _body_codes(
        ledger.codes(OUTCOMES, "programme", organisation=code), tuple(lb.PROGRAMME_LABELS)
    )
    table = None
    if ledger.codes(OUTCOMES, "end_reason", organisation=code):
        cols = [{"end_reason": r} for r in (*reasons, TOTAL)]
        done = [reasons.index(COMPLETED)] if COMPLETED in reasons else []
        rows = _rows_by(
            ledger,
            OUTCOMES,
            threshold,
            "programme",
            [*programmes, TOTAL],
            cols,
            {"organisation": code},
            (done, [len(reasons)]),
        )
        table = Table(
            f"{label}: personen naar programma en afloop van het traject",
            "Programma",
            (*(lb.END_REASON_LABELS.get(r, r) for r in reasons), "Totaal", "% afgerond"),
            tuple(rows),
        )
    return OrganisationSection(
        code=code,
        label=label,
        anchor=_anchor("organisatie", code),
        total=total,
        end_reasons=end_reasons,
        share_completed=share,
        table=table,
        process=entry.process if entry else "",
    )


def outcomes_overview(ledger: Ledger, orgs: Sequence[str], threshold: int) -> Table:
    """One row per organisation (and a Totaal row): persons by how their support ended."""
    reasons = _outcome_columns(ledger)
    cols = [{"end_reason": r} for r in (*reasons, TOTAL)]
    done = [reasons.index(COMPLETED)] if COMPLETED in reasons else []
    rows = _rows_by(
        ledger,
        OUTCOMES,
        threshold,
        "organisation",
        [*orgs, TOTAL],
        cols,
        {"programme": TOTAL},
        (done, [len(reasons)]),
    )
    return Table(
        "Uitkomsten per organisatie: personen naar afloop van het meest recente traject",
        "Organisatie",
        (*(lb.END_REASON_LABELS.get(r, r) for r in reasons), "Totaal", "% afgerond"),
        tuple(rows),
        note="'% afgerond' is het aandeel afgeronde trajecten van alle deelnemers, "
        "inclusief lopende trajecten.",
    )


def methods_section(meta: ReleaseMeta, ledger: Ledger, threshold: int) -> Methods:
    """The methods and privacy section: release figures and the anonymisation's lists."""
    anon = meta.parameters.get("anonymisation", {})
    agg = meta.parameters.get("aggregates", {})
    params = {n: param_figure(n, t) for n, t in release_params(meta, ledger, threshold).items()}
    method = str(agg.get("method", ""))
    solver = (
        "een optimaliseringsmodel (gemengd geheeltallig lineair programma)"
        if method.startswith("milp")
        else "een heuristiek"
        if method.startswith("heur")
        else "het geconfigureerde oplosalgoritme"
    )
    l_div = tuple(
        (lb.SENSITIVE_LABELS.get(a, a), params[f"l_diversity.{a}"])
        for a in (anon.get("l_diversity") or {})
        if f"l_diversity.{a}" in params
    )
    return Methods(
        params=params,
        quasi_identifiers=tuple(
            lb.QUASI_IDENTIFIER_LABELS.get(q, q) for q in anon.get("quasi_identifiers", [])
        ),
        withheld=tuple(lb.DROPPED_COLUMN_LABELS.get(c, c) for c in anon.get("dropped_columns", [])),
        sensitive=tuple(lb.SENSITIVE_LABELS.get(s, s) for s in anon.get("publish_sensitive", [])),
        l_diversity=l_div,
        solver=solver,
        audit_ok=agg.get("audit_ok"),
    )


def register_entries(
    register: Sequence[Mapping[str, str]], organisations: Sequence[str] = ()
) -> tuple[RegisterEntry, ...]:
    """The processing register, one entry per process, in the deployment's organisation order."""
    order = {
        o: i
        for i, o in enumerate(
            lb.ordered_organisations(
                {str(e.get("organisation", "")) for e in register}, tuple(organisations)
            )
        )
    }
    entries = [
        RegisterEntry(
            organisation=str(e.get("organisation", "")),
            label=lb.organisation_label(str(e.get("organisation", ""))),
            process=str(e.get("process", "")),
            purpose=str(e.get("purpose", "")),
            legal_basis=str(e.get("legal_basis", "")),
            categories=str(e.get("categories", "")),
            retention=str(e.get("retention", "")),
            recipients=str(e.get("recipients", "")),
        )
        for e in register
    ]
    return tuple(sorted(entries, key=lambda e: order.get(e.organisation, len(order))))
