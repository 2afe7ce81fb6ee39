"""assets.raw.suite: a sound export passes with normal dirt; a broken export fails."""

from __future__ import annotations

import polars as pl

from assets.raw.suite import BSN_MOSTLY, RAW_SPECS, validate_raw

VALID_BSNS = ["111222333", "123456782", "010000008", "999999990"]


def _participants(n: int = 200) -> pl.DataFrame:
    spec = RAW_SPECS[("groningen", "participants")]
    cols: dict[str, list[str | None]] = {c: ["x"] * n for c in spec.required}
    cols.update(
        deelnemer_id=[f"KG-{i:07d}" for i in range(n)],
        postcode=[" 9711 ab", "9711AB"] * (n // 2),
        geboortedatum=["01-02-1980"] * n,
        leeftijd_bij_intake=[None] * n,
        geslacht=[" M", "v", "X ", "V"] * (n // 4),
        bsn=[VALID_BSNS[i % 4] for i in range(n)],
        huishouden=["AL", "eo", "Pzk", "pmk", "OV"] * (n // 5),
        aantal_kinderen=["0", "2"] * (n // 2),
        startdatum=["01-01-2022"] * n,
        einddatum=[None, "01-06-2023"] * (n // 2),
        reden_einde=[None, "Afgerond"] * (n // 2),
        bezwaar_onderzoek=["nee"] * n,
    )
    return pl.DataFrame(cols).with_columns(
        pl.lit("groningen/deelnemers.csv").alias("_source_file"),
        pl.int_range(1, n + 1).alias("_source_row"),
    )


def _measurements(n: int = 200) -> pl.DataFrame:
    levels = ["1", "2", "3", "4", "5", None, " 3 "]
    return pl.DataFrame(
        {
            "meting_id": [f"M{i}" for i in range(n)],
            "deelnemer_id": [f"KG-{i:07d}" for i in range(n)],
            "meetdatum": ["2022-01-01", "1-2-2022", "03-04-2022", "n.b."] * (n // 4),
            **{
                d: [levels[(i + j) % 7] for i in range(n)]
                for j, d in enumerate(RAW_SPECS[("groningen", "measurements")].levels)
            },
        }
    )


def test_clean_participants_with_dirt_pass() -> None:
    df = _participants()
    # ~1 % dirt: unknown code, invalid BSN
    df = df.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("Q"))
        .otherwise("geslacht")
        .alias("geslacht"),
        pl.when(pl.int_range(pl.len()) == 5)
        .then(pl.lit("123456789"))
        .otherwise("bsn")
        .alias("bsn"),
    )
    outcome = validate_raw("groningen", "participants", df)
    assert outcome.passed, outcome.description
    assert "123456789" not in str(outcome.details)


def test_measurements_with_unparseable_dates_within_mostly_fail_when_too_many() -> None:
    # a quarter "n.b." dates: far beyond normal dirt
    outcome = validate_raw("groningen", "measurements", _measurements())
    assert not outcome.passed
    failed = [r for r in outcome.details["results"] if not r["success"]]
    assert [r["columns"] for r in failed] == [["meetdatum"]]
    ok = _measurements().with_columns(pl.lit("2022-01-01").alias("meetdatum"))
    assert validate_raw("groningen", "measurements", ok).passed


def test_shifted_columns_fail() -> None:
    df = _participants()
    names = df.columns
    shifted = df.rename(dict(zip(names[:-2], [*names[1:-2], names[0]], strict=True)))
    outcome = validate_raw("groningen", "participants", shifted)
    assert not outcome.passed
    rules = {r.get("rule") for r in outcome.details["results"] if not r["success"]}
    assert {"code_list", "bsn_11_proef"} <= rules


def test_missing_column_and_unknown_export_fail() -> None:
    outcome = validate_raw("groningen", "participants", _participants().drop("bsn"))
    assert not outcome.passed
    cols = outcome.details["results"][0]
    assert cols["missing_columns"] == ["bsn"]
    assert not validate_raw("groningen", "nope", _participants()).passed


def test_bsn_share_threshold() -> None:
    n = 200
    bad = int(n * (1 - BSN_MOSTLY)) + 5
    df = _participants(n).with_columns(
        pl.when(pl.int_range(pl.len()) < bad).then(pl.lit("12345")).otherwise("bsn").alias("bsn")
    )
    outcome = validate_raw("groningen", "participants", df)
    assert not outcome.passed
    (bsn,) = [r for r in outcome.details["results"] if r.get("rule") == "bsn_11_proef"]
    assert bsn["unexpected_count"] == bad


def test_every_export_name_has_a_spec() -> None:
    expected = {
        "groningen": {"participants", "buddies", "measurements", "goals"},
        "zuidplas": {"registrations"},
        "aalsmeer": {"households", "members"},
        "hengelo": {"contacts", "trajectories"},
        "breda": {"plans"},
    }
    got: dict[str, set[str]] = {}
    for org, export in RAW_SPECS:
        got.setdefault(org, set()).add(export)
    assert got == expected
