"""Experience: daily usage summaries with peak and trough per service point."""


import dagster as dg
import numpy as np
import pandas as pd

from gridflow_assets.assets.layer import LayerRun, asset_spec, timed_layer
from gridflow_assets.partitions import month_utility_partitions
from gridflow_assets.registry.gold import EXPERIENCE
from gridflow_assets.resources import GridflowPaths
from gridflow_assets.utilities import get_utility

TYPE_KEYS = ["measurement", "direction", "interval_s", "unit"]
FAILED_VALIDATION = 10
ESTIMATED = (8, 9)


def local_day_seconds(days: pd.Series, tz: str) -> pd.Series:
    """Length of each local calendar day: 82,800 / 86,400 / 90,000 s around DST changes."""
    start = days.dt.tz_localize(tz)
    end = (days + pd.Timedelta(days=1)).dt.tz_localize(tz)
    return (end - start).dt.total_seconds().astype("int64")


def daily_summaries_frame(intervals: pd.DataFrame, utility: str, tz: str) -> pd.DataFrame:
    """Per service point, local day and reading type: totals, counts, peak and trough.

    Only interval (usage) readings of a known type are summarised: register reads are not
    usage and values of different or unknown types are never added. Readings that failed
    validation (quality 10) are counted in ``failed_count`` and left out of the rest.
    """
    iv = intervals[intervals.reading_kind == "interval"].copy()
    iv["service_point_id"] = iv.service_point_id.fillna(f"{utility}:UNRESOLVED")
    keys = ["service_point_id", "local_date", *TYPE_KEYS]
    iv["_failed"] = iv.quality_code == FAILED_VALIDATION
    iv["_estimated"] = iv.quality_code.isin(ESTIMATED)
    groups = iv.groupby(keys, sort=True, dropna=False)
    base = groups.agg(failed_count=("_failed", "sum"), estimated_count=("_estimated", "sum"),
                      meter_count=("meter_id", "nunique"))
    valid = iv[~iv._failed]
    vg = valid.groupby(keys, sort=True, dropna=False)
    stats = vg.agg(total_value=("value", "sum"), interval_count=("value", "size"))
    ordered = valid.sort_values(["value", "start_utc"], kind="stable")
    peak = ordered.groupby(keys, dropna=False).tail(1).set_index(keys)
    trough = ordered.groupby(keys, dropna=False).head(1).set_index(keys)
    out = base.join(stats).join(peak[["value", "start_utc"]].rename(
        columns={"value": "peak_value", "start_utc": "peak_start_utc"})).join(
        trough[["value", "start_utc"]].rename(
            columns={"value": "trough_value", "start_utc": "trough_start_utc"})).reset_index()
    out["interval_count"] = out.interval_count.fillna(0).astype("int64")
    day_s = local_day_seconds(out.local_date, tz)
    per_meter = np.maximum(1, np.round(day_s / out.interval_s.astype("float64"))).astype("int64")
    out["expected_count"] = per_meter * out.meter_count
    out["coverage"] = out.interval_count / out.expected_count
    for which in ("peak", "trough"):
        local = out[f"{which}_start_utc"].dt.tz_convert(tz)
        out[f"{which}_local_time"] = local.dt.strftime("%H:%M").where(local.notna(), None)
    out["utility_id"] = utility
    return out[[c.name for c in EXPERIENCE["daily_summaries"].columns]]


@dg.multi_asset(
    name="experience_tables",
    specs=[asset_spec("experience/daily_summaries", deps=["silver/intervals"])],
    partitions_def=month_utility_partitions,
)
@timed_layer
def experience_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """Daily summaries of the partition's intervals (peak and trough per service point)."""
    run = LayerRun.start(context, paths.store())
    intervals = run.store.read("silver/intervals", run.utility, run.month)
    if intervals is None:
        raise FileNotFoundError(f"silver/intervals {run.utility}/{run.month} is missing: "
                                "materialize silver first")
    df = daily_summaries_frame(intervals, run.utility, get_utility(run.utility).timezone)
    yield from run.publish("experience/daily_summaries", df, parents=["silver/intervals"])
    run.finish()
