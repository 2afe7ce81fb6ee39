"""The landing sensor: one run request per new state of the landing folder, none while a file is
still being written, none when nothing changed; the cursor holds no file content."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import dagster as dg

from assets.raw.partitions import all_partitions_tags
from pipelines.definitions import ALL_JOB, build_definitions
from pipelines.settings import AutomationSettings, Settings


def _sensor(settings: Settings, settle: float) -> dg.SensorDefinition:
    settings = replace(settings, automation=AutomationSettings(settle_seconds=settle))
    defs = build_definitions(settings)
    (sensor,) = [s for s in defs.sensors if s.name == "brugstat_new_landing_files"]
    return sensor


def _tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None):
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor)
    return sensor.evaluate_tick(ctx), ctx


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_new_and_changed_exports_start_one_run_each(settings_in: Settings) -> None:
    landing = settings_in.paths.landing
    sensor = _sensor(settings_in, settle=60)
    assert sensor.job_name == ALL_JOB
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    with dg.instance_for_test() as instance:
        result, _ = _tick(sensor, instance, None)
        assert not result.run_requests and "No exports" in result.skip_message

        export = landing / "breda" / "doorbraakplannen.csv"
        export.parent.mkdir(parents=True)
        export.write_text("plan_id;bsn\n1;123456782\n")
        result, _ = _tick(sensor, instance, None)  # just written: may still be copying
        assert not result.run_requests and "still changing" in result.skip_message

        _age(export, 600)
        result, _ = _tick(sensor, instance, None)
        assert len(result.run_requests) == 1
        cursor = result.cursor
        assert cursor and "123456782" not in cursor and "plan_id" not in cursor
        assert result.run_requests[0].tags["brugstat/trigger"] == "new-landing-files"
        # the run covers every organisation partition (raw, staging), then the release
        assert all_partitions_tags().items() <= result.run_requests[0].tags.items()

        result, _ = _tick(sensor, instance, cursor)  # nothing new
        assert not result.run_requests and "No new" in result.skip_message

        export.write_text("plan_id;bsn\n1;123456782\n2;111222333\n")
        _age(export, 600)
        result, _ = _tick(sensor, instance, cursor)
        assert len(result.run_requests) == 1 and result.cursor != cursor

        hidden = landing / "breda" / ".partial"
        hidden.write_text("x")  # hidden files (uploads in progress) are ignored
        _age(hidden, 600)
        assert not _tick(sensor, instance, result.cursor)[0].run_requests


def test_a_new_erasure_request_starts_a_run(settings_in: Settings) -> None:
    export = settings_in.paths.landing / "aalsmeer" / "leden.csv"
    export.parent.mkdir(parents=True)
    export.write_text("a\n")
    _age(export, 600)
    sensor = _sensor(settings_in, settle=60)
    with dg.instance_for_test() as instance:
        first, _ = _tick(sensor, instance, None)
        requests = settings_in.governance.requests_file
        requests.parent.mkdir(parents=True)
        requests.write_text("bsn,request,received_on,reference\n")
        _age(requests, 600)
        second, _ = _tick(sensor, instance, first.cursor)
    assert len(second.run_requests) == 1
