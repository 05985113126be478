"""The code location: ``build_defs`` returns a fresh ``Definitions`` (tests pass overrides).

``defs`` at module level is what ``dagster dev`` / ``workspace.yaml`` load; it reads the
folder environment variables when the module is loaded by Dagster, not at import of the
library modules.
"""

from __future__ import annotations

import dagster as dg

from gridflow_assets.assets.bronze import bronze_tables
from gridflow_assets.assets.dq import DQ_ASSETS, DQ_SOURCES
from gridflow_assets.assets.experience import experience_tables
from gridflow_assets.assets.external import EXTERNAL_ASSETS
from gridflow_assets.assets.gold import dim_date, dim_time, dim_utility, gold_tables
from gridflow_assets.assets.silver import reason_codes, silver_tables
from gridflow_assets.checks.factory import build_table_checks
from gridflow_assets.orchestration.automation import JOBS, SCHEDULES, SENSORS
from gridflow_assets.orchestration.publishing import publish_job, publish_sensor, withdraw_job
from gridflow_assets.orchestration.schedules import vacuum_job, warehouse_vacuum
from gridflow_assets.orchestration.signoff import signoff_job
from gridflow_assets.partitions import month_utility_partitions
from gridflow_assets.registry import TABLES
from gridflow_assets.resources import DeltaIOManager, GridflowPaths
from gridflow_assets.settings import default_path

# One step per layer writes its tables and evaluates their checks in the step (assets/layer.py)
PARTITIONED_ASSETS = [bronze_tables, silver_tables, gold_tables, experience_tables]
REFERENCE_ASSETS = [dim_utility, dim_date, dim_time, reason_codes]

PARTITION_JOB = "partition_job"
REFERENCE_JOB = "reference_job"

partition_job = dg.define_asset_job(
    PARTITION_JOB,
    selection=dg.AssetSelection.assets(*PARTITIONED_ASSETS).without_checks(),
    partitions_def=month_utility_partitions,
    description="Everything of one month × utility partition: bronze → silver → gold → "
    "experience, one step per layer, each table checked in its step.",
    executor_def=dg.in_process_executor,
)
reference_job = dg.define_asset_job(
    REFERENCE_JOB,
    selection=dg.AssetSelection.assets(*REFERENCE_ASSETS),
    description="Reference dimensions that are not partitioned (utility, date, time).",
    executor_def=dg.in_process_executor,
)


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
