"""The code location: ``build_defs`` returns a fresh ``Definitions`` (tests pass overrides).

``defs`` at module level is what ``dagster dev`` / ``workspace.yaml`` load; it reads the
folder environment variables when the module is loaded by Dagster, not at import of the
library modules.
"""

from __future__ import annotations

import dagster as dg

from gridflow_assets.assets.dq import DQ_ASSETS, DQ_SOURCES
from gridflow_assets.assets.external import EXTERNAL_ASSETS
from gridflow_assets.assets.jobs import (
    PARTITION_JOB,
    PARTITIONED_ASSETS,
    REFERENCE_ASSETS,
    REFERENCE_JOB,
    partition_job,
    reference_job,
)
from gridflow_assets.checks.factory import build_table_checks
from gridflow_assets.defs.automation import JOBS, SCHEDULES, SENSORS
from gridflow_assets.defs.publishing import publish_job, publish_sensor, withdraw_job
from gridflow_assets.defs.schedules import vacuum_job, warehouse_vacuum
from gridflow_assets.defs.signoff import signoff_job
from gridflow_assets.registry import TABLES
from gridflow_assets.store.resources import DeltaIOManager, GridflowPaths
from gridflow_assets.store.settings import default_path

# The job names, for the runner and tests (the jobs are declared in assets/jobs.py).
__all__ = ["PARTITION_JOB", "REFERENCE_JOB", "build_defs", "defs"]


def build_defs(
    landing: str | None = None, warehouse: str | None = None, reports: str | None = None
) -> dg.Definitions:
    paths = GridflowPaths(
        landing=landing or default_path("landing"),
        warehouse=warehouse or default_path("warehouse"),
        reports=reports or default_path("reports"),
    )
    checks = [build_table_checks(key) for key in TABLES]
    return dg.Definitions(
        assets=[*PARTITIONED_ASSETS, *REFERENCE_ASSETS, *DQ_ASSETS, *DQ_SOURCES, *EXTERNAL_ASSETS],
        asset_checks=checks,
        jobs=[
            partition_job,
            reference_job,
            *JOBS,
            vacuum_job,
            signoff_job,
            publish_job,
            withdraw_job,
        ],
        sensors=[*SENSORS, publish_sensor],
        schedules=[*SCHEDULES, warehouse_vacuum],
        resources={"paths": paths, "warehouse_io": DeltaIOManager(warehouse=paths.warehouse)},
        executor=dg.in_process_executor,
    )


defs = build_defs()
