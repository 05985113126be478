"""Experience: daily usage summaries with peak and trough per service point. The asset only
wires the partition to ``gridflow_assets.experience.daily``."""

import dagster as dg

from gridflow_assets.assets.layer import LayerRun, asset_spec, timed_layer
from gridflow_assets.experience.daily import COLUMNS, daily_summaries
from gridflow_assets.partitions import month_utility_partitions
from gridflow_assets.resources import GridflowPaths
from gridflow_assets.utilities import get_utility


@dg.multi_asset(
    name="experience_tables",
    specs=[asset_spec("experience/daily_summaries", deps=["silver/intervals"])],
    partitions_def=month_utility_partitions,
)
@timed_layer
def experience_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """Daily summaries of the partition's intervals (peak and trough per service point)."""
    run = LayerRun.start(context, paths.store())
    intervals = run.store.read_pl("silver/intervals", run.utility, run.month, columns=COLUMNS)
    if intervals is None:
        raise FileNotFoundError(
            f"silver/intervals {run.utility}/{run.month} is missing: materialize silver first"
        )
    df = daily_summaries(intervals, run.utility, get_utility(run.utility).timezone)
    yield from run.publish("experience/daily_summaries", df, parents=["silver/intervals"])
