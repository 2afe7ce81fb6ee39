"""Run a job from the command line as a run *of the job* the Dagster UI shows.

``execute_in_process`` records a run without the code location it belongs to, so the UI lists it
under *Runs* but not on the job's page or on *Overview*: those filter runs by the hidden tag
``.dagster/repository`` = ``<repository>@<code location>`` (dagster-io/dagster issue 17707).
:func:`run_job` gives the run that label, computed the way the UI names the code location it
loads (``dagster dev -m pipelines.definitions``, as ``brugstat ui`` starts it), and sends
Dagster's log to a file with one progress line per step in the terminal.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import dagster as dg

from pipelines.console import count_steps, log_path, quiet_run
from pipelines.settings import Settings

DEFINITIONS_MODULE = "pipelines.definitions"
"""The module ``brugstat ui`` loads as the UI's code location."""

REPOSITORY_NAME = "__repository__"
"""The repository name Dagster gives a module's ``Definitions``."""


def repository_label(module: str = DEFINITIONS_MODULE) -> str:
    """The ``.dagster/repository`` tag value the UI's job page filters runs by."""
    from dagster._core.remote_origin import RemoteRepositoryOrigin
    from dagster._core.workspace.load import location_origin_from_module_name

    location = location_origin_from_module_name(module, None, None)
    return RemoteRepositoryOrigin(location, REPOSITORY_NAME).get_label()


def repository_tags(module: str = DEFINITIONS_MODULE) -> dict[str, str]:
    """Run tags that file a run under the UI's code location (job page, Overview)."""
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

    return {REPOSITORY_LABEL_TAG: repository_label(module), "brugstat/launched_by": "cli"}


@dataclass(frozen=True)
class RunOutcome:
    """What the CLI reports after a run."""

    result: dg.ExecuteInProcessResult
    log_file: Path
    seconds: float
    steps_failed: list[str]


def run_job(
    settings: Settings,
    job_name: str,
    *,
    verbosity: int = 0,
    stream: IO[str] | None = None,
) -> RunOutcome:
    """Run ``job_name`` in-process on the Dagster instance in ``settings.paths.dagster_home``.

    The run carries the UI's repository label (so it is a run of the job in the UI), its full
    Dagster log goes to ``data/logs/``, and the terminal gets one line per step.
    """
    import time

    from assets.raw.partitions import all_partitions_tags
    from pipelines.definitions import build_definitions

    defs = build_definitions(settings)
    job = defs.resolve_job_def(job_name)
    # A job with the organisation-partitioned raw and staging assets runs every partition.
    partitioned = job.partitions_def is not None
    run_id = str(uuid.uuid4())
    log_file = log_path(settings.paths.data_dir, run_id)
    started = time.perf_counter()
    with (
        quiet_run(log_file, verbosity=verbosity, total_steps=count_steps(job), stream=stream) as (
            loggers,
            progress,
        ),
        dg.DagsterInstance.get() as instance,
    ):
        result = job.with_logger_defs(loggers).execute_in_process(
            # Dagster starts a job's loggers only when the run config names them.
            run_config={"loggers": {name: {} for name in loggers}},
            instance=instance,
            raise_on_error=False,
            run_id=run_id,
            tags={**repository_tags(), **(all_partitions_tags() if partitioned else {})},
        )
        failed = list(progress.failed)
    return RunOutcome(result, log_file, time.perf_counter() - started, failed)
