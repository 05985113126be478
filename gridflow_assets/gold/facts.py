"""Gold facts: readings, bills and payments at their native grain, keyed to the dimensions.

A fact whose dimension row is missing keeps a null / 'UNKNOWN' key (the ``orphans__``
checks count it); nothing is dropped by a join.
"""

from __future__ import annotations

import polars as pl

from gridflow_assets.domain.billing import (
    CENT,
    UNKNOWN_CONSUMER_TYPE,
    components_sum,
    expected_owed,
)
from gridflow_assets.gold.keys import date_key, shaped, time_key


def fact_readings(intervals: pl.DataFrame, tz: str) -> pl.DataFrame:
    """Readings with date and time keys in the utility's local time."""
    local = pl.col("start_utc").dt.convert_time_zone(tz)
    return shaped(
        intervals.with_columns(date_key=date_key(local), time_key=time_key(local)), "fact_readings"
    )


def fact_bills(bills: pl.DataFrame, dim_service_point: pl.DataFrame) -> pl.DataFrame:
    """Bills keyed to location, consumer type and dates, with the delivered components added
    up again (``computed_total``) and whether that matches the printed total."""
    sp = dim_service_point.select("service_point_id", "location_id", "consumer_type")
    computed = components_sum().round(2)
    out = bills.join(sp, on="service_point_id", how="left", maintain_order="left")
    return shaped(
        out.with_columns(
            consumer_type=pl.col("consumer_type").fill_null(UNKNOWN_CONSUMER_TYPE),
            billing_month_key=date_key("billing_month"),
            issue_date_key=date_key("issue_date"),
            due_date_key=date_key("due_date"),
            computed_total=computed,
            is_arithmetic_ok=((computed - pl.col("total_amount")).abs() <= CENT).fill_null(False),
        ),
        "fact_bills",
    )


def fact_payments(payments: pl.DataFrame, bills: pl.DataFrame) -> pl.DataFrame:
    """Payments keyed to their bill and dates, with lateness and the late surcharge the
    tariff in force says a late payment owes."""
    b = bills.select(
        "bill_id", _service_point_id="service_point_id", _due="due_date", _total="total_amount"
    )
    p = payments.join(b, on="bill_id", how="left", maintain_order="left")
    days = (pl.col("payment_date") - pl.col("_due")).dt.total_days()
    late = (days > 0).fill_null(False)
    owed = expected_owed(p["_total"], p["_due"], p["payment_date"])
    return shaped(
        p.with_columns(_owed=owed).with_columns(
            service_point_id=pl.col("_service_point_id"),
            payment_date_key=date_key("payment_date"),
            days_after_due=days,
            is_late=late,
            expected_surcharge=pl.when(late & pl.col("_total").is_not_null())
            .then(pl.col("_owed") - pl.col("_total"))
            .otherwise(0.0)
            .round(2),
        ),
        "fact_payments",
    )
