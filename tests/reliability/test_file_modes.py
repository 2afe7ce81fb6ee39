"""Steward files are private from birth, during the run, not only after it; a loose steward
file fails the run with an audit entry instead of being quietly mended."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.modes import StewardModeError, check_steward_files, prepare
from pipelines.resources import StagingDatabase
from tests.reliability.conftest import run

# This machine may lack libharfbuzz-subset (system-packages.txt): weasyprint warns on import.
pytestmark = pytest.mark.filterwarnings("ignore:HarfBuzz-Subset:DeprecationWarning")


def _sample(root: Path, seen: dict[str, set[int]], stop: threading.Event) -> None:
    while not stop.is_set():
        for folder, dirs, files in os.walk(root):
            for name in [*dirs, *files]:
                p = os.path.join(folder, name)
                try:
                    mode = stat.S_IMODE(os.lstat(p).st_mode)
                except FileNotFoundError:
                    continue
                seen.setdefault(os.path.relpath(p, root), set()).add(mode)
        time.sleep(0.002)


def test_modes_sampled_while_a_run_writes(deployment) -> None:
    settings = deployment
    data = settings.paths.data_dir
    seen: dict[str, set[int]] = {}
    stop = threading.Event()
    poller = threading.Thread(target=_sample, args=(data, seen, stop), daemon=True)
    poller.start()
    try:
        assert run(settings)
    finally:
        stop.set()
        poller.join()
    published = {"research.duckdb"}
    loose = {
        path: sorted(oct(m) for m in modes if m & 0o077)
        for path, modes in seen.items()
        if path not in published
        and not path.startswith("reports/")
        and any(m & 0o077 for m in modes)
    }
    assert loose == {"": ["0o711"]} or not loose, loose  # data/ itself: 0711 (release inside)
    assert stat.S_IMODE(data.stat().st_mode) == 0o711
    for folder in ("landing", "requests", "dagster_home", "release_candidate"):
        assert seen[folder] == {0o700}, folder
    # The run was watched while it wrote: the staging WAL or the unchecked candidate was seen.
    candidates = [p for p in seen if p.startswith(".research.duckdb.tmp-")]
    assert candidates, "the poller never saw the release candidate file"
    assert all(seen[p] <= {0o600} for p in candidates)
    assert seen["research.duckdb"] == {0o644}  # readable only once swapped in


def test_loose_staging_database_fails_with_audit_entry_not_repaired(
    tmp_path: Path, umask_restored: None
) -> None:
    db = tmp_path / "staging.duckdb"
    duckdb.connect(str(db)).close()
    os.chmod(db, 0o644)
    loose = pytest.raises(StewardModeError, match=r"staging\.duckdb \(-rw-r--r--\)")
    with loose, StagingDatabase(path=str(db)).connect():
        pass
    assert stat.S_IMODE(db.stat().st_mode) == 0o644  # not silently repaired
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select action, counts from meta.audit_log").fetchall()
    assert rows and rows[0][0] == "steward_file_modes" and "-rw-r--r--" in rows[0][1]
    os.chmod(db, 0o600)
    check_steward_files(db)  # private again: passes


def test_cli_start_refuses_a_loose_staging_database(deployment, capsys) -> None:
    settings = deployment
    duckdb.connect(str(settings.paths.staging_db)).close()
    os.chmod(settings.paths.staging_db, 0o640)
    with pytest.raises(StewardModeError):
        prepare(settings)
    assert stat.S_IMODE(settings.paths.staging_db.stat().st_mode) == 0o640


def test_prepare_makes_steward_folders_private(tmp_path: Path, deployment) -> None:
    settings = deployment
    os.chmod(settings.paths.landing, 0o755)
    os.chmod(settings.paths.data_dir, 0o755)
    tightened = prepare(settings)
    assert settings.paths.landing in tightened
    assert stat.S_IMODE(settings.paths.landing.stat().st_mode) == 0o700
    assert stat.S_IMODE(settings.paths.data_dir.stat().st_mode) == 0o711
    assert os.umask(0o077) == 0o077
