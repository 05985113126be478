"""The interval grid: the intervals a meter channel should deliver on its local days. VEE,
the daily summaries and the DQ profile take their readings per day from here and their
days from ``domain.localday``, so they cannot disagree on how long a day is or how many
readings it holds.

* A **local day** lasts 23, 24 or 25 hours in its time zone (``domain.localday``).
* A **series** is a meter × channel. On a local day it should deliver ``day / interval``
  readings (one for a daily read, whatever the day's length): ``expected_intervals``.
* How much of that arrived is ``silver.vee.coverage``.

Instants are whole seconds since ``Grid.base`` so a series and an instant pack into one
int64 (``key``) for lookups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from gridflow_assets.domain.localday import (
    DAY_S,
    LOCAL_DAY_MAX_S,
    LOCAL_DAY_MIN_S,
    day_table,
    month_day_numbers,
)
from gridflow_assets.silver.vee.config import interval_class, params_for

JUDGED_KINDS = ("interval", "register")
SERIES_COLUMNS = ("meter_id", "channel", "measurement", "direction", "reading_kind", "interval_s")


@dataclass(frozen=True)
class VeeInput:
    """The partition being judged: whose parameters (utility), which window (the drop's
    month, V3) and which clock (the utility's time zone, local days)."""

    utility: str
    month: str  # YYYY-MM
    timezone: str


# --------------------------------------------------------------------------- reading types


def nominal_interval(interval_s: pl.Expr) -> pl.Expr:
    """Interval length as a reading type: local-day reads of 23/25 hours are 86,400 s (a
    utility's daily reads are one reading type, not three split by the calendar)."""
    return (
        pl.when(interval_s.is_between(LOCAL_DAY_MIN_S, LOCAL_DAY_MAX_S))
        .then(DAY_S)
        .otherwise(interval_s)
        .cast(pl.Int64)
    )


def intervals_per_day(day_s: pl.Expr, interval_s: pl.Expr) -> pl.Expr:
    """Readings a series of nominal ``interval_s`` should deliver on a local day of
    ``day_s`` seconds, rounded, at least one (summaries and the DQ profile, which see a
    daily read as 86,400 s). VEE's grid gives the same for every interval that divides an
    hour and for daily reads."""
    return (day_s / interval_s).round().clip(lower_bound=1).cast(pl.Int64)


# --------------------------------------------------------------------------- the grid


def key(sid: np.ndarray, t: np.ndarray) -> np.ndarray:
    """A series and an instant (seconds since ``Grid.base``) packed into one int64."""
    return (sid.astype(np.int64) << 32) | t.astype(np.int64)


def epoch_seconds(ts: pl.Series) -> np.ndarray:
    """Whole seconds since the epoch of a datetime column (floored)."""
    return ts.dt.epoch("us").to_numpy() // 1_000_000


def series_frame(df: pl.DataFrame, utility: str) -> tuple[np.ndarray, pl.DataFrame]:
    """Series id of every row and one row per series with its type (from its first row)
    and VEE parameters. Series are numbered in (meter_id, channel) order, so a partition
    cut into sorted meter ranges numbers them in the same order (chunked VEE adds rows in
    the same order)."""
    series = (
        df.group_by("meter_id", "channel")
        .agg(pl.col(SERIES_COLUMNS[2:]).first())
        .sort("meter_id", "channel")
        .with_row_index("sid")
        .with_columns(pl.col("sid").cast(pl.Int64), pl.col("interval_s").cast(pl.Int64))
        .with_columns(interval=interval_class(pl.col("interval_s")))
    )
    sid = (
        df.select("meter_id", "channel")
        .join(
            series.select("meter_id", "channel", "sid"),
            on=["meter_id", "channel"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )["sid"]
        .to_numpy()
    )
    types = series.select("measurement", "direction", "reading_kind", "interval").unique(
        maintain_order=True
    )
    typed = pl.concat([types, params_for(utility, types)], how="horizontal")
    series = series.join(
        typed,
        on=["measurement", "direction", "reading_kind", "interval"],
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    return sid, series.with_columns(
        daily=pl.col("interval") == "daily", judged=pl.col("reading_kind").is_in(JUDGED_KINDS)
    )


@dataclass
class Grid:
    """Per-row arrays and per-series attributes VEE and the ``vee__`` checks share."""

    sid: np.ndarray  # series (meter × channel) of each row
    series: pl.DataFrame  # one row per series (row = sid): type columns and VEE parameters
    judged: np.ndarray  # row of an interval or register series (VEE applies)
    delivered: np.ndarray  # row came from a landed row (not added by VEE)
    day: np.ndarray  # local day of each row, days since 1970-01-01
    start: np.ndarray
    end: np.ndarray
    step: np.ndarray  # grid step of the row's series on its day (daily reads: the day)
    aligned: np.ndarray  # on the grid of its local day
    in_month: np.ndarray  # local day inside the drop's month
    month_days: np.ndarray  # days of the month (days since epoch)
    days: np.ndarray  # sorted days with known start and length
    day_start: np.ndarray  # local midnight of ``days`` (seconds since base)
    day_len: np.ndarray  # length of ``days`` in seconds (82,800 / 86,400 / 90,000)
    base: int  # epoch seconds of instant 0
    _cols: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def s(self, name: str) -> np.ndarray:
        """A per-series column as numpy (nulls as NaN / None), indexed by sid."""
        if name not in self._cols:
            self._cols[name] = self.series[name].to_numpy()
        return self._cols[name]

    def day_index(self, days: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.days, days)

    def in_series_order(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` (a boolean mask) sorted by series and start, ties in row order: one
        sort of the partition shared by every rule that walks a series in time."""
        if "_order" not in self._cols:
            self._cols["_order"] = np.lexsort((self.start, self.sid))
        order = self._cols["_order"]
        return order[rows[order]]

    def steps(self, sid: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Grid step of series ``sid`` on ``days``: its interval, or the local day."""
        return np.where(
            self.s("daily")[sid], self.day_len[self.day_index(days)], self.s("interval_s")[sid]
        )


def build_grid(df: pl.DataFrame, inp: VeeInput) -> Grid:
    sid, series = series_frame(df, inp.utility)
    day = df["local_date"].cast(pl.Date).to_physical().to_numpy().astype(np.int64)
    month_days = month_day_numbers(inp.month)
    days, day_start, day_len = day_table(np.concatenate([np.unique(day), month_days]), inp.timezone)
    start_abs = epoch_seconds(df["start_utc"])
    base = int(min(start_abs.min(initial=day_start.min()), day_start.min())) - 8 * DAY_S
    start = start_abs - base
    end = epoch_seconds(df["end_utc"]) - base
    day_start = day_start - base
    di = np.searchsorted(days, day)
    judged = series["judged"].to_numpy()[sid]
    daily = series["daily"].to_numpy()[sid]
    step = np.maximum(np.where(daily, day_len[di], df["interval_s"].to_numpy()), 1)
    pos = start - day_start[di]
    aligned = (pos >= 0) & (pos < day_len[di]) & (pos % step == 0)
    delivered = (
        df["source_row"].is_not_null().to_numpy()
        if "source_row" in df.columns
        else np.ones(len(df), dtype=bool)
    )
    return Grid(
        sid=sid,
        series=series,
        judged=judged,
        delivered=delivered,
        day=day,
        start=start,
        end=end,
        step=step,
        aligned=aligned,
        in_month=np.isin(day, month_days),
        month_days=month_days,
        days=days,
        day_start=day_start,
        day_len=day_len,
        base=base,
    )


@dataclass
class Expected:
    """Expected intervals per series and local day (V1), and how many were delivered."""

    sid: np.ndarray
    day: np.ndarray
    expected: np.ndarray
    found: np.ndarray
    day_len: np.ndarray


def _expected_pairs(g: Grid, with_data: np.ndarray) -> np.ndarray:
    """Series-days (``sid * n_days + day - first``) expected by each series' mode, from the
    sorted series-days that have data: those days (``delivered_days``), every day from the
    first to the last of them (``series_span``), or every day of the month (``month``)."""
    n_days = len(g.month_days)
    mode = g.s("expected_days")
    s_of, d_of = with_data // n_days, with_data % n_days
    parts = [with_data[mode[s_of] == "delivered_days"]]
    span = mode[s_of] == "series_span"
    if span.any():
        ss, dd = s_of[span], d_of[span]
        first = np.r_[True, ss[1:] != ss[:-1]]
        last = np.r_[first[1:], True]
        lo, counts = dd[first], dd[last] - dd[first] + 1
        rep = np.repeat(np.arange(len(lo)), counts)
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        parts.append(ss[first][rep] * n_days + lo[rep] + within)
    month_s = np.unique(s_of[mode[s_of] == "month"])
    if len(month_s):
        parts.append((month_s[:, None] * n_days + np.arange(n_days)[None, :]).ravel())
    return np.unique(np.concatenate(parts))


def expected_intervals(g: Grid) -> Expected:
    """Series-days expected by each series' ``expected_days`` mode, with the delivered
    on-grid readings found on them (any quality: V1/V9 count what arrived)."""
    has = g.judged & g.delivered & g.in_month
    first_day, n_days = g.month_days[0], len(g.month_days)
    pairs = _expected_pairs(g, np.unique(g.sid[has] * n_days + (g.day[has] - first_day)))
    sid, day = pairs // n_days, first_day + pairs % n_days
    steps = g.steps(sid, day)
    day_len = g.day_len[g.day_index(day)]
    ok = has & g.aligned
    counts = np.bincount(
        g.sid[ok] * n_days + (g.day[ok] - first_day), minlength=int(pairs.max(initial=-1)) + 1
    )
    return Expected(
        sid=sid,
        day=day,
        expected=np.maximum(day_len // steps, 1),
        found=counts[pairs],
        day_len=day_len,
    )
