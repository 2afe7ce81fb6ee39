"""Build the policymakers' report of the newest release: content → charts → HTML → PDF.

The HTML is checked (:func:`assets.reports.verify.check_report_html`) before anything is written,
and a research database whose protected mart tables disagree with its release ledger is refused.
Files are written next to their final name and renamed into place, so a reader never sees half a
report: ``<reports_root>/<release_id>/rapport.html`` and ``rapport.pdf``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assets.reports.charts import make_charts
from assets.reports.content import read_report_content
from assets.reports.model import ReportError
from assets.reports.render import render_html, write_pdf
from assets.reports.verify import check_report_html

HTML_NAME = "rapport.html"
PDF_NAME = "rapport.pdf"
_SAFE_RELEASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


@dataclass(frozen=True)
class ReportBuild:
    """What a build wrote, and the figures it showed."""

    release_id: str
    html_path: Path
    pdf_path: Path
    pages: int
    cells_shown: int
    cells_suppressed: int
    derived_shown: int
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)


def report_dir(reports_root: Path | str, release_id: str) -> Path:
    """The folder of one release's report (the release id is a single, safe path component)."""
    if not _SAFE_RELEASE_ID.fullmatch(release_id) or ".." in release_id:
        raise ReportError(f"release id {release_id!r} is not usable as a folder name")
    return Path(reports_root) / release_id


def _write_atomically(target: Path, write) -> None:
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # the report is meant for publication
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def build_report(
    research_db: Path | str,
    reports_root: Path | str,
    *,
    register: Sequence[Mapping[str, str]] = (),
    organisations: Sequence[str] = (),
    threshold: int | None = None,
    steward_db: Path | str | None = None,
) -> ReportBuild:
    """Write the HTML and PDF report of the newest release in ``research_db``.

    ``register`` is the processing register (``Settings.register``), ``organisations`` the
    deployment's order of organisations, ``threshold`` the settings' table threshold (used only
    when the release does not record its own). Raises :class:`ReportError` when the database is
    not one consistent release or the rendered report fails its own check.
    """
    t_start = time.perf_counter()
    steps: dict[str, float] = {}

    def step(name: str, t0: float) -> None:
        steps[name] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    content = read_report_content(
        research_db,
        register=register,
        organisations=organisations,
        threshold=threshold,
        steward_db=steward_db,
    )
    step("read", t0)
    if content.n_mismatches:
        raise ReportError(
            f"release {content.meta.release_id}: {content.n_mismatches} protected mart cell(s) "
            f"disagree with the release ledger (e.g. {'; '.join(content.mismatches[:3])}); "
            "refusing to report on an inconsistent research database"
        )
    t0 = time.perf_counter()
    charts = make_charts(content.domains, content.organisations)
    step("charts", t0)
    t0 = time.perf_counter()
    html = render_html(content, charts)
    before = content.comparison
    outcome = check_report_html(
        html,
        ledger=content.ledger,
        meta=content.meta,
        threshold=content.threshold,
        previous=(before.previous, before.ledger) if before.previous else None,
    )
    if not outcome.passed:
        raise ReportError(f"the rendered report fails its check: {outcome.description}")
    step("html", t0)

    folder = report_dir(reports_root, content.meta.release_id)
    folder.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = folder / HTML_NAME, folder / PDF_NAME
    _write_atomically(html_path, lambda p: p.write_text(html, encoding="utf-8"))
    t0 = time.perf_counter()
    pages = 0

    def pdf(p: Path) -> None:
        nonlocal pages
        pages = write_pdf(html, p)

    _write_atomically(pdf_path, pdf)
    step("pdf", t0)
    d = outcome.details
    return ReportBuild(
        release_id=content.meta.release_id,
        html_path=html_path,
        pdf_path=pdf_path,
        pages=pages,
        cells_shown=int(d["cells_shown"]),
        cells_suppressed=int(d["cells_suppressed_shown"]),
        derived_shown=int(d["derived_shown"]),
        seconds=round(time.perf_counter() - t_start, 3),
        steps=steps,
    )
