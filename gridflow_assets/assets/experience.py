"""Experience: daily usage summaries with peak and trough per service point. The asset only
wires the partition to ``gridflow_assets.experience.daily``."""


import dagster as dg
import pandas as pd
import polars as pl

from gridflow_assets.experience.daily import daily_summaries as daily_summaries_of
from gridflow_assets.frames import as_polars_typed
from gridflow_assets.partitions import month_utility_partitions, split_key
from gridflow_assets.registry.gold import EXPERIENCE
from gridflow_assets.resources import table_metadata
from gridflow_assets.utilities import get_utility


@dg.asset(
    key=["experience", "daily_summaries"], description=EXPERIENCE["daily_summaries"].description,
    group_name="experience", io_manager_key="warehouse_io",
    metadata=table_metadata("experience/daily_summaries"), kinds={"parquet", "pandas"},
    owners=["team:analytics"], tags={"layer": "experience"},
    partitions_def=month_utility_partitions,
    ins={"intervals": dg.AssetIn(["silver", "intervals"])},
)
def daily_summaries(context: dg.AssetExecutionContext, intervals: pd.DataFrame) -> pl.DataFrame:
    utility, _ = split_key(context.partition_key)
    return daily_summaries_of(as_polars_typed(intervals, "silver/intervals"), utility,
                              get_utility(utility).timezone)
