"""One run at a time over data/, a run-queue limit of 1 on every brugstat job, and runs a kill
left STARTED marked failed at the next start."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from assets.raw.partitions import all_partitions_tags
from pipelines.checks import failed_check_lines
from pipelines.definitions import ALL_JOB, REPORT_JOB, build_definitions
from pipelines.locking import (
    EXCLUSIVE_TAG,
    LOCK_NAME,
    RunInProgressError,
    ensure_instance_config,
    exclusive_run,
    fail_orphaned_runs,
    run_in_progress,
)

HOLD = (
    "import sys, time; from pathlib import Path; from pipelines.locking import exclusive_run\n"
    "with exclusive_run(Path(sys.argv[1])):\n"
    "    print('held', flush=True); time.sleep(60)\n"
)


@pytest.fixture
def other_run(tmp_path: Path):
    """Another process holding the run lock on tmp_path/data."""
    data = tmp_path / "data"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield data, proc
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_second_run_is_refused_while_one_holds_the_lock(other_run) -> None:
    other_run, _ = other_run
    refused = pytest.raises(RunInProgressError, match="another run is in progress")
    with refused, exclusive_run(other_run):
        pass
    assert run_in_progress(other_run)


def test_lock_is_released_when_the_holder_is_killed(other_run) -> None:
    other_run, holder = other_run
    assert run_in_progress(other_run)
    holder.kill()  # kill -9 of the run holding the lock: the kernel frees it
    holder.wait()
    deadline = time.monotonic() + 5
    while run_in_progress(other_run) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not run_in_progress(other_run)
    assert (other_run / LOCK_NAME).stat().st_mode & 0o077 == 0


def test_a_job_run_fails_cleanly_while_another_run_holds_data(other_run, settings_in) -> None:
    other_run, _ = other_run
    assert settings_in.paths.data_dir == other_run.resolve()
    job = build_definitions(settings_in).resolve_job_def(ALL_JOB)
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance, raise_on_error=False, tags=all_partitions_tags()
        )
    assert not result.success
    messages = []
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None) if event.is_failure else None
        while error is not None:  # Dagster wraps the resource's error: follow the causes
            messages.append(error.message)
            error = error.cause
    assert any("another run is in progress" in m for m in messages)


def test_every_job_carries_the_exclusive_tag_and_the_instance_limits_it(
    settings_in, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = build_definitions(settings_in)
    for name in (ALL_JOB, REPORT_JOB):
        assert defs.resolve_job_def(name).tags.get(EXCLUSIVE_TAG) == "data"
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # the old default
    ensure_instance_config(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": EXCLUSIVE_TAG, "limit": 1} in limits
        assert instance.run_monitoring_enabled


def test_orphaned_started_runs_are_marked_failed() -> None:
    with dg.instance_for_test() as instance:
        ids = [str(uuid.uuid4()) for _ in range(3)]
        statuses = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.SUCCESS, None]
        for run_id, status in zip(ids, statuses, strict=True):
            instance.add_run(
                dg.DagsterRun(
                    job_name=ALL_JOB,
                    run_id=run_id,
                    status=status or dg.DagsterRunStatus.STARTED,
                )
            )
        assert fail_orphaned_runs(instance, keep=ids[2]) == [ids[0]]
        status = {i: instance.get_run_by_id(i).status for i in ids}
        assert status[ids[0]] == dg.DagsterRunStatus.FAILURE
        assert status[ids[1]] == dg.DagsterRunStatus.SUCCESS
        assert status[ids[2]] == dg.DagsterRunStatus.STARTED  # the current run


def test_failed_check_lines_give_description_and_counts() -> None:
    evaluation = dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("staging_file_balance"),
        check_name="conservation",
        passed=False,
        description="1 file(s) do not balance: breda/plannen.csv.",
        metadata={"details": dg.MetadataValue.json({"files": 3, "unbalanced": [], "ok": False})},
    )
    lines = failed_check_lines([evaluation])
    assert lines == [
        "  check failed: staging_file_balance / conservation",
        "    1 file(s) do not balance: breda/plannen.csv.",
        "    files: 3",
    ]
