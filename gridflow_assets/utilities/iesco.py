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
from gridflow_assets.landing import SourceFile
from gridflow_assets.registry.formats import STANDARD, Derivation, FormatVariant, derivations
from gridflow_assets.silver.common import (
    Rejects,
    add_rule,
    key_text,
    namespaced,
    no_rules,
    parse_or_reject,
    reject_invalid_id,
    reject_where,
    resolve_duplicates,
    silver_frame,
    split_malformed,
    text_or_null,
)
from gridflow_assets.silver.derived import RULES, delivered_columns, derive_missing, original
from gridflow_assets.silver.parsing import (
    blank,
    on_distinct_pl,
    parse_date,
    parse_float,
    parse_iso_date,
)
from gridflow_assets.utilities import code_tables
from gridflow_assets.utilities.base import SilverInput, SilverOutput, Utility

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


def _numbers(
    df: pl.DataFrame, cols, rejects: Rejects, kw: dict, *, optional: bool = True
) -> pl.DataFrame:
    """Parse number columns into ``_<col>``; unparseable non-empty values are rejected."""
    for col in cols:
        df = parse_or_reject(
            df,
            parse_float(col, required=not optional),
            rejects,
            out=f"_{col}",
            reason="INVALID_NUMBER",
            column=col,
            detail="expected a number",
            **kw,
        )
    return df


def _dates(df: pl.DataFrame, cols, rejects: Rejects, kw: dict) -> pl.DataFrame:
    """Parse ISO dates into ``_<col>`` (a date); an empty value is allowed."""
    for col in cols:
        df = parse_or_reject(
            df,
            parse_iso_date(col),
            rejects,
            out=f"_{col}",
            reason="INVALID_TIMESTAMP",
            column=col,
            detail="expected a date",
            **kw,
        )
    return df


def _master(df: pl.DataFrame, rejects: Rejects, target: str, key: str):
    """Common validation of the meters file for one target table, derivation of what its
    variant lacks (district, consumer type), then de-duplication."""
    declared = derivations(SOURCES["meters"].formats)
    df = split_malformed(df, rejects, target=target, source="meters", delivered=list(METER_COLUMNS))
    delivered = delivered_columns(df, METER_COLUMNS, declared)
    kw = {"target": target, "source": "meters", "delivered": delivered}
    df = reject_where(
        df,
        blank("consumer_id"),
        rejects,
        reason="MISSING_REQUIRED",
        column="consumer_id",
        detail="consumer id is empty",
        **kw,
    )
    df = reject_invalid_id(df, rejects, "meter_number", METER_NUMBER, "expected 11 digits", **kw)
    df = _numbers(
        df, ["latitude", "longitude", "connected_load_kw", "sanctioned_load_kw"], rejects, kw
    )
    df = _dates(df, ["connection_date", "installation_date"], rejects, kw)
    df = derive_missing(df, declared, DERIVE)
    dd = resolve_duplicates(df, [key], delivered, ["_source_row"])
    rejects.add(dd.exact, reason="DUP_EXACT", key=pl.col(key), **kw)
    rejects.add(
        dd.conflicting,
        reason="DUP_CONFLICT",
        key=pl.col(key),
        detail=f"same {key}, other values (delivered last kept)",
        **kw,
    )
    return dd


def service_points(df: pl.DataFrame, rejects: Rejects, utility: str) -> pl.DataFrame:
    dd = _master(df, rejects, "service_points", "consumer_id")
    return silver_frame(
        dd.kept,
        "service_points",
        utility,
        {
            "service_point_id": namespaced(utility, "consumer_id"),
            "street": text_or_null("address"),
            "city": pl.when(
                ~iesco_derive.not_derivable(pl.col("district"), pl.col(original("district")))
            ).then(pl.col("district").str.to_titlecase()),
            "state": pl.lit("Punjab / ICT"),
            "district": pl.col("district"),
            "division": pl.col("division"),
            "sub_division": pl.col("sub_division"),
            "feeder_name": pl.col("feeder_name"),
            "latitude": pl.col("_latitude"),
            "longitude": pl.col("_longitude"),
            "customer_name": text_or_null("name"),
            "father_name": text_or_null("father_name"),
            "reference_no": text_or_null("reference_no"),
            "consumer_type": pl.col("consumer_type"),
            "consumer_type_original": pl.col(original("consumer_type")),
            "district_original": pl.col(original("district")),
            "derived_rules": pl.col(RULES),
            "tariff_category": pl.col("tariff_category"),
            "status": pl.col("status"),
            "sanctioned_load_kw": pl.col("_sanctioned_load_kw"),
            "connected_load_kw": pl.col("_connected_load_kw"),
            "connection_date": pl.col("_connection_date"),
            "address_versions": pl.col("_versions"),
            "resolution_rule": pl.when(pl.col("_versions") > 1).then(pl.lit("SP_LATEST_VERSION")),
        },
    )


def _local_to_utc(local: pl.Expr, tz: str) -> pl.Expr:
    return local.dt.replace_time_zone(tz).dt.convert_time_zone("UTC")


def meters(df: pl.DataFrame, rejects: Rejects, utility: str, tz: str) -> pl.DataFrame:
    dd = _master(df, rejects, "meters", "meter_number")
    return silver_frame(
        dd.kept,
        "meters",
        utility,
        {
            "meter_id": namespaced(utility, "meter_number"),
            "record_key": pl.lit("master"),
            "meter_number": pl.col("meter_number"),
            "service_point_id": namespaced(utility, "consumer_id"),
            "meter_type": pl.col("meter_type"),
            "meter_status": pl.col("status"),
            "meter_make": pl.col("meter_make"),
            "phase_type": pl.col("phase_type"),
            "installed_at_utc": _local_to_utc(
                pl.col("_installation_date").cast(pl.Datetime("us")), tz
            ),
            "rule_ids": add_rule(no_rules(), pl.col("_versions") > 1, "V2_CONFLICT_WINNER"),
        },
    )


def intervals(
    df: pl.DataFrame, rejects: Rejects, utility: str, tz: str, sp: pl.DataFrame, mt: pl.DataFrame
) -> pl.DataFrame:
    delivered = list(SOURCES["readings"].columns)
    kw = {"target": "intervals", "source": "readings", "delivered": delivered}
    df = split_malformed(df, rejects, **kw)
    df = reject_invalid_id(df, rejects, "meter_number", METER_NUMBER, "expected 11 digits", **kw)
    df = parse_or_reject(
        df,
        parse_date("timestamp", "%Y-%m-%d %H:%M:%S"),
        rejects,
        out="_local",
        reason="INVALID_TIMESTAMP",
        column="timestamp",
        detail="expected YYYY-MM-DD HH:MM:SS local",
        **kw,
    )
    df = _numbers(df, ["consumption_kwh"], rejects, kw, optional=False)
    df = _numbers(
        df, ["reading_kwh", "voltage_v", "current_a", "power_factor", "frequency_hz"], rejects, kw
    )
    df = df.with_columns(_start=_local_to_utc(pl.col("_local"), tz))
    dd = resolve_duplicates(df, ["meter_number", "_start"], delivered, ["_source_row"])
    key = key_text(["meter_number", "timestamp"])
    rejects.add(dd.exact, reason="DUP_EXACT", key=key, **kw)
    rejects.add(
        dd.conflicting,
        reason="DUP_CONFLICT",
        key=key,
        detail="same meter and hour, other values (delivered last kept)",
        **kw,
    )
    ids = mt.get_column("meter_id")
    is_net = mt.get_column("meter_type").fill_null("").str.contains(NET_METERING, literal=True)
    kept = dd.kept.with_columns(namespaced(utility, "meter_number").alias("_meter"))
    kept = kept.with_columns(  # the master's values looked up by meter (no join, no copy)
        _sp=pl.col("_meter").replace_strict(
            ids, mt.get_column("service_point_id"), default=None, return_dtype=pl.String
        ),
        _net=pl.col("_meter").replace_strict(ids, is_net, default=False, return_dtype=pl.Boolean),
    )
    net = pl.col("_net")
    status = code_tables.load_pl("iesco_status")
    quality = (
        pl.col("status")
        .str.strip_chars()
        .replace_strict(status["code"], status["common_code"], default=None, return_dtype=pl.String)
        .cast(pl.Float64, strict=False)
    )
    rule_ids = add_rule(no_rules(), pl.col("_versions") > 1, "V2_CONFLICT_WINNER")
    rule_ids = add_rule(rule_ids, quality.is_null(), "QUALITY_UNKNOWN")
    orphan_meter = ~pl.col("_meter").is_in(mt["meter_id"].implode()).fill_null(False)
    return silver_frame(
        kept,
        "intervals",
        utility,
        {
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
            "quality_code": quality.fill_null(14),
            "quality_code_original": pl.col("status"),
            "status": pl.col("status"),
            "register_kwh": pl.col("_reading_kwh"),
            "voltage_v": pl.col("_voltage_v"),
            "current_a": pl.col("_current_a"),
            "power_factor": pl.col("_power_factor"),
            "frequency_hz": pl.col("_frequency_hz"),
            "rule_ids": rule_ids,
            "is_orphan_service_point": ~pl.col("_sp")
            .is_in(sp["service_point_id"].implode())
            .fill_null(False),
            "is_orphan_meter": orphan_meter,
        },
    )


def _billing_month(texts: pl.Series) -> pl.Series:
    """'JUN 24' → 2024-06-01 (strptime's %b %y), once per distinct text."""

    def parse(text: str | None) -> datetime | None:
        try:
            return datetime.strptime(text.strip().title(), "%b %y")
        except (AttributeError, ValueError):
            return None

    return pl.Series([parse(t) for t in texts.to_list()], dtype=pl.Datetime("us"))


def bills(df: pl.DataFrame, rejects: Rejects, utility: str) -> pl.DataFrame:
    declared = derivations(SOURCES["bills"].formats)
    df = split_malformed(df, rejects, target="bills", source="bills", delivered=list(BILL_COLUMNS))
    delivered = delivered_columns(df, BILL_COLUMNS, declared)
    kw = {"target": "bills", "source": "bills", "delivered": delivered}
    month = on_distinct_pl("billing_month", _billing_month, pl.Datetime("us"))
    df = derive_missing(df.with_columns(_month=month.dt.date()), declared, DERIVE)
    df = reject_where(
        df,
        pl.col(original("bill_id")).is_null() & pl.col("bill_id").is_null(),
        rejects,
        reason="MISSING_REQUIRED",
        column="bill_id",
        detail="bill id not delivered and not derivable (needs meter number and billing month)",
        **kw,
    )
    df = reject_where(
        df,
        blank("bill_id"),
        rejects,
        reason="MISSING_REQUIRED",
        column="bill_id",
        detail="bill id is empty",
        **kw,
    )
    df = reject_where(
        df,
        pl.col("_month").is_null(),
        rejects,
        reason="INVALID_TIMESTAMP",
        column="billing_month",
        detail="expected MON YY (e.g. JAN 24)",
        **kw,
    )
    df = _dates(df, ["issue_date", "due_date"], rejects, kw)
    df = _numbers(df, list(BILL_NUMBERS), rejects, kw, optional=False)
    dd = resolve_duplicates(df, ["bill_id"], delivered, ["_source_row"])
    rejects.add(dd.exact, reason="DUP_EXACT", key=pl.col("bill_id"), **kw)
    rejects.add(
        dd.conflicting,
        reason="DUP_CONFLICT",
        key=pl.col("bill_id"),
        detail="same bill id, other values (delivered last kept)",
        **kw,
    )
    return silver_frame(
        dd.kept,
        "bills",
        utility,
        {
            "bill_id": pl.col("bill_id"),
            "bill_id_original": pl.col(original("bill_id")),
            "derived_rules": pl.col(RULES),
            "billing_month": pl.col("_month"),
            "billing_month_original": pl.col("billing_month"),
            "issue_date": pl.col("_issue_date"),
            "due_date": pl.col("_due_date"),
            **{col: pl.col(f"_{col}") for col in BILL_NUMBERS},
            "tariff_applied": pl.col("tariff_applied"),
            "reference_no": text_or_null("reference_no"),
            "meter_id": namespaced(utility, "meter_number"),
            "service_point_id": namespaced(utility, "consumer_id"),
            "consumer_name": text_or_null("consumer_name"),
            "address": text_or_null("address"),
        },
    )


def payments(df: pl.DataFrame, rejects: Rejects, utility: str) -> pl.DataFrame:
    delivered = list(SOURCES["payments"].columns)
    kw = {"target": "payments", "source": "payments", "delivered": delivered}
    df = split_malformed(df, rejects, **kw)
    for col in ("payment_id", "bill_id"):
        df = reject_where(
            df,
            blank(col),
            rejects,
            reason="MISSING_REQUIRED",
            column=col,
            detail=f"{col} is empty",
            **kw,
        )
    df = _numbers(df, ["bill_amount", "amount_paid"], rejects, kw, optional=False)
    df = _dates(df, ["payment_date"], rejects, kw)
    dd = resolve_duplicates(df, ["payment_id"], delivered, ["_source_row"])
    rejects.add(dd.exact, reason="DUP_EXACT", key=pl.col("payment_id"), **kw)
    rejects.add(
        dd.conflicting,
        reason="DUP_CONFLICT",
        key=pl.col("payment_id"),
        detail="same payment id, other values (delivered last kept)",
        **kw,
    )
    return silver_frame(
        dd.kept,
        "payments",
        utility,
        {
            "payment_id": pl.col("payment_id"),
            "bill_id": pl.col("bill_id"),
            "meter_id": namespaced(utility, "meter_number"),
            "bill_amount": pl.col("_bill_amount"),
            "amount_paid": pl.col("_amount_paid"),
            "payment_date": pl.col("_payment_date"),
            "payment_method": text_or_null("payment_method"),
            "status": pl.col("status"),
        },
    )


def to_silver(inp: SilverInput) -> SilverOutput:
    rejects = Rejects(inp.utility)
    b = inp.bronze
    sp = inp.table("service_points", lambda: service_points(b["meters"], rejects, inp.utility))
    mt = inp.table("meters", lambda: meters(b["meters"], rejects, inp.utility, inp.timezone))
    tables = {
        "service_points": sp,
        "meters": mt,
        "intervals": intervals(b["readings"], rejects, inp.utility, inp.timezone, sp, mt),
    }
    if "bills" in b:
        tables["bills"] = bills(b["bills"], rejects, inp.utility)
    if "payments" in b:
        tables["payments"] = payments(b["payments"], rejects, inp.utility)
    return SilverOutput(tables=tables, rejects=rejects.frame())


UTILITY = Utility(
    utility_id=UTILITY_ID,
    name="Islamabad Electric Supply Company",
    country="PK",
    timezone=TIMEZONE,
    currency="PKR",
    vocabulary="consumer",
    sources=SOURCES,
    to_silver=to_silver,
    expected_delivery_day=7,
    silver_sources={"service_points": "meters"},
    meter_column="meter_number",
)
