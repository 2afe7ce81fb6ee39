"""`brugstat demo` as a steward and an analyst meet it: a short console at default verbosity,
Dagster's log in a file, the run on the UI's job page, and the README's analyst commands working
exactly as written against the demo's release."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import ALL_JOB

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MAX_CONSOLE_LINES = 60


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A 2,000-person demo run through the real command in a subprocess: (folder, console)."""
    tmp = tmp_path_factory.mktemp("cli_demo")
    env = {
        **os.environ,
        "BRUGSTAT_DATA_DIR": str(tmp / "data"),
        "BRUGSTAT_PSEUDONYM_KEY": "7e" * 32,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DAGSTER_HOME", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "demo", "--people", "2000"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    console = proc.stdout + proc.stderr
    assert proc.returncode == 0, console[-3000:]
    return tmp, console


def test_demo_console_stays_short(demo) -> None:
    _, console = demo
    lines = console.splitlines()
    assert len(lines) < MAX_CONSOLE_LINES, console
    assert not [line for line in lines if " - DEBUG - " in line or "Traceback" in line]
    # search, not match: another program's stderr may share a line with a progress line
    steps = [line for line in lines if re.search(r"\[\s*\d+/\d+\] ", line)]
    found = re.findall(r"\[\s*(\d+)/(\d+)\] ", console)
    total = int(found[0][1])
    # raw, staging, purge, pseudonymised, anonymised, marts, report and its check
    assert total >= 8 and {int(i) for i, _ in found} == set(range(1, total + 1)), found
    assert any("rows" in s and s.rstrip().endswith(" s") for s in steps)
    assert "First release in this research database." in console


def test_dagster_log_goes_to_a_private_file(demo) -> None:
    tmp, console = demo
    logs = sorted((tmp / "data" / "logs").glob("*.log"))
    assert len(logs) == 1 and str(logs[0]) in console
    text = logs[0].read_text()
    assert "STEP_SUCCESS" in text and "RUN_SUCCESS" in text
    assert logs[0].stat().st_mode & 0o077 == 0


def test_run_is_on_the_job_page_the_ui_shows(demo) -> None:
    """Load the code location as `brugstat ui` does and filter runs like the UI's job page."""
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget

    tmp, _ = demo
    os.environ["BRUGSTAT_DATA_DIR"] = str(tmp / "data")
    try:
        with (
            dg.DagsterInstance.from_config(str(tmp / "data" / "dagster_home")) as instance,
            WorkspaceProcessContext(
                instance, ModuleTarget("pipelines.definitions", None, str(ROOT), None)
            ) as workspace,
        ):
            context = workspace.create_request_context()
            (location,) = context.code_locations
            job = location.get_repository("__repository__").get_full_job(ALL_JOB)
            label = job.get_remote_origin().repository_origin.get_label()
            runs = instance.get_runs(
                filters=dg.RunsFilter(job_name=job.name, tags={REPOSITORY_LABEL_TAG: label})
            )
    finally:
        os.environ.pop("BRUGSTAT_DATA_DIR", None)
    assert len(runs) == 1
    assert runs[0].job_name == ALL_JOB
    assert runs[0].status == dg.DagsterRunStatus.SUCCESS


def _readme_analyst_blocks() -> tuple[str, str]:
    """The shell line and the SQL block of the README's "For analysts" section, verbatim."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## For analysts", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S)
    shell = next(body for lang, body in blocks if lang == "")
    sql = next(body for lang, body in blocks if lang == "sql")
    return shell.strip(), sql


def test_readme_analyst_commands_run_as_written(demo) -> None:
    tmp, console = demo
    # the summary's "open read-only:" command names this venv's duckdb shell (beside the
    # Python that ran the demo, the same version as the library), not a bare `duckdb`
    (line,) = [x for x in console.splitlines() if "open read-only:" in x]
    printed = shlex.split(line.split("open read-only:", 1)[1])
    assert printed[0] == str(VENV_BIN / "duckdb"), line
    assert os.access(printed[0], os.X_OK)
    assert printed[1:] == ["-readonly", str(tmp / "data" / "research.duckdb")], line
    opened = subprocess.run(
        printed, input="select count(*) from meta_release;", capture_output=True, text=True
    )
    assert opened.returncode == 0, opened.stderr
    shell, sql = _readme_analyst_blocks()
    argv = shlex.split(shell)
    assert argv[0] == ".venv/bin/duckdb", "the README should name the venv's duckdb shell"
    argv[0] = str(VENV_BIN / "duckdb")  # the shared venv stands in for the clone's .venv
    proc = subprocess.run(argv, input=sql, cwd=tmp, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Error" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    out = proc.stdout
    # one result per statement: the dictionary, the release figures, intake levels per domain
    import duckdb

    with duckdb.connect(str(tmp / "data" / "research.duckdb"), read_only=True) as con:
        (release_id,) = con.execute("select release_id from meta_release").fetchone()
    assert "table_name" in out and "column_name" in out, out[:2000]
    assert release_id in out, out[-3000:]
    assert "measurements" in out and "diploma" in out, out[-2000:]
    # read-only as the README promises: a write is refused
    write = subprocess.run(
        argv, input="create table x as select 1;", cwd=tmp, capture_output=True, text=True
    )
    assert write.returncode != 0 or "read-only" in (write.stdout + write.stderr)


def test_analyst_tools_match_the_library() -> None:
    import duckdb

    shell = subprocess.run(
        [str(VENV_BIN / "duckdb"), "--version"], capture_output=True, text=True, check=True
    )
    assert shell.stdout.split()[0].lstrip("v") == duckdb.__version__
    lab = subprocess.run(
        [str(VENV_BIN / "jupyter"), "lab", "--version"], capture_output=True, text=True
    )
    assert lab.returncode == 0 and re.match(r"\d+\.\d+", lab.stdout.strip()), lab.stderr
