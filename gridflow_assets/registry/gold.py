"""Gold (star schema) and experience tables."""

from __future__ import annotations

from gridflow_assets.registry import columns as c
from gridflow_assets.registry.model import Column, ForeignKey, Table

DATE_KEY = Column(
    "date_key",
    "int",
    "Local calendar day as YYYYMMDD (dim_date)",
    nullable=False,
    ge=20000101,
    le=20991231,
)
TIME_KEY = Column(
    "time_key", "int", "Local time of day as HHMM (dim_time)", nullable=False, ge=0, le=2359
)

DIM_UTILITY = Table(
    layer="gold",
    name="dim_utility",
    partitioned=False,
    description="Utilities known to the platform (from the utility registry).",
    grain="one row per utility",
    primary_key=("utility_id",),
    columns=(
        c.UTILITY_ID,
        Column("utility_name", "string", "Name", nullable=False),
        Column("country", "string", "Country (ISO 3166 alpha-2)", nullable=False),
        Column("timezone", "string", "IANA time zone of local times", nullable=False),
        Column("currency", "string", "Billing currency (ISO 4217)"),
        Column("vocabulary", "string", "How the utility names a service point"),
    ),
)

DIM_DATE = Table(
    layer="gold",
    name="dim_date",
    partitioned=False,
    description="Calendar days 2023-01-01 to 2027-12-31.",
    grain="one row per calendar day",
    primary_key=("date_key",),
    columns=(
        DATE_KEY,
        Column("date", "date", "The day", nullable=False),
        Column("year", "int", "Year", nullable=False),
        Column("quarter", "int", "Quarter", nullable=False, ge=1, le=4),
        Column("month", "int", "Month", nullable=False, ge=1, le=12),
        Column("month_name", "string", "Month name", nullable=False),
        Column("day", "int", "Day of month", nullable=False, ge=1, le=31),
        Column("day_of_week", "int", "ISO day of week (1 = Monday)", nullable=False, ge=1, le=7),
        Column("day_name", "string", "Day name", nullable=False),
        Column("is_weekend", "bool", "Saturday or Sunday", nullable=False),
        Column("year_month", "string", "YYYY-MM", nullable=False),
    ),
)

DIM_TIME = Table(
    layer="gold",
    name="dim_time",
    partitioned=False,
    description="Minutes of the day (interval starts fall on this grid).",
    grain="one row per minute of the day",
    primary_key=("time_key",),
    columns=(
        TIME_KEY,
        Column("hour", "int", "Hour", nullable=False, ge=0, le=23),
        Column("minute", "int", "Minute", nullable=False, ge=0, le=59),
        Column("label", "string", "HH:MM", nullable=False),
        Column(
            "day_part",
            "string",
            "night / morning / afternoon / evening",
            nullable=False,
            isin=("night", "morning", "afternoon", "evening"),
        ),
    ),
)

DIM_SERVICE_POINT = Table(
    layer="gold",
    name="dim_service_point",
    reads=("silver/service_points",),
    description="Service points with their current address and attributes (internal: PII).",
    grain="one row per service point (monthly snapshot)",
    primary_key=("service_point_id",),
    foreign_keys=(
        ForeignKey(("utility_id",), "gold/dim_utility", ("utility_id",), same_partition=False),
        ForeignKey(("location_id",), "gold/dim_location", ("location_id",)),
    ),
    columns=(
        c.UTILITY_ID,
        Column(
            "service_point_id", "string", c.SERVICE_POINT_ID.description, pii=True, nullable=False
        ),
        Column("house_number", "string", "House number", pii=True),
        Column("street", "string", "Street", pii=True),
        Column("house_supplement", "string", "Apartment / suite", pii=True),
        Column("city", "string", "City"),
        Column("zip", "string", "Postal code", pii=True),
        Column("zip3", "string", "First three digits of the postal code"),
        Column("state", "string", "State / province"),
        Column("location_id", "string", "Location (dim_location)"),
        Column("district", "string", "District (IESCO)"),
        Column("division", "string", "Division (IESCO)"),
        Column("sub_division", "string", "Sub-division (IESCO)"),
        Column("feeder_name", "string", "Feeder (IESCO)"),
        Column("latitude", "float", "Latitude", unit="deg", pii=True),
        Column("longitude", "float", "Longitude", unit="deg", pii=True),
        Column("customer_name", "string", "Consumer name", pii=True),
        Column("consumer_type", "string", "Consumer type"),
        Column("tariff_category", "string", "Tariff category"),
        Column("status", "string", "Connection status"),
        Column("address_versions", "int", "Address versions delivered", ge=1),
    ),
)

DIM_SERVICE_POINT_EXTERNAL = Table(
    layer="gold",
    name="dim_service_point_external",
    reads=("gold/dim_service_point",),
    external=True,
    description="External view of service points for third parties (NY IEDR style): "
    "pseudonymous keys (keyed hash), ZIP3 / city, coarse coordinates. No PII.",
    grain="one row per service point (monthly snapshot)",
    primary_key=("service_point_key",),
    columns=(
        c.UTILITY_ID,
        Column(
            "service_point_key",
            "string",
            "Pseudonymous service point key: HMAC-SHA256 of "
            "the service point id with the deployment secret",
            nullable=False,
        ),
        Column("zip3", "string", "First three digits of the postal code"),
        Column("city", "string", "City"),
        Column("state", "string", "State / province"),
        Column("district", "string", "District (IESCO)"),
        Column("consumer_type", "string", "Consumer type"),
        Column("latitude_coarse", "float", "Latitude rounded to 0.1 degree", unit="deg"),
        Column("longitude_coarse", "float", "Longitude rounded to 0.1 degree", unit="deg"),
    ),
)

DIM_METER = Table(
    layer="gold",
    name="dim_meter",
    reads=("silver/meters", "silver/intervals"),
    description="Meters: one row per meter with its latest attributes and how often they "
    "changed, and the service point it is on at the end of the month.",
    grain="one row per meter (monthly snapshot)",
    primary_key=("meter_id",),
    columns=(
        c.UTILITY_ID,
        c.METER_ID,
        Column("meter_number", "string", "Meter number (latest)"),
        Column("meter_type", "string", "Meter type (latest record)"),
        Column("meter_type_changes", "int", "Times the type flipped between records", ge=0),
        Column("meter_status", "string", "Status (latest record)"),
        Column("current_service_point_id", "string", "Service point at month end", pii=True),
        Column("service_point_count", "int", "Service points the meter was on", ge=0),
        Column("record_count", "int", "Meter records delivered", nullable=False, ge=1),
        Column("first_record_utc", "timestamp", "Earliest record time"),
        Column("last_record_utc", "timestamp", "Latest record time"),
    ),
)

FACT_READINGS = Table(
    layer="gold",
    name="fact_readings",
    reads=("silver/intervals",),
    description="Readings at their native grain with keys into the dimensions, after VEE: "
    "the quality code, the estimate flag and method, and the delivered value.",
    grain="one row per meter, channel and interval start",
    primary_key=("meter_id", "channel", "start_utc"),
    foreign_keys=(
        ForeignKey(("utility_id",), "gold/dim_utility", ("utility_id",), same_partition=False),
        ForeignKey(("date_key",), "gold/dim_date", ("date_key",), same_partition=False),
        ForeignKey(("time_key",), "gold/dim_time", ("time_key",), same_partition=False),
        ForeignKey(("meter_id",), "gold/dim_meter", ("meter_id",)),
        ForeignKey(("service_point_id",), "gold/dim_service_point", ("service_point_id",)),
    ),
    columns=(
        c.UTILITY_ID,
        c.METER_ID,
        c.SERVICE_POINT_ID,
        DATE_KEY,
        TIME_KEY,
        Column("channel", "string", "Channel as delivered", nullable=False),
        c.MEASUREMENT,
        c.DIRECTION,
        c.READING_KIND,
        c.INTERVAL_S,
        Column("unit", "string", "Unit of value", nullable=False),
        Column("start_utc", "timestamp", "Interval start (UTC)", nullable=False),
        c.LOCAL_DATE,
        Column(
            "value", "float", "Value in `unit` (a VEE estimate where is_estimated)", nullable=False
        ),
        Column(
            "value_original", "string", "Value exactly as delivered; null on intervals VEE added"
        ),
        c.QUALITY_CODE,
        c.QUALITY_CODE_ORIGINAL,
        Column("status", "string", "Reading status / event"),
        c.RULE_IDS,
        c.IS_ESTIMATED,
        c.ESTIMATION_METHOD,
        Column("is_orphan_service_point", "bool", "Service point unknown", nullable=False),
        Column("is_orphan_meter", "bool", "Meter unknown", nullable=False),
    ),
)

DAILY_SUMMARIES = Table(
    layer="experience",
    name="daily_summaries",
    reads=("silver/intervals",),
    description="Daily usage per service point and reading type with peak and trough. "
    "Readings that failed validation (quality 10) are left out of totals, peak "
    "and trough and counted in failed_count. Register reads are not usage and "
    "are not summarised.",
    grain="one row per service point, local day and reading type",
    primary_key=("service_point_id", "local_date", "measurement", "direction", "interval_s"),
    columns=(
        c.UTILITY_ID,
        Column(
            "service_point_id",
            "string",
            c.SERVICE_POINT_ID.description + " "
            "'<UTILITY>:UNRESOLVED' gathers readings whose service point is unknown",
            pii=True,
            nullable=False,
        ),
        c.LOCAL_DATE,
        c.MEASUREMENT,
        c.DIRECTION,
        c.INTERVAL_S,
        Column("unit", "string", "Unit of totals", nullable=False),
        Column("total_value", "float", "Sum of the day's valid values"),
        Column("interval_count", "int", "Valid intervals present", nullable=False, ge=0),
        Column(
            "expected_count",
            "int",
            "Intervals in the local day (23/25-hour DST days included)",
            nullable=False,
            ge=1,
        ),
        Column("coverage", "float", "interval_count / expected_count", ge=0),
        Column(
            "failed_count", "int", "Intervals left out: failed validation", nullable=False, ge=0
        ),
        Column(
            "estimated_count",
            "int",
            "Intervals that were estimated (quality 8/9)",
            nullable=False,
            ge=0,
        ),
        Column("meter_count", "int", "Meters contributing", nullable=False, ge=0),
        Column("peak_value", "float", "Largest valid value"),
        Column("peak_start_utc", "timestamp", "Start of the peak interval (UTC)"),
        Column("peak_local_time", "string", "Start of the peak interval, local HH:MM"),
        Column("trough_value", "float", "Smallest valid value"),
        Column("trough_start_utc", "timestamp", "Start of the trough interval (UTC)"),
        Column("trough_local_time", "string", "Start of the trough interval, local HH:MM"),
    ),
)

GOLD = {
    t.name: t
    for t in (
        DIM_UTILITY,
        DIM_DATE,
        DIM_TIME,
        DIM_SERVICE_POINT,
        DIM_SERVICE_POINT_EXTERNAL,
        DIM_METER,
        FACT_READINGS,
    )
}
EXPERIENCE = {t.name: t for t in (DAILY_SUMMARIES,)}
