"""The pseudonymisation key on disk or in the environment: create, load and check it.

The key never leaves this module except as bytes handed to ``anonymise.pseudonym``; only its
``key_id`` is ever stored or shown."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from anonymise.pseudonym import check_key, key_id, new_key

KEY_ENV = "BRUGSTAT_PSEUDONYM_KEY"
"""The environment variable that may hold the key (hex), instead of the key file."""


def key_from_environment() -> str | None:
    """The hex key from ``BRUGSTAT_PSEUDONYM_KEY``, if set.

    Read here and not in ``pipelines.settings``: the key never passes through the settings object,
    and the resources that load it sit below the settings in the import order."""
    return os.environ.get(KEY_ENV) or None


class KeyFileError(RuntimeError):
    """The key file is missing, unreadable, malformed or readable by others."""


def create_key_file(path: Path) -> str:
    """Write a fresh random key to ``path`` (mode 0600, folder 0700); returns its key id.

    Refuses to overwrite: a key that is replaced is gone, and with it the link between old and new
    pseudonyms.
    """
    path = path.expanduser()
    if path.exists():
        raise KeyFileError(f"{path}: a key file already exists; refusing to overwrite it.")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = new_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
    return key_id(key)


def check_private(path: Path) -> None:
    """Raise unless ``path`` is readable by its owner only (no group/other permission bits)."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path}: permissions are {stat.filemode(mode)}; it must be readable by its owner "
            f"only. Run: chmod 600 {path}"
        )


def load_key(path: Path) -> bytes:
    """The key from ``BRUGSTAT_PSEUDONYM_KEY`` if set, else from the key file (must be 0600)."""
    env = key_from_environment()
    if env is not None:
        try:
            return check_key(bytes.fromhex(env.strip()))
        except ValueError:
            raise KeyFileError(
                f"{KEY_ENV} must hold at least 64 hexadecimal characters (a 256-bit key)."
            ) from None
    path = path.expanduser()
    if not path.exists():
        raise KeyFileError(
            f"{path}: no pseudonymisation key. Create one with `brugstat key create` "
            f"or set {KEY_ENV}."
        )
    check_private(path)
    try:
        return check_key(bytes.fromhex(path.read_text().strip()))
    except ValueError:
        raise KeyFileError(
            f"{path}: not a brugstat key file (expected 64 hexadecimal characters)."
        ) from None
