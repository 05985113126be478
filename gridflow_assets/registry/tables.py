"""Every table of the warehouse, declared once: columns, grain, keys, ranges and PII tags."""

from __future__ import annotations

from gridflow_assets.registry import columns as c
from gridflow_assets.registry.model import Column, ForeignKey, Table

LINEAGE = (
    Column("_source_file", "string", "Landed file (<UTILITY>/<YYYY-MM>/<file>)", nullable=False),
    Column("_source_row", "int", "1-based data row in the landed file", nullable=False, ge=1),
    Column(
        "_parse_error",
        "string",
        "Why a ragged row could not be split into columns (its "
        "text is kept here); null for rows that parsed",
    ),
)

BRONZE_TABLES = ("service_points", "meters", "readings", "bills", "payments")
BRONZE_KEYS = tuple(f"bronze/{name}" for name in BRONZE_TABLES)


def _bronze(name: str, what: str) -> Table:
    return Table(
        layer="bronze",
        name=name,
        description=f"{what}, every landed row as delivered (all delivered columns as text, "
        "column names as in the file) plus lineage. Delivered columns differ by "
        "utility: see the source schemas in the data dictionary.",
        grain="one row per landed data row",
        columns=LINEAGE,
        primary_key=("_source_file", "_source_row"),
        requires=(name,),
    )


def bronze_for_source(name: str, delivered: tuple[str, ...], pii: tuple[str, ...] = ()) -> Table:
    """The bronze table as one utility delivers it: its columns as text, then lineage."""
    base = BRONZE[name]
    cols = tuple(
        Column(col, "string", f"Delivered column {col!r}, as text", pii=col in pii)
        for col in delivered
    )
    return Table(
        layer=base.layer,
        name=base.name,
        description=base.description,
        grain=base.grain,
        columns=cols + LINEAGE,
        primary_key=base.primary_key,
        requires=base.requires,
    )


BRONZE = {
    "service_points": _bronze("service_points", "Service points / premises / consumers"),
    "meters": _bronze("meters", "Meter records (read log, installations or master)"),
    "readings": _bronze("readings", "Interval / hourly / daily readings"),
    "bills": _bronze("bills", "Monthly bills"),
    "payments": _bronze("payments", "Payments against bills"),
}

SILVER_SERVICE_POINTS = Table(
    layer="silver",
    name="service_points",
    source="service_points",
    reads=("bronze/service_points", "bronze/meters"),  # IESCO's come from its meters file
    description="Standardized service points: NY service points and premises, IESCO consumer "
    "connections. One current version per service point; superseded address "
    "versions are in silver/rejects (DUP_CONFLICT).",
    grain="one row per service point",
    primary_key=("service_point_id",),
    columns=(
        c.UTILITY_ID,
        Column(
            "service_point_id", "string", c.SERVICE_POINT_ID.description, pii=True, nullable=False
        ),
        Column("house_number", "string", "House number", pii=True),
        Column("street", "string", "Street (with house supplement where delivered)", pii=True),
        Column("house_supplement", "string", "Apartment / suite", pii=True),
        Column("city", "string", "City"),
        Column("zip", "string", "Postal code as text (leading zeros kept)"),
        Column("state", "string", "State / province"),
        Column(
            "district",
            "string",
            "District (IESCO); derived from sub-division, division or the address's city "
            "where the format variant lacks it, UNKNOWN when none is known",
        ),
        Column("division", "string", "Division (IESCO)"),
        Column("sub_division", "string", "Sub-division (IESCO)"),
        Column("feeder_name", "string", "Feeder (IESCO)"),
        Column("latitude", "float", "Latitude", unit="deg", pii=True, ge=-90, le=90),
        Column("longitude", "float", "Longitude", unit="deg", pii=True, ge=-180, le=180),
        Column("customer_name", "string", "Consumer name (IESCO)", pii=True),
        Column("father_name", "string", "Consumer's father's name (IESCO)", pii=True),
        Column("reference_no", "string", "Bill reference number (IESCO)", pii=True),
        Column(
            "consumer_type",
            "string",
            "Consumer type (IESCO); derived from tariff sub-category and sanctioned load where "
            "the format variant lacks it, UNKNOWN when no rule holds",
        ),
        Column(
            "consumer_type_original",
            "string",
            "Consumer type as delivered (null: not delivered, derived)",
        ),
        Column(
            "district_original", "string", "District as delivered (null: not delivered, derived)"
        ),
        c.DERIVED_RULES,
        Column("tariff_category", "string", "Tariff code or NEPRA sub-category (IESCO)"),
        Column("status", "string", "Connection status"),
        Column("sanctioned_load_kw", "float", "Sanctioned load", unit="kW", ge=0),
        Column("connected_load_kw", "float", "Connected load", unit="kW", ge=0),
        Column("connection_date", "date", "Connection / creation date"),
        Column(
            "address_versions",
            "int",
            "Versions of this service point delivered in the "
            "drop (NY premises: 2-7 address versions)",
            nullable=False,
            ge=1,
        ),
        Column(
            "resolution_rule",
            "string",
            "Rule that chose this version among several "
            "(SP_LATEST_VERSION) or null when there was one",
        ),
        c.SOURCE_FILE,
        c.SOURCE_ROW,
    ),
)

SILVER_METERS = Table(
    layer="silver",
    name="meters",
    source="meters",
    reads=("bronze/meters",),
    description="Standardized meter records, effective-dated: UTILITY1 read-log entries, "
    "UTILITY2 installations (meter on a premise between installed and removed), "
    "IESCO meter master.",
    grain="one row per meter record (utility-specific record key)",
    primary_key=("meter_id", "record_key"),
    foreign_keys=(
        ForeignKey(("service_point_id",), "silver/service_points", ("service_point_id",)),
    ),
    columns=(
        c.UTILITY_ID,
        c.METER_ID,
        Column(
            "record_key",
            "string",
            "Distinguishes records of one meter: read time "
            "(UTILITY1), premise|installed_at (UTILITY2), 'master' (IESCO)",
            nullable=False,
        ),
        Column("meter_number", "string", "Meter number as delivered"),
        c.SERVICE_POINT_ID,
        Column("meter_type", "string", "Meter type as delivered"),
        Column("meter_status", "string", "Meter status as delivered"),
        Column("meter_category", "string", "Read category (UTILITY1) / channel (UTILITY2)"),
        Column("meter_make", "string", "Manufacturer (IESCO)"),
        Column("phase_type", "string", "Single / three phase (IESCO)"),
        Column("installed_at_utc", "timestamp", "Installed at (effective from)"),
        Column("removed_at_utc", "timestamp", "Removed at (effective to, exclusive)"),
        Column("record_ts_utc", "timestamp", "Time of the record (read / update)"),
        Column("register_value", "float", "Register value of a read-log entry (UTILITY1)"),
        Column(
            "register_duration_s", "int", "Duration of a read-log entry (UTILITY1)", unit="s", ge=0
        ),
        c.RULE_IDS,
        c.SOURCE_FILE,
        c.SOURCE_ROW,
    ),
)

SILVER_INTERVALS = Table(
    layer="silver",
    name="intervals",
    source="readings",
    # the readings, joined to the partition's service points and meters
    reads=("bronze/readings", "silver/service_points", "silver/meters"),
    description="Interval readings in one model for all utilities: typed by measurement, "
    "direction, kind and interval length; UTC instants plus the local day; common "
    "quality code beside the original; the rules that touched each row. After "
    "VEE (validation V1-V9, estimation E1-E4): failed readings carry quality 10 "
    "or an estimate (quality 8/9, is_estimated, delivered value kept in "
    "value_original), and estimated missing intervals are added as rows without "
    "a source_row.",
    grain="one row per meter, channel and interval start",
    primary_key=("meter_id", "channel", "start_utc"),
    foreign_keys=(
        ForeignKey(("service_point_id",), "silver/service_points", ("service_point_id",)),
        ForeignKey(("meter_id",), "silver/meters", ("meter_id",)),
    ),
    columns=(
        c.UTILITY_ID,
        c.METER_ID,
        c.SERVICE_POINT_ID,
        Column(
            "service_point_rule",
            "string",
            "How the service point was found: DELIVERED, "
            "SP_EFFECTIVE_DATED, SP_OUTSIDE_INSTALL_WINDOW, SP_UNRESOLVED",
        ),
        Column("channel", "string", "Channel exactly as delivered", nullable=False),
        c.MEASUREMENT,
        c.DIRECTION,
        c.READING_KIND,
        c.INTERVAL_S,
        Column("unit", "string", "Unit of value", nullable=False, isin=("kWh", "kVArh", "unknown")),
        Column("start_utc", "timestamp", "Interval start (UTC)", nullable=False),
        Column("end_utc", "timestamp", "Interval end (UTC, exclusive)", nullable=False),
        c.LOCAL_DATE,
        Column(
            "value",
            "float",
            "Value in `unit` after VEE (an estimate where "
            "is_estimated); negative only on received/net channels",
            nullable=False,
            ge=-1000,
            le=1_000_000,
        ),
        Column(
            "value_original", "string", "Value exactly as delivered; null on intervals VEE added"
        ),
        c.QUALITY_CODE,
        c.QUALITY_CODE_ORIGINAL,
        Column("status", "string", "Reading status / event as delivered (IESCO)"),
        Column(
            "register_kwh",
            "float",
            "Cumulative register at interval end (IESCO); on "
            "intervals VEE added, the register implied by the estimates",
            unit="kWh",
            ge=0,
        ),
        Column("voltage_v", "float", "Voltage (IESCO)", unit="V", ge=0, le=500),
        Column("current_a", "float", "Current (IESCO)", unit="A", ge=0),
        Column("power_factor", "float", "Power factor (IESCO)", ge=0, le=1),
        Column("frequency_hz", "float", "Frequency (IESCO)", unit="Hz", ge=45, le=55),
        Column("last_update_utc", "timestamp", "When the utility last changed the row"),
        c.RULE_IDS,
        c.IS_ESTIMATED,
        c.ESTIMATION_METHOD,
        Column(
            "is_orphan_service_point",
            "bool",
            "Service point not in this drop's service points",
            nullable=False,
        ),
        Column("is_orphan_meter", "bool", "Meter not in this drop's meters", nullable=False),
        c.SOURCE_FILE,
        c.SOURCE_ROW,
    ),
)

SILVER_BILLS = Table(
    layer="silver",
    name="bills",
    source="bills",
    requires=("bills",),
    reads=("bronze/bills",),
    description="Monthly bills with their components, typed.",
    grain="one row per bill",
    primary_key=("bill_id",),
    foreign_keys=(ForeignKey(("meter_id",), "silver/meters", ("meter_id",)),),
    columns=(
        c.UTILITY_ID,
        Column(
            "bill_id",
            "string",
            "Bill id as delivered, or BILL-<meter_number>-<YYYYMM> where the format variant "
            "lacks it",
            nullable=False,
        ),
        Column("bill_id_original", "string", "Bill id as delivered (null: not delivered)"),
        c.DERIVED_RULES,
        Column("billing_month", "date", "First day of the billed month", nullable=False),
        Column("billing_month_original", "string", "Billing month as delivered (e.g. JAN 24)"),
        Column("issue_date", "date", "Issue date"),
        Column("due_date", "date", "Due date"),
        Column("units_consumed", "float", "Billed units", unit="kWh", ge=0),
        Column("variable_charges", "float", "Energy charges", unit="PKR", ge=0),
        Column("fixed_charges", "float", "Fixed charges", unit="PKR", ge=0),
        Column("gst", "float", "General sales tax", unit="PKR", ge=0),
        Column("electricity_duty", "float", "Electricity duty", unit="PKR", ge=0),
        Column("tv_fee", "float", "PTV fee", unit="PKR", ge=0),
        Column("late_payment_surcharge", "float", "Late payment surcharge", unit="PKR", ge=0),
        Column("total_amount", "float", "Total", unit="PKR", ge=0),
        Column("amount_within_due_date", "float", "Payable within due date", unit="PKR", ge=0),
        Column("amount_after_due_date", "float", "Payable after due date", unit="PKR", ge=0),
        Column("tariff_applied", "string", "Tariff code or NEPRA sub-category applied"),
        Column("reference_no", "string", "Bill reference number", pii=True),
        c.METER_ID,
        c.SERVICE_POINT_ID,
        Column("consumer_name", "string", "Consumer name", pii=True),
        Column("address", "string", "Address", pii=True),
        c.SOURCE_FILE,
        c.SOURCE_ROW,
    ),
)

SILVER_PAYMENTS = Table(
    layer="silver",
    name="payments",
    source="payments",
    requires=("payments",),
    reads=("bronze/payments",),
    description="Payments against bills.",
    grain="one row per payment",
    primary_key=("payment_id",),
    foreign_keys=(ForeignKey(("bill_id",), "silver/bills", ("bill_id",)),),
    columns=(
        c.UTILITY_ID,
        Column("payment_id", "string", "Payment id", nullable=False),
        Column("bill_id", "string", "Bill paid", nullable=False),
        c.METER_ID,
        Column("bill_amount", "float", "Bill amount", unit="PKR", ge=0),
        Column("amount_paid", "float", "Amount paid", unit="PKR", ge=0),
        Column("payment_date", "date", "Payment date (null when unpaid)"),
        Column("payment_method", "string", "Method", isin=("online", "bank", "cash", "mobile_app")),
        Column(
            "status", "string", "Payment status", nullable=False, isin=("paid", "partial", "unpaid")
        ),
        c.SOURCE_FILE,
        c.SOURCE_ROW,
    ),
)

SILVER_REJECTS = Table(
    layer="silver",
    name="rejects",
    reads=BRONZE_KEYS,  # every landed row that did not become a silver row
    description="Every landed row that did not become a silver row, with its reason code "
    "and the record as delivered (JSON). Losing duplicate versions are here too.",
    grain="one row per landed row and target table it did not enter",
    primary_key=("target_table", "source_file", "source_row"),
    columns=(
        c.UTILITY_ID,
        Column("target_table", "string", "Silver table the row was meant for", nullable=False),
        Column("source_table", "string", "Bronze table it came from", nullable=False),
        Column("source_file", "string", "Landed file", nullable=False),
        Column("source_row", "int", "1-based data row in the landed file", nullable=False, ge=1),
        Column("reason_code", "string", "Why (see the reason code table)", nullable=False),
        Column(
            "category",
            "string",
            "Accounting category",
            nullable=False,
            isin=("duplicate_exact", "duplicate_conflicting", "rejected"),
        ),
        Column("column_name", "string", "Offending column, when one is to blame"),
        Column("detail", "string", "What was wrong, in words"),
        Column("record_key", "string", "Business key of the row, when it could be read"),
        Column("raw_record", "string", "The delivered row as JSON", pii=True),
    ),
)

SILVER_REASON_CODES = Table(
    layer="silver",
    name="reason_codes",
    partitioned=False,
    description="The published code table: every reject reason, row flag and VEE rule id "
    "that can appear in silver/rejects.reason_code or in a rule_ids list, with "
    "what it means.",
    grain="one row per code",
    primary_key=("code",),
    columns=(
        Column("code", "string", "Reason code or rule id", nullable=False),
        Column(
            "kind",
            "string",
            "reject (the row went to silver/rejects), flag (the row "
            "was kept and flagged), validation (VEE rule V1-V9) or estimation (E1-E4)",
            nullable=False,
            isin=("reject", "flag", "validation", "estimation"),
        ),
        Column(
            "category",
            "string",
            "Accounting category of a reject (landed = kept + "
            "duplicates + rejected); null for flags and rules",
            isin=("duplicate_exact", "duplicate_conflicting", "rejected"),
        ),
        Column("description", "string", "What the code means", nullable=False),
    ),
)

SILVER = {
    t.name: t
    for t in (
        SILVER_SERVICE_POINTS,
        SILVER_METERS,
        SILVER_INTERVALS,
        SILVER_BILLS,
        SILVER_PAYMENTS,
        SILVER_REJECTS,
        SILVER_REASON_CODES,
    )
}
