"""What the readings aggregates take from a partition's readings, gathered one meter bucket
at a time and combined exactly once every bucket is read.

Every row of one meter is in one bucket, but a service point's meters, a consumer type, a
location or a day span buckets. So each bucket leaves partial aggregates (sums, counts and
the distinct days or service points behind a distinct count), and ``combine`` merges the
rows of a key that more than one bucket holds: sums and counts are added, distinct values
are united before they are counted (a service point with meters in two buckets counts
once). A key only one bucket holds keeps that bucket's row as it is, so a partition read
as one bucket gives exactly what the whole-frame aggregates gave.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from gridflow_assets.domain.billing import UNKNOWN_CONSUMER_TYPE
from gridflow_assets.domain.readings import (
    TYPE_KEYS,
    is_estimated,
    is_failed,
    is_known_interval,
    is_usage,
    unresolved,
)

# the fact_readings columns the totals read
COLUMNS = [
    "utility_id",
    "service_point_id",
    "local_date",
    *TYPE_KEYS,
    "reading_kind",
    "quality_code",
    "value",
]
MONTHLY_KEYS = ["service_point_id", "_month", *TYPE_KEYS]
DAILY_KEYS = ["local_date", "consumer_type", *TYPE_KEYS]
SERVICE_POINT_DAYS = ["service_point_id", *TYPE_KEYS]
# the kWh sums the summaries join to their dimension: (attribute, direction, column)
KWH = (
    ("consumer_type", "delivered", "kwh_delivered"),
    ("consumer_type", "net", "kwh_net"),
    ("location_id", "delivered", "kwh_delivered"),
)


def combine(parts: Sequence[pl.DataFrame], keys: list[str], **merged: pl.Expr) -> pl.DataFrame:
    """The partial rows of several buckets as one frame, one row per key: a key one bucket
    holds keeps its row; the rows of a key several hold are merged by ``merged`` (one
    expression per non-key column). Row order is not kept (callers sort)."""
    if len(parts) == 1:
        return parts[0]
    rows = pl.concat(parts, how="vertical")
    shared = pl.struct(keys).is_duplicated()
    once = rows.filter(~shared)
    merged_rows = rows.filter(shared).group_by(keys).agg(**merged)
    return pl.concat([once, merged_rows.select(once.columns)], how="vertical")


def _summed(*columns: str) -> dict[str, pl.Expr]:
    return {c: pl.col(c).sum() for c in columns}


def _united(column: str) -> pl.Expr:
    """The distinct values of a list column over a key's rows."""
    return pl.col(column).explode().unique()


def monthly_partial(readings: pl.DataFrame, utility: str) -> pl.DataFrame:
    """Per service point, local month and reading type (known intervals only): valid total
    and count, failed and estimated counts, and the distinct local days (``_days``).

    Rows are grouped by whether they are known intervals and only those groups are kept:
    the same rows as filtering first, without a filtered copy of the bucket."""
    valid = pl.col("value").filter(~pl.col("_failed"))
    return (
        readings.select(
            *TYPE_KEYS,
            "local_date",
            "value",
            pl.col("service_point_id").fill_null(unresolved(utility)),
            _month=pl.col("local_date").dt.truncate("1mo"),
            _failed=is_failed(),
            _estimated=is_estimated(),
            _known=is_known_interval(),
        )
        .group_by([*MONTHLY_KEYS, "_known"])
        .agg(
            total_value=valid.sum(),
            reading_count=valid.count().cast(pl.Int64),
            failed_count=pl.col("_failed").sum().cast(pl.Int64),
            estimated_count=pl.col("_estimated").sum().cast(pl.Int64),
            _days=pl.col("local_date").unique(),
        )
        .filter(pl.col("_known"))
        .drop("_known")
    )


def with_attributes(readings: pl.DataFrame, dim_service_point: pl.DataFrame) -> pl.DataFrame:
    """Usage readings with their service point's consumer type (``UNKNOWN`` when the service
    point is unknown) and location (null then)."""
    return (
        readings.filter(is_usage())
        .join(
            dim_service_point.select("service_point_id", "consumer_type", "location_id"),
            on="service_point_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(pl.col("consumer_type").fill_null(UNKNOWN_CONSUMER_TYPE))
    )


# A few groups over every reading of the partition: Polars sums each in parallel pieces
# whose order varies from run to run, and so do the last bits of a float sum. Rounded to
# the µkWh (mWh), the same readings give the same bytes, so an identical rerun commits
# nothing.
KWH_DECIMALS = 6


def kwh(usage: pl.DataFrame, by: str, direction: str, name: str) -> pl.DataFrame:
    """kWh of one direction per value of ``by`` (rows whose ``by`` is unknown left out)."""
    sel = (pl.col("measurement") == "kWh") & (pl.col("direction") == direction)
    return (
        usage.filter(sel & pl.col(by).is_not_null())
        .group_by(by)
        .agg(pl.col("value").sum().round(KWH_DECIMALS).alias(name))
    )


class ReadingTotals:
    """The partial aggregates of a partition's readings, bucket by bucket (``add``), and
    their exact combination (``monthly``, ``daily``, ``kwh``).

    ``dim_service_point``: the partition's service points; without it only the monthly
    totals (per service point, no attribute of it) are gathered."""

    def __init__(self, utility: str, dim_service_point: pl.DataFrame | None = None):
        self.utility = utility
        self.dim_service_point = dim_service_point
        self._monthly: list[pl.DataFrame] = []
        self._daily: list[pl.DataFrame] = []
        self._days: list[pl.DataFrame] = []
        self._kwh: dict[tuple[str, str, str], list[pl.DataFrame]] = {k: [] for k in KWH}

    @classmethod
    def of(
        cls, readings: pl.DataFrame, utility: str, dim_service_point: pl.DataFrame | None = None
    ) -> ReadingTotals:
        """The totals of a partition read whole (one bucket)."""
        totals = cls(utility, dim_service_point)
        totals.add(readings)
        return totals

    def add(self, readings: pl.DataFrame) -> None:
        """One meter bucket of the partition's readings (fact_readings' columns)."""
        readings = readings.select(COLUMNS)  # what the filters below copy
        self._monthly.append(monthly_partial(readings, self.utility))
        if self.dim_service_point is None:
            return
        usage = with_attributes(readings, self.dim_service_point)
        self._daily.append(
            usage.group_by(DAILY_KEYS).agg(
                total_value=pl.col("value").sum(), reading_count=pl.len().cast(pl.Int64)
            )
        )
        # each service point's days with usage per reading type, for the distinct count
        self._days.append(
            usage.filter(pl.col("service_point_id").is_not_null())
            .group_by(SERVICE_POINT_DAYS)
            .agg(_days=pl.col("local_date").unique())
        )
        for key, parts in self._kwh.items():
            parts.append(kwh(usage, *key))

    def monthly(self) -> pl.DataFrame:
        """Per service point, month and reading type; ``days_with_data`` counted."""
        out = combine(
            self._monthly,
            MONTHLY_KEYS,
            **_summed("total_value", "reading_count", "failed_count", "estimated_count"),
            _days=_united("_days"),
        )
        return out.with_columns(days_with_data=pl.col("_days").list.len().cast(pl.Int64))

    def daily(self) -> pl.DataFrame:
        """Per local day, consumer type and reading type: usage total, readings and the
        distinct service points with usage."""
        totals = combine(self._daily, DAILY_KEYS, **_summed("total_value", "reading_count"))
        days = combine(self._days, SERVICE_POINT_DAYS, _days=_united("_days"))
        types = self.dim_service_point.select(
            "service_point_id", pl.col("consumer_type").fill_null(UNKNOWN_CONSUMER_TYPE)
        ).unique()  # a service point counts once per consumer type it has
        counted = (
            days.join(types, on="service_point_id", how="left")
            .with_columns(pl.col("consumer_type").fill_null(UNKNOWN_CONSUMER_TYPE))
            .select(*SERVICE_POINT_DAYS, "consumer_type", local_date="_days")
            .explode("local_date")
            .group_by(DAILY_KEYS)
            .agg(service_point_count=pl.len().cast(pl.Int64))
        )
        return totals.join(counted, on=DAILY_KEYS, how="left", nulls_equal=True).with_columns(
            pl.col("service_point_count").fill_null(0)
        )

    def kwh(self, by: str, direction: str, name: str) -> pl.DataFrame:
        """kWh of one direction per consumer type or location (one of ``KWH``)."""
        summed = combine(self._kwh[by, direction, name], [by], **_summed(name))
        return summed.with_columns(pl.col(name).round(KWH_DECIMALS))
