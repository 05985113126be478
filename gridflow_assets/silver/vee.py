"""VEE: validation, estimation and editing of interval data (domain.md, rules V1–V9, E1–E4).

Utilities do not bill raw interval data: they validate every reading, estimate what is
missing or wrong, and keep an audit trail. ``apply_vee`` does that for one month × utility
partition of ``silver/intervals``, right after the utility's adapter, for every utility.
Thresholds are data (``vee_config``); the rules are pure functions over numpy arrays, one
pass over the partition, never a Python loop per reading.

What a reading carries afterwards:

* ``quality_code``: 10 when a VEE rule failed it (V3–V6) and no estimate replaced it; 9 for
  an interpolation (E1, also scaled by E3), 8 for other estimates (E2 like-day profile, E3
  register share); otherwise what the utility's code mapped to.
* ``value_original``: the value as delivered, untouched; null on rows VEE added.
* ``rule_ids``: the rules that fired, after the adapter's own ids.
* ``is_estimated`` / ``estimation_method``: the value is an estimate, and how it was made.

Choices (documented in the README section of the issue):

* **Series** = meter × channel. Its **expected days** (V1/V9) follow ``expected_days``:
  ``delivered_days`` (New York: complete days of a few days per meter and month),
  ``series_span`` (every day from the channel's first to last day with data: IESCO,
  UTILITY2 daily reads) or ``month``. A local day has 23, 24 or 25 hours: expected
  intervals per day follow the day's real length in the utility's time zone.
* **Holes** = expected intervals not delivered (V1) plus delivered readings that failed
  validation (V3–V6, or delivered with common quality 10). Misaligned or out-of-month
  readings (V3) are failed but never replaced in place: their grid slot is a hole.
* **E1** interpolates linearly between the valid readings bounding a hole run of at most
  ``e1_max_gap_s``; a reading inside a supply outage is never an endpoint. **E2** averages
  the same wall-clock slot on the same weekday 1–``like_day_weeks`` weeks earlier (later
  ones only when no earlier one exists), from actual readings (not estimates, not outage
  intervals) on days without holes. **E3** scales a run's estimates so they add up to the
  register difference across the run (IESCO ``register_kwh``, UTILITY2 register channels),
  or spreads that difference evenly when E1/E2 had nothing. **E4** re-validates every
  estimate against V4 and V5; one that fails is withdrawn (the hole stays, counted).
* Registers are validated (V3, V4, V6, V7) but never estimated: E1/E2 would invent usage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gridflow_assets.silver import vee_config
from gridflow_assets.silver.vee_config import interval_class, params_for

FAILED = 10
INTERPOLATED = 9
ESTIMATED = 8
UTILITY_ESTIMATES = (8, 9)
METHODS = ("interpolated", "like_day_profile", "scaled_to_register")
VALIDATION_RULES = ("V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9")
ESTIMATION_RULES = ("E1", "E2", "E3", "E4")
# Order in which VEE appends its ids to a row's rule_ids (after the adapter's ids).
ROW_RULES = ("V3", "V4", "V5", "V6", "V7", "V8", "QUALITY_FAILED", "V1", "E1", "E2", "E3",
             "E4")
JUDGED_KINDS = ("interval", "register")
NS = 1_000_000_000
DAY_S = 86_400
_EPS = 1e-9


@dataclass(frozen=True)
class VeeInput:
    utility: str
    month: str  # YYYY-MM: the drop's window (V3)
    timezone: str


@dataclass
class VeeResult:
    intervals: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)  # rows per rule id, plus totals


def delivered_count(df: pd.DataFrame) -> int:
    """Rows that came from a landed row. Estimates VEE added did not land, so the row
    accounting (landed = kept + duplicates + rejected) counts only rows with a
    ``source_row``."""
    if "source_row" not in df.columns:
        return len(df)
    return int(df.source_row.notna().sum())


# --------------------------------------------------------------------------- the grid

@dataclass
class Grid:
    """Per-row arrays and per-series attributes VEE and the ``vee__`` checks share.

    Instants are whole seconds since ``base`` (every grid instant is a whole second);
    ``key(sid, t)`` packs a series and an instant into one int64 for hash lookups.
    """

    sid: np.ndarray  # series (meter × channel) of each row
    series: pd.DataFrame  # one row per series: type columns and VEE parameters
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

    def day_index(self, days: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.days, days)

    def steps(self, sid: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Grid step of series ``sid`` on ``days``: its interval, or the local day."""
        daily = self.series.daily.to_numpy()[sid]
        return np.where(daily, self.day_len[self.day_index(days)],
                        self.series.interval_s.to_numpy()[sid])


def key(sid: np.ndarray, t: np.ndarray) -> np.ndarray:
    return (sid.astype(np.int64) << 32) | t.astype(np.int64)


def _seconds(ts: pd.Series) -> np.ndarray:
    return ts.dt.as_unit("ns").values.view("int64") // NS


def _day_numbers(dates: pd.Series) -> np.ndarray:
    return dates.values.astype("datetime64[D]").astype(np.int64)


def month_day_numbers(month: str) -> np.ndarray:
    first = pd.Period(month, "M")
    return np.arange(first.start_time.to_datetime64().astype("datetime64[D]").astype(np.int64),
                     (first + 1).start_time.to_datetime64().astype("datetime64[D]")
                     .astype(np.int64))


def _day_table(days: np.ndarray, tz: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local midnight (epoch seconds) and length of each local day."""
    days = np.unique(days)
    naive = pd.DatetimeIndex(days.astype("datetime64[D]").astype("datetime64[ns]"))
    nxt = naive + pd.Timedelta(days=1)
    kw = {"ambiguous": True, "nonexistent": "shift_forward"}
    start = naive.tz_localize(tz, **kw).asi8 // NS
    end = nxt.tz_localize(tz, **kw).asi8 // NS
    return days, start, end - start


def series_frame(df: pd.DataFrame, utility: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Series id of every row and one row per series with its type and parameters."""
    m_codes, meters = pd.factorize(df.meter_id)
    c_codes, channels = pd.factorize(df.channel)
    combined = m_codes.astype(np.int64) * max(len(channels), 1) + c_codes
    sid, _ = pd.factorize(combined)
    _, first = np.unique(sid, return_index=True)
    series = df.iloc[first][["meter_id", "channel", "measurement", "direction",
                             "reading_kind", "interval_s"]].reset_index(drop=True)
    series["interval_s"] = series.interval_s.astype("int64")
    series["interval"] = interval_class(series.interval_s)
    series["daily"] = series.interval == "daily"
    types = series[["measurement", "direction", "reading_kind", "interval"]].drop_duplicates()
    params = params_for(utility, types.reset_index(drop=True))
    typed = pd.concat([types.reset_index(drop=True), params], axis=1)
    series = series.merge(typed, on=["measurement", "direction", "reading_kind", "interval"],
                          how="left")
    series["judged"] = series.reading_kind.isin(JUDGED_KINDS)
    return sid.astype(np.int64), series


def build_grid(df: pd.DataFrame, inp: VeeInput) -> Grid:
    sid, series = series_frame(df, inp.utility)
    day = _day_numbers(df.local_date)
    month_days = month_day_numbers(inp.month)
    days, day_start, day_len = _day_table(np.concatenate([day, month_days]), inp.timezone)
    start_abs = _seconds(df.start_utc)
    base = int(min(start_abs.min(initial=day_start.min()), day_start.min())) - 8 * DAY_S
    start = start_abs - base
    end = _seconds(df.end_utc) - base
    day_start = day_start - base
    di = np.searchsorted(days, day)
    judged = series.judged.to_numpy()[sid]
    daily = series.daily.to_numpy()[sid]
    step = np.maximum(np.where(daily, day_len[di], df.interval_s.to_numpy(dtype="int64")), 1)
    pos = start - day_start[di]
    aligned = (pos >= 0) & (pos < day_len[di]) & (pos % step == 0)
    delivered = df.source_row.notna().to_numpy() if "source_row" in df else \
        np.ones(len(df), dtype=bool)
    return Grid(sid=sid, series=series, judged=judged, delivered=delivered, day=day,
                start=start, end=end, step=step, aligned=aligned,
                in_month=np.isin(day, month_days), month_days=month_days, days=days,
                day_start=day_start, day_len=day_len, base=base)


@dataclass
class Expected:
    """Expected intervals per series and local day (V1), and how many were delivered."""

    sid: np.ndarray
    day: np.ndarray
    expected: np.ndarray
    found: np.ndarray
    day_len: np.ndarray


def expected_intervals(g: Grid) -> Expected:
    """Series-days expected by each series' ``expected_days`` mode, with the delivered
    on-grid readings found on them (any quality: V1/V9 count what arrived)."""
    has = g.judged & g.delivered & g.in_month
    first_day = g.month_days[0]
    n_days = len(g.month_days)
    sd = g.sid[has] * n_days + (g.day[has] - first_day)
    with_data = np.unique(sd)
    mode = g.series.expected_days.to_numpy()
    s_of = with_data // n_days
    d_of = with_data % n_days
    parts = [with_data[mode[s_of] == "delivered_days"]]
    span_s = np.unique(s_of[mode[s_of] == "series_span"])
    if len(span_s):
        lo = pd.Series(d_of).groupby(s_of).min().reindex(span_s).to_numpy()
        hi = pd.Series(d_of).groupby(s_of).max().reindex(span_s).to_numpy()
        counts = hi - lo + 1
        rep = np.repeat(np.arange(len(span_s)), counts)
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        parts.append(span_s[rep] * n_days + lo[rep] + within)
    month_s = np.unique(s_of[mode[s_of] == "month"])
    if len(month_s):
        parts.append((month_s[:, None] * n_days + np.arange(n_days)[None, :]).ravel())
    pairs = np.unique(np.concatenate(parts)) if parts else np.array([], dtype=np.int64)
    sid = pairs // n_days
    day = first_day + pairs % n_days
    steps = g.steps(sid, day)
    day_len = g.day_len[g.day_index(day)]
    ok = has & g.aligned
    counts = np.bincount(g.sid[ok] * n_days + (g.day[ok] - first_day),
                         minlength=int(pairs.max(initial=-1)) + 1)
    found = counts[pairs] if len(pairs) else np.array([], dtype=np.int64)
    return Expected(sid=sid, day=day, expected=np.maximum(day_len // steps, 1),
                    found=found, day_len=day_len)


def coverage(df: pd.DataFrame, inp: VeeInput) -> dict:
    """V1 and V9 over a partition (delivered readings only; VEE's own rows are estimates,
    not coverage): expected and present intervals, days covered (CalTRACK: at least half
    the day's intervals present), and the series-days by length (23/24/25-hour days)."""
    if df.empty:
        return {"expected_intervals": 0, "present_intervals": 0, "missing_intervals": 0,
                "interval_coverage": None, "expected_days": 0, "covered_days": 0,
                "day_coverage": None, "incomplete_days": 0, "series": 0,
                "series_below_half": 0, "days_by_length": {}}
    g = build_grid(df, inp)
    e = expected_intervals(g)
    found = np.minimum(e.found, e.expected)
    covered = found >= 0.5 * e.expected
    per_series = pd.DataFrame({"sid": e.sid, "found": found, "expected": e.expected}) \
        .groupby("sid").sum()
    by_len = pd.DataFrame({"hours": e.day_len // 3600, "expected": e.expected,
                           "found": found}).groupby("hours").agg(
        series_days=("expected", "size"), expected_intervals=("expected", "sum"),
        present_intervals=("found", "sum"))
    expected_total = int(e.expected.sum())
    return {
        "expected_intervals": expected_total,
        "present_intervals": int(found.sum()),
        "missing_intervals": int(expected_total - found.sum()),
        "interval_coverage": float(found.sum() / expected_total) if expected_total else None,
        "expected_days": len(e.sid), "covered_days": int(covered.sum()),
        "day_coverage": float(covered.mean()) if len(e.sid) else None,
        "incomplete_days": int((found < e.expected).sum()),
        "series": len(per_series),
        "series_below_half": int((per_series.found < 0.5 * per_series.expected).sum()),
        "days_by_length": {f"{h} h": {k: int(v) for k, v in row.items()}
                           for h, row in by_len.iterrows()},
    }


# --------------------------------------------------------------------------- validation

def group_quantiles(groups: np.ndarray, values: np.ndarray,
                    qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantiles of ``values`` per group (linear interpolation, as pandas), vectorized:
    returns the groups, their sizes and one column per quantile."""
    order = np.lexsort((values, groups))
    g, v = groups[order], values[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.array([], int)
    counts = np.diff(np.r_[starts, len(g)])
    out = np.empty((len(starts), len(qs)))
    for j, q in enumerate(qs):
        pos = q * (counts - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        out[:, j] = v[starts + lo] + (v[starts + hi] - v[starts + lo]) * (pos - lo)
    return g[starts], counts, out


def spike_thresholds(g: Grid, value: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """V5 threshold of each series: median + k × IQR of its usable readings of the month;
    NaN where the series has too few readings or no spread (IQR 0: the rule is undefined)."""
    thr = np.full(len(g.series), np.nan)
    mask = usable & (g.series.reading_kind.to_numpy()[g.sid] == "interval")
    if not mask.any():
        return thr
    groups, counts, q = group_quantiles(g.sid[mask], value[mask], (0.25, 0.5, 0.75))
    k = g.series.spike_iqr_factor.to_numpy()[groups]
    iqr = q[:, 2] - q[:, 0]
    enough = counts >= g.series.spike_min_readings.to_numpy()[groups]
    thr[groups] = np.where(enough & (iqr > 0), q[:, 1] + k * iqr, np.nan)
    return thr


def frozen_runs(g: Grid, value: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """V6: rows in a run of at least ``frozen_run_min`` consecutive identical non-zero
    values of one series (consecutive = the next interval starts where the last ended)."""
    idx = np.flatnonzero(mask)
    order = idx[np.lexsort((g.start[idx], g.sid[idx]))]
    s, v = g.sid[order], value[order]
    same = np.r_[False, (s[1:] == s[:-1]) & (g.start[order][1:] == g.end[order][:-1])
                 & (v[1:] == v[:-1])] & (v != 0)
    run = np.cumsum(~same)
    length = np.bincount(run)[run]
    need = g.series.frozen_run_min.to_numpy()[s]
    out = np.zeros(len(value), dtype=bool)
    out[order] = (need > 0) & (length >= need) & (v != 0)
    return out


def limits(g: Grid, sid: np.ndarray, step: np.ndarray,
           load_kw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """V4 low and high limits for readings of series ``sid`` lasting ``step`` seconds: the
    configured low limit, and the high limit as kW × hours, from a fixed power or from the
    service point's sanctioned load (``load_kw``, NaN when unknown) × a factor."""
    s = g.series
    low = s.low_limit.to_numpy()[sid]
    kw = s.high_limit_kw.to_numpy()[sid]
    kw = np.where(np.isnan(kw), load_kw * s.high_limit_load_factor.to_numpy()[sid], kw)
    return (np.where(np.isnan(low), -np.inf, low),
            np.where(np.isnan(kw), np.inf, kw * step / 3600))


@dataclass
class RegisterPoints:
    """Cumulative register values of interval series at instants (V7, E3)."""

    at: pd.Index  # key(sid, instant)
    value: np.ndarray
    tolerance: np.ndarray
    opening: pd.Index  # key(sid, start): register at a valid row's start (column registers)
    opening_value: np.ndarray

    @staticmethod
    def lookup(index: pd.Index, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
        pos = index.get_indexer(keys)
        return np.where(pos >= 0, values[np.maximum(pos, 0)], np.nan) if len(values) \
            else np.full(len(keys), np.nan)


def register_points(g: Grid, df: pd.DataFrame, valid: np.ndarray,
                    utility: str) -> RegisterPoints:
    """Registers at interval ends from the valid readings: a register column beside the
    value (IESCO ``register_kwh``) or a paired register channel (UTILITY2 9 → 1)."""
    keys, vals, tols = [], [], []
    open_keys, open_vals = [], []
    s = g.series
    column = s.register_column.to_numpy()[g.sid]
    for name in s.register_column.dropna().unique():
        if name not in df.columns:
            continue
        reg = df[name].to_numpy(dtype="float64")
        rows = np.flatnonzero(valid & (column == name) & ~np.isnan(reg))
        keys.append(key(g.sid[rows], g.end[rows]))
        vals.append(reg[rows])
        tols.append(s.register_tolerance.to_numpy()[g.sid[rows]])
        open_keys.append(key(g.sid[rows], g.start[rows]))
        open_vals.append(reg[rows] - df.value.to_numpy(dtype="float64")[rows])
    pairs = vee_config.register_pairs(utility)
    if len(pairs):
        lookup = pd.Index(s.meter_id + "\x1f" + s.channel)
        for p in pairs.itertuples():
            rows = np.flatnonzero(valid & (s.channel.to_numpy()[g.sid] == p.register_channel))
            target = lookup.get_indexer(s.meter_id.to_numpy()[g.sid[rows]] + "\x1f"
                                        + p.interval_channel)
            rows, target = rows[target >= 0], target[target >= 0]
            keys.append(key(target, g.end[rows]))
            vals.append(df.value.to_numpy(dtype="float64")[rows])
            tols.append(np.full(len(rows), p.tolerance))

    def frame(k, v, t=None):
        k = np.concatenate(k) if k else np.array([], dtype=np.int64)
        v = np.concatenate(v) if v else np.array([], dtype="float64")
        t = np.concatenate(t) if t else np.zeros(len(k))
        first = ~pd.Index(k).duplicated()
        return pd.Index(k[first]), v[first], t[first]

    at, value, tolerance = frame(keys, vals, tols)
    opening, opening_value, _ = frame(open_keys, open_vals)
    return RegisterPoints(at, value, tolerance, opening, opening_value)


def register_mismatch(g: Grid, value: np.ndarray, valid: np.ndarray,
                      pts: RegisterPoints) -> np.ndarray:
    """V7: an interval value differs from the register difference across it by more than
    the tolerance. Which side is wrong is unknown, so the reading is flagged, not failed."""
    out = np.zeros(len(value), dtype=bool)
    rows = np.flatnonzero(valid & (g.series.reading_kind.to_numpy()[g.sid] == "interval"))
    if not len(pts.at) or not len(rows):
        return out
    pos_end = pts.at.get_indexer(key(g.sid[rows], g.end[rows]))
    pos_start = pts.at.get_indexer(key(g.sid[rows], g.start[rows]))
    both = (pos_end >= 0) & (pos_start >= 0)
    diff = pts.value[pos_end[both]] - pts.value[pos_start[both]]
    out[rows[both]] = np.abs(value[rows[both]] - diff) > pts.tolerance[pos_end[both]] + _EPS
    return out


# --------------------------------------------------------------------------- estimation

@dataclass
class Holes:
    """Grid slots needing an estimate, sorted by series and time, grouped in runs."""

    sid: np.ndarray
    day: np.ndarray
    start: np.ndarray
    end: np.ndarray
    row: np.ndarray  # delivered row failed in place, or -1 for a missing interval
    run: np.ndarray  # run id: consecutive holes of one series


def find_holes(g: Grid, e: Expected, failed_on_grid: np.ndarray) -> Holes:
    """Missing expected intervals (V1) and failed on-grid readings, in runs."""
    n_days = len(g.month_days)
    inc = np.flatnonzero(e.found < e.expected)
    reps = e.expected[inc]
    idx = np.repeat(inc, reps)
    slot = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    m_sid, m_day = e.sid[idx], e.day[idx]
    di = g.day_index(m_day)
    step = g.steps(m_sid, m_day)
    m_start = g.day_start[di] + slot * step
    m_end = np.minimum(m_start + step, g.day_start[di] + g.day_len[di])
    inc_pairs = np.zeros(len(g.series) * n_days, dtype=bool)
    inc_pairs[e.sid[inc] * n_days + (e.day[inc] - g.month_days[0])] = True
    present = g.judged & g.delivered & g.aligned & g.in_month
    present[present] = inc_pairs[g.sid[present] * n_days + (g.day[present] - g.month_days[0])]
    missing = ~np.isin(key(m_sid, m_start), key(g.sid[present], g.start[present]))
    f = np.flatnonzero(failed_on_grid)
    sid = np.r_[m_sid[missing], g.sid[f]]
    start = np.r_[m_start[missing], g.start[f]]
    order = np.lexsort((start, sid))
    sid, start = sid[order], start[order]
    end = np.r_[m_end[missing], g.end[f]][order]
    row = np.r_[np.full(int(missing.sum()), -1), f][order]
    day = np.r_[m_day[missing], g.day[f]][order]
    brk = np.r_[True, (sid[1:] != sid[:-1]) | (start[1:] != end[:-1])] if len(sid) else \
        np.array([], dtype=bool)
    return Holes(sid=sid, day=day, start=start, end=end, row=row, run=np.cumsum(brk) - 1)


def _run_frame(h: Holes) -> pd.DataFrame:
    first = np.flatnonzero(np.r_[True, h.run[1:] != h.run[:-1]]) if len(h.run) else \
        np.array([], dtype=np.int64)
    n = np.diff(np.r_[first, len(h.run)])
    last = first + n - 1
    return pd.DataFrame({"sid": h.sid[first], "start": h.start[first], "end": h.end[last],
                         "n": n, "first": first})


def interpolate(h: Holes, runs: pd.DataFrame, before: np.ndarray, after: np.ndarray,
                allowed: np.ndarray) -> np.ndarray:
    """E1: linear interpolation across a run between the reading ending where it starts
    (``before``) and the one starting where it ends (``after``), for runs ``allowed``."""
    out = np.full(len(h.sid), np.nan)
    ok = (allowed & ~np.isnan(before) & ~np.isnan(after))[h.run]
    k = np.arange(len(h.sid)) - runs["first"].to_numpy()[h.run] + 1
    n = runs.n.to_numpy()[h.run]
    a, b = before[h.run], after[h.run]
    out[ok] = (a + (b - a) * k / (n + 1))[ok]
    return out


def wall_slots(g: Grid, tz: str, sid: np.ndarray, start: np.ndarray,
               day: np.ndarray) -> np.ndarray:
    """Slot of the local wall-clock time of day (0 for daily reads): like days are matched
    on it, so 18:00 matches 18:00 across a DST change."""
    local = pd.DatetimeIndex((start + g.base) * NS, tz="UTC").tz_convert(tz)
    wall = (local.hour * 3600 + local.minute * 60 + local.second).to_numpy()
    daily = g.series.daily.to_numpy()[sid]
    step = g.series.interval_s.to_numpy()[sid]
    return np.where(daily, 0, wall // np.maximum(step, 1))


def _profile_key(sid: np.ndarray, day: np.ndarray, slot: np.ndarray) -> np.ndarray:
    return (((sid.astype(np.int64) << 20) | (day.astype(np.int64) & 0xFFFFF)) << 12) | slot


def like_day_profile(g: Grid, h: Holes, want: np.ndarray, value: np.ndarray,
                     actual: np.ndarray, tz: str) -> np.ndarray:
    """E2: mean of the same wall-clock slot on the same weekday 1..``like_day_weeks``
    weeks earlier; later weeks only when no earlier day has a value. Only actual readings
    (``actual``: valid, not estimated, no supply outage) on days of the series without
    holes count: a day with an outage in the data is not a like day."""
    out = np.full(len(h.sid), np.nan)
    targets = np.flatnonzero(want)
    if not len(targets):
        return out
    n_days = len(g.month_days)
    hole_days = np.unique(h.sid * n_days + (h.day - g.month_days[0]))
    in_series = np.isin(g.sid, np.unique(h.sid[targets]))
    rows = np.flatnonzero(actual & in_series)
    sd = g.sid[rows] * n_days + (g.day[rows] - g.month_days[0])
    rows = rows[~np.isin(sd, hole_days)]
    slots = wall_slots(g, tz, g.sid[rows], g.start[rows], g.day[rows])
    pk = pd.Index(_profile_key(g.sid[rows], g.day[rows], slots))
    first = ~pk.duplicated()  # fall-back day: the repeated wall-clock hour counts once
    pk, pvals = pk[first], value[rows][first]
    if not len(pk):
        return out
    t_sid, t_day = h.sid[targets], h.day[targets]
    t_slot = wall_slots(g, tz, t_sid, h.start[targets], t_day)
    weeks = g.series.like_day_weeks.to_numpy()[t_sid].astype(np.int64)
    sums = {True: np.zeros(len(targets)), False: np.zeros(len(targets))}
    counts = {True: np.zeros(len(targets)), False: np.zeros(len(targets))}
    for w in range(1, int(weeks.max(initial=0)) + 1):
        for earlier in (True, False):
            d = t_day - 7 * w if earlier else t_day + 7 * w
            pos = pk.get_indexer(_profile_key(t_sid, d, t_slot))
            hit = (pos >= 0) & (w <= weeks)
            sums[earlier] += np.where(hit, pvals[np.maximum(pos, 0)], 0.0)
            counts[earlier] += hit
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts[True] > 0, sums[True] / counts[True],
                        np.where(counts[False] > 0, sums[False] / counts[False], np.nan))
    out[targets] = mean
    return out


def scale_to_registers(g: Grid, h: Holes, runs: pd.DataFrame, base: np.ndarray,
                       pts: RegisterPoints, estimable: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """E3: where the register before and after a run is known, the run's estimates add up
    to the register difference: scaled when E1/E2 gave every slot a value with the same
    sign as the difference, else spread evenly. A negative difference on a delivered or
    received channel contradicts the register and leaves the run to E1/E2.

    Returns the values, the E3 mode per hole (0 none, 1 scaled, 2 even), and per run the
    register at its start and end and their difference (NaN when unknown)."""
    sid = runs.sid.to_numpy()
    r0 = RegisterPoints.lookup(pts.at, pts.value, key(sid, runs.start.to_numpy()))
    r1 = RegisterPoints.lookup(pts.at, pts.value, key(sid, runs.end.to_numpy()))
    r1 = np.where(np.isnan(r1), RegisterPoints.lookup(pts.opening, pts.opening_value,
                                                      key(sid, runs.end.to_numpy())), r1)
    target = r1 - r0
    net = g.series.direction.to_numpy()[sid] == "net"
    usable = estimable[sid] & ~np.isnan(target) & (net | (target >= -_EPS))
    total = np.bincount(h.run, weights=np.nan_to_num(base), minlength=len(runs))
    complete = np.bincount(h.run, weights=np.isnan(base), minlength=len(runs)) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = target / total
    scaled = usable & complete & (total != 0) & (ratio >= 0)
    even = usable & ~scaled
    mode = np.select([scaled[h.run], even[h.run]], [1, 2], 0)
    n = runs.n.to_numpy()
    out = np.where(mode == 1, base * ratio[h.run],
                   np.where(mode == 2, (target / n)[h.run], base))
    return out, mode, r0, r1, target


def revalidate(h: Holes, runs: pd.DataFrame, est: np.ndarray, mode: np.ndarray,
               target: np.ndarray, low: np.ndarray, high: np.ndarray,
               spike: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E4: every estimate is validated again (V4 limits, the series' V5 threshold). A run
    scaled to its register whose shape puts an estimate out of bounds is spread evenly
    instead (the register total still holds), then checked again; estimates that still
    fail are withdrawn and their holes stay. Returns values, E3 modes, withdrawn mask."""
    def fails(values: np.ndarray) -> np.ndarray:
        return ~np.isnan(values) & ((values < low - _EPS) | (values > high + _EPS)
                                    | (values > spike + _EPS))

    bad = fails(est)
    redo = (np.bincount(h.run, weights=bad & (mode == 1), minlength=len(runs)) > 0)[h.run]
    est = np.where(redo, (target / runs.n.to_numpy())[h.run], est)
    mode = np.where(redo, 2, mode)
    return est, mode, fails(est)


# --------------------------------------------------------------------------- the step

def _compose_rules(existing: pd.Series, flags: dict[str, np.ndarray]) -> pd.Series:
    """Append the ids whose mask is set, in ``ROW_RULES`` order, to ``existing``; only
    flagged rows are touched."""
    any_flag = np.zeros(len(existing), dtype=bool)
    for mask in flags.values():
        any_flag |= mask
    out = existing.astype("object").copy()
    rows = np.flatnonzero(any_flag)
    if not len(rows):
        return out
    text = np.array([""] * len(rows), dtype=object)
    for rule in ROW_RULES:
        if rule in flags:
            hit = flags[rule][rows]
            text = np.where(hit, np.where(text == "", rule, text + ";" + rule), text)
    current = out.iloc[rows].to_numpy()
    has = pd.notna(current) & (current != "")
    out.iloc[rows] = np.where(has, current.astype(str) + ";" + text, text)
    return out


def rule_counts(rule_ids: pd.Series) -> dict[str, int]:
    """Rows per rule id (a ';'-separated list per row), counted over distinct lists."""
    combos = rule_ids.dropna().value_counts()
    counts: dict[str, int] = {}
    for ids, n in combos.items():
        for rule in str(ids).split(";"):
            if rule:
                counts[rule] = counts.get(rule, 0) + int(n)
    return dict(sorted(counts.items()))


def _lookup_values(rows: np.ndarray, keys: np.ndarray, values: np.ndarray,
                   wanted: np.ndarray) -> np.ndarray:
    """Value of the row among ``rows`` whose key is ``wanted`` (NaN when none)."""
    index = pd.Index(keys[rows])
    first = ~index.duplicated()
    return RegisterPoints.lookup(index[first], values[rows][first], wanted)


def apply_vee(intervals: pd.DataFrame, service_points: pd.DataFrame | None,
              inp: VeeInput) -> VeeResult:
    """Validate, estimate and edit one partition of ``silver/intervals``; see the module
    docstring for the rules. Delivered rows keep their order; added estimates follow."""
    df = intervals.reset_index(drop=True)
    df["is_estimated"] = False
    df["estimation_method"] = None
    if df.empty:
        return VeeResult(df, {})
    g = build_grid(df, inp)
    s = g.series
    value = df.value.to_numpy(dtype="float64")
    quality = df.quality_code.to_numpy(dtype="float64", na_value=np.nan)
    kind = s.reading_kind.to_numpy()[g.sid]
    load = np.full(len(df), np.nan)
    if (service_points is not None and "sanctioned_load_kw" in service_points
            and s.high_limit_load_factor.notna().any()):
        sanctioned = service_points.drop_duplicates("service_point_id").set_index(
            "service_point_id").sanctioned_load_kw
        load = df.service_point_id.map(sanctioned).to_numpy(dtype="float64")
    statuses = vee_config.utility_param(inp.utility, "outage_statuses")
    outage = (df.status.isin(statuses.split("|")).to_numpy() if statuses and "status" in df
              else np.zeros(len(df), dtype=bool))

    # Validation of delivered readings.
    on = g.judged & g.delivered
    v3 = on & (~g.aligned | ~g.in_month)
    low, high = limits(g, g.sid, g.step, load)
    v4 = on & ((value < low - _EPS) | ((kind == "interval") & (value > high + _EPS)))
    delivered_failed = on & (quality == FAILED)
    spike = spike_thresholds(g, value, on & ~v3 & ~v4 & ~delivered_failed)
    v5 = on & ~v3 & (value > spike[g.sid])
    v6 = frozen_runs(g, value, on & ~v3)
    failed = v3 | v4 | v5 | v6
    valid = on & ~failed & ~delivered_failed
    pts = register_points(g, df, valid, inp.utility)
    v7 = register_mismatch(g, value, valid, pts)
    orphan = (df.is_orphan_meter.fillna(False) | df.is_orphan_service_point.fillna(False)) \
        .to_numpy(dtype=bool)

    # Estimation of holes: missing intervals and failed on-grid readings.
    holes = find_holes(g, expected_intervals(g), on & ~v3 & (failed | delivered_failed))
    runs = _run_frame(holes)
    estimable = (s.estimate.to_numpy() == 1) & (s.reading_kind.to_numpy() == "interval")
    r_sid, r_start, r_end = runs.sid.to_numpy(), runs.start.to_numpy(), runs.end.to_numpy()
    endpoint = np.flatnonzero(valid & ~outage)
    before = _lookup_values(endpoint, key(g.sid, g.end), value, key(r_sid, r_start))
    after = _lookup_values(endpoint, key(g.sid, g.start), value, key(r_sid, r_end))
    short = (r_end - r_start) <= s.e1_max_gap_s.to_numpy()[r_sid]
    e1 = interpolate(holes, runs, before, after, short & estimable[r_sid])
    actual = valid & ~outage & ~np.isin(quality, UTILITY_ESTIMATES)
    e2 = like_day_profile(g, holes, np.isnan(e1) & estimable[holes.sid], value, actual,
                          inp.timezone)
    base = np.where(~np.isnan(e1), e1, e2)
    base_rule = np.select([~np.isnan(e1), ~np.isnan(e2)], [1, 2], 0)
    est, e3, r0, r1, target = scale_to_registers(g, holes, runs, base, pts, estimable)
    attr = _attribute_rows(g, holes)
    h_low, h_high = limits(g, holes.sid, holes.end - holes.start, load[attr])
    est, e3, withdrawn = revalidate(holes, runs, est, e3, target, h_low, h_high,
                                    spike[holes.sid])
    final = ~np.isnan(est) & ~withdrawn
    method = np.select([final & (e3 > 0), final & (base_rule == 1), final & (base_rule == 2)],
                       ["scaled_to_register", "interpolated", "like_day_profile"], None)
    h_quality = np.where((base_rule == 1) & (e3 != 2), INTERPOLATED, ESTIMATED)
    h_rules = {"E1": final & (base_rule == 1) & (e3 != 2),
               "E2": final & (base_rule == 2) & (e3 != 2),
               "E3": final & (e3 > 0), "E4": final}

    # Editing: an estimate replaces a failed delivered value; value_original and
    # quality_code_original keep what was delivered.
    in_place = holes.row >= 0
    edit = in_place & final
    rows = holes.row[edit]
    new_quality = np.where(failed, FAILED, quality)
    new_quality[rows] = h_quality[edit]
    new_value = value.copy()
    new_value[rows] = est[edit]
    df["value"] = new_value
    df["quality_code"] = pd.array(new_quality, dtype="Float64").astype("Int64")
    df.loc[rows, "is_estimated"] = True
    df.loc[rows, "estimation_method"] = method[edit]
    flags = {"V3": v3, "V4": v4, "V5": v5, "V6": v6, "V7": v7, "V8": orphan,
             "QUALITY_FAILED": delivered_failed}
    for rule, mask in h_rules.items():
        flags[rule] = np.zeros(len(df), dtype=bool)
        flags[rule][holes.row[in_place & mask]] = True
    df["rule_ids"] = _compose_rules(df.rule_ids, flags)

    add = ~in_place & final
    registers = _estimated_registers(g, holes, est, r0, r1, runs)
    added = _added_rows(df, g, holes, add, attr, est, registers, h_quality, method, h_rules)
    out = pd.concat([df, added], ignore_index=True) if len(added) else df
    counts = rule_counts(out.rule_ids)
    counts.update({
        "missing_intervals": int((~in_place).sum()),
        "estimated_added": int(add.sum()),
        "estimated_in_place": int(edit.sum()),
        "estimates_withdrawn": int(withdrawn.sum()),
        "holes_not_estimated": int((~final).sum()),
    })
    return VeeResult(out, counts)


def _attribute_rows(g: Grid, h: Holes) -> np.ndarray:
    """For each hole, the delivered row of its series nearest before it (else after): an
    added row takes its service point, orphan flags and names from it."""
    rows = np.flatnonzero(g.judged & g.delivered)
    if not len(rows) or not len(h.sid):
        return np.zeros(len(h.sid), dtype=np.int64)
    order = rows[np.lexsort((g.start[rows], g.sid[rows]))]
    keys = key(g.sid[order], g.start[order])
    pos = np.clip(np.searchsorted(keys, key(h.sid, h.start), side="right") - 1, 0,
                  len(order) - 1)
    after = np.clip(pos + 1, 0, len(order) - 1)
    return np.where(g.sid[order][pos] == h.sid, order[pos], order[after])


def _estimated_registers(g: Grid, h: Holes, est: np.ndarray, r0: np.ndarray,
                         r1: np.ndarray, runs: pd.DataFrame) -> np.ndarray:
    """Register at the end of each estimated interval of a column-register series (IESCO):
    the register before the run plus the estimates so far, or, when only the register
    after the run is known, that register less the estimates still to come. With E3 both
    agree. NaN for other series and where no register is known."""
    column = g.series.register_column.notna().to_numpy()[h.sid]
    csum = np.cumsum(np.nan_to_num(est))
    start_of_run = np.r_[0.0, csum][runs["first"].to_numpy()][h.run]
    so_far = csum - start_of_run
    run_total = np.bincount(h.run, weights=np.nan_to_num(est), minlength=len(runs))[h.run]
    out = np.where(np.isnan(r0[h.run]), r1[h.run] - (run_total - so_far), r0[h.run] + so_far)
    return np.where(column & ~np.isnan(est), out, np.nan)


def _added_rows(df: pd.DataFrame, g: Grid, h: Holes, add: np.ndarray, attr: np.ndarray,
                est: np.ndarray, registers: np.ndarray, h_quality: np.ndarray,
                method: np.ndarray, h_rules: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows for missing intervals that were estimated: names, service point and orphan
    flags from the series' nearest delivered row; no source row; no original value."""
    idx = np.flatnonzero(add)
    if not len(idx):
        return df.iloc[0:0]
    src = df.iloc[attr[idx]].reset_index(drop=True)
    n = len(idx)

    def instants(seconds: np.ndarray) -> pd.Series:
        return pd.Series(pd.to_datetime((seconds + g.base) * NS, utc=True), index=src.index)

    flags = {"V1": np.ones(n, dtype=bool), **{r: m[idx] for r, m in h_rules.items()}}
    out = src.assign(
        interval_s=(h.end[idx] - h.start[idx]).astype(np.int64),
        start_utc=instants(h.start[idx]), end_utc=instants(h.end[idx]),
        local_date=h.day[idx].astype("datetime64[D]").astype("datetime64[ns]"),
        value=est[idx], value_original=None,
        quality_code=pd.array(h_quality[idx], dtype="Int64"), quality_code_original=None,
        status=None, register_kwh=registers[idx], voltage_v=np.nan, current_a=np.nan,
        power_factor=np.nan, frequency_hz=np.nan,
        last_update_utc=pd.Series(pd.NaT, index=src.index, dtype="datetime64[ns, UTC]"),
        rule_ids=None, source_file=None, source_row=pd.array([pd.NA] * n, dtype="Int64"),
        is_estimated=True, estimation_method=method[idx],
    )
    out["rule_ids"] = _compose_rules(out.rule_ids, flags)
    return out[df.columns]
