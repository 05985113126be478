"""Gold: the star schema (dimensions and facts) over silver."""


import dagster as dg
import numpy as np
import pandas as pd

from gridflow_assets.partitions import month_utility_partitions, split_key
from gridflow_assets.pii import load_secret, pseudonymize
from gridflow_assets.registry.gold import GOLD
from gridflow_assets.resources import GridflowPaths, table_metadata
from gridflow_assets.utilities import all_utilities, get_utility


def _asset(name: str, **kwargs):
    spec = GOLD[name]
    return dg.asset(
        key=["gold", name], description=spec.description, group_name="gold",
        io_manager_key="warehouse_io", metadata=table_metadata(f"gold/{name}"),
        kinds={"parquet", "pandas"}, owners=["team:data-engineering"],
        tags={"layer": "gold"},
        partitions_def=month_utility_partitions if spec.partitioned else None, **kwargs,
    )


@_asset("dim_utility")
def dim_utility() -> pd.DataFrame:
    """The utility registry as a dimension."""
    rows = [{"utility_id": u.utility_id, "utility_name": u.name, "country": u.country,
             "timezone": u.timezone, "currency": u.currency, "vocabulary": u.vocabulary}
            for u in all_utilities()]
    return pd.DataFrame(rows).sort_values("utility_id").reset_index(drop=True)


def build_dim_date(start: str = "2023-01-01", end: str = "2027-12-31") -> pd.DataFrame:
    days = pd.date_range(start, end, freq="D")
    return pd.DataFrame({
        "date_key": (days.year * 10000 + days.month * 100 + days.day).astype("int64"),
        "date": days, "year": days.year, "quarter": days.quarter, "month": days.month,
        "month_name": days.month_name(), "day": days.day, "day_of_week": days.dayofweek + 1,
        "day_name": days.day_name(), "is_weekend": days.dayofweek >= 5,
        "year_month": days.strftime("%Y-%m"),
    })


@_asset("dim_date")
def dim_date() -> pd.DataFrame:
    """Calendar days covering every month the platform partitions, and a margin."""
    return build_dim_date()


@_asset("dim_time")
def dim_time() -> pd.DataFrame:
    minutes = np.arange(24 * 60)
    hour, minute = minutes // 60, minutes % 60
    part = np.select([hour < 6, hour < 12, hour < 18], ["night", "morning", "afternoon"],
                     "evening")
    return pd.DataFrame({"time_key": hour * 100 + minute, "hour": hour, "minute": minute,
                         "label": [f"{h:02d}:{m:02d}" for h, m in zip(hour, minute,
                                                                      strict=True)],
                         "day_part": part})


def locations(sp: pd.DataFrame) -> pd.DataFrame:
    """Location levels of each service point, one vocabulary for every utility: IESCO
    district → division → sub-division → feeder; New York state → city → ZIP3."""
    levels = pd.DataFrame({
        "region": sp.district.fillna(sp.state), "division": sp.division.fillna(sp.city),
        "sub_division": sp.sub_division.fillna(sp.zip.str[:3]), "feeder_name": sp.feeder_name,
    }, index=sp.index)
    joined = levels.fillna("").astype(str).agg("|".join, axis=1)
    return levels.assign(location_id=sp.utility_id + ":" + joined)


@_asset("dim_service_point", ins={"service_points": dg.AssetIn(["silver", "service_points"])})
def dim_service_point(service_points: pd.DataFrame) -> pd.DataFrame:
    """Current version of each service point, with ZIP3 and its location."""
    sp = service_points
    cols = [c.name for c in GOLD["dim_service_point"].columns]
    return sp.assign(zip3=sp.zip.str[:3], location_id=locations(sp).location_id)[cols]


@_asset("dim_service_point_external",
        ins={"dim": dg.AssetIn(["gold", "dim_service_point"])})
def dim_service_point_external(dim: pd.DataFrame, paths: GridflowPaths) -> pd.DataFrame:
    """What third parties may see: keyed-hash ids, ZIP3 / city, coordinates to 0.1°."""
    secret = load_secret(paths.warehouse)
    return pd.DataFrame({
        "utility_id": dim.utility_id,
        "service_point_key": pseudonymize(dim.service_point_id, secret),
        "zip3": dim.zip3, "city": dim.city, "state": dim.state, "district": dim.district,
        "consumer_type": dim.consumer_type,
        "latitude_coarse": dim.latitude.round(1), "longitude_coarse": dim.longitude.round(1),
    })


@_asset("dim_meter", deps=[dg.AssetKey(["silver", "meters"]),
                          dg.AssetKey(["silver", "intervals"])])
def dim_meter(context: dg.AssetExecutionContext, paths: GridflowPaths) -> pd.DataFrame:
    """One row per meter: latest record's attributes, type flips, and its service point.

    The service point at month end comes from the meter's records where they link one
    (UTILITY2 installations, IESCO), else from its latest reading (UTILITY1's meter file
    does not link meters to service points).
    """
    utility, month = split_key(context.partition_key)
    store = paths.store()
    meters = store.read("silver/meters", utility, month)
    readings = store.read("silver/intervals", utility, month,
                          columns=["meter_id", "service_point_id", "start_utc"])
    m = meters.sort_values(["meter_id", "record_ts_utc", "source_row"], kind="stable",
                           na_position="first")
    latest = m.groupby("meter_id", sort=True).tail(1).set_index("meter_id")
    g = m.groupby("meter_id", sort=True)
    type_changes = g.meter_type.apply(
        lambda s: int((s.fillna("") != s.fillna("").shift()).iloc[1:].sum()))
    linked = m[m.service_point_id.notna()].sort_values(
        ["meter_id", "installed_at_utc"], na_position="first")
    sp_from_records = linked.groupby("meter_id").service_point_id.last()
    sp_from_reads = (readings.dropna(subset=["service_point_id"])
                     .sort_values("start_utc").groupby("meter_id").service_point_id.last())
    current = sp_from_records.combine_first(sp_from_reads)
    sp_count = pd.concat([linked[["meter_id", "service_point_id"]],
                          readings[["meter_id", "service_point_id"]].dropna()]) \
        .drop_duplicates().groupby("meter_id").size()
    out = pd.DataFrame({
        "utility_id": utility, "meter_id": latest.index,
        "meter_number": latest.meter_number.to_numpy(),
        "meter_type": latest.meter_type.to_numpy(),
        "meter_type_changes": type_changes.reindex(latest.index).to_numpy(),
        "meter_status": latest.meter_status.to_numpy(),
        "current_service_point_id": current.reindex(latest.index).to_numpy(),
        "service_point_count": sp_count.reindex(latest.index).fillna(0).astype("int64")
        .to_numpy(),
        "record_count": g.size().reindex(latest.index).to_numpy(),
        "first_record_utc": g.record_ts_utc.min().reindex(latest.index).to_numpy(),
        "last_record_utc": g.record_ts_utc.max().reindex(latest.index).to_numpy(),
    })
    return out


@_asset("fact_readings", ins={"intervals": dg.AssetIn(["silver", "intervals"])})
def fact_readings(context: dg.AssetExecutionContext, intervals: pd.DataFrame) -> pd.DataFrame:
    """Readings with date and time keys in the utility's local time."""
    utility, _ = split_key(context.partition_key)
    local = intervals.start_utc.dt.tz_convert(get_utility(utility).timezone)
    cols = [c.name for c in GOLD["fact_readings"].columns]
    return intervals.assign(
        date_key=(local.dt.year * 10000 + local.dt.month * 100 + local.dt.day).astype("int64"),
        time_key=(local.dt.hour * 100 + local.dt.minute).astype("int64"),
    )[cols]
