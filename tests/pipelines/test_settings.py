"""brugstat.toml is validated when it is loaded: every problem at once, with where it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.settings import (
    PROJECT_ROOT,
    Settings,
    SettingsError,
    check_settings,
    load_settings,
)

SHIPPED = PROJECT_ROOT / "brugstat.toml"


def broken(tmp_path: Path, edits: list[tuple[str, str]]) -> Path:
    """The shipped settings file with ``(old, new)`` text replacements applied."""
    text = SHIPPED.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "brugstat.toml"
    path.write_text(text)
    return path


def messages(path: Path) -> list[str]:
    return [str(p) for p in check_settings(path)]


def test_the_shipped_file_has_no_problem() -> None:
    assert check_settings(SHIPPED) == []
    assert isinstance(load_settings(SHIPPED), Settings)


def test_a_typo_in_a_key_is_reported_with_the_key_it_probably_meant(tmp_path: Path) -> None:
    path = broken(tmp_path, [("threshold = 10", "treshold = 10")])
    [problem] = check_settings(path)
    assert problem.where == "[tables] treshold"
    assert "unknown key. Did you mean 'threshold'?" in problem.message
    assert (
        problem.line
        == SHIPPED.read_text()
        .splitlines()
        .index(
            next(line for line in SHIPPED.read_text().splitlines() if line.startswith("threshold"))
        )
        + 1
    )


def test_a_wrong_type_is_reported_with_what_was_expected(tmp_path: Path) -> None:
    path = broken(tmp_path, [("people = 20000", 'people = "20000"')])
    assert [m.split(": ", 1)[1] for m in messages(path)] == [
        "[synthetic] people: wrong type: expected an integer, got a string."
    ]


def test_an_unknown_key_and_an_unknown_section_are_reported(tmp_path: Path) -> None:
    path = broken(
        tmp_path,
        [
            ("dof = 10", "dof = 10\ncolour = 'blue'"),
            ("[output_check]", "[ouput_check]\n[output_check]"),
        ],
    )
    found = messages(path)
    assert len(found) == 2
    assert "[ouput_check]: unknown section. Did you mean 'output_check'?" in found[0]
    assert found[1].endswith("[output_check] colour: unknown key.")


def test_every_problem_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    path = broken(
        tmp_path,
        [
            ('name = "demo"', "name = 3"),
            ("seed = 20261123", "sead = 20261123"),
            ('"aalsmeer", "hengelo"', '"aalsmer", "hengelo"'),
            ('refused = "5y"', 'refused = "5 years"'),
            ("settle_seconds = 120", "settle_seconds = true"),
            ("k = 5", "k = 0"),
            ("suppression_limit = 0.02", 'suppression_limit = "2%"'),
        ],
    )
    found = messages(path)
    lines = [int(re.match(r".*?:(\d+): ", m).group(1)) for m in found]
    assert lines == sorted(lines)
    assert [m.split(": ", 1)[1] for m in found] == [
        "[project] name: wrong type: expected a string, got an integer.",
        "[synthetic] sead: unknown key. Did you mean 'seed'?",
        "[organisations] enabled: unknown organisation code 'aalsmer'. Did you mean 'aalsmeer'? "
        "Known: ['groningen', 'zuidplas', 'aalsmeer', 'hengelo', 'breda'].",
        "[retention.zuidplas] refused: retention term '5 years' is not a number followed by y, "
        "m, w or d (years, months, weeks, days), e.g. '10y' or '6w'.",
        "[automation] settle_seconds: wrong type: expected a number, got a boolean.",
        "[anonymisation] k: anonymisation.k must be at least 1, got 0.",
        "[anonymisation] suppression_limit: wrong type: expected a number, got a string.",
    ]


def test_a_missing_required_key_and_a_stray_top_level_key(tmp_path: Path) -> None:
    path = broken(
        tmp_path,
        [('dagster_home = "data/dagster_home"\n', ""), ("[project]", "debug = true\n[project]")],
    )
    found = [m.split(": ", 1)[1] for m in messages(path)]
    assert found == [
        "top level: unknown key 'debug' outside any section.",
        "[paths] dagster_home: missing: this key has no default.",
    ]


def test_a_run_fails_at_start_listing_every_problem(tmp_path: Path) -> None:
    path = broken(tmp_path, [("threshold = 10", "treshold = 10"), ("k = 5", 'k = "five"')])
    with pytest.raises(SettingsError) as exc:
        load_settings(path)
    assert len(str(exc.value).splitlines()) == 2


def test_config_check_exit_code_and_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "check", str(SHIPPED)]) == 0
    assert "no problems" in capsys.readouterr().out
    path = broken(tmp_path, [("threshold = 10", "treshold = 10"), ("dof = 10", "dof = 1.5")])
    assert main(["config", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "Did you mean 'threshold'?" in out
    assert "[output_check] dof: wrong type: expected an integer, got a float." in out
    assert "2 problem(s)" in out


def test_absent_keys_take_the_dataclass_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRUGSTAT_DATA_DIR", raising=False)
    path = tmp_path / "brugstat.toml"
    paths = "\n".join(
        f'{k} = "d/{k}"'
        for k in ("data_dir", "landing", "staging_db", "research_db", "dagster_home", "key_file")
    )
    path.write_text(f"[paths]\n{paths}\n")
    s = load_settings(path)
    assert (s.project, s.tables.threshold, s.synthetic.people) == ("demo", 10, 20_000)
    assert s.governance.requests_file == tmp_path / "data" / "requests" / "requests.csv"
    assert s.paths.landing == tmp_path / "d" / "landing"
