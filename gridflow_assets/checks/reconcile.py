"""Reconciliation rules for billing utilities (IESCO): bills against the tariff in force and
against the readings, payments against bills. Pure functions over Polars frames (a pandas
frame is converted once at entry) returning ``RuleResult``, and the checks that run them
(``PLANS``, by the table they cover): utility data problems, so WARN."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import polars as pl

from gridflow_assets.checks.plan import (
    WARN,
    CheckInput,
    CheckPlan,
    partition_buckets,
    same_partition,
)
from gridflow_assets.checks.rules import SAMPLE_ROWS, RuleResult
from gridflow_assets.domain import tariff
from gridflow_assets.domain.billing import (
    CENT,
    components_sum,
    consumer_types,
    expected_owed,
    money_off,
)
from gridflow_assets.domain.iesco_derive import not_derivable
from gridflow_assets.domain.readings import in_time_order
from gridflow_assets.store.frames import as_polars_typed

UNITS_TOLERANCE_KWH = 1.0  # billed units are whole kWh: half a unit of rounding each way
UNITS_TOLERANCE_SHARE = 0.01

Frame = pl.DataFrame | pd.DataFrame


def _result(df: pl.DataFrame, failing: dict[str, pl.Expr], show: list[str]) -> RuleResult:
    """Counts per rule, and a sample of failing rows naming the rules each one broke."""
    flags = df.select(**failing)
    bad = flags.select(pl.any_horizontal(pl.all()).alias("bad"))["bad"]
    details = {name: int(flags[name].sum()) for name in failing}
    failed = pl.concat_str(
        [pl.when(flags[n]).then(pl.lit(n)) for n in failing], separator=", ", ignore_nulls=True
    )
    sample = df.select(*show, failed=failed).filter(bad).head(SAMPLE_ROWS)
    n_bad = int(bad.sum())
    return RuleResult(n_bad == 0, n_bad, df.height, sample.to_pandas(), details)


def _rates(bills: pl.DataFrame) -> pl.DataFrame:
    """The levies in force for each billing month present (one lookup per distinct month)."""
    months = bills["billing_month"].drop_nulls().unique().sort()
    rows = [{"billing_month": m, **tariff.rates_in_force(m)} for m in months.to_list()]
    columns = tariff.LEVY_RATES
    if not rows:
        return pl.DataFrame(schema={"billing_month": pl.Date, **dict.fromkeys(columns, pl.Float64)})
    return pl.DataFrame(rows).select(
        pl.col("billing_month").cast(pl.Date), *(pl.col(c).cast(pl.Float64) for c in columns)
    )


def bill_arithmetic(bills: Frame, service_points: Frame | None) -> RuleResult:
    """total = energy + fixed + GST + duty + fee + surcharge; GST, duty, fee, within/after-due
    amounts follow the rates in force for the billing month; energy and fixed charges equal
    the tariff's price of the billed units for the consumer's category."""
    b = as_polars_typed(bills, "silver/bills")
    sp = as_polars_typed(service_points, "silver/service_points")
    b = b.with_row_index("_row").join(
        _rates(b), on="billing_month", how="left", maintain_order="left"
    )
    b = b.join(_tariff_prices(b, sp), on="_row", how="left", maintain_order="left")
    c = pl.col
    rates = {name: c(name) for name in tariff.LEVY_RATES}
    variable = c("variable_charges")
    return _result(
        b,
        {
            "total": money_off(c("total_amount"), components_sum().round(2)),
            "gst": money_off(c("gst"), tariff.gst_amount(variable, c("fixed_charges"), rates)),
            "electricity_duty": money_off(
                c("electricity_duty"), tariff.duty_amount(variable, rates)
            ),
            "tv_fee": ~(c("tv_fee").abs() <= CENT).fill_null(False)
            & money_off(c("tv_fee"), c("tv_fee_rs")),
            "within_due": money_off(c("amount_within_due_date"), c("total_amount")),
            "after_due": money_off(
                c("amount_after_due_date"), tariff.after_due_amount(c("total_amount"), rates)
            ),
            "energy_vs_tariff": money_off(c("variable_charges"), c("_variable")),
            "fixed_vs_tariff": money_off(c("fixed_charges"), c("_fixed")),
        },
        ["bill_id", "units_consumed", "variable_charges", "gst", "total_amount"],
    )


def _tariff_prices(bills: pl.DataFrame, service_points: pl.DataFrame | None) -> pl.DataFrame:
    """Energy and fixed charge the tariff gives per ``_row``, for bills whose consumer type,
    units and tariff code are known (the others are not judged against the tariff)."""
    empty = pl.DataFrame(schema={"_row": pl.UInt32, "_variable": pl.Float64, "_fixed": pl.Float64})
    if service_points is None or bills.is_empty():
        return empty
    known = (
        bills.join(
            service_points.select("service_point_id", "consumer_type"),
            on="service_point_id",
            how="inner",
        )
        .join(consumer_types(), on="consumer_type", how="inner")
        .filter(pl.col("units_consumed").is_not_null() & pl.col("tariff_applied").is_not_null())
    )
    if known.is_empty():
        return empty
    priced = tariff.compute_bills(
        known.select(
            units="units_consumed",
            category="tariff_applied",
            billing_month="billing_month",
            protected="is_protected",
            lifeline="is_lifeline",
        )
    )
    return known.select("_row").with_columns(
        _variable=priced["variable_charges"], _fixed=priced["fixed_charges"]
    )


USAGE_SCHEMA = {
    "meter_id": pl.String,
    "billing_month": pl.Date,
    "_hourly": pl.Float64,
    "_register": pl.Float64,
}


def meter_usage(intervals: Frame) -> pl.DataFrame:
    """Each meter's kWh per billing month from its hourly readings, and from the register
    difference across them. Per meter: the usage of a partition is its meter buckets'."""
    iv = as_polars_typed(intervals, "silver/intervals")
    if iv is None or not iv.height:
        return pl.DataFrame(schema=USAGE_SCHEMA)
    register = in_time_order("register_kwh").drop_nulls()
    return (
        iv.filter((pl.col("measurement") == "kWh") & (pl.col("reading_kind") == "interval"))
        .group_by("meter_id", billing_month=pl.col("local_date").dt.month_start())
        .agg(
            _hourly=in_time_order("value").sum(),
            _register=register.last() - (register.first() - in_time_order("value").first()),
        )
    )


def billed_units(bills: Frame, intervals: Frame | Iterable[pl.DataFrame] | None) -> RuleResult:
    """Billed units equal the month's hourly readings and the register difference (VEE V7),
    within max(1 kWh, 1 %). Prosumers are billed their net import, never below zero.
    ``intervals``: the partition's, whole or as its meter buckets (read one at a time)."""
    b = as_polars_typed(bills, "silver/bills")
    if intervals is None or isinstance(intervals, pl.DataFrame | pd.DataFrame):
        intervals = [] if intervals is None else [intervals]
    usage = [meter_usage(bucket) for bucket in intervals]
    usage = pl.concat(usage) if usage else pl.DataFrame(schema=USAGE_SCHEMA)
    b = b.join(usage, on=["meter_id", "billing_month"], how="left", maintain_order="left")
    units, hourly = pl.col("units_consumed"), pl.col("_hourly").clip(lower_bound=0)
    register = pl.col("_register").clip(lower_bound=0)
    tol = pl.max_horizontal(pl.lit(UNITS_TOLERANCE_KWH), UNITS_TOLERANCE_SHARE * units)
    shown = b.with_columns(hourly_kwh=hourly.round(3), register_kwh=register.round(3))
    return _result(
        shown,
        {
            "no_readings": hourly.is_null(),
            "hourly_sum": ((units - hourly).abs() > tol).fill_null(False),
            "register_difference": ((units - register).abs() > tol).fill_null(False),
        },
        ["bill_id", "meter_id", "units_consumed", "hourly_kwh", "register_kwh"],
    )


def payments_vs_bills(payments: Frame, bills: Frame | None) -> RuleResult:
    """Amount paid ≤ amount due; the late surcharge is owed exactly by late payments; the
    status agrees with what has been paid on the bill so far."""
    p = as_polars_typed(payments, "silver/payments").sort(
        "bill_id", "payment_date", "source_row", nulls_last=True, maintain_order=True
    )
    b = as_polars_typed(bills, "silver/bills")
    if b is None:
        b = pl.DataFrame(
            schema={"bill_id": pl.String, "total_amount": pl.Float64, "due_date": pl.Date}
        )
    p = p.join(
        b.select("bill_id", _total="total_amount", _due="due_date"),
        on="bill_id",
        how="left",
        maintain_order="left",
    )
    dated = pl.col("payment_date").is_not_null()
    owed = expected_owed(p["_total"], p["_due"], p["payment_date"])
    p = p.with_columns(
        _owed=pl.when(dated).then(owed).otherwise(pl.col("_total")),
        _paid_so_far=pl.col("amount_paid").cum_sum().over("bill_id"),
    )
    p = p.with_columns(expected_owed=pl.col("_owed").round(2))
    c, so_far, amount = pl.col, pl.col("_paid_so_far"), pl.col("bill_amount")
    status = (
        pl.when(c("status") == "unpaid")
        .then((c("amount_paid").abs() > CENT) | dated)
        .when(c("status") == "paid")
        .then(so_far < amount - CENT)
        .when(c("status") == "partial")
        .then((so_far <= CENT) | (so_far >= amount - CENT))
        .otherwise(True)
    )
    return _result(
        p,
        {
            "bill_missing": c("_total").is_null(),
            "overpaid": (so_far > amount + CENT).fill_null(False),
            "surcharge": (c("_total").is_not_null() & dated & money_off(amount, c("_owed"))),
            "status": status.fill_null(False),
        },
        ["payment_id", "bill_id", "status", "bill_amount", "expected_owed", "amount_paid"],
    )


def not_derived(bills: Frame, service_points: Frame | None) -> RuleResult:
    """Bills whose consumer's type or district the delivered format variant lacks and no
    derivation rule could set (``UNKNOWN``): the bills are kept, but not priced against the
    tariff (no consumer type) or placed in a district."""
    b = as_polars_typed(bills, "silver/bills")
    sp = as_polars_typed(service_points, "silver/service_points")
    cols = ["consumer_type", "consumer_type_original", "district", "district_original"]
    if sp is None:
        sp = pl.DataFrame(schema={"service_point_id": pl.String, **dict.fromkeys(cols, pl.String)})
    b = b.join(
        sp.select("service_point_id", *cols),
        on="service_point_id",
        how="left",
        maintain_order="left",
    )
    c = pl.col
    return _result(
        b,
        {
            "consumer_type": not_derivable(c("consumer_type"), c("consumer_type_original")),
            "district": not_derivable(c("district"), c("district_original")),
        },
        ["bill_id", "meter_id", "tariff_applied", "consumer_type", "district"],
    )


def _not_derived(inp: CheckInput) -> RuleResult:
    columns = [
        "service_point_id",
        "consumer_type",
        "consumer_type_original",
        "district",
        "district_original",
    ]
    return not_derived(inp.df, same_partition(inp, "silver/service_points", columns))


def _bill_arithmetic(inp: CheckInput) -> RuleResult:
    return bill_arithmetic(
        inp.df, same_partition(inp, "silver/service_points", ["service_point_id", "consumer_type"])
    )


def _billed_units(inp: CheckInput) -> RuleResult:
    return billed_units(
        inp.df,
        partition_buckets(
            inp,
            "silver/intervals",
            [
                "meter_id",
                "start_utc",
                "local_date",
                "measurement",
                "reading_kind",
                "value",
                "register_kwh",
            ],
        ),
    )


def _payments(inp: CheckInput) -> RuleResult:
    return payments_vs_bills(inp.df, same_partition(inp, "silver/bills"))


PLANS: dict[str, list[CheckPlan]] = {
    "silver/bills": [
        CheckPlan(
            "reconcile__bill_arithmetic",
            "reconcile",
            WARN,
            "total = energy + fixed + GST + duty + fee + surcharge; levies, "
            "after-due amount and tariff prices as in force for the billing month",
            _bill_arithmetic,
            deps=("silver/service_points",),
        ),
        CheckPlan(
            "reconcile__billed_units",
            "reconcile",
            WARN,
            "billed units = the month's hourly readings = register difference",
            _billed_units,
            deps=("silver/intervals",),
        ),
        CheckPlan(
            "reconcile__not_derived",
            "reconcile",
            WARN,
            "every bill's consumer type and district delivered or derived (UNKNOWN: kept, "
            "not priced against the tariff)",
            _not_derived,
            deps=("silver/service_points",),
        ),
    ],
    "silver/payments": [
        CheckPlan(
            "reconcile__payments",
            "reconcile",
            WARN,
            "paid ≤ due; surcharge exactly on late payments; status agrees",
            _payments,
            deps=("silver/bills",),
        ),
    ],
}
