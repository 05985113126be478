"""The interval grid: local days, the intervals a meter channel should deliver on them, and
how much of that arrived (coverage). One module, so VEE, the daily summaries and the DQ
profile cannot disagree on how long a day is or how many readings it holds.

* A **local day** lasts 23, 24 or 25 hours in its time zone (New York's DST changes;
  Asia/Karachi has none): ``day_table`` / ``local_day_seconds``.
* A **series** is a meter × channel. On a local day it should deliver ``day / interval``
  readings (one for a daily read, whatever the day's length): ``expected_intervals``.
* **Coverage** (V1/V9) counts delivered readings only: intervals VEE added are estimates.
  A day is **covered** when at least half its intervals are present (CalTRACK). Two
  meanings of "expected days" are in use and give different figures, so each has its own
  function: ``coverage`` (VEE: the days each utility's ``expected_days`` mode expects) and
  ``month_coverage`` (DQ profile: every day of the month for every series seen).

Instants are whole seconds since ``Grid.base`` so a series and an instant pack into one
int64 (``key``) for lookups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.frames import as_polars
from gridflow_assets.silver.vee_config import interval_class, params_for

DAY_S = 86_400
LOCAL_DAY_RANGE = (82_800, 90_000)  # a daily read covers one local day: 23 to 25 hours
JUDGED_KINDS = ("interval", "register")
SERIES_COLUMNS = ("meter_id", "channel", "measurement", "direction", "reading_kind", "interval_s")
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class VeeInput:
    """The partition being judged: whose parameters (utility), which window (the drop's
    month, V3) and which clock (the utility's time zone, local days)."""

    utility: str
    month: str  # YYYY-MM
    timezone: str


# --------------------------------------------------------------------------- local days


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


def nominal_interval(interval_s: pl.Expr) -> pl.Expr:
    """Interval length as a reading type: local-day reads of 23/25 hours are 86,400 s (a
    utility's daily reads are one reading type, not three split by the calendar)."""
    return (
        pl.when(interval_s.is_between(*LOCAL_DAY_RANGE))
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


EMPTY_COVERAGE = {
    "expected_intervals": 0,
    "present_intervals": 0,
    "missing_intervals": 0,
    "interval_coverage": None,
    "expected_days": 0,
    "covered_days": 0,
    "day_coverage": None,
    "incomplete_days": 0,
    "series": 0,
    "series_below_half": 0,
    "days_by_length": {},
}


def coverage(df: pl.DataFrame | pd.DataFrame, inp: VeeInput) -> dict:
    """V1 and V9 as VEE sees them (the days each series is expected on follow the
    utility's ``expected_days`` mode): expected and present intervals, days covered, and
    the series-days by length (23/24/25-hour days). Delivered readings only."""
    return coverage_total([coverage_counts(df, inp)])


def coverage_counts(df: pl.DataFrame | pd.DataFrame, inp: VeeInput) -> dict:
    """The counts ``coverage`` is made of, for a frame holding whole series (a meter
    bucket): every count adds up over buckets, so ``coverage_total`` of the buckets' counts
    is the partition's coverage."""
    df = as_polars(df)
    counts = dict.fromkeys(_SUMMED, 0) | {"days_by_length": {}}
    if df.is_empty():
        return counts
    e = expected_intervals(build_grid(df, inp))
    found = np.minimum(e.found, e.expected)
    s_found = np.bincount(e.sid, weights=found)
    s_expected = np.bincount(e.sid, weights=e.expected)
    in_series = s_expected > 0
    hours = e.day_len // 3600
    counts.update(
        expected_intervals=int(e.expected.sum()),
        present_intervals=int(found.sum()),
        expected_days=len(e.sid),
        covered_days=int((found >= 0.5 * e.expected).sum()),
        incomplete_days=int((found < e.expected).sum()),
        series=int(in_series.sum()),
        series_below_half=int((s_found < 0.5 * s_expected)[in_series].sum()),
        days_by_length={
            int(h): (
                int((hours == h).sum()),
                int(e.expected[hours == h].sum()),
                int(found[hours == h].sum()),
            )
            for h in np.unique(hours)
        },
    )
    return counts


_SUMMED = (
    "expected_intervals",
    "present_intervals",
    "expected_days",
    "covered_days",
    "incomplete_days",
    "series",
    "series_below_half",
)


def coverage_total(parts: list[dict]) -> dict:
    """``coverage`` from the ``coverage_counts`` of the buckets of a partition."""
    total = {k: sum(p[k] for p in parts) for k in _SUMMED}
    by_length: dict[int, list[int]] = {}
    for part in parts:
        for h, figures in part["days_by_length"].items():
            by_length[h] = [a + b for a, b in zip(by_length.get(h, [0, 0, 0]), figures)]
    expected, present, days = (
        total["expected_intervals"],
        total["present_intervals"],
        total["expected_days"],
    )
    if not days:
        return {**EMPTY_COVERAGE, "days_by_length": {}}
    return {
        "expected_intervals": expected,
        "present_intervals": present,
        "missing_intervals": expected - present,
        "interval_coverage": present / expected if expected else None,
        "expected_days": days,
        "covered_days": total["covered_days"],
        "day_coverage": total["covered_days"] / days,
        "incomplete_days": total["incomplete_days"],
        "series": total["series"],
        "series_below_half": total["series_below_half"],
        "days_by_length": {
            f"{h} h": {
                "series_days": n,
                "expected_intervals": exp,
                "present_intervals": pres,
            }
            for h, (n, exp, pres) in sorted(by_length.items())
        },
    }


def month_coverage(
    iv: pl.DataFrame | pd.DataFrame | Iterable[pl.DataFrame], month: str, tz: str
) -> dict:
    """Coverage as the DQ profile reports it (not VEE's figures): ``interval_coverage`` =
    readings present / expected inside the local days each series delivered (a gap inside
    a day); ``day_coverage`` = days with at least half their readings over every day of
    the month for every series seen (a day not delivered at all counts). Series are meter
    × channel × nominal interval; delivered interval and register readings only.

    ``iv``: the partition's intervals, or its meter buckets one after another (each
    series is within one bucket, so the readings per series-day of the buckets add up)."""
    days = month_days(month, tz)
    if isinstance(iv, pl.DataFrame | pd.DataFrame):
        iv = [iv]
    parts = [_present(bucket, days) for bucket in iv]
    return _month_coverage(pl.concat(parts) if parts else pl.DataFrame(), days)


def _present(iv: pl.DataFrame | pd.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """Readings present and expected per series and local day of the month."""
    known = (
        as_polars(iv)
        .lazy()
        .filter(
            pl.col("source_row").is_not_null()
            & pl.col("reading_kind").is_in(JUDGED_KINDS)
            & pl.col("local_date").cast(pl.Date).is_in(days["local_date"].implode())
        )
    )
    return (
        known.group_by(
            "meter_id",
            "channel",
            nominal_interval(pl.col("interval_s")).alias("interval_s"),
            pl.col("local_date").cast(pl.Date),
        )
        .agg(present=pl.len())
        .join(days.lazy(), on="local_date", how="left")
        .with_columns(expected=intervals_per_day(pl.col("day_s"), pl.col("interval_s")))
        .collect()
    )


def _month_coverage(present: pl.DataFrame, days: pl.DataFrame) -> dict:
    if present.is_empty():
        return {
            "interval_coverage": None,
            "day_coverage": None,
            "series": 0,
            "channels_with_gaps": 0,
            "days_in_month": len(days),
        }
    series = ["meter_id", "channel", "interval_s"]
    n_series = present.select(series).n_unique()
    gappy = present.filter(pl.col("present") < pl.col("expected")).select(series).n_unique()
    found = present.select(pl.min_horizontal("present", "expected")).to_series().sum()
    covered = int((present["present"] >= 0.5 * present["expected"]).sum())
    return {
        "interval_coverage": float(found / present["expected"].sum()),
        "day_coverage": covered / (n_series * len(days)),
        "series": n_series,
        "channels_with_gaps": gappy,
        "days_in_month": len(days),
    }
