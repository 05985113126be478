"""UTILITY1 (New York, "service point" vocabulary): files, ids and the silver transform."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridflow_assets.landing import SourceFile
from gridflow_assets.silver.common import (
    Rejects,
    add_rule,
    key_text,
    matches,
    namespaced,
    on_distinct,
    parse_date,
    parse_float,
    parse_utc,
    reject_where,
    resolve_duplicates,
    split_malformed,
)
from gridflow_assets.utilities.base import SilverInput, SilverOutput, Utility

UTILITY_ID = "UTILITY1"
TIMEZONE = "America/New_York"

SOURCES = {
    "service_points": SourceFile(
        "utility1_service_points.csv",
        ("SERVICE_POINT_ID", "SERVICE_POINT_NUMBER", "SERVICE_POINT_STREET",
         "SERVICE_POINT_CITY", "SERVICE_POINT_ZIP", "SERVICE_POINT_STATE", "INSTALLED_AT",
         "REMOVED_AT", "CREATED", "UPDATED"),
        pii_columns=("SERVICE_POINT_ID", "SERVICE_POINT_NUMBER", "SERVICE_POINT_STREET"),
        bom=True),
    "meters": SourceFile(
        "utility1_meters.csv",
        ("meter_id", "meter_timestamp", "meter_duration", "meter_value", "meter_type",
         "meter_category"),
        bom=True),
    "readings": SourceFile(
        "utility1_intervals.csv",
        ("service_delivery_point_id", "meter_id", "channel", "duration", "value", "quality",
         "timestamp", "last_update_time", "exported_at"),
        pii_columns=("service_delivery_point_id",),
        bom=True),
}

SP_ID = r"^SP-\d{8}$"
METER_ID = r"^MTR-\d{8}$"
CHANNEL_RE = (r"^(?P<quantity>KWH|KVARH)(?: (?P<flow>Net|Received))? (?P<minutes>\d+) Minute "
              r"Interval Read Interval$")
QUALITY = {"VAL": 0, "NV": 14}  # domain.md: VAL validated → 0, NV not validated → 14


def _bad_id(values: pd.Series, pattern: str) -> pd.Series:
    return ~matches(values, pattern)


def service_points(df: pd.DataFrame, rejects: Rejects, utility: str) -> pd.DataFrame:
    delivered = list(SOURCES["service_points"].columns)
    kw = dict(target="service_points", source="service_points", delivered=delivered)
    df = split_malformed(df, rejects, **kw)
    df = reject_where(df, _bad_id(df.SERVICE_POINT_ID, SP_ID), rejects, reason="INVALID_ID",
                      column="SERVICE_POINT_ID", detail="expected SP- + 8 digits", **kw)
    created, bad = parse_date(df.CREATED, "%Y-%m-%d")
    df = reject_where(df.assign(_created=created), bad, rejects, reason="INVALID_TIMESTAMP",
                      column="CREATED", detail="expected YYYY-MM-DD", **kw)
    updated, _ = parse_date(df.UPDATED, "%Y-%m-%d")
    df = df.assign(_updated=updated.fillna(df._created))
    dd = resolve_duplicates(df, ["SERVICE_POINT_ID"], delivered, ["_updated", "_source_row"])
    key = ["SERVICE_POINT_ID"]
    rejects.add(dd.exact, reason="DUP_EXACT", key=key_text(dd.exact, key), **kw)
    rejects.add(dd.conflicting, reason="DUP_CONFLICT", key=key_text(dd.conflicting, key),
                detail="older version of the service point (latest UPDATED kept)", **kw)
    k = dd.kept
    return pd.DataFrame({
        "utility_id": utility,
        "service_point_id": namespaced(utility, k.SERVICE_POINT_ID),
        "house_number": None, "street": k.SERVICE_POINT_STREET.replace("", None),
        "house_supplement": None, "city": k.SERVICE_POINT_CITY.replace("", None),
        "zip": k.SERVICE_POINT_ZIP.replace("", None),
        "state": k.SERVICE_POINT_STATE.replace("", None),
        "district": None, "division": None, "sub_division": None, "feeder_name": None,
        "latitude": np.nan, "longitude": np.nan, "customer_name": None, "father_name": None,
        "reference_no": None, "consumer_type": None, "tariff_category": None, "status": None,
        "sanctioned_load_kw": np.nan, "connected_load_kw": np.nan,
        "connection_date": k._created,
        "address_versions": dd.versions.astype("Int64"),
        "resolution_rule": np.where(dd.versions > 1, "SP_LATEST_VERSION", None),
        "source_file": k._source_file, "source_row": k._source_row,
    })


def meters(df: pd.DataFrame, rejects: Rejects, utility: str) -> pd.DataFrame:
    delivered = list(SOURCES["meters"].columns)
    kw = dict(target="meters", source="meters", delivered=delivered)
    df = split_malformed(df, rejects, **kw)
    df = reject_where(df, _bad_id(df.meter_id, METER_ID), rejects, reason="INVALID_ID",
                      column="meter_id", detail="expected MTR- + 8 digits", **kw)
    ts, bad = parse_utc(df.meter_timestamp)
    df = reject_where(df.assign(_ts=ts), bad, rejects, reason="INVALID_TIMESTAMP",
                      column="meter_timestamp", detail="expected ISO 8601", **kw)
    for col in ("meter_duration", "meter_value"):
        parsed, bad = parse_float(df[col])
        df = reject_where(df.assign(**{f"_{col}": parsed}), bad, rejects,
                          reason="INVALID_NUMBER", column=col, detail="expected an integer",
                          **kw)
    key = ["meter_id", "_ts"]
    dd = resolve_duplicates(df, key, delivered, ["_source_row"])
    rejects.add(dd.exact, reason="DUP_EXACT", key=key_text(dd.exact, ["meter_id",
                "meter_timestamp"]), **kw)
    rejects.add(dd.conflicting, reason="DUP_CONFLICT",
                key=key_text(dd.conflicting, ["meter_id", "meter_timestamp"]),
                detail="same meter and read time, other values (delivered last kept)", **kw)
    k = dd.kept
    flips = k.groupby("meter_id").meter_type.transform("nunique") > 1
    rule_ids = add_rule(pd.Series(None, index=k.index, dtype="object"), flips,
                        "METER_TYPE_FLIP")
    rule_ids = add_rule(rule_ids, dd.versions > 1, "V2_CONFLICT_WINNER")
    return pd.DataFrame({
        "utility_id": utility, "meter_id": namespaced(utility, k.meter_id),
        "record_key": k._ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "meter_number": k.meter_id.str.removeprefix("MTR-"),
        "service_point_id": None, "meter_type": k.meter_type.replace("", None),
        "meter_status": None, "meter_category": k.meter_category.replace("", None),
        "meter_make": None, "phase_type": None,
        "installed_at_utc": pd.NaT, "removed_at_utc": pd.NaT, "record_ts_utc": k._ts,
        "register_value": k._meter_value, "register_duration_s": k._meter_duration.round(),
        "rule_ids": rule_ids,
        "source_file": k._source_file, "source_row": k._source_row,
    })


def intervals(df: pd.DataFrame, rejects: Rejects, utility: str, tz: str,
              sp_ids: pd.Series, meter_ids: pd.Series) -> pd.DataFrame:
    delivered = list(SOURCES["readings"].columns)
    kw = dict(target="intervals", source="readings", delivered=delivered)
    df = split_malformed(df, rejects, **kw)
    df = reject_where(df, _bad_id(df.meter_id, METER_ID), rejects, reason="INVALID_ID",
                      column="meter_id", detail="expected MTR- + 8 digits", **kw)
    df = reject_where(df, _bad_id(df.service_delivery_point_id, SP_ID), rejects,
                      reason="INVALID_ID", column="service_delivery_point_id",
                      detail="expected SP- + 8 digits", **kw)
    start, bad = parse_utc(df.timestamp)
    df = reject_where(df.assign(_start=start), bad, rejects, reason="INVALID_TIMESTAMP",
                      column="timestamp", detail="expected ISO 8601 with offset", **kw)
    updated, bad = parse_utc(df.last_update_time, required=False)
    df = reject_where(df.assign(_updated=updated), bad, rejects, reason="INVALID_TIMESTAMP",
                      column="last_update_time", detail="expected ISO 8601 with offset", **kw)
    value, bad = parse_float(df.value)
    df = reject_where(df.assign(_value=value), bad, rejects, reason="INVALID_NUMBER",
                      column="value", detail="expected a decimal", **kw)
    duration, bad = parse_float(df.duration)
    df = reject_where(df.assign(_duration=duration), bad, rejects, reason="INVALID_NUMBER",
                      column="duration", detail="expected integer seconds", **kw)
    parts = on_distinct(df.channel, lambda s: s.str.extract(CHANNEL_RE).apply(tuple, axis=1))
    parts = pd.DataFrame(parts.tolist(), index=df.index, columns=["quantity", "flow", "minutes"])
    known = parts.minutes.notna()
    channel_s = pd.to_numeric(parts.minutes, errors="coerce") * 60
    mismatch = known & (channel_s != df._duration)
    df = reject_where(df, mismatch, rejects, reason="CHANNEL_DURATION_MISMATCH",
                      column="duration",
                      detail="channel says " + channel_s.astype("Int64").astype(str) + " s, got",
                      **kw)
    parts = parts.loc[df.index]
    known = known.loc[df.index]

    dd = resolve_duplicates(df, ["meter_id", "channel", "_start"], delivered,
                            ["_updated", "_source_row"])
    keycols = ["meter_id", "channel", "timestamp"]
    rejects.add(dd.exact, reason="DUP_EXACT", key=key_text(dd.exact, keycols), **kw)
    rejects.add(dd.conflicting, reason="DUP_CONFLICT", key=key_text(dd.conflicting, keycols),
                detail="same meter, channel and start, other values (rule V2: latest "
                       "last_update_time, else delivered last)", **kw)
    k = dd.kept
    p = parts.loc[k.index]
    kn = known.loc[k.index]
    measurement = p.quantity.map({"KWH": "kWh", "KVARH": "kVArh"}).fillna("unknown")
    direction = p.flow.map({"Net": "net", "Received": "received"}).fillna("delivered")
    direction = direction.where(kn, "unknown")
    interval_s = k._duration.round().astype("Int64")
    quality = k.quality.map(QUALITY)
    rule_ids = pd.Series(None, index=k.index, dtype="object")
    rule_ids = add_rule(rule_ids, dd.versions > 1, "V2_CONFLICT_WINNER")
    rule_ids = add_rule(rule_ids, quality.isna(), "QUALITY_UNKNOWN")
    rule_ids = add_rule(rule_ids, ~kn, "CHANNEL_UNKNOWN")
    sp = namespaced(utility, k.service_delivery_point_id)
    meter = namespaced(utility, k.meter_id)
    return pd.DataFrame({
        "utility_id": utility, "meter_id": meter, "service_point_id": sp,
        "service_point_rule": "DELIVERED", "channel": k.channel,
        "measurement": measurement, "direction": direction,
        "reading_kind": np.where(kn, "interval", "unknown"), "interval_s": interval_s,
        "unit": measurement, "start_utc": k._start,
        "end_utc": k._start + pd.to_timedelta(interval_s.astype("float64"), unit="s"),
        "local_date": k._start.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize(),
        "value": k._value, "value_original": k.value,
        "quality_code": quality.fillna(14).astype("Int64"), "quality_code_original": k.quality,
        "status": None, "register_kwh": np.nan, "voltage_v": np.nan, "current_a": np.nan,
        "power_factor": np.nan, "frequency_hz": np.nan, "last_update_utc": k._updated,
        "rule_ids": rule_ids,
        "is_orphan_service_point": ~sp.isin(set(sp_ids)),
        "is_orphan_meter": ~meter.isin(set(meter_ids)),
        "source_file": k._source_file, "source_row": k._source_row,
    })


def to_silver(inp: SilverInput) -> SilverOutput:
    rejects = Rejects(inp.utility)
    sp = service_points(inp.bronze["service_points"], rejects, inp.utility)
    mt = meters(inp.bronze["meters"], rejects, inp.utility)
    iv = intervals(inp.bronze["readings"], rejects, inp.utility, inp.timezone,
                   sp.service_point_id, mt.meter_id)
    return SilverOutput(tables={"service_points": sp, "meters": mt, "intervals": iv},
                        rejects=rejects.frame())


UTILITY = Utility(
    utility_id=UTILITY_ID, name="Utility 1 (New York)", country="US", timezone=TIMEZONE,
    currency="USD", vocabulary="service point", sources=SOURCES, to_silver=to_silver,
    expected_delivery_day=10,
)
