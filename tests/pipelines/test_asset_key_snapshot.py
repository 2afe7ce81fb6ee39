"""Every asset key (with its group), asset check and job of the Definitions, held against a
committed list, so a refactor that renames or regroups anything shows up as a diff.

Regenerate after an intended change with
``BRUGSTAT_UPDATE_SNAPSHOT=1 python -m pytest tests/pipelines/test_asset_key_snapshot.py``
and commit ``tests/pipelines/asset_keys.txt``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.definitions import build_definitions
from pipelines.settings import Settings

SNAPSHOT = Path(__file__).with_name("asset_keys.txt")
UPDATE_ENV = "BRUGSTAT_UPDATE_SNAPSHOT"


def definition_lines(settings: Settings) -> list[str]:
    """One sorted line per asset (``asset <key> group=<group>``, with `` partitions=<keys>``
    when partitioned), check
    (``check <asset>:<name>``) and job (``job <name>``) of the Definitions."""
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    lines = [
        f"asset {k.to_user_string()} group={graph.get(k).group_name}{_partitions(graph.get(k))}"
        for k in graph.get_all_asset_keys()
    ]
    lines += [
        f"check {key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys
    ]
    lines += [f"job {job.name}" for job in defs.resolve_all_job_defs()]
    return sorted(set(lines))


def _partitions(node) -> str:
    if node.partitions_def is None:
        return ""
    return " partitions=" + ",".join(node.partitions_def.get_partition_keys())


def test_definitions_match_the_committed_snapshot(settings_in: Settings) -> None:
    lines = definition_lines(settings_in)
    if os.environ.get(UPDATE_ENV) == "1":
        SNAPSHOT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    committed = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    added = sorted(set(lines) - set(committed))
    removed = sorted(set(committed) - set(lines))
    assert not added and not removed, (
        f"asset keys/checks/jobs differ from {SNAPSHOT.name}: added {added}, removed {removed}. "
        f"If intended, rerun with {UPDATE_ENV}=1 and commit the file."
    )
    assert committed == lines, f"{SNAPSHOT.name} is not sorted or has duplicates; regenerate it"


def test_snapshot_lists_each_kind() -> None:
    # Guards against a snapshot that is empty or lost a whole kind of line.
    committed = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    kinds = {line.split(" ", 1)[0] for line in committed}
    assert kinds == {"asset", "check", "job"}
