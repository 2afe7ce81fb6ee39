"""A small synthetic deployment run the way the CLI runs it (umask, folders, Dagster home)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pipelines.settings import Settings, load_settings

PEOPLE = 1200


@pytest.fixture
def umask_restored() -> Iterator[None]:
    """The tests' process umask back as it was afterwards (the pipeline sets 077)."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_restored: None) -> Settings:
    """Settings under tmp_path with a test key, synthetic exports written as ``brugstat demo``
    writes them (after ``pipelines.modes.prepare``)."""
    from pipelines.modes import prepare
    from synthetic import generate

    monkeypatch.setenv("BRUGSTAT_PSEUDONYM_KEY", "6b" * 32)
    settings = load_settings().with_data_dir(tmp_path / "data")
    settings = replace(settings, paths=replace(settings.paths, key_file=tmp_path / "no.key"))
    prepare(settings)
    generate(settings.paths.landing, people=PEOPLE, seed=7, today=settings.synthetic.today)
    return settings


def run(settings: Settings) -> bool:
    """One whole-job run through the CLI's own function (Dagster home under data/)."""
    from pipelines.cli import run_pipeline

    return run_pipeline(settings)
