"""UTILITY2 (New York, "premise" vocabulary): files, ids and the silver transform.

Quirks handled (drop-formats.md): premises delivered in several address versions; meters
linked to premises by effective-dated installations; daily reads with integer local dates,
duration 0, integer channel and quality codes resolved through code tables; heavy
duplication with conflicting values and no update time.
"""

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
    parse_date,
    parse_float,
    parse_utc,
    reject_where,
    resolve_duplicates,
    split_malformed,
)
from gridflow_assets.utilities import code_tables
from gridflow_assets.utilities.base import SilverInput, SilverOutput, Utility

UTILITY_ID = "UTILITY2"
TIMEZONE = "America/New_York"

SOURCES = {
    "service_points": SourceFile(
        "utility2_service_points.csv",
        ("premise_id", "created_date", "premise_house_num", "premise_street",
         "premise_house_supp", "premise_city", "premise_zip", "premise_region"),
        pii_columns=("premise_house_num", "premise_street", "premise_house_supp"), bom=True),
    "meters": SourceFile(
        "utility2_meters.csv",
        ("premise_id", "meter_id", "meter_number", "meter_type", "meter_status",
         "meter_channel", "installed_at", "removed_at", "created", "updated"),
        bom=True),
    "readings": SourceFile(
        "utility2_intervals.csv",
        ("channel", "duration", "meter_id", "quality", "timestamp", "value"), bom=True),
}

PREMISE_ID = r"^PREM-\d{8}$"
METER_ID = r"^\d{9,10}$"


def _bad_id(values: pd.Series, pattern: str) -> pd.Series:
    return ~matches(values, pattern)


def service_points(df: pd.DataFrame, rejects: Rejects, utility: str) -> pd.DataFrame:
    delivered = list(SOURCES["service_points"].columns)
    kw = dict(target="service_points", source="service_points", delivered=delivered)
    df = split_malformed(df, rejects, **kw)
    df = reject_where(df, _bad_id(df.premise_id, PREMISE_ID), rejects, reason="INVALID_ID",
                      column="premise_id", detail="expected PREM- + 8 digits", **kw)
    created, bad = parse_date(df.created_date, "%Y-%m-%d")
    df = reject_where(df.assign(_created=created), bad, rejects, reason="INVALID_TIMESTAMP",
                      column="created_date", detail="expected YYYY-MM-DD", **kw)
    # No column says which address is current: the latest created_date wins, ties go to the
    # version delivered last (rule SP_LATEST_VERSION); the others are conflicting repeats.
    dd = resolve_duplicates(df, ["premise_id"], delivered, ["_created", "_source_row"])
    rejects.add(dd.exact, reason="DUP_EXACT", key=dd.exact.premise_id, **kw)
    rejects.add(dd.conflicting, reason="DUP_CONFLICT", key=dd.conflicting.premise_id,
                detail="older address version (rule SP_LATEST_VERSION)", **kw)
    k = dd.kept
    return pd.DataFrame({
        "utility_id": utility, "service_point_id": namespaced(utility, k.premise_id),
        "house_number": k.premise_house_num.replace("", None),
        "street": k.premise_street.replace("", None),
        "house_supplement": k.premise_house_supp.replace("", None),
        "city": k.premise_city.replace("", None), "zip": k.premise_zip.replace("", None),
        "state": k.premise_region.replace("", None),
        "district": None, "division": None, "sub_division": None, "feeder_name": None,
        "latitude": np.nan, "longitude": np.nan, "customer_name": None, "father_name": None,
        "reference_no": None, "consumer_type": None, "tariff_category": None, "status": None,
        "sanctioned_load_kw": np.nan, "connected_load_kw": np.nan,
        "connection_date": k._created, "address_versions": dd.versions.astype("Int64"),
        "resolution_rule": np.where(dd.versions > 1, "SP_LATEST_VERSION", None),
        "source_file": k._source_file, "source_row": k._source_row,
    })


def meters(df: pd.DataFrame, rejects: Rejects, utility: str) -> pd.DataFrame:
    delivered = list(SOURCES["meters"].columns)
    kw = dict(target="meters", source="meters", delivered=delivered)
    df = split_malformed(df, rejects, **kw)
    df = reject_where(df, _bad_id(df.meter_id, METER_ID), rejects, reason="INVALID_ID",
                      column="meter_id", detail="expected 9-10 digits", **kw)
    df = reject_where(df, _bad_id(df.premise_id, PREMISE_ID), rejects, reason="INVALID_ID",
                      column="premise_id", detail="expected PREM- + 8 digits", **kw)
    parsed = {}
    for col, required in (("installed_at", False), ("removed_at", False), ("created", False),
                          ("updated", False)):
        values, bad = parse_utc(df[col], required=required)
        df = reject_where(df.assign(**{f"_{col}": values}), bad, rejects,
                          reason="INVALID_TIMESTAMP", column=col,
                          detail="expected ISO 8601 UTC", **kw)
        parsed[col] = values
    key = ["meter_id", "premise_id", "installed_at"]
    dd = resolve_duplicates(df, key, delivered, ["_updated", "_source_row"])
    rejects.add(dd.exact, reason="DUP_EXACT", key=key_text(dd.exact, key), **kw)
    rejects.add(dd.conflicting, reason="DUP_CONFLICT", key=key_text(dd.conflicting, key),
                detail="same installation, other values (latest updated kept)", **kw)
    k = dd.kept
    rule_ids = add_rule(pd.Series(None, index=k.index, dtype="object"), dd.versions > 1,
                        "V2_CONFLICT_WINNER")
    return pd.DataFrame({
        "utility_id": utility, "meter_id": namespaced(utility, k.meter_id),
        "record_key": k.premise_id + "|" + k.installed_at,
        "meter_number": k.meter_number.replace("", None),
        "service_point_id": namespaced(utility, k.premise_id),
        "meter_type": k.meter_type.replace("", None),
        "meter_status": k.meter_status.replace("", None),
        "meter_category": k.meter_channel.replace("", None), "meter_make": None,
        "phase_type": None, "installed_at_utc": k._installed_at, "removed_at_utc": k._removed_at,
        "record_ts_utc": k._updated, "register_value": np.nan, "register_duration_s": pd.NA,
        "rule_ids": rule_ids, "source_file": k._source_file, "source_row": k._source_row,
    })


def resolve_service_points(readings: pd.DataFrame, installs: pd.DataFrame) -> pd.DataFrame:
    """Service point of each (meter, start) pair through effective-dated installations.

    Valid installation at the reading time → SP_EFFECTIVE_DATED (latest installed wins when
    windows overlap). Meter known but no window covers the reading (retired, or not yet
    installed) → the installation nearest in time, SP_OUTSIDE_INSTALL_WINDOW. Meter
    unknown → SP_UNRESOLVED. Works on unique pairs, not on every row.
    """
    pairs = readings[["meter_id", "start_utc"]].drop_duplicates()
    inst = installs[["meter_id", "service_point_id", "installed_at_utc", "removed_at_utc"]]
    cand = pairs.merge(inst, on="meter_id", how="left")
    lo = cand.installed_at_utc
    hi = cand.removed_at_utc
    inside = (lo.isna() | (lo <= cand.start_utc)) & (hi.isna() | (cand.start_utc < hi))
    before = (lo - cand.start_utc).dt.total_seconds().clip(lower=0).fillna(0)
    after = (cand.start_utc - hi).dt.total_seconds().clip(lower=0).fillna(0)
    cand["_distance"] = np.where(inside, 0.0, before + after)
    cand["_lo"] = lo.fillna(pd.Timestamp.min.tz_localize("UTC"))
    cand = cand.sort_values(["meter_id", "start_utc", "_distance", "_lo"],
                            ascending=[True, True, True, False], kind="stable")
    best = cand.drop_duplicates(["meter_id", "start_utc"], keep="first")
    rule = np.select(
        [best.service_point_id.isna(), best._distance == 0],
        ["SP_UNRESOLVED", "SP_EFFECTIVE_DATED"], "SP_OUTSIDE_INSTALL_WINDOW")
    return best[["meter_id", "start_utc", "service_point_id"]].assign(service_point_rule=rule)


def intervals(df: pd.DataFrame, rejects: Rejects, utility: str, tz: str,
              sp: pd.DataFrame, mt: pd.DataFrame) -> pd.DataFrame:
    delivered = list(SOURCES["readings"].columns)
    kw = dict(target="intervals", source="readings", delivered=delivered)
    df = split_malformed(df, rejects, **kw)
    df = reject_where(df, _bad_id(df.meter_id, METER_ID), rejects, reason="INVALID_ID",
                      column="meter_id", detail="expected 9-10 digits", **kw)
    day, bad = parse_date(df.timestamp, "%Y%m%d")
    df = reject_where(df.assign(_day=day), bad, rejects, reason="INVALID_TIMESTAMP",
                      column="timestamp", detail="expected an integer local date YYYYMMDD", **kw)
    value, bad = parse_float(df.value)
    df = reject_where(df.assign(_value=value), bad, rejects, reason="INVALID_NUMBER",
                      column="value", detail="expected an integer", **kw)
    df = reject_where(df, df.duration.str.strip() != "0", rejects,
                      reason="CHANNEL_DURATION_MISMATCH", column="duration",
                      detail="daily reads are delivered with duration 0, got", **kw)
    # A daily read covers the local calendar day: start and end are local midnights, so
    # DST days last 23 or 25 hours.
    start = df._day.dt.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    end = (df._day + pd.Timedelta(days=1)).dt.tz_localize(tz, ambiguous=False,
                                                          nonexistent="shift_forward")
    df = df.assign(_start=start.dt.tz_convert("UTC"), _end=end.dt.tz_convert("UTC"))
    dd = resolve_duplicates(df, ["meter_id", "channel", "_start"], delivered, ["_source_row"])
    keycols = ["meter_id", "channel", "timestamp"]
    rejects.add(dd.exact, reason="DUP_EXACT", key=key_text(dd.exact, keycols), **kw)
    rejects.add(dd.conflicting, reason="DUP_CONFLICT", key=key_text(dd.conflicting, keycols),
                detail="same meter, channel and day, other value (rule V2: no update time "
                       "is delivered, so the version delivered last wins)", **kw)
    k = dd.kept
    channels = code_tables.load("utility2_channels").set_index("code")
    quality = code_tables.load("utility2_quality").set_index("code")
    ch = channels.reindex(k.channel.str.strip().to_numpy())
    ch.index = k.index
    q_common = pd.to_numeric(quality.common_code.reindex(k.quality.str.strip().to_numpy()),
                             errors="coerce")
    q_common.index = k.index
    rule_ids = pd.Series("DUR0_AS_LOCAL_DAY", index=k.index, dtype="object")
    rule_ids = add_rule(rule_ids, dd.versions > 1, "V2_CONFLICT_WINNER")
    rule_ids = add_rule(rule_ids, q_common.isna(), "QUALITY_UNKNOWN")
    rule_ids = add_rule(rule_ids, ch.measurement.isna(), "CHANNEL_UNKNOWN")
    meter = namespaced(utility, k.meter_id)
    base = pd.DataFrame({"meter_id": meter, "start_utc": k._start})
    resolved = resolve_service_points(base, mt)
    merged = base.merge(resolved, on=["meter_id", "start_utc"], how="left")
    merged.index = k.index
    rule_ids = rule_ids + ";" + merged.service_point_rule  # never null: DUR0 is always set
    interval_s = ((k._end - k._start).dt.total_seconds()).astype("Int64")
    sp_id = merged.service_point_id
    return pd.DataFrame({
        "utility_id": utility, "meter_id": meter, "service_point_id": sp_id,
        "service_point_rule": merged.service_point_rule, "channel": k.channel,
        "measurement": ch.measurement.fillna("unknown"),
        "direction": ch.direction.fillna("unknown"),
        "reading_kind": ch.reading_kind.fillna("unknown"), "interval_s": interval_s,
        "unit": ch.measurement.fillna("unknown"), "start_utc": k._start, "end_utc": k._end,
        "local_date": k._day, "value": k._value, "value_original": k.value,
        "quality_code": q_common.fillna(14).astype("Int64"), "quality_code_original": k.quality,
        "status": None, "register_kwh": np.nan, "voltage_v": np.nan, "current_a": np.nan,
        "power_factor": np.nan, "frequency_hz": np.nan, "last_update_utc": pd.NaT,
        "rule_ids": rule_ids,
        "is_orphan_service_point": ~sp_id.isin(set(sp.service_point_id)),
        "is_orphan_meter": ~meter.isin(set(mt.meter_id)),
        "source_file": k._source_file, "source_row": k._source_row,
    })


def to_silver(inp: SilverInput) -> SilverOutput:
    rejects = Rejects(inp.utility)
    sp = service_points(inp.bronze["service_points"], rejects, inp.utility)
    mt = meters(inp.bronze["meters"], rejects, inp.utility)
    iv = intervals(inp.bronze["readings"], rejects, inp.utility, inp.timezone, sp, mt)
    return SilverOutput(tables={"service_points": sp, "meters": mt, "intervals": iv},
                        rejects=rejects.frame())


UTILITY = Utility(
    utility_id=UTILITY_ID, name="Utility 2 (New York)", country="US", timezone=TIMEZONE,
    currency="USD", vocabulary="premise", sources=SOURCES, to_silver=to_silver,
    expected_delivery_day=12,
)
