"""Daily usage per service point, local day and reading type, with peak and trough."""

from __future__ import annotations

import polars as pl

from gridflow_assets.domain.localday import local_day_seconds_expr
from gridflow_assets.domain.readings import TYPE_KEYS, is_estimated, is_failed, unresolved
from gridflow_assets.gold.keys import shaped
from gridflow_assets.gold.totals import combine
from gridflow_assets.silver.vee.grid import intervals_per_day

KEYS = ["service_point_id", "local_date", *TYPE_KEYS]
# The silver/intervals columns the summaries read (a caller reads only these).
COLUMNS = [*KEYS, "meter_id", "reading_kind", "quality_code", "value", "start_utc"]


def _expected_per_meter(days: pl.DataFrame, tz: str) -> pl.DataFrame:
    """Intervals a meter delivers in each (local day, interval length) present: computed on
    the distinct pairs only, as DST days are rare and the frame is long."""
    pairs = days.select("local_date", "interval_s").unique()
    return pairs.with_columns(
        _per_meter=intervals_per_day(
            local_day_seconds_expr(pl.col("local_date"), tz), pl.col("interval_s")
        )
    )


def _local_hhmm(col: str, tz: str) -> pl.Expr:
    return pl.col(col).dt.convert_time_zone(tz).dt.strftime("%H:%M")


def daily_partial(intervals: pl.DataFrame, utility: str) -> pl.DataFrame:
    """One meter bucket's part of the summaries: per service point, local day and reading
    type, the counts, the valid total, and the peak and trough with their start (and the
    value the trough's start was chosen by, ``_trough_by``: null when a valid reading of
    the group has no value, as such a reading sorts first)."""
    iv = intervals.filter(pl.col("reading_kind") == "interval").with_columns(
        pl.col("service_point_id").fill_null(unresolved(utility)),
        _failed=is_failed(),
        _estimated=is_estimated(),
    )
    ok = ~pl.col("_failed")
    value, start = pl.col("value").filter(ok), pl.col("start_utc").filter(ok)
    return iv.group_by(KEYS).agg(
        failed_count=pl.col("_failed").sum().cast(pl.Int64),
        estimated_count=pl.col("_estimated").sum().cast(pl.Int64),
        meter_count=pl.col("meter_id").n_unique().cast(pl.Int64),
        total_value=pl.when(ok.any()).then(value.sum()),
        interval_count=ok.sum().cast(pl.Int64),
        peak_value=value.max(),
        peak_start_utc=start.sort_by(value, start).last(),
        trough_value=value.min(),
        trough_start_utc=start.sort_by(value, start).first(),
        _trough_by=value.sort_by(value, start).first(),
    )


def _by_value(col: str, value: str, start: str) -> pl.Expr:
    """``col`` of a key's rows from buckets with a valid reading, sorted by (``value``,
    ``start``)."""
    held = pl.col("interval_count") > 0
    return pl.col(col).filter(held).sort_by(pl.col(value).filter(held), pl.col(start).filter(held))


PEAK = ("peak_value", "peak_start_utc")
TROUGH = ("_trough_by", "trough_start_utc")


# How the rows of a key that several buckets hold merge: a meter is in one bucket, so the
# meter counts add up; the peak is the largest valid value (the latest start on a tie), the
# trough the first by (value, start), nulls first, as over the readings themselves; a
# bucket without a valid reading of the key has neither.
MERGED = {
    "failed_count": pl.col("failed_count").sum(),
    "estimated_count": pl.col("estimated_count").sum(),
    "meter_count": pl.col("meter_count").sum(),
    "total_value": pl.when(pl.col("interval_count").sum() > 0).then(pl.col("total_value").sum()),
    "interval_count": pl.col("interval_count").sum(),
    "peak_value": pl.col("peak_value").max(),
    "peak_start_utc": _by_value("peak_start_utc", *PEAK).last(),
    "trough_value": pl.col("trough_value").min(),
    "trough_start_utc": _by_value("trough_start_utc", *TROUGH).first(),
    "_trough_by": _by_value("_trough_by", *TROUGH).first(),
}


def daily_summaries(intervals: pl.DataFrame, utility: str, tz: str) -> pl.DataFrame:
    """The summaries of a partition's intervals read whole (see ``summaries_of``)."""
    return summaries_of([daily_partial(intervals, utility)], utility, tz)


def summaries_of(parts: list[pl.DataFrame], utility: str, tz: str) -> pl.DataFrame:
    """Per service point, local day and reading type: totals, counts, peak and trough, from
    the ``daily_partial`` of each meter bucket of the partition.

    Only interval (usage) readings of a known type are summarised: register reads are not
    usage and values of different or unknown types are never added. Readings that failed
    validation (quality 10) are counted in ``failed_count`` and left out of the rest. The
    peak is the largest valid value (the latest interval on a tie), the trough the smallest
    (the earliest on a tie).
    """
    out = combine(parts, KEYS, **MERGED)
    out = out.join(_expected_per_meter(out, tz), on=["local_date", "interval_s"], how="left")
    out = out.with_columns(expected_count=pl.col("_per_meter") * pl.col("meter_count"))
    out = out.with_columns(
        coverage=pl.col("interval_count") / pl.col("expected_count"),
        peak_local_time=_local_hhmm("peak_start_utc", tz),
        trough_local_time=_local_hhmm("trough_start_utc", tz),
        utility_id=pl.lit(utility),
    )
    return shaped(out.sort(KEYS), "experience/daily_summaries")
