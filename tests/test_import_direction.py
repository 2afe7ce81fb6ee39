"""Imports point one way, top to bottom:

    pipelines.{definitions, cli, settings, automation, output_checking, ...}  (and synthetic)
      -> assets
        -> pipelines.{resources, checks, metadata, keys, sql}   (the helpers assets use)
          -> quality
            -> anonymise   (pure: none of dagster, duckdb, great_expectations, faker)

A module may import its own layer and every layer below it, never one above. The test walks the
syntax tree of every module, so imports inside functions (deferred for import time) count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipelines", "assets", "quality", "anonymise", "synthetic")

SHARED_PIPELINE_MODULES = {
    "pipelines.resources",
    "pipelines.checks",
    "pipelines.metadata",
    "pipelines.keys",  # loads the key for pipelines.resources.PseudonymKey
    "pipelines.sql",  # transaction and quoting
    "pipelines.locking",  # one run at a time (the staging resource takes the lock)
    "pipelines.modes",  # umask and steward file modes (checked by the staging resource)
}
"""The part of ``pipelines`` below ``assets``: helpers any asset may use."""

LAYERS = ("entry", "assets", "shared", "quality", "anonymise")
"""Top to bottom; ``entry`` is ``synthetic`` and every ``pipelines`` module not listed above."""

ANONYMISE_FORBIDDEN = {"dagster", "duckdb", "great_expectations", "faker"}
"""Third-party packages the pure library must not import (the project's own are layers above)."""

# Arrows allowed against the rule (none: the release resource moved into assets/anonymised).
ALLOWED: set[tuple[str, str]] = set()


def layer(module: str) -> str | None:
    """The layer of a project module (``None`` for a third-party or standard module)."""
    top = module.split(".")[0]
    if top not in PACKAGES:
        return None
    if top in ("pipelines", "synthetic"):
        hit = any(module == m or module.startswith(m + ".") for m in SHARED_PIPELINE_MODULES)
        return "shared" if hit else "entry"
    return top


def module_name(path: Path, root: Path = ROOT) -> str:
    """``assets/raw/load.py`` -> ``assets.raw.load`` (a package is its ``__init__``)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str, root: Path) -> bool:
    """Whether ``name`` is a module or package of the project under ``root``."""
    base = root.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every module ``path`` imports, with its line, anywhere in the file (``from pkg import
    sub`` counts as ``pkg.sub`` when ``sub`` is a module)."""
    module = module_name(path, root)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            for alias in node.names:
                sub = f"{name}.{alias.name}"
                found.add((node.lineno, sub if is_module(sub, root) else name))
    return sorted(found)


def project_files(root: Path = ROOT) -> list[Path]:
    """Every Python file of the project's packages."""
    return sorted(p for pkg in PACKAGES for p in (root / pkg).rglob("*.py"))


def wrong_way_arrows(root: Path = ROOT) -> list[str]:
    """``file:line: importer (layer) -> imported (layer)`` for every arrow pointing up."""
    offenders = []
    for path in project_files(root):
        rel = path.relative_to(root).as_posix()
        own = layer(module_name(path, root))
        for line, name in imports(path, root):
            if own == "anonymise" and name.split(".")[0] in ANONYMISE_FORBIDDEN:
                offenders.append(f"{rel}:{line}: anonymise -> {name}")
                continue
            target = layer(name)
            if target is None or (rel, name) in ALLOWED:
                continue
            if LAYERS.index(target) < LAYERS.index(own):
                offenders.append(f"{rel}:{line}: {own} -> {name} ({target})")
    return sorted(set(offenders))


def test_no_import_points_up_a_layer() -> None:
    assert wrong_way_arrows() == []


def test_the_allow_list_holds_only_arrows_that_exist() -> None:
    """An entry the rewrite made unnecessary must be removed, not kept as a licence."""
    present = {
        (p.relative_to(ROOT).as_posix(), name) for p in project_files() for _, name in imports(p)
    }
    assert present >= ALLOWED


def test_the_walk_sees_every_kind_of_wrong_arrow(tmp_path: Path) -> None:
    """Positive control: a deferred import, a relative import and a forbidden third-party
    import, each pointing the wrong way, are all reported."""
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
    (tmp_path / "quality" / "bad.py").write_text(
        "def f():\n    from assets.raw import formats\n    return formats\n"
    )
    (tmp_path / "anonymise" / "bad.py").write_text("import duckdb\nfrom ..quality import x\n")
    (tmp_path / "assets" / "bad.py").write_text("from pipelines.settings import Settings\n")
    (tmp_path / "assets" / "good.py").write_text("from pipelines.resources import write_frame\n")
    (tmp_path / "assets" / "raw").mkdir()
    (tmp_path / "assets" / "raw" / "formats.py").write_text("")
    assert wrong_way_arrows(tmp_path) == [
        "anonymise/bad.py:1: anonymise -> duckdb",
        "anonymise/bad.py:2: anonymise -> quality (quality)",
        "assets/bad.py:1: assets -> pipelines.settings (entry)",
        "quality/bad.py:2: quality -> assets.raw.formats (assets)",
    ]
