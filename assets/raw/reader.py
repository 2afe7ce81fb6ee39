"""Read landing files exactly as they are: every column as text, plus lineage and a manifest.

Nothing is parsed or cleaned here (that is the adapters' job), so nothing can be lost: a value
that would not parse is still in the raw table and its row can be quarantined with a reason.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from assets.raw.contracts import ExportSpec
from assets.raw.csvtext import CsvError, decode, parse_text

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
    """Read one delimited file as text columns; returns the frame and its manifest row.

    Only a regular file is read (opened without following a symlink, checked before reading,
    so a FIFO cannot hang the run). A record with another field count than the header is kept,
    marked ``field_count`` in ``_defect`` (:mod:`assets.raw.csvtext`), for staging to
    quarantine. Errors name the file, the line and the rule, never a value.
    """
    rel = path.relative_to(relative_to).as_posix()
    raw = read_regular_file(path, rel)
    try:
        text = decode(raw, spec.encoding, rel)
        parsed = parse_text(text, spec.separator, rel)
    except CsvError as exc:
        raise LandingFileError(
            f"{exc}; check the file against the export contract '{spec.name}' "
            "(assets/raw/contracts/, described in assets/raw/FORMATS.md)."
        ) from None
    df = parsed.data.with_columns(
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


def read_regular_file(path: Path, label: str) -> bytes:
    """The bytes of ``path`` if it is a regular file (not a symlink, FIFO, device or folder);
    otherwise a :class:`LandingFileError` naming ``label``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        kind = "a symbolic link" if path.is_symlink() else "not readable"
        raise LandingFileError(
            f"{label}: {kind} ({type(exc).__name__}); only regular files inside the landing "
            "folder are read (rule not_a_regular_file)."
        ) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a pipe, device or socket"
        raise LandingFileError(
            f"{label}: is {kind}, not a regular file; only regular files inside the landing "
            "folder are read (rule not_a_regular_file)."
        )
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def read_export(landing: Path, organisation: str, spec: ExportSpec) -> RawExport:
    """Read every file of ``spec`` in ``landing/<organisation>/`` (sorted by name)."""
    folder = landing / organisation
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise LandingFileError(
            f"{organisation}/: the organisation's landing folder is not a folder inside the "
            "landing root (a symbolic link or a file); rule not_a_regular_file."
        )
    files = sorted(folder.glob(spec.pattern)) if folder.is_dir() else []
    if not files and spec.required:
        raise LandingFileError(
            f"{folder}: no file matches '{spec.pattern}' for export '{spec.name}' of "
            f"{organisation}; drop the export there or mark it optional in its contract."
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
