"""Generalisation hierarchies of the person-level record (ARX format: each level a function of the
one below, deterministic in the value; only which values occur comes from the data).

Code groupings are data (``hierarchies/*.csv``); the hierarchies built here are those whose
levels follow from the value's own structure: age bands, intake-year blocks, and the episode
signature ``org/programme/year/end reason/duration + …``:

| level | the person's episodes as | example |
|---|---|---|
| 0 | every episode: year, end reason, duration band | ``groningen/kansrijk/2023/completed/12-23`` |
| 1 | organisation, programme and end reason | ``groningen/kansrijk/completed`` |
| 2 | organisation and programme | ``groningen/kansrijk + zuidplas/geldzaken`` |
| 3 | the organisations | ``groningen+zuidplas`` |
| 4 | how many organisations | ``2+ organisaties`` |
| 5 | ``*`` | |
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from anonymise import Hierarchy
from assets.anonymised.config import HIERARCHY_DIR, AnonymisationConfig
from assets.anonymised.record import EPISODE_SEP, ITEM_SEP, UNKNOWN

TOP = "*"


def load_grouping(name: str) -> dict[str, str]:
    """A code grouping (``hierarchies/<name>.csv``: value;group;*) as value -> group."""
    with (HIERARCHY_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return {row[0]: row[1] for row in csv.reader(f, delimiter=";") if row}


def grouping_hierarchy(name: str, path: Path | None = None) -> Hierarchy:
    """The hierarchy of a code grouping CSV."""
    return Hierarchy.from_csv(path or HIERARCHY_DIR / f"{name}.csv", name=name)


def signature_levels(signature: str) -> tuple[str, ...]:
    """The signature's value at every level (module docstring table).

    >>> signature_levels("groningen/kansrijk/2023/completed/12-23 + zuidplas/geldzaken/2024/"
    ...                  "ongoing/lopend")[1:]
    ('groningen/kansrijk/completed + zuidplas/geldzaken/ongoing', \
'groningen/kansrijk + zuidplas/geldzaken', 'groningen+zuidplas', '2+ organisaties', '*')
    """
    if signature == UNKNOWN:
        return (UNKNOWN,) * 5 + (TOP,)
    items = [i.split(ITEM_SEP) for i in signature.split(EPISODE_SEP)]
    l1 = EPISODE_SEP.join(sorted(ITEM_SEP.join((i[0], i[1], i[3])) for i in items))
    l2 = EPISODE_SEP.join(sorted(ITEM_SEP.join((i[0], i[1])) for i in items))
    orgs = sorted({i[0] for i in items})
    l3 = "+".join(orgs)
    l4 = "1 organisatie" if len(orgs) == 1 else "2+ organisaties"
    return (signature, l1, l2, l3, l4, TOP)


def signature_hierarchy(signatures: Iterable[str]) -> Hierarchy:
    """The hierarchy of the signatures that occur (plus ``onbekend``)."""
    values = sorted({*signatures, UNKNOWN})
    return Hierarchy([signature_levels(s) for s in values], name="episodes")


def intake_year_hierarchy(years: Iterable[str]) -> Hierarchy:
    """Year -> two-year block -> four-year block -> ``*`` (+ ``onbekend``).

    >>> intake_year_hierarchy(["2021", "2024"]).rows
    (('2021', '2020-2021', '2020-2023', '*'), ('2024', '2024-2025', '2024-2027', '*'), \
('onbekend', 'onbekend', 'onbekend', '*'))
    """
    rows = []
    for y in sorted({y for y in years if y != UNKNOWN}):
        n = int(y)
        b2, b4 = n - n % 2, n - n % 4
        rows.append((y, f"{b2}-{b2 + 1}", f"{b4}-{b4 + 3}", TOP))
    rows.append((UNKNOWN, UNKNOWN, UNKNOWN, TOP))
    return Hierarchy(rows, name="intake_year")


def age_hierarchy(config: AnonymisationConfig) -> Hierarchy:
    """Single years -> the configured band widths -> ``*`` (+ ``onbekend``)."""
    age = Hierarchy.intervals(
        range(0, config.max_age + 1), widths=config.age_widths, name="age_at_intake"
    )
    return Hierarchy([*age.rows, (UNKNOWN,) * (age.height - 1) + (TOP,)], name="age_at_intake")


def build_hierarchies(
    config: AnonymisationConfig,
    *,
    intake_years: Iterable[str] = (),
    signatures: Iterable[str] = (),
) -> dict[str, Hierarchy]:
    """Every quasi-identifier's hierarchy: code groupings and ``area`` from their CSV files
    (``hierarchies/``, or the file ``[anonymisation] hierarchy_files`` names), the rest built
    from the values that occur."""
    out = {
        "age_at_intake": age_hierarchy(config),
        "intake_year": intake_year_hierarchy(intake_years),
        "episodes": signature_hierarchy(signatures),
    }
    for name in ("gender", "household_type", "children_band", "nationality_group"):
        out[name] = grouping_hierarchy(name)
    for qi in (*out, "area"):
        path = config.hierarchy_path(qi)
        if path is not None:
            out[qi] = Hierarchy.from_csv(path, name=qi)
    return out


def area_levels(config: AnonymisationConfig) -> Hierarchy:
    """The area hierarchy (PC4 -> wijk -> stadsdeel/kern -> gemeente -> ``*``)."""
    path = config.hierarchy_path("area")
    assert path is not None  # the config requires it
    return Hierarchy.from_csv(path, name="area")


def configured_vocabulary(config: AnonymisationConfig) -> dict[str, frozenset[str]]:
    """Per quasi-identifier with a hierarchy file, the values of its generalised levels (level
    1 and up): the steward's own vocabulary (wijk, kern and gemeente names, code groups), not
    values from an export, so the identifier scan does not take "Nieuwerkerk aan den IJssel"
    for free text. The leaves (level 0, e.g. PC4 codes) are not included: they are scanned."""
    out: dict[str, frozenset[str]] = {}
    for qi in ("area", "gender", "household_type", "children_band", "nationality_group"):
        path = config.hierarchy_path(qi) or HIERARCHY_DIR / f"{qi}.csv"
        if not path.exists():
            continue
        rows = Hierarchy.from_csv(path, name=qi).rows
        out[qi] = frozenset(v for row in rows for v in row[1:])
    return out
