"""Gold and the daily summaries built from a partition's intervals in k meter buckets
(each bucket's partial aggregates, combined after the last) give the tables built from the
intervals read whole. The intervals have a service point whose meters fall in different
buckets, so a combine that adds per-bucket distinct counts (days with data, service points
per day, meters per day) or takes one bucket's peak gives different rows.

Float sums of a key several buckets hold are added in another order: compared to a
relative 1e-12."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gridflow_assets.experience.daily import daily_partial, daily_summaries, summaries_of
from gridflow_assets.gold import aggregates, dims, facts
from gridflow_assets.gold.totals import ReadingTotals
from gridflow_assets.silver.pipeline import meter_bucket
from gridflow_assets_tests.polars_frames import frame

TZ = "Asia/Karachi"
U = "U"
METERS = 24
HOURS = 24 * 4  # four local days
# meter i serves service point SP(i % 9); SP0 also has meter 24 (a second meter), and
# readings without a service point belong to meter 25
SERVICE_POINTS = [f"U:SP{i}" for i in range(9)]


def _intervals(seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = datetime(2025, 5, 31, 19, tzinfo=UTC)  # 00:00 in Karachi on June 1
    rows = []
    for m in range(METERS + 2):
        sp = None if m == METERS + 1 else SERVICE_POINTS[0 if m == METERS else m % 9]
        hours = range(0, HOURS, 1 + m % 3)  # meters read on different days and hours
        for h in hours:
            quality = int(rng.choice([0, 0, 0, 8, 9, 10]))
            value = None if rng.random() < 0.03 else float(rng.integers(0, 4)) / 2
            direction = "net" if m % 5 == 0 and h % 2 else "delivered"
            kind = "register" if h % 23 == 0 else "interval"
            measurement = "unknown" if h % 31 == 0 else "kWh"
            rows.append((f"U:M{m:03d}", sp, h, quality, value, direction, kind, measurement))
    meter, sp, hour, quality, value, direction, kind, measurement = map(
        list, zip(*rows, strict=True)
    )
    starts = [start + timedelta(hours=h) for h in hour]
    local = pl.Series(starts).dt.convert_time_zone(TZ).dt.date()
    n = len(rows)
    return frame(
        "silver/intervals",
        utility_id=[U] * n,
        meter_id=meter,
        service_point_id=sp,
        start_utc=starts,
        local_date=local.to_list(),
        value=value,
        quality_code=quality,
        direction=direction,
        reading_kind=kind,
        measurement=measurement,
        interval_s=[3600] * n,
        unit=["kWh"] * n,
    )


def _dim_service_point() -> pl.DataFrame:
    return frame(
        "gold/dim_service_point",
        service_point_id=SERVICE_POINTS,
        consumer_type=["HOME", "SHOP", "HOME", None, "MILL", "HOME", "SHOP", "HOME", "MILL"],
        location_id=[f"U:L{i % 4}" for i in range(9)],
    )


def _meters() -> pl.DataFrame:
    n = METERS + 2
    return frame(
        "silver/meters",
        meter_id=[f"U:M{m:03d}" for m in range(n)],
        meter_type=["AMI"] * n,
        record_ts_utc=[datetime(2025, 5, 1, tzinfo=UTC)] * n,
        service_point_id=[SERVICE_POINTS[1] if m == 3 else None for m in range(n)],
    )


def _buckets(df: pl.DataFrame, k: int) -> list[pl.DataFrame]:
    b = df.with_columns(_b=meter_bucket("meter_id", k))
    return [b.filter(pl.col("_b") == i).drop("_b") for i in range(k)]


def _gold(buckets: list[pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The readings' gold tables and summaries as the gold and experience steps build them
    from these buckets."""
    totals, reads, parts = ReadingTotals(U, _dim_service_point()), [], []
    for bucket in buckets:
        readings = facts.fact_readings(bucket, TZ)
        totals.add(readings)
        reads.append(dims.meter_reads(readings))
        parts.append(daily_partial(bucket, U))
    dim_meter = dims.dim_meter_of(_meters(), pl.concat(reads), U)
    return _tables(totals, dim_meter, summaries_of(parts, U, TZ))


def _whole(iv: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The same tables from the intervals read whole, through the whole-frame functions."""
    readings = facts.fact_readings(iv, TZ)
    return _tables(readings, dims.dim_meter(_meters(), readings, U), daily_summaries(iv, U, TZ))


def _tables(
    readings: pl.DataFrame | ReadingTotals, dim_meter: pl.DataFrame, summaries: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    dim_sp = _dim_service_point()
    types = frame(
        "gold/dim_consumer_type",
        consumer_type=["HOME", "SHOP", "MILL", "UNKNOWN"],
        service_point_count=[4, 2, 2, 1],
    )
    loc = frame("gold/dim_location", location_id=[f"U:L{i}" for i in range(4)])
    return {
        "dim_meter": dim_meter,
        "monthly": aggregates.agg_monthly_consumption(readings, U),
        "daily": aggregates.agg_daily_consumption(readings, dim_sp, U),
        "consumer_type": aggregates.agg_consumer_type_summary(readings, dim_sp, types, None, U),
        "location": aggregates.agg_location_summary(readings, dim_sp, loc, None, None, U),
        "summaries": summaries,
    }


def test_the_intervals_have_a_service_point_split_across_buckets():
    """What makes the claims below able to fail: SP0's meters fall in different buckets
    for every k > 1 tested, on days both have readings."""
    iv = _intervals()
    for k in (3, 4):
        sp0 = [b.filter(pl.col("service_point_id") == "U:SP0") for b in _buckets(iv, k)]
        holding = [b for b in sp0 if b.height]
        assert len(holding) > 1, k
        days = [set(b["local_date"].to_list()) for b in holding]
        assert sum(len(d) for d in days) > len(set().union(*days)), k


@pytest.mark.parametrize("k", [1, 3, 4])
@pytest.mark.parametrize("seed", [7, 11])
def test_k_buckets_give_the_whole_tables(k, seed):
    iv = _intervals(seed)
    whole, bucketed = _whole(iv), _gold(_buckets(iv, k))
    assert whole.keys() == bucketed.keys()
    for name, table in whole.items():
        assert table.height > 0, name
        if k == 1:  # one bucket: exactly the whole-frame tables
            assert_frame_equal(bucketed[name], table, check_exact=True), name
        else:
            assert_frame_equal(bucketed[name], table, check_exact=False, rel_tol=1e-12), name


def test_distinct_counts_are_united_not_added():
    """The split service point's days with data are counted once across buckets (adding
    each bucket's counts would give more), and its meters per day are those of all buckets
    (one bucket's count would give fewer)."""
    iv = _intervals()
    buckets = _buckets(iv, 4)
    out = _gold(buckets)
    sp0 = out["monthly"].filter(
        (pl.col("service_point_id") == "U:SP0") & (pl.col("direction") == "delivered")
    )
    days = iv.filter(
        (pl.col("service_point_id") == "U:SP0")
        & (pl.col("reading_kind") == "interval")
        & (pl.col("measurement") == "kWh")
        & (pl.col("direction") == "delivered")
    )["local_date"].n_unique()
    assert sp0["days_with_data"].to_list() == [days]
    per_bucket = sum(
        aggregates.agg_monthly_consumption(facts.fact_readings(b, TZ), U)
        .filter((pl.col("service_point_id") == "U:SP0") & (pl.col("direction") == "delivered"))[
            "days_with_data"
        ]
        .sum()
        for b in buckets
    )
    assert per_bucket > days  # what adding would have said
    sp0_meters = pl.col("service_point_id") == "U:SP0"
    meters = out["summaries"].filter(sp0_meters)["meter_count"].max()
    assert meters == iv.filter(sp0_meters)["meter_id"].n_unique()  # read every day
    in_one_bucket = max(
        daily_partial(b, U).filter(sp0_meters)["meter_count"].max() or 0 for b in buckets
    )
    assert in_one_bucket < meters
