"""Experience: daily usage summaries with peak and trough per service point. The asset only
wires the partition to ``gridflow_assets.experience.daily``."""

import dagster as dg

from gridflow_assets.assets.layer import LayerRun, asset_spec, timed_layer, upstream
from gridflow_assets.experience.daily import COLUMNS, daily_partial, summaries_of
from gridflow_assets.registry.partitions import month_utility_partitions
from gridflow_assets.silver.adapters import get_utility
from gridflow_assets.store.resources import GridflowPaths


@dg.multi_asset(
    name="experience_tables",
    specs=[asset_spec("experience/daily_summaries")],
    partitions_def=month_utility_partitions,
)
@timed_layer
def experience_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """Daily summaries of the partition's intervals (peak and trough per service point),
    read one meter bucket at a time: each bucket's partial summaries are combined after
    the last (a service point's meters may be in different buckets)."""
    run = LayerRun.start(context, paths.store())
    if run.store.bucket_rows("silver/intervals", run.utility, run.month) is None:
        raise FileNotFoundError(
            f"silver/intervals {run.utility}/{run.month} is missing: materialize silver first"
        )
    buckets = run.store.iter_buckets("silver/intervals", run.utility, run.month, columns=COLUMNS)
    parts = [daily_partial(bucket, run.utility) for bucket in buckets]
    df = summaries_of(parts, run.utility, get_utility(run.utility).timezone)
    del parts
    key = "experience/daily_summaries"
    run.publish(key, df, parents=upstream(key))
