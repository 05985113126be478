"""External tables: what leaves the warehouse, for signed-off partitions only.

No PII: the registry's PII tags decide. A PII-tagged identifier is replaced by its keyed
hash (``service_point_key``, ``meter_key``), a PII-tagged place by aggregated geography
(ZIP3 and state in New York, district in Pakistan; never street, house number, ZIP or
coordinates), and a PII-tagged name or national id is dropped. A test reads every external
table and fails on any PII-tagged column name or value.
"""

from __future__ import annotations

from dataclasses import replace

from gridflow_assets.registry import columns as c
from gridflow_assets.registry.gold import DAILY_SUMMARIES
from gridflow_assets.registry.model import Column, Table

SERVICE_POINT_KEY = Column(
    "service_point_key",
    "string",
    "Pseudonymous service point: HMAC-SHA256 of the utility's id with the deployment secret "
    "(the same key as gold/dim_service_point_external and the Green Button file names)",
    nullable=False,
)
METER_KEY = Column(
    "meter_key", "string", "Pseudonymous meter: HMAC-SHA256 of the meter id", nullable=False
)
GEOGRAPHY = (
    Column("zip3", "string", "First three digits of the postal code (New York)"),
    Column("state", "string", "State / province"),
    Column("district", "string", "District (IESCO)"),
)


def _daily_columns() -> tuple[Column, ...]:
    """experience/daily_summaries' columns, the service point as its key."""
    out = []
    for col in DAILY_SUMMARIES.columns:
        if col.name == "service_point_id":
            out += [SERVICE_POINT_KEY, *GEOGRAPHY]
        else:
            out.append(col)
    return tuple(out)


USAGE_DAILY = Table(
    layer="external",
    name="usage_daily",
    reads=("experience/daily_summaries", "gold/dim_service_point_external"),
    external=True,
    description="Daily usage per service point and reading type with peak and trough "
    "(experience/daily_summaries), pseudonymous ids and aggregated geography only. "
    "Signed-off partitions only.",
    grain="one row per service point, local day and reading type",
    primary_key=("service_point_key", "local_date", "measurement", "direction", "interval_s"),
    columns=_daily_columns(),
)

USAGE_INTERVALS = Table(
    layer="external",
    name="usage_intervals",
    reads=("gold/fact_readings",),
    external=True,
    description="Interval usage (gold/fact_readings, interval readings only) with "
    "pseudonymous service point and meter. Signed-off partitions only.",
    grain="one row per meter, channel and interval start",
    primary_key=("meter_key", "channel", "start_utc"),
    columns=(
        c.UTILITY_ID,
        replace(SERVICE_POINT_KEY, nullable=True),
        METER_KEY,
        Column("channel", "string", "Channel as delivered (a channel number or name)"),
        c.MEASUREMENT,
        c.DIRECTION,
        c.INTERVAL_S,
        Column("unit", "string", "Unit of value", nullable=False),
        Column("start_utc", "timestamp", "Interval start (UTC)", nullable=False),
        c.LOCAL_DATE,
        Column("value", "float", "Value in unit (null: no valid value)"),
        c.QUALITY_CODE,
        c.IS_ESTIMATED,
    ),
)

BILLING_SUMMARY = Table(
    layer="external",
    name="billing_summary",
    reads=("gold/fact_bills", "gold/dim_service_point_external"),
    external=True,
    description="Bills (gold/fact_bills) without names, national ids or addresses: "
    "pseudonymous service point, consumer type, district, tariff, units and amounts. "
    "Signed-off partitions only.",
    grain="one row per bill",
    primary_key=("bill_key",),
    requires=("bills",),
    columns=(
        c.UTILITY_ID,
        Column(
            "bill_key", "string", "Pseudonymous bill: HMAC-SHA256 of the bill id", nullable=False
        ),
        replace(SERVICE_POINT_KEY, nullable=True),
        Column("district", "string", "District (IESCO)"),
        Column("consumer_type", "string", "Consumer type"),
        Column("tariff_applied", "string", "Tariff applied"),
        Column("billing_month_key", "int", "Billing month as YYYYMM"),
        Column("units_consumed", "float", "Units billed", unit="kWh"),
        Column("variable_charges", "float", "Energy charges", unit="PKR"),
        Column("fixed_charges", "float", "Fixed charges", unit="PKR"),
        Column("gst", "float", "General sales tax", unit="PKR"),
        Column("electricity_duty", "float", "Electricity duty", unit="PKR"),
        Column("tv_fee", "float", "TV fee", unit="PKR"),
        Column("total_amount", "float", "Bill total", unit="PKR"),
        Column("amount_within_due_date", "float", "Payable by the due date", unit="PKR"),
        Column("amount_after_due_date", "float", "Payable after the due date", unit="PKR"),
        Column("is_arithmetic_ok", "bool", "The bill's arithmetic reconciles"),
    ),
)

EXTERNAL = {t.name: t for t in (USAGE_DAILY, USAGE_INTERVALS, BILLING_SUMMARY)}
