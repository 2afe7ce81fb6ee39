"""The release resource: where a release candidate and the research database live, and the
anonymisation and table-protection settings from brugstat.toml's [anonymisation] section."""

import json
import os
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from assets.anonymised.config import AnonymisationConfig
from assets.marts.protection import TableSettings

SPILL_DIR = ".duckdb_spill"
"""Folder inside the candidate where DuckDB may spill while the candidate is built."""


class ReleaseConfig(dg.ConfigurableResource):
    """Release settings. ``candidate_dir`` is steward-only (mode 0700); ``research_db`` is the one
    file analysts get, replaced atomically by each successful release."""

    candidate_dir: str
    research_db: str
    anonymisation: dict[str, Any]
    tables: dict[str, Any]  # brugstat.toml's [tables]: threshold and table protection

    def config(self) -> AnonymisationConfig:
        """The typed anonymisation settings (defaults overlaid with brugstat.toml)."""
        return AnonymisationConfig.from_mapping(self.anonymisation)

    def table_settings(self) -> TableSettings:
        """The typed table-protection settings (``[tables]``: threshold, protection per table,
        the cell key method's perturbation table)."""
        return TableSettings.from_mapping(self.tables)

    def candidate(self) -> Path:
        """The folder holding the current release candidate (anonymised frames, Parquet)."""
        p = Path(self.candidate_dir)
        p.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(p, 0o700)
        return p

    def clear_candidate(self) -> Path:
        """Empty the candidate folder (tables, figures, spill files); returns it."""
        folder = self.candidate()
        for pattern in ("*.parquet", "*.part", "summary.json"):
            for old in folder.glob(pattern):
                old.unlink()
        shutil.rmtree(folder / SPILL_DIR, ignore_errors=True)
        return folder

    def spill_dir(self) -> Path:
        """Where DuckDB may spill while building the candidate: inside the candidate folder
        (steward only), never the system's temporary folder."""
        p = self.candidate() / SPILL_DIR
        p.mkdir(exist_ok=True, mode=0o700)
        return p

    def write_candidate(
        self, frames: dict[str, pl.DataFrame], summary: dict[str, Any], *, clear: bool = True
    ) -> None:
        """Write the candidate: one Parquet file per table and its figures (mode 0600).

        With ``clear`` (the default) the previous candidate is removed first; without, tables
        already written into :meth:`candidate` (e.g. by DuckDB) are kept.
        """
        folder = self.clear_candidate() if clear else self.candidate()
        for name, df in frames.items():
            path = folder / f"{name}.parquet"
            df.write_parquet(path)
            os.chmod(path, 0o600)
        shutil.rmtree(folder / SPILL_DIR, ignore_errors=True)
        path = folder / "summary.json"
        path.write_text(json.dumps(summary, default=str))
        os.chmod(path, 0o600)

    def read_summary(self) -> dict[str, Any]:
        """The candidate's figures (k achieved, suppression, risk, metrics, configuration)."""
        return json.loads((self.candidate() / "summary.json").read_text())

    def candidate_files(self) -> dict[str, Path]:
        """The candidate's Parquet files by table name (read them without loading them)."""
        return {p.stem: p for p in sorted(self.candidate().glob("*.parquet"))}

    def read_candidate(self) -> dict[str, pl.DataFrame]:
        """The candidate's frames by table name (all in memory)."""
        return {name: pl.read_parquet(p) for name, p in self.candidate_files().items()}
