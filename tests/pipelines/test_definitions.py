"""The Definitions load, name every asset by layer and entity, and the webserver serves them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from assets.anonymised.assets import ANONYMISED_TABLES
from assets.marts.catalogue import CATALOGUE
from assets.staging.schema import ENTITIES
from pipelines.definitions import ALL_JOB, build_definitions

ROOT = Path(__file__).resolve().parents[2]


def test_asset_names_say_layer_and_entity(settings_in) -> None:
    defs = build_definitions(settings_in)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    raw = {"raw_exports"}  # one asset, a partition per organisation (tests/assets/test_partitions)
    staging = {f"staging_{e}" for e in ENTITIES} | {"staging_file_balance", "quarantine_rows"}
    staging |= {"governance_purge"}
    pseudo = {f"pseudonymised_{e}" for e in ENTITIES}
    anonymised = {f"anonymised_{t}" for t in ANONYMISED_TABLES}
    marts = {n for n, d in CATALOGUE.items() if d.kind != "meta"}
    assert keys == raw | staging | pseudo | anonymised | marts | {"report_policy"}
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {groups[k] for k in raw} == {"raw"} and {groups[k] for k in pseudo} == {"pseudonymised"}
    assert defs.resolve_job_def(ALL_JOB) is not None
    assert groups["report_policy"] == "reports"
    report_job = defs.resolve_job_def("brugstat_report")
    assert {k.to_user_string() for k in report_job.asset_layer.executable_asset_keys} == {
        "report_policy"
    }
    quarterly = {s.name: s for s in defs.schedules}["brugstat_quarterly_report"]
    assert quarterly.job_name == "brugstat_report" and quarterly.cron_schedule.startswith("0 7 1 ")
    assert quarterly.default_status == dg.DefaultScheduleStatus.STOPPED


def test_privacy_checks_are_blocking(settings_in) -> None:
    defs = build_definitions(settings_in)
    specs = {
        (spec.asset_key.to_user_string(), spec.name): spec
        for a in defs.assets
        if isinstance(a, dg.AssetsDefinition)
        for spec in a.check_specs
    }
    assert specs[("staging_file_balance", "conservation")].blocking
    for e in ENTITIES:
        assert specs[(f"pseudonymised_{e}", "no_direct_identifiers")].blocking


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_webserver_loads_the_project(tmp_path) -> None:
    port = _free_port()
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path), BRUGSTAT_DATA_DIR=str(tmp_path / "d"))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    webserver = Path(sys.executable).with_name("dagster-webserver")
    proc = subprocess.Popen(
        [str(webserver), "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=query,
            headers={"Content-Type": "application/json"},
        )
        body = json.load(urllib.request.urlopen(req, timeout=30))
        names = {"/".join(n["assetKey"]["path"]) for n in body["data"]["assetNodes"]}
        assert "pseudonymised_persons" in names and "staging_bridge_scores" in names
    finally:
        proc.terminate()
        proc.wait(timeout=30)
