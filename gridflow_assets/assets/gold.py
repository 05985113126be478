"""Gold: the star schema (dimensions and facts) over silver. Assets only wire partitions and
inputs to the logic in ``gridflow_assets.gold``."""


import dagster as dg
import pandas as pd
import polars as pl

from gridflow_assets.frames import as_polars_typed
from gridflow_assets.gold import dims, facts
from gridflow_assets.partitions import month_utility_partitions, split_key
from gridflow_assets.pii import load_secret
from gridflow_assets.registry.gold import GOLD
from gridflow_assets.resources import GridflowPaths, table_metadata
from gridflow_assets.utilities import get_utility


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
def dim_utility() -> pl.DataFrame:
    """The utility registry as a dimension."""
    return dims.dim_utility()


@_asset("dim_date")
def dim_date() -> pl.DataFrame:
    """Calendar days covering every month the platform partitions, and a margin."""
    return dims.dim_date()


@_asset("dim_time")
def dim_time() -> pl.DataFrame:
    return dims.dim_time()


@_asset("dim_service_point", ins={"service_points": dg.AssetIn(["silver", "service_points"])})
def dim_service_point(service_points: pd.DataFrame) -> pl.DataFrame:
    """Current version of each service point, with ZIP3 and its location."""
    return dims.dim_service_point(as_polars_typed(service_points, "silver/service_points"))


@_asset("dim_service_point_external",
        ins={"dim": dg.AssetIn(["gold", "dim_service_point"])})
def dim_service_point_external(dim: pd.DataFrame, paths: GridflowPaths) -> pl.DataFrame:
    """What third parties may see: keyed-hash ids, ZIP3 / city, coordinates to 0.1°."""
    return dims.dim_service_point_external(as_polars_typed(dim, "gold/dim_service_point"),
                                           load_secret(paths.warehouse))


@_asset("dim_meter", deps=[dg.AssetKey(["silver", "meters"]),
                          dg.AssetKey(["silver", "intervals"])])
def dim_meter(context: dg.AssetExecutionContext, paths: GridflowPaths) -> pl.DataFrame:
    """One row per meter: latest record's attributes, type flips, and its service point."""
    utility, month = split_key(context.partition_key)
    store = paths.store()
    return dims.dim_meter(
        store.read_pl("silver/meters", utility, month),
        store.read_pl("silver/intervals", utility, month,
                      columns=["meter_id", "service_point_id", "start_utc"]), utility)


@_asset("fact_readings", ins={"intervals": dg.AssetIn(["silver", "intervals"])})
def fact_readings(context: dg.AssetExecutionContext, intervals: pd.DataFrame) -> pl.DataFrame:
    """Readings with date and time keys in the utility's local time."""
    utility, _ = split_key(context.partition_key)
    return facts.fact_readings(as_polars_typed(intervals, "silver/intervals"),
                               get_utility(utility).timezone)
