"""Daily summaries on a small known frame: totals, peak/trough, DST day expectations."""

from datetime import date

import pandas as pd
import polars as pl

from gridflow_assets.domain.localday import local_day_seconds
from gridflow_assets.experience.daily import daily_summaries
from gridflow_assets.store.frames import as_polars_typed

TZ = "America/New_York"


def _intervals(rows):
    df = pd.DataFrame(
        rows,
        columns=[
            "service_point_id",
            "meter_id",
            "start",
            "value",
            "quality_code",
            "reading_kind",
            "direction",
        ],
    )
    start = pd.to_datetime(df.start).dt.tz_localize(TZ).dt.tz_convert("UTC")
    return as_polars_typed(
        df.drop(columns="start").assign(
            start_utc=start,
            local_date=pd.to_datetime(df.start).dt.normalize(),
            measurement="kWh",
            unit="kWh",
            interval_s=900,
        ),
        "silver/intervals",
    )


def _row(out: pl.DataFrame, service_point: str, direction: str) -> dict:
    rows = out.filter(
        (pl.col("service_point_id") == service_point) & (pl.col("direction") == direction)
    )
    assert rows.height == 1
    return rows.row(0, named=True)


def test_dst_days_have_23_and_25_hours():
    days = pl.Series([date(2025, 3, 9), date(2025, 3, 10), date(2025, 11, 2)])
    assert local_day_seconds(days, TZ).to_list() == [82800, 86400, 90000]
    assert local_day_seconds(days, "Asia/Karachi").to_list() == [86400] * 3


def test_peak_trough_totals_and_exclusions():
    iv = _intervals(
        [
            ("U:SP1", "U:M1", "2025-03-09 00:00", 1.0, 0, "interval", "delivered"),
            ("U:SP1", "U:M1", "2025-03-09 03:15", 4.0, 0, "interval", "delivered"),
            ("U:SP1", "U:M1", "2025-03-09 05:00", 0.5, 8, "interval", "delivered"),
            ("U:SP1", "U:M1", "2025-03-09 06:00", 99.0, 10, "interval", "delivered"),  # failed
            ("U:SP1", "U:M1", "2025-03-09 07:00", 999.0, 0, "register", "delivered"),  # not usage
            ("U:SP1", "U:M1", "2025-03-09 07:00", -2.0, 0, "interval", "net"),
            (None, "U:M9", "2025-03-09 01:00", 3.0, 0, "interval", "delivered"),
        ]
    )
    out = daily_summaries(iv, "U", TZ)
    d = _row(out, "U:SP1", "delivered")
    assert d["total_value"] == 5.5 and d["interval_count"] == 3 and d["failed_count"] == 1
    assert d["estimated_count"] == 1 and d["meter_count"] == 1
    assert d["expected_count"] == 92  # 23-hour spring-forward day of 15-minute intervals
    assert d["peak_value"] == 4.0 and d["peak_local_time"] == "03:15"
    assert pd.Timestamp(d["peak_start_utc"]) == pd.Timestamp("2025-03-09T07:15Z")
    assert d["trough_value"] == 0.5 and d["trough_local_time"] == "05:00"
    net = _row(out, "U:SP1", "net")
    assert net["total_value"] == -2.0 and net["interval_count"] == 1  # never mixed
    assert _row(out, "U:UNRESOLVED", "delivered")["total_value"] == 3.0
    assert len(out) == 3


def test_ties_a_day_with_only_failed_readings_and_a_25_hour_day_of_two_meters():
    iv = _intervals(
        [
            ("U:SP1", "U:M1", "2025-11-02 00:00", 2.0, 0, "interval", "delivered"),
            ("U:SP1", "U:M1", "2025-11-02 05:00", 2.0, 0, "interval", "delivered"),  # peak tie
            ("U:SP1", "U:M2", "2025-11-02 03:00", 1.0, 0, "interval", "delivered"),
            ("U:SP1", "U:M2", "2025-11-02 04:00", 1.0, 0, "interval", "delivered"),  # trough tie
            ("U:SP2", "U:M3", "2025-11-02 06:00", 5.0, 10, "interval", "delivered"),  # failed
        ]
    )
    out = daily_summaries(iv, "U", TZ)
    d = _row(out, "U:SP1", "delivered")
    assert d["peak_local_time"] == "05:00"  # the latest of equal peaks
    assert d["trough_local_time"] == "03:00"  # the earliest of equal troughs
    assert d["meter_count"] == 2 and d["expected_count"] == 200  # 25 h × 4 × 2 meters
    assert d["coverage"] == 4 / 200
    failed = _row(out, "U:SP2", "delivered")
    assert failed["failed_count"] == 1 and failed["interval_count"] == 0
    assert failed["total_value"] is None and failed["peak_value"] is None
    assert failed["peak_local_time"] is None and failed["coverage"] == 0.0
