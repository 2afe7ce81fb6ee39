"""The report check: a written report shows only what its release published, and nothing that
identifies anyone.

:func:`check_report_html` parses the HTML (standard library parser, no browser) and verifies:

* every marked figure (``data-kind``) against the release: a ``count`` is the ledger value of its
  cell key (or ``×`` when the cell is suppressed), a ``derived`` share recomputes from its
  published cells, a ``param`` equals the ``meta_release`` figure, an ``absent`` cell shows no
  digits, a ``label`` is a coordinate label of the ledger (or a fixed phrase), a ``change``
  recomputes from both editions; a figure of the previous edition (``data-release``) is checked
  against that release's ledger, and the report names the right previous edition (or none) and
  says its figures are not available exactly when the ledger does not hold them;
* the **key findings** quote only published numbers: every digit in a finding is a marked figure,
  and a finding that quotes a suppressed cell, an absent cell, a share with a secret part or a
  figure of another release fails; a finding that claims an order (``data-order``: highest …
  lowest) must have its shares (or, when it quotes changes, its changes) in that order;
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
from assets.reports.figures import (
    change_figure,
    figure_from_source,
    release_params,
    share_from_cells,
)
from assets.reports.model import Ledger, ReleaseMeta
from assets.reports.notation import NIL, NOT_AVAILABLE, SECRET, suppressed_text
from assets.reports.reading import newest_release, previous_edition, read_ledger
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


@dataclass(frozen=True)
class _Release:
    ledger: Ledger
    params: dict[str, str]


def _json_attr(el: Node, name: str):
    try:
        return json.loads(el.attrs.get(name, ""))
    except ValueError:
        return None


def _change_expected(el: Node, releases: dict[str, _Release], current: str) -> str | None:
    """The text a ``change`` figure must show, recomputed from both editions (None: unknown)."""
    sides = []
    for name in ("data-from", "data-to"):
        spec = _json_attr(el, name)
        if not isinstance(spec, dict):
            return None
        rel = releases.get(spec.get("release") or current)
        f = None if rel is None else figure_from_source(spec, rel.ledger, rel.params)
        if f is None:
            return None
        sides.append(f)
    return change_figure(*sides).text


def _check_figures(
    root: Node,
    releases: dict[str, _Release],
    current: str,
    vocabulary: set[str],
    out: _Findings,
) -> dict[str, int]:
    shown: set[str] = set()
    hidden: set[str] = set()
    derived = n_params = changes = 0
    for el in root.iter():
        kind = el.attrs.get("data-kind")
        if kind is None:
            continue
        text = el.text().strip()
        where = _where(el)
        release = el.attrs.get("data-release") or current
        rel = releases.get(release)
        if rel is None:
            out.add("figure_of_unknown_release", where)
            continue
        if kind == "count":
            cell = rel.ledger.cells.get(el.attrs.get("data-cell", ""))
            if cell is None:
                out.add("count_not_in_ledger", where)
                continue
            expected = (
                suppressed_text()
                if cell.suppressed or cell.value is None
                else NIL
                if round(cell.value) == 0
                else lb.fmt_int(cell.value)
            )
            if text != expected:
                out.add("count_differs_from_ledger", where)
            if release == current:
                (hidden if cell.suppressed else shown).add(cell.key)
        elif kind == "absent":
            if DIGIT.search(text) or el.attrs.get("data-cell", "") in rel.ledger.cells:
                out.add("absent_cell_shows_a_number", where)
        elif kind == "derived":
            derived += 1
            num, den = _json_attr(el, "data-num"), _json_attr(el, "data-den")
            if not isinstance(num, list) or not isinstance(den, list):
                out.add("derived_without_sources", where)
                continue
            # a share without a denominator can only be '.' (a share of nobody): no number
            expected = share_from_cells(rel.ledger, num, den)
            if expected is None or text != expected:
                out.add("derived_not_reproducible", where)
        elif kind == "param":
            n_params += 1
            if rel.params.get(el.attrs.get("data-param", "")) != text:
                out.add("param_differs_from_release", where)
        elif kind == "change":
            changes += 1
            if _change_expected(el, releases, current) != text:
                out.add("change_not_reproducible", where)
        elif kind == "label":
            if text not in vocabulary:
                out.add("label_not_a_ledger_coordinate", where)
        else:
            out.add("unknown_figure_kind", where)
    return {
        "cells_shown": len(shown | hidden),
        "cells_suppressed_shown": len(hidden),
        "derived_shown": derived,
        "params_shown": n_params,
        "changes_shown": changes,
    }


def _quoted_state(el: Node, releases: dict[str, _Release], current: str) -> str:
    """``published``, ``suppressed`` or ``absent``: what a figure in a finding quotes."""
    kind = el.attrs.get("data-kind")
    text = el.text().strip()
    if kind in ("label", "param"):
        return "published"
    if kind == "absent" or text in (NIL, NOT_AVAILABLE):
        return "absent"
    if text == SECRET:
        return "suppressed"
    rel = releases.get(el.attrs.get("data-release") or current)
    if rel is None:
        return "absent"
    if kind == "count":
        keys = [el.attrs.get("data-cell", "")]
    elif kind == "derived":
        num, den = _json_attr(el, "data-num"), _json_attr(el, "data-den")
        if not isinstance(num, list) or not isinstance(den, list) or not den:
            return "absent"
        keys = [*num, *den]
    elif kind == "change":
        states = []
        for name in ("data-from", "data-to"):
            spec = _json_attr(el, name)
            if not isinstance(spec, dict):
                return "absent"
            side = releases.get(spec.get("release") or current)
            keys = [
                k
                for k in (spec.get("cell"), *(spec.get("num") or ()), *(spec.get("den") or ()))
                if k
            ]
            if side is None or any(k not in side.ledger.cells for k in keys):
                states.append("absent")
            elif any(side.ledger.cells[k].suppressed for k in keys):
                states.append("suppressed")
        return states[0] if states else "published"
    else:
        return "absent"
    cells = [rel.ledger.cells.get(str(k)) for k in keys]
    if any(c is None for c in cells):
        return "absent"
    if any(c.suppressed for c in cells):  # type: ignore[union-attr]
        return "suppressed"
    return "published"


_SHARE = re.compile(r"^(\d{1,3}),(\d)%$")
_POINTS = re.compile(r"^([+−]?)(\d{1,3}),(\d)$")
"""A change in percentage points as :func:`assets.reports.labels.fmt_signed_points` writes it."""


def _check_findings(root: Node, releases: dict[str, _Release], current: str, out: _Findings) -> int:
    """Key findings quote published numbers of this release only, and their claimed order
    (highest … lowest) holds. Returns the number of findings."""
    items = [el for el in root.iter() if el.tag == "li" and "data-finding" in el.attrs]
    for item in items:
        where = "kernbevindingen"
        for text, parent in _text_nodes(item):
            chain = [parent, *parent.ancestors()]
            inside = chain[: chain.index(item) + 1]
            if DIGIT.search(text) and not any("data-kind" in a.attrs for a in inside):
                out.add("unverified_number_in_finding", where)
        shares: list[float] = []
        changes: list[float] = []
        for el in item.iter():
            if "data-kind" not in el.attrs:
                continue
            if (el.attrs.get("data-release") or current) != current:
                out.add("finding_quotes_another_release", where)
                continue
            state = _quoted_state(el, releases, current)
            if state != "published":
                out.add(f"finding_quotes_{state}_cell", where)
            m = _SHARE.match(el.text().strip())
            if el.attrs.get("data-kind") == "derived" and m:
                shares.append(float(f"{m.group(1)}.{m.group(2)}"))
            c = _POINTS.match(el.text().strip())
            if el.attrs.get("data-kind") == "change" and c:
                sign = -1.0 if c.group(1) == "−" else 1.0
                changes.append(sign * float(f"{c.group(2).replace('.', '')}.{c.group(3)}"))
        order = item.attrs.get("data-order")
        if order:
            # a finding that quotes changes ranks its changes (the shares beside them are
            # the changes' own sides); otherwise it ranks its shares
            shares = changes or shares
            ranked = sorted(shares, reverse=order == "desc")
            if len(shares) < 2 or shares != ranked:
                out.add("finding_order_not_true", where)
    return len(items)


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
    previous: tuple[ReleaseMeta, Ledger | None] | None = None,
) -> CheckOutcome:
    """Verify a rendered report against its release and, for the change section, the previous
    edition ``previous`` (its meta data and ledger; ``None`` for a first edition; a ``None``
    ledger when the ledger does not hold that edition's cells, and then the report must say its
    figures are not available) — see the module docstring."""
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
    named_previous = next(
        (
            el.attrs.get("content", "")
            for el in root.iter()
            if el.tag == "meta" and el.attrs.get("name") == "brugstat-previous-release"
        ),
        "",
    )
    if named_previous != (previous[0].release_id if previous else ""):
        out.add("previous_edition_is_not_the_previous_release", "document")
    said_unavailable = any(
        el.tag == "meta"
        and el.attrs.get("name") == "brugstat-previous-figures"
        and el.attrs.get("content") == "niet-beschikbaar"
        for el in root.iter()
    )
    # with the previous cells in the ledger the report must compare with them; without them
    # it must say so (its figures of that edition would be of an unknown release anyway)
    if said_unavailable != (previous is not None and previous[1] is None):
        out.add("previous_edition_availability_misstated", "document")
    releases = {meta.release_id: _Release(ledger, release_params(meta, ledger, threshold))}
    pmeta, pledger = previous if previous is not None else (None, None)
    if pmeta is not None and pledger is not None:
        releases[pmeta.release_id] = _Release(
            pledger, release_params(pmeta, pledger, pmeta.threshold(threshold))
        )
    vocabulary = ledger.labels() | lb.FIXED_PHRASES
    stats = _check_figures(root, releases, meta.release_id, vocabulary, out)
    stats["findings"] = _check_findings(root, releases, meta.release_id, out)
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
            f"'{suppressed_text(threshold)}'); {stats['derived_shown']} derived shares and "
            f"{stats['changes_shown']} changes since the previous edition recompute; "
            f"{stats['findings']} key findings quote only published cells; "
            "no identifier-like text and no external reference.",
            details,
        )
    summary = ", ".join(f"{rule} ({n}x)" for rule, n in sorted(out.counts.items()))
    return CheckOutcome(False, f"The report shows what its release does not: {summary}.", details)


def check_report_file(
    html_path: Path | str,
    research_db: Path | str,
    *,
    threshold: int | None = None,
    steward_db: Path | str | None = None,
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
        previous = previous_edition(con, meta, steward_db)
        row = con.execute(
            "select key_id from meta_release where release_id = ?", [meta.release_id]
        ).fetchone()
    return check_report_html(
        path.read_text(encoding="utf-8"),
        ledger=ledger,
        meta=meta,
        threshold=meta.threshold(threshold),
        key_id=row[0] if row else None,
        previous=previous,
    )
