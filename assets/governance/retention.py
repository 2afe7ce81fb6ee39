"""Retention terms per organisation × how support ended, and who is past them.

A term is counted from the end of support. A person's data at an organisation is kept while any
of their episodes there is ongoing or within its term; once every episode is past its term the
person is purged from the steward's domain and is absent from the next release.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from assets.staging.schema import END_REASONS, ORGANISATIONS

_TERM = re.compile(r"^\s*(\d+)\s*([ywmd])\s*$")


@dataclass(frozen=True)
class Term:
    """A retention term such as ``10y``, ``18m``, ``6w`` or ``30d``."""

    text: str

    def __post_init__(self) -> None:
        if not _TERM.match(self.text):
            raise ValueError(
                f"retention term {self.text!r} is not a number followed by y, m, w or d "
                "(years, months, weeks, days), e.g. '10y' or '6w'."
            )

    @property
    def offset(self) -> str:
        """The term as a polars duration string (``dt.offset_by``)."""
        match = _TERM.match(self.text)
        assert match is not None  # validated in __post_init__
        n, unit = match.groups()
        return n + {"y": "y", "m": "mo", "w": "w", "d": "d"}[unit]


# The seeds' terms (shared/seeds, domain.md §0). Zuidplas and Hengelo state no number: their
# defaults below are placeholders for the organisation to set ("niet langer dan strikt nodig").
DEFAULT_TERMS: dict[str, dict[str, str]] = {
    "groningen": {"completed": "10y", "refused": "5y", "aborted": "1y", "no_support": "5y"},
    "aalsmeer": {"completed": "20y", "no_support": "5y", "aborted": "6w", "refused": "5y"},
    "breda": {"completed": "15y", "aborted": "1y", "no_support": "1y", "refused": "1y"},
    "zuidplas": {"completed": "10y", "refused": "5y", "aborted": "1y", "no_support": "1y"},
    "hengelo": {"completed": "5y", "refused": "1y", "aborted": "1y", "no_support": "1y"},
}
"""Default terms; brugstat.toml's [retention.<organisation>] tables override them."""


@dataclass(frozen=True)
class RetentionPolicy:
    """Terms per organisation and end reason (``ongoing`` never expires)."""

    terms: Mapping[str, Mapping[str, Term]]

    @classmethod
    def from_mapping(
        cls, overrides: Mapping[str, Mapping[str, str]] | None = None
    ) -> RetentionPolicy:
        """Defaults overlaid with a TOML-style mapping {organisation: {end_reason: "10y"}}."""
        merged = {org: dict(t) for org, t in DEFAULT_TERMS.items()}
        for org, terms in (overrides or {}).items():
            if org not in ORGANISATIONS:
                raise ValueError(f"[retention] names unknown organisation {org!r}.")
            for reason, term in terms.items():
                if reason not in END_REASONS or reason == "ongoing":
                    raise ValueError(
                        f"[retention.{org}] names {reason!r}; expected one of "
                        f"{[r for r in END_REASONS if r != 'ongoing']}."
                    )
                merged[org][reason] = term
        return cls({o: {r: Term(t) for r, t in ts.items()} for o, ts in merged.items()})

    def frame(self) -> pl.DataFrame:
        """The terms as a frame (organisation, end_reason, term, offset) for joins and reports."""
        rows = [
            {"organisation": o, "end_reason": r, "term": t.text, "offset": t.offset}
            for o, ts in self.terms.items()
            for r, t in ts.items()
        ]
        return pl.DataFrame(rows)


def expired_persons(
    episodes: pl.DataFrame, policy: RetentionPolicy, *, today: dt.date
) -> pl.DataFrame:
    """(organisation, source_person_id, expired_on) for persons past retention at an organisation.

    ``episodes`` needs organisation, source_person_id, end_date, end_reason. An episode with an
    end date but no (or an unknown) end reason gets the organisation's ``completed`` term.
    """
    terms = policy.frame()
    # Codes read from DuckDB with .pl() are categorical (ENUM columns): join them as text.
    episodes = episodes.with_columns(pl.col("organisation", "end_reason").cast(pl.String))
    default = terms.filter(pl.col("end_reason") == "completed").select(
        "organisation", pl.col("offset").alias("_default")
    )
    ep = (
        episodes.select("organisation", "source_person_id", "end_date", "end_reason")
        .join(
            terms.select("organisation", "end_reason", "offset"),
            on=["organisation", "end_reason"],
            how="left",
        )
        .join(default, on="organisation", how="left")
        .with_columns(pl.coalesce("offset", "_default").alias("offset"))
    )
    missing = ep.filter(pl.col("offset").is_null())["organisation"].unique().to_list()
    if missing:
        raise ValueError(f"no retention terms configured for organisation(s) {sorted(missing)}.")
    # offset_by takes a per-row duration string; ongoing episodes (no end date) never expire.
    ep = ep.with_columns(
        expires_on=pl.col("end_date").dt.offset_by(pl.col("offset")),
    )
    per_person = ep.group_by("organisation", "source_person_id").agg(
        ongoing=pl.col("end_date").is_null().any(),
        expired_on=pl.col("expires_on").max(),
    )
    return (
        per_person.filter(~pl.col("ongoing") & (pl.col("expired_on") <= today))
        .select("organisation", "source_person_id", "expired_on")
        .sort("organisation", "source_person_id")
    )
