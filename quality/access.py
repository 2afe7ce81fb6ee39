"""Access: the steward's files must be readable by their owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from quality.outcome import CheckOutcome


def check_private_files(paths: list[Path]) -> CheckOutcome:
    """Pass when every existing path has no group/other permission bits (mode 0600 or 0700).

    >>> import tempfile, os
    >>> d = Path(tempfile.mkdtemp()); f = d / "x"; f.write_text("x"); os.chmod(f, 0o644)
    >>> check_private_files([f]).passed
    False
    """
    loose = []
    for p in paths:
        if p.exists():
            mode = p.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                loose.append({"path": str(p), "mode": stat.filemode(mode)})
    if loose:
        where = ", ".join(f"{x['path']} ({x['mode']})" for x in loose)
        return CheckOutcome(
            False,
            f"Readable by others: {where}. Run chmod 600 on each file (700 for folders).",
            {"loose": loose},
        )
    return CheckOutcome(True, f"{len(paths)} steward file(s) readable by their owner only.")
