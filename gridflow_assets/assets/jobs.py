"""The layer jobs: one run per month × utility partition, and the reference dimensions.

Declared here, below ``defs/`` (definitions, sensors), so the sensors that launch a job
and the code location that serves it name the same job (``PARTITION_JOB``).
"""

import dagster as dg

from gridflow_assets.assets.bronze import bronze_tables
from gridflow_assets.assets.experience import experience_tables
from gridflow_assets.assets.gold import dim_date, dim_time, dim_utility, gold_tables
from gridflow_assets.assets.silver import reason_codes, silver_tables
from gridflow_assets.registry.partitions import month_utility_partitions

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
