"""Delimited text parsed strictly: every record's field count known, no value in any message.

polars reads a well-formed file fast but pads a short row with nulls without a word, drops the
tail of a long one only when told to, and its parser errors quote the text around the problem
(a requester's BSN, a participant's name). Here a C-speed ``csv`` pass first counts the fields of
every record and finds an unclosed quote with its line number; polars then parses a file whose
records all have the header's field count, and a file with ragged records is built from the
``csv`` records instead, each ragged record kept (padded or cut to the header) and marked with
the rule ``field_count`` so staging quarantines it and the rest of the file loads.

Errors (:class:`CsvError`) name the file, the line and a rule: never a value, never the
underlying parser's message.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import polars as pl

DEFECT = "_defect"
"""Column of a parsed frame: the rule a record violates (``field_count``) or null. Present only
when some record has one."""

FIELD_COUNT = "field_count"


class CsvError(ValueError):
    """The file cannot be parsed; ``rule`` and ``line`` say why and where (no values)."""

    def __init__(self, label: str, rule: str, line: int | None, sentence: str) -> None:
        where = f"{label}, line {line}" if line is not None else label
        super().__init__(f"{where}: {sentence} (rule {rule}).")
        self.label, self.rule, self.line = label, rule, line


@dataclass(frozen=True)
class Parsed:
    """The header, the data (text columns; ``DEFECT`` when ragged records exist) and the
    1-based physical line each data record starts on, for ragged ones only."""

    header: list[str]
    data: pl.DataFrame
    ragged_lines: list[int]


def _records(text: str, separator: str, label: str) -> tuple[list[str], list[int], list[int]]:
    """(header, field count per data record, starting line per data record) by ``csv``."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    counts: list[int] = []
    starts: list[int] = []
    header: list[str] | None = None
    previous = 0
    try:
        for record in reader:
            start = previous + 1
            previous = reader.line_num
            if not record:
                continue  # a blank line is not a record (polars skips it too)
            if header is None:
                header = record
                continue
            counts.append(len(record))
            starts.append(start)
    except csv.Error:
        # The record that failed started on the line after the last complete one. The csv
        # module's message may quote the text; it is not passed on.
        raise CsvError(
            label,
            "unclosed_quote",
            previous + 1,
            "a quoted field is not closed (or a quote stands inside an unquoted field); "
            "the rest of the file cannot be split into rows",
        ) from None
    if header is None:
        raise CsvError(label, "header_missing", None, "the file is empty: no header line")
    return header, counts, starts


def parse_text(text: str, separator: str, label: str) -> Parsed:
    """Parse ``text`` (already decoded; a byte-order mark removed) into text columns.

    Empty fields are nulls. Records with another field count than the header are kept (cut or
    padded with nulls) and marked ``field_count`` in :data:`DEFECT`. Raises :class:`CsvError`.
    """
    fast = _without_quotes(text, separator, label)
    if fast is not None:
        return fast
    header, counts, starts = _records(text, separator, label)
    width = len(header)
    if len(set(header)) != width:
        raise CsvError(label, "header_duplicate", 1, "the header names a column twice")
    ragged = [i for i, n in enumerate(counts) if n != width]
    if not ragged:
        try:
            df = pl.read_csv(
                io.BytesIO(text.encode()),
                separator=separator,
                infer_schema=False,
                empty_string_is_null=True,
                quote_char='"',
            )
        except pl.exceptions.PolarsError:
            df = None  # polars disagrees with csv: use the csv records (below)
        if df is not None and df.height == len(counts) and df.columns == header:
            return Parsed(header, df, [])
    # Slow path (ragged records or a polars failure): the csv module's records as columns.
    columns: list[list[str | None]] = [[] for _ in header]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    first = True
    for record in reader:
        if not record:
            continue
        if first:
            first = False
            continue
        record = record[:width] + [""] * (width - len(record))
        for column, value in zip(columns, record, strict=True):
            column.append(value if value != "" else None)
    data = {
        name: pl.Series(name, values, dtype=pl.String)
        for name, values in zip(header, columns, strict=True)
    }
    df = pl.DataFrame(data) if header else pl.DataFrame()
    if ragged:
        marks = [None] * len(counts)
        for i in ragged:
            marks[i] = FIELD_COUNT
        df = df.with_columns(pl.Series(DEFECT, marks, dtype=pl.String))
    return Parsed(header, df, [starts[i] for i in ragged])


SENTINELS = ("\x1f", "\x1e", "\x1d", "\x1c")
"""Characters one of which a text export never holds: read with it as the separator, each line
is one field."""


def _without_quotes(text: str, separator: str, label: str) -> Parsed | None:
    """The fast path for a file without quote characters (most exports): every line is a record,
    its field count is its separators + 1, counted by polars. ``None`` when the file has quotes,
    ragged lines or anything else the ``csv`` pass must look at."""
    sentinel = next((c for c in SENTINELS if c not in text), None)
    if '"' in text or sentinel is None or not text.strip():
        return None
    lines = pl.read_csv(
        io.BytesIO(text.encode()),
        has_header=False,
        separator=sentinel,
        quote_char=None,
        infer_schema=False,
        new_columns=["line"],
    ).get_column("line")
    lines = lines.filter(lines.is_not_null() & (lines.str.strip_chars("\r") != ""))
    if lines.is_empty():
        return None
    header = lines[0].rstrip("\r").split(separator)
    counts = lines.str.count_matches(separator, literal=True)
    if len(set(header)) != len(header) or not (counts == len(header) - 1).all():
        return None
    df = pl.read_csv(
        io.BytesIO(text.encode()),
        separator=separator,
        infer_schema=False,
        empty_string_is_null=True,
        quote_char=None,
    )
    if df.height != lines.len() - 1 or df.columns != header:
        return None
    return Parsed(header, df, [])


def decode(raw: bytes, encoding: str, label: str) -> str:
    """``raw`` decoded as ``encoding`` (byte-order mark removed). A byte that is not valid in it
    is a :class:`CsvError` naming the line (rule ``encoding``); a file that is valid UTF-8 with
    non-ASCII text where Latin-1 is specified is too (rule ``encoding_mismatch``): read as
    Latin-1 it would be accepted as mojibake ("JoÃ«lle")."""
    norm = encoding.lower().replace("_", "-")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CsvError(
            label,
            "encoding",
            raw[: exc.start].count(b"\n") + 1,
            f"a byte is not valid {encoding}; the export specification says the file is "
            f"{encoding}-encoded",
        ) from None
    if norm in ("latin-1", "iso-8859-1", "latin1", "cp1252", "windows-1252") and not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            first = next(i for i, b in enumerate(raw) if b >= 0x80)
            raise CsvError(
                label,
                "encoding_mismatch",
                raw[:first].count(b"\n") + 1,
                f"the file is UTF-8 but the export specification says {encoding}; "
                "read as specified its accented letters would be garbled",
            )
    return text.removeprefix("\ufeff")
