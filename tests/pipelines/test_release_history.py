"""Item 4 of issue 16: mart_persons carries the release's figures as plain numbers on every
materialisation, so the Dagster UI plots k, persons, suppression, risk and Loss across releases."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest

from assets.marts.assets import AGGREGATES, MICRODATA
from pipelines.definitions import build_definitions

FIGURES = (
    "k_achieved",
    "persons",
    "persons_suppressed",
    "cells_suppressed",
    "max_risk",
    "avg_risk",
    "loss",
)


def _numeric(value: dg.MetadataValue) -> float | None:
    """The number the UI plots, or None when the entry is not a plottable number."""
    if isinstance(value, dg.IntMetadataValue | dg.FloatMetadataValue):
        return value.value
    return None


def test_numeric_figures_on_every_materialisation(demo_release, tmp_path: Path, monkeypatch):
    # a copy of the shared release: the mart step rebuilds research.duckdb and the ledger
    data = tmp_path / "data"
    shutil.copytree(
        demo_release.paths.data_dir, data, ignore=shutil.ignore_patterns("dagster_home")
    )
    settings = demo_release.with_data_dir(data)
    settings = replace(settings, paths=replace(settings.paths, key_file=tmp_path / "no.key"))
    monkeypatch.setenv("BRUGSTAT_PSEUDONYM_KEY", "3c" * 32)  # the fixture's key
    job = build_definitions(settings).resolve_implicit_global_asset_job_def()
    marts = [dg.AssetKey(n) for n in [*MICRODATA, *AGGREGATES]]
    with dg.instance_for_test() as instance:
        for _ in range(2):
            result = job.execute_in_process(
                instance=instance, asset_selection=marts, raise_on_error=False
            )
            assert result.success
        records = instance.fetch_materializations(dg.AssetKey("mart_persons"), limit=10).records
        assert len(records) == 2
        releases = set()
        for rec in records:
            meta = rec.asset_materialization.metadata
            releases.add(meta["release_id"].value)
            values = {name: _numeric(meta[name]) for name in FIGURES if name in meta}
            missing = [n for n in FIGURES if values.get(n) is None]
            assert not missing, f"not plottable numbers: {missing}"
            assert values["persons"] > 0 and values["k_achieved"] >= 2
            assert 0 <= values["max_risk"] <= 1 and 0 <= values["loss"] <= 1
            assert values["max_risk"] == round(values["max_risk"], 4)
            assert values["cells_suppressed"] == (
                _numeric(meta["primary_cells"]) + _numeric(meta["secondary_cells"])
            )
        assert len(releases) == 2, "two materialisations must be two releases"


@pytest.mark.parametrize(
    "value, plottable",
    [
        (dg.MetadataValue.int(3), True),
        (dg.MetadataValue.float(0.25), True),
        (dg.MetadataValue.text("0.25"), False),
        (dg.MetadataValue.json({"k": 5}), False),
    ],
)
def test_plottable_detector_has_a_positive_control(value, plottable) -> None:
    assert (_numeric(value) is not None) is plottable
