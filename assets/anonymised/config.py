"""Configuration of the anonymised layer: k, suppression, quasi-identifiers, sensitive attributes.

A deployment sets these in the ``[anonymisation]`` section of ``brugstat.toml``; every key is
optional and falls back to the defaults below (see :meth:`AnonymisationConfig.from_mapping`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

HIERARCHY_DIR = Path(__file__).resolve().parent / "hierarchies"
"""The shipped hierarchy files (ARX CSV format, ``;``-separated, no header)."""

AREA_DIVISION_YEAR = 2025
"""Year of the wijk/gemeente division (CBS "wijk- en buurtindeling") used by ``area.csv``."""

QUASI_IDENTIFIERS: tuple[str, ...] = (
    "age_at_intake",
    "gender",
    "area",
    "household_type",
    "children_band",
    "nationality_group",
    "intake_year",
    "episodes",
)
"""Every quasi-identifier of the person-level record (in lattice order): what an acquaintance
may know (docs/threat-model.md). ``episodes`` is the person's whole episode signature
(organisations, programmes, intake years, end reasons, duration bands)."""

SENSITIVE_ATTRIBUTES: tuple[str, ...] = ("debt_band", "health_flag", "justice_flag")
"""Sensitive attributes of the research record; each may get an l-diversity requirement."""

DROPPED_COLUMNS: tuple[str, ...] = (
    "person_pseudonym",
    "episode_pseudonym",
    "goal_pseudonym",
    "birth_year",
    "postcode",
    "start_date",
    "end_date",
    "measured_on",
    "set_on",
    "achieved_on",
    "debt_amount_eur",
    "creditor_count",
    "net_monthly_eur",
    "value_num",
    "objects_to_research",
    "outcome",
)
"""Input columns never copied to the research database as they are (dates become bucketed
months since intake, amounts become bands, pseudonyms become release-specific integers)."""


TABLE_AREA_LEVELS: dict[str, int] = {"wijk": 1, "stadsdeel": 2}
"""Area levels the protected tables can count at -> their column in ``area.csv``."""

METRICS: tuple[str, ...] = ("loss", "discernibility", "aecs", "non_uniform_entropy", "precision")
"""Names of the engine's quality metrics (``anonymise.metrics``)."""


class ConfigError(ValueError):
    """The ``[anonymisation]`` section is malformed."""


@dataclass(frozen=True)
class AnonymisationConfig:
    """How the pseudonymised layer becomes k-anonymous research microdata.

    Attributes
    ----------
    k
        Minimum number of distinct **persons** per published combination of quasi-identifiers.
    suppression_limit
        Largest share of persons that may be removed (record suppression budget), in [0, 1].
    local_suppression
        Blank single QI cells (``*``) of failing classes instead of removing whole persons first.
    quasi_identifiers
        The attributes generalised and counted; a subset of :data:`QUASI_IDENTIFIERS`. An
        attribute of :data:`QUASI_IDENTIFIERS` left out here is not published at all.
    l_diversity
        Sensitive attribute -> ``l`` of distinct-l-diversity (0 or absent: published without
        requirement). Default: distinct-2-diversity on ``debt_band``.
    max_share
        Yes/no flag -> the largest share of "ja" among a class's recorded values (group
        disclosure; default 0.9 for ``health_flag`` and ``justice_flag``).
    l_diversity_ignores_unknown
        When true (default), ``onbekend`` (the organisation does not record the attribute) is not
        a sensitive value: a class needs ``l`` distinct *recorded* values, or no recorded value at
        all. When false the engine's plain :class:`~anonymise.models.DistinctLDiversity` is used,
        which counts ``onbekend`` as a value (and so fails every class of an organisation that
        never records debts unless it is merged with one that does).
    publish_sensitive
        Sensitive attributes published on the episode record (others are dropped).
    month_buckets
        Lower bounds of the "months since intake" buckets; the last one is open ("36+").
    max_age
        Ages at intake above this (and negative ones) become ``onbekend``.
    age_widths
        Widths of the age bands at hierarchy levels 1, 2, 3 (each divides the next).
    hierarchy_files
        QI -> CSV file (relative to :data:`HIERARCHY_DIR` or absolute) overriding the built-in
        hierarchy of that QI. ``area`` always comes from a file.
    metric
        Quality metric minimised by the search: ``loss`` (ARX Loss), ``discernibility``,
        ``aecs``, ``non_uniform_entropy`` or ``precision``.
    area_division_year
        Year of the area division in ``area.csv``; published with the data.
    recoding_passes
        Passes of local recoding (``anonymise.recode``): the persons a node suppresses are
        re-anonymised at a coarser node, up to this many passes; 1 = full-domain only.
    insider_protection
        Withhold sensitive values an organisation's insider knows until no insider can single
        a record out (``anonymise.linkage.protect_known_values``).
    max_levels
        QI -> the highest hierarchy level the first (global) node may use (ARX's maximum
        generalisation level); local recoding coarsens only the persons that node cannot
        publish. Default: the intake year stays a year (trends need it).
    table_area_level
        Area level of the protected tables (``wijk`` or ``stadsdeel``, with gemeente totals).
    """

    k: int = 5
    suppression_limit: float = 0.02
    local_suppression: bool = False
    quasi_identifiers: tuple[str, ...] = QUASI_IDENTIFIERS
    l_diversity: Mapping[str, int] = field(default_factory=lambda: {"debt_band": 2})
    max_share: Mapping[str, float] = field(
        default_factory=lambda: {"health_flag": 0.9, "justice_flag": 0.9}
    )
    l_diversity_ignores_unknown: bool = True
    publish_sensitive: tuple[str, ...] = SENSITIVE_ATTRIBUTES
    dropped_columns: tuple[str, ...] = DROPPED_COLUMNS
    month_buckets: tuple[int, ...] = (0, 3, 6, 9, 12, 18, 24, 36)
    max_age: int = 110
    age_widths: tuple[int, ...] = (5, 10, 20)
    hierarchy_files: Mapping[str, str] = field(default_factory=lambda: {"area": "area.csv"})
    metric: str = "loss"
    area_division_year: int = AREA_DIVISION_YEAR
    recoding_passes: int = 8
    insider_protection: bool = True
    max_levels: Mapping[str, int] = field(default_factory=lambda: {"intake_year": 0})
    table_area_level: str = "stadsdeel"

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"anonymisation.k must be at least 1, got {self.k}.")
        if not 0.0 <= self.suppression_limit <= 1.0:
            raise ConfigError(
                f"anonymisation.suppression_limit must lie in [0, 1], got {self.suppression_limit}."
            )
        unknown = set(self.quasi_identifiers) - set(QUASI_IDENTIFIERS)
        if unknown:
            raise ConfigError(
                f"anonymisation.quasi_identifiers: unknown attribute(s) {sorted(unknown)}; "
                f"choose from {list(QUASI_IDENTIFIERS)}."
            )
        if "area" not in self.hierarchy_files:
            raise ConfigError("anonymisation.hierarchy_files needs a file for 'area'.")
        for name, l_ in self.l_diversity.items():
            if name not in SENSITIVE_ATTRIBUTES:
                raise ConfigError(
                    f"anonymisation.l_diversity: {name!r} is not a sensitive attribute; "
                    f"choose from {list(SENSITIVE_ATTRIBUTES)}."
                )
            if int(l_) < 0:
                raise ConfigError(f"anonymisation.l_diversity.{name} must be >= 0, got {l_}.")
        bad = set(self.publish_sensitive) - set(SENSITIVE_ATTRIBUTES)
        if bad:
            raise ConfigError(f"anonymisation.publish_sensitive: unknown {sorted(bad)}.")
        b = list(self.month_buckets)
        if not b or b[0] != 0 or b != sorted(set(b)):
            raise ConfigError(
                f"anonymisation.month_buckets must start at 0 and increase strictly, got {b}."
            )
        for name, share in self.max_share.items():
            if name not in ("health_flag", "justice_flag") or not 0.0 < share <= 1.0:
                raise ConfigError(
                    f"anonymisation.max_share.{name}: a flag (health_flag, justice_flag) and a "
                    "share in (0, 1]."
                )
        bad_levels = set(self.max_levels) - set(QUASI_IDENTIFIERS)
        if bad_levels:
            raise ConfigError(f"anonymisation.max_levels: not a QI: {sorted(bad_levels)}.")
        if self.recoding_passes < 1:
            raise ConfigError("anonymisation.recoding_passes must be at least 1.")
        if self.table_area_level not in TABLE_AREA_LEVELS:
            raise ConfigError(
                f"anonymisation.table_area_level: choose from {list(TABLE_AREA_LEVELS)}."
            )
        if self.metric not in METRICS:
            raise ConfigError(f"anonymisation.metric: unknown metric {self.metric!r}.")

    def hierarchy_path(self, qi: str) -> Path | None:
        """The CSV file configured for ``qi`` (absolute), or ``None`` for a built-in one."""
        name = self.hierarchy_files.get(qi)
        if name is None:
            return None
        p = Path(name).expanduser()
        return p if p.is_absolute() else HIERARCHY_DIR / p

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any] | None) -> AnonymisationConfig:
        """Read the ``[anonymisation]`` section of the deployment TOML (missing keys: defaults).

        >>> AnonymisationConfig.from_mapping({"k": 10, "l_diversity": {"debt_band": 3}}).k
        10
        """
        section = dict(section or {})
        known = {f.name for f in fields(cls)}
        extra = set(section) - known
        if extra:
            raise ConfigError(
                f"[anonymisation] has unknown key(s) {sorted(extra)}; known: {sorted(known)}."
            )
        kwargs: dict[str, Any] = {}
        for key, value in section.items():
            if key in (
                "quasi_identifiers",
                "publish_sensitive",
                "dropped_columns",
                "month_buckets",
                "age_widths",
            ):
                if isinstance(value, str) or not isinstance(value, (list, tuple)):
                    raise ConfigError(f"anonymisation.{key} must be a list.")
                value = tuple(
                    int(v) if key in ("month_buckets", "age_widths") else str(v) for v in value
                )
            elif key == "max_share":
                if not isinstance(value, Mapping):
                    raise ConfigError("anonymisation.max_share must be a table.")
                value = {str(a): float(v) for a, v in value.items()}
            elif key in ("l_diversity", "hierarchy_files", "max_levels"):
                if not isinstance(value, Mapping):
                    raise ConfigError(f"anonymisation.{key} must be a table.")
                value = {
                    str(a): (str(v) if key == "hierarchy_files" else int(v))
                    for a, v in value.items()
                }
                if key == "hierarchy_files":
                    value = {"area": "area.csv", **value}
            elif key in ("k", "max_age", "area_division_year", "recoding_passes"):
                value = int(value)
            elif key == "suppression_limit":
                value = float(value)
            elif key in (
                "local_suppression",
                "l_diversity_ignores_unknown",
                "insider_protection",
            ) and not isinstance(value, bool):
                raise ConfigError(f"anonymisation.{key} must be true or false.")
            kwargs[key] = value
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able parameters (for ``meta_release``)."""
        return {
            f.name: (
                dict(v)
                if isinstance(v := getattr(self, f.name), Mapping)
                else list(v)
                if isinstance(v, tuple)
                else v
            )
            for f in fields(self)
        }
