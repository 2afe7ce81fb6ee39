"""anonymise/ is a pure library: it imports no pipeline, database, validation or Faker package,
and every public name is documented."""

import ast
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


def test_no_forbidden_import_anywhere_in_the_source() -> None:
    offenders = []
    for path in (ROOT / "anonymise").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


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
