"""VEE estimation: find the holes of each series and fill them (E1 interpolation, E2 like
day, E3 register share), then validate the estimates again (E4).

Holes are expected grid slots without a delivered reading (V1) plus failed on-grid
readings, grouped in runs of consecutive slots of one series. Everything here is per
series, so meter chunks give the same estimates as the whole partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from gridflow_assets.silver.vee.grid import Expected, Grid, key
from gridflow_assets.silver.vee.validate import EPS, Lookup, RegisterPoints


@dataclass
class Holes:
    """Grid slots needing an estimate, sorted by series and time, grouped in runs."""

    sid: np.ndarray
    day: np.ndarray
    start: np.ndarray
    end: np.ndarray
    row: np.ndarray  # delivered row failed in place, or -1 for a missing interval
    run: np.ndarray  # run id: consecutive holes of one series


@dataclass
class Runs:
    """One entry per run of holes: its series, first start, last end, size, first hole."""

    sid: np.ndarray
    start: np.ndarray
    end: np.ndarray
    n: np.ndarray
    first: np.ndarray


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
    brk = (
        np.r_[True, (sid[1:] != sid[:-1]) | (start[1:] != end[:-1])]
        if len(sid)
        else np.array([], dtype=bool)
    )
    return Holes(sid=sid, day=day, start=start, end=end, row=row, run=np.cumsum(brk) - 1)


def runs_of(h: Holes) -> Runs:
    first = (
        np.flatnonzero(np.r_[True, h.run[1:] != h.run[:-1]])
        if len(h.run)
        else np.array([], dtype=np.int64)
    )
    n = np.diff(np.r_[first, len(h.run)])
    return Runs(sid=h.sid[first], start=h.start[first], end=h.end[first + n - 1], n=n, first=first)


def endpoint_values(
    g: Grid, rows: np.ndarray, value: np.ndarray, runs: Runs
) -> tuple[np.ndarray, np.ndarray]:
    """Value of the reading among ``rows`` ending where each run starts and of the one
    starting where it ends (NaN when there is none): E1's endpoints."""
    before = Lookup.first_of(key(g.sid[rows], g.end[rows]), value[rows])
    after = Lookup.first_of(key(g.sid[rows], g.start[rows]), value[rows])
    return before.get(key(runs.sid, runs.start)), after.get(key(runs.sid, runs.end))


def interpolate(
    h: Holes, runs: Runs, before: np.ndarray, after: np.ndarray, allowed: np.ndarray
) -> np.ndarray:
    """E1: linear interpolation across a run between the reading ending where it starts
    (``before``) and the one starting where it ends (``after``), for runs ``allowed``."""
    out = np.full(len(h.sid), np.nan)
    ok = (allowed & ~np.isnan(before) & ~np.isnan(after))[h.run]
    k = np.arange(len(h.sid)) - runs.first[h.run] + 1
    n = runs.n[h.run]
    a, b = before[h.run], after[h.run]
    out[ok] = (a + (b - a) * k / (n + 1))[ok]
    return out


def wall_slots(g: Grid, tz: str, sid: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Slot of the local wall-clock time of day (0 for daily reads): like days are matched
    on it, so 18:00 matches 18:00 across a DST change."""
    local = (
        pl.Series((start + g.base) * 1_000_000)
        .cast(pl.Datetime("us", "UTC"))
        .dt.convert_time_zone(tz)
    )
    wall = (
        local.dt.hour().cast(pl.Int64) * 3600
        + local.dt.minute().cast(pl.Int64) * 60
        + local.dt.second().cast(pl.Int64)
    ).to_numpy()
    return np.where(g.s("daily")[sid], 0, wall // np.maximum(g.s("interval_s")[sid], 1))


def _profile_key(sid: np.ndarray, day: np.ndarray, slot: np.ndarray) -> np.ndarray:
    return (((sid.astype(np.int64) << 20) | (day.astype(np.int64) & 0xFFFFF)) << 12) | slot


def like_day_profile(
    g: Grid, h: Holes, want: np.ndarray, value: np.ndarray, actual: np.ndarray, tz: str
) -> np.ndarray:
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
    rows = np.flatnonzero(actual & np.isin(g.sid, np.unique(h.sid[targets])))
    sd = g.sid[rows] * n_days + (g.day[rows] - g.month_days[0])
    rows = rows[~np.isin(sd, hole_days)]
    slots = wall_slots(g, tz, g.sid[rows], g.start[rows])
    # fall-back day: the repeated wall-clock hour counts once (its first occurrence)
    profile = Lookup.first_of(_profile_key(g.sid[rows], g.day[rows], slots), value[rows])
    if not len(profile.keys):
        return out
    t_sid, t_day = h.sid[targets], h.day[targets]
    t_slot = wall_slots(g, tz, t_sid, h.start[targets])
    weeks = g.s("like_day_weeks")[t_sid].astype(np.int64)
    sums = {True: np.zeros(len(targets)), False: np.zeros(len(targets))}
    counts = {True: np.zeros(len(targets)), False: np.zeros(len(targets))}
    for w in range(1, int(weeks.max(initial=0)) + 1):
        for earlier in (True, False):
            d = t_day - 7 * w if earlier else t_day + 7 * w
            pos = profile.positions(_profile_key(t_sid, d, t_slot))
            hit = (pos >= 0) & (w <= weeks)
            sums[earlier] += np.where(hit, profile.values[np.maximum(pos, 0)], 0.0)
            counts[earlier] += hit
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(
            counts[True] > 0,
            sums[True] / counts[True],
            np.where(counts[False] > 0, sums[False] / counts[False], np.nan),
        )
    out[targets] = mean
    return out


def scale_to_registers(
    g: Grid, h: Holes, runs: Runs, base: np.ndarray, pts: RegisterPoints, estimable: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """E3: where the register before and after a run is known, the run's estimates add up
    to the register difference: scaled when E1/E2 gave every slot a value with the same
    sign as the difference, else spread evenly. A negative difference on a delivered or
    received channel contradicts the register and leaves the run to E1/E2.

    Returns the values, the E3 mode per hole (0 none, 1 scaled, 2 even), and per run the
    register at its start and end and their difference (NaN when unknown)."""
    r0 = pts.at.get(key(runs.sid, runs.start))
    r1 = pts.at.get(key(runs.sid, runs.end))
    r1 = np.where(np.isnan(r1), pts.opening.get(key(runs.sid, runs.end)), r1)
    target = r1 - r0
    net = g.s("direction")[runs.sid] == "net"
    usable = estimable[runs.sid] & ~np.isnan(target) & (net | (target >= -EPS))
    total = np.bincount(h.run, weights=np.nan_to_num(base), minlength=len(runs.n))
    complete = np.bincount(h.run, weights=np.isnan(base), minlength=len(runs.n)) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        # every branch is computed, including those of runs that take another mode
        ratio = target / total
        scaled = usable & complete & (total != 0) & (ratio >= 0)
        even = usable & ~scaled
        mode = np.select([scaled[h.run], even[h.run]], [1, 2], 0)
        out = np.where(
            mode == 1, base * ratio[h.run], np.where(mode == 2, (target / runs.n)[h.run], base)
        )
    return out, mode, r0, r1, target


def revalidate(
    h: Holes,
    runs: Runs,
    est: np.ndarray,
    mode: np.ndarray,
    target: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    spike: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E4: every estimate is validated again (V4 limits, the series' V5 threshold). A run
    scaled to its register whose shape puts an estimate out of bounds is spread evenly
    instead (the register total still holds), then checked again; estimates that still
    fail are withdrawn and their holes stay. Returns values, E3 modes, withdrawn mask."""

    def fails(values: np.ndarray) -> np.ndarray:
        return ~np.isnan(values) & (
            (values < low - EPS) | (values > high + EPS) | (values > spike + EPS)
        )

    bad = fails(est)
    redo = (np.bincount(h.run, weights=bad & (mode == 1), minlength=len(runs.n)) > 0)[h.run]
    est = np.where(redo, (target / runs.n)[h.run], est)
    mode = np.where(redo, 2, mode)
    return est, mode, fails(est)


def attribute_rows(g: Grid, h: Holes) -> np.ndarray:
    """For each hole, the delivered row of its series nearest before it (else after): an
    added row takes its service point, orphan flags and names from it."""
    order = g.in_series_order(g.judged & g.delivered)
    if not len(order) or not len(h.sid):
        return np.zeros(len(h.sid), dtype=np.int64)
    keys = key(g.sid[order], g.start[order])
    pos = np.clip(np.searchsorted(keys, key(h.sid, h.start), side="right") - 1, 0, len(order) - 1)
    after = np.clip(pos + 1, 0, len(order) - 1)
    return np.where(g.sid[order][pos] == h.sid, order[pos], order[after])


def estimated_registers(
    g: Grid, h: Holes, est: np.ndarray, r0: np.ndarray, r1: np.ndarray
) -> np.ndarray:
    """Register at the end of each estimated interval of a column-register series (IESCO):
    the register before the run plus the estimates so far, or, when only the register
    after the run is known, that register less the estimates still to come. With E3 both
    agree. NaN for other series and where no register is known. Sums run within a run, so
    the figures do not depend on which other series share the partition."""
    column = g.series["register_column"].is_not_null().to_numpy()[h.sid]
    so_far = (
        pl.DataFrame({"est": np.nan_to_num(est), "run": h.run})
        .select(pl.col("est").cum_sum().over("run"))
        .to_series()
        .to_numpy()
    )
    run_total = np.bincount(h.run, weights=np.nan_to_num(est))[h.run]
    out = np.where(np.isnan(r0[h.run]), r1[h.run] - (run_total - so_far), r0[h.run] + so_far)
    return np.where(column & ~np.isnan(est), out, np.nan)
