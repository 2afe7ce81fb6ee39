"""Data-subject requests (AVG/GDPR): the steward's request file, validated and matched.

The file is CSV with a header: ``bsn,request,received_on,reference``; ``request`` is one of
``erasure`` (verwijderen: removed everywhere in the steward's domain), ``objection`` (bezwaar)
or ``restriction`` (beperking: both kept out of research releases). Errors name the file, the
row and the rule — never the BSN.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from anonymise.bsn import is_valid_bsn, normalise_bsn
from assets.raw.csvtext import CsvError, decode, parse_text

REQUEST_TYPES = ("erasure", "objection", "restriction")
REQUEST_COLUMNS = ("bsn", "request", "received_on", "reference")
REQUESTS_SCHEMA: dict[str, pl.DataType] = {
    "bsn": pl.String(),
    "request": pl.String(),
    "received_on": pl.Date(),
    "reference": pl.String(),
    "row": pl.Int64(),
}
"""The columns of :func:`read_requests`' result (``row``: the request's 1-based data row)."""
_ALIASES = {
    "verwijdering": "erasure",
    "verwijderen": "erasure",
    "vergetelheid": "erasure",
    "bezwaar": "objection",
    "beperking": "restriction",
}


class RequestFileError(ValueError):
    """The request file cannot be used as it is; the message names file, row and rule."""


def read_requests(path: Path) -> pl.DataFrame:
    """Read and validate the request file; an absent file means no requests.

    Returns bsn (normalised), request, received_on (date), reference, row (1-based data row).
    """
    if not path.exists():
        return pl.DataFrame(schema=REQUESTS_SCHEMA)
    # Parsed strictly (assets.raw.csvtext): polars' own parser errors quote the text around a
    # broken quote, i.e. requesters' BSNs; these errors name file, line and rule only.
    try:
        parsed = parse_text(decode(path.read_bytes(), "utf-8", str(path)), ",", str(path))
    except CsvError as exc:
        raise RequestFileError(str(exc)) from None
    if parsed.ragged_lines:
        raise RequestFileError(
            f"{path}, line(s) {parsed.ragged_lines[:10]}: another number of fields than the "
            f"header's {len(parsed.header)} (rule field_count)."
        )
    df = parsed.data
    missing = [c for c in REQUEST_COLUMNS if c not in df.columns]
    if missing:
        raise RequestFileError(f"{path}: missing column(s) {missing}; expected {REQUEST_COLUMNS}.")
    df = df.with_row_index("row", offset=1).with_columns(pl.col("row").cast(pl.Int64))
    out = df.select(
        normalise_bsn(pl.col("bsn")).alias("bsn"),
        pl.col("request").str.strip_chars().str.to_lowercase().replace(_ALIASES).alias("request"),
        pl.col("received_on").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
        pl.col("reference").str.strip_chars(),
        "row",
    )
    problems = [
        (~is_valid_bsn(pl.col("bsn")), "the BSN does not pass the 11-proef"),
        (~pl.col("request").is_in(REQUEST_TYPES), f"request must be one of {REQUEST_TYPES}"),
        (pl.col("received_on").is_null(), "received_on must be a date (YYYY-MM-DD)"),
        (pl.col("reference").is_null(), "reference is required"),
    ]
    for condition, rule in problems:
        bad = out.filter(condition.fill_null(True))["row"].to_list()
        if bad:
            raise RequestFileError(f"{path}: row(s) {bad[:10]}: {rule}.")
    dup = out.filter(pl.col("reference").is_duplicated())["row"].to_list()
    if dup:
        raise RequestFileError(f"{path}: row(s) {dup[:10]}: the same reference appears twice.")
    return out


def match_requests(requests: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """Requests joined to the staged persons with that BSN (one row per request × organisation).

    ``persons`` needs organisation, source_person_id, bsn. A request whose BSN is not (or no
    longer) present keeps one row with nulls, so its outcome can still be logged.
    """
    return requests.join(
        persons.select("organisation", "source_person_id", "bsn"), on="bsn", how="left"
    )
