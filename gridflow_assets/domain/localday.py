"""Local days, defined once: how long a local calendar day is, where it starts, and which
local day an instant falls on.

A local day lasts 23, 24 or 25 hours in its time zone (New York's DST changes; Asia/Karachi
has none). VEE's interval grid, the adapters' daily reads, the daily summaries and the
registry's bounds on ``interval_s`` all take their days from here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import polars as pl

DAY_S = 86_400
# A local day (and so a daily read) lasts 23 to 25 hours.
LOCAL_DAY_MIN_S = 82_800
LOCAL_DAY_MAX_S = 90_000
_EPOCH = date(1970, 1, 1)


def month_day_numbers(month: str) -> np.ndarray:
    """Days of ``month`` (YYYY-MM) as days since 1970-01-01."""
    first = np.datetime64(month, "M")
    return np.arange(
        first.astype("datetime64[D]").astype(np.int64),
        (first + 1).astype("datetime64[D]").astype(np.int64),
    )


@lru_cache(maxsize=65_536)
def _local_midnight(day: int, tz: str) -> int:
    """Epoch seconds of the local midnight that starts ``day``. A midnight repeated by a
    fall-back change is its first occurrence; one skipped by a spring-forward change is the
    end of the gap (zoneinfo's ``fold=0`` gives both)."""
    start = datetime.combine(_EPOCH + timedelta(days=int(day)), time(0), tzinfo=ZoneInfo(tz))
    return int(start.timestamp())


def day_table(days: np.ndarray, tz: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``days`` (days since epoch, sorted), their local midnight (epoch seconds)
    and their length in seconds (82,800 / 86,400 / 90,000 around DST changes). A partition
    has a few dozen distinct days, so this is a lookup table, never a per-row computation."""
    days = np.unique(np.asarray(days, dtype=np.int64))
    start = np.fromiter((_local_midnight(d, tz) for d in days), np.int64, len(days))
    end = np.fromiter((_local_midnight(d + 1, tz) for d in days), np.int64, len(days))
    return days, start, end - start


def local_day_seconds(days: pl.Series | pd.Series, tz: str) -> pl.Series:
    """Length in seconds of each local calendar day in ``days`` (dates): 82,800 / 86,400 /
    90,000 s around DST changes. Computed once per distinct day."""
    days = pl.from_pandas(days) if isinstance(days, pd.Series) else days
    day_numbers = days.cast(pl.Date).to_physical()
    known, _, length = day_table(day_numbers.drop_nulls().unique().to_numpy(), tz)
    return day_numbers.replace_strict(
        pl.Series(known.astype(np.int32)), pl.Series(length), default=None, return_dtype=pl.Int64
    ).alias("day_s")


def local_day_seconds_expr(days: pl.Expr, tz: str) -> pl.Expr:
    """``local_day_seconds`` as an expression, for a ``with_columns`` over local dates."""
    return days.map_batches(lambda s: local_day_seconds(s, tz), return_dtype=pl.Int64)


def month_days(month: str, tz: str) -> pl.DataFrame:
    """Local calendar days of ``month`` (``local_date``) with their length (``day_s``)."""
    days, _, length = day_table(month_day_numbers(month), tz)
    return pl.DataFrame(
        {"local_date": pl.Series(days.astype(np.int32)).cast(pl.Date), "day_s": length}
    )


def local_date(instant: pl.Expr, tz: str) -> pl.Expr:
    """The local calendar day an instant (UTC) falls on."""
    return instant.dt.convert_time_zone(tz).dt.date()


def local_to_utc(local: pl.Expr, tz: str) -> pl.Expr:
    """A local wall-clock time (naive) as the UTC instant it names in ``tz``."""
    return local.dt.replace_time_zone(tz).dt.convert_time_zone("UTC")


def local_midnight_utc(days: pl.Expr, tz: str) -> pl.Expr:
    """The UTC instant of the local midnight starting each day (dates): the day's start as
    ``day_table`` has it, computed once per distinct day."""

    def starts(s: pl.Series) -> pl.Series:
        numbers = s.cast(pl.Date).to_physical()
        known, start, _ = day_table(numbers.drop_nulls().unique().to_numpy(), tz)
        seconds = numbers.replace_strict(
            pl.Series(known.astype(np.int32)), pl.Series(start), default=None
        )
        return pl.from_epoch(seconds, time_unit="s").dt.replace_time_zone("UTC")

    return days.map_batches(starts, return_dtype=pl.Datetime("us", "UTC"), is_elementwise=True)
