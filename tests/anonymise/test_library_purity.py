"""anonymise/ is a pure library: it imports no pipeline, database, validation or Faker package,
and every public name is documented. (That no source line imports them, deferred imports included,
is part of the project-wide import-direction test, ``tests/test_import_direction.py``.)"""

import inspect
import subprocess
import sys
from pathlib import Path

import anonymise

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "dagster",
    "duckdb",
    "great_expectations",
    "faker",
    "assets",
    "pipelines",
    "quality",
    "synthetic",
}


def test_importing_the_library_loads_none_of_them() -> None:
    code = (
        "import sys, anonymise; "
        f"print(sorted(m for m in {sorted(FORBIDDEN)!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.strip()
    assert out == "[]"


def test_every_public_name_is_documented() -> None:
    missing = [n for n in anonymise.__all__ if not inspect.getdoc(getattr(anonymise, n))]
    assert missing == []
