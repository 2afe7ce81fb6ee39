"""``brugstat check-output``: an analyst's table with a cell of 3, a table whose small cell could
be recomputed from its totals, and a table that would undo the release's own suppression by
differencing with the published tables (found through the steward's ledger)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy.optimize import linprog

from anonymise.tables.model import cell_key
from pipelines import cli
from pipelines.output_checking import check_result, release_rules, steward_ledger
from pipelines.settings import OutputCheckSettings, Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def deployment(demo_release: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A copy of the demo release's databases, so each test writes its records in its own place."""
    data = tmp_path / "data"
    data.mkdir()
    for db in (demo_release.paths.research_db, demo_release.paths.staging_db):
        shutil.copy2(db, data / db.name)
    monkeypatch.setenv("BRUGSTAT_DATA_DIR", str(data))
    return replace(
        demo_release.with_data_dir(data),
        output_check=OutputCheckSettings(records_dir=str(tmp_path / "records")),
    )


def _interval(
    target: str, published: dict[str, float], equations: list[dict[str, float]]
) -> tuple[float, float]:
    """The attacker's bounds on one unpublished cell: every other unpublished cell ≥ 0 and every
    additive equation of the release and of the analyst's table holds."""
    unknown = sorted({k for eq in equations for k in eq if k not in published})
    pos = {k: i for i, k in enumerate(unknown)}
    rows, rhs = [], []
    for eq in equations:
        row = np.zeros(len(unknown))
        b = 0.0
        for k, c in eq.items():
            if k in published:
                b -= c * published[k]
            else:
                row[pos[k]] += c
        if row.any():
            rows.append(row)
            rhs.append(b)
    a, b = np.array(rows), np.array(rhs)
    e = np.zeros(len(unknown))
    e[pos[target]] = 1.0
    lo = linprog(e, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
    hi = linprog(-e, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
    assert lo.status == 0 and hi.status == 0
    return lo.fun, -hi.fun


def test_a_cell_of_three_is_suppressed_and_recorded(deployment: Settings, tmp_path: Path) -> None:
    table = tmp_path / "uitkomst.csv"
    pl.DataFrame({"wijk": ["Noord", "Oost", "Zuid"], "n": [14, 3, 25]}).write_csv(table)
    out = check_result(deployment, file=table)
    d = out.decision
    assert not d.may_leave and d.may_leave_suppressed
    assert d.table["n"].to_list() == [14, None, 25]
    record = json.loads(out.record_path.read_text())
    assert record["release_id"] and record["rules"]["threshold"] == 10
    assert record["cells"] == [{"row": 1, "wijk": "Oost", "reason": "primary:threshold"}]
    # the record and the summary never carry the suppressed value; the released file has none
    assert "3" not in json.dumps(record["cells"]) and "Oost" in out.summary_path.read_text()
    assert pl.read_csv(out.table_path, infer_schema_length=0)["n"].to_list() == ["14", "×", "25"]


def test_a_cell_recomputable_from_the_totals_gets_a_partner(deployment: Settings) -> None:
    wijk, niveau, total = (
        ["A", "A", "A", "B", "B", "B", "Totaal", "Totaal", "Totaal"],
        ["1", "2", "Totaal"] * 3,
        {"wijk": "Totaal", "niveau": "Totaal"},
    )
    counts = pl.DataFrame(
        {"wijk": wijk, "niveau": niveau, "n": [12, 3, 15, 20, 25, 45, 32, 28, 60]}
    )
    path = deployment.paths.data_dir / "met_totalen.parquet"
    counts.write_parquet(path)
    d = check_result(deployment, file=path).decision
    assert not d.may_leave and d.record["audit"]["ok"]

    def key(w: str, lv: str) -> str:
        return cell_key("count", {"wijk": w, "niveau": lv}, total)

    # every row and column of the table is an equation the attacker can use
    eqs = [{key(w, "1"): 1, key(w, "2"): 1, key(w, "Totaal"): -1} for w in ("A", "B", "Totaal")]
    eqs += [{key("A", v): 1, key("B", v): 1, key("Totaal", v): -1} for v in ("1", "2", "Totaal")]
    published = {
        key(w, v): n
        for w, v, n in d.table.select("wijk", "niveau", "n").iter_rows()
        if n is not None
    }
    lo, hi = _interval(key("A", "2"), published, eqs)
    assert hi - lo >= 1.0, "the small cell can be recomputed from what may leave"
    # had only the small cell been blanked, the totals would give it away
    naive = {key(w, v): n for w, v, n in counts.iter_rows() if (w, v) != ("A", "2")}
    lo, hi = _interval(key("A", "2"), naive, eqs)
    assert hi - lo < 1e-6


def test_republishing_released_cells_is_checked_against_the_ledger(deployment: Settings) -> None:
    """The analyst's table of persons per organisation and end reason has the same cells as the
    release's outcome table summed over programmes. Cells the release suppressed protect small
    cells of that table; publishing them would let an attacker difference them back."""
    _, release_id = release_rules(deployment)
    ledger = steward_ledger(deployment.paths.staging_db, release_id)
    assert ledger is not None
    cells = ledger.published().filter(pl.col("measure") == "persons_by_end_reason")
    # the analyst's (true) counts of the 2-D table organisation × end reason with its totals
    parsed = cells.with_columns(
        pl.col("coordinates").str.extract(f"{d}=([^;]*)").alias(d)
        for d in ("organisation", "programme", "end_reason")
    ).filter(pl.col("programme") == "Totaal")
    table = parsed.select("organisation", "end_reason", pl.col("value").cast(pl.Int64).alias("n"))
    path = deployment.paths.data_dir / "uitkomsten.csv"
    table.write_csv(path)
    released = {
        r["key"]: r["value"] for r in cells.filter(~pl.col("suppressed")).iter_rows(named=True)
    }
    primaries = cells.filter(pl.col("reason").str.starts_with("primary"))["key"].to_list()
    eqs_frame = ledger.equations(None)
    equations = [
        dict(zip(g["key"].to_list(), g["coefficient"].to_list(), strict=True))
        for _, g in eqs_frame.group_by("release_id", "equation")
    ]
    equations = [e for e in equations if any(k in set(cells["key"]) for k in e)]
    totals = {"organisation": "Totaal", "end_reason": "Totaal"}

    def leaves(decision) -> dict[str, float]:
        return {
            cell_key("persons_by_end_reason", {"organisation": o, "end_reason": e}, totals): n
            for o, e, n in decision.table.select("organisation", "end_reason", "n").iter_rows()
            if n is not None
        }

    with_ledger = check_result(deployment, file=path, measure="persons_by_end_reason").decision
    assert with_ledger.record["with_ledger"] and with_ledger.record["audit"]["ok"]
    known = released | leaves(with_ledger)
    audited = [key for key in primaries if key not in known]
    assert audited, "the release has no small cell for this test to protect"
    for key in audited:
        lo, hi = _interval(key, known, equations)
        assert hi - lo > 1e-6, f"{key} is recomputable from the release and the analyst's table"
    # the check without the ledger lets cells leave that the release suppressed
    alone = check_result(deployment, file=path, measure="persons_by_end_reason", use_ledger=False)
    assert not alone.decision.record["with_ledger"]
    suppressed_before = set(cells.filter(pl.col("suppressed"))["key"].to_list())
    assert suppressed_before & set(leaves(alone.decision)) - set(leaves(with_ledger))
    # and with them a small cell of the release is recomputed exactly
    known_alone = released | leaves(alone.decision)
    widths = [
        np.subtract(*_interval(key, known_alone, equations)[::-1])
        for key in primaries
        if key not in known_alone
    ]
    assert min(widths) < 1e-6


def test_command_line(deployment: Settings, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = cli.main(
        [
            "check-output",
            "--sql",
            "select domain, count(distinct trajectory_id) as n from mart_bridge_scores group by 1",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "MAG naar buiten" in out and "Record:" in out
    small = tmp_path / "klein.csv"
    pl.DataFrame({"groep": ["a", "b"], "n": [40, 3]}).write_csv(small)
    assert cli.main(["check-output", str(small)]) == 1
    assert "minder dan 10 eenheden" in capsys.readouterr().out
    model = tmp_path / "model.csv"
    pl.DataFrame({"term": ["const", "x"], "coef": [0.3, 1.2], "df_resid": [4, 4]}).write_csv(model)
    assert cli.main(["check-output", str(model), "--kind", "model"]) == 3
    assert cli.main(["check-output", str(tmp_path / "missing.csv")]) == 2
    assert "file not found" in capsys.readouterr().err
    with duckdb.connect(str(deployment.paths.research_db), read_only=True) as con:
        assert con.execute("select count(*) from meta_release").fetchone()[0] >= 1
