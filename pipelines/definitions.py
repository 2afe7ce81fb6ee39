"""The one place that assembles brugstat's Dagster definitions.

Load it in the UI with ``dagster dev -m pipelines.definitions -h 127.0.0.1`` (or
``brugstat ui``). Assets are grouped by layer; resources are configured from brugstat.toml.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import dagster as dg

from assets.anonymised.assets import anonymised_tables
from assets.anonymised.resource import ReleaseConfig
from assets.governance.assets import governance_purge
from assets.governance.resource import GovernanceConfig
from assets.marts.assets import mart_tables
from assets.pseudonymised.assets import pseudonymised_tables
from assets.raw.assets import build_raw_asset
from assets.raw.partitions import all_partitions_tags
from assets.reports import (
    REPORT_GROUP,
    REPORT_RESOURCE_KEY,
    ReportSettings,
    report_assets,
    report_checks,
    report_selection,
)
from assets.staging.assets import staging_canonical
from pipelines.automation import build_landing_sensor
from pipelines.locking import EXCLUSIVE_TAGS
from pipelines.modes import StewardModeError, prepare
from pipelines.resources import LandingFolder, PseudonymKey, StagingDatabase
from pipelines.settings import Settings, load_settings

ALL_JOB = "brugstat_all"
REPORT_JOB = "brugstat_report"


def in_group(group: str, assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """``assets`` with every asset they define put in ``group``."""
    return list(dg.map_asset_specs(lambda spec: spec.replace_attributes(group_name=group), assets))


def build_definitions(settings: Settings) -> dg.Definitions:
    """Definitions for one deployment's settings (tests pass their own)."""
    # Each layer's group is named here once (the asset modules set none): the UI's lineage
    # shows the layers top to bottom, and a job can select a layer by its group.
    layers: dict[str, Sequence[dg.AssetsDefinition]] = {
        "raw": [build_raw_asset({o: settings.register_text(o) for o in settings.organisations})],
        "staging": [staging_canonical],
        "governance": [governance_purge],
        "pseudonymised": [pseudonymised_tables],
        "anonymised": [anonymised_tables],
        "marts": [mart_tables],
        REPORT_GROUP: report_assets,
    }
    assets = [a for group, defs in layers.items() for a in in_group(group, defs)]
    job = dg.define_asset_job(
        ALL_JOB,
        selection=dg.AssetSelection.all(),
        description="The whole pipeline: extract every landing export, stage, quarantine, "
        "pseudonymise, anonymise, release research.duckdb and write the report.",
        executor_def=dg.in_process_executor,
        tags=EXCLUSIVE_TAGS,  # the run queue starts one brugstat run at a time
    )
    report_job = dg.define_asset_job(
        REPORT_JOB,
        selection=report_selection,
        description="The policymakers' report (Dutch HTML + PDF) of the newest release.",
        executor_def=dg.in_process_executor,
        tags=EXCLUSIVE_TAGS,
    )
    auto = settings.automation
    # The whole job's runs cover every organisation partition, then the release.
    every_organisation = all_partitions_tags()
    return dg.Definitions(
        assets=assets,
        asset_checks=report_checks,
        jobs=[job, report_job],
        schedules=[
            dg.ScheduleDefinition(
                name="brugstat_weekly",
                job=job,
                cron_schedule=auto.pipeline_cron,
                execution_timezone=auto.timezone,
                description=f"Cron {auto.pipeline_cron}: pick up new exports. Off until a "
                "steward turns it on in the UI.",
                # A run request, not ``tags=``: a schedule's own tags may not name partitions.
                execution_fn=lambda _context: dg.RunRequest(tags=every_organisation),
                default_status=dg.DefaultScheduleStatus.STOPPED,
            ),
            dg.ScheduleDefinition(
                name="brugstat_quarterly_report",
                job=report_job,
                cron_schedule=auto.report_cron,
                execution_timezone=auto.timezone,
                description=f"Cron {auto.report_cron} (quarterly): the policymakers' report of "
                "the newest release. Off until a steward turns it on in the UI.",
                default_status=dg.DefaultScheduleStatus.STOPPED,
            ),
        ],
        sensors=[
            build_landing_sensor(
                job,
                landing=settings.paths.landing,
                organisations=list(settings.organisations),
                requests_file=settings.governance.requests_file,
                settle_seconds=auto.settle_seconds,
                interval_seconds=auto.sensor_interval_seconds,
                tags=every_organisation,
            )
        ],
        resources={
            REPORT_RESOURCE_KEY: ReportSettings(
                research_db=str(settings.paths.research_db),
                reports_dir=str(settings.paths.data_dir / "reports"),
                processing_register=[dict(e) for e in settings.register],
                organisations=list(settings.organisations),
                threshold=settings.tables.threshold,
                steward_db=str(settings.paths.staging_db),
            ),
            "landing": LandingFolder(
                path=str(settings.paths.landing), organisations=list(settings.organisations)
            ),
            "staging_db": StagingDatabase(
                path=str(settings.paths.staging_db), run_lock_dir=str(settings.paths.data_dir)
            ),
            "pseudonym_key": PseudonymKey(key_file=str(settings.paths.key_file)),
            "release": ReleaseConfig(
                candidate_dir=str(settings.paths.data_dir / "release_candidate"),
                research_db=str(settings.paths.research_db),
                anonymisation=settings.anonymisation,
                tables=dataclasses.asdict(settings.tables),
            ),
            "governance": GovernanceConfig(
                requests_file=str(settings.governance.requests_file),
                retention=settings.governance.retention,
                organisations=list(settings.organisations),
                today=settings.governance.today.isoformat() if settings.governance.today else None,
            ),
        },
        executor=dg.in_process_executor,
    )


def _load() -> dg.Definitions:
    """The deployment's definitions; first umask 077, steward folders 0700 and the steward
    files' modes checked (a loose file is logged loudly here and fails every run that opens
    the staging database: ``pipelines.modes``)."""
    settings = load_settings()
    try:
        prepare(settings)
    except StewardModeError as exc:
        logging.getLogger("brugstat").error("%s", exc)
    return build_definitions(settings)


defs = _load()
