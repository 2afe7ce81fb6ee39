"""File modes of the steward's data: born private, checked at every start, never silently mended.

* The process runs under ``umask 077`` (:func:`apply_umask`, called by the CLI and when the
  Dagster definitions load): every file DuckDB, polars or Dagster creates — the staging
  database and its WAL, the release candidate and its WAL, run history, compute logs — is
  0600 from birth, folders 0700.
* ``data/`` and every steward folder (landing, requests, dagster_home, output_checks,
  release_candidate) are 0700 (:func:`secure_folders`); ``data/`` is 0711 when the analysts'
  release or the report lives inside it, so they can open those by name without listing it.
* A steward *file* found readable by others at start (``staging.duckdb``, its WAL, the key file,
  the request file) fails the run with an audit entry (:func:`check_steward_files`): it may have
  been copied already, so the steward must look, not the pipeline quietly chmod it.
"""

from __future__ import annotations

import getpass
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path

STEWARD_UMASK = 0o077
LOOSE_BITS = stat.S_IRWXG | stat.S_IRWXO


class StewardModeError(RuntimeError):
    """A steward file is readable or writable by others; the message names paths and modes."""


def apply_umask() -> None:
    """Make every file this process creates from now on private to its owner (umask 077)."""
    os.umask(STEWARD_UMASK)


def loose(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """(path, ``ls``-style mode) of every existing path with group or other permission bits
    (a symbolic link is judged by what it points to)."""
    out = []
    for p in paths:
        try:
            mode = p.expanduser().stat().st_mode
        except FileNotFoundError:
            continue
        if mode & LOOSE_BITS:
            out.append((p, stat.filemode(mode)))
    return out


def steward_files(
    staging_db: Path, key_file: Path | None, requests_file: Path | None
) -> list[Path]:
    """The files only the steward may read."""
    files = [staging_db, staging_db.with_name(staging_db.name + ".wal")]
    return files + [p for p in (key_file, requests_file) if p is not None]


def write_audit_entry(staging_db: Path, action: str, counts: dict) -> None:
    """Append one entry to ``meta.audit_log`` (paths and modes only, never data)."""
    import duckdb

    from pipelines.sql import AUDIT_DDL

    if not staging_db.exists():
        return
    with duckdb.connect(str(staging_db)) as con:
        con.execute("create schema if not exists meta")
        con.execute(AUDIT_DDL)
        con.execute(
            "insert into meta.audit_log values (current_timestamp, ?, ?, ?, ?, ?)",
            [getpass.getuser(), action, "", json.dumps({}), json.dumps(counts, default=str)],
        )


def check_steward_files(
    staging_db: Path, key_file: Path | None = None, requests_file: Path | None = None
) -> None:
    """Raise :class:`StewardModeError` (after an audit entry ``steward_file_modes``) when a
    steward file is readable or writable by others. Nothing is repaired."""
    found = loose(steward_files(staging_db, key_file, requests_file))
    if not found:
        return
    write_audit_entry(
        staging_db,
        "steward_file_modes",
        {"loose": [{"path": str(p), "mode": m} for p, m in found]},
    )
    where = ", ".join(f"{p} ({m})" for p, m in found)
    raise StewardModeError(
        f"Readable by others: {where}. Another user may have copied it: find out who could "
        "read it, then `chmod 600` each file and start the run again (audit entry "
        "steward_file_modes written)."
    )


def secure_folders(
    data_dir: Path, folders: Iterable[Path], *, published: Iterable[Path] = ()
) -> list[Path]:
    """Create ``data_dir`` and ``folders`` as 0700 (tightening existing ones); ``data_dir`` gets
    0711 when one of ``published`` lies inside it. Returns the folders that were tightened."""
    tightened = []
    inside = any(_is_inside(p, data_dir) for p in published)
    for folder, mode in [(data_dir, 0o711 if inside else 0o700), *((f, 0o700) for f in folders)]:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        current = stat.S_IMODE(folder.stat().st_mode)
        if current != mode and current & LOOSE_BITS & ~mode:
            tightened.append(folder)
        if current != mode:
            os.chmod(folder, mode)
    return tightened


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def prepare(settings: object) -> list[Path]:
    """At the start of a CLI command or a definitions load: umask 077, steward folders 0700, and
    every steward file checked (raises :class:`StewardModeError`). Returns tightened folders."""
    apply_umask()
    paths = settings.paths  # type: ignore[attr-defined]
    requests_file = settings.governance.requests_file  # type: ignore[attr-defined]
    folders = [
        paths.landing,
        Path(requests_file).parent,
        paths.dagster_home,
        paths.data_dir / settings.output_check.records_dir,  # type: ignore[attr-defined]
        paths.data_dir / "release_candidate",
    ]
    tightened = secure_folders(
        paths.data_dir, folders, published=[paths.research_db, paths.data_dir / "reports"]
    )
    check_steward_files(paths.staging_db, paths.key_file, Path(requests_file))
    return tightened
