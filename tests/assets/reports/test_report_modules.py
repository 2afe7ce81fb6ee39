"""The report package's modules import one way, bottom to top (the order of its docstring).

The split of the former ``content.py`` into notation → model → figures → reading, sections,
findings, editions → content holds only while no module imports one above it; the walk counts
imports anywhere in a file, inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "assets" / "reports"

ORDER = (
    "labels",
    "notation",
    "model",
    "figures",
    "reading",
    "sections",
    "findings",
    "editions",
    "content",
    "charts",
    "render",
    "verify",
    "build",
    "assets",
    "__init__",
)
"""Bottom to top: a module may import only modules before it."""


def package_imports(source: str) -> set[str]:
    """The ``assets.reports`` modules ``source`` imports (``from assets.reports import labels``
    counts as ``labels``)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "assets.reports":
                found |= {a.name for a in node.names}
            elif node.module.startswith("assets.reports."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found |= {
                a.name.split(".")[2] for a in node.names if a.name.startswith("assets.reports.")
            }
    return found


def upward_imports(sources: dict[str, str]) -> list[str]:
    """``importer -> imported`` for every import of a module at or above the importer."""
    rank = {name: i for i, name in enumerate(ORDER)}
    return [
        f"{name} -> {used}"
        for name, text in sources.items()
        for used in sorted(package_imports(text))
        if rank.get(used, len(ORDER)) >= rank[name]
    ]


def test_every_report_module_has_a_place_in_the_order() -> None:
    assert {p.stem for p in PACKAGE.glob("*.py")} == set(ORDER)


def test_report_modules_import_one_way() -> None:
    sources = {p.stem: p.read_text() for p in PACKAGE.glob("*.py")}
    assert upward_imports(sources) == []


def test_an_upward_import_is_found() -> None:
    # positive control: the model importing the figures built from it, inside a function
    sources = {
        "model": "def f():\n    from assets.reports.figures import count_figure\n",
        "figures": "from assets.reports import model, notation\n",
    }
    assert upward_imports(sources) == ["model -> figures"]
