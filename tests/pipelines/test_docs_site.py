"""``brugstat docs``: the catalogue page of the demo release, rendered by headless Chromium.

The page must document exactly the analysts' file (its own data_dictionary), carry the release
figures, and stay self-contained: no script, style or link fetched from anywhere."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import pytest

from assets.marts.build import open_read_only
from pipelines.docs_site import DocsError, read_catalogue, render_html, write_docs

_EXTERNAL = re.compile(
    r"https?:|//[a-z0-9]|\bsrc\s*=|<link\b|@import|url\(|\bhref\s*=\s*\"(?!#)", re.IGNORECASE
)


@pytest.fixture(scope="module")
def docs_page(demo_release, tmp_path_factory) -> Path:
    """The catalogue of the shared demo release, written outside the release's data folder."""
    return write_docs(demo_release.paths.research_db, tmp_path_factory.mktemp("docs") / "docs")


def test_page_documents_every_table_and_column_of_the_database(demo_release, docs_page) -> None:
    text = docs_page.read_text(encoding="utf-8")
    con = open_read_only(demo_release.paths.research_db)
    try:
        dd = con.execute(
            "select table_name, column_name, description from data_dictionary"
        ).fetchall()
        release_id, k = con.execute(
            "select release_id, k_achieved from meta_release order by built_at desc limit 1"
        ).fetchone()
    finally:
        con.close()
    assert docs_page.parent.name == release_id
    assert dd, "the demo release has no data dictionary"
    for table, column, _ in dd:
        assert f'id="t-{table}"' in text, f"table {table} has no section"
        assert f"<code>{column}</code>" in text, f"{table}.{column} is not documented"
    assert f"<th>k_achieved</th><td class=mono>{k}</td>" in text
    assert 'href="#t-mart_persons"' in text  # descriptions link to the tables they name


def test_page_is_self_contained_and_published_readable(docs_page) -> None:
    text = docs_page.read_text(encoding="utf-8")
    hits = _EXTERNAL.findall(text)
    assert not hits, f"external references in the catalogue: {hits[:5]}"
    assert stat.S_IMODE(docs_page.stat().st_mode) == 0o644
    assert stat.S_IMODE(docs_page.parent.stat().st_mode) == 0o755


def test_external_reference_detector_has_a_positive_control(demo_release) -> None:
    release, tables = read_catalogue(demo_release.paths.research_db)
    good = render_html(release, tables)
    assert not _EXTERNAL.search(good)
    for planted in (
        '<script src="x.js"></script>',
        '<link rel="stylesheet" href="s.css">',
        "<style>@import 'a.css'</style>",
        '<a href="https://example.org">x</a>',
        '<div style="background:url(a.png)"></div>',
    ):
        assert _EXTERNAL.search(good.replace("<main>", "<main>" + planted, 1)), planted


def test_chromium_renders_tables_and_descriptions(
    demo_release, docs_page, headless_chromium, tmp_path: Path
) -> None:
    png = tmp_path / "catalogue.png"  # kept as the test's artefact
    headless_chromium(docs_page, f"--screenshot={png}", "--window-size=1200,1600")
    assert png.exists() and png.stat().st_size > 20_000, "screenshot missing or blank"
    dom = headless_chromium(docs_page, "--dump-dom")
    con = open_read_only(demo_release.paths.research_db)
    try:
        tables = [
            r[0] for r in con.execute("select distinct table_name from data_dictionary").fetchall()
        ]
        desc = con.execute(
            "select description from data_dictionary "
            "where table_name = 'mart_persons' and column_name = 'person_id'"
        ).fetchone()[0]
    finally:
        con.close()
    for t in tables:
        assert f">{t}<" in dom, f"{t} not rendered"
    assert desc.split(".")[0] in dom  # escaped text: compare the first sentence (no quotes)


def test_missing_database_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DocsError, match="no research database"):
        write_docs(tmp_path / "absent.duckdb", tmp_path / "docs")
    assert not (tmp_path / "docs").exists()


def test_cli_docs_writes_the_page_and_says_where(demo_release, tmp_path: Path, monkeypatch, capsys):
    from pipelines import cli

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(demo_release.paths.research_db, data / "research.duckdb")
    settings = demo_release.with_data_dir(data)
    monkeypatch.setattr(cli, "load_settings", lambda: settings)
    assert cli.main(["docs"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].endswith("index.html")
    assert Path(out[0].split(": ", 1)[1]).is_file()
    (data / "research.duckdb").unlink()
    assert cli.main(["docs"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no research database" in err[0]
