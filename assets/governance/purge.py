"""governance_purge: retention and data-subject requests applied to the steward's database.

Runs after staging on every run, before pseudonymisation: persons past their retention term and
persons with an erasure request are deleted from the canonical (staging) tables and from the raw
tables (every row of theirs, found by lineage, id and BSN), their quarantine entries go too, and
the landing files that still hold them are reported (the organisations' exports are theirs to
replace; each run purges again until they do). Objection and restriction keep a person in the
steward's domain but out of every research release (``meta.research_exclusions``, by pseudonym).
Every action is written to ``meta.audit_log`` with counts only; every request is logged once in
``meta.request_log`` by its reference, never by BSN.
"""

import datetime as dt
import getpass
import json

import duckdb
import polars as pl

from anonymise.pseudonym import pseudonymise
from assets.governance.requests import match_requests
from assets.governance.retention import RetentionPolicy, expired_persons
from assets.pseudonymised.transform import PERSON_DOMAIN
from assets.raw.contracts import CONTRACTS
from assets.raw.load import raw_table
from assets.staging import schema
from pipelines.resources import (
    AUDIT_DDL,
    quote_ident,
    read_frame,
    temp_table_keyed_like,
    transaction,
)
from quality.outcome import CheckOutcome

# A person's raw rows are found by the export contract's person key (the person's source id or,
# for Aalsmeer, the household case id; compared trimmed, upper-case) and its BSN column.

REQUEST_LOG_DDL = (
    "create table if not exists meta.request_log (reference varchar, request varchar, "
    "received_on date, processed_at timestamp, run_id varchar, persons_matched bigint, "
    "outcome varchar)"
)
EXCLUSIONS_DDL = (
    "create or replace table meta.research_exclusions (person_pseudonym varchar, reason varchar)"
)


def write_audit(
    con: duckdb.DuckDBPyConnection, action: str, run_id: str, parameters: dict, counts: dict
) -> None:
    """One audit-log entry: who, what, when, with which parameters and counts (no personal data)."""
    con.execute(AUDIT_DDL)
    con.execute(
        "insert into meta.audit_log values (current_timestamp, ?, ?, ?, ?, ?)",
        [
            getpass.getuser(),
            action,
            run_id,
            json.dumps(parameters, default=str),
            json.dumps(counts, default=str),
        ],
    )


def purge_persons(
    con: duckdb.DuckDBPyConnection,
    purge: pl.DataFrame,
    bsns: list[str],
    organisations: list[str],
) -> dict[str, int]:
    """Delete ``purge`` (organisation, source_person_id) everywhere; returns counts per layer.

    ``bsns`` are additionally removed from every raw table that has a ``bsn`` column (rows that
    were quarantined never reached the canonical tables, but are still the person's data).
    """
    counts: dict[str, int] = {}
    # Typed like the canonical key (organisation is an ENUM there): joins compare codes, not text.
    temp_table_keyed_like(
        con,
        "_purge",
        purge.select("organisation", "source_person_id").unique(),
        like="canonical.persons",
    )
    con.execute(
        "create or replace temp table _purge_episodes as select e.organisation, e.episode_id "
        "from canonical.episodes e join _purge p using (organisation, source_person_id)"
    )
    con.execute(
        "create or replace temp table _purge_ids as "
        "select organisation, upper(trim(source_person_id)) id, 'person' kind from _purge "
        "union select organisation, upper(trim(episode_id)), 'episode' from _purge_episodes"
    )
    con.register("_bsns", pl.DataFrame({"bsn": bsns}, schema={"bsn": pl.String}))
    # Raw first, while the canonical lineage still exists to find rows by.
    removed_lineage = []
    for org in organisations:
        for spec in CONTRACTS[org].exports:
            table = f'raw."{raw_table(org, spec.name)}"'
            exists = con.execute(
                "select count(*) from information_schema.tables where table_schema='raw' "
                "and table_name=?",
                [raw_table(org, spec.name)],
            ).fetchone()[0]
            if not exists:
                continue
            cols = {r[0] for r in con.execute(f"describe {table}").fetchall()}
            conditions = []
            if spec.person_key in cols:
                conditions.append(
                    f"upper(trim({quote_ident(spec.person_key)})) in (select id from _purge_ids "
                    f"where organisation = '{org}' and kind = '{spec.person_key_of}')"
                )
            if spec.bsn in cols and bsns:
                bsn = f"regexp_replace({quote_ident(spec.bsn)}, '[\\s.\\-]', '', 'g')"
                conditions.append(
                    f"{bsn} in (select bsn from _bsns) "
                    f"or lpad({bsn}, 9, '0') in (select bsn from _bsns)"
                )
            if not conditions:
                continue
            where = " or ".join(f"({c})" for c in conditions)
            # select, then delete: ``delete … returning`` is ~20x slower in DuckDB 1.5.6
            lineage = read_frame(
                con, f"select _source_file, _source_row from {table} where {where}"
            )
            con.execute(f"delete from {table} where {where}")
            removed_lineage.append(lineage)
            counts[f"raw.{raw_table(org, spec.name)}"] = lineage.height
    lineage = (
        pl.concat(removed_lineage)
        if removed_lineage
        else pl.DataFrame(schema={"_source_file": pl.String, "_source_row": pl.Int64})
    )
    con.register("_lineage", lineage)
    counts["quarantine.rows"] = con.execute(
        "delete from quarantine.rows where (source_file, source_row) in "
        "(select _source_file, _source_row from _lineage)"
    ).fetchone()[0]
    for entity in schema.ENTITIES:
        if entity in ("persons", "episodes"):
            where = "(organisation, source_person_id) in (select * from _purge)"
        else:
            where = "(organisation, episode_id) in (select * from _purge_episodes)"
        counts[f"canonical.{entity}"] = con.execute(
            f"delete from canonical.{entity} where {where}"
        ).fetchone()[0]
    counts["landing_rows_still_present"] = lineage.height
    for temp in ("_purge", "_purge_episodes", "_purge_ids"):
        con.execute(f"drop table if exists {temp}")
    con.unregister("_bsns")
    con.unregister("_lineage")
    return counts


def governance_step(
    con: duckdb.DuckDBPyConnection,
    *,
    policy: RetentionPolicy,
    requests: pl.DataFrame,
    today: dt.date,
    key: bytes,
    organisations: list[str],
    run_id: str,
) -> dict[str, object]:
    """Apply retention and requests to an open staging database; returns a value-free summary.

    One transaction: the deletions, the request log and the audit entry are stored together or
    not at all (and the database checkpoints once, not after every large delete).

    Deleted rows are not compacted away at the checkpoint (``max_vacuum_tasks = 0``, see
    ``pipelines.resources.DUCKDB_SETTINGS``): compacting the 28 M-row score table after a purge
    costs ~7 s at 1 M people, and the next run rebuilds every raw and canonical table anyway.
    The rows are deleted all the same (invisible to every query, gone from the next rebuild).
    """
    con.execute("set max_vacuum_tasks = 0")  # also when called on a plain connection
    with transaction(con):
        return _governance_step(
            con,
            policy=policy,
            requests=requests,
            today=today,
            key=key,
            organisations=organisations,
            run_id=run_id,
        )


def _governance_step(
    con: duckdb.DuckDBPyConnection,
    *,
    policy: RetentionPolicy,
    requests: pl.DataFrame,
    today: dt.date,
    key: bytes,
    organisations: list[str],
    run_id: str,
) -> dict[str, object]:
    episodes = read_frame(
        con, "select organisation, source_person_id, end_date, end_reason from canonical.episodes"
    )
    persons = read_frame(con, "select organisation, source_person_id, bsn from canonical.persons")
    expired = expired_persons(episodes, policy, today=today)
    matched = match_requests(requests, persons)
    erase = matched.filter(
        (pl.col("request") == "erasure") & pl.col("source_person_id").is_not_null()
    )
    purge = pl.concat(
        [
            expired.select("organisation", "source_person_id"),
            erase.select("organisation", "source_person_id"),
        ]
    ).unique()
    erase_bsns = requests.filter(pl.col("request") == "erasure")["bsn"].to_list()
    counts = purge_persons(con, purge, erase_bsns, organisations)

    # Objection/restriction: out of research releases, by pseudonym (the key stays in memory).
    excluded = requests.filter(pl.col("request").is_in(["objection", "restriction"])).select(
        pseudonymise(pl.col("bsn"), key=key, domain=PERSON_DOMAIN).alias("person_pseudonym"),
        pl.col("request").alias("reason"),
    )
    con.execute(EXCLUSIONS_DDL)
    con.register("_excl", excluded)
    con.execute("insert into meta.research_exclusions select * from _excl")
    con.unregister("_excl")

    # Each request logged once, by reference.
    con.execute(REQUEST_LOG_DDL)
    logged = {r[0] for r in con.execute("select reference from meta.request_log").fetchall()}
    per_request = matched.group_by("reference", "request", "received_on").agg(
        persons_matched=pl.col("source_person_id").drop_nulls().len()
    )
    new = per_request.filter(~pl.col("reference").is_in(list(logged)))
    for row in new.iter_rows(named=True):
        outcome = {
            "erasure": "removed from raw, staging and quarantine; excluded from releases",
            "objection": "kept in the steward's domain; excluded from research releases",
            "restriction": "kept in the steward's domain; excluded from research releases",
        }[row["request"]]
        if row["persons_matched"] == 0:
            outcome = "no person with this BSN in the current exports; " + outcome
        con.execute(
            "insert into meta.request_log values (?, ?, ?, current_timestamp, ?, ?, ?)",
            [
                row["reference"],
                row["request"],
                row["received_on"],
                run_id,
                row["persons_matched"],
                outcome,
            ],
        )
    summary = {
        "persons_past_retention": expired.height,
        "erasure_requests": int((requests["request"] == "erasure").sum()),
        "persons_erased": erase.select("organisation", "source_person_id").unique().height,
        "research_exclusions": excluded.height,
        "requests_logged_now": new.height,
        **counts,
    }
    write_audit(con, "purge", run_id, {"today": today, "terms": policy.frame().to_dicts()}, summary)
    return summary


def check_purged(con: duckdb.DuckDBPyConnection, purge_bsns: list[str]) -> CheckOutcome:
    """Blocking: no canonical person with an erased BSN remains."""
    con.register("_b", pl.DataFrame({"bsn": purge_bsns}, schema={"bsn": pl.String}))
    left = con.execute(
        "select count(*) from canonical.persons where bsn in (select bsn from _b)"
    ).fetchone()[0]
    con.unregister("_b")
    if left:
        return CheckOutcome(False, f"{left} person record(s) with an erasure request remain.")
    return CheckOutcome(True, "No person with an erasure request remains in staging.")
