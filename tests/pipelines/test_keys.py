"""Key files: created private, never overwritten, refused when readable by others."""

import os
import stat

import pytest

from anonymise.pseudonym import key_id
from pipelines.keys import KeyFileError, create_key_file, load_key


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRUGSTAT_PSEUDONYM_KEY", raising=False)


def test_created_key_is_private_and_loads(tmp_path) -> None:
    path = tmp_path / "keys" / "p.key"
    kid = create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_id(load_key(path)) == kid


def test_existing_key_is_never_overwritten(tmp_path) -> None:
    path = tmp_path / "p.key"
    create_key_file(path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        create_key_file(path)
    assert path.read_bytes() == before


def test_group_readable_key_file_is_refused(tmp_path) -> None:
    path = tmp_path / "p.key"
    create_key_file(path)
    os.chmod(path, 0o640)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_key(path)


def test_missing_key_says_how_to_create_one(tmp_path) -> None:
    with pytest.raises(KeyFileError, match="brugstat key create"):
        load_key(tmp_path / "none.key")


def test_environment_key_wins_and_errors_do_not_echo_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BRUGSTAT_PSEUDONYM_KEY", "ab" * 32)
    assert load_key(tmp_path / "none.key") == bytes.fromhex("ab" * 32)
    monkeypatch.setenv("BRUGSTAT_PSEUDONYM_KEY", "zz-not-hex")
    with pytest.raises(KeyFileError) as err:
        load_key(tmp_path / "none.key")
    assert "zz-not-hex" not in str(err.value)
