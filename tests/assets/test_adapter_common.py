"""Shared adapter steps: dates, Dutch decimals, postcodes, codes, BSNs, duplicates, quarantine.

The helpers at the top (``adapt_fixture``, ``assert_adapter_invariants``) are used by every
``test_adapter_<organisation>.py``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.raw.reader import read_export
from assets.staging import schema
from assets.staging.adapters import ADAPTERS, common, conservation
from assets.staging.adapters.base import AdapterResult

LANDING = Path(__file__).resolve().parents[1] / "fixtures" / "landing"


def adapt_fixture(adapter: ModuleType) -> tuple[dict[str, pl.DataFrame], AdapterResult]:
    """Read the organisation's hand-written fixtures through the raw reader and adapt them."""
    raw = {
        spec.name: read_export(LANDING, adapter.ORGANISATION, spec).data for spec in adapter.EXPORTS
    }
    return raw, adapter.adapt(raw)


def episode_outcomes(result: AdapterResult) -> list[tuple]:
    """The staged episodes as (episode_id, source_person_id, programme, end_reason, outcome,
    objects_to_research) rows: what each adapter test pins per episode."""
    return (
        result.tables["episodes"]
        .select(
            "episode_id",
            "source_person_id",
            "programme",
            "end_reason",
            "outcome",
            "objects_to_research",
        )
        .rows()
    )


def assert_fixture_invariants(
    adapter: ModuleType, **expected: object
) -> tuple[dict[str, pl.DataFrame], AdapterResult]:
    """:func:`adapt_fixture`, then :func:`assert_adapter_invariants` with ``expected``
    (quarantine, duplicates, withheld); returns the raw frames and the result."""
    raw, result = adapt_fixture(adapter)
    assert_adapter_invariants(raw, result, **expected)  # type: ignore[arg-type]
    return raw, result


def assert_adapter_invariants(
    raw: dict[str, pl.DataFrame],
    result: AdapterResult,
    *,
    quarantine: dict[tuple[str, int], str],
    duplicates: dict[str, int],
    withheld: dict[str, int] | None = None,
) -> None:
    """Exact quarantine (file, row) -> rule, duplicate and withheld counts, balance per file,
    canonical schemas, and no raw value of a rejected row in its quarantine detail."""
    for entity, df in result.tables.items():
        assert df.schema == schema.conform(df, schema.ENTITIES[entity]).schema, entity
        assert df.schema == pl.Schema(schema.ENTITIES[entity]), entity
    assert result.quarantine.schema == pl.Schema(schema.QUARANTINE)
    got = {
        (r["source_file"], r["source_row"]): r["rule"]
        for r in result.quarantine.iter_rows(named=True)
    }
    assert result.quarantine.height == len(got)  # one row per rejected raw row
    assert got == quarantine
    dups = dict(zip(*result.duplicates.select("source_file", "removed_duplicates"), strict=True))
    assert {f: n for f, n in dups.items() if n} == duplicates
    held = dict(zip(*result.withheld.select("source_file", "withheld_rows"), strict=True))
    assert {f: n for f, n in held.items() if n} == (withheld or {})
    balance = conservation(raw, result)
    assert balance["balanced"].all(), balance
    files = {f for df in raw.values() for f in df["_source_file"].unique()}
    assert set(balance["source_file"]) == files
    # no personal data in quarantine: no value of the rejected row appears in its detail
    rows = pl.concat([df.select(pl.all().cast(pl.String)) for df in raw.values()], how="diagonal")
    for q in result.quarantine.iter_rows(named=True):
        row = rows.filter(
            (pl.col("_source_file") == q["source_file"])
            & (pl.col("_source_row") == str(q["source_row"]))
        ).row(0, named=True)
        values = {
            v.strip() for k, v in row.items() if v and not k.startswith("_") and len(v.strip()) > 3
        }
        assert not [v for v in values if v in q["detail"]], (q, values)


# --------------------------------------------------------------------------- helpers
def _one(expr: pl.Expr, values: list[str | None]) -> list:
    return pl.DataFrame({"x": values}, schema={"x": pl.String}).select(expr).to_series().to_list()


def test_registry_lists_the_five_organisations_in_order() -> None:
    assert list(ADAPTERS) == list(schema.ORGANISATIONS)
    for org, adapter in ADAPTERS.items():
        assert org == adapter.ORGANISATION and adapter.EXPORTS and callable(adapter.adapt)


def test_dates_in_every_accepted_format() -> None:
    values = ["05-03-2021", "5-3-2021", "2021-03-05", "05/03/2021", "5/3/2021", " 05-03-2021 "]
    assert _one(common.parse_date("x"), values) == [dt.date(2021, 3, 5)] * len(values)


@pytest.mark.parametrize(
    "value",
    [
        "31-02-2021",
        "2021-02-31",
        "31/2/2021",
        "n.b.",
        "2021/13/01",
        "00-00-0000",
        "01-02-21",
        "0021-02-01",
        "onbekend",
    ],
)
def test_impossible_or_junk_dates_are_not_dates(value: str) -> None:
    assert _one(common.parse_date("x"), [value]) == [None]


def test_date_formats_can_be_restricted() -> None:
    assert _one(common.parse_date("x", ("yyyy-mm-dd",)), ["05-03-2021", "2021-03-05"]) == [
        None,
        dt.date(2021, 3, 5),
    ]


def test_date_field_rules() -> None:
    df = pl.DataFrame({"d": ["01-02-2021", "31-02-2021", None, "  "]})
    field = common.date_field("d", "_d", required=True)
    out = common.parse(df, [field])
    assert out["_rule"].to_list() == [None, "date_unparseable", "date_missing", "date_missing"]
    optional = common.parse(df, [common.date_field("d", "_d")])
    assert optional["_rule"].to_list() == [None, "date_unparseable", None, None]


def test_dutch_decimals() -> None:
    values = [
        "1.234,56",
        "-12,5",
        "250,00",
        "1234",
        "1.234",
        "1.234.567,89",
        "€ 15",
        "12.5",
        "abc",
        "1,2,3",
        None,
    ]
    assert _one(common.parse_amount("x"), values) == [
        1234.56,
        -12.5,
        250.0,
        1234.0,
        1234.0,
        1234567.89,
        15.0,
        12.5,
        None,
        None,
        None,
    ]


def test_postcodes_normalised_and_pc4_or_invalid_dropped() -> None:
    values = ["9711 AB", "9711ab", " 9711  Ab ", "9711", "0711AB", "97111AB", None]
    assert _one(common.postcode("x"), values) == [
        "9711AB",
        "9711AB",
        "9711AB",
        None,
        None,
        None,
        None,
    ]


def test_code_mapping_unknown_and_empty() -> None:
    df = pl.DataFrame({"g": ["M", " v ", "x", "O", None, ""]})
    out = common.parse(df, [common.code_field("g", "_g", {"m": "man", "v": "vrouw", "x": None})])
    assert out["_g"].to_list() == ["man", "vrouw", None, None, None, None]
    assert out["_rule"].to_list() == [None, None, None, "unknown_code", None, None]
    required = common.parse(df, [common.code_field("g", "_g", {"m": "man"}, required=True)])
    assert required["_rule"].to_list()[-2:] == ["code_missing", "code_missing"]


def test_bsn_rules() -> None:
    df = pl.DataFrame(
        {"bsn": ["111222333", " 12345678 ", "123456789", "1234567890", "12a456789", None]}
    )
    out = common.parse(df, [common.bsn_field()])
    assert out["_bsn"].to_list()[:2] == ["111222333", "012345678"]
    assert out["_rule"].to_list() == [
        None,
        "bsn_11_proef",
        "bsn_11_proef",
        "bsn_11_proef",
        "bsn_11_proef",
        "bsn_missing",
    ]


def test_nationality_groups() -> None:
    values = ["Nederlandse", " poolse", "Belgische", "Turkse", "Oekraïense", "onbekend", None]
    assert _one(common.nationality_group("x"), values) == [
        "nederlands",
        "eu",
        "eu",
        "buiten_eu",
        "buiten_eu",
        None,
        None,
    ]


def test_dedupe_keeps_first_and_counts_per_file() -> None:
    df = pl.DataFrame(
        {
            "a": ["1", "1", "1", None, None, "1"],
            "b": ["x", "x", "y", None, None, "x"],
            "_source_file": ["f1"] * 5 + ["f2"],
            "_source_row": [1, 2, 3, 4, 5, 1],
        }
    )
    kept, dups = common.dedupe(df, "org")
    assert kept["_source_row"].to_list() == [1, 3, 4, 1]
    assert_frame_equal(
        dups,
        pl.DataFrame(
            {
                "organisation": ["org", "org"],
                "source_file": ["f1", "f2"],
                "removed_duplicates": [2, 0],
            }
        ),
    )


def test_first_rule_by_priority_and_quarantine_rows() -> None:
    df = pl.DataFrame(
        {
            "bsn": [None, "111222333", "111222333"],
            "d": ["n.b.", "n.b.", "01-01-2021"],
            "_source_file": ["o/f.csv"] * 3,
            "_source_row": [1, 2, 3],
        }
    )
    out = common.parse(df, [common.date_field("d", "_d"), common.bsn_field()])
    kept, q = common.split(out, "org", "persons")
    assert kept["_source_row"].to_list() == [3]
    assert q["rule"].to_list() == ["bsn_missing", "date_unparseable"]
    assert q["detail"].to_list()[1] == "column 'd' is not a date in any accepted format"
    assert q.schema == pl.Schema(schema.QUARANTINE)


def test_orphans_refer_to_staged_parents_only() -> None:
    df = pl.DataFrame({"p": ["A", " a", "B", None]})
    out = common.parse(
        df, [common.id_field("p", "_p")], [common.orphan("p", "_p", pl.Series(["A"]), "parent")]
    )
    assert out["_rule"].to_list() == [None, None, "orphan_reference", "id_missing"]
