"""The landing export formats (assets/raw/formats.py) are the one list of each export's columns.

The adapters read the format minus the columns they never load (the privacy review below), the
raw suites require the whole format, and the synthetic generator writes it as the header.
"""

from __future__ import annotations

import subprocess
import sys
from fnmatch import fnmatch

import pytest

import synthetic
from assets.raw.formats import FORMATS, columns_read, export_columns
from assets.raw.suite import RAW_SPECS
from assets.staging.adapters import ADAPTERS

EVERY = object()
"""Marks an export the adapter reads no column of (only counted per file)."""

NEVER_READ: dict[tuple[str, str], tuple[str, ...] | object] = {
    ("groningen", "participants"): (
        "voornaam",
        "tussenvoegsel",
        "achternaam",
        "straat",
        "woonplaats",
        "email",
        "telefoon",
        "wij_dossiernummer",
        "buddy_id",
    ),
    ("groningen", "buddies"): EVERY,
    ("groningen", "measurements"): (),
    ("groningen", "goals"): ("doel", "actie", "uitdaging", "wie_helpt"),
    ("zuidplas", "registrations"): ("naam", "woonplaats", "notitie"),
    ("aalsmeer", "households"): ("woonsituatie", "ondersteuningsplan"),
    ("aalsmeer", "members"): ("voornaam", "achternaam", "verblijfstitel", "straat"),
    ("hengelo", "contacts"): ("naam", "telefoon", "email", "foto"),
    ("hengelo", "trajectories"): (),
    ("breda", "plans"): ("beroep", "werkverleden", "probleemomschrijving"),
}
"""The reviewed privacy intent: (organisation, export) -> the columns its adapter never loads.
Written out here, not taken from the adapters, so that reading one more identifier or free-text
column is a deliberate change to this table, not a silent one."""


def _specs() -> list[tuple[str, object]]:
    return [(org, spec) for org, module in ADAPTERS.items() for spec in module.EXPORTS]


def test_every_export_has_one_format() -> None:
    exports = [(org, spec.name) for org, spec in _specs()]
    assert len(exports) == len(set(exports))
    assert set(exports) == set(FORMATS) == set(RAW_SPECS) == set(NEVER_READ)
    for key, columns in FORMATS.items():
        assert len(columns) == len(set(columns)), key


@pytest.mark.parametrize(("organisation", "spec"), _specs(), ids=lambda v: getattr(v, "name", v))
def test_adapter_reads_the_format_minus_what_it_never_loads(organisation: str, spec) -> None:
    key = (organisation, spec.name)
    full = export_columns(*key)
    never = NEVER_READ[key]
    if spec.columns is None:  # None: the adapter reads every column
        assert never == (), key
        return
    assert all(c in full for c in spec.columns), (key, set(spec.columns) - set(full))
    assert len(spec.columns) == len(set(spec.columns)), key
    if never is EVERY:
        assert spec.columns == (), key
        return
    assert isinstance(never, tuple)
    assert spec.columns == columns_read(*key, without=never), key


def test_raw_suites_require_exactly_the_format() -> None:
    for key, spec in RAW_SPECS.items():
        assert spec.required == FORMATS[key], key


def test_synthetic_headers_are_the_format() -> None:
    # The synthetic file names are matched to exports by the adapters' file patterns.
    for org, files in synthetic.COLUMNS.items():
        specs = ADAPTERS[org].EXPORTS
        for name, header in files.items():
            (spec,) = [s for s in specs if fnmatch(name, s.pattern)]
            assert header == FORMATS[org, spec.name], f"{org}/{name}"
        assert len(files) == len(specs), org


def test_columns_read_refuses_a_column_not_in_the_format() -> None:
    with pytest.raises(ValueError, match=r"no column\(s\) \['berop'\]"):
        columns_read("breda", "plans", without=("berop",))
    with pytest.raises(ValueError, match="not the str"):
        columns_read("breda", "plans", without="beroep")
    with pytest.raises(ValueError, match="no landing format for breda/plannen"):
        export_columns("breda", "plannen")
    assert columns_read("breda", "plans") == FORMATS["breda", "plans"]


def test_formats_import_only_the_standard_library() -> None:
    # The synthetic generator imports the formats; it must not pull in the pipeline with them.
    code = (
        "import sys, assets.raw.formats, synthetic; "
        "print(sorted(m for m in ('dagster', 'duckdb', 'great_expectations', "
        "'assets.staging', 'quality') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
