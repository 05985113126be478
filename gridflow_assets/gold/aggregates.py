"""Gold aggregates per month × utility partition: consumption, collection and locations.

Values of different reading types are never added (aggregates group by measurement,
direction and interval length); register reads and readings that failed validation are not
usage. Inputs are the partition's gold tables.
"""

from __future__ import annotations

import polars as pl

from gridflow_assets.domain.billing import CENT
from gridflow_assets.gold.keys import shaped
from gridflow_assets.gold.totals import DAILY_KEYS, MONTHLY_KEYS, ReadingTotals


def _rate(paid: str, billed: str) -> pl.Expr:
    return pl.when(pl.col(billed) > 0).then(pl.col(paid) / pl.col(billed))


def _count(flag: str) -> pl.Expr:
    return pl.col(flag).sum().cast(pl.Int64)


def _totals(
    readings: pl.DataFrame | ReadingTotals,
    utility: str,
    dim_service_point: pl.DataFrame | None = None,
) -> ReadingTotals:
    """The readings' totals: gathered bucket by bucket already, or of a whole frame."""
    if isinstance(readings, ReadingTotals):
        return readings
    return ReadingTotals.of(readings, utility, dim_service_point)


def agg_monthly_consumption(readings: pl.DataFrame | ReadingTotals, utility: str) -> pl.DataFrame:
    """Usage per service point, local month and reading type (failed readings counted).
    ``readings``: the partition's fact_readings, or their totals gathered bucket by bucket.
    The month's text is made once per row of the result, not once per reading."""
    out = _totals(readings, utility).monthly().sort(MONTHLY_KEYS)
    out = out.with_columns(
        year_month=pl.col("_month").dt.strftime("%Y-%m"), utility_id=pl.lit(utility)
    )
    return shaped(out, "agg_monthly_consumption")


def agg_daily_consumption(
    readings: pl.DataFrame | ReadingTotals, dim_service_point: pl.DataFrame, utility: str
) -> pl.DataFrame:
    """Daily load per consumer type and reading type, over all service points."""
    out = _totals(readings, utility, dim_service_point).daily().sort(DAILY_KEYS)
    return shaped(out.with_columns(utility_id=pl.lit(utility)), "agg_daily_consumption")


def agg_consumer_type_summary(
    readings: pl.DataFrame | ReadingTotals,
    dim_service_point: pl.DataFrame,
    dim_consumer_type: pl.DataFrame,
    fact_bills: pl.DataFrame | None,
    utility: str,
) -> pl.DataFrame:
    """Consumption (delivered and net kWh kept apart) and billing per consumer type."""
    totals = _totals(readings, utility, dim_service_point)
    out = dim_consumer_type.select("consumer_type", "sector", "service_point_count")
    for direction, name in (("delivered", "kwh_delivered"), ("net", "kwh_net")):
        out = out.join(
            totals.kwh("consumer_type", direction, name),
            on="consumer_type",
            how="left",
            maintain_order="left",
        )
    if fact_bills is not None:
        billed = fact_bills.group_by("consumer_type").agg(
            bill_count=pl.len().cast(pl.Int64),
            billed_units=pl.col("units_consumed").sum(),
            billed_amount=pl.col("total_amount").sum(),
        )
        out = out.join(billed, on="consumer_type", how="left", maintain_order="left")
    else:  # utilities that deliver no bills
        out = out.with_columns(
            bill_count=pl.lit(None, pl.Int64),
            billed_units=pl.lit(None, pl.Float64),
            billed_amount=pl.lit(None, pl.Float64),
        )
    out = out.with_columns(
        pl.col("bill_count").fill_null(0),
        pl.col("billed_units", "billed_amount").fill_null(0.0),
        kwh_delivered_per_service_point=pl.col("kwh_delivered") / pl.col("service_point_count"),
        utility_id=pl.lit(utility),
    )
    return shaped(
        out.with_columns(average_bill=_rate("billed_amount", "bill_count")),
        "agg_consumer_type_summary",
    )


def bill_collection(bills: pl.DataFrame, payments: pl.DataFrame) -> pl.DataFrame:
    """Per bill (in bill order): total, what was paid, the most owed (total + surcharge), late
    payments, surcharges, arrears and the outcome (unpaid, partial, overpaid)."""
    pay = payments.group_by("bill_id").agg(
        paid=pl.col("amount_paid").sum(),
        owed=pl.col("bill_amount").max(),
        late=pl.col("is_late").sum().cast(pl.Int64),
        surcharge=pl.col("expected_surcharge").sum(),
    )
    total = pl.col("total_amount")
    b = bills.join(pay, on="bill_id", how="left", maintain_order="left").with_columns(
        pl.col("paid").fill_null(0.0),
        pl.col("late").fill_null(0),
        pl.col("surcharge").fill_null(0.0),
        owed=pl.when(total.is_not_null()).then(
            pl.max_horizontal(pl.col("owed").fill_null(total), total)
        ),
    )
    return b.with_columns(
        arrears=(pl.col("owed") - pl.col("paid")).clip(lower_bound=0).round(2),
        is_unpaid=pl.col("paid") <= 0,
        is_partial=((pl.col("paid") > 0) & (pl.col("paid") < pl.col("owed") - CENT)).fill_null(
            False
        ),
        is_overpaid=(pl.col("paid") > pl.col("owed") + CENT).fill_null(False),
    )


def agg_payment_summary(fact_bills: pl.DataFrame, fact_payments: pl.DataFrame) -> pl.DataFrame:
    """Collection per tariff code: billed, paid, collection rate, arrears, late payments and
    surcharges, unpaid / partial / overpaid bills. A bill without a tariff code has no row
    to count in (``tariff_applied`` is this table's key)."""
    b = bill_collection(fact_bills, fact_payments).filter(pl.col("tariff_applied").is_not_null())
    out = b.group_by("tariff_applied").agg(
        bill_count=pl.len().cast(pl.Int64),
        billed_amount=pl.col("total_amount").sum().round(2),
        paid_amount=pl.col("paid").sum().round(2),
        arrears=pl.col("arrears").sum().round(2),
        late_payment_count=pl.col("late").sum(),
        late_surcharge=pl.col("surcharge").sum().round(2),
        unpaid_bill_count=_count("is_unpaid"),
        partial_bill_count=_count("is_partial"),
        overpaid_bill_count=_count("is_overpaid"),
        utility_id=pl.col("utility_id").first(),
    )
    return shaped(
        out.sort("tariff_applied").with_columns(
            collection_rate=_rate("paid_amount", "billed_amount")
        ),
        "agg_payment_summary",
    )


def agg_location_summary(
    readings: pl.DataFrame | ReadingTotals,
    dim_service_point: pl.DataFrame,
    dim_location: pl.DataFrame,
    fact_bills: pl.DataFrame | None,
    fact_payments: pl.DataFrame | None,
    utility: str,
) -> pl.DataFrame:
    """Service points, kWh delivered, bills, billed, paid and collection rate per location."""
    totals = _totals(readings, utility, dim_service_point)
    out = dim_location.select(
        "location_id", "region", "division", "sub_division", "service_point_count"
    ).join(
        totals.kwh("location_id", "delivered", "kwh_delivered"),
        on="location_id",
        how="left",
        maintain_order="left",
    )
    if fact_bills is not None and fact_payments is not None:
        billed = (
            bill_collection(fact_bills, fact_payments)
            .group_by("location_id")
            .agg(
                bill_count=pl.len().cast(pl.Int64),
                billed_amount=pl.col("total_amount").sum(),
                paid_amount=pl.col("paid").sum(),
            )
        )
        out = out.join(billed, on="location_id", how="left", maintain_order="left")
    else:
        out = out.with_columns(
            bill_count=pl.lit(None, pl.Int64),
            billed_amount=pl.lit(None, pl.Float64),
            paid_amount=pl.lit(None, pl.Float64),
        )
    out = out.with_columns(
        pl.col("bill_count").fill_null(0),
        pl.col("billed_amount", "paid_amount").fill_null(0.0),
        utility_id=pl.lit(utility),
    )
    return shaped(
        out.with_columns(collection_rate=_rate("paid_amount", "billed_amount")).sort("location_id"),
        "agg_location_summary",
    )
