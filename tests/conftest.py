"""Shared fixtures: a throw-away deployment (settings, key, data folder) per test session."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipelines.settings import Settings, load_settings

TEST_KEY_HEX = "5a" * 32  # a test key; production keys come from `brugstat key create`


@pytest.fixture
def test_key_hex() -> str:
    """The hex key the ``settings_in`` deployment uses (to prove it never lands in a file)."""
    return TEST_KEY_HEX


@pytest.fixture
def settings_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose every output path is under tmp_path, with a key in the environment."""
    monkeypatch.setenv("BRUGSTAT_PSEUDONYM_KEY", TEST_KEY_HEX)
    settings = load_settings().with_data_dir(tmp_path / "data")
    return replace(settings, paths=replace(settings.paths, key_file=tmp_path / "no.key"))


@pytest.fixture(scope="session")
def demo_release(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One small synthetic release (1,200 people, every asset materialised), shared read-only by
    the report, notebook and output-checker tests. Do not modify its files: build your own."""
    import os

    import dagster as dg

    from pipelines.definitions import ALL_JOB, build_definitions
    from synthetic import generate

    tmp = tmp_path_factory.mktemp("demo_release")
    old = os.environ.get("BRUGSTAT_PSEUDONYM_KEY")
    os.environ["BRUGSTAT_PSEUDONYM_KEY"] = "3c" * 32
    try:
        settings = load_settings().with_data_dir(tmp / "data")
        settings = replace(settings, paths=replace(settings.paths, key_file=tmp / "no.key"))
        generate(settings.paths.landing, people=1200, seed=11, today=settings.synthetic.today)
        with dg.instance_for_test() as instance:
            result = (
                build_definitions(settings)
                .resolve_job_def(ALL_JOB)
                .execute_in_process(instance=instance, raise_on_error=False)
            )
        assert result.success, "the demo release for the tests did not build"
    finally:
        if old is None:
            os.environ.pop("BRUGSTAT_PSEUDONYM_KEY", None)
        else:
            os.environ["BRUGSTAT_PSEUDONYM_KEY"] = old
    return settings
