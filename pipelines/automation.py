"""When the pipeline runs by itself: a sensor on new landing files and the stewards' schedules.

The sensor starts the whole job when an organisation drops a new or changed export in its landing
folder (or the steward changes the data-subject requests file). A file counts only once it has
not changed for ``settle_seconds``, so a run never starts on a half-copied export. The cursor is a
fingerprint of (path, size, modification time) of every file: nothing of their content, so the
Dagster instance never holds personal data.
"""

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:  # what dg.define_asset_job returns; not exported at dagster's top level
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


@dataclass(frozen=True)
class LandingSnapshot:
    """The files the sensor watches, as (relative path, size, mtime) triples."""

    files: tuple[tuple[str, int, int], ...]
    unsettled: tuple[str, ...]  # changed less than settle_seconds ago: wait for the next tick

    @property
    def fingerprint(self) -> str:
        """A short digest of the files' names, sizes and times (never their content)."""
        return hashlib.sha256(json.dumps(self.files).encode()).hexdigest()[:16]


def landing_snapshot(
    landing: Path,
    organisations: list[str],
    extra: list[Path],
    *,
    settle_seconds: float,
    now: float | None = None,
) -> LandingSnapshot:
    """The exports in each organisation's landing folder (hidden files skipped) plus ``extra``."""
    now = time.time() if now is None else now
    paths = [
        p
        for org in organisations
        if (landing / org).is_dir()
        for p in sorted((landing / org).rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(landing).parts)
    ]
    paths += [p for p in extra if p.is_file()]
    files, unsettled = [], []
    for p in paths:
        st = p.stat()
        name = str(p.relative_to(landing)) if p.is_relative_to(landing) else p.name
        files.append((name, st.st_size, st.st_mtime_ns))
        if now - st.st_mtime < settle_seconds:
            unsettled.append(name)
    return LandingSnapshot(tuple(files), tuple(unsettled))


def build_landing_sensor(
    job: "UnresolvedAssetJobDefinition",
    *,
    landing: Path,
    organisations: list[str],
    requests_file: Path,
    settle_seconds: float,
    interval_seconds: int,
    tags: dict[str, str] | None = None,
) -> dg.SensorDefinition:
    """A sensor that requests one run of ``job`` per new state of the landing folder, with
    ``tags`` on every run (the partition range of every organisation)."""

    @dg.sensor(
        name="brugstat_new_landing_files",
        job=job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            "Starts the whole pipeline when an organisation delivers a new or changed export (or "
            f"the requests file changes), once the files have been still for {settle_seconds:g} s. "
            "Off until a steward turns it on in the UI."
        ),
    )
    def brugstat_new_landing_files(context: dg.SensorEvaluationContext):
        snap = landing_snapshot(
            landing, organisations, [requests_file], settle_seconds=settle_seconds
        )
        if not snap.files:
            return dg.SkipReason(f"No exports in {landing}.")
        if snap.unsettled:
            return dg.SkipReason(
                f"{len(snap.unsettled)} file(s) still changing ({', '.join(snap.unsettled[:3])}); "
                "waiting until they are complete."
            )
        if snap.fingerprint == context.cursor:
            return dg.SkipReason("No new or changed landing files since the last run request.")
        context.update_cursor(snap.fingerprint)
        return dg.RunRequest(
            run_key=f"landing-{snap.fingerprint}",
            tags={
                **(tags or {}),
                "brugstat/trigger": "new-landing-files",
                "brugstat/files": str(len(snap.files)),
            },
        )

    return brugstat_new_landing_files
