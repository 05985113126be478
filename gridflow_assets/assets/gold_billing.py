"""Gold star schema around consumption and billing: location and consumer-type dimensions,
bill and payment facts, and the aggregates analysts query.

Aggregates are per month × utility partition, so adding a month costs the same whatever the
history. Tables built from bills or payments have no partition for utilities that deliver
none (the New York utilities): their inputs arrive as None and they return None.
"""

from functools import lru_cache
from importlib import resources

import dagster as dg
import numpy as np
import pandas as pd

from gridflow_assets.assets.gold import locations
from gridflow_assets.domain import tariff
from gridflow_assets.partitions import month_utility_partitions, split_key
from gridflow_assets.registry.billing import BILL_AMOUNT_COLUMNS, BILLING
from gridflow_assets.resources import GridflowPaths, table_metadata

ESTIMATED = (8, 9)
FAILED = 10
UNKNOWN = "UNKNOWN"
CENT = 0.011  # one paisa / cent, with room for binary rounding


def _asset(name: str, **kwargs):
    spec = BILLING[name]
    return dg.asset(
        key=["gold", name], description=spec.description, group_name="gold",
        io_manager_key="warehouse_io", metadata=table_metadata(f"gold/{name}"),
        kinds={"parquet", "pandas"}, owners=["team:analytics"], tags={"layer": "gold"},
        partitions_def=month_utility_partitions, **kwargs,
    )


def _cols(name: str) -> list[str]:
    return BILLING[name].column_names


def _date_key(values: pd.Series) -> pd.Series:
    return (values.dt.year * 10000 + values.dt.month * 100 + values.dt.day).astype("Int64")


@lru_cache(maxsize=1)
def consumer_types() -> pd.DataFrame:
    """IESCO consumer types with tariff code, sector and residential slab flags (data)."""
    path = resources.files("gridflow_assets.domain") / "iesco_consumer_types.csv"
    with path.open(encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return df.assign(is_protected=df.protected == "1", is_lifeline=df.lifeline == "1")[
        ["consumer_type", "tariff_category", "sector", "is_protected", "is_lifeline"]]


def _usage(readings: pd.DataFrame) -> pd.DataFrame:
    """Readings that are usage: interval readings of a known type that passed validation."""
    return readings[(readings.reading_kind == "interval") & (readings.measurement != "unknown")
                    & (readings.quality_code != FAILED)]


@_asset("dim_location", ins={"service_points": dg.AssetIn(["silver", "service_points"])})
def dim_location(service_points: pd.DataFrame) -> pd.DataFrame:
    loc = locations(service_points)
    out = (loc.groupby(["location_id", "region", "division", "sub_division", "feeder_name"],
                       dropna=False, sort=True).size().rename("service_point_count")
           .reset_index())
    return out.assign(utility_id=service_points.utility_id.iloc[0] if len(service_points)
                      else None)[_cols("dim_location")]


@_asset("dim_consumer_type", ins={"service_points": dg.AssetIn(["silver", "service_points"])})
def dim_consumer_type(service_points: pd.DataFrame) -> pd.DataFrame:
    """Consumer types present in the partition, described by the consumer-type table."""
    sp = service_points.assign(consumer_type=service_points.consumer_type.fillna(UNKNOWN))
    counts = sp.groupby("consumer_type").size().rename("service_point_count").reset_index()
    out = counts.merge(consumer_types(), on="consumer_type", how="left")
    observed = sp.groupby("consumer_type").tariff_category.first()
    out["tariff_category"] = out.tariff_category.fillna(out.consumer_type.map(observed))
    out["utility_id"] = sp.utility_id.iloc[0] if len(sp) else None
    return out[_cols("dim_consumer_type")]


@_asset("fact_bills", ins={"bills": dg.AssetIn(["silver", "bills"]),
                           "dim": dg.AssetIn(["gold", "dim_service_point"])})
def fact_bills(bills: pd.DataFrame | None, dim: pd.DataFrame) -> pd.DataFrame | None:
    if bills is None:
        return None
    sp = dim.set_index("service_point_id")
    parts = ["variable_charges", "fixed_charges", "gst", "electricity_duty", "tv_fee",
             "late_payment_surcharge"]
    computed = bills[parts].sum(axis=1, min_count=len(parts)).round(2)
    out = bills.assign(
        location_id=bills.service_point_id.map(sp.location_id),
        consumer_type=bills.service_point_id.map(sp.consumer_type).fillna(UNKNOWN),
        billing_month_key=_date_key(bills.billing_month),
        issue_date_key=_date_key(bills.issue_date), due_date_key=_date_key(bills.due_date),
        computed_total=computed,
        is_arithmetic_ok=(computed - bills.total_amount).abs().le(CENT).fillna(False),
    )
    return out[_cols("fact_bills")]


def expected_owed(total: pd.Series, due: pd.Series, paid_on: pd.Series) -> pd.Series:
    """What a payment on ``paid_on`` owes: the total plus the late surcharge in force."""
    surcharge = tariff.late_surcharges(total.to_numpy(float), due.to_numpy(), paid_on.to_numpy())
    return pd.Series(np.round(total.to_numpy(float) + surcharge, 2), index=total.index)


@_asset("fact_payments", ins={"payments": dg.AssetIn(["silver", "payments"]),
                              "bills": dg.AssetIn(["silver", "bills"])})
def fact_payments(payments: pd.DataFrame | None, bills: pd.DataFrame | None) -> pd.DataFrame | None:
    if payments is None or bills is None:
        return None
    b = bills.set_index("bill_id")
    due = payments.bill_id.map(b.due_date)
    total = payments.bill_id.map(b.total_amount)
    days = (payments.payment_date - due).dt.days
    late = days.gt(0).fillna(False)
    owed = expected_owed(total.fillna(0.0), due, payments.payment_date)
    out = payments.assign(
        service_point_id=payments.bill_id.map(b.service_point_id),
        payment_date_key=_date_key(payments.payment_date),
        days_after_due=days.astype("Int64"), is_late=late,
        expected_surcharge=(owed - total).where(late & total.notna(), 0.0).round(2),
    )
    return out[_cols("fact_payments")]


def _read(paths: GridflowPaths, context, key: str, columns: list[str] | None = None):
    utility, month = split_key(context.partition_key)
    return paths.store().read(key, utility, month, columns=columns)


READING_COLUMNS = ["utility_id", "service_point_id", "local_date", "measurement", "direction",
                   "interval_s", "unit", "reading_kind", "quality_code", "value"]


@_asset("agg_monthly_consumption", deps=[dg.AssetKey(["gold", "fact_readings"])])
def agg_monthly_consumption(context: dg.AssetExecutionContext,
                            paths: GridflowPaths) -> pd.DataFrame:
    utility, _ = split_key(context.partition_key)
    r = _read(paths, context, "gold/fact_readings", READING_COLUMNS)
    r = r[(r.reading_kind == "interval") & (r.measurement != "unknown")].assign(
        service_point_id=r.service_point_id.fillna(f"{utility}:UNRESOLVED"),
        year_month=r.local_date.dt.strftime("%Y-%m"),
        _failed=r.quality_code == FAILED, _estimated=r.quality_code.isin(ESTIMATED))
    r["_valid_value"] = r.value.where(~r._failed)
    keys = ["service_point_id", "year_month", "measurement", "direction", "interval_s", "unit"]
    out = r.groupby(keys, sort=True).agg(
        total_value=("_valid_value", "sum"), reading_count=("_valid_value", "count"),
        failed_count=("_failed", "sum"), estimated_count=("_estimated", "sum"),
        days_with_data=("local_date", "nunique")).reset_index()
    return out.assign(utility_id=utility)[_cols("agg_monthly_consumption")]


@_asset("agg_daily_consumption", deps=[dg.AssetKey(["gold", "fact_readings"]),
                                       dg.AssetKey(["gold", "dim_service_point"])])
def agg_daily_consumption(context: dg.AssetExecutionContext,
                          paths: GridflowPaths) -> pd.DataFrame:
    utility, _ = split_key(context.partition_key)
    r = _usage(_read(paths, context, "gold/fact_readings", READING_COLUMNS))
    sp = _read(paths, context, "gold/dim_service_point", ["service_point_id", "consumer_type"])
    r = r.assign(consumer_type=r.service_point_id.map(
        sp.set_index("service_point_id").consumer_type).fillna(UNKNOWN))
    keys = ["local_date", "consumer_type", "measurement", "direction", "interval_s", "unit"]
    out = r.groupby(keys, sort=True).agg(
        total_value=("value", "sum"), service_point_count=("service_point_id", "nunique"),
        reading_count=("value", "size")).reset_index()
    return out.assign(utility_id=utility)[_cols("agg_daily_consumption")]


def _kwh_by(readings: pd.DataFrame, key: pd.Series, direction: str) -> pd.Series:
    sel = (readings.measurement == "kWh") & (readings.direction == direction)
    return readings[sel].groupby(key[sel]).value.sum()


@_asset("agg_consumer_type_summary", deps=[
    dg.AssetKey(["gold", "fact_readings"]), dg.AssetKey(["gold", "dim_service_point"]),
    dg.AssetKey(["gold", "dim_consumer_type"]), dg.AssetKey(["gold", "fact_bills"])])
def agg_consumer_type_summary(context: dg.AssetExecutionContext,
                              paths: GridflowPaths) -> pd.DataFrame:
    utility, _ = split_key(context.partition_key)
    r = _usage(_read(paths, context, "gold/fact_readings", READING_COLUMNS))
    sp = _read(paths, context, "gold/dim_service_point", ["service_point_id", "consumer_type"])
    types = _read(paths, context, "gold/dim_consumer_type")
    bills = _read(paths, context, "gold/fact_bills",
                  ["consumer_type", "units_consumed", "total_amount"])
    ctype = r.service_point_id.map(sp.set_index("service_point_id").consumer_type)
    ctype = ctype.fillna(UNKNOWN)
    out = types[["consumer_type", "sector", "service_point_count"]].set_index("consumer_type")
    out["kwh_delivered"] = _kwh_by(r, ctype, "delivered")
    out["kwh_net"] = _kwh_by(r, ctype, "net")
    out["kwh_delivered_per_service_point"] = out.kwh_delivered / out.service_point_count
    if bills is None:  # utilities that deliver no bills
        bills = pd.DataFrame({"consumer_type": pd.Series(dtype="object"),
                              "units_consumed": pd.Series(dtype="float64"),
                              "total_amount": pd.Series(dtype="float64")})
    g = bills.groupby("consumer_type")
    out["bill_count"] = g.size().reindex(out.index).fillna(0).astype("int64")
    out["billed_units"] = g.units_consumed.sum().reindex(out.index).fillna(0.0)
    out["billed_amount"] = g.total_amount.sum().reindex(out.index).fillna(0.0)
    out["average_bill"] = (out.billed_amount / out.bill_count).where(out.bill_count > 0)
    return out.reset_index().assign(utility_id=utility)[_cols("agg_consumer_type_summary")]


def bill_collection(bills: pd.DataFrame, payments: pd.DataFrame) -> pd.DataFrame:
    """Per bill: total, what was paid, the most owed (total + surcharge), and the outcome."""
    pay = payments.groupby("bill_id").agg(paid=("amount_paid", "sum"),
                                          owed=("bill_amount", "max"),
                                          late=("is_late", "sum"),
                                          surcharge=("expected_surcharge", "sum"))
    b = bills.set_index("bill_id").join(pay, how="left")
    b["paid"] = b.paid.fillna(0.0)
    b["owed"] = np.maximum(b.owed.fillna(b.total_amount), b.total_amount)
    b["late"] = b.late.fillna(0).astype("int64")
    b["surcharge"] = b.surcharge.fillna(0.0)
    b["arrears"] = (b.owed - b.paid).clip(lower=0).round(2)
    b["is_unpaid"] = b.paid <= 0
    b["is_partial"] = (b.paid > 0) & (b.paid < b.owed - CENT)
    b["is_overpaid"] = b.paid > b.owed + CENT
    return b


@_asset("agg_payment_summary", ins={"bills": dg.AssetIn(["gold", "fact_bills"]),
                                    "payments": dg.AssetIn(["gold", "fact_payments"])})
def agg_payment_summary(bills: pd.DataFrame | None,
                        payments: pd.DataFrame | None) -> pd.DataFrame | None:
    if bills is None or payments is None:
        return None
    b = bill_collection(bills, payments)
    g = b.groupby("tariff_applied", sort=True)
    out = pd.DataFrame({
        "bill_count": g.size(), "billed_amount": g.total_amount.sum().round(2),
        "paid_amount": g.paid.sum().round(2), "arrears": g.arrears.sum().round(2),
        "late_payment_count": g.late.sum(), "late_surcharge": g.surcharge.sum().round(2),
        "unpaid_bill_count": g.is_unpaid.sum(), "partial_bill_count": g.is_partial.sum(),
        "overpaid_bill_count": g.is_overpaid.sum(),
    })
    out["collection_rate"] = (out.paid_amount / out.billed_amount).where(out.billed_amount > 0)
    out["utility_id"] = bills.utility_id.iloc[0] if len(bills) else None
    return out.reset_index()[_cols("agg_payment_summary")]


@_asset("agg_location_summary", deps=[
    dg.AssetKey(["gold", "fact_readings"]), dg.AssetKey(["gold", "dim_service_point"]),
    dg.AssetKey(["gold", "dim_location"]), dg.AssetKey(["gold", "fact_bills"]),
    dg.AssetKey(["gold", "fact_payments"])])
def agg_location_summary(context: dg.AssetExecutionContext,
                         paths: GridflowPaths) -> pd.DataFrame:
    utility, _ = split_key(context.partition_key)
    r = _usage(_read(paths, context, "gold/fact_readings", READING_COLUMNS))
    sp = _read(paths, context, "gold/dim_service_point", ["service_point_id", "location_id"])
    loc = _read(paths, context, "gold/dim_location").set_index("location_id")
    where = r.service_point_id.map(sp.set_index("service_point_id").location_id)
    out = loc[["region", "division", "sub_division", "service_point_count"]].copy()
    kwh = _kwh_by(r, where, "delivered").groupby(level=0).sum()
    out["kwh_delivered"] = kwh.reindex(out.index)
    bills = _read(paths, context, "gold/fact_bills")
    payments = _read(paths, context, "gold/fact_payments")
    if bills is not None and payments is not None:
        b = bill_collection(bills, payments)
        g = b.groupby("location_id")
        out["bill_count"] = g.size().reindex(out.index).fillna(0).astype("int64")
        out["billed_amount"] = g.total_amount.sum().reindex(out.index).fillna(0.0)
        out["paid_amount"] = g.paid.sum().reindex(out.index).fillna(0.0)
    else:
        out["bill_count"], out["billed_amount"], out["paid_amount"] = 0, 0.0, 0.0
    out["collection_rate"] = (out.paid_amount / out.billed_amount).where(out.billed_amount > 0)
    out = (out.groupby(["location_id", "region", "division", "sub_division"], dropna=False)
           .sum(min_count=1).reset_index())
    out["collection_rate"] = (out.paid_amount / out.billed_amount).where(out.billed_amount > 0)
    out["service_point_count"] = out.service_point_count.fillna(0).astype("int64")
    out["bill_count"] = out.bill_count.fillna(0).astype("int64")
    return out.assign(utility_id=utility)[_cols("agg_location_summary")]


BILLING_ASSETS = [dim_location, dim_consumer_type, fact_bills, fact_payments,
                  agg_monthly_consumption, agg_daily_consumption, agg_consumer_type_summary,
                  agg_payment_summary, agg_location_summary]
