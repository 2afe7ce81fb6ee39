"""``brugstat docs``: a static HTML catalogue of the current release, like ``dbt docs``.

One self-contained file (inline CSS and a small inline filter script; no URL, no fetched
resource) written to ``data/docs/<release_id>/index.html``. Everything in it comes from the
research database itself, opened read-only — ``data_dictionary`` for the tables and columns,
``meta_release`` for the figures and parameters — so it documents exactly the file analysts get.
The conventions paragraph is the catalogue module's own text (:mod:`assets.marts.catalogue`).
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assets.marts import catalogue
from assets.marts.build import open_read_only

_SAFE_RELEASE_ID = re.compile(r"[A-Za-z0-9_.-]{1,80}")


class DocsError(RuntimeError):
    """The research database is missing or cannot be documented (the message names the file)."""


@dataclass(frozen=True)
class Column:
    """One documented column."""

    name: str
    data_type: str
    description: str


@dataclass(frozen=True)
class Table:
    """One documented table, columns in database order."""

    name: str
    grain: str
    description: str
    columns: list[Column]
    rows: int


@dataclass(frozen=True)
class Release:
    """The current release's row of ``meta_release`` (the newest ``built_at``)."""

    release_id: str
    built_at: str
    code_version: str
    figures: dict[str, Any]
    parameters: dict[str, Any]


_FIGURES = (
    "k_achieved",
    "persons_suppressed",
    "cells_suppressed_primary",
    "cells_suppressed_secondary",
    "max_risk",
    "avg_risk",
    "information_loss",
)


def read_catalogue(research_db: Path) -> tuple[Release, list[Table]]:
    """The current release and every table of ``research_db`` (read-only; raises DocsError)."""
    if not research_db.exists():
        raise DocsError(f"{research_db}: no research database; run `brugstat run` first")
    con = open_read_only(research_db)
    try:
        row = con.execute(
            "select release_id, cast(built_at as varchar), coalesce(code_version, ''), "
            f"parameters_json, {', '.join(_FIGURES)} "
            "from meta_release order by built_at desc limit 1"
        ).fetchone()
        if row is None:
            raise DocsError(f"{research_db}: meta_release is empty")
        release = Release(
            release_id=row[0],
            built_at=row[1],
            code_version=row[2],
            parameters=json.loads(row[3]) if row[3] else {},
            figures=dict(zip(_FIGURES, row[4:], strict=True)),
        )
        # rowid keeps the build's order: tables in build order, columns in table order
        dd = con.execute(
            "select table_name, column_name, data_type, description, grain, table_description "
            "from data_dictionary order by rowid"
        ).fetchall()
        existing = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        tables: dict[str, Table] = {}
        for t, c, typ, desc, grain, tdesc in dd:
            if t not in tables:
                rows = 0
                if t in existing:
                    # t is a table name the build itself created (data_dictionary), quoted
                    rows = int(con.execute(f'select count(*) from "{t}"').fetchone()[0])
                tables[t] = Table(t, grain, tdesc, [], rows)
            tables[t].columns.append(Column(c, typ, desc))
    finally:
        con.close()
    return release, list(tables.values())


def _fmt(value: Any) -> str:
    if value is None:
        return "."  # CBS: not available
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value else "0"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u202f")
    return str(value)


def _linker(names: list[str]):
    """Escape text and turn every mention of a table name into an anchor link."""
    pattern = re.compile(
        r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len)[::-1]) + r")\b"
    )

    def link(text: str) -> str:
        return pattern.sub(
            lambda m: f'<a href="#t-{m.group(1)}">{m.group(1)}</a>', html.escape(text)
        )

    return link


def _withheld(params: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines saying what was generalised or withheld, from the parameters."""
    anon = params.get("anonymisation", {}) or {}
    agg = params.get("aggregates", {}) or {}
    rules = agg.get("rules", {}) or {}
    out: list[tuple[str, str]] = []

    def add(label: str, value: Any) -> None:
        if value not in (None, [], {}, ""):
            out.append((label, value if isinstance(value, str) else json.dumps(value)))

    add("k (smallest group of persons sharing all quasi-identifiers)", anon.get("k"))
    add(
        "Quasi-identifiers, generalised for k-anonymity",
        ", ".join(anon.get("quasi_identifiers", [])),
    )
    add("Age bands tried (years)", anon.get("age_widths"))
    add("Area level of the aggregate tables", anon.get("table_area_level"))
    add("Most generalised levels allowed", anon.get("max_levels"))
    add("Persons withheld at most (share)", anon.get("suppression_limit"))
    add("l-diversity (distinct values per group)", anon.get("l_diversity"))
    add("Largest share of one value per group", anon.get("max_share"))
    add(
        "Sensitive attributes published beside the QIs",
        ", ".join(anon.get("publish_sensitive", [])),
    )
    add(
        "Withheld entirely (never in this database)",
        ", ".join(anon.get("dropped_columns", [])),
    )
    add(
        "Aggregate threshold (persons per published cell)",
        params.get("threshold", rules.get("threshold")),
    )
    add("Dominance rule (n, %)", rules.get("dominance"))
    add("p% rule", rules.get("p_percent"))
    add("Aggregate cells", agg.get("cells"))
    add(
        "Suppression method / status",
        " — ".join(str(agg[k]) for k in ("method", "status") if k in agg),
    )
    return out


_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fff}
header{background:#15324b;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:22px}
.wrap{display:flex}
nav{width:270px;flex:none;padding:12px 16px;border-right:1px solid #ddd;position:sticky;top:0;
 height:100vh;overflow:auto;box-sizing:border-box}
nav input{width:100%;box-sizing:border-box;padding:5px;margin-bottom:8px}
nav ul{list-style:none;padding:0;margin:0}
nav li{margin:2px 0;overflow-wrap:anywhere}
h2 code{font-size:inherit}
main{padding:12px 28px;max-width:1100px}
table{border-collapse:collapse;width:100%;margin:6px 0 18px}
th,td{border:1px solid #ccc;padding:4px 7px;text-align:left;vertical-align:top}
th{background:#eef2f5}
code,.mono{font-family:ui-monospace,monospace;font-size:13px}
.kind{font-size:12px;color:#555;border:1px solid #aaa;border-radius:3px;padding:0 4px}
.grain{color:#333;font-style:italic}
section.tbl{border-top:2px solid #15324b;margin-top:22px}
.fig td:first-child{width:45%}
a{color:#0b5394}
.hidden{display:none}
"""

_JS = """
function filt(q){q=q.toLowerCase();
for(const s of document.querySelectorAll('section.tbl')){
 let any=s.dataset.name.includes(q);
 for(const r of s.querySelectorAll('tr.col')){
  const hit=!q||any||r.textContent.toLowerCase().includes(q);
  r.classList.toggle('hidden',!hit);any=any||(hit&&q)}
 s.classList.toggle('hidden',!!q&&!any);
 const li=document.getElementById('n-'+s.dataset.name);
 if(li)li.classList.toggle('hidden',!!q&&!any);}}
"""


def render_html(release: Release, tables: list[Table]) -> str:
    """The catalogue page: release figures, what was withheld, then every table and column."""
    e = html.escape
    link = _linker([t.name for t in tables])
    kinds = {n: d.kind for n, d in catalogue.CATALOGUE.items()}
    fig_doc = catalogue.CATALOGUE["meta_release"].columns
    conventions = (catalogue.__doc__ or "").split("\n\n", 2)
    conventions_text = conventions[2].strip() if len(conventions) > 2 else ""
    p: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>brugstat research database — release {e(release.release_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>Research database catalogue</h1>"
        f"<div>release <span class=mono>{e(release.release_id)}</span> · built "
        f"{e(release.built_at)} UTC · code {e(release.code_version)}</div></header>",
        '<div class="wrap"><nav><input id="q" type="search" placeholder="Filter tables, columns…" '
        'oninput="filt(this.value)" aria-label="filter"><ul>',
        '<li><a href="#release">Release figures</a></li>',
        '<li><a href="#withheld">Generalised or withheld</a></li>',
    ]
    for t in tables:
        p.append(f'<li id="n-{e(t.name)}"><a href="#t-{e(t.name)}">{e(t.name)}</a></li>')
    p.append("</ul></nav><main>")
    p.append('<section id="release"><h2>Release figures</h2><table class="fig">')
    for key in _FIGURES:
        p.append(
            f"<tr><th>{e(key)}</th><td class=mono>{e(_fmt(release.figures.get(key)))}</td>"
            f"<td>{link(fig_doc.get(key, ''))}</td></tr>"
        )
    primary = release.figures.get("cells_suppressed_primary") or 0
    secondary = release.figures.get("cells_suppressed_secondary") or 0
    p.append(
        f"<tr><th>cells suppressed (total)</th><td class=mono>{e(_fmt(primary + secondary))}</td>"
        "<td>Primary plus secondary.</td></tr></table></section>"
    )
    p.append('<section id="withheld"><h2>What was generalised or withheld</h2><table>')
    for label, value in _withheld(release.parameters):
        p.append(f"<tr><th>{e(label)}</th><td class=mono>{e(value)}</td></tr>")
    p.append("</table>")
    if conventions_text:
        plain = " ".join(conventions_text.replace("``", "'").split())  # reST literals
        p.append(f"<p>{link(plain)}</p>")
    p.append(
        "<details><summary>All parameters (meta_release.parameters_json)</summary><pre class=mono>"
        f"{e(json.dumps(release.parameters, indent=1, sort_keys=True))}</pre></details></section>"
    )
    for t in tables:
        kind = kinds.get(t.name, "")
        p.append(
            f'<section class="tbl" id="t-{e(t.name)}" data-name="{e(t.name.lower())}">'
            f"<h2><code>{e(t.name)}</code> <span class=kind>{e(kind)}</span></h2>"
            f"<p>{link(t.description)}</p>"
            f"<p class=grain>Grain: {link(t.grain)} · {e(_fmt(t.rows))} rows</p>"
            "<table><tr><th>column</th><th>type</th><th>description</th></tr>"
        )
        for c in t.columns:
            p.append(
                f'<tr class="col"><td><code>{e(c.name)}</code></td>'
                f"<td class=mono>{e(c.data_type)}</td><td>{link(c.description)}</td></tr>"
            )
        p.append("</table></section>")
    p.append(f"</main></div><script>{_JS}</script></body></html>")
    return "\n".join(p)


def write_docs(research_db: Path, docs_root: Path) -> Path:
    """Write ``docs_root/<release_id>/index.html`` for the current release and return its path.

    The page is readable by analysts like the research database (0644, folders 0755); it is
    written to a temporary name and renamed, so a reader never sees half a page."""
    release, tables = read_catalogue(research_db)
    if not _SAFE_RELEASE_ID.fullmatch(release.release_id) or ".." in release.release_id:
        raise DocsError(f"{research_db}: release id is not usable as a folder name")
    folder = docs_root / release.release_id
    for d in (docs_root, folder):
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)  # published, like research.duckdb (the CLI runs under umask 077)
    target = folder / "index.html"
    tmp = folder / f".index.html.tmp-{os.getpid()}"
    try:
        tmp.write_text(render_html(release, tables), encoding="utf-8")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
