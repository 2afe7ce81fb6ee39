"""The report check: a written report shows only what its release published, and nothing that
identifies anyone.

:func:`check_report_html` parses the HTML (standard library parser, no browser) and verifies:

* every marked figure (``data-kind``) against the release: a ``count`` is the ledger value of its
  cell key (or ``<threshold`` when the cell is suppressed), a ``derived`` share recomputes from its
  published cells, a ``param`` equals the ``meta_release`` figure, an ``absent`` cell shows no
  digits;
* every digit in a ``<table>`` belongs to a marked figure, or to a header that is a label of a
  coordinate in the ledger (``Niveau 3``, ``Groningen (GM0014)``) — so a number typed into a
  table by hand, or computed from anything but the ledger, fails;
* the visible text holds nothing identifier-like (e-mail, phone, BSN, postcode, postcode + house
  number: :func:`quality.privacy.scan_frame` on candidate substrings), nor the project's key id;
* no external reference (``http``, ``//``, ``src``/``href`` other than ``#fragment``, ``url()``
  other than ``url(#…)``, scripts, external style sheets).

Findings name the rule and the report section, never the offending text: it might be personal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import polars as pl

from assets.reports import labels as lb
from assets.reports.content import (
    Ledger,
    ReleaseMeta,
    newest_release,
    read_ledger,
    release_params,
    share_from_cells,
    suppressed_text,
)
from quality.outcome import CheckOutcome
from quality.privacy import scan_frame

VOID = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr")
)
"""HTML elements without an end tag."""
DIGIT = re.compile(r"\d")
MAX_EXAMPLES = 20

# Candidate substrings for the identifier scan; the exact rules are quality.privacy's.
_EMAIL_CANDIDATE = re.compile(r"\S+@\S+")
_PHONE_CANDIDATE = re.compile(r"(?<![\w.,])(?:\+|00)?\d[\d\s\-()]{7,18}\d(?![\w.,])")
_BSN_CANDIDATE = re.compile(r"(?<![\w.,])\d{8,9}(?![\w.,])")
_POSTCODE_CANDIDATE = re.compile(r"\b[1-9]\d{3}\s?[A-Z]{2}\b(?:[\s,]+\d{1,5}\s?[A-Za-z]?\b)?")
_KEY_LIKE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{16,}(?![0-9a-fA-F])")
_EXTERNAL = re.compile(r"https?:|//|^\s*(?:data|file|ftp|javascript):", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?(?!#)", re.IGNORECASE)
_LINK_ATTRS = frozenset(("href", "src", "xlink:href", "srcset", "action", "poster", "background"))
_DATA_ATTRS = frozenset(("data-cell", "data-num", "data-den"))


@dataclass
class Node:
    """An element of the parsed report (text children are plain strings)."""

    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        """All text inside the element, concatenated."""
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        """This element and every element below it, depth first."""
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def ancestors(self):
        """The parent chain, nearest first."""
        p = self.parent
        while p is not None:
            yield p
            p = p.parent


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.current.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag: str) -> None:
        # close up to the matching element (tolerates unclosed children)
        for node in (self.current, *self.current.ancestors()):
            if node.tag == tag:
                self.current = node.parent or self.root
                return

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse_html(html: str) -> Node:
    """The report's element tree."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _where(node: Node) -> str:
    for a in (node, *node.ancestors()):
        if a.tag == "section" and a.attrs.get("id"):
            return a.attrs["id"]
    return "document"


def _text_nodes(node: Node, skip: frozenset = frozenset({"style", "script"})):
    """(text, parent element) of every visible text node."""
    for c in node.children:
        if isinstance(c, str):
            yield c, node
        elif c.tag not in skip:
            yield from _text_nodes(c, skip)


class _Findings:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.examples: list[dict[str, str]] = []

    def add(self, rule: str, where: str) -> None:
        self.counts[rule] = self.counts.get(rule, 0) + 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append({"rule": rule, "section": where})


def _check_figures(
    root: Node, ledger: Ledger, params: dict[str, str], threshold: int, out: _Findings
) -> dict[str, int]:
    shown: set[str] = set()
    hidden: set[str] = set()
    derived = n_params = 0
    for el in root.iter():
        kind = el.attrs.get("data-kind")
        if kind is None:
            continue
        text = el.text().strip()
        where = _where(el)
        if kind == "count":
            cell = ledger.cells.get(el.attrs.get("data-cell", ""))
            if cell is None:
                out.add("count_not_in_ledger", where)
                continue
            expected = (
                suppressed_text(threshold)
                if cell.suppressed or cell.value is None
                else lb.fmt_int(cell.value)
            )
            if text != expected:
                out.add("count_differs_from_ledger", where)
            (hidden if cell.suppressed else shown).add(cell.key)
        elif kind == "absent":
            if DIGIT.search(text) or el.attrs.get("data-cell", "") in ledger.cells:
                out.add("absent_cell_shows_a_number", where)
        elif kind == "derived":
            derived += 1
            try:
                num = json.loads(el.attrs.get("data-num", ""))
                den = json.loads(el.attrs.get("data-den", ""))
            except ValueError:
                out.add("derived_without_sources", where)
                continue
            expected = share_from_cells(ledger, num, den) if den else None
            if expected is None or text != expected:
                out.add("derived_not_reproducible", where)
        elif kind == "param":
            n_params += 1
            if params.get(el.attrs.get("data-param", "")) != text:
                out.add("param_differs_from_release", where)
        else:
            out.add("unknown_figure_kind", where)
    return {
        "cells_shown": len(shown | hidden),
        "cells_suppressed_shown": len(hidden),
        "derived_shown": derived,
        "params_shown": n_params,
    }


def _check_tables(root: Node, vocabulary: set[str], out: _Findings) -> None:
    for table in (el for el in root.iter() if el.tag == "table"):
        for text, parent in _text_nodes(table):
            if not DIGIT.search(text):
                continue
            chain = [parent, *parent.ancestors()]
            inside = chain[: next(i for i, a in enumerate(chain) if a is table) + 1]
            if any("data-kind" in a.attrs for a in inside):
                continue  # verified as a figure
            th = next((a for a in inside if a.tag == "th"), None)
            if th is not None and th.text().strip() in vocabulary:
                continue  # a label of a ledger coordinate (Niveau 3, Groningen (GM0014))
            out.add("unverified_number_in_table", _where(table))


def _candidates(text: str) -> list[str]:
    found = [m.group(0) for m in _EMAIL_CANDIDATE.finditer(text)]
    found += [m.group(0) for m in _PHONE_CANDIDATE.finditer(text)]
    found += [m.group(0).zfill(9) for m in _BSN_CANDIDATE.finditer(text)]
    found += [m.group(0) for m in _POSTCODE_CANDIDATE.finditer(text)]
    return found


def _check_identifiers(root: Node, key_id: str | None, html: str, out: _Findings) -> None:
    texts = [t for t, _ in _text_nodes(root)]
    texts += [el.attrs.get(a, "") for el in root.iter() for a in ("title", "alt", "aria-label")]
    values = [cand for t in texts for cand in _candidates(t)]
    if values:
        for finding in scan_frame(pl.DataFrame({"text": values}), table="rapport", allow_pc6=False):
            if finding["rule"] == "free_text_value":
                continue  # candidates are cut out of prose: their word count means nothing
            out.counts[f"identifier:{finding['rule']}"] = int(str(finding["matches"]))
    if _KEY_LIKE.search(" ".join(texts)):
        out.add("key_like_hex_string", "document")
    if key_id and key_id.lower() in html.lower():
        out.add("key_id_present", "document")


def _check_self_contained(root: Node, out: _Findings) -> None:
    for el in root.iter():
        if el.tag in ("script", "iframe", "object", "embed", "link", "img"):
            out.add(f"external_element:{el.tag}", _where(el))
        for name, value in el.attrs.items():
            if name in _DATA_ATTRS:
                continue  # cell keys: aggregate codes, never fetched
            link = name in _LINK_ATTRS and not value.startswith("#")
            if link or _CSS_URL.search(value) or _EXTERNAL.search(value):
                out.add("external_reference", _where(el))
        if el.tag == "style" and (_CSS_URL.search(el.text()) or "@import" in el.text()):
            out.add("external_reference", _where(el))


def check_report_html(
    html: str,
    *,
    ledger: Ledger,
    meta: ReleaseMeta,
    threshold: int,
    key_id: str | None = None,
) -> CheckOutcome:
    """Verify a rendered report against its release (see the module docstring)."""
    root = parse_html(html)
    out = _Findings()
    release = next(
        (
            el.attrs.get("content")
            for el in root.iter()
            if el.tag == "meta" and el.attrs.get("name") == "brugstat-release"
        ),
        None,
    )
    if release != meta.release_id:
        out.add("report_is_not_of_this_release", "document")
    params = release_params(meta, ledger, threshold)
    stats = _check_figures(root, ledger, params, threshold, out)
    _check_tables(root, ledger.labels() | lb.FIXED_HEADERS, out)
    _check_identifiers(root, key_id, html, out)
    _check_self_contained(root, out)
    details = {
        "release_id": meta.release_id,
        **stats,
        "problems": dict(sorted(out.counts.items())),
        "examples": out.examples,
    }
    if not out.counts:
        return CheckOutcome(
            True,
            f"All {stats['cells_shown']} cells shown are published cells of release "
            f"{meta.release_id} ({stats['cells_suppressed_shown']} suppressed, shown as "
            f"'{suppressed_text(threshold)}'); {stats['derived_shown']} derived shares recompute; "
            "no identifier-like text and no external reference.",
            details,
        )
    summary = ", ".join(f"{rule} ({n}x)" for rule, n in sorted(out.counts.items()))
    return CheckOutcome(False, f"The report shows what its release does not: {summary}.", details)


def check_report_file(
    html_path: Path | str, research_db: Path | str, *, threshold: int | None = None
) -> CheckOutcome:
    """Re-read a written report and verify it against the newest release of ``research_db``.

    The release's key id is read only to make sure the report does not contain it.
    """
    path = Path(html_path)
    if not path.exists():
        return CheckOutcome(False, f"No report at {path}.", {"path": str(path)})
    with duckdb.connect(str(research_db), read_only=True) as con:
        meta = newest_release(con)
        ledger = read_ledger(con, meta.release_id)
        row = con.execute(
            "select key_id from meta_release where release_id = ?", [meta.release_id]
        ).fetchone()
    return check_report_html(
        path.read_text(encoding="utf-8"),
        ledger=ledger,
        meta=meta,
        threshold=meta.threshold(threshold),
        key_id=row[0] if row else None,
    )
