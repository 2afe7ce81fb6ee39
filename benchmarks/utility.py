"""Benchmark: what a release keeps and what it withholds (issue 13's utility goals).

    python benchmarks/utility.py [--data DIR]

Reads a finished release — ``DIR/research.duckdb`` (what analysts get) and the steward's
``DIR/release_candidate/summary.json`` (the anonymisation's own figures) — by default the demo's
``data/`` after ``python3 dev.py demo``, and prints:

* per quasi-identifier of ``mart_persons`` the share of persons at each hierarchy level
  (``suppressed`` = withheld from ``mart_persons``), the persons withheld, the Loss (ARX, cell by
  cell over the locally recoded record), the insider-withheld sensitive cells;
* per protected table the cells and the share published;
* the goals: intake year published as a year for >= 80 % of the persons; the Bridge level table
  by area below the gemeente x intake year counting >= 50 % of the Groningen persons in published
  cells at that level; >= 4 intake years with published Groningen totals (the report's trend).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

GEMEENTE_PREFIX = "GM"
BRIDGE = "mart_bridge_levels_by_area_period"
GRONINGEN = "GM0014 Groningen"


def figures(data: Path) -> dict:
    """The utility figures of the release in ``data``."""
    summary = json.loads((data / "release_candidate" / "summary.json").read_text())
    out: dict = {
        "persons_in_release": summary.get("persons_out"),
        "persons_withheld": summary.get("suppressed_persons"),
        "population_persons": summary.get("population_persons"),
        "loss": round(summary.get("loss", float("nan")), 4),
        "insider_withheld_cells": summary.get("insider_withheld_cells"),
        "recoding_passes": [p["published"] for p in summary.get("passes", [])],
        "generalisation": {
            q: {lv: round(v, 4) for lv, v in levels.items()}
            for q, levels in summary.get("generalisation", {}).items()
        },
    }
    with duckdb.connect(str(data / "research.duckdb"), read_only=True) as con:
        tables = {}
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where table_name like 'mart\\_%' escape '\\' "
            "and table_name in (select table_name from duckdb_columns() "
            "where column_name = 'is_suppressed')"
        ).fetchall():
            cells, published = con.execute(
                f'select count(*), count(*) filter (not is_suppressed) from "{name}"'
            ).fetchone()
            tables[name] = {"cells": cells, "published_share": round(published / cells, 4)}
        out["tables"] = tables
        # Groningen persons counted in published leaf cells (area below the gemeente, a year, a
        # level), per domain, against the Groningen total of that domain
        shares = con.execute(
            f"""
            with t as (select * from "{BRIDGE}"),
            total as (select domain, persons from t where area = ? and intake_year = 'Totaal'
                      and level = 'Totaal'),
            leaf as (select domain, sum(persons) as n from t
                     where not is_suppressed and intake_year <> 'Totaal' and level <> 'Totaal'
                       and area not like '{GEMEENTE_PREFIX}%'
                       and area not in ('Totaal', 'onbekend')
                     group by domain)
            select total.domain, coalesce(leaf.n, 0) / total.persons
            from total left join leaf using (domain) order by 1
            """,
            [GRONINGEN],
        ).fetchall()
        years = con.execute(
            f"""select count(distinct intake_year) from "{BRIDGE}" where area = ?
                and intake_year <> 'Totaal' and level = 'Totaal' and not is_suppressed""",
            [GRONINGEN],
        ).fetchone()[0]
    # only Groningen measures Bridge levels, so every sub-gemeente leaf of this table is one
    # of Groningen's stadsdelen (a second measuring organisation would need its parents here)
    out["groningen_persons_in_published_subarea_cells"] = {d: round(s, 4) for d, s in shares}
    year_share = summary.get("generalisation", {}).get("intake_year", {}).get("0", 0.0)
    published = summary.get("persons_out") or 0
    withheld = summary.get("suppressed_persons") or 0
    in_micro = year_share * (published + withheld) / published if published else 0.0
    out["goals"] = {
        "intake_year_as_year_share": round(in_micro, 4),
        "intake_year_goal_met": in_micro >= 0.8,
        "bridge_subarea_share_min": round(min((s for _, s in shares), default=0.0), 4),
        "bridge_subarea_goal_met": min((s for _, s in shares), default=0.0) >= 0.5,
        "trend_years": years,
        "trend_goal_met": years >= 4,
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    args = parser.parse_args(argv)
    print(json.dumps(figures(args.data), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
