"""Expectation suites for the raw landing exports (text columns exactly as delivered).

The raw layer is untouched text, dirt included: the adapters quarantine bad rows with a reason.
These suites therefore do not police rows; they catch a broken or wrong export (a file with
shifted or renamed columns, another organisation's file, a truncated download) with ``mostly``
thresholds that normal dirt (~0.5–1 % per rule, see FORMATS.md) stays well inside.

Per export (keyed by organisation and export name), derived from the export's contract
(:mod:`assets.raw.contracts`, :func:`raw_spec`): required columns present (extra columns
allowed), ids not null, code-list columns within their lists after trimming and case-folding,
Bridge levels and other small integers within range, dates, amounts and postcodes that look like
them, and the share of BSNs passing the 11-proef. Specs are plain data (:data:`RAW_SPECS`); GX
objects are only built when a suite is run.

Exports above :data:`SAMPLE_ROWS` rows are validated on a seeded random sample of that many rows
(the ``mostly`` shares are estimated to within ~0.2 percentage point, far inside the gap between
normal dirt and a broken export), plus every row whose id is empty so that the exact
``ID_MOSTLY = 1.0`` rule still sees every such row. Whole-table facts stay exact: the column set is
the export's own, the tolerances use the export's full row count, and the row count itself is
checked against the manifest by the conservation check. The details record ``rows`` (the
export) and ``validated_rows`` (what GX saw).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import polars as pl

from anonymise.bsn import is_valid_bsn, normalise_bsn
from assets.raw.contracts import CONTRACTS, ExportSpec
from assets.raw.contracts.model import LEVEL_RANGE, ints, names
from quality.outcome import CheckOutcome

CODE_MOSTLY = 0.95
"""Share of non-empty values that must be in their code list / pattern (dirt is ~0.5 %)."""
ID_MOSTLY = 1.0
"""Ids must always be present (an empty id means the file is not what we think it is)."""
BSN_MOSTLY = 0.95
"""Share of rows whose BSN passes the 11-proef (~0.5 % invalid or empty in real exports)."""

SAMPLE_ROWS = 25_000
"""Exports above this size are validated on a seeded sample of this many rows (see above)."""
SAMPLE_SEED = 20261123

BSN_VALID = "_bsn_valid"
"""Computed column: the row's BSN, normalised, passes the 11-proef."""

# Regexes use non-capturing groups only: pandas warns (UserWarning) on capturing groups in
# ``str.contains``, which GX uses, and the project turns warnings into errors.
DATE_PATTERN = r"^\d{1,4}[-/]\d{1,2}[-/]\d{1,4}$"  # dd-mm-yyyy, yyyy-mm-dd, d/m/yyyy, …
AMOUNT_PATTERN = (
    r"^-?(?:\d+|\d{1,3}(?:\.\d{3})+)(?:,\d+)?$|^-?\d+(?:\.\d+)?$"  # 1234 / 1.234,56 / 12.5
)
POSTCODE_PATTERN = r"^[1-9]\d{3}\s?(?:[a-z]{2})?$"  # PC6 or PC4, case-folded

KIND_PATTERNS: dict[str, str] = {
    "date": DATE_PATTERN,
    "amount": AMOUNT_PATTERN,
    "postcode": POSTCODE_PATTERN,
}
"""Contract column kind -> the regex its (case-folded) values must match."""
LEVELS = ints(LEVEL_RANGE)


@dataclass(frozen=True)
class RawSpec:
    """What a raw export must look like. Code lists are lower-case (values are case-folded)."""

    required: tuple[str, ...]
    ids: tuple[str, ...] = ()
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    levels: tuple[str, ...] = ()  # Bridge levels 1–5, empty = domain not scored
    patterns: dict[str, str] = field(default_factory=dict)  # column -> regex (case-folded text)
    bsn: str | None = None


def raw_spec(export: ExportSpec) -> RawSpec:
    """What the contract of ``export`` says its raw table must look like: every column of the
    header, the id and person key present, code lists, integer ranges (as lists of whole
    numbers), Bridge levels, dates, amounts, postcodes and lists by their patterns, the BSN."""
    codes: dict[str, tuple[str, ...]] = {}
    patterns: dict[str, str] = {}
    for c in export.columns:
        if c.kind == "code":
            codes[c.name] = c.codes
        elif c.kind == "integer" and c.range is not None:
            codes[c.name] = ints(c.range)
        elif c.kind in KIND_PATTERNS:
            patterns[c.name] = KIND_PATTERNS[c.kind]
        elif c.kind == "list":
            patterns[c.name] = c.pattern
    return RawSpec(
        required=export.header,
        ids=export.ids,
        codes=codes,
        levels=names(export.of_kind("level")),
        patterns=patterns,
        bsn=export.bsn or None,
    )


RAW_SPECS: Mapping[tuple[str, str], RawSpec] = MappingProxyType(
    {
        (org, export.name): raw_spec(export)
        for org, contract in CONTRACTS.items()
        for export in contract.exports
    }
)
"""(organisation, export) -> what the export must look like, from its contract
(:mod:`assets.raw.contracts`)."""


def _normalised(spec: RawSpec, df: pl.DataFrame) -> pl.DataFrame:
    """The frame GX sees: checked columns trimmed (codes also case-folded), empty -> null, plus
    ``_bsn_valid``. Columns not checked are kept as they are (their presence is checked)."""
    present = set(df.columns)
    folded = [c for c in (*spec.codes, *spec.levels, *spec.patterns) if c in present]
    trimmed = [c for c in spec.ids if c in present and c not in folded]

    def clean(c: str, fold: bool) -> pl.Expr:
        text = pl.col(c).cast(pl.String).str.strip_chars()
        text = text.str.to_lowercase() if fold else text
        return pl.when(text == "").then(None).otherwise(text).alias(c)

    out = df.with_columns([clean(c, True) for c in folded] + [clean(c, False) for c in trimmed])
    if spec.bsn and spec.bsn in present:
        out = out.with_columns(is_valid_bsn(normalise_bsn(pl.col(spec.bsn))).alias(BSN_VALID))
    return out


SMALL_FILE_ALLOWANCE = 10
"""Rows per rule a raw export may break regardless of its size. Ordinary dirt in a 50-row
export can exceed 5 % (3 unknown codes); a broken export breaks most rows, not ten."""


def tolerance(base: float, rows: int) -> float:
    """``mostly`` for an export of ``rows`` rows: ``base``, or lower for small exports so that
    up to :data:`SMALL_FILE_ALLOWANCE` bad rows never block it.

    >>> tolerance(0.95, 1_000_000), tolerance(0.95, 50), tolerance(1.0, 50)
    (0.95, 0.8, 1.0)
    """
    if base >= 1.0 or rows <= 0:
        return base
    return round(min(base, max(0.0, 1 - SMALL_FILE_ALLOWANCE / rows)), 6)


def raw_expectations(spec: RawSpec, columns: set[str], rows: int = 0) -> list[Any]:
    """The GX expectations for ``spec`` (per-column ones only for columns that are present: a
    missing column is reported once, by the column-set expectation). ``rows`` (the export's
    size) relaxes the code/pattern/BSN tolerances for small exports, see :func:`tolerance`."""
    from quality.gx_runtime import gxe

    x = gxe()
    code_mostly = tolerance(CODE_MOSTLY, rows)
    bsn_mostly = tolerance(BSN_MOSTLY, rows)
    out: list[Any] = [
        x.ExpectTableColumnsToMatchSet(
            column_set=list(spec.required), exact_match=False, meta={"rule": "required_columns"}
        )
    ]
    for c in spec.ids:
        if c in columns:
            out.append(
                x.ExpectColumnValuesToNotBeNull(
                    column=c, mostly=ID_MOSTLY, meta={"rule": "id_not_null"}
                )
            )
    for c, codes in spec.codes.items():
        if c in columns:
            out.append(
                x.ExpectColumnValuesToBeInSet(
                    column=c, value_set=list(codes), mostly=code_mostly, meta={"rule": "code_list"}
                )
            )
    for c in spec.levels:
        if c in columns:
            out.append(
                x.ExpectColumnValuesToBeInSet(
                    column=c, value_set=list(LEVELS), mostly=code_mostly, meta={"rule": "level"}
                )
            )
    for c, pattern in spec.patterns.items():
        if c in columns:
            out.append(
                x.ExpectColumnValuesToMatchRegex(
                    column=c, regex=pattern, mostly=code_mostly, meta={"rule": "pattern"}
                )
            )
    if spec.bsn and spec.bsn in columns:
        out.append(
            x.ExpectColumnValuesToBeInSet(
                column=BSN_VALID, value_set=[True], mostly=bsn_mostly, meta={"rule": "bsn_11_proef"}
            )
        )
    return out


def validate_raw(organisation: str, export: str, df: pl.DataFrame) -> CheckOutcome:
    """Validate one raw export (text columns as read by ``assets.raw.reader``).

    An export without a spec fails (so a new export cannot slip through unchecked).
    """
    spec = RAW_SPECS.get((organisation, export))
    name = f"raw_{organisation}__{export}"
    if spec is None:
        return CheckOutcome(
            False,
            f"{name}: no raw expectation suite is defined for this export.",
            {"suite": name, "known_exports": sorted(f"{o}/{e}" for o, e in RAW_SPECS)},
        )
    from quality.gx_runtime import validate_frame

    rows = df.height
    checked = df
    if rows > SAMPLE_ROWS:
        checked = sample_rows(spec, df)
    frame = _normalised(spec, checked)
    return validate_frame(
        frame,
        raw_expectations(spec, set(df.columns), rows),
        name=name,
        extra={"rows": rows, "validated_rows": frame.height},
    )


def sample_rows(spec: RawSpec, df: pl.DataFrame, n: int = SAMPLE_ROWS) -> pl.DataFrame:
    """A seeded sample of ``n`` rows plus every row with an empty id, in file order."""
    index = pl.int_range(pl.len(), dtype=pl.UInt32).alias("i")
    ids = [c for c in spec.ids if c in df.columns]
    empty = [
        pl.col(c).cast(pl.String).str.strip_chars().str.len_bytes().fill_null(0) == 0 for c in ids
    ]
    picked = (
        df.select(index, pl.any_horizontal(empty).alias("_e")).filter("_e").get_column("i")
        if empty
        else pl.Series("i", [], dtype=pl.UInt32)
    )
    drawn = df.select(index).get_column("i").sample(n=min(n, df.height), seed=SAMPLE_SEED)
    return df[pl.concat([picked, drawn]).unique().sort()]
