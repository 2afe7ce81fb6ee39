"""How the published tables are protected: their names and the ``[tables]`` settings.

Light on purpose (no polars, DuckDB or Dagster): the settings loader reads it before anything
runs. The protection itself is :mod:`assets.marts.aggregates`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from anonymise.tables.cellkey import PTable

BRIDGE_LEVELS = "mart_bridge_levels_by_area_period"
BRIDGE_PROGRESS = "mart_bridge_progress"
GOALS_REACHED = "mart_goals_reached_by_domain"
OUTCOMES = "mart_outcomes_by_organisation_programme"
AGGREGATE_TABLES = (BRIDGE_LEVELS, BRIDGE_PROGRESS, GOALS_REACHED, OUTCOMES)
INTAKE, LATEST = "intake", "latest"
"""The two measurements of :data:`BRIDGE_PROGRESS` (first and last of the trajectory)."""


def mart_of(table_name: str) -> str:
    """The mart table a protected table belongs to (``mart_x:<domain>…`` → ``mart_x``).

    >>> mart_of("mart_goals_reached_by_domain:wonen")
    'mart_goals_reached_by_domain'
    """
    return table_name.partition(":")[0]


Protection = Literal["suppression", "cell_key", "both"]
"""How a published table is protected: cell suppression (threshold, group disclosure,
audited secondary suppression, linked to earlier releases), the cell key method (every cell
perturbed by a fixed function of its count and its contributors' record keys), or both
(suppression first, the published cells then perturbed)."""
PROTECTIONS: tuple[str, ...] = get_args(Protection)
LINKED_MARTS: tuple[tuple[str, ...], ...] = ((BRIDGE_LEVELS, BRIDGE_PROGRESS),)
"""Mart tables that share cells (the same measure): they must be protected the same way, or a
cell suppressed in one would be published, perturbed, in the other."""


class TableSettingsError(ValueError):
    """The ``[tables]`` section is malformed."""


@dataclass(frozen=True)
class TableSettings:
    """The ``[tables]`` section of brugstat.toml: how the published tables are protected.

    ``protection`` maps a mart table to ``suppression`` (the default for every table not
    named), ``cell_key`` or ``both`` (ADR 0006, threat model). The ``cell_key_*`` keys design
    the perturbation table (R ``ptable``: maximum noise D, variance V, no perturbed count in
    ``1..js``); it is published in ``meta_ptable``.
    """

    threshold: int = 10
    """Minimum persons per published (unperturbed) cell (CBS / DwB rule of thumb)."""
    protection: dict[str, str] = field(default_factory=dict)
    cell_key_max_noise: int = 2
    """D: the largest change the noise makes to a count."""
    cell_key_variance: float = 1.05
    """V: the variance of the noise of counts large enough to reach it."""
    cell_key_small_counts: int = 1
    """js: no cell is published with a perturbed count in 1..js (zeros stay zeros)."""

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any] | None) -> TableSettings:
        """Read and check the ``[tables]`` section (missing keys: defaults).

        >>> settings = TableSettings.from_mapping({"protection": {OUTCOMES: "cell_key"}})
        >>> settings.protection_of(OUTCOMES), settings.protection_of(GOALS_REACHED)
        ('cell_key', 'suppression')
        >>> TableSettings.from_mapping({"protection": {BRIDGE_LEVELS: "cell_key"}})
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        assets.marts.protection.TableSettingsError: [tables] protection: ... share cells ...
        """
        section = dict(section or {})
        known = {f.name for f in fields(cls)}
        extra = sorted(set(section) - known)
        if extra:
            raise TableSettingsError(
                f"[tables] has unknown key(s) {extra}; known: {sorted(known)}."
            )
        protection = section.get("protection", {})
        if not isinstance(protection, Mapping):
            raise TableSettingsError("[tables] protection must be a table (mart table = method).")
        for mart, method in protection.items():
            if mart not in AGGREGATE_TABLES:
                raise TableSettingsError(
                    f"[tables] protection: unknown table '{mart}'; known: {list(AGGREGATE_TABLES)}."
                )
            if method not in PROTECTIONS:
                raise TableSettingsError(
                    f"[tables] protection.{mart}: unknown method; known: {list(PROTECTIONS)}."
                )
        out = cls(**{**section, "protection": {str(k): str(v) for k, v in protection.items()}})
        for group in LINKED_MARTS:
            if len({out.protection_of(m) for m in group}) > 1:
                raise TableSettingsError(
                    f"[tables] protection: {' and '.join(group)} share cells and must be "
                    "protected the same way."
                )
        if out.threshold < 1:
            raise TableSettingsError("[tables] threshold must be at least 1.")
        if out.uses_cell_key:
            try:
                out.ptable()
            except ValueError as exc:
                raise TableSettingsError(f"[tables] cell_key_*: {exc}") from None
        return out

    def protection_of(self, mart: str) -> Protection:
        """The protection of mart table ``mart`` (``suppression`` unless configured)."""
        return self.protection.get(mart, "suppression")  # type: ignore[return-value]

    @property
    def uses_cell_key(self) -> bool:
        """Whether any table is perturbed (the anonymised step then derives record keys)."""
        return any(self.protection_of(m) != "suppression" for m in AGGREGATE_TABLES)

    def ptable(self) -> PTable:
        """The perturbation table these settings design."""
        d, js = self.cell_key_max_noise, self.cell_key_small_counts
        if js > d:
            raise ValueError(
                f"small counts up to {js} cannot be avoided with noise of at most {d} "
                "(a count of 1 must be able to move to 0 or above the small counts)"
            )
        from anonymise.tables.cellkey import ptable  # scipy: only when a table is perturbed

        return ptable(D=d, V=float(self.cell_key_variance), js=js)
