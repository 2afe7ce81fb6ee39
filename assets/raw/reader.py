"""Read landing files exactly as they are: every column as text, plus lineage and a manifest.

Nothing is parsed or cleaned here (that is the adapters' job), so nothing can be lost: a value
that would not parse is still in the raw table and its row can be quarantined with a reason.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from assets.staging.adapters.base import ExportSpec

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"

MANIFEST_SCHEMA: dict[str, pl.DataType] = {
    "organisation": pl.String(),
    "export": pl.String(),
    "source_file": pl.String(),
    "sha256": pl.String(),
    "bytes": pl.Int64(),
    "rows": pl.Int64(),
    "encoding": pl.String(),
}


class LandingFileError(ValueError):
    """A landing file cannot be read as its export specification says."""


@dataclass(frozen=True)
class RawExport:
    """All files of one export type, concatenated, with their manifest rows."""

    data: pl.DataFrame
    manifest: pl.DataFrame


def read_file(path: Path, spec: ExportSpec, *, relative_to: Path) -> tuple[pl.DataFrame, dict]:
    """Read one delimited file as text columns; returns the frame and its manifest row."""
    raw = path.read_bytes()
    rel = path.relative_to(relative_to).as_posix()
    try:
        text = raw.decode(spec.encoding)  # validates the encoding; errors name the byte
    except UnicodeDecodeError as exc:
        raise LandingFileError(
            f"{rel}: byte {exc.start} is not valid {spec.encoding}; the export specification "
            f"'{spec.name}' says the file is {spec.encoding}-encoded."
        ) from None
    # polars reads UTF-8 bytes; a non-UTF-8 export is transcoded once, in memory.
    data = raw if spec.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else text.encode()
    data = data.removeprefix("\ufeff".encode())  # byte-order mark from spreadsheet software
    try:
        df = pl.read_csv(
            io.BytesIO(data),
            separator=spec.separator,
            infer_schema=False,
            empty_string_is_null=True,  # an empty field is a missing value
            quote_char='"',
        )
    except pl.exceptions.PolarsError as exc:
        raise LandingFileError(
            f"{rel}: cannot be read as '{spec.separator}'-separated text "
            f"({type(exc).__name__}); check the export specification '{spec.name}'."
        ) from None
    df = df.with_columns(
        pl.lit(rel).alias(SOURCE_FILE),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW),
    )
    manifest = {
        "export": spec.name,
        "source_file": rel,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "bytes": len(raw),
        "rows": df.height,
        "encoding": spec.encoding,
    }
    return df, manifest


def read_export(landing: Path, organisation: str, spec: ExportSpec) -> RawExport:
    """Read every file of ``spec`` in ``landing/<organisation>/`` (sorted by name)."""
    folder = landing / organisation
    files = sorted(folder.glob(spec.pattern)) if folder.is_dir() else []
    if not files and spec.required:
        raise LandingFileError(
            f"{folder}: no file matches '{spec.pattern}' for export '{spec.name}' of "
            f"{organisation}; drop the export there or mark it optional in the adapter."
        )
    frames, rows = [], []
    for f in files:
        df, m = read_file(f, spec, relative_to=landing)
        frames.append(df)
        rows.append({"organisation": organisation, **m})
    data = (
        pl.concat(frames, how="diagonal")
        if frames
        else pl.DataFrame(schema={SOURCE_FILE: pl.String(), SOURCE_ROW: pl.Int64()})
    )
    return RawExport(data=data, manifest=pl.DataFrame(rows, schema=MANIFEST_SCHEMA))
