"""The CLI's user-facing behaviour without a pipeline run: one line per error with an exit code,
"did you mean" for a misspelt command, dev.py checking its command before installing, the run
label that files CLI runs under the UI's job page, and the summary's change lines."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.cli import main
from pipelines.console import StepProgress, guarded, quiet_run
from pipelines.launch import repository_label, repository_tags
from pipelines.summary import release_lines

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_without_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A settings file whose key file does not exist, and no key in the environment."""
    text = (ROOT / "brugstat.toml").read_text()
    lines = [
        f'key_file = "{tmp_path / "missing.key"}"' if line.startswith("key_file") else line
        for line in text.splitlines()
    ]
    cfg = tmp_path / "brugstat.toml"
    cfg.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("BRUGSTAT_CONFIG", str(cfg))
    monkeypatch.delenv("BRUGSTAT_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("BRUGSTAT_DATA_DIR", str(tmp_path / "data"))
    return cfg


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_key_id_without_a_key_is_one_line_and_exit_2(config_without_key, capsys) -> None:
    code = main(["key", "id"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(_lines(err)) == 1, err
    assert "missing.key" in err and "brugstat key create" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(config_without_key) -> None:
    from pipelines.keys import KeyFileError

    with pytest.raises(KeyFileError):
        main(["key", "id", "--debug"])


def test_run_without_a_key_is_one_line(config_without_key, capsys) -> None:
    code = main(["run"])
    err = capsys.readouterr().err
    assert code == 2 and len(_lines(err)) == 1 and "brugstat key create" in err, err


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["dmeo"], "'demo'"),
        (["key", "ids"], "'id'"),
        (["chek-output"], "'check-output'"),
        (["demo", "--peple", "3"], "'--people'"),
    ],
)
def test_misspelt_command_gets_did_you_mean(argv, suggestion, config_without_key, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert len(_lines(err)) == 1, err
    assert f"did you mean {suggestion}" in err


def test_nothing_close_gets_no_suggestion(config_without_key, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["zzzzzz"])
    err = capsys.readouterr().err
    assert "did you mean" not in err and "invalid choice" in err


def test_unexpected_error_is_one_line_with_exit_70(capsys) -> None:
    def boom() -> int:
        raise ZeroDivisionError("division by zero\nsecond line")

    assert guarded(boom, prog="brugstat", debug=False) == 70
    err = capsys.readouterr().err
    assert len(_lines(err)) == 1 and "ZeroDivisionError" in err and "--debug" in err
    with pytest.raises(ZeroDivisionError):
        guarded(boom, prog="brugstat", debug=True)


def test_dev_py_checks_the_command_before_installing(tmp_path: Path) -> None:
    # A copy without requirements.lock: had it started the install, it would fail differently.
    shutil.copy(ROOT / "dev.py", tmp_path / "dev.py")
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "dev.py"), "demoo"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Did you mean 'demo'?" in proc.stderr
    assert not (tmp_path / ".venv").exists()


def test_cli_run_label_puts_runs_on_the_job_page() -> None:
    """The UI's job page lists runs by job name and repository label; only labelled runs show."""
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

    assert repository_label() == "__repository__@pipelines.definitions"

    @dg.op
    def one() -> int:
        return 1

    @dg.job
    def tiny() -> None:
        one()

    with dg.instance_for_test() as instance:
        labelled = tiny.execute_in_process(instance=instance, tags=repository_tags()).run_id
        tiny.execute_in_process(instance=instance)  # the old way: not on the job page
        page = instance.get_runs(
            filters=dg.RunsFilter(job_name="tiny", tags={REPOSITORY_LABEL_TAG: repository_label()})
        )
        assert [r.run_id for r in page] == [labelled]
        assert page[0].job_name == "tiny"


def test_quiet_run_sends_dagster_log_to_the_file_and_one_line_per_step(tmp_path: Path) -> None:
    @dg.asset
    def numbers() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"rows": 1234})

    job = dg.Definitions(assets=[numbers], jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
    stream = io.StringIO()
    log = tmp_path / "run.log"
    with (
        quiet_run(log, verbosity=0, total_steps=1, stream=stream) as (loggers, progress),
        dg.instance_for_test() as instance,
    ):
        result = job.with_logger_defs(loggers).execute_in_process(
            instance=instance, run_config={"loggers": {n: {} for n in loggers}}
        )
    assert result.success and progress.done == 1
    shown = _lines(stream.getvalue())
    assert len(shown) == 1 and "numbers" in shown[0] and "1,234 rows" in shown[0], shown
    assert "STEP_SUCCESS" in log.read_text() and "RUN_SUCCESS" in log.read_text()
    assert (log.stat().st_mode & 0o077) == 0
    assert not logging.getLogger().handlers or all(
        getattr(h, "baseFilename", None) != str(log) for h in logging.getLogger().handlers
    )


def test_verbose_shows_dagster_log_in_the_terminal(tmp_path: Path) -> None:
    @dg.asset
    def numbers() -> None:
        return None

    job = dg.Definitions(assets=[numbers], jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
    stream = io.StringIO()
    with (
        quiet_run(tmp_path / "r.log", verbosity=2, total_steps=1, stream=stream) as (loggers, _),
        dg.instance_for_test() as instance,
    ):
        job.with_logger_defs(loggers).execute_in_process(
            instance=instance, run_config={"loggers": {n: {} for n in loggers}}
        )
    assert "STEP_START" in stream.getvalue()


def test_step_progress_line_sums_tables() -> None:
    progress = StepProgress(17, io.StringIO())
    progress.done = 11
    line = progress.line("staging_canonical", [10, 20, 30], 1.25, ok=True)
    assert "[11/17] staging_canonical" in line and "60 rows in 3 tables" in line
    assert line.rstrip().endswith("1.2 s") or line.rstrip().endswith("1.3 s")
    assert "FAILED" in progress.line("mart_tables", [], 0.5, ok=False)
    progress.close()


def _run_shown(tmp_path: Path, asset, **kwargs):
    """Run one asset's job quietly: (result, progress handler, the terminal's lines)."""
    job = dg.Definitions(assets=[asset], jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
    stream = io.StringIO()
    with (
        quiet_run(tmp_path / "r.log", verbosity=0, total_steps=1, stream=stream) as (loggers, p),
        dg.instance_for_test() as instance,
    ):
        result = job.with_logger_defs(loggers).execute_in_process(
            instance=instance, run_config={"loggers": {n: {} for n in loggers}}, **kwargs
        )
    return result, p, _lines(stream.getvalue())


def test_a_run_over_several_partitions_counts_each_asset_once(tmp_path: Path) -> None:
    """A partition range run records every asset once per partition, each with the step's
    metadata; the progress line counts the asset once (not rows x partitions)."""
    parts = dg.StaticPartitionsDefinition(["a", "b", "c"])

    @dg.multi_asset(
        specs=[dg.AssetSpec("left"), dg.AssetSpec("right")],
        partitions_def=parts,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def both(context):
        assert list(context.partition_keys) == ["a", "b", "c"]
        yield dg.MaterializeResult(asset_key="left", metadata={"rows": 10})
        yield dg.MaterializeResult(asset_key="right", metadata={"rows": 5})

    result, _, shown = _run_shown(
        tmp_path,
        both,
        tags={
            "dagster/asset_partition_range_start": "a",
            "dagster/asset_partition_range_end": "c",
        },
    )
    assert result.success
    materialised = [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    assert len(materialised) == 6  # the control: one per asset and partition
    (line,) = shown
    assert "15 rows in 2 tables" in line, line


def test_summary_says_what_changed_since_the_previous_release() -> None:
    before = {
        "meta": {"release_id": "R1", "k_achieved": 5, "persons_suppressed": 12},
        "marts": {"mart_persons": 100, "mart_old": 5},
    }
    after = {
        "meta": {"release_id": "R2", "k_achieved": 5, "persons_suppressed": 15},
        "marts": {"mart_persons": 110, "mart_new": 7},
    }
    text = "\n".join(release_lines(after, before))
    assert "Since R1:" in text
    assert "persons suppressed 12 → 15" in text
    assert "persons +10 rows" in text and "new new (7 rows)" in text and "old gone" in text
    assert "k achieved 5 →" not in text  # unchanged figures are not listed
    assert "First release" in "\n".join(release_lines(after, None))


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_result_table_with_semicolons_or_tabs_is_read_by_its_columns(tmp_path, sep) -> None:
    from pipelines.output_checking import read_result_table

    f = tmp_path / "resultaat.csv"
    f.write_text(sep.join(["gemeente", "n"]) + "\n" + sep.join(["Zuidplas", "12"]) + "\n")
    df = read_result_table(f)
    assert df.columns == ["gemeente", "n"] and df["n"].to_list() == [12]


def test_a_failed_step_says_why_in_one_line(tmp_path: Path) -> None:
    @dg.asset
    def broken() -> None:
        raise ValueError("rule R7 failed in file x.csv, line 3")

    result, p, shown = _run_shown(tmp_path, broken, raise_on_error=False)
    assert not result.success and p.failed == ["broken"]
    assert len(shown) == 2, shown
    assert "FAILED" in shown[0]
    assert shown[1].strip() == "ValueError: rule R7 failed in file x.csv, line 3"
    assert (
        "Traceback" in (tmp_path / "r.log").read_text()
        or "Stack Trace" in (tmp_path / "r.log").read_text()
    )
