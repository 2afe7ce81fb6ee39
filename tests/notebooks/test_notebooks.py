"""The analysts' notebooks (notebooks/*.ipynb) run end to end against the test release.

Each notebook is executed with nbclient in a fresh ``python3`` kernel (ipykernel from this
virtual environment; jupyter_client swaps the kernelspec's ``python`` for ``sys.executable``),
with ``BRUGSTAT_RESEARCH_DB`` pointing at the session's 1,200-person ``demo_release`` and the
kernel's working directory in ``notebooks/``, as when an analyst opens them in Jupyter. The
kernel talks to this process over ZeroMQ on loopback only; no network is needed (charts are
rendered to SVG by vl-convert). The committed notebooks are executed in memory and never written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import nbformat
import pytest
from nbclient import NotebookClient

from pipelines.settings import Settings

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
EXPECTED = {
    "01_snelstart_analist.ipynb",
    "02_voortgang_per_leefgebied.ipynb",
    "03_doelrealisatie.ipynb",
}
CELL_TIMEOUT = 180  # seconds per cell; each notebook takes a few seconds on the test release


def _notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def _execute(path: Path, research_db: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute(env={**os.environ, "BRUGSTAT_RESEARCH_DB": str(research_db)})
    return nb


def _outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def _stdout(nb: nbformat.NotebookNode) -> str:
    return "".join(
        out.text for out in _outputs(nb) if out.output_type == "stream" and out.name == "stdout"
    )


def _stderr(nb: nbformat.NotebookNode) -> str:
    return "".join(
        out.text for out in _outputs(nb) if out.output_type == "stream" and out.name == "stderr"
    )


def _rich(nb: nbformat.NotebookNode, mimetype: str) -> list[str]:
    return [
        out.data[mimetype]
        for out in _outputs(nb)
        if out.output_type in ("display_data", "execute_result") and mimetype in out.data
    ]


def _run_with_result_table(
    name: str, table: str, research_db: Path, release_id: str
) -> tuple[nbformat.NotebookNode, str]:
    """Run notebook ``name``; its printed result table ``table`` has rows and names the
    release. Returns the executed notebook and its standard output."""
    nb = _execute(NOTEBOOKS / name, research_db)
    out = _stdout(nb)
    found = re.search(rf"Resultaattabel {table}: (\d+) rijen; .* \(release (\S+)\)", out)
    assert found and int(found.group(1)) > 0
    assert found.group(2) == release_id
    return nb, out


def test_notebook_folder_holds_exactly_the_notebooks() -> None:
    """Nothing in notebooks/ that pytest (or --doctest-modules) could collect by mistake."""
    assert {p.name for p in _notebook_paths()} == EXPECTED
    stray = [
        p.name
        for p in NOTEBOOKS.iterdir()
        if p.suffix == ".py" or p.name.startswith(("test_", "conftest"))
    ]
    assert stray == []


@pytest.mark.parametrize("path", _notebook_paths(), ids=lambda p: p.stem)
def test_committed_notebook_is_clean(path: Path) -> None:
    """Valid nbformat 4, kernel python3, and no stored outputs or execution counts."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: stored outputs in cell {cell.get('id')}"
            assert cell.execution_count is None, f"{path.name}: execution count stored"


@pytest.fixture(scope="module")
def research_db(demo_release: Settings) -> Path:
    return demo_release.paths.research_db


@pytest.fixture(scope="module")
def release_id(research_db: Path) -> str:
    with duckdb.connect(str(research_db), read_only=True) as con:
        row = con.execute(
            "select release_id from meta_release order by built_at desc limit 1"
        ).fetchone()
    assert row is not None
    return row[0]


@pytest.mark.slow
def test_quick_start_runs(research_db: Path, release_id: str) -> None:
    nb = _execute(NOTEBOOKS / "01_snelstart_analist.ipynb", research_db)
    out = _stdout(nb)
    assert f"Onderzoeksdatabase: {research_db.resolve()}" in out
    assert f"Release-id: {release_id}" in out
    assert "Schrijven lukt niet" in out  # the connection really is read-only
    html = "\n".join(_rich(nb, "text/html"))
    assert "mart_bridge_scores" in html and "data_dictionary" in html
    assert re.search(r"Uitvoer (MAG|mag NIET) naar buiten", out)
    assert "Audit (terugrekenen uit totalen" in out  # the table with totals went through protect
    assert _stderr(nb) == ""
    # CBS notation for the protected table: × for a secret cell, never "<10" or a bare word
    with duckdb.connect(str(research_db), read_only=True) as con:
        secret = con.execute(
            "select count(*) from mart_goals_reached_by_domain "
            "where area = 'Totaal' and is_suppressed"
        ).fetchone()[0]
    if secret:
        assert "<td>×</td>" in html
    assert "&lt;10" not in html and ">onderdrukt<" not in html


@pytest.mark.slow
def test_progress_per_domain_runs(research_db: Path, release_id: str) -> None:
    nb, out = _run_with_result_table(
        "02_voortgang_per_leefgebied.ipynb", "voortgang", research_db, release_id
    )
    matrix = r"Overgangsmatrix schulden: (\d+ trajecten; audit geslaagd|achtergehouden)"
    assert re.search(matrix, out)
    assert "Uitvoer MAG naar buiten" in out or "Uitvoer mag NIET naar buiten" in out
    assert len(_rich(nb, "image/svg+xml")) >= 2  # charts rendered offline, as SVG
    assert _stderr(nb) == ""


@pytest.mark.slow
def test_goal_attainment_runs(research_db: Path, release_id: str) -> None:
    nb, out = _run_with_result_table(
        "03_doelrealisatie.ipynb", "doelrealisatie", research_db, release_id
    )
    # the steps under the time-to-goal curve went through the output check
    assert re.search(r"Rooster \([\d, ]+\): elke stap haalt de drempel|Geen rooster haalt", out)
    assert "Uitvoer MAG naar buiten" in out or "Uitvoer mag NIET naar buiten" in out
    # small groups exist in the 1,200-person release: their reason is printed, never a number
    assert re.search(r"- .+: (deels )?achtergehouden — fewer than 10 persons", out)
    assert len(_rich(nb, "image/svg+xml")) >= 2
    assert _stderr(nb) == ""
