"""Gold star schema around consumption and billing: location and consumer-type dimensions,
bill and payment facts, and the aggregates analysts query. Assets only wire partitions and
inputs to the logic in ``gridflow_assets.gold``.

Tables built from bills or payments have no partition for utilities that deliver none (the
New York utilities): their inputs arrive as None and they return None.
"""

import dagster as dg
import pandas as pd
import polars as pl

from gridflow_assets.frames import as_polars_typed
from gridflow_assets.gold import aggregates, dims, facts
from gridflow_assets.partitions import month_utility_partitions, split_key
from gridflow_assets.registry.billing import BILLING
from gridflow_assets.resources import GridflowPaths, table_metadata


def _asset(name: str, **kwargs):
    spec = BILLING[name]
    return dg.asset(
        key=["gold", name], description=spec.description, group_name="gold",
        io_manager_key="warehouse_io", metadata=table_metadata(f"gold/{name}"),
        kinds={"parquet", "pandas"}, owners=["team:analytics"], tags={"layer": "gold"},
        partitions_def=month_utility_partitions, **kwargs,
    )


def _read(paths: GridflowPaths, context, key: str,
          columns: list[str] | None = None) -> pl.DataFrame | None:
    utility, month = split_key(context.partition_key)
    return paths.store().read_pl(key, utility, month, columns=columns)


READING_COLUMNS = ["utility_id", "service_point_id", "local_date", "measurement", "direction",
                   "interval_s", "unit", "reading_kind", "quality_code", "value"]


@_asset("dim_location", ins={"service_points": dg.AssetIn(["silver", "service_points"])})
def dim_location(service_points: pd.DataFrame) -> pl.DataFrame:
    return dims.dim_location(as_polars_typed(service_points, "silver/service_points"))


@_asset("dim_consumer_type", ins={"service_points": dg.AssetIn(["silver", "service_points"])})
def dim_consumer_type(service_points: pd.DataFrame) -> pl.DataFrame:
    """Consumer types present in the partition, described by the consumer-type table."""
    return dims.dim_consumer_type(as_polars_typed(service_points, "silver/service_points"))


@_asset("fact_bills", ins={"bills": dg.AssetIn(["silver", "bills"]),
                           "dim": dg.AssetIn(["gold", "dim_service_point"])})
def fact_bills(bills: pd.DataFrame | None, dim: pd.DataFrame) -> pl.DataFrame | None:
    if bills is None:
        return None
    return facts.fact_bills(as_polars_typed(bills, "silver/bills"),
                            as_polars_typed(dim, "gold/dim_service_point"))


@_asset("fact_payments", ins={"payments": dg.AssetIn(["silver", "payments"]),
                              "bills": dg.AssetIn(["silver", "bills"])})
def fact_payments(payments: pd.DataFrame | None, bills: pd.DataFrame | None) -> pl.DataFrame | None:
    if payments is None or bills is None:
        return None
    return facts.fact_payments(as_polars_typed(payments, "silver/payments"),
                               as_polars_typed(bills, "silver/bills"))


@_asset("agg_monthly_consumption", deps=[dg.AssetKey(["gold", "fact_readings"])])
def agg_monthly_consumption(context: dg.AssetExecutionContext,
                            paths: GridflowPaths) -> pl.DataFrame:
    utility, _ = split_key(context.partition_key)
    return aggregates.agg_monthly_consumption(
        _read(paths, context, "gold/fact_readings", READING_COLUMNS), utility)


@_asset("agg_daily_consumption", deps=[dg.AssetKey(["gold", "fact_readings"]),
                                       dg.AssetKey(["gold", "dim_service_point"])])
def agg_daily_consumption(context: dg.AssetExecutionContext,
                          paths: GridflowPaths) -> pl.DataFrame:
    utility, _ = split_key(context.partition_key)
    return aggregates.agg_daily_consumption(
        _read(paths, context, "gold/fact_readings", READING_COLUMNS),
        _read(paths, context, "gold/dim_service_point", ["service_point_id", "consumer_type"]),
        utility)


@_asset("agg_consumer_type_summary", deps=[
    dg.AssetKey(["gold", "fact_readings"]), dg.AssetKey(["gold", "dim_service_point"]),
    dg.AssetKey(["gold", "dim_consumer_type"]), dg.AssetKey(["gold", "fact_bills"])])
def agg_consumer_type_summary(context: dg.AssetExecutionContext,
                              paths: GridflowPaths) -> pl.DataFrame:
    utility, _ = split_key(context.partition_key)
    return aggregates.agg_consumer_type_summary(
        _read(paths, context, "gold/fact_readings", READING_COLUMNS),
        _read(paths, context, "gold/dim_service_point", ["service_point_id", "consumer_type"]),
        _read(paths, context, "gold/dim_consumer_type"),
        _read(paths, context, "gold/fact_bills",
              ["consumer_type", "units_consumed", "total_amount"]), utility)


@_asset("agg_payment_summary", ins={"bills": dg.AssetIn(["gold", "fact_bills"]),
                                    "payments": dg.AssetIn(["gold", "fact_payments"])})
def agg_payment_summary(bills: pd.DataFrame | None,
                        payments: pd.DataFrame | None) -> pl.DataFrame | None:
    if bills is None or payments is None:
        return None
    return aggregates.agg_payment_summary(as_polars_typed(bills, "gold/fact_bills"),
                                          as_polars_typed(payments, "gold/fact_payments"))


@_asset("agg_location_summary", deps=[
    dg.AssetKey(["gold", "fact_readings"]), dg.AssetKey(["gold", "dim_service_point"]),
    dg.AssetKey(["gold", "dim_location"]), dg.AssetKey(["gold", "fact_bills"]),
    dg.AssetKey(["gold", "fact_payments"])])
def agg_location_summary(context: dg.AssetExecutionContext,
                         paths: GridflowPaths) -> pl.DataFrame:
    utility, _ = split_key(context.partition_key)
    return aggregates.agg_location_summary(
        _read(paths, context, "gold/fact_readings", READING_COLUMNS),
        _read(paths, context, "gold/dim_service_point", ["service_point_id", "location_id"]),
        _read(paths, context, "gold/dim_location"), _read(paths, context, "gold/fact_bills"),
        _read(paths, context, "gold/fact_payments"), utility)


BILLING_ASSETS = [dim_location, dim_consumer_type, fact_bills, fact_payments,
                  agg_monthly_consumption, agg_daily_consumption, agg_consumer_type_summary,
                  agg_payment_summary, agg_location_summary]
