"""IESCO (Islamabad Electric Supply Company): consumers and meters, hourly readings, bills
and payments, mapped onto the common silver model.

An IESCO consumer connection is a service point. Its meters file is both the consumer and
the meter master, so ``silver/service_points`` and ``silver/meters`` both account for the
rows of ``bronze/meters``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridflow_assets.landing import SourceFile
from gridflow_assets.silver.common import (
    Rejects,
    add_rule,
    blank,
    key_text,
    matches,
    namespaced,
    parse_date,
    parse_float,
    reject_where,
    resolve_duplicates,
    split_malformed,
)
from gridflow_assets.utilities import code_tables
from gridflow_assets.utilities.base import SilverInput, SilverOutput, Utility

UTILITY_ID = "IESCO"
TIMEZONE = "Asia/Karachi"

METER_COLUMNS = (
    "consumer_id", "meter_number", "reference_no", "name", "father_name", "address",
    "tariff_category", "connection_date", "connected_load_kw", "division", "sub_division",
    "feeder_name", "phase_type", "meter_type", "meter_make", "installation_date",
    "warranty_expiry", "last_maintenance_date", "latitude", "longitude", "status",
    "sanctioned_load_kw", "consumer_type", "district")

SOURCES = {
    "meters": SourceFile("meters.csv", METER_COLUMNS, pii_columns=(
        "reference_no", "name", "father_name", "address", "latitude", "longitude")),
    "readings": SourceFile("readings.csv", (
        "meter_number", "timestamp", "reading_kwh", "consumption_kwh", "voltage_v",
        "current_a", "power_factor", "frequency_hz", "status")),
    "bills": SourceFile("bills.csv", (
        "bill_id", "billing_month", "issue_date", "due_date", "units_consumed",
        "variable_charges", "fixed_charges", "gst", "electricity_duty", "tv_fee",
        "late_payment_surcharge", "total_amount", "amount_within_due_date",
        "amount_after_due_date", "tariff_applied", "reference_no", "meter_number",
        "consumer_id", "consumer_name", "address"),
        pii_columns=("reference_no", "consumer_name", "address")),
    "payments": SourceFile("payments.csv", (
        "payment_id", "bill_id", "meter_number", "bill_amount", "amount_paid",
        "payment_date", "payment_method", "status")),
}

METER_NUMBER = r"^\d{11}$"
NET_METERING = "Net Metering"
BILL_AMOUNTS = ("units_consumed", "variable_charges", "fixed_charges", "gst",
                "electricity_duty", "tv_fee", "late_payment_surcharge", "total_amount",
                "amount_within_due_date", "amount_after_due_date")


def _numbers(df, cols, rejects, kw, *, optional: bool = True) -> pd.DataFrame:
    """Parse number columns into ``_<col>``; unparseable non-empty values are rejected."""
    for col in cols:
        parsed, bad = parse_float(df[col])
        if optional:
            bad = bad & ~blank(df[col])
        df = reject_where(df.assign(**{f"_{col}": parsed}), bad, rejects,
                          reason="INVALID_NUMBER", column=col, detail="expected a number", **kw)
    return df


def _dates(df, cols, rejects, kw, *, optional: bool = True) -> pd.DataFrame:
    for col in cols:
        text, empty = df[col].astype("object").str.strip(), blank(df[col])
        parsed = pd.to_datetime(text.where(~empty, None), errors="coerce", format="ISO8601")
        bad = parsed.isna() & (~empty if optional else True)
        df = reject_where(df.assign(**{f"_{col}": parsed.dt.normalize()}), bad, rejects,
                          reason="INVALID_TIMESTAMP", column=col, detail="expected a date",
                          **kw)
    return df


def _master(df: pd.DataFrame, rejects: Rejects, target: str, key: str):
    """Common validation of the meters file for one target table, then de-duplication."""
    delivered = list(METER_COLUMNS)
    kw = dict(target=target, source="meters", delivered=delivered)
    df = split_malformed(df, rejects, **kw)
    df = reject_where(df, blank(df.consumer_id), rejects, reason="MISSING_REQUIRED",
                      column="consumer_id", detail="consumer id is empty", **kw)
    df = reject_where(df, ~matches(df.meter_number, METER_NUMBER),
                      rejects, reason="INVALID_ID", column="meter_number",
                      detail="expected 11 digits", **kw)
    df = _numbers(df, ["latitude", "longitude", "connected_load_kw", "sanctioned_load_kw"],
                  rejects, kw)
    df = _dates(df, ["connection_date", "installation_date"], rejects, kw)
    dd = resolve_duplicates(df, [key], delivered, ["_source_row"])
    rejects.add(dd.exact, reason="DUP_EXACT", key=dd.exact[key], **kw)
    rejects.add(dd.conflicting, reason="DUP_CONFLICT", key=dd.conflicting[key],
                detail=f"same {key}, other values (delivered last kept)", **kw)
    return dd


def service_points(df: pd.DataFrame, rejects: Rejects, utility: str) -> pd.DataFrame:
    dd = _master(df, rejects, "service_points", "consumer_id")
    k = dd.kept
    none = pd.Series(None, index=k.index, dtype="object")
    return pd.DataFrame({
        "utility_id": utility, "service_point_id": namespaced(utility, k.consumer_id),
        "house_number": none, "street": k.address.replace("", None),
        "house_supplement": none, "city": k.district.str.title(), "zip": none,
        "state": "Punjab / ICT", "district": k.district, "division": k.division,
        "sub_division": k.sub_division, "feeder_name": k.feeder_name,
        "latitude": k._latitude, "longitude": k._longitude,
        "customer_name": k["name"].replace("", None),
        "father_name": k.father_name.replace("", None),
        "reference_no": k.reference_no.replace("", None), "consumer_type": k.consumer_type,
        "tariff_category": k.tariff_category, "status": k.status,
        "sanctioned_load_kw": k._sanctioned_load_kw, "connected_load_kw": k._connected_load_kw,
        "connection_date": k._connection_date,
        "address_versions": dd.versions.astype("Int64"),
        "resolution_rule": np.where(dd.versions > 1, "SP_LATEST_VERSION", None),
        "source_file": k._source_file, "source_row": k._source_row,
    })


def meters(df: pd.DataFrame, rejects: Rejects, utility: str, tz: str) -> pd.DataFrame:
    dd = _master(df, rejects, "meters", "meter_number")
    k = dd.kept
    installed = k._installation_date.dt.tz_localize(tz).dt.tz_convert("UTC")
    rule_ids = add_rule(pd.Series(None, index=k.index, dtype="object"), dd.versions > 1,
                        "V2_CONFLICT_WINNER")
    return pd.DataFrame({
        "utility_id": utility, "meter_id": namespaced(utility, k.meter_number),
        "record_key": "master", "meter_number": k.meter_number,
        "service_point_id": namespaced(utility, k.consumer_id), "meter_type": k.meter_type,
        "meter_status": k.status, "meter_category": None, "meter_make": k.meter_make,
        "phase_type": k.phase_type, "installed_at_utc": installed, "removed_at_utc": pd.NaT,
        "record_ts_utc": pd.NaT, "register_value": np.nan, "register_duration_s": pd.NA,
        "rule_ids": rule_ids, "source_file": k._source_file, "source_row": k._source_row,
    })


def intervals(df: pd.DataFrame, rejects: Rejects, utility: str, tz: str,
              sp: pd.DataFrame, mt: pd.DataFrame) -> pd.DataFrame:
    delivered = list(SOURCES["readings"].columns)
    kw = dict(target="intervals", source="readings", delivered=delivered)
    df = split_malformed(df, rejects, **kw)
    df = reject_where(df, ~matches(df.meter_number, METER_NUMBER),
                      rejects, reason="INVALID_ID", column="meter_number",
                      detail="expected 11 digits", **kw)
    local, bad = parse_date(df.timestamp, "%Y-%m-%d %H:%M:%S")
    df = reject_where(df.assign(_local=local), bad, rejects, reason="INVALID_TIMESTAMP",
                      column="timestamp", detail="expected YYYY-MM-DD HH:MM:SS local", **kw)
    df = _numbers(df, ["consumption_kwh"], rejects, kw, optional=False)
    df = _numbers(df, ["reading_kwh", "voltage_v", "current_a", "power_factor",
                       "frequency_hz"], rejects, kw)
    start = df._local.dt.tz_localize(tz).dt.tz_convert("UTC")
    df = df.assign(_start=start)
    dd = resolve_duplicates(df, ["meter_number", "_start"], delivered, ["_source_row"])
    keycols = ["meter_number", "timestamp"]
    rejects.add(dd.exact, reason="DUP_EXACT", key=key_text(dd.exact, keycols), **kw)
    rejects.add(dd.conflicting, reason="DUP_CONFLICT", key=key_text(dd.conflicting, keycols),
                detail="same meter and hour, other values (delivered last kept)", **kw)
    k = dd.kept
    meter = namespaced(utility, k.meter_number)
    master = mt.set_index("meter_id")
    sp_id = meter.map(master.service_point_id)
    net = meter.map(master.meter_type).fillna("").str.contains(NET_METERING, regex=False)
    status = code_tables.load("iesco_status").set_index("code").common_code
    quality = pd.to_numeric(k.status.str.strip().map(status), errors="coerce")
    rule_ids = add_rule(pd.Series(None, index=k.index, dtype="object"), dd.versions > 1,
                        "V2_CONFLICT_WINNER")
    rule_ids = add_rule(rule_ids, quality.isna(), "QUALITY_UNKNOWN")
    orphan_meter = ~meter.isin(set(mt.meter_id))
    return pd.DataFrame({
        "utility_id": utility, "meter_id": meter, "service_point_id": sp_id,
        "service_point_rule": np.where(orphan_meter, "SP_UNRESOLVED", "DELIVERED"),
        "channel": np.where(net, "consumption_kwh (net metering)", "consumption_kwh"),
        "measurement": "kWh", "direction": np.where(net, "net", "delivered"),
        "reading_kind": "interval", "interval_s": 3600, "unit": "kWh", "start_utc": k._start,
        "end_utc": k._start + pd.Timedelta(hours=1), "local_date": k._local.dt.normalize(),
        "value": k._consumption_kwh, "value_original": k.consumption_kwh,
        "quality_code": quality.fillna(14).astype("Int64"), "quality_code_original": k.status,
        "status": k.status, "register_kwh": k._reading_kwh, "voltage_v": k._voltage_v,
        "current_a": k._current_a, "power_factor": k._power_factor,
        "frequency_hz": k._frequency_hz, "last_update_utc": pd.NaT, "rule_ids": rule_ids,
        "is_orphan_service_point": ~sp_id.isin(set(sp.service_point_id)),
        "is_orphan_meter": orphan_meter,
        "source_file": k._source_file, "source_row": k._source_row,
    })


def bills(df: pd.DataFrame, rejects: Rejects, utility: str) -> pd.DataFrame:
    delivered = list(SOURCES["bills"].columns)
    kw = dict(target="bills", source="bills", delivered=delivered)
    df = split_malformed(df, rejects, **kw)
    df = reject_where(df, blank(df.bill_id), rejects, reason="MISSING_REQUIRED",
                      column="bill_id", detail="bill id is empty", **kw)
    month = pd.to_datetime(df.billing_month.astype("object").str.strip().str.title(),
                           format="%b %y", errors="coerce")
    df = reject_where(df.assign(_month=month), month.isna(), rejects,
                      reason="INVALID_TIMESTAMP", column="billing_month",
                      detail="expected MON YY (e.g. JAN 24)", **kw)
    df = _dates(df, ["issue_date", "due_date"], rejects, kw)
    df = _numbers(df, list(BILL_AMOUNTS), rejects, kw, optional=False)
    dd = resolve_duplicates(df, ["bill_id"], delivered, ["_source_row"])
    rejects.add(dd.exact, reason="DUP_EXACT", key=dd.exact.bill_id, **kw)
    rejects.add(dd.conflicting, reason="DUP_CONFLICT", key=dd.conflicting.bill_id,
                detail="same bill id, other values (delivered last kept)", **kw)
    k = dd.kept
    out = pd.DataFrame({
        "utility_id": utility, "bill_id": k.bill_id, "billing_month": k._month,
        "billing_month_original": k.billing_month, "issue_date": k._issue_date,
        "due_date": k._due_date,
        **{col: k[f"_{col}"] for col in BILL_AMOUNTS},
        "tariff_applied": k.tariff_applied, "reference_no": k.reference_no.replace("", None),
        "meter_id": namespaced(utility, k.meter_number),
        "service_point_id": namespaced(utility, k.consumer_id),
        "consumer_name": k.consumer_name.replace("", None),
        "address": k.address.replace("", None),
        "source_file": k._source_file, "source_row": k._source_row,
    })
    return out


def payments(df: pd.DataFrame, rejects: Rejects, utility: str) -> pd.DataFrame:
    delivered = list(SOURCES["payments"].columns)
    kw = dict(target="payments", source="payments", delivered=delivered)
    df = split_malformed(df, rejects, **kw)
    for col in ("payment_id", "bill_id"):
        df = reject_where(df, blank(df[col]), rejects, reason="MISSING_REQUIRED", column=col,
                          detail=f"{col} is empty", **kw)
    df = _numbers(df, ["bill_amount", "amount_paid"], rejects, kw, optional=False)
    df = _dates(df, ["payment_date"], rejects, kw)
    dd = resolve_duplicates(df, ["payment_id"], delivered, ["_source_row"])
    rejects.add(dd.exact, reason="DUP_EXACT", key=dd.exact.payment_id, **kw)
    rejects.add(dd.conflicting, reason="DUP_CONFLICT", key=dd.conflicting.payment_id,
                detail="same payment id, other values (delivered last kept)", **kw)
    k = dd.kept
    return pd.DataFrame({
        "utility_id": utility, "payment_id": k.payment_id, "bill_id": k.bill_id,
        "meter_id": namespaced(utility, k.meter_number), "bill_amount": k._bill_amount,
        "amount_paid": k._amount_paid, "payment_date": k._payment_date,
        "payment_method": k.payment_method.replace("", None), "status": k.status,
        "source_file": k._source_file, "source_row": k._source_row,
    })


def to_silver(inp: SilverInput) -> SilverOutput:
    rejects = Rejects(inp.utility)
    b = inp.bronze
    sp = service_points(b["meters"], rejects, inp.utility)
    mt = meters(b["meters"], rejects, inp.utility, inp.timezone)
    tables = {"service_points": sp, "meters": mt,
              "intervals": intervals(b["readings"], rejects, inp.utility, inp.timezone, sp, mt)}
    if "bills" in b:
        tables["bills"] = bills(b["bills"], rejects, inp.utility)
    if "payments" in b:
        tables["payments"] = payments(b["payments"], rejects, inp.utility)
    return SilverOutput(tables=tables, rejects=rejects.frame())


UTILITY = Utility(
    utility_id=UTILITY_ID, name="Islamabad Electric Supply Company", country="PK",
    timezone=TIMEZONE, currency="PKR", vocabulary="consumer", sources=SOURCES,
    to_silver=to_silver, expected_delivery_day=7,
    silver_sources={"service_points": "meters"},
)
