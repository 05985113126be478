"""IESCO (Islamabad Electric Supply Company): consumers and meters, hourly readings, bills
and payments, mapped onto the common silver model.

An IESCO consumer connection is a service point. Its meters file is both the consumer and
the meter master, so ``silver/service_points`` and ``silver/meters`` both account for the
rows of ``bronze/meters``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from gridflow_assets.domain import iesco_derive
from gridflow_assets.domain.billing import BILL_AMOUNTS
from gridflow_assets.domain.localday import local_to_utc
from gridflow_assets.registry.formats import STANDARD, Derivation, FormatVariant
from gridflow_assets.silver.adapters.skeleton import (
    Adapter,
    conflict_winner,
    orphan,
    parsed,
    reading_quality,
    same,
    service_point,
    texts,
)
from gridflow_assets.silver.adapters.spec import (
    Check,
    Compute,
    Context,
    Derive,
    QualityCodes,
    Table,
    dates,
    ids,
    numbers,
    required,
    timestamp,
)
from gridflow_assets.silver.common import namespaced
from gridflow_assets.silver.derived import RULES, original
from gridflow_assets.silver.parsing import on_distinct_pl, parse_date
from gridflow_assets.store.landing import SourceFile

UTILITY_ID = "IESCO"
TIMEZONE = "Asia/Karachi"

METER_COLUMNS = (
    "consumer_id",
    "meter_number",
    "reference_no",
    "name",
    "father_name",
    "address",
    "tariff_category",
    "connection_date",
    "connected_load_kw",
    "division",
    "sub_division",
    "feeder_name",
    "phase_type",
    "meter_type",
    "meter_make",
    "installation_date",
    "warranty_expiry",
    "last_maintenance_date",
    "latitude",
    "longitude",
    "status",
    "sanctioned_load_kw",
    "consumer_type",
    "district",
)
# The numbers a bill carries: billed units and every money column (domain.billing).
BILL_NUMBERS = ("units_consumed", *BILL_AMOUNTS)
BILL_COLUMNS = (
    "bill_id",
    "billing_month",
    "issue_date",
    "due_date",
    *BILL_NUMBERS,
    "tariff_applied",
    "reference_no",
    "meter_number",
    "consumer_id",
    "consumer_name",
    "address",
)

# IESCO's legacy billing export: the same files without the columns its variant derives
# (docs/formats/iesco.md); its tariff codes are NEPRA sub-categories (A-1a, ...).
LEGACY = "legacy"


def _variants(columns: tuple[str, ...], *derived: Derivation) -> tuple[FormatVariant, ...]:
    """The standard format (every column), then the legacy export, which may lack the
    ``derived`` columns (they are derived when it does)."""
    lacks = tuple(d.column for d in derived)
    legacy = FormatVariant(
        LEGACY,
        required=tuple(c for c in columns if c not in lacks),
        optional=lacks,
        derived=derived,
        description="the export of IESCO's smart-billing scripts",
    )
    return (FormatVariant(STANDARD, columns), legacy)


SOURCES = {
    "meters": SourceFile(
        "meters.csv",
        METER_COLUMNS,
        pii_columns=("reference_no", "name", "father_name", "address", "latitude", "longitude"),
        variants=_variants(
            METER_COLUMNS,
            Derivation("district", tuple(iesco_derive.DISTRICT_RULES.items())),
            Derivation("consumer_type", tuple(iesco_derive.CONSUMER_TYPE_RULES.items())),
        ),
    ),
    "readings": SourceFile(
        "readings.csv",
        (
            "meter_number",
            "timestamp",
            "reading_kwh",
            "consumption_kwh",
            "voltage_v",
            "current_a",
            "power_factor",
            "frequency_hz",
            "status",
        ),
    ),
    "bills": SourceFile(
        "bills.csv",
        BILL_COLUMNS,
        pii_columns=("reference_no", "consumer_name", "address"),
        variants=_variants(
            BILL_COLUMNS,
            Derivation("bill_id", tuple(iesco_derive.BILL_ID_RULES.items())),
        ),
    ),
    "payments": SourceFile(
        "payments.csv",
        (
            "payment_id",
            "bill_id",
            "meter_number",
            "bill_amount",
            "amount_paid",
            "payment_date",
            "payment_method",
            "status",
        ),
    ),
}
# How each derived column is computed (the rules are declared above, with the variant).
DERIVE = {
    "district": lambda: iesco_derive.district(
        pl.col("division"), pl.col("sub_division"), pl.col("address")
    ),
    "consumer_type": lambda: iesco_derive.consumer_type(
        pl.col("tariff_category"), pl.col("_sanctioned_load_kw")
    ),
    "bill_id": lambda: iesco_derive.bill_id(pl.col("meter_number"), pl.col("_month")),
}

METER_NUMBER = r"^\d{11}$"
NET_METERING = "Net Metering"
QUALITY = QualityCodes("status", "iesco_status")
METER = ids("meter_number", METER_NUMBER, "expected 11 digits")
# The meters file, checked the same way for both tables made of it.
MASTER_STEPS = (
    required("consumer_id", "consumer id is empty"),
    METER,
    *numbers(
        ("latitude", "longitude", "connected_load_kw", "sanctioned_load_kw"),
        "expected a number",
        required=False,
    ),
    *dates(("connection_date", "installation_date")),
    Derive(DERIVE),
)


def _master(target: str, key: str, columns) -> Table:
    """A table made of the meters file, one row per ``key``."""
    return Table(
        target,
        MASTER_STEPS,
        key=(key,),
        record_key=(key,),
        conflict=f"same {key}, other values (delivered last kept)",
        columns=columns,
        from_source="meters",
    )


def _service_points(ctx: Context) -> dict[str, pl.Expr]:
    return {
        **service_point(ctx.utility, "consumer_id"),
        **texts(
            street="address",
            customer_name="name",
            father_name="father_name",
            reference_no="reference_no",
        ),
        "city": pl.when(
            ~iesco_derive.not_derivable(pl.col("district"), pl.col(original("district")))
        ).then(pl.col("district").str.to_titlecase()),
        "state": pl.lit("Punjab / ICT"),
        **same(
            "district",
            "division",
            "sub_division",
            "feeder_name",
            "consumer_type",
            "tariff_category",
            "status",
        ),
        **parsed(
            "latitude", "longitude", "sanctioned_load_kw", "connected_load_kw", "connection_date"
        ),
        "consumer_type_original": pl.col(original("consumer_type")),
        "district_original": pl.col(original("district")),
        "derived_rules": pl.col(RULES),
    }


def _meters(ctx: Context) -> dict[str, pl.Expr]:
    installed = pl.col("_installation_date").cast(pl.Datetime("us"))
    return {
        "meter_id": namespaced(ctx.utility, "meter_number"),
        "record_key": pl.lit("master"),
        "service_point_id": namespaced(ctx.utility, "consumer_id"),
        **same("meter_number", "meter_type", "meter_make", "phase_type"),
        "meter_status": pl.col("status"),
        "installed_at_utc": local_to_utc(installed, ctx.tz),
        "rule_ids": conflict_winner(),
    }


def _utc_start(df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    return df.with_columns(_start=local_to_utc(pl.col("_local"), ctx.tz))


def _master_values(kept: pl.LazyFrame, ctx: Context) -> pl.LazyFrame:
    """Each read's service point and net metering, looked up in the meters by meter (no
    join, no copy)."""
    mt = ctx.meters
    ids = mt.get_column("meter_id")
    is_net = mt.get_column("meter_type").fill_null("").str.contains(NET_METERING, literal=True)
    kept = kept.with_columns(namespaced(ctx.utility, "meter_number").alias("_meter"))
    return kept.with_columns(
        _sp=pl.col("_meter").replace_strict(
            ids, mt.get_column("service_point_id"), default=None, return_dtype=pl.String
        ),
        _net=pl.col("_meter").replace_strict(ids, is_net, default=False, return_dtype=pl.Boolean),
    )


def _intervals(ctx: Context) -> dict[str, pl.Expr]:
    net = pl.col("_net")
    orphan_meter = orphan(pl.col("_meter"), ctx.meters, "meter_id")
    return {
        "meter_id": pl.col("_meter"),
        "service_point_id": pl.col("_sp"),
        "service_point_rule": pl.when(orphan_meter)
        .then(pl.lit("SP_UNRESOLVED"))
        .otherwise(pl.lit("DELIVERED")),
        "channel": pl.when(net)
        .then(pl.lit("consumption_kwh (net metering)"))
        .otherwise(pl.lit("consumption_kwh")),
        "measurement": pl.lit("kWh"),
        "direction": pl.when(net).then(pl.lit("net")).otherwise(pl.lit("delivered")),
        "reading_kind": pl.lit("interval"),
        "interval_s": pl.lit(3600),
        "unit": pl.lit("kWh"),
        "start_utc": pl.col("_start"),
        "end_utc": pl.col("_start") + timedelta(hours=1),
        "local_date": pl.col("_local").dt.date(),
        "value": pl.col("_consumption_kwh"),
        "value_original": pl.col("consumption_kwh"),
        **reading_quality(QUALITY),
        "status": pl.col("status"),
        "register_kwh": pl.col("_reading_kwh"),
        **parsed("voltage_v", "current_a", "power_factor", "frequency_hz"),
        "is_orphan_service_point": orphan(pl.col("_sp"), ctx.service_points, "service_point_id"),
        "is_orphan_meter": orphan_meter,
    }


def _billing_month(texts: pl.Series) -> pl.Series:
    """'JUN 24' → 2024-06-01 (strptime's %b %y), once per distinct text."""

    def parse(text: str | None) -> datetime | None:
        try:
            return datetime.strptime(text.strip().title(), "%b %y")
        except (AttributeError, ValueError):
            return None

    return pl.Series([parse(t) for t in texts.to_list()], dtype=pl.Datetime("us"))


def _month(df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    month = on_distinct_pl("billing_month", _billing_month, pl.Datetime("us"))
    return df.with_columns(_month=month.dt.date())


def _bills(ctx: Context) -> dict[str, pl.Expr]:
    return {
        **same("bill_id", "tariff_applied"),
        "bill_id_original": pl.col(original("bill_id")),
        "derived_rules": pl.col(RULES),
        "billing_month": pl.col("_month"),
        "billing_month_original": pl.col("billing_month"),
        **parsed("issue_date", "due_date", *BILL_NUMBERS),
        **texts(reference_no="reference_no", consumer_name="consumer_name", address="address"),
        "meter_id": namespaced(ctx.utility, "meter_number"),
        "service_point_id": namespaced(ctx.utility, "consumer_id"),
    }


def _payments(ctx: Context) -> dict[str, pl.Expr]:
    return {
        **same("payment_id", "bill_id", "status"),
        "meter_id": namespaced(ctx.utility, "meter_number"),
        **parsed("bill_amount", "amount_paid", "payment_date"),
        **texts(payment_method="payment_method"),
    }


ADAPTER = Adapter(
    SOURCES,
    (
        _master("service_points", "consumer_id", _service_points),
        _master("meters", "meter_number", _meters),
        Table(
            "intervals",
            steps=(
                METER,
                timestamp(
                    "timestamp",
                    parse_date("timestamp", "%Y-%m-%d %H:%M:%S"),
                    "expected YYYY-MM-DD HH:MM:SS local",
                    "_local",
                ),
                *numbers(("consumption_kwh",), "expected a number"),
                *numbers(
                    ("reading_kwh", "voltage_v", "current_a", "power_factor", "frequency_hz"),
                    "expected a number",
                    required=False,
                ),
                Compute(_utc_start),
            ),
            key=("meter_number", "_start"),
            record_key=("meter_number", "timestamp"),
            conflict="same meter and hour, other values (delivered last kept)",
            columns=_intervals,
            prepare=_master_values,
        ),
        Table(
            "bills",
            steps=(
                Compute(_month),
                Derive(DERIVE),
                Check(
                    pl.col(original("bill_id")).is_null() & pl.col("bill_id").is_null(),
                    "MISSING_REQUIRED",
                    "bill_id",
                    "bill id not delivered and not derivable (needs meter number and billing "
                    "month)",
                ),
                required("bill_id", "bill id is empty"),
                Check(
                    pl.col("_month").is_null(),
                    "INVALID_TIMESTAMP",
                    "billing_month",
                    "expected MON YY (e.g. JAN 24)",
                ),
                *dates(("issue_date", "due_date")),
                *numbers(BILL_NUMBERS, "expected a number"),
            ),
            key=("bill_id",),
            record_key=("bill_id",),
            conflict="same bill id, other values (delivered last kept)",
            columns=_bills,
            optional=True,
        ),
        Table(
            "payments",
            steps=(
                required("payment_id", "payment_id is empty"),
                required("bill_id", "bill_id is empty"),
                *numbers(("bill_amount", "amount_paid"), "expected a number"),
                *dates(("payment_date",)),
            ),
            key=("payment_id",),
            record_key=("payment_id",),
            conflict="same payment id, other values (delivered last kept)",
            columns=_payments,
            optional=True,
        ),
    ),
)


UTILITY = ADAPTER.utility(
    utility_id=UTILITY_ID,
    name="Islamabad Electric Supply Company",
    country="PK",
    timezone=TIMEZONE,
    currency="PKR",
    vocabulary="consumer",
    expected_delivery_day=7,
    meter_column="meter_number",
)
