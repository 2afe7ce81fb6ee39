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


def test_importing_the_library_does_not_import_scipy() -> None:
    """scipy costs ~1 s to import: the modules that need it import it inside the functions that
    use it, so ``import anonymise`` stays near polars + numpy (benchmarks/importtime.py)."""
    code = "import sys, anonymise; print(sorted(m for m in sys.modules if m.startswith('scipy')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.strip()
    assert out == "[]"


def test_the_scipy_functions_still_work_after_a_bare_import() -> None:
    """Positive control for the deferred imports: a function needing scipy runs in a fresh
    interpreter that imported only the package, and scipy is loaded afterwards."""
    code = (
        "import sys, numpy as np, anonymise.stats as s; "
        "r = s.rank_biserial(np.array([1.0, 2.0, -0.5, 3.0])); "
        "print(round(r, 3), 'scipy.stats' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.strip()
    assert out.endswith("True")
