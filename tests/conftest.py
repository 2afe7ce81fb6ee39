"""Shared fixtures: a throw-away deployment (settings, key, data folder) per test session."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from pipelines.settings import Settings, load_settings

TEST_KEY_HEX = "5a" * 32  # a test key; production keys come from `brugstat key create`
REQUIRE_TOOLS_ENV = "BRUGSTAT_REQUIRE_SYSTEM_TOOLS"
# Headless, and nothing that would reach the network: the pages under test are self-contained.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def system_tool(name: str) -> str:
    """Path of a Debian tool the test needs; skip without it, unless CI requires it (fail)."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path:
        return path
    reason = f"{name} is not installed (Debian package: chromium / poppler-utils)"
    if os.environ.get(REQUIRE_TOOLS_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_TOOLS_ENV}=1 requires it")
    pytest.skip(reason)


@pytest.fixture
def require_tool() -> Callable[[str], str]:
    """``require_tool(name)`` → the tool's path (skips, or fails under CI, when it is missing)."""
    return system_tool


@pytest.fixture
def headless_chromium(tmp_path: Path) -> Callable[..., str]:
    """``headless_chromium(page, *flags)`` → Chromium's stdout for the local ``page`` (e.g. with
    ``--dump-dom``, or ``--screenshot=…``), each call with a fresh profile under tmp_path."""
    chromium = system_tool("chromium")
    runs = itertools.count()

    def render(page: Path, *flags: str) -> str:
        profile = tmp_path / f"chromium-profile-{next(runs)}"
        out = subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                *flags,
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=180,
            text=True,
            errors="replace",
        )
        return out.stdout

    return render


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


def materialise_release(
    folder: Path, *, people: int = 1200, seed: int = 11, **changes: object
) -> Settings:
    """Generate ``people`` synthetic participants into ``folder`` and materialise every asset
    with the repository's settings (``changes`` replaced, e.g. ``tables=``); returns them."""
    import os

    import dagster as dg

    from assets.raw.partitions import all_partitions_tags
    from pipelines.definitions import ALL_JOB, build_definitions
    from synthetic import generate

    old = os.environ.get("BRUGSTAT_PSEUDONYM_KEY")
    os.environ["BRUGSTAT_PSEUDONYM_KEY"] = "3c" * 32
    try:
        settings = load_settings().with_data_dir(folder / "data")
        settings = replace(
            settings, paths=replace(settings.paths, key_file=folder / "no.key"), **changes
        )
        generate(settings.paths.landing, people=people, seed=seed, today=settings.synthetic.today)
        with dg.instance_for_test() as instance:
            result = (
                build_definitions(settings)
                .resolve_job_def(ALL_JOB)
                .execute_in_process(
                    instance=instance, raise_on_error=False, tags=all_partitions_tags()
                )
            )
        assert result.success, "the release for the tests did not build"
    finally:
        if old is None:
            os.environ.pop("BRUGSTAT_PSEUDONYM_KEY", None)
        else:
            os.environ["BRUGSTAT_PSEUDONYM_KEY"] = old
    return settings


@pytest.fixture(scope="session")
def demo_release(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One small synthetic release (1,200 people, every asset materialised), shared read-only by
    the report, notebook and output-checker tests. Do not modify its files: build your own."""
    return materialise_release(tmp_path_factory.mktemp("demo_release"))
