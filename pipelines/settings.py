"""brugstat.toml -> frozen, typed settings. The only module that reads the environment, apart from
the key variable, which ``pipelines.keys`` reads (the key never passes through the settings).

Resolution of the settings file: ``BRUGSTAT_CONFIG`` if set, else ``brugstat.toml`` in the current
directory, else the one next to the installed project. Relative paths are resolved against the
settings file's folder. ``BRUGSTAT_DATA_DIR`` moves every default output path under another
folder (tests and benchmarks use it); ``BRUGSTAT_PSEUDONYM_KEY`` (64 hex characters) overrides
the key file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
from collections import abc
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from assets.marts.protection import TableSettings
from assets.staging.schema import ORGANISATIONS
from pipelines.keys import KEY_ENV, key_from_environment  # noqa: F401  (the CLI imports them here)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """The settings file is missing a value or holds a wrong one."""


@dataclass(frozen=True)
class Paths:
    """Where brugstat reads and writes."""

    data_dir: Path
    landing: Path
    staging_db: Path
    research_db: Path
    dagster_home: Path
    key_file: Path


@dataclass(frozen=True)
class SyntheticSettings:
    """The embedded default: size and seed of the synthetic exports."""

    people: int = 20_000
    seed: int = 20261123
    today: dt.date = dt.date(2026, 11, 1)


@dataclass(frozen=True)
class GovernanceSettings:
    """Retention overrides and the steward's data-subject request file."""

    requests_file: Path = Path("data/requests/requests.csv")  # relative to the settings file
    retention: dict[str, dict[str, str]] = field(default_factory=dict)
    today: dt.date | None = None  # fixed date for retention (tests, demos); None = today


@dataclass(frozen=True)
class AutomationSettings:
    """[automation]: when the pipeline and the report run by themselves (all off until a steward
    turns them on in the Dagster UI)."""

    pipeline_cron: str = "0 6 * * 1"  # weekly, Monday 06:00
    report_cron: str = "0 7 1 1,4,7,10 *"  # quarterly, the first day of the quarter 07:00
    timezone: str = "Europe/Amsterdam"
    settle_seconds: float = 120.0  # a landing file must be still this long before a run starts
    sensor_interval_seconds: int = 300


@dataclass(frozen=True)
class OutputCheckSettings:
    """[output_check]: rules for analysts' own results that the release does not fix itself.

    The threshold, dominance, p% and group rules come from the release (``meta_release``), so
    analysts' output is held to the rules the published tables were protected with."""

    dof: int = 10  # minimum residual degrees of freedom of a model summary
    zeros_disclosive: bool = True  # an empty cell tells that nobody has that combination
    records_dir: str = "output_checks"  # under [paths] data_dir: the JSON records and summaries


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one deployment."""

    source: Path
    paths: Paths
    governance: GovernanceSettings
    project: str = "demo"  # [project] name: one key per project (unlinkable pseudonyms)
    synthetic: SyntheticSettings = field(default_factory=SyntheticSettings)
    organisations: tuple[str, ...] = ORGANISATIONS  # [organisations] enabled
    anonymisation: dict[str, object] = field(default_factory=dict)  # [anonymisation] as written
    tables: TableSettings = field(default_factory=TableSettings)  # [tables]: table protection
    register: tuple[dict[str, str], ...] = ()  # [[register]]: the processing register
    output_check: OutputCheckSettings = field(default_factory=OutputCheckSettings)
    automation: AutomationSettings = field(default_factory=AutomationSettings)

    def register_text(self, organisation: str) -> str:
        """The register entries of one organisation as Markdown (for asset descriptions)."""
        lines = []
        for e in self.register:
            if e.get("organisation") == organisation:
                lines.append(
                    f"\n\n**Verwerkingsregister — {e.get('process', '')}**  \n"
                    f"Doel: {e.get('purpose', '')}  \nGrondslag: {e.get('legal_basis', '')}  \n"
                    f"Gegevens: {e.get('categories', '')}  \n"
                    f"Bewaartermijn: {e.get('retention', '')}  \n"
                    f"Ontvangers: {e.get('recipients', '')}"
                )
        return "".join(lines)

    def with_data_dir(self, data_dir: Path) -> Settings:
        """The same settings with every output path moved under ``data_dir``."""
        d = data_dir.resolve()
        return replace(
            self,
            paths=replace(
                self.paths,
                data_dir=d,
                landing=d / "landing",
                staging_db=d / "staging.duckdb",
                research_db=d / "research.duckdb",
                dagster_home=d / "dagster_home",
            ),
            governance=replace(self.governance, requests_file=d / "requests" / "requests.csv"),
        )


def _find_settings_file() -> Path:
    env = os.environ.get("BRUGSTAT_CONFIG")
    if env:
        return Path(env).expanduser().resolve()
    here = Path.cwd() / "brugstat.toml"
    return here.resolve() if here.exists() else PROJECT_ROOT / "brugstat.toml"


def load_settings(path: Path | None = None) -> Settings:
    """Read and validate the settings file (see the module docstring for which file).

    Every problem in the file is found before anything runs (see :func:`check_settings`); the
    :class:`SettingsError` lists them all, one per line.
    """
    path = (path or _find_settings_file()).resolve()
    raw, problems = _read(path)
    if problems:
        raise SettingsError("\n".join(str(p) for p in problems))
    return _build(raw, path)


def _build(raw: Mapping[str, Any], path: Path) -> Settings:
    """Settings from a file :func:`check_settings` found no problem in. A key that is absent
    takes the default written on its dataclass field (the one place each default lives)."""
    base = path.parent

    def resolve(value: str | Path) -> Path:
        q = Path(value).expanduser()
        return q if q.is_absolute() else (base / q).resolve()

    gov = raw.get("governance", {})
    governance = GovernanceSettings(
        **{k: resolve(v) if k == "requests_file" else v for k, v in gov.items()},
        retention={o: dict(t) for o, t in raw.get("retention", {}).items()},
    )
    if "requests_file" not in gov:
        governance = replace(governance, requests_file=resolve(governance.requests_file))
    optional: dict[str, Any] = {}
    if "name" in raw.get("project", {}):
        optional["project"] = raw["project"]["name"]
    if "enabled" in raw.get("organisations", {}):
        optional["organisations"] = tuple(raw["organisations"]["enabled"])
    if "tables" in raw:
        optional["tables"] = TableSettings.from_mapping(raw["tables"])
    settings = Settings(
        source=path,
        paths=Paths(**{k: resolve(v) for k, v in raw["paths"].items()}),
        governance=governance,
        synthetic=SyntheticSettings(**raw.get("synthetic", {})),
        anonymisation=dict(raw.get("anonymisation", {})),
        register=tuple(dict(e) for e in raw.get("register", [])),
        output_check=OutputCheckSettings(**raw.get("output_check", {})),
        automation=AutomationSettings(
            **{
                k: float(v) if k == "settle_seconds" else v
                for k, v in raw.get("automation", {}).items()
            }
        ),
        **optional,
    )
    data_dir = os.environ.get("BRUGSTAT_DATA_DIR")
    return settings.with_data_dir(Path(data_dir)) if data_dir else settings


# --- validation: every problem in the file at once -------------------------------------------


@dataclass(frozen=True)
class SettingsProblem:
    """One problem in the settings file: where it is and what is wrong (never a secret: the
    key is not in this file)."""

    file: Path
    line: int | None  # 1-based; None when the file has no line for it (a missing key)
    where: str  # "[section] key", "[section]" or "top level"
    message: str

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{at}: {self.where}: {self.message}"


REGISTER_KEYS = (
    "organisation",
    "process",
    "purpose",
    "legal_basis",
    "categories",
    "retention",
    "recipients",
)
"""The fields of one [[register]] entry (all text)."""

_TYPE_NAMES = {
    int: "an integer",
    float: "a number",
    bool: "true or false",
    str: "a string",
    dt.date: "a date (YYYY-MM-DD, unquoted)",
}
_PLURALS = {int: "integers", float: "numbers", bool: "booleans", str: "strings"}


def _toml_type(value: object) -> str:
    """The TOML name of a parsed value's type (for "got …" in messages; never the value)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dt.datetime):
        return "a date-time"
    if isinstance(value, (dt.date, dt.time)):
        return "a date" if isinstance(value, dt.date) else "a time"
    if isinstance(value, list):
        return "an array"
    return "a table"


def _is(value: object, kind: type) -> bool:
    """Whether a parsed TOML value is of a scalar ``kind`` (an integer is also a number; a
    boolean is no integer; a date-time is no date)."""
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, (int, float))
    if kind is dt.date:
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    return isinstance(value, kind)


def _expected(hint: Any) -> tuple[str, Callable[[object], bool]]:
    """What a dataclass field's type hint accepts from TOML: a description and a test."""
    args = [a for a in get_args(hint) if a is not type(None)]
    origin = get_origin(hint)
    if origin in (UnionType, Union) and len(args) == 1:
        return _expected(args[0])
    if origin is tuple:  # tuple[X, ...]: an array of X
        item = args[0]
        return (
            f"an array of {_PLURALS[item]}",
            lambda v: isinstance(v, list) and all(_is(x, item) for x in v),
        )
    if origin in (dict, Mapping, abc.Mapping):
        item = args[1]
        return (
            f"a table of {_PLURALS[item]}",
            lambda v: isinstance(v, dict) and all(_is(x, item) for x in v.values()),
        )
    return _TYPE_NAMES[hint], lambda v: _is(v, hint)


def _fields(
    cls: type, only: Iterable[str] | None = None
) -> dict[str, tuple[str, Callable[[object], bool]]]:
    """Field -> (what it expects, test) of a dataclass (``only`` these fields, if given)."""
    hints = get_type_hints(cls)
    names = list(only) if only is not None else [f.name for f in fields(cls)]
    return {name: _expected(hints[name]) for name in names}


def _schema() -> dict[str, dict[str, tuple[str, Callable[[object], bool]]]]:
    """Section -> key -> (what it expects, test), derived from the dataclasses above."""
    from assets.anonymised.config import AnonymisationConfig

    settings = _fields(Settings, only=("project", "organisations"))
    return {
        "project": {"name": settings["project"]},
        "paths": {f.name: _TEXT_OR_PATH for f in fields(Paths)},
        "synthetic": _fields(SyntheticSettings),
        "organisations": {"enabled": settings["organisations"]},
        "governance": {
            "requests_file": _TEXT_OR_PATH,
            **_fields(GovernanceSettings, only=("today",)),
        },
        "retention": {},  # organisation -> {end reason -> term}: see _retention_problems
        "tables": _fields(TableSettings),
        "automation": _fields(AutomationSettings),
        "output_check": _fields(OutputCheckSettings),
        "anonymisation": _fields(AnonymisationConfig),
        "register": {k: (_TYPE_NAMES[str], lambda v: _is(v, str)) for k in REGISTER_KEYS},
    }


_TEXT_OR_PATH = (_TYPE_NAMES[str], lambda v: _is(v, str))
REQUIRED = {"paths": tuple(f.name for f in fields(Paths))}
"""Keys without a default: the file must set them."""


class _Lines:
    """Line numbers of section headers and keys in a TOML text (tomllib gives none).

    A light scan, enough to point at a line: ``[a.b]`` / ``[[a]]`` headers and ``key =`` lines;
    a key inside an inline table is found as the line of its table."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\- ]+?)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.sections: dict[str, int] = {}
        self.keys: dict[tuple[str, str], int] = {}
        section = ""
        for n, line in enumerate(text.splitlines(), start=1):
            if m := self._HEADER.match(line):
                section = m.group(1).replace(" ", "")
                self.sections.setdefault(section, n)
            elif m := self._KEY.match(line):
                self.keys.setdefault((section, m.group(1)), n)

    def of(self, section: str, key: str | None = None) -> int | None:
        """The line of ``key`` in ``section`` (else of the section's header, else None)."""
        if key is not None and (section, key) in self.keys:
            return self.keys[(section, key)]
        return self.sections.get(section)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def check_settings(path: Path | None = None) -> list[SettingsProblem]:
    """Every problem in the settings file, in file order: unknown sections and keys (with the
    nearest known name), values of the wrong type, missing required keys, and values the
    sections' own validation refuses (organisation codes, retention terms, ``[anonymisation]``
    through :meth:`AnonymisationConfig.from_mapping`). Empty when the file is sound."""
    path = (path or _find_settings_file()).resolve()
    return _read(path)[1]


def _read(path: Path) -> tuple[dict[str, Any], list[SettingsProblem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, [SettingsProblem(path, None, "file", "not found (set BRUGSTAT_CONFIG).")]
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return {}, [SettingsProblem(path, None, "file", f"not valid TOML ({exc}).")]
    lines = _Lines(text)
    schema = _schema()
    problems: list[SettingsProblem] = []

    def problem(section: str, key: str | None, message: str, line: int | None = None) -> None:
        where = "top level" if not section else f"[{section}]" + (f" {key}" if key else "")
        problems.append(SettingsProblem(path, line or lines.of(section, key), where, message))

    for section, body in raw.items():
        if section not in schema:
            if isinstance(body, (dict, list)):
                problem(section, None, "unknown section." + _did_you_mean(section, schema))
            else:
                where = lines.of("", section)
                problem("", None, f"unknown key '{section}' outside any section.", where)
            continue
        expected = schema[section]
        if section == "register":
            if not isinstance(body, list):
                problem(section, None, "must be an array of tables ([[register]] entries).")
                continue
            for entry in body:
                _check_keys(entry, expected, section, problem)
            continue
        if not isinstance(body, dict):
            problem(section, None, f"must be a table ([{section}]), got {_toml_type(body)}.")
            continue
        if section == "retention":
            _retention_problems(body, problem)
            continue
        _check_keys(body, expected, section, problem)
        for key in REQUIRED.get(section, ()):
            if key not in body:
                problem(section, key, "missing: this key has no default.")
        if section == "organisations" and _is_str_list(body.get("enabled")):
            for code in body["enabled"]:
                if code not in ORGANISATIONS:
                    problem(
                        section,
                        "enabled",
                        f"unknown organisation code '{code}'.{_did_you_mean(code, ORGANISATIONS)}"
                        f" Known: {list(ORGANISATIONS)}.",
                    )
        if section == "anonymisation":
            from assets.anonymised.config import AnonymisationConfig

            _section_problems(section, body, expected, problem, AnonymisationConfig.from_mapping)
        if section == "tables":
            _section_problems(section, body, expected, problem, TableSettings.from_mapping)
    for section, keys in REQUIRED.items():
        if section not in raw:
            problem(section, None, f"missing section: it must set {list(keys)}.")
    problems.sort(key=lambda p: p.line or 0)
    return raw, problems


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


_Report = Callable[..., None]


def _check_keys(
    body: Mapping[str, Any],
    expected: Mapping[str, tuple[str, Callable[[object], bool]]],
    section: str,
    problem: _Report,
) -> None:
    """Unknown keys (with the nearest known one) and values of the wrong type."""
    for key, value in body.items():
        if key not in expected:
            problem(section, key, "unknown key." + _did_you_mean(key, expected))
            continue
        what, accepts = expected[key]
        if not accepts(value):
            problem(section, key, f"wrong type: expected {what}, got {_toml_type(value)}.")


def _retention_problems(body: Mapping[str, Any], problem: _Report) -> None:
    """[retention.<organisation>] tables of end reason -> term, checked term by term through
    :meth:`RetentionPolicy.from_mapping` (so every bad term is reported, not only the first)."""
    from assets.governance.retention import RetentionPolicy

    for org, terms in body.items():
        section = f"retention.{org}"
        if not isinstance(terms, dict):
            problem("retention", org, f"must be a table ([{section}]), got {_toml_type(terms)}.")
            continue
        if org not in ORGANISATIONS:
            problem(
                section,
                None,
                f"unknown organisation code '{org}'.{_did_you_mean(org, ORGANISATIONS)}",
            )
            continue
        for reason, term in terms.items():
            if not isinstance(term, str):
                problem(section, reason, f"wrong type: expected a string, got {_toml_type(term)}.")
                continue
            try:
                RetentionPolicy.from_mapping({org: {reason: term}})
            except ValueError as exc:
                problem(section, reason, str(exc))


def _section_problems(
    section: str,
    body: Mapping[str, Any],
    expected: Mapping[str, tuple[str, Callable[[object], bool]]],
    problem: _Report,
    read: Callable[[Mapping[str, Any]], object],
) -> None:
    """A section through its own typed reader (``read``, e.g.
    :meth:`AnonymisationConfig.from_mapping`): each well-typed key alone, so every bad value is
    reported, then the whole section (rules between keys)."""
    typed = {k: v for k, v in body.items() if k in expected and expected[k][1](v)}
    failed = False
    for key, value in typed.items():
        try:
            read({key: value})
        except (ValueError, TypeError) as exc:
            problem(section, key, str(exc))
            failed = True
    if failed or len(typed) < len(body):
        return
    try:
        read(body)
    except (ValueError, TypeError) as exc:
        problem(section, None, str(exc))


def config_check(path: Path | None = None) -> int:
    """``brugstat config check``: print every problem of the settings file; 0 when it is sound,
    1 when it has problems."""
    path = (path or _find_settings_file()).resolve()
    problems = check_settings(path)
    for p in problems:
        print(p)
    if problems:
        print(f"{path}: {len(problems)} problem(s).")
        return 1
    print(f"{path}: no problems.")
    return 0
