"""The few lines the CLI prints after a run: what the steward database holds, what the release
published, and what changed since the release that was there before the run.

Only counts and release figures (aggregates the release itself publishes); never a value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

FIGURES = (
    ("k_achieved", "k achieved"),
    ("persons_suppressed", "persons suppressed"),
    ("cells_suppressed_primary", "cells suppressed (primary)"),
    ("cells_suppressed_secondary", "cells suppressed (secondary)"),
    ("max_risk", "max. risk"),
    ("information_loss", "Loss"),
)
"""meta_release columns the summary reports, with their labels (absent columns are skipped)."""


def release_snapshot(research_db: Path) -> dict[str, Any] | None:
    """The newest release's figures and mart row counts, or None without a research database."""
    if not research_db.exists():
        return None
    with duckdb.connect(str(research_db), read_only=True) as con:
        cur = con.execute("select * from meta_release order by built_at desc limit 1")
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
        if row is None:
            return None
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where table_name like 'mart_%' order by 1"
            ).fetchall()
        ]
        marts = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    return {"meta": dict(zip(names, row, strict=True)), "marts": marts}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def release_lines(after: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    """Lines for the release just built and its change since ``before`` (the previous one)."""
    meta = after["meta"]
    figures = "; ".join(f"{label} {_fmt(meta[c])}" for c, label in FIGURES if c in meta)
    marts = after["marts"]
    lines = [
        f"Research release {meta.get('release_id')}: {figures}.",
        f"  {len(marts)} mart tables, {sum(marts.values()):,} rows: "
        + ", ".join(f"{t.removeprefix('mart_')} {n:,}" for t, n in marts.items()),
    ]
    if before is None:
        lines.append("  First release in this research database.")
        return lines
    old = before["meta"]
    if old.get("release_id") == meta.get("release_id"):
        lines.append("  The release did not change (the checks kept the previous one).")
        return lines
    changes = [
        f"{label} {_fmt(old[c])} → {_fmt(meta[c])}"
        for c, label in FIGURES
        if c in meta and c in old and old[c] != meta[c]
    ]
    old_marts = before["marts"]
    for t in sorted(set(marts) | set(old_marts)):
        a, b = old_marts.get(t), marts.get(t)
        if a != b:
            label = t.removeprefix("mart_")
            if a is None:
                changes.append(f"{label} new ({b:,} rows)")
            elif b is None:
                changes.append(f"{label} gone")
            else:
                changes.append(f"{label} {b - a:+,} rows")
    lines.append(
        f"  Since {old.get('release_id')}: "
        + ("; ".join(changes) if changes else "the same figures and row counts")
        + "."
    )
    return lines


def steward_line(staging_db: Path) -> str:
    """One line: rows per layer of the steward database (exact counts, after the purge)."""
    with duckdb.connect(str(staging_db), read_only=True) as con:
        names = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name in ('canonical', 'quarantine', 'pseudonymised') order by 1, 2"
        ).fetchall()
        # Exact counts: estimated_size still includes rows the governance purge deleted.
        counts = {
            (s, t): con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in names
        }

    def layer(schema: str) -> tuple[int, int]:
        rows = [n for (s, t), n in counts.items() if s == schema and t != "file_balance"]
        return len(rows), sum(rows)

    canonical, pseudonymised = layer("canonical"), layer("pseudonymised")
    return (
        f"Steward database: canonical {canonical[0]} tables / {canonical[1]:,} rows, "
        f"quarantine {layer('quarantine')[1]:,} rows, pseudonymised {pseudonymised[0]} tables / "
        f"{pseudonymised[1]:,} rows."
    )
