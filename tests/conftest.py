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
