"""Access (inzage) and portability: everything the steward's domain holds about one person.

Found by BSN: the canonical (staging) records of every organisation that knows the BSN, their
episodes and everything hanging off those episodes, and the raw rows (the exports as delivered:
names, addresses, notes) of that person. Returned as plain JSON-able data; the caller prints or
writes it for the resident, never to a log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from anonymise.bsn import bsn_check_digit_ok
from assets.raw.contracts import CONTRACTS
from assets.raw.load import raw_table
from assets.staging import schema
from pipelines.resources import quote_ident, read_frame


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date | dt.datetime) else v


def person_records(con: duckdb.DuckDBPyConnection, bsn: str) -> dict[str, Any]:
    """All records of the person with ``bsn`` (normalised 9 digits), per layer and table."""
    if not bsn_check_digit_ok(bsn):
        raise ValueError("the BSN does not pass the 11-proef.")
    persons = read_frame(
        con, "select * from canonical.persons where bsn = ? order by organisation", [bsn]
    )
    keys = persons.select("organisation", "source_person_id")
    con.register("_keys", keys)
    episodes = read_frame(
        con,
        "select e.* from canonical.episodes e join _keys using (organisation, source_person_id)",
    )
    con.register("_eps", episodes.select("organisation", "episode_id"))
    out: dict[str, Any] = {
        "canonical": {"persons": persons.to_dicts(), "episodes": episodes.to_dicts()}
    }
    for entity in schema.ENTITIES:
        if entity not in ("persons", "episodes"):
            out["canonical"][entity] = read_frame(
                con,
                f"select t.* from canonical.{entity} t join _eps using (organisation, episode_id)",
            ).to_dicts()
    raw: dict[str, Any] = {}
    ids = {
        org: set(keys.filter(keys["organisation"] == org)["source_person_id"])
        for org in keys["organisation"].unique()
    }
    eps = {
        org: set(episodes.filter(episodes["organisation"] == org)["episode_id"])
        for org in episodes["organisation"].unique()
    }
    for org, contract in CONTRACTS.items():
        for spec in contract.exports:
            table = raw_table(org, spec.name)
            exists = con.execute(
                "select count(*) from information_schema.tables where table_schema = 'raw' "
                "and table_name = ?",
                [table],
            ).fetchone()[0]
            if not exists:
                continue
            cols = {r[0] for r in con.execute(f'describe raw."{table}"').fetchall()}
            conditions, params = [], []
            # by the contract's person key (person or household case id) and BSN column
            wanted = (ids if spec.person_key_of == "person" else eps).get(org, set())
            if spec.person_key in cols and wanted:
                key = quote_ident(spec.person_key)
                conditions.append(f"upper(trim({key})) in (select unnest(?))")
                params.append(sorted(wanted))
            if spec.bsn in cols:
                column = quote_ident(spec.bsn)
                conditions.append(f"regexp_replace({column}, '[\\s.\\-]', '', 'g') = ?")
                params.append(bsn)
            if conditions:
                rows = read_frame(
                    con, f'select * from raw."{table}" where ' + " or ".join(conditions), params
                )
                if rows.height:
                    raw[table] = rows.to_dicts()
    out["raw"] = raw
    con.unregister("_keys")
    con.unregister("_eps")
    out["organisations"] = sorted(ids)
    return _walk(out)


def _walk(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _walk(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_walk(x) for x in v]
    return _plain(v)
