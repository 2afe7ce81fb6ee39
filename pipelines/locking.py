"""One run at a time over ``data/``, and no run left ``STARTED`` for ever.

* :func:`exclusive_run` takes an exclusive ``flock`` on ``data/.run.lock`` for the whole job,
  whoever starts it (CLI, UI, sensor, schedule: the staging database resource holds it while
  a run's steps execute). A second run fails at once with "another run is in progress"
  instead of failing later on DuckDB's file lock, or publishing over the first run's
  release candidate. The lock is the kernel's: a killed run releases it.
* :data:`DAGSTER_YAML` adds a run-queue limit of 1 on the tag :data:`EXCLUSIVE_TAG` that
  every brugstat job carries, so runs the UI, sensor or schedule submit wait in the queue
  instead of failing on the lock, and enables run monitoring (the daemon fails a run whose
  worker died). Runs without the job's tags (a partition backfill, the asset page's
  "Materialize") queue on the concurrency pool of the raw and staging assets instead (one slot,
  run granularity).
* :func:`fail_orphaned_runs`: with the lock held, no other run can be alive; a run the instance
  still records as started was killed (power cut, ``kill -9``) and is marked failed.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".run.lock"
EXCLUSIVE_TAG = "brugstat/exclusive"
"""Run tag on every brugstat job: the run queue allows one run with it at a time."""
EXCLUSIVE_TAGS = {EXCLUSIVE_TAG: "data"}

DAGSTER_YAML = f"""telemetry:
  enabled: false
concurrency:
  runs:
    tag_concurrency_limits:
      - key: "{EXCLUSIVE_TAG}"
        limit: 1
  pools:
    default_limit: 1
    granularity: run
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  max_resume_run_attempts: 0
"""
"""The Dagster instance settings ``brugstat`` writes into ``data/dagster_home``.

``pools``: the raw and staging assets are in the concurrency pool
``assets.raw.partitions.STAGING_DB_POOL``; with one slot and run granularity the run queue starts
one run that holds it at a time, so runs of single organisation partitions (a backfill, the
asset page's "Materialize") wait in the queue instead of failing on the run lock."""

OLD_DEFAULTS = (
    "telemetry:\n  enabled: false\n",
    DAGSTER_YAML.replace("  pools:\n    default_limit: 1\n    granularity: run\n", ""),
)
"""Instance settings earlier brugstat versions wrote: replaced by :data:`DAGSTER_YAML`."""


class RunInProgressError(RuntimeError):
    """Another brugstat run holds the data folder."""


@contextmanager
def exclusive_run(data_dir: Path) -> Iterator[None]:
    """Hold the exclusive run lock on ``data_dir`` (non-blocking: raise if taken)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInProgressError(
                f"another run is in progress on {data_dir} (it holds {data_dir / LOCK_NAME}); "
                "wait for it to finish (the Dagster UI shows it), then start again."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def run_in_progress(data_dir: Path) -> bool:
    """Whether another process holds the run lock on ``data_dir`` right now."""
    try:
        with exclusive_run(data_dir):
            return False
    except RunInProgressError:
        return True


def ensure_instance_config(home: Path) -> Path:
    """Write :data:`DAGSTER_YAML` into ``home`` unless a steward wrote their own (one that does
    not just repeat an older brugstat default: :data:`OLD_DEFAULTS`)."""
    cfg = home / "dagster.yaml"
    if not cfg.exists() or cfg.read_text() in OLD_DEFAULTS:
        cfg.write_text(DAGSTER_YAML)
    return cfg


def fail_orphaned_runs(instance: object, *, keep: str | None = None) -> list[str]:
    """Mark every run the instance records as starting or started, except ``keep``, as failed;
    call it only while holding :func:`exclusive_run` (then none of them can be alive).
    Returns their run ids."""
    import dagster as dg

    statuses = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    records = instance.get_run_records(dg.RunsFilter(statuses=statuses))  # type: ignore[attr-defined]
    failed = []
    for record in records:
        run = record.dagster_run
        if run.run_id == keep:
            continue
        instance.report_run_failed(  # type: ignore[attr-defined]
            run,
            message="Marked failed at the next start: the run's process ended without "
            "finishing (killed or crashed). The previous release is untouched; see README, "
            "Operations.",
        )
        failed.append(run.run_id)
    return failed
