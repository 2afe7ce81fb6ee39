"""Shared, vectorised mapping steps for the organisation adapters.

An adapter reads its raw frames (all text, plus ``_source_file``/``_source_row``), removes exact
duplicate rows, parses each column it maps into a working column (``Field``: a polars expression
plus the ``Check`` s that reject the row), marks every row with the first rule it violates
(``flag``), splits rejected rows off into quarantine rows (``split``) and selects the canonical
columns of the rows that remain.

Rules and their detail sentences live in ``RULES``; a detail names the file column and the rule,
never the rejected value (no personal data in quarantine, logs or exception messages).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from anonymise.bsn import is_valid_bsn, normalise_bsn
from assets.raw.contracts.model import AGE_RANGE, ExportSpec
from assets.staging import schema

# The raw reader's lineage columns (assets.raw.reader; not imported, so that the adapters need
# no file reading).
SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"

RULE = "_rule"
DETAIL = "_detail"
DUPLICATE = "_duplicate"
"""Optional raw column: the row exactly repeats an earlier row of its file (computed over every
export column when staging loads raw rows; see :func:`dedupe`)."""

RULES: dict[str, str] = {
    "id_missing": "column '{column}' is empty but the row's identifier is required",
    "duplicate_id": "column '{column}' repeats the identifier of an earlier, different row",
    "orphan_reference": "column '{column}' refers to a {parent} that is missing or quarantined",
    "bsn_missing": "column '{column}' is empty but a BSN is required",
    "bsn_11_proef": "column '{column}' is not a 9-digit BSN passing the 11-proef",
    "code_missing": "column '{column}' is empty but a code is required",
    "unknown_code": "column '{column}' holds a code that is not in the code list",
    "date_missing": "column '{column}' is empty but a date is required",
    "date_unparseable": "column '{column}' is not a date in any accepted format",
    "date_in_future": "column '{column}' holds a date after the day the run started",
    "number_unparseable": "column '{column}' is not a whole number",
    "age_out_of_range": "column '{column}' holds an age outside 0-120 years",
    "count_out_of_range": "column '{column}' holds a count outside its plausible range",
    "amount_unparseable": "column '{column}' is not an amount in euros",
    "level_out_of_range": "column '{column}' holds a Bridge level outside 1-5",
    "confidence_out_of_range": "column '{column}' holds a confidence outside 1-10",
    "amount_negative": "column '{column}' holds a negative amount",
    "end_before_start": "column '{column}' holds a date before the start date",
    "birth_after_start": "column '{column}' holds a birth date after the start of support",
    "scores_missing": "columns {column} are all empty: the measurement scores no domain",
    "applicant_missing": "column '{column}' names a case without a valid applicant in {parent}",
    "applicant_duplicate": "column '{column}' names a case that already has an applicant",
}
"""Quarantine rules in priority order (the first violated rule is reported) -> detail sentence."""

DATE_FORMATS: dict[str, tuple[str, str]] = {
    "dd-mm-yyyy": (r"^\d{2}-\d{2}-\d{4}$", "%d-%m-%Y"),
    "d-m-yyyy": (r"^\d{1,2}-\d{1,2}-\d{4}$", "%d-%m-%Y"),
    "yyyy-mm-dd": (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d"),
    "dd/mm/yyyy": (r"^\d{2}/\d{2}/\d{4}$", "%d/%m/%Y"),
    "d/m/yyyy": (r"^\d{1,2}/\d{1,2}/\d{4}$", "%d/%m/%Y"),
}
"""Accepted date formats: name -> (shape the text must have, strptime format)."""
ALL_DATE_FORMATS: tuple[str, ...] = tuple(DATE_FORMATS)
YEAR_RANGE = (1900, 2100)
"""Dates outside these years are typing errors ("0000-00-00", "0021-02-01"): not a date."""


def run_date() -> dt.date:
    """The day the run started: a date after it is a typing error (``date_in_future``)."""
    return dt.date.today()


YES_NO: dict[str, bool] = {"ja": True, "nee": False, "j": True, "n": False}

EU_NATIONALITIES: frozenset[str] = frozenset(
    {
        "belgische",
        "bulgaarse",
        "cypriotische",
        "deense",
        "duitse",
        "estse",
        "estlandse",
        "finse",
        "franse",
        "griekse",
        "hongaarse",
        "ierse",
        "italiaanse",
        "kroatische",
        "letse",
        "litouwse",
        "luxemburgse",
        "maltese",
        "oostenrijkse",
        "poolse",
        "portugese",
        "roemeense",
        "sloveense",
        "slowaakse",
        "spaanse",
        "tsjechische",
        "zweedse",
    }
)
"""Dutch adjectives of the other 26 EU member states' nationalities (case-folded)."""
UNKNOWN_NATIONALITY: frozenset[str] = frozenset({"onbekend", "n.b.", "nb", "?"})


@dataclass(frozen=True)
class Check:
    """A row is rejected with ``rule`` when ``violated`` is true (null counts as false).

    ``violated`` is an expression, or a function of the whole frame returning one boolean per
    row (for rules an expression computes slowly, such as a repeated identifier).
    """

    rule: str
    column: str  # the export column (or columns) the detail names
    violated: pl.Expr | Callable[[pl.DataFrame], pl.Series]
    parent: str = ""  # what an orphan refers to, e.g. "participant in deelnemers.csv"

    def detail(self) -> str:
        return RULES[self.rule].format(column=self.column, parent=self.parent)


@dataclass(frozen=True)
class Field:
    """A parsed working column (``value``, aliased) and the checks on it.

    With a ``source``, ``value`` and every check that reads only ``source`` and the value are
    computed once per distinct source value (:func:`parse`): they must be row-wise expressions
    (no window, no aggregate), as every field constructor here makes them.
    """

    value: pl.Expr
    checks: tuple[Check, ...] = ()
    source: str | None = None  # the one column ``value`` depends on: computed per distinct value


# --------------------------------------------------------------------------- text
def text(column: str) -> pl.Expr:
    """The column trimmed; empty (or only whitespace) becomes null."""
    s = pl.col(column).str.strip_chars()
    return pl.when(s.str.len_bytes() > 0).then(s)


def code(column: str) -> pl.Expr:
    """Trimmed, case-folded, inner whitespace collapsed: the form codes are matched in."""
    s = pl.col(column).str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(s.str.len_bytes() > 0).then(s)


def ident(column: str) -> pl.Expr:
    """An identifier: trimmed and upper-cased (exports carry "kg-0000123 ")."""
    return text(column).str.to_uppercase()


def id_field(column: str, alias: str) -> Field:
    """A required identifier (``id_missing`` when empty)."""
    return Field(
        ident(column).alias(alias), (Check("id_missing", column, pl.col(alias).is_null()),)
    )


def duplicate_id(column: str, alias: str) -> Check:
    """Rows after the first with the same identifier (not exact duplicates: those are gone)."""
    return Check("duplicate_id", column, lambda df: later_repeats(df.get_column(alias)))


def later_repeats(values: pl.Series) -> pl.Series:
    """True for a non-null value that an earlier row already holds (``~is_first_distinct``,
    exact): hash first, then compare the values only among the rows whose hash repeats."""
    maybe = repeated(values.hash(seed=0)) & values.is_not_null()
    out = pl.repeat(False, values.len(), eager=True)
    if maybe.any():
        positions = maybe.arg_true()
        later = ~values.gather(positions).is_first_distinct()
        out = out.scatter(positions.filter(later), True)
    return out


def orphan(column: str, alias: str, parents: pl.Series, parent: str) -> Check:
    """Rows whose parent id (already in ``alias``) is empty or not among the staged ``parents``."""
    return Check(
        "orphan_reference",
        column,
        ~pl.col(alias).is_in(parents.implode()).fill_null(False),
        parent=parent,
    )


# --------------------------------------------------------------------------- codes
def map_code(column: str, mapping: Mapping[str, object], dtype: pl.DataType) -> pl.Expr:
    """The code mapped through ``mapping`` (keys case-folded); unknown or empty -> null."""
    keys = {str(k).lower(): v for k, v in mapping.items()}
    return code(column).replace_strict(keys, default=None, return_dtype=dtype)


def code_field(
    column: str,
    alias: str,
    mapping: Mapping[str, object],
    *,
    required: bool = False,
    dtype: pl.DataType | None = None,
) -> Field:
    """A coded column: unknown non-empty code -> ``unknown_code``; empty -> null (or
    ``code_missing`` when required)."""
    dtype = dtype or pl.String()
    present = code(column).is_not_null()
    known = code(column).is_in([str(k).lower() for k in mapping])  # a code may map to null
    checks = [Check("unknown_code", column, present & ~known)]
    if required:
        checks.append(Check("code_missing", column, ~present))
    return Field(map_code(column, mapping, dtype).alias(alias), tuple(checks), source=column)


def yes_no_field(column: str, alias: str) -> Field:
    """ja/nee (or J/N) -> Boolean; empty -> null."""
    return code_field(column, alias, YES_NO, dtype=pl.Boolean())


def nationality_group(column: str) -> pl.Expr:
    """Nationality text -> NATIONALITY_GROUPS: Nederlandse, EU member state, or other."""
    c = code(column)
    return (
        pl.when(c.is_null() | c.is_in(sorted(UNKNOWN_NATIONALITY)))
        .then(None)
        .when(c.is_in(["nederlandse", "nederlands", "nl"]))
        .then(pl.lit("nederlands"))
        .when(c.is_in(sorted(EU_NATIONALITIES)))
        .then(pl.lit("eu"))
        .otherwise(pl.lit("buiten_eu"))
    )


# --------------------------------------------------------------------------- dates
def parse_date(column: str, formats: Sequence[str] = ALL_DATE_FORMATS) -> pl.Expr:
    """Text in any of ``formats`` (names of DATE_FORMATS) -> Date; anything else -> null.

    Impossible dates ("31-02-2021") and junk become null; text whose year falls outside
    YEAR_RANGE (e.g. "01-02-21" read as year 21) is not a date either.
    """
    s = pl.col(column).str.strip_chars()
    patterns = list(dict.fromkeys(DATE_FORMATS[f][1] for f in formats))
    parsed = [s.str.to_date(fmt, strict=False) for fmt in patterns]
    d = pl.coalesce(parsed) if len(parsed) > 1 else parsed[0]
    year = d.dt.year()
    return pl.when((year >= YEAR_RANGE[0]) & (year <= YEAR_RANGE[1])).then(d)


def date_field(
    column: str,
    alias: str,
    formats: Sequence[str] = ALL_DATE_FORMATS,
    *,
    required: bool = False,
) -> Field:
    """A date: unparseable -> ``date_unparseable``; after the run's date -> ``date_in_future``;
    empty -> null (``date_missing`` if required)."""
    present = text(column).is_not_null()
    checks = [
        Check("date_unparseable", column, present & pl.col(alias).is_null()),
        Check("date_in_future", column, pl.col(alias) > pl.lit(run_date())),
    ]
    if required:
        checks.append(Check("date_missing", column, ~present))
    return Field(parse_date(column, formats).alias(alias), tuple(checks), source=column)


def span_fields(export: ExportSpec) -> list[Field]:
    """An episode's span as every export delivers it: ``startdatum`` (required) -> ``_start``
    and ``einddatum`` -> ``_end``, in the date formats of the export's contract."""
    return [
        date_field("startdatum", "_start", export.dates("startdatum"), required=True),
        date_field("einddatum", "_end", export.dates("einddatum")),
    ]


def span_columns() -> list[pl.Expr]:
    """The canonical ``start_date``, ``end_date``, ``end_reason`` and ``objects_to_research`` of
    an episode from ``_start``, ``_end`` (:func:`span_fields`), ``_reason`` and ``_objects``."""
    return [
        pl.col("_start").alias("start_date"),
        pl.col("_end").alias("end_date"),
        end_reason("_end", "_reason").alias("end_reason"),
        pl.col("_objects").alias("objects_to_research"),
    ]


def end_before_start(column: str, end: str, start: str) -> Check:
    """The end date (working column ``end``) lies before the start (``start``)."""
    return Check("end_before_start", column, pl.col(end) < pl.col(start))


def birth_after_start(column: str, birth: str, start: str) -> Check:
    """The birth date (working column ``birth``) lies after the start of support (``start``)."""
    return Check("birth_after_start", column, pl.col(birth) > pl.col(start))


def age_at_start_out_of_range(column: str, birth: str, start: str) -> Check:
    """Born more than AGE_RANGE[1] years before the start of support (``age_out_of_range``)."""
    years = pl.col(start).dt.year() - pl.col(birth).dt.year()
    return Check("age_out_of_range", column, years > AGE_RANGE[1] + 1)


# --------------------------------------------------------------------------- numbers
def parse_int(column: str) -> pl.Expr:
    """A whole number ("3", " 03 ") -> Int64; anything else -> null."""
    return pl.col(column).str.strip_chars().cast(pl.Int64, strict=False)


def int_field(
    column: str,
    alias: str,
    lo: int,
    hi: int,
    *,
    rule: str = "number_unparseable",
    range_rule: str | None = None,
) -> Field:
    """A whole number within [lo, hi] (every integer field is bounded: an unbounded one would
    fail the canonical cast, and its error would print the value). Non-empty text that is not
    a whole number -> ``rule``; outside [lo, hi] -> ``range_rule`` (default: ``rule``)."""
    unparseable = text(column).is_not_null() & pl.col(alias).is_null()
    outside = (pl.col(alias) < lo) | (pl.col(alias) > hi)
    if range_rule is None or range_rule == rule:
        return Field(parse_int(column).alias(alias), (Check(rule, column, unparseable | outside),))
    return Field(
        parse_int(column).alias(alias),
        (Check(rule, column, unparseable), Check(range_rule, column, outside)),
    )


def parse_amount(column: str) -> pl.Expr:
    """A Dutch decimal ("1.234,56", "-12,5", "€ 1234") or plain ("1234.56") amount -> Float64."""
    s = text(column).str.replace_all(r"[\s€]", "")
    s = (
        pl.when(s.str.contains(","))
        .then(s.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
        .when(s.str.contains(r"^[+-]?\d{1,3}(\.\d{3})+$"))  # "1.234": thousands separators
        .then(s.str.replace_all(".", "", literal=True))
        .otherwise(s)
    )
    return pl.when(s.str.contains(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")).then(
        s.cast(pl.Float64, strict=False)
    )


def amount_field(column: str, alias: str, *, non_negative: bool = True) -> Field:
    """An amount in euros: unparseable -> ``amount_unparseable``; < 0 -> ``amount_negative``."""
    checks = [
        Check("amount_unparseable", column, text(column).is_not_null() & pl.col(alias).is_null())
    ]
    if non_negative:
        checks.append(Check("amount_negative", column, pl.col(alias) < 0))
    return Field(parse_amount(column).alias(alias), tuple(checks))


# --------------------------------------------------------------------------- identifiers
def bsn_field(column: str = "bsn", alias: str = "_bsn") -> Field:
    """A required BSN, normalised (anonymise.bsn); empty -> ``bsn_missing``; wrong length,
    letters or failing the 11-proef -> ``bsn_11_proef``."""
    present = text(column).is_not_null()
    return Field(
        normalise_bsn(pl.col(column)).alias(alias),
        (
            Check("bsn_missing", column, ~present),
            Check("bsn_11_proef", column, present & ~is_valid_bsn(pl.col(alias))),
        ),
    )


def postcode(column: str) -> pl.Expr:
    """ "9711 ab" -> "9711AB"; PC4-only or invalid postcodes -> null (not an error)."""
    s = pl.col(column).str.to_uppercase().str.replace_all(r"\s+", "")
    return pl.when(s.str.contains(r"^[1-9]\d{3}[A-Z]{2}$")).then(s)


def house_number_from_address(column: str) -> pl.Expr:
    """The house number (with addition) at the end of a one-line address ("Dorpsstraat 12a")."""
    return text(column).str.extract(r"\s(\d+(?:\s?[-/]?\s?[A-Za-z0-9]{1,4})?)$", 1)


# --------------------------------------------------------------------------- rows
def data_columns(df: pl.DataFrame) -> list[str]:
    """The export's own columns (no lineage, no duplicate flag)."""
    return [c for c in df.columns if c not in (SOURCE_FILE, SOURCE_ROW, DUPLICATE)]


def source_files(df: pl.DataFrame) -> pl.Series:
    """The distinct source files of a raw frame."""
    return df.get_column(SOURCE_FILE).unique(maintain_order=True)


def row_hash(columns: Sequence[str]) -> pl.Expr:
    """A 64-bit hash of each row's values in ``columns`` (nulls hash alike), combined from the
    columns' own hashes: they are computed in parallel, a struct's hash on one thread."""
    hashes = [pl.col(c).hash(seed=i) for i, c in enumerate(columns)]
    return pl.reduce(lambda acc, h: acc * 1_000_003 + h, hashes)


def repeated(values: pl.Series) -> pl.Series:
    """True where the value occurs more than once (``is_duplicated`` through a sort: several
    times faster on tens of millions of hashes)."""
    ordered = values.sort()
    repeats = ordered.filter((ordered == ordered.shift(1)) | (ordered == ordered.shift(-1)))
    if repeats.is_empty():
        return pl.repeat(False, values.len(), eager=True)
    return values.is_in(repeats.unique().implode())


def dedupe(df: pl.DataFrame, organisation: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Drop exact duplicate rows per file (every data column equal, first kept).

    Returns the remaining rows and a DUPLICATES frame with one row per source file.

    When ``df`` carries a ``_duplicate`` column (staging loads raw rows with it, computed by
    DuckDB over every export column, also those the adapter does not read), that flag decides;
    it is dropped from the result.
    """
    if DUPLICATE in df.columns:
        dropped = (
            df.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i"), SOURCE_FILE, DUPLICATE)
            .filter(pl.col(DUPLICATE))
            .drop(DUPLICATE)
        )
        df = df.drop(DUPLICATE)
    else:
        columns = [SOURCE_FILE, *data_columns(df)]
        # Hash first (cheap); compare whole rows only among rows whose hash repeats, and address
        # rows by position (no join over the whole frame).
        maybe = repeated(df.select(row_hash(columns)).to_series())
        candidates = (
            df.with_row_index("_i")
            .filter(maybe)
            .select("_i", SOURCE_FILE, pl.struct(columns).is_first_distinct().alias("_first"))
        )
        dropped = candidates.filter(~pl.col("_first"))
    files = source_files(df)
    removed = dropped.group_by(SOURCE_FILE).agg(pl.len().cast(pl.Int64).alias("removed_duplicates"))
    counts = (
        pl.DataFrame({SOURCE_FILE: files.cast(pl.String)})
        .join(removed, on=SOURCE_FILE, how="left", maintain_order="left")
        .select(
            pl.lit(organisation).alias("organisation"),
            pl.col(SOURCE_FILE).alias("source_file"),
            pl.col("removed_duplicates").fill_null(0),
        )
    )
    if dropped.height:
        keep = ~pl.int_range(pl.len(), dtype=pl.UInt32).is_in(dropped.get_column("_i").implode())
        df = df.filter(keep)
    return df, schema.conform(counts, schema.DUPLICATES)


def flag(df: pl.DataFrame, checks: Iterable[Check]) -> pl.DataFrame:
    """Mark each row with the first rule it violates (RULES order) in ``_rule``/``_detail``.

    Rows already marked by an earlier call keep their rule: call own-row checks first and
    cross-file checks (a parent quarantined because of its own children) afterwards.
    """
    priority = {r: i for i, r in enumerate(RULES)}
    ordered = sorted(checks, key=lambda c: priority[c.rule])  # stable within one rule
    computed = {
        f"_check_{i}": k.violated(df) for i, k in enumerate(ordered) if callable(k.violated)
    }
    if computed:
        df = df.with_columns(**computed)
    violated = [
        pl.col(f"_check_{i}") if callable(k.violated) else k.violated for i, k in enumerate(ordered)
    ]
    # The first violated check's position: an integer per check, the smallest wins (the checks
    # are evaluated in parallel; far cheaper than a string chain on millions of rows).
    index: pl.Expr = pl.min_horizontal(
        pl.lit(None, pl.UInt16),
        *[pl.when(v.fill_null(False)).then(pl.lit(i, pl.UInt16)) for i, v in enumerate(violated)],
    )
    rules = {i: k.rule for i, k in enumerate(ordered)}
    details = {i: k.detail() for i, k in enumerate(ordered)}
    df = df.with_columns(index.alias("_index"))
    rule = pl.col("_index").replace_strict(rules, default=None, return_dtype=pl.String)
    detail = pl.col("_index").replace_strict(details, default=None, return_dtype=pl.String)
    if RULE in df.columns:
        rule = pl.coalesce(pl.col(RULE), rule)
        detail = pl.when(pl.col(RULE).is_not_null()).then(pl.col(DETAIL)).otherwise(detail)
    return df.with_columns(rule.alias(RULE), detail.alias(DETAIL)).drop("_index", *computed)


def split(df: pl.DataFrame, organisation: str, entity: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows without a rule, QUARANTINE rows for the rows with one)."""
    if RULE not in df.columns:
        return df, schema.empty(schema.QUARANTINE)
    bad = pl.col(RULE).is_not_null()
    quarantine = df.filter(bad).select(
        pl.lit(organisation).alias("organisation"),
        pl.col(SOURCE_FILE).alias("source_file"),
        pl.col(SOURCE_ROW).alias("source_row"),
        pl.lit(entity).alias("entity"),
        pl.col(RULE).alias("rule"),
        pl.col(DETAIL).alias("detail"),
    )
    return df.filter(~bad).drop(RULE, DETAIL), schema.conform(quarantine, schema.QUARANTINE)


def parse(df: pl.DataFrame, fields: Iterable[Field], extra: Iterable[Check] = ()) -> pl.DataFrame:
    """Add the fields' working columns, then flag rows by their checks and ``extra``.

    A field with a ``source`` column (dates, codes: few distinct values) is parsed once per
    distinct value, and so are those of its checks that read only that column and the field's
    own value; both are then looked up for every row.
    """
    fields = list(fields)
    looked_up: list[pl.Series] = []
    checks: list[Check] = []
    computed: list[str] = []
    for f in fields:
        if f.source is None:
            checks += f.checks
            continue
        distinct = df.select(pl.col(f.source).unique()).with_columns(f.value)
        name = distinct.columns[-1]
        local: dict[str, pl.Expr] = {}
        for k in f.checks:
            if not callable(k.violated) and set(k.violated.meta.root_names()) <= {f.source, name}:
                column = f"_check_{name}_{len(local)}"
                local[column] = k.violated.fill_null(False)
                checks.append(Check(k.rule, k.column, pl.col(column), parent=k.parent))
            else:
                checks.append(k)
        distinct = distinct.with_columns(**local)
        # Only the source column is joined; the values are then added to the whole frame.
        joined = df.select(f.source).join(
            distinct, on=f.source, how="left", maintain_order="left", nulls_equal=True
        )
        looked_up += [joined.get_column(c) for c in (name, *local)]
        computed += list(local)
    if looked_up:
        df = df.with_columns(looked_up)
    df = df.with_columns([f.value for f in fields if f.source is None])
    return flag(df, checks + list(extra)).drop(computed)


def lineage(organisation: str) -> list[pl.Expr]:
    """The canonical lineage columns from the raw lineage."""
    return [
        pl.lit(organisation).alias("organisation"),
        pl.col(SOURCE_FILE).alias("source_file"),
        pl.col(SOURCE_ROW).alias("source_row"),
    ]


def withheld(
    df: pl.DataFrame, organisation: str, reason: str, files: pl.Series | None = None
) -> pl.DataFrame:
    """A WITHHELD frame: rows of ``df`` per source file (files with none get 0 when listed)."""
    counts = df.group_by(SOURCE_FILE, maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("withheld_rows")
    )
    if files is not None:
        counts = (
            pl.DataFrame({SOURCE_FILE: files.cast(pl.String)})
            .join(counts, on=SOURCE_FILE, how="left")
            .with_columns(pl.col("withheld_rows").fill_null(0))
        )
    out = counts.select(
        pl.lit(organisation).alias("organisation"),
        pl.col(SOURCE_FILE).alias("source_file"),
        "withheld_rows",
        pl.lit(reason).alias("reason"),
    )
    return schema.conform(out, schema.WITHHELD)


def end_reason(end_date: str, reason: str) -> pl.Expr:
    """END_REASONS: "ongoing" without an end date; else the mapped reason (a reason that says
    "ongoing" while an end date is present is contradictory and left null)."""
    return (
        pl.when(pl.col(end_date).is_null())
        .then(pl.lit("ongoing"))
        .when(pl.col(reason) == "ongoing")
        .then(None)
        .otherwise(pl.col(reason))
    )


def concat(frames: Sequence[pl.DataFrame], target: dict[str, pl.DataType]) -> pl.DataFrame:
    """Conformed frames stacked (an empty frame of ``target`` when there are none)."""
    conformed = [schema.conform(f, target) for f in frames]
    return pl.concat(conformed) if conformed else schema.empty(target)


def conformed(tables: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Every staged table conformed to its canonical schema."""
    return {e: schema.conform(df, schema.ENTITIES[e]) for e, df in tables.items()}


def only_when(condition: pl.Expr, field: Field) -> Field:
    """The field's value and checks apply only to rows where ``condition`` holds."""
    checks = tuple(
        Check(k.rule, k.column, _when(condition, k.violated), parent=k.parent) for k in field.checks
    )
    return Field(field.value, checks, field.source)


def _when(
    condition: pl.Expr, violated: pl.Expr | Callable[[pl.DataFrame], pl.Series]
) -> pl.Expr | Callable[[pl.DataFrame], pl.Series]:
    if callable(violated):
        return lambda df: df.select(condition.fill_null(False)).to_series() & violated(df)
    return condition & violated
