"""Synthetic landing exports for the five organisations; no real personal data, ever.

``generate(landing, people=…, seed=…)`` writes ``landing/<organisation>/<file>.csv`` for
groningen, zuidplas, aalsmeer, hengelo and breda exactly as their export contracts say
(``assets/raw/contracts/``: file names, encodings, separators, byte-order marks, headers; each
organisation's module here builds the values, by export name):

* a population of ``people`` distinct persons with valid, unique BSNs (11-proef), Dutch names from
  Faker nl_NL (plus Latin-1-safe names for other nationalities), birth dates (ages ~18–80, mostly
  25–60) and sex; split about 40/20/15/15/10 % over groningen/breda/hengelo/zuidplas/aalsmeer,
  with ~5 % also at a second organisation under the same BSN, birth date and sex;
* per organisation its own records: Groningen participants with buddies, Bridge measurements
  (8 domains, levels 1–5, at intake and about every 3 months; intake low in debts/savings/income;
  improvers, stallers and ~15 % relapsers; correlated financial domains) and 1–6 goals each
  (~45 % achieved, more often with higher confidence); Zuidplas registrations in 1–3 processes
  with log-normal arrears; Aalsmeer household cases with 1–6 members (Latin-1); Hengelo contacts
  (UTF-8 with BOM) and trajectories; Breda doorbraakplannen with large debts and rare flags;
* the dirt real exports carry, at the rates of ``synthetic.plant.RATES``: exact duplicate rows,
  invalid BSNs, out-of-range levels, missing and unparseable dates, mixed date formats, stray
  whitespace and mixed case, unknown codes, end before start, orphan references, confidence
  outside 1–10 and negative amounts.

Everything is vectorised (numpy + polars; Faker only builds small value pools) and seeded: the
same ``people``, ``seed`` and ``today`` give byte-identical files.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType

import numpy as np
import polars as pl
from tqdm import tqdm

from assets.raw.contracts import CONTRACTS, ExportSpec
from synthetic import aalsmeer, breda, groningen, hengelo, plant, zuidplas
from synthetic.people import ORGANISATIONS, SHARE, build_universe
from synthetic.pools import build_pools

__all__ = [
    "COLUMNS",
    "ORGANISATIONS",
    "SHARE",
    "GenerationSummary",
    "generate",
    "plant",
]

MODULES: dict[str, ModuleType] = {
    "groningen": groningen,
    "zuidplas": zuidplas,
    "aalsmeer": aalsmeer,
    "hengelo": hengelo,
    "breda": breda,
}
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    o: {e.file_name: e.header for e in CONTRACTS[o].exports} for o in MODULES
}
"""organisation -> file name -> header: what the contracts say is written."""


@dataclass(frozen=True)
class GenerationSummary:
    """What ``generate`` wrote."""

    landing: Path
    files: dict[str, int]  # "<organisation>/<file>.csv" -> data rows (duplicates included)
    people: dict[str, int]  # organisation -> distinct persons (clients) there
    seconds: float
    seed: int = 0
    total_people: int = 0  # the ``people`` asked for: distinct persons over all organisations

    @property
    def rows(self) -> int:
        """Data rows over all files."""
        return sum(self.files.values())


def write_csv(df: pl.DataFrame, path: Path, *, separator: str, encoding: str, bom: bool) -> None:
    """Write ``df`` (text columns; null = empty) as the organisation exports it."""
    if encoding == "utf-8":
        df.write_csv(path, separator=separator, include_bom=bom)
        return
    text = df.write_csv(separator=separator)
    path.write_bytes(("\ufeff" + text if bom else text).encode(encoding))


def as_delivered(df: pl.DataFrame, export: ExportSpec, organisation: str) -> pl.DataFrame:
    """A built frame under the export's delivered header, in its order.

    The builder names columns as the adapter reads them (a column's alias, else its name). A
    contract column the builder does not make is written empty; a column the builder makes that
    the contract lacks is a programming error (never data), raised.
    """
    renamed = {alias: name for name, alias in export.renamed.items()}
    df = df.rename({c: renamed[c] for c in df.columns if c in renamed})
    unknown = [c for c in df.columns if c not in export.header]
    if unknown:
        raise AssertionError(
            f"{organisation}/{export.name}: built column(s) {unknown} are not in the contract"
        )
    missing = [pl.lit(None, pl.String).alias(c) for c in export.header if c not in df.columns]
    return df.with_columns(missing).select(export.header)


def generate(
    landing: Path,
    *,
    people: int = 20_000,
    seed: int = 20261123,
    progress: bool = False,
    today: date = date(2026, 11, 1),
) -> GenerationSummary:
    """Write the five organisations' exports under ``landing``; see the module docstring."""
    t0 = time.perf_counter()
    if people < 10:
        raise ValueError(f"people must be at least 10, got {people}")
    landing = Path(landing)
    now = plant.days(today)
    rng = np.random.default_rng(seed)
    org_rngs = dict(zip(ORGANISATIONS, rng.spawn(len(ORGANISATIONS)), strict=True))
    n_files = sum(len(CONTRACTS[o].exports) for o in MODULES)
    files: dict[str, int] = {}
    # files are written on a second thread while the next organisation is generated
    with (
        tqdm(total=n_files + 1, desc="synthetic", unit="file", disable=not progress) as bar,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="synthetic-writer") as writer,
    ):
        bar.set_postfix_str("population")
        pools = build_pools(seed)
        universe = build_universe(rng, pools, people, now)
        bar.update(1)
        pending: list[Future] = []
        for org, module in MODULES.items():
            bar.set_postfix_str(org)
            frames = module.build(org_rngs[org], universe, pools, now)
            folder = landing / org
            folder.mkdir(parents=True, exist_ok=True)
            for export in CONTRACTS[org].exports:
                df = as_delivered(frames.pop(export.name), export, org)
                files[f"{org}/{export.file_name}"] = df.height
                job = writer.submit(
                    write_csv,
                    df,
                    folder / export.file_name,
                    separator=export.separator,
                    encoding=export.encoding,
                    bom=export.bom,
                )
                job.add_done_callback(lambda _: bar.update(1))
                pending.append(job)
            del frames, df
        for job in pending:
            job.result()  # re-raise a writing error here
    return GenerationSummary(
        landing=landing,
        files=files,
        people={o: int(universe.clients[o].size) for o in ORGANISATIONS},
        seconds=round(time.perf_counter() - t0, 3),
        seed=seed,
        total_people=people,
    )
