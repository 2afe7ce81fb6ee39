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
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from assets.staging.schema import ORGANISATIONS
from pipelines.keys import KEY_ENV, key_from_environment

__all__ = ["KEY_ENV", "key_from_environment"]  # re-exported for the CLI

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

    requests_file: Path
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
    project: str
    paths: Paths
    governance: GovernanceSettings
    synthetic: SyntheticSettings = field(default_factory=SyntheticSettings)
    organisations: tuple[str, ...] = ORGANISATIONS
    anonymisation: dict[str, object] = field(default_factory=dict)  # [anonymisation] as written
    threshold: int = 10  # [tables] threshold: minimum persons per published cell
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
    """Read and validate the settings file (see the module docstring for which file)."""
    path = (path or _find_settings_file()).resolve()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: settings file not found (set BRUGSTAT_CONFIG).") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc}).") from None
    base = path.parent

    def p(key: str) -> Path:
        try:
            value = raw["paths"][key]
        except KeyError:
            raise SettingsError(f"{path}: [paths] needs '{key}'.") from None
        q = Path(value).expanduser()
        return q if q.is_absolute() else (base / q).resolve()

    paths = Paths(
        data_dir=p("data_dir"),
        landing=p("landing"),
        staging_db=p("staging_db"),
        research_db=p("research_db"),
        dagster_home=p("dagster_home"),
        key_file=p("key_file"),
    )
    syn = raw.get("synthetic", {})
    synthetic = SyntheticSettings(
        people=int(syn.get("people", SyntheticSettings.people)),
        seed=int(syn.get("seed", SyntheticSettings.seed)),
        today=syn.get("today", SyntheticSettings.today),
    )
    orgs = tuple(raw.get("organisations", {}).get("enabled", ORGANISATIONS))
    unknown = [o for o in orgs if o not in ORGANISATIONS]
    if unknown:
        raise SettingsError(
            f"{path}: [organisations] enabled lists unknown code(s) {unknown}; "
            f"known: {list(ORGANISATIONS)}."
        )
    gov = raw.get("governance", {})
    requests_file = Path(gov.get("requests_file", "data/requests/requests.csv")).expanduser()
    governance = GovernanceSettings(
        requests_file=requests_file if requests_file.is_absolute() else (base / requests_file),
        retention={o: dict(t) for o, t in raw.get("retention", {}).items()},
        today=gov.get("today"),
    )
    settings = Settings(
        source=path,
        project=str(raw.get("project", {}).get("name", "demo")),
        paths=paths,
        governance=governance,
        synthetic=synthetic,
        organisations=orgs,
        anonymisation=dict(raw.get("anonymisation", {})),
        threshold=int(raw.get("tables", {}).get("threshold", 10)),
        register=tuple(dict(e) for e in raw.get("register", [])),
        output_check=_output_check(raw.get("output_check", {}), path),
        automation=_automation(raw.get("automation", {}), path),
    )
    data_dir = os.environ.get("BRUGSTAT_DATA_DIR")
    return settings.with_data_dir(Path(data_dir)) if data_dir else settings


def _output_check(raw: dict, path: Path) -> OutputCheckSettings:
    unknown = set(raw) - {"dof", "zeros_disclosive", "records_dir"}
    if unknown:
        raise SettingsError(f"{path}: [output_check] has unknown key(s) {sorted(unknown)}.")
    d = OutputCheckSettings()
    return OutputCheckSettings(
        dof=int(raw.get("dof", d.dof)),
        zeros_disclosive=bool(raw.get("zeros_disclosive", d.zeros_disclosive)),
        records_dir=str(raw.get("records_dir", d.records_dir)),
    )


def _automation(raw: dict, path: Path) -> AutomationSettings:
    d = AutomationSettings()
    unknown = set(raw) - set(d.__dataclass_fields__)
    if unknown:
        raise SettingsError(f"{path}: [automation] has unknown key(s) {sorted(unknown)}.")
    return AutomationSettings(
        pipeline_cron=str(raw.get("pipeline_cron", d.pipeline_cron)),
        report_cron=str(raw.get("report_cron", d.report_cron)),
        timezone=str(raw.get("timezone", d.timezone)),
        settle_seconds=float(raw.get("settle_seconds", d.settle_seconds)),
        sensor_interval_seconds=int(raw.get("sensor_interval_seconds", d.sensor_interval_seconds)),
    )
