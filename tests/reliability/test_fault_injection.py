"""Kill -9 of a run at several steps: the previous release stays byte-identical, the killed run is
marked failed at the next start, and the next run succeeds."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from tests.reliability.conftest import run

pytestmark = pytest.mark.filterwarnings("ignore:HarfBuzz-Subset:DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kill_when(data: Path, trigger: Callable[[Path, float], bool], timeout: float = 240) -> None:
    """Start ``brugstat run`` as its own process and kill -9 it once ``trigger`` holds."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BRUGSTAT_DATA_DIR": str(data),
        "PYTHONWARNINGS": "ignore",
    }
    started = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not trigger(data, started):
            assert proc.poll() is None, "the run ended before the kill point"
            assert time.time() - started < timeout, "kill point never reached"
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()


def _newer(pattern: str) -> Callable[[Path, float], bool]:
    def trigger(data: Path, started: float) -> bool:
        return any(p.stat().st_mtime > started for p in data.glob(pattern) if p.exists())

    return trigger


KILL_POINTS: dict[str, Callable[[Path, float], bool]] = {
    "raw load": _newer("staging.duckdb*"),
    "anonymised candidate written": _newer("release_candidate/*"),
    "research database being built": _newer(".research.duckdb.tmp-*"),
}


def test_kills_leave_the_previous_release_and_the_next_run_succeeds(deployment) -> None:
    settings = deployment
    assert run(settings)
    research = settings.paths.research_db
    before = _sha(research)
    for point, trigger in KILL_POINTS.items():
        _kill_when(settings.paths.data_dir, trigger)
        assert _sha(research) == before, f"killed at {point}: the release changed"
    os.environ["DAGSTER_HOME"] = str(settings.paths.dagster_home)
    with dg.DagsterInstance.get() as instance:
        killed = {
            r.dagster_run.run_id: r.dagster_run.status
            for r in instance.get_run_records(dg.RunsFilter())
            if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS
        }
    # Each kill left its run STARTED; each next start marked the one before it failed.
    assert sorted(s.value for s in killed.values()) == ["FAILURE", "FAILURE", "STARTED"]
    assert run(settings), "the run after the kills failed"
    assert _sha(research) != before  # a new release replaced the old one
    with dg.DagsterInstance.get() as instance:
        status = {
            r.dagster_run.run_id: r.dagster_run.status
            for r in instance.get_run_records(dg.RunsFilter())
        }
    assert all(status[run_id] == dg.DagsterRunStatus.FAILURE for run_id in killed)
    assert list(status.values()).count(dg.DagsterRunStatus.SUCCESS) == 2
