"""assets.staging.suite: exact suites per canonical table, referential integrity."""

from __future__ import annotations

import datetime as dt

import polars as pl

from assets.staging import schema
from assets.staging.suite import validate_staging

D = dt.date


def _lineage(n: int, file: str) -> dict[str, list]:
    return {
        "organisation": ["groningen"] * n,
        "source_file": [file] * n,
        "source_row": list(range(1, n + 1)),
    }


def _tables() -> dict[str, pl.DataFrame]:
    persons = pl.DataFrame(
        {
            **_lineage(3, "groningen/deelnemers.csv"),
            "source_person_id": ["KG-1", "KG-2", "KG-3"],
            "bsn": ["111222333", "123456782", "010000008"],
            "birth_date": [D(1980, 1, 2), None, D(1975, 5, 5)],
            "age_at_intake": [None, 44, None],
            "gender": ["man", "vrouw", None],
            "postcode": ["9711AB", None, "9712CD"],
            "house_number": ["1", "2", None],
            "household_type": ["alleenstaand", None, "overig"],
            "children_count": [0, 2, None],
            "nationality_group": ["nederlands", None, "eu"],
        }
    )
    episodes = pl.DataFrame(
        {
            **_lineage(3, "groningen/deelnemers.csv"),
            "episode_id": ["KG-1", "KG-2", "KG-3"],
            "source_person_id": ["KG-1", "KG-2", "KG-3"],
            "programme": ["kansrijk"] * 3,
            "start_date": [D(2022, 1, 1), D(2022, 2, 1), D(2023, 1, 1)],
            "end_date": [None, D(2022, 2, 1), D(2024, 1, 1)],
            "end_reason": ["ongoing", "completed", "aborted"],
            "outcome": [None, "afgerond", None],
            "objects_to_research": [False, True, False],
        }
    )
    scores = pl.DataFrame(
        {
            **_lineage(4, "groningen/metingen.csv"),
            "episode_id": ["KG-1", "KG-1", "KG-2", "KG-3"],
            "measured_on": [D(2022, 1, 5)] * 4,
            "domain": ["wonen", "gezin", "wonen", "schulden"],
            "level": [1, 5, 3, 2],
        }
    )
    goals = pl.DataFrame(
        {
            **_lineage(2, "groningen/doelen.csv"),
            "goal_id": ["G1", "G2"],
            "episode_id": ["KG-1", "KG-3"],
            "domain": ["schulden", "netto_inkomen"],
            "set_on": [D(2022, 1, 5), D(2023, 1, 5)],
            "achieved_on": [None, D(2023, 1, 5)],
            "confidence": [7, None],
        }
    )
    debts = pl.DataFrame(
        {
            **_lineage(1, "zuidplas/registraties.csv"),
            "episode_id": ["KG-2"],
            "measured_on": [D(2022, 2, 1)],
            "debt_amount_eur": [0.0],
            "creditor_count": [None],
        }
    )
    raw = {
        "persons": persons,
        "episodes": episodes,
        "bridge_scores": scores,
        "goals": goals,
        "debts": debts,
    }
    return {k: schema.conform(v, schema.ENTITIES[k]) for k, v in raw.items()}


def test_clean_tables_pass() -> None:
    tables = _tables()
    tables["case_problems"] = schema.empty(schema.CASE_PROBLEMS)  # empty tables pass too
    outcomes = validate_staging(tables)
    assert set(outcomes) == set(tables)
    for name, o in outcomes.items():
        assert o.passed, (name, o.description, o.details)
    assert outcomes["episodes"].details["referential_integrity"] == (
        "organisation/source_person_id -> persons"
    )


def test_each_rule_catches_its_error() -> None:
    t = _tables()
    t["persons"] = t["persons"].with_columns(
        pl.Series("bsn", ["111222333", "123456789", "010000008"]),  # fails the 11-proef
        pl.Series("gender", ["man", "m", None]),  # not in GENDERS
        pl.Series("children_count", [0, 21, None], dtype=pl.Int16),
    )
    t["episodes"] = t["episodes"].with_columns(
        pl.Series("end_date", [None, D(2021, 1, 1), D(2024, 1, 1)]),  # end before start
        pl.Series("source_person_id", ["KG-1", "KG-2", "KG-9"]),  # orphan
    )
    t["bridge_scores"] = pl.concat([t["bridge_scores"], t["bridge_scores"].head(1)]).with_columns(
        pl.Series("level", [1, 5, 3, 6, 1], dtype=pl.Int8)
    )
    t["goals"] = t["goals"].with_columns(
        pl.Series("achieved_on", [D(2021, 1, 1), None]),
        pl.Series("episode_id", ["KG-1", "XX"]),
    )
    t["debts"] = t["debts"].with_columns(pl.Series("debt_amount_eur", [-5.0]))
    outcomes = validate_staging(t)

    def failed(name: str) -> set[tuple[str, str]]:
        return {
            (r["rule"], ",".join(r["columns"]))
            for r in outcomes[name].details["results"]
            if not r["success"]
        }

    assert failed("persons") == {
        ("bsn_11_proef", "_bsn_valid"),
        ("code", "gender"),
        ("range", "children_count"),
    }
    assert failed("episodes") == {
        ("date_order", "end_date,start_date"),
        ("referential_integrity", "_parent_known"),
    }
    assert failed("bridge_scores") == {
        ("key", "organisation,episode_id,measured_on,domain"),
        ("range", "level"),
    }
    assert failed("goals") == {
        ("date_order", "achieved_on,set_on"),
        ("referential_integrity", "_parent_known"),
    }
    assert failed("debts") == {("range", "debt_amount_eur")}
    orphans = [
        r for r in outcomes["goals"].details["results"] if r["rule"] == "referential_integrity"
    ]
    assert orphans[0]["unexpected_count"] == 1
    assert "123456789" not in str(outcomes["persons"].details)


def test_missing_column_null_key_and_no_parent() -> None:
    t = _tables()
    outcomes = validate_staging(
        {
            "bridge_scores": t["bridge_scores"]
            .drop("level")
            .with_columns(pl.Series("episode_id", [None, "KG-1", "KG-2", "KG-3"]))
        }
    )
    o = outcomes["bridge_scores"]
    assert not o.passed
    assert o.details["referential_integrity"].startswith("not checked")
    rules = {r["rule"] for r in o.details["results"] if not r["success"]}
    assert rules == {"canonical_columns", "not_null"}
    assert not validate_staging({"nonsense": t["persons"]})["nonsense"].passed


def test_future_date_fails() -> None:
    t = _tables()
    scores = t["bridge_scores"].with_columns(pl.lit(D(2999, 1, 1)).alias("measured_on"))
    o = validate_staging({"bridge_scores": scores})["bridge_scores"]
    assert {r["rule"] for r in o.details["results"] if not r["success"]} == {"date_not_in_future"}


def test_all_null_optional_dates_pass() -> None:
    t = _tables()
    goals = t["goals"].with_columns(pl.lit(None, dtype=pl.Date).alias("achieved_on"))
    assert validate_staging({"goals": goals, "episodes": t["episodes"]})["goals"].passed


def test_witness_validation_matches_whole_table(monkeypatch) -> None:
    """Above SAMPLE_ROWS GX sees only the witness rows: same verdicts and unexpected counts."""
    import assets.staging.suite as st

    t = _tables()
    t["persons"] = t["persons"].with_columns(
        pl.Series("bsn", ["111222333", "123456789", "010000008"]),
        pl.Series("gender", ["man", "m", None]),
    )
    t["episodes"] = t["episodes"].with_columns(
        pl.Series("end_date", [None, D(2021, 1, 1), D(2024, 1, 1)]),
        pl.Series("source_person_id", ["KG-1", "KG-2", "KG-9"]),
    )
    t["bridge_scores"] = pl.concat([t["bridge_scores"], t["bridge_scores"].head(1)]).with_columns(
        pl.Series("level", [1, 5, 3, 6, 1], dtype=pl.Int8)
    )
    t["goals"] = t["goals"].with_columns(pl.Series("episode_id", ["KG-1", "XX"]))
    t["debts"] = t["debts"].with_columns(pl.Series("measured_on", [D(2999, 1, 1)]))

    def summary(outcomes: dict) -> dict:
        return {
            name: sorted(
                (r["rule"], ",".join(r["columns"]), r["success"], r.get("unexpected_count"))
                for r in o.details["results"]
            )
            for name, o in outcomes.items()
        }

    whole = validate_staging(t)
    monkeypatch.setattr(st, "SAMPLE_ROWS", 0)
    witnessed = validate_staging(t)
    assert summary(witnessed) == summary(whole)
    assert not witnessed["goals"].passed and not witnessed["bridge_scores"].passed
    # a clean row that breaks nothing is not needed by GX: the witness leaves it out
    clean = st.witness_rows("bridge_scores", _tables()["bridge_scores"], _tables(), sample=0)
    assert clean.height == 1  # the min and max measured_on row only (all dates equal: row 0)


def _summary(outcomes: dict) -> dict:
    return {
        name: sorted(
            (r["rule"], ",".join(r["columns"]), r["success"], r.get("unexpected_count"))
            for r in o.details["results"]
        )
        for name, o in outcomes.items()
    }


def _two_organisations() -> tuple[dict[str, pl.DataFrame], ...]:
    """(union, groningen part, zuidplas part): the test tables twice, the second with its own
    dirt (a repeated score key, an orphan goal)."""
    a = _tables()
    b = {
        e: df.with_columns(pl.lit("zuidplas").alias("organisation")) for e, df in _tables().items()
    }
    b["bridge_scores"] = pl.concat([b["bridge_scores"], b["bridge_scores"].head(1)])
    b["goals"] = b["goals"].with_columns(pl.Series("episode_id", ["KG-1", "XX"]))
    return {e: pl.concat([a[e], b[e]]) for e in a}, a, b


def test_validation_in_parts_per_organisation_equals_validation_of_the_whole(monkeypatch) -> None:
    """The staging asset validates one organisation at a time: same verdicts and counts as the
    union, with and without witness rows; an organisation cannot come back in a later part."""
    import assets.staging.suite as st

    whole, a, b = _two_organisations()
    for sample in (st.SAMPLE_ROWS, 0):
        monkeypatch.setattr(st, "SAMPLE_ROWS", sample)
        validation = st.StagingValidation()
        validation.add(a)
        validation.add(b)
        parts = validation.outcomes()
        assert _summary(parts) == _summary(validate_staging(whole))
        assert not parts["bridge_scores"].passed and not parts["goals"].passed
        assert parts["bridge_scores"].details["rows"] == whole["bridge_scores"].height
    validation = st.StagingValidation()
    validation.add(a)
    try:
        validation.add(a)
    except ValueError as exc:
        assert "groningen" in str(exc)
    else:
        raise AssertionError("a second part of the same organisation was accepted")


def test_orphan_look_up_per_organisation_equals_the_join() -> None:
    import assets.staging.suite as st

    df = pl.DataFrame(
        {
            "organisation": ["groningen", "groningen", "zuidplas", "breda", None, "zuidplas"],
            "episode_id": ["E1", "E2", "E1", "E1", "E1", None],
            "other": [1, 2, 3, 4, 5, 6],
        }
    )
    keys = pl.DataFrame({"organisation": ["groningen", "zuidplas"], "episode_id": ["E1", "E1"]})
    fast = df.select(st._orphans(["organisation", "episode_id"], df, keys)).to_series()
    slow = st._orphans(["episode_id", "organisation"], df, keys)  # the general join path
    assert fast.to_list() == [False, True, False, True, False, False]
    assert fast.to_list() == slow.to_list()
