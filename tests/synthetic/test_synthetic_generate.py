"""The synthetic landing exports: formats (FORMATS.md), reproducibility, realism and dirt."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from anonymise.bsn import is_valid_bsn, normalise_bsn
from assets.raw.contracts import BRIDGE_DOMAINS
from synthetic import COLUMNS, GenerationSummary, generate

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 2_000
SEED = 20261123
TODAY = date(2026, 11, 1)
ENCODING = {"aalsmeer": "latin-1"}
SEPARATOR = {"groningen": ";", "zuidplas": ",", "aalsmeer": ";", "hengelo": ",", "breda": ";"}
BSN_FILES = (
    "groningen/deelnemers.csv",
    "zuidplas/registraties.csv",
    "aalsmeer/leden.csv",
    "hengelo/contacten.csv",
    "breda/doorbraakplannen.csv",
)
STAGED = (
    "groningen/deelnemers.csv",
    "groningen/metingen.csv",
    "groningen/doelen.csv",
    "zuidplas/registraties.csv",
    "aalsmeer/huishoudens.csv",
    "aalsmeer/leden.csv",
    "hengelo/contacten.csv",
    "hengelo/trajecten.csv",
    "breda/doorbraakplannen.csv",
)
EPISODE_FILES = {  # file -> (start column, end column, date format)
    "groningen/deelnemers.csv": ("startdatum", "einddatum", "%d-%m-%Y"),
    "zuidplas/registraties.csv": ("startdatum", "einddatum", "%Y-%m-%d"),
    "aalsmeer/huishoudens.csv": ("startdatum", "einddatum", "%d/%m/%Y"),
    "hengelo/trajecten.csv": ("startdatum", "einddatum", "%d-%m-%Y"),
    "breda/doorbraakplannen.csv": ("startdatum", "einddatum", "%Y-%m-%d"),
}
DOMAINS = BRIDGE_DOMAINS


@dataclass(frozen=True)
class Run:
    landing: Path
    summary: GenerationSummary

    def text(self, rel: str) -> str:
        raw = (self.landing / rel).read_bytes()
        return raw.decode(ENCODING.get(rel.split("/")[0], "utf-8")).removeprefix("\ufeff")

    def read(self, rel: str) -> pl.DataFrame:
        """A landing file as the raw layer reads it: every column text, empty = ""."""
        df = pl.read_csv(
            io.StringIO(self.text(rel)),
            separator=SEPARATOR[rel.split("/")[0]],
            infer_schema=False,
            quote_char='"',
        )
        return df.with_columns(pl.all().fill_null(""))


def _hashes(landing: Path) -> dict[str, str]:
    return {
        p.relative_to(landing).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(landing.rglob("*.csv"))
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    landing = tmp_path_factory.mktemp("landing")
    return Run(landing, generate(landing, people=PEOPLE, seed=SEED, today=TODAY))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A larger run for rates of 0.3-1 % (they need thousands of rows)."""
    landing = tmp_path_factory.mktemp("landing_big")
    return Run(landing, generate(landing, people=20_000, seed=7, today=TODAY))


def _clean(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().str.to_lowercase()


def _parse(col: str, *formats: str) -> pl.Expr:
    return pl.coalesce(
        [pl.col(col).str.strip_chars().str.to_date(f, strict=False) for f in formats]
    )


# --------------------------------------------------------------------------- formats
def _formats_md() -> dict[str, dict[str, tuple[str, ...]]]:
    """organisation -> file -> columns, parsed from assets/raw/FORMATS.md."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    org = None
    for line in (ROOT / "assets/raw/FORMATS.md").read_text().splitlines():
        if m := re.match(r"^## (\w+) — ", line):
            org = m.group(1)
            out[org] = {}
        elif org and (m := re.match(r"^\| `([\w.]+\.csv)` \|[^|]*\|(.*)\|\s*$", line)):
            cell = m.group(2).replace("\\|", "")
            while re.search(r"\([^()]*\)", cell):  # drop descriptions (they name columns too)
                cell = re.sub(r"\([^()]*\)", "", cell)
            out[org][m.group(1)] = tuple(re.findall(r"`(\w+)`", cell))
    return out


def test_files_and_headers_are_exactly_those_of_formats_md(run: Run) -> None:
    spec = _formats_md()
    assert set(spec) == {"groningen", "zuidplas", "aalsmeer", "hengelo", "breda"}
    written = sorted(p.relative_to(run.landing).as_posix() for p in run.landing.rglob("*"))
    expected = sorted([*spec, *(f"{o}/{f}" for o, files in spec.items() for f in files)])
    assert written == expected
    for org, files in spec.items():
        assert {f: tuple(c) for f, c in COLUMNS[org].items()} == files
        for name, columns in files.items():
            header = run.text(f"{org}/{name}").split("\n", 1)[0]
            assert tuple(header.split(SEPARATOR[org])) == columns, f"{org}/{name}"
            assert run.read(f"{org}/{name}").height == run.summary.files[f"{org}/{name}"]


def test_summary_counts_people_per_organisation(run: Run) -> None:
    s = run.summary
    assert s.total_people == PEOPLE and s.seconds > 0 and s.rows == sum(s.files.values())
    total = sum(s.people.values())
    assert PEOPLE * 1.02 < total < PEOPLE * 1.09  # ~5 % at a second organisation
    share = {o: n / total for o, n in s.people.items()}
    for org, want in {"groningen": 0.40, "breda": 0.20, "hengelo": 0.15, "aalsmeer": 0.10}.items():
        assert abs(share[org] - want) < 0.04, org
    assert s.people["groningen"] == run.read("groningen/deelnemers.csv").unique().height


# --------------------------------------------------------------------------- reproducibility
def test_same_seed_gives_identical_bytes_and_another_seed_differs(run: Run, tmp_path: Path):
    again = tmp_path / "again"
    other = tmp_path / "other"
    generate(again, people=PEOPLE, seed=SEED, today=TODAY)
    generate(other, people=PEOPLE, seed=SEED + 1, today=TODAY)
    first = _hashes(run.landing)
    assert len(first) == 10
    assert _hashes(again) == first
    differ = _hashes(other)
    assert differ.keys() == first.keys()
    assert all(differ[k] != first[k] for k in first)


def test_progress_bar_is_optional(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate(tmp_path, people=50, seed=1, progress=True)
    assert "synthetic" in capsys.readouterr().err


# --------------------------------------------------------------------------- encodings
def test_aalsmeer_is_latin1_with_accented_names(run: Run) -> None:
    for name in ("huishoudens.csv", "leden.csv"):
        raw = (run.landing / "aalsmeer" / name).read_bytes()
        raw.decode("latin-1")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            assert any(b > 0x7F for b in raw)
    leden = run.read("aalsmeer/leden.csv")
    names = pl.concat([leden["voornaam"], leden["achternaam"]])
    accented = names.str.contains("[éëö]")
    assert accented.sum() >= 5
    assert not (run.landing / "aalsmeer/leden.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_bom_only_for_hengelo(run: Run) -> None:
    for rel in run.summary.files:
        starts = (run.landing / rel).read_bytes().startswith(b"\xef\xbb\xbf")
        assert starts == rel.startswith("hengelo/"), rel


# --------------------------------------------------------------------------- BSN
@pytest.mark.parametrize("rel", BSN_FILES)
def test_bsn_share_passing_11_proef(big: Run, rel: str) -> None:
    df = big.read(rel).unique()
    share = df.select(is_valid_bsn(normalise_bsn(pl.col("bsn"))).mean()).item()
    assert 0.98 <= share < 1.0, share


def test_valid_bsns_are_unique_per_person(big: Run) -> None:
    keys = {
        "groningen/deelnemers.csv": "deelnemer_id",
        "zuidplas/registraties.csv": "clientnummer",
        "aalsmeer/leden.csv": "lid_id",
        "hengelo/contacten.csv": "contact_id",
        "breda/doorbraakplannen.csv": "plan_id",
    }
    for rel, key in keys.items():
        df = (
            big.read(rel)
            .select(_clean(key).alias("id"), normalise_bsn(pl.col("bsn")).alias("bsn"))
            .filter(is_valid_bsn(pl.col("bsn")))
            .unique()
        )
        assert df["bsn"].n_unique() == df.height, rel  # one person per valid BSN
        assert df["id"].n_unique() == df.height, rel  # one valid BSN per person


def test_person_at_two_organisations_has_the_same_bsn(big: Run) -> None:
    gro = big.read("groningen/deelnemers.csv").select(
        normalise_bsn(pl.col("bsn")).alias("bsn"),
        _parse("geboortedatum", "%d-%m-%Y").alias("birth"),
        _clean("geslacht").replace({"m": "man", "v": "vrouw"}).alias("sex"),
        pl.col("voornaam"),
    )
    zui = big.read("zuidplas/registraties.csv").select(
        normalise_bsn(pl.col("bsn")).alias("bsn"),
        _parse("geboortedatum", "%Y-%m-%d").alias("birth_z"),
        _clean("geslacht").alias("sex_z"),
        pl.col("naam"),
    )
    both = gro.filter(is_valid_bsn(pl.col("bsn"))).unique().join(zui.unique(), on="bsn")
    assert both.height >= 20  # ~5 % of persons are at a second organisation
    with_birth = both.filter(pl.col("birth").is_not_null() & pl.col("birth_z").is_not_null())
    assert (with_birth["birth"] == with_birth["birth_z"]).all()
    known = both.filter(
        pl.col("sex").is_in(["man", "vrouw"]) & pl.col("sex_z").is_in(["man", "vrouw"])
    )
    assert (known["sex"] == known["sex_z"]).mean() > 0.97
    assert both.select(pl.col("naam").str.starts_with(pl.col("voornaam")).mean()).item() > 0.97
    # and across all five organisations about 5 % of persons share a BSN with another one
    bsns = [
        big.read(rel).select(normalise_bsn(pl.col("bsn")).alias("bsn")).unique()
        for rel in BSN_FILES
        if rel != "aalsmeer/leden.csv"
    ]
    leden = big.read("aalsmeer/leden.csv").filter(_clean("rol") == "aanvrager")
    bsns.append(leden.select(normalise_bsn(pl.col("bsn")).alias("bsn")).unique())
    counts = pl.concat(bsns).drop_nulls().group_by("bsn").len()
    assert 0.03 < (counts["len"] > 1).sum() / counts.height < 0.07


# --------------------------------------------------------------------------- dirt
def test_exact_duplicates_at_about_one_percent(big: Run) -> None:
    dup = total = 0
    for rel in STAGED:
        df = big.read(rel)
        dup += df.height - df.unique().height
        total += df.height
    assert 0.006 < dup / total < 0.014
    buddies = big.read("groningen/buddies.csv")
    assert buddies.height == buddies.unique().height


def test_levels_in_range_except_planted_out_of_range(big: Run) -> None:
    m = big.read("groningen/metingen.csv").unique()
    values = pl.concat([m[d] for d in DOMAINS])
    assert set(values.unique().to_list()) <= {"", "0", "1", "2", "3", "4", "5", "6", "9"}
    bad_row = pl.any_horizontal([pl.col(d).is_in(["0", "6", "9"]) for d in DOMAINS])
    share = m.select(bad_row.mean()).item()
    assert 0.001 < share < 0.006, share
    empty = (values == "").mean()
    assert 0.005 < empty < 0.03


def test_missing_and_unparseable_dates(big: Run) -> None:
    m = big.read("groningen/metingen.csv")
    d = pl.concat(
        [
            m.select(pl.col("meetdatum").alias("d")),
            big.read("groningen/deelnemers.csv").select(pl.col("startdatum").alias("d")),
            big.read("groningen/doelen.csv").select(pl.col("datum_gesteld").alias("d")),
        ]
    )
    missing = (d["d"] == "").mean()
    parsed = d.filter(pl.col("d") != "").select(
        _parse("d", "%d-%m-%Y", "%Y-%m-%d", "%d-%m-%Y").alias("p")
    )
    unparseable = parsed["p"].is_null().mean()
    assert 0.005 < missing < 0.02, missing
    assert 0.001 < unparseable < 0.01, unparseable
    # mixed formats in metingen: dd-mm-yyyy, yyyy-mm-dd and d-m-yyyy all occur
    md = m["meetdatum"]
    assert md.str.contains(r"^\d{2}-\d{2}-\d{4}$").mean() > 0.4
    assert md.str.contains(r"^\d{4}-\d{2}-\d{2}$").mean() > 0.1
    assert md.str.contains(r"^\d-\d{1,2}-\d{4}$|^\d{1,2}-\d-\d{4}$").mean() > 0.02


def test_end_before_start_at_about_half_a_percent(big: Run) -> None:
    bad = total = 0
    for rel, (start, end, fmt) in EPISODE_FILES.items():
        df = big.read(rel).select(_parse(start, fmt).alias("s"), _parse(end, fmt).alias("e"))
        df = df.drop_nulls()
        bad += (df["e"] < df["s"]).sum()
        total += df.height
    assert 0.002 < bad / total < 0.012, bad / total


def test_unknown_codes_messy_values_orphans_and_bad_numbers_occur(big: Run) -> None:
    d = big.read("groningen/deelnemers.csv")
    assert not _clean_set(d, "geslacht") <= {"m", "v", "x"}
    assert _clean_set(d, "geslacht") >= {"m", "v", "x"}
    assert (d["postcode"] != d["postcode"].str.strip_chars()).any()
    ids = set(d.select(_clean("deelnemer_id"))["deelnemer_id"])
    for rel in ("groningen/metingen.csv", "groningen/doelen.csv"):
        refs = big.read(rel).select(_clean("deelnemer_id"))["deelnemer_id"]
        orphan = (~refs.is_in(list(ids))).mean()
        assert 0.001 < orphan < 0.01, rel
    z = big.read("zuidplas/registraties.csv")
    procs = {"vroegsignalering", "geldzaken", "wisselgeldbudget", "1g1p1r casusregie"}
    assert _clean_set(z, "proces") > procs
    conf = big.read("groningen/doelen.csv")["vertrouwen"].cast(pl.Int64)
    assert 0.001 < ((conf < 1) | (conf > 10)).mean() < 0.01
    debts = big.read("breda/doorbraakplannen.csv")["schulden_totaal"].cast(pl.Int64)
    assert (debts < 0).any()


def _clean_set(df: pl.DataFrame, col: str) -> set[str]:
    return set(df.select(_clean(col))[col].unique().to_list()) - {""}


# --------------------------------------------------------------------------- Bridge realism
def _measurements(run: Run) -> pl.DataFrame:
    m = run.read("groningen/metingen.csv").unique()
    return (
        m.with_columns(
            _clean("deelnemer_id").alias("pid"),
            _parse("meetdatum", "%d-%m-%Y", "%Y-%m-%d").alias("on"),
            *[pl.col(d).cast(pl.Int64, strict=False) for d in DOMAINS],
        )
        .filter(pl.col("on").is_not_null())
        .sort("pid", "on")
    )


def test_measurements_about_three_months_apart(big: Run) -> None:
    m = _measurements(big)
    gaps = m.select(pl.col("on").diff().over("pid").dt.total_days().alias("g"))["g"].drop_nulls()
    gaps = gaps.filter(gaps > 0)
    assert 75 <= gaps.median() <= 100
    assert gaps.is_between(49, 135).mean() > 0.9  # 91 days ± 3 weeks, plus missing dates
    per = m.group_by("pid").len()["len"]
    assert 6 <= per.mean() <= 12  # ~9 per participant (the benchmark assumes about 9)


def test_bridge_trajectories_improve_on_average(big: Run) -> None:
    m = _measurements(big).filter(pl.all_horizontal([pl.col(d).is_between(1, 5) for d in DOMAINS]))
    per = m.group_by("pid").agg(
        pl.len().alias("n"),
        *[pl.col(d).first().alias(f"{d}_0") for d in DOMAINS],
        *[pl.col(d).last().alias(f"{d}_1") for d in DOMAINS],
    )
    per = per.filter(pl.col("n") >= 3)
    assert per.height > 1000
    for d in ("schulden", "spaargeld", "netto_inkomen"):
        first, last = per[f"{d}_0"].mean(), per[f"{d}_1"].mean()
        assert last > first + 0.3, d
        assert first < 2.4  # intake skewed low in the financial domains
    relapse = (per["schulden_1"] < per["schulden_0"]).mean()
    assert 0.04 < relapse < 0.3
    # debts, savings and income move together
    diffs = m.select(
        *[pl.col(d).diff().over("pid").alias(d) for d in ("schulden", "spaargeld", "wonen")]
    ).drop_nulls()
    fin = diffs.select(pl.corr("schulden", "spaargeld")).item()
    other = diffs.select(pl.corr("schulden", "wonen")).item()
    assert fin > other + 0.1


def test_goals(big: Run) -> None:
    g = big.read("groningen/doelen.csv").unique()
    per = g.group_by(_clean("deelnemer_id")).len()["len"]
    assert per.max() <= 7 and 2.5 < per.mean() < 4.5  # 1-6 (orphans may add one)
    conf = g["vertrouwen"].cast(pl.Int64)
    g = g.with_columns(conf.alias("c"), (pl.col("datum_behaald") != "").alias("done"))
    assert 0.38 < g["done"].mean() < 0.52
    high = g.filter(pl.col("c").is_between(8, 10))["done"].mean()
    low = g.filter(pl.col("c").is_between(1, 4))["done"].mean()
    assert high > low + 0.15
    pillars = g.select(_clean("pijler"))["pijler"].value_counts()
    count = dict(zip(pillars["pijler"], pillars["count"], strict=True))
    assert count["schulden"] > count["gezin"] and count["spaargeld"] > count["wonen"]
    for col in ("doel", "actie"):
        assert (g[col] != "").all()


# --------------------------------------------------------------------------- per organisation
def test_groningen_participants(big: Run) -> None:
    d = big.read("groningen/deelnemers.csv").unique()
    no_birth = d["geboortedatum"] == ""
    assert 0.15 < no_birth.mean() < 0.25
    assert ((d["leeftijd_bij_intake"] != "") == no_birth).all()
    ages = d.filter(no_birth)["leeftijd_bij_intake"].cast(pl.Int64)
    assert ages.min() >= 18 and ages.max() <= 90 and 30 < ages.median() < 50
    assert d["deelnemer_id"].str.strip_chars().str.contains(r"(?i)^KG-\d{7}$").all()
    assert d["postcode"].str.strip_chars().str.contains(r"(?i)^97\d\d ?[A-Z]{2}$").all()
    assert (d["tussenvoegsel"] != "").mean() > 0.1
    hh = d.select(_clean("huishouden").alias("h"), pl.col("aantal_kinderen").cast(pl.Int64))
    assert (hh.filter(pl.col("h").is_in(["al", "pzk"]))["aantal_kinderen"] == 0).all()
    assert (hh.filter(pl.col("h").is_in(["eo", "pmk"]))["aantal_kinderen"] >= 1).all()
    ended = d.filter(pl.col("einddatum") != "")
    reasons = ended.select(_clean("reden_einde"))["reden_einde"].value_counts()
    share = dict(zip(reasons["reden_einde"], reasons["count"] / ended.height, strict=True))
    assert share["afgerond"] > 0.6 and share["geweigerd"] > 0.03 and share["afgebroken"] > 0.05
    assert (d.filter(pl.col("einddatum") == "")["reden_einde"].str.strip_chars() == "").all()


def test_zuidplas_registrations(big: Run) -> None:
    z = big.read("zuidplas/registraties.csv").unique()
    per = z.group_by(_clean("clientnummer")).agg(
        pl.len(), _clean("proces").n_unique().alias("processes")
    )
    assert per["len"].max() <= 4 and (per["len"] > 1).any()
    assert (per["len"] == per["processes"]).mean() > 0.95  # different processes
    vroeg = z.filter(_clean("proces") == "vroegsignalering")
    others = z.filter(
        _clean("proces").is_in(["geldzaken", "wisselgeldbudget", "1g1p1r casusregie"])
    )
    assert (others["achterstand_bedrag"] == "").all()
    amount = vroeg["achterstand_bedrag"].str.replace_all(r"\.", "").str.replace(",", ".")
    amount = amount.cast(pl.Float64)
    assert 1300 < amount.median() < 2500
    assert vroeg["achterstand_bedrag"].str.contains(r"^-?\d{1,3}(\.\d{3})*,\d{2}$").all()
    assert (
        z["postcode"]
        .str.strip_chars()
        .str.slice(0, 4)
        .cast(pl.Int64)
        .is_in([*range(2741, 2750), 2751, 2841])
        .all()
    )


def test_aalsmeer_households(big: Run) -> None:
    leden = big.read("aalsmeer/leden.csv").unique()
    cases = big.read("aalsmeer/huishoudens.csv").unique()
    size = leden.group_by(_clean("casus_id")).agg(
        pl.len(), (_clean("rol") == "aanvrager").sum().alias("applicants")
    )
    real = size.filter(pl.col("casus_id").is_in(cases.select(_clean("casus_id"))["casus_id"]))
    assert real["len"].min() >= 1 and real["len"].max() <= 6 and real["len"].mean() > 1.5
    assert (real["applicants"] == 1).mean() > 0.95
    assert set(leden.select(_clean("rol"))["rol"].unique()) >= {
        "aanvrager",
        "partner",
        "kind",
        "huisgenoot",
    }
    med = (cases.select(_clean("medische_gegevens"))["medische_gegevens"] == "ja").mean()
    assert 0.15 < med < 0.25
    assert leden["postcode"].str.strip_chars().str.slice(0, 4).is_in(["1431", "1432", "1433"]).all()


def test_hengelo_contacts(big: Run) -> None:
    c = big.read("hengelo/contacten.csv").unique()
    assert 0.2 < (c["gezondheid_notities"] != "").mean() < 0.3
    photos = c.filter(pl.col("foto") != "")
    assert (
        photos.select(
            pl.col("foto")
            == pl.lit("foto_")
            + pl.col("contact_id").str.strip_chars().str.to_uppercase()
            + pl.lit(".jpg")
        )
        .to_series()
        .mean()
        > 0.95
    )
    birth = c["geboortedatum"]
    for pattern in (r"^\d{2}-\d{2}-\d{4}$", r"^\d{4}-\d{2}-\d{2}$", r"^\d{1,2}/\d{1,2}/\d{4}$"):
        assert birth.str.contains(pattern).mean() > 0.1, pattern
    t = big.read("hengelo/trajecten.csv").unique()
    status = set(t.select(_clean("status"))["status"])
    assert status >= {"afgerond", "gestopt", "niet gestart", "lopend"}


def test_breda_plans(big: Run) -> None:
    b = big.read("breda/doorbraakplannen.csv").unique()
    debt = b["schulden_totaal"].cast(pl.Int64)
    assert 10_000 < debt.median() < 20_000
    for col, lo, hi in (("justitie", 0.015, 0.05), ("ggz", 0.05, 0.11)):
        share = (b.select(_clean(col))[col] == "ja").mean()
        assert lo < share < hi, col
    cost = b["plankosten"].cast(pl.Int64)
    assert 1500 < cost.median() < 5000
    ended = b.filter(pl.col("einddatum") != "")
    reached = (ended.select(_clean("doorbraak_bereikt"))["doorbraak_bereikt"] == "ja").mean()
    assert 0.5 < reached < 0.7
    assert (b.filter(pl.col("einddatum") == "")["doorbraak_bereikt"] == "").all()
    assert b["leeftijd"].cast(pl.Int64).min() >= 18
    kids = b.filter(pl.col("kinderen_leeftijden") != "")["kinderen_leeftijden"]
    assert kids.str.contains(r"^\d{1,2}(\|\d{1,2})*$").all()
    assert b["inkomstenbronnen"].str.contains(r"\|").any()
