"""Gold star schema beyond readings: locations, consumer types, bills, payments, aggregates."""

from __future__ import annotations

from gridflow_assets.domain.billing import BILL_AMOUNTS
from gridflow_assets.registry import columns as c
from gridflow_assets.registry.model import Column, ForeignKey, Table

LOCATION_ID = Column(
    "location_id",
    "string",
    "Location '<UTILITY>:<region>|<division>|<sub_division>|<feeder>' (NY: state|city|ZIP3)",
)
CONSUMER_TYPE = Column(
    "consumer_type",
    "string",
    "Consumer type ('UNKNOWN' when the utility does not deliver one)",
    nullable=False,
)


def _DIMS(*extra):
    return (
        ForeignKey(("utility_id",), "gold/dim_utility", ("utility_id",), same_partition=False),
        *extra,
    )


def _date_key(name: str, what: str, nullable: bool = True) -> Column:
    return Column(
        name, "int", f"{what} as YYYYMMDD (dim_date)", nullable=nullable, ge=20000101, le=20991231
    )


DIM_LOCATION = Table(
    layer="gold",
    name="dim_location",
    reads=("silver/service_points",),
    description="Geography of service points: IESCO district → division → sub-division → "
    "feeder; New York state → city → ZIP3.",
    grain="one row per location (monthly snapshot)",
    primary_key=("location_id",),
    foreign_keys=_DIMS(),
    columns=(
        c.UTILITY_ID,
        Column("location_id", "string", LOCATION_ID.description, nullable=False),
        Column("region", "string", "District (IESCO) / state (NY)"),
        Column("division", "string", "Division (IESCO) / city (NY)"),
        Column("sub_division", "string", "Sub-division (IESCO) / ZIP3 (NY)"),
        Column("feeder_name", "string", "11 kV feeder (IESCO)"),
        Column(
            "service_point_count", "int", "Service points in the location", nullable=False, ge=1
        ),
    ),
)

DIM_CONSUMER_TYPE = Table(
    layer="gold",
    name="dim_consumer_type",
    reads=("silver/service_points",),
    description="Consumer types with their tariff category and sector (IESCO).",
    grain="one row per consumer type (monthly snapshot)",
    primary_key=("consumer_type",),
    foreign_keys=_DIMS(),
    columns=(
        c.UTILITY_ID,
        CONSUMER_TYPE,
        Column("tariff_category", "string", "Tariff code (A-1, A-2, B-1, ...)"),
        Column("sector", "string", "Tariff sector (residential, commercial, ...)"),
        Column("is_protected", "bool", "Residential protected slabs apply"),
        Column("is_lifeline", "bool", "Residential lifeline slabs apply"),
        Column("service_point_count", "int", "Service points of the type", nullable=False, ge=0),
    ),
)


FACT_BILLS = Table(
    layer="gold",
    name="fact_bills",
    reads=("silver/bills", "gold/dim_service_point"),
    requires=("bills",),
    description="Bills with their components (line items as columns), keyed to meter, "
    "service point, location, consumer type and dates; with the arithmetic "
    "recomputed (`computed_total`) and flagged.",
    grain="one row per bill",
    primary_key=("bill_id",),
    foreign_keys=_DIMS(
        ForeignKey(("meter_id",), "gold/dim_meter", ("meter_id",)),
        ForeignKey(("service_point_id",), "gold/dim_service_point", ("service_point_id",)),
        ForeignKey(("location_id",), "gold/dim_location", ("location_id",)),
        ForeignKey(("consumer_type",), "gold/dim_consumer_type", ("consumer_type",)),
        ForeignKey(("billing_month_key",), "gold/dim_date", ("date_key",), same_partition=False),
        ForeignKey(("issue_date_key",), "gold/dim_date", ("date_key",), same_partition=False),
        ForeignKey(("due_date_key",), "gold/dim_date", ("date_key",), same_partition=False),
    ),
    columns=(
        c.UTILITY_ID,
        Column("bill_id", "string", "Bill id", nullable=False),
        c.METER_ID,
        c.SERVICE_POINT_ID,
        LOCATION_ID,
        CONSUMER_TYPE,
        Column("tariff_applied", "string", "Tariff code applied"),
        _date_key("billing_month_key", "First day of the billed month", nullable=False),
        _date_key("issue_date_key", "Issue date"),
        _date_key("due_date_key", "Due date"),
        Column("units_consumed", "float", "Billed units", unit="kWh", ge=0),
        *(
            Column(name, "float", name.replace("_", " ").capitalize(), unit="PKR", ge=0)
            for name in BILL_AMOUNTS
        ),
        Column("computed_total", "float", "Sum of the components as delivered", unit="PKR"),
        Column(
            "is_arithmetic_ok",
            "bool",
            "total equals the sum of its components (±1 paisa)",
            nullable=False,
        ),
    ),
)

FACT_PAYMENTS = Table(
    layer="gold",
    name="fact_payments",
    reads=("silver/payments", "silver/bills"),
    requires=("payments",),
    description="Payments keyed to their bill and dates, with lateness and the surcharge the "
    "tariff in force says is owed.",
    grain="one row per payment",
    primary_key=("payment_id",),
    foreign_keys=_DIMS(
        ForeignKey(("bill_id",), "gold/fact_bills", ("bill_id",)),
        ForeignKey(("payment_date_key",), "gold/dim_date", ("date_key",), same_partition=False),
    ),
    columns=(
        c.UTILITY_ID,
        Column("payment_id", "string", "Payment id", nullable=False),
        Column("bill_id", "string", "Bill paid", nullable=False),
        c.METER_ID,
        c.SERVICE_POINT_ID,
        _date_key("payment_date_key", "Payment date (null when unpaid)"),
        Column("payment_method", "string", "Method"),
        Column("status", "string", "paid / partial / unpaid", nullable=False),
        Column("bill_amount", "float", "Amount owed on the payment date", unit="PKR", ge=0),
        Column("amount_paid", "float", "Amount paid", unit="PKR", ge=0),
        Column("days_after_due", "int", "Days after the due date (negative: early)"),
        Column("is_late", "bool", "Paid after the due date", nullable=False),
        Column(
            "expected_surcharge",
            "float",
            "Late surcharge the tariff says is owed",
            unit="PKR",
            ge=0,
        ),
    ),
)

TYPE_KEY = ("measurement", "direction", "interval_s")

AGG_MONTHLY_CONSUMPTION = Table(
    layer="gold",
    name="agg_monthly_consumption",
    reads=("gold/fact_readings",),
    description="Usage per service point, calendar month (local) and reading type. Register "
    "reads and readings that failed validation are not usage totals.",
    grain="one row per service point, month and reading type",
    primary_key=("service_point_id", "year_month", *TYPE_KEY),
    columns=(
        c.UTILITY_ID,
        Column(
            "service_point_id",
            "string",
            "Service point ('<UTILITY>:UNRESOLVED' for readings without one)",
            pii=True,
            nullable=False,
        ),
        Column("year_month", "string", "Local calendar month YYYY-MM", nullable=False),
        c.MEASUREMENT,
        c.DIRECTION,
        c.INTERVAL_S,
        Column("unit", "string", "Unit of totals", nullable=False),
        Column("total_value", "float", "Sum of valid values"),
        Column("reading_count", "int", "Valid readings", nullable=False, ge=0),
        Column("failed_count", "int", "Readings that failed validation", nullable=False, ge=0),
        Column("estimated_count", "int", "Estimated readings (quality 8/9)", nullable=False, ge=0),
        Column(
            "days_with_data",
            "int",
            "Local days with at least one reading",
            nullable=False,
            ge=0,
            le=31,
        ),
    ),
)

AGG_DAILY_CONSUMPTION = Table(
    layer="gold",
    name="agg_daily_consumption",
    reads=("gold/fact_readings", "gold/dim_service_point"),
    description="Daily load per consumer type and reading type (all service points).",
    grain="one row per local day, consumer type and reading type",
    primary_key=("local_date", "consumer_type", *TYPE_KEY),
    columns=(
        c.UTILITY_ID,
        c.LOCAL_DATE,
        CONSUMER_TYPE,
        c.MEASUREMENT,
        c.DIRECTION,
        c.INTERVAL_S,
        Column("unit", "string", "Unit of totals", nullable=False),
        Column("total_value", "float", "Sum of valid values"),
        Column("service_point_count", "int", "Service points with data", nullable=False, ge=0),
        Column("reading_count", "int", "Valid readings", nullable=False, ge=0),
    ),
)

AGG_CONSUMER_TYPE_SUMMARY = Table(
    layer="gold",
    name="agg_consumer_type_summary",
    reads=(
        "gold/fact_readings",
        "gold/dim_service_point",
        "gold/dim_consumer_type",
        "gold/fact_bills",
    ),
    description="Consumption (delivered and net kWh kept apart) and billing per consumer type.",
    grain="one row per consumer type",
    primary_key=("consumer_type",),
    columns=(
        c.UTILITY_ID,
        CONSUMER_TYPE,
        Column("sector", "string", "Tariff sector"),
        Column("service_point_count", "int", "Service points", nullable=False, ge=0),
        Column("kwh_delivered", "float", "kWh delivered (interval readings)", unit="kWh"),
        Column("kwh_net", "float", "kWh net (net-metering prosumers)", unit="kWh"),
        Column("kwh_delivered_per_service_point", "float", "Average kWh delivered", unit="kWh"),
        Column("bill_count", "int", "Bills", nullable=False, ge=0),
        Column("billed_units", "float", "Billed units", unit="kWh", ge=0),
        Column("billed_amount", "float", "Billed total", unit="PKR", ge=0),
        Column("average_bill", "float", "Average bill total", unit="PKR", ge=0),
    ),
)

AGG_PAYMENT_SUMMARY = Table(
    layer="gold",
    name="agg_payment_summary",
    reads=("gold/fact_bills", "gold/fact_payments"),
    requires=("bills", "payments"),
    description="Collection per tariff code: billed, paid, collection rate, arrears, late "
    "payments and surcharges.",
    grain="one row per tariff code",
    primary_key=("tariff_applied",),
    columns=(
        c.UTILITY_ID,
        Column("tariff_applied", "string", "Tariff code", nullable=False),
        Column("bill_count", "int", "Bills", nullable=False, ge=0),
        Column("billed_amount", "float", "Sum of bill totals", unit="PKR", ge=0),
        Column("paid_amount", "float", "Sum of payments", unit="PKR", ge=0),
        Column("collection_rate", "float", "paid / billed", ge=0),
        Column(
            "arrears",
            "float",
            "Owed and not paid (bill totals + surcharges − payments, per bill, never negative)",
            unit="PKR",
            ge=0,
        ),
        Column("late_payment_count", "int", "Payments after the due date", nullable=False, ge=0),
        Column(
            "late_surcharge", "float", "Late surcharges owed on late payments", unit="PKR", ge=0
        ),
        Column("unpaid_bill_count", "int", "Bills with nothing paid", nullable=False, ge=0),
        Column("partial_bill_count", "int", "Bills paid in part", nullable=False, ge=0),
        Column("overpaid_bill_count", "int", "Bills paid more than owed", nullable=False, ge=0),
    ),
)

AGG_LOCATION_SUMMARY = Table(
    layer="gold",
    name="agg_location_summary",
    reads=(
        "gold/fact_readings",
        "gold/dim_service_point",
        "gold/dim_location",
        "gold/fact_bills",
        "gold/fact_payments",
    ),
    description="Consumption and collection per location.",
    grain="one row per location",
    primary_key=("location_id",),
    columns=(
        c.UTILITY_ID,
        Column("location_id", "string", LOCATION_ID.description, nullable=False),
        Column("region", "string", "District / state"),
        Column("division", "string", "Division / city"),
        Column("sub_division", "string", "Sub-division / ZIP3"),
        Column("service_point_count", "int", "Service points", nullable=False, ge=0),
        Column("kwh_delivered", "float", "kWh delivered", unit="kWh"),
        Column("bill_count", "int", "Bills", nullable=False, ge=0),
        Column("billed_amount", "float", "Billed total", unit="PKR", ge=0),
        Column("paid_amount", "float", "Paid", unit="PKR", ge=0),
        Column("collection_rate", "float", "paid / billed", ge=0),
    ),
)

BILLING = {
    t.name: t
    for t in (
        DIM_LOCATION,
        DIM_CONSUMER_TYPE,
        FACT_BILLS,
        FACT_PAYMENTS,
        AGG_MONTHLY_CONSUMPTION,
        AGG_DAILY_CONSUMPTION,
        AGG_CONSUMER_TYPE_SUMMARY,
        AGG_PAYMENT_SUMMARY,
        AGG_LOCATION_SUMMARY,
    )
}
