"""Read one release of ``research.duckdb`` into typed report content (no Dagster, no HTML).

The assembler: :func:`build_content` puts the sections (:mod:`~assets.reports.sections`), the
key findings (:mod:`~assets.reports.findings`) and the change since the previous edition
(:mod:`~assets.reports.editions`) together from a release's meta data and ledger alone;
:func:`read_report_content` reads them (:mod:`~assets.reports.reading`) first. Below them:
:mod:`~assets.reports.figures` (a ledger cell or a share → a figure), :mod:`~assets.reports.model`
(the typed content) and :mod:`~assets.reports.notation` (CBS's ``×``, ``–``, ``.``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from anonymise.tables import TOTAL
from assets.marts.aggregates import BRIDGE_LEVELS, GOALS_REACHED, OUTCOMES
from assets.reports import labels as lb
from assets.reports.editions import compare_editions
from assets.reports.findings import bridge_sources, key_findings
from assets.reports.model import Comparison, Ledger, ReleaseMeta, ReportContent
from assets.reports.reading import (
    compare_marts,
    connect,
    newest_release,
    previous_edition,
    read_ledger,
)
from assets.reports.sections import (
    domain_overview,
    domain_section,
    key_figures,
    methods_section,
    organisation_section,
    outcomes_overview,
    progress_overview,
    register_entries,
)


def build_content(
    meta: ReleaseMeta,
    ledger: Ledger,
    *,
    register: Sequence[Mapping[str, str]] = (),
    organisations: Sequence[str] = (),
    threshold: int | None = None,
    previous: tuple[ReleaseMeta, Ledger | None] | None = None,
    with_previous: bool = True,
) -> ReportContent:
    """Report content from a release's meta data and ledger alone (pure).

    ``previous`` is the previous edition (its meta data and ledger) for the change section;
    ``None`` makes this a first edition.
    """
    limit = meta.threshold(threshold)
    domain_codes = lb.ordered_domains(
        {
            t.partition(":")[2]
            for t in ledger.tables()
            if t.partition(":")[0] in (BRIDGE_LEVELS, GOALS_REACHED)
        }
    )
    domains = tuple(domain_section(ledger, d, limit) for d in domain_codes)
    entries = register_entries(register, organisations)
    by_org = {e.organisation: e for e in entries}
    in_ledger = ledger.codes(OUTCOMES, "organisation") - {TOTAL}
    orgs = lb.ordered_organisations(in_ledger, tuple(organisations))
    listed = lb.ordered_organisations(in_ledger | set(by_org), tuple(organisations))
    headline = key_figures(ledger, limit)
    comparison = Comparison(None)
    if with_previous and previous is not None:
        pmeta, pledger = previous
        before = (
            None
            if pledger is None
            else build_content(pmeta, pledger, threshold=threshold, with_previous=False)
        )
        comparison = compare_editions(meta, ledger, domains, headline, (pmeta, before), threshold)
    return ReportContent(
        meta=meta,
        threshold=limit,
        ledger=ledger,
        findings=key_findings(ledger, headline, domains, orgs),
        comparison=comparison,
        bridge_sources=tuple(lb.organisation_label(o) for o in bridge_sources(ledger, orgs)[1]),
        key_figures=headline,
        domain_overview=domain_overview(domains),
        progress=progress_overview(domains),
        domains=domains,
        outcomes_overview=outcomes_overview(ledger, orgs, limit),
        organisations=tuple(organisation_section(ledger, o, limit, by_org) for o in listed),
        methods=methods_section(meta, ledger, limit),
        register=entries,
    )


def read_report_content(
    research_db: Path | str,
    *,
    register: Sequence[Mapping[str, str]] = (),
    organisations: Sequence[str] = (),
    threshold: int | None = None,
    verify_marts: bool = True,
    steward_db: Path | str | None = None,
) -> ReportContent:
    """Read the newest release of ``research_db`` (opened read-only) into report content;
    ``steward_db`` holds the population ledger with the previous edition's cells.

    ``threshold`` is only a fallback for releases whose parameters do not record theirs. With
    ``verify_marts`` the protected mart tables are compared with the ledger and disagreements
    are returned in ``mismatches`` (the report builder refuses such a file).
    """
    with connect(research_db) as con:
        meta = newest_release(con)
        ledger = read_ledger(con, meta.release_id)
        previous = previous_edition(con, meta, steward_db)
        problems, n = compare_marts(con, ledger) if verify_marts else ([], 0)
    content = build_content(
        meta,
        ledger,
        register=register,
        organisations=organisations,
        threshold=threshold,
        previous=previous,
    )
    return replace(content, mismatches=tuple(problems), n_mismatches=n)
