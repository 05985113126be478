"""Gold dimensions: utility, calendar, time of day, service point (internal and external),
meter and location levels."""

from __future__ import annotations

from datetime import date

import polars as pl

from gridflow_assets.domain.billing import UNKNOWN_CONSUMER_TYPE, consumer_types
from gridflow_assets.domain.readings import in_time_order
from gridflow_assets.gold.keys import date_key, shaped
from gridflow_assets.silver.adapters import all_utilities
from gridflow_assets.store.pii import pseudonymize

LOCATION_LEVELS = ("region", "division", "sub_division", "feeder_name")


def dim_utility() -> pl.DataFrame:
    """The utility registry as a dimension."""
    rows = [
        {
            "utility_id": u.utility_id,
            "utility_name": u.name,
            "country": u.country,
            "timezone": u.timezone,
            "currency": u.currency,
            "vocabulary": u.vocabulary,
        }
        for u in all_utilities()
    ]
    return shaped(pl.DataFrame(rows).sort("utility_id"), "dim_utility")


def dim_date(start: date = date(2023, 1, 1), end: date = date(2027, 12, 31)) -> pl.DataFrame:
    """Calendar days covering every month the platform partitions, and a margin."""
    days = pl.DataFrame({"date": pl.date_range(start, end, "1d", eager=True)})
    d = pl.col("date").dt
    return shaped(
        days.with_columns(
            date_key=date_key("date"),
            year=d.year(),
            quarter=d.quarter(),
            month=d.month(),
            month_name=d.strftime("%B"),
            day=d.day(),
            day_of_week=d.weekday(),
            day_name=d.strftime("%A"),
            is_weekend=d.weekday() >= 6,
            year_month=d.strftime("%Y-%m"),
        ),
        "dim_date",
    )


def dim_time() -> pl.DataFrame:
    """Every minute of the day, with the part of the day it falls in."""
    minutes = pl.DataFrame({"m": pl.int_range(0, 24 * 60, eager=True)})
    hour, minute = pl.col("m") // 60, pl.col("m") % 60
    part = (
        pl.when(hour < 6)
        .then(pl.lit("night"))
        .when(hour < 12)
        .then(pl.lit("morning"))
        .when(hour < 18)
        .then(pl.lit("afternoon"))
        .otherwise(pl.lit("evening"))
    )
    return shaped(
        minutes.select(
            time_key=hour * 100 + minute,
            hour=hour,
            minute=minute,
            label=pl.format(
                "{}:{}", hour.cast(pl.String).str.zfill(2), minute.cast(pl.String).str.zfill(2)
            ),
            day_part=part,
        ),
        "dim_time",
    )


def location_levels() -> list[pl.Expr]:
    """Location levels of a service point, one vocabulary for every utility: IESCO
    district → division → sub-division → feeder; New York state → city → ZIP3."""
    return [
        pl.coalesce("district", "state").alias("region"),
        pl.coalesce("division", "city").alias("division"),
        pl.coalesce("sub_division", pl.col("zip").str.slice(0, 3)).alias("sub_division"),
        pl.col("feeder_name"),
    ]


def with_location(service_points: pl.DataFrame) -> pl.DataFrame:
    """Service points with their location levels and ``location_id``
    ('<UTILITY>:<region>|<division>|<sub_division>|<feeder>', missing levels empty)."""
    sp = service_points.with_columns(
        [e.alias(f"_{e.meta.output_name()}") for e in location_levels()]
    )
    levels = [f"_{n}" for n in LOCATION_LEVELS]
    return sp.with_columns(
        location_id=pl.col("utility_id")
        + ":"
        + pl.concat_str([pl.col(c).fill_null("") for c in levels], separator="|")
    )


def dim_service_point(service_points: pl.DataFrame) -> pl.DataFrame:
    """Current version of each service point, with ZIP3 and its location."""
    sp = with_location(service_points).with_columns(zip3=pl.col("zip").str.slice(0, 3))
    return shaped(sp, "dim_service_point")


def dim_service_point_external(dim: pl.DataFrame, secret: bytes) -> pl.DataFrame:
    """What third parties may see: keyed-hash ids, ZIP3 / city, coordinates to 0.1°."""
    return shaped(
        dim.with_columns(
            service_point_key=pseudonymize(dim["service_point_id"], secret),
            latitude_coarse=pl.col("latitude").round(1),
            longitude_coarse=pl.col("longitude").round(1),
        ),
        "dim_service_point_external",
    )


def meter_reads(readings: pl.DataFrame) -> pl.DataFrame:
    """Per meter of ``readings`` (``meter_id``, ``service_point_id``, ``start_utc``): the
    service point of its latest reading (``_reads``) and its distinct service points
    (``_service_points``). Every reading of a meter is in one bucket, so the rows of the
    buckets of a partition, concatenated, are the partition's."""
    read = readings.select("meter_id", "service_point_id", "start_utc").filter(
        pl.col("service_point_id").is_not_null()
    )
    return read.group_by("meter_id").agg(
        _reads=in_time_order("service_point_id").last(),
        _service_points=pl.col("service_point_id").unique(),
    )


def dim_meter(meters: pl.DataFrame, readings: pl.DataFrame, utility: str) -> pl.DataFrame:
    """One row per meter (see ``dim_meter_of``) from the partition's readings read whole."""
    return dim_meter_of(meters, meter_reads(readings), utility)


def dim_meter_of(meters: pl.DataFrame, reads: pl.DataFrame, utility: str) -> pl.DataFrame:
    """One row per meter: latest record's attributes, type flips, and its service point.

    The service point at month end comes from the meter's records where they link one
    (UTILITY2 installations, IESCO), else from its latest reading (UTILITY1's meter file
    does not link meters to service points). ``reads``: ``meter_reads`` of the partition's
    readings (of its buckets, concatenated).
    """
    m = meters.sort(
        ["meter_id", "record_ts_utc", "source_row"], nulls_last=False, maintain_order=True
    )
    kind = pl.col("meter_type").fill_null("")
    per_meter = m.group_by("meter_id").agg(
        pl.col("meter_number", "meter_type", "meter_status").last(),
        meter_type_changes=(kind != kind.shift(1)).slice(1).sum().cast(pl.Int64),
        record_count=pl.len().cast(pl.Int64),
        first_record_utc=pl.col("record_ts_utc").min(),
        last_record_utc=pl.col("record_ts_utc").max(),
    )
    linked = m.filter(pl.col("service_point_id").is_not_null()).sort(
        ["meter_id", "installed_at_utc"], nulls_last=False, maintain_order=True
    )
    from_records = linked.group_by("meter_id").agg(_records=pl.col("service_point_id").last())
    from_reads = reads.select("meter_id", "_reads")
    pairs = pl.concat(
        [
            linked.select("meter_id", "service_point_id"),
            reads.select("meter_id", service_point_id="_service_points").explode(
                "service_point_id"
            ),
        ]
    ).unique()
    sp_count = pairs.group_by("meter_id").agg(service_point_count=pl.len().cast(pl.Int64))
    out = (
        per_meter.join(from_records, on="meter_id", how="left")
        .join(from_reads, on="meter_id", how="left")
        .join(sp_count, on="meter_id", how="left")
        .with_columns(
            utility_id=pl.lit(utility),
            current_service_point_id=pl.coalesce("_records", "_reads"),
            service_point_count=pl.col("service_point_count").fill_null(0),
        )
        .sort("meter_id")
    )
    return shaped(out, "dim_meter")


def dim_location(service_points: pl.DataFrame) -> pl.DataFrame:
    """Locations present in the partition, with how many service points each holds."""
    sp = with_location(service_points)
    levels = [pl.col(f"_{n}").alias(n) for n in LOCATION_LEVELS]
    out = sp.group_by("location_id", *levels).agg(
        service_point_count=pl.len().cast(pl.Int64), utility_id=pl.col("utility_id").first()
    )
    return shaped(out.sort("location_id", *LOCATION_LEVELS, nulls_last=True), "dim_location")


def dim_consumer_type(service_points: pl.DataFrame) -> pl.DataFrame:
    """Consumer types present in the partition, described by the consumer-type table (a type
    the table does not know keeps the tariff code its service points carry)."""
    sp = service_points.with_columns(pl.col("consumer_type").fill_null(UNKNOWN_CONSUMER_TYPE))
    counts = sp.group_by("consumer_type").agg(
        service_point_count=pl.len().cast(pl.Int64),
        _observed=pl.col("tariff_category").drop_nulls().first(),
        utility_id=pl.col("utility_id").first(),
    )
    out = counts.join(consumer_types(), on="consumer_type", how="left")
    return shaped(
        out.with_columns(tariff_category=pl.coalesce("tariff_category", "_observed")).sort(
            "consumer_type"
        ),
        "dim_consumer_type",
    )
