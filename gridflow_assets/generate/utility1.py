"""Synthetic UTILITY1 drops: service points, a meter read log, 5/15-minute intervals with
local offsets (the "service point" vocabulary of drop-formats.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.generate.common import labels, write_drop
from gridflow_assets.generate.ny_common import (
    DAY_NS,
    HOUR_NS,
    NS,
    check_args,
    days_since_anchor,
    faker,
    fault_count,
    local_grid_text,
    local_text,
    month_calendar,
    month_rng,
    ny_files,
    ny_zip,
    to_local,
    unique_ints,
    utc_iso,
)

UTILITY1 = "UTILITY1"
U1_SERVICE_POINTS = "utility1_service_points.csv"
U1_METERS = "utility1_meters.csv"
U1_INTERVALS = "utility1_intervals.csv"
U1_COLUMNS = {
    U1_SERVICE_POINTS: ["SERVICE_POINT_ID", "SERVICE_POINT_NUMBER", "SERVICE_POINT_STREET",
                        "SERVICE_POINT_CITY", "SERVICE_POINT_ZIP", "SERVICE_POINT_STATE",
                        "INSTALLED_AT", "REMOVED_AT", "CREATED", "UPDATED"],
    U1_METERS: ["meter_id", "meter_timestamp", "meter_duration", "meter_value", "meter_type",
                "meter_category"],
    U1_INTERVALS: ["service_delivery_point_id", "meter_id", "channel", "duration", "value",
                   "quality", "timestamp", "last_update_time", "exported_at"],
}
# channel name -> (interval seconds, flow); the name encodes both, so they must agree.
U1_CHANNELS: dict[str, tuple[int, str]] = {
    "KWH 15 Minute Interval Read Interval": (900, "delivered"),
    "KWH Net 15 Minute Interval Read Interval": (900, "net"),
    "KWH Received 5 Minute Interval Read Interval": (300, "received"),
    "KVARH 5 Minute Interval Read Interval": (300, "reactive"),
    "KWH 5 Minute Interval Read Interval": (300, "delivered"),
}
_U1_CHANNEL_SETS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("KWH 15 Minute Interval Read Interval",), 0.35),
    (("KWH 15 Minute Interval Read Interval",
      "KWH Net 15 Minute Interval Read Interval"), 0.15),
    (("KWH 15 Minute Interval Read Interval",
      "KWH Received 5 Minute Interval Read Interval"), 0.10),
    (("KWH 5 Minute Interval Read Interval",), 0.15),
    (("KWH 5 Minute Interval Read Interval", "KVARH 5 Minute Interval Read Interval"), 0.15),
    (("KWH 5 Minute Interval Read Interval",
      "KWH Received 5 Minute Interval Read Interval"), 0.10),
)
# Whole local days per meter and month: complete days (V1 can count them) at a sane volume.
U1_DAYS_PER_METER = 3
U1_FROZEN_RUN = 8  # a stuck meter repeats one value for this many intervals
U1_MISALIGNMENT_S = 7 * 60
# Fault rates under "realistic", per interval row unless stated.
U1_RATES = {
    "interval_exact_duplicate": 0.01,
    "interval_conflicting_repeat": 0.01,
    "interval_orphan_service_point": 0.0003,
    "interval_duration_mismatch": 0.0003,
    "interval_spike": 0.0003,
    "interval_negative_delivered": 0.0002,
    "interval_misaligned": 0.0002,  # stamped off the interval grid (VEE V3)
    "interval_frozen_run": 0.0001,  # runs of U1_FROZEN_RUN identical values (VEE V6)
    "meter_on_two_service_points": 0.03,  # per meter
    "log_exact_duplicate": 0.02,  # per read-log row
    "log_malformed_id": 0.01,  # per read-log row
}


@dataclass(frozen=True)
class _U1Population:
    service_points: pd.DataFrame
    meters: pd.DataFrame
    channels: pd.DataFrame
    orphan_sp_ids: tuple[str, ...]


def _sp_digits(rng: np.random.Generator, zip_code: str, taken: set[str]) -> str:
    """Eight digits, most starting with the ZIP: the leak drop-formats.md warns about."""
    while True:
        if rng.random() < 0.7:
            digits = f"{zip_code}{int(rng.integers(0, 1000)):03d}"
        else:
            digits = f"{int(rng.integers(0, 10**8)):08d}"
        if digits not in taken:
            taken.add(digits)
            return digits


def _u1_population(meters: int, seed: int) -> _U1Population:
    """Service points, meters and channels: seed only, so every month shares them."""
    rng = np.random.default_rng(seed)
    fake = faker(seed)
    n_sp = max(1, math.ceil(meters * 0.8))
    taken: set[str] = set()
    rows = []
    for _ in range(n_sp):
        zip_code, city = ny_zip(rng, fake)
        digits = _sp_digits(rng, zip_code, taken)
        created = pd.Timestamp("2012-01-01") + pd.Timedelta(days=int(rng.integers(0, 8 * 365)))
        updated = created + pd.Timedelta(days=int(rng.integers(0, 700)))
        rows.append({
            "SERVICE_POINT_ID": f"SP-{digits}", "SERVICE_POINT_NUMBER": int(digits),
            "SERVICE_POINT_STREET": fake.street_address(), "SERVICE_POINT_CITY": city,
            "SERVICE_POINT_ZIP": zip_code, "SERVICE_POINT_STATE": "NY",
            "INSTALLED_AT": "", "REMOVED_AT": "",
            "CREATED": created.strftime("%Y-%m-%d"), "UPDATED": updated.strftime("%Y-%m-%d"),
        })
    service_points = pd.DataFrame(rows, columns=U1_COLUMNS[U1_SERVICE_POINTS])
    orphan_sp_ids = tuple(f"SP-{_sp_digits(rng, ny_zip(rng, fake)[0], taken)}"
                          for _ in range(3))

    meter_ids = [f"MTR-{d:08d}" for d in unique_ints(rng, meters, 0, 10**8)]
    sp_index = rng.permutation(np.concatenate(
        [np.arange(n_sp), rng.integers(0, n_sp, meters - n_sp)]))
    set_index = rng.choice(len(_U1_CHANNEL_SETS), size=meters,
                           p=[w for _, w in _U1_CHANNEL_SETS])
    load_kw = rng.uniform(0.6, 2.0, meters)
    solar_cap = rng.uniform(2.0, 6.0, meters)
    has_solar = np.array([any(U1_CHANNELS[c][1] in ("net", "received")
                              for c in _U1_CHANNEL_SETS[i][0]) for i in set_index])
    meters_df = pd.DataFrame({
        "meter_id": meter_ids,
        "sp_id": service_points.SERVICE_POINT_ID.to_numpy()[sp_index],
        "load_kw": load_kw,
        "solar_kw": np.where(has_solar, solar_cap, 0.0),
        "kvar_ratio": rng.uniform(0.2, 0.45, meters),
        "register0": rng.integers(10_000, 90_000, meters),
        # mean of the daily load shape below is about 0.54 * load_kw, i.e. 13 kWh a day per kW
        "daily_kwh": 13.0 * load_kw,
    })
    channels = pd.DataFrame(
        [(m, name, U1_CHANNELS[name][0], U1_CHANNELS[name][1])
         for m, i in enumerate(set_index) for name in _U1_CHANNEL_SETS[i][0]],
        columns=["meter", "channel", "duration", "flow"])
    return _U1Population(service_points, meters_df, channels, orphan_sp_ids)


def _u1_service_points(pop: _U1Population, cal: pd.DataFrame,
                       rng: np.random.Generator) -> pd.DataFrame:
    """The full service-point snapshot; a few records were touched during the month."""
    df = pop.service_points.copy()
    touched = rng.random(len(df)) < 0.1
    new = cal.date.dt.strftime("%Y-%m-%d").to_numpy()[rng.integers(0, len(cal), len(df))]
    df["UPDATED"] = np.where(touched & (new > df.UPDATED.to_numpy()), new, df.UPDATED)
    return df


def _u1_meter_log(pop: _U1Population, cal: pd.DataFrame, rng: np.random.Generator,
                  scale: float) -> pd.DataFrame:
    """About ten register reads per meter at local midnight; the type flips between rows."""
    meters = pop.meters
    reads = rng.integers(9, 12, len(meters))
    meter_idx = np.repeat(np.arange(len(meters)), reads)
    day_idx = np.concatenate([np.sort(rng.choice(len(cal), size=k, replace=False))
                              for k in reads])
    ts_ns = cal.start_ns.to_numpy()[day_idx]
    first = np.r_[True, meter_idx[1:] != meter_idx[:-1]]
    previous = np.where(first, cal.start_ns.iloc[0] - DAY_NS, np.r_[0, ts_ns[:-1]])
    value = (meters.register0.to_numpy()[meter_idx]
             + np.floor(meters.daily_kwh.to_numpy()[meter_idx] * days_since_anchor(ts_ns)))
    df = pd.DataFrame({
        "meter_id": meters.meter_id.to_numpy()[meter_idx].astype(object),
        "meter_timestamp": utc_iso(ts_ns),
        "meter_duration": (ts_ns - previous) // NS,
        "meter_value": value.astype(np.int64),
        "meter_type": np.where(rng.random(len(meter_idx)) < 0.3, "Estimation", "Company"),
        "meter_category": "Periodic",
    })
    n = len(df)
    malformed = rng.choice(n, fault_count(U1_RATES["log_malformed_id"], n, scale),
                           replace=False)
    df.loc[malformed, "meter_id"] = "MTR-"
    dups = rng.choice(n, fault_count(U1_RATES["log_exact_duplicate"], n, scale),
                      replace=False)
    order = np.concatenate([np.arange(n), dups + 0.5])
    out = pd.concat([df, df.iloc[dups]], ignore_index=True)
    return out.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


def _bump(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-(((x - centre) / width) ** 2))


_CHANNEL_NAMES = tuple(U1_CHANNELS)
_FLOWS = ("delivered", "net", "received", "reactive")
_QUALITIES = ("VAL", "NV")


@dataclass(frozen=True)
class _Grid:
    """One entry per interval of each chosen local day, meter and channel, as code arrays
    (channel into ``_CHANNEL_NAMES``, flow into ``_FLOWS``): no per-row Python objects."""

    meter: np.ndarray
    channel: np.ndarray
    duration: np.ndarray
    flow: np.ndarray
    cloud: np.ndarray
    utc_ns: np.ndarray


def _u1_interval_grid(pop: _U1Population, cal: pd.DataFrame,
                      rng: np.random.Generator) -> _Grid:
    """Every interval of the chosen days: the per-day table is small, the grid vectorised."""
    n_days = len(cal)
    day_ns = (cal.end_ns - cal.start_ns).to_numpy()
    dst_days = np.flatnonzero(day_ns != DAY_NS)
    others = np.setdiff1d(np.arange(n_days), dst_days)
    extra = max(0, U1_DAYS_PER_METER - len(dst_days))
    meter_days = pd.DataFrame([
        (m, d) for m in range(len(pop.meters))
        for d in np.concatenate([dst_days, rng.choice(others, size=extra, replace=False)])],
        columns=["meter", "day"])
    meter_days["cloud"] = rng.uniform(0.3, 1.0, len(meter_days))
    combos = (pop.channels.merge(meter_days, on="meter")
              .sort_values(["meter", "channel", "day"], kind="stable").reset_index(drop=True))

    start = cal.start_ns.to_numpy()[combos.day]
    dur_ns = combos.duration.to_numpy() * NS
    counts = (cal.end_ns.to_numpy()[combos.day] - start) // dur_ns
    rep = np.repeat(np.arange(len(combos)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    channel = np.array([_CHANNEL_NAMES.index(c) for c in combos.channel], dtype=np.int64)
    flow = np.array([_FLOWS.index(f) for f in combos.flow], dtype=np.int64)
    return _Grid(meter=combos.meter.to_numpy()[rep], channel=channel[rep],
                 duration=combos.duration.to_numpy()[rep], flow=flow[rep],
                 cloud=combos.cloud.to_numpy()[rep], utc_ns=start[rep] + within * dur_ns[rep])


def _u1_values(pop: _U1Population, grid: _Grid, rng: np.random.Generator) -> np.ndarray:
    """Energy per interval: a morning and evening peak, solar at midday on net/received."""
    m = grid.meter
    hours = grid.duration / 3600
    hour = (to_local(grid.utc_ns) % DAY_NS) / HOUR_NS + hours / 2
    shape = 0.3 + 0.5 * _bump(hour, 7.5, 1.5) + 1.0 * _bump(hour, 19.0, 2.5)
    load = (pop.meters.load_kw.to_numpy()[m] * shape
            * rng.lognormal(0.0, 0.25, len(m)) * hours)
    sun = np.clip(np.sin(np.pi * (hour - 6.0) / 13.0), 0.0, None)
    solar = pop.meters.solar_kw.to_numpy()[m] * sun * grid.cloud * hours
    flow = grid.flow
    return np.select(
        [flow == _FLOWS.index("delivered"), flow == _FLOWS.index("net"),
         flow == _FLOWS.index("received")],
        [load, load - solar, solar],
        load * pop.meters.kvar_ratio.to_numpy()[m])


def _u1_intervals(pop: _U1Population, cal: pd.DataFrame, rng: np.random.Generator,
                  scale: float) -> pl.DataFrame:
    """Interval file with the faults UTILITY1 is known for. A corrected repeat follows its
    original with a later ``last_update_time``, so the V2 rule "latest update wins" has
    something to decide; values keep at most 4 decimals (``+ 0.0`` turns -0.0 into 0.0).
    Service points are codes into the known ids followed by the orphan ids."""
    grid = _u1_interval_grid(pop, cal, rng)
    n = len(grid.meter)
    utc_ns = grid.utc_ns
    value = _u1_values(pop, grid, rng)
    duration = grid.duration.copy()
    all_sps = pop.service_points.SERVICE_POINT_ID.to_numpy()
    sp_codes = pd.Index(all_sps).get_indexer(pop.meters.sp_id)
    sp = sp_codes[grid.meter]
    update_ns = utc_ns + duration * NS + rng.integers(2 * 3600, 36 * 3600, n) * NS

    delivered = np.flatnonzero(grid.flow == _FLOWS.index("delivered"))
    spikes = rng.choice(delivered, fault_count(U1_RATES["interval_spike"], n, scale),
                        replace=False)
    value[spikes] = value[spikes] * rng.uniform(15, 40, len(spikes)) + 1.0
    negatives = rng.choice(
        delivered, fault_count(U1_RATES["interval_negative_delivered"], n, scale),
        replace=False)
    value[negatives] = -rng.uniform(0.05, 1.0, len(negatives))
    mismatch = rng.choice(n, fault_count(U1_RATES["interval_duration_mismatch"], n, scale),
                          replace=False)
    duration[mismatch] = np.where(duration[mismatch] == 900, 300, 900)
    orphans = rng.choice(n, fault_count(U1_RATES["interval_orphan_service_point"], n, scale),
                         replace=False)
    sp[orphans] = len(all_sps) + rng.choice(len(pop.orphan_sp_ids), len(orphans))
    if len(all_sps) > 1:
        n_moved = fault_count(U1_RATES["meter_on_two_service_points"], len(pop.meters), scale)
        bounds = np.searchsorted(grid.meter, np.arange(len(pop.meters) + 1))
        for m in rng.choice(len(pop.meters), n_moved, replace=False):
            rows = np.arange(bounds[m], bounds[m + 1])
            length = int(rng.integers(4, 13))
            first = int(rng.integers(0, max(1, len(rows) - length)))
            block = rows[first:first + length]
            sp[block] = rng.choice(np.flatnonzero(np.arange(len(all_sps)) != sp_codes[m]))

    value = np.round(value, 4) + 0.0
    quality = (rng.random(n) < 0.05).astype(np.int64)
    exact = rng.choice(n, fault_count(U1_RATES["interval_exact_duplicate"], n, scale),
                       replace=False)
    conflicting = rng.choice(
        n, fault_count(U1_RATES["interval_conflicting_repeat"], n, scale), replace=False)
    changed = np.round(value[conflicting] * rng.uniform(0.5, 1.5, len(conflicting)) + 0.01, 4)
    fix_value = np.round(
        np.where(changed == value[conflicting], changed + 0.0001, changed), 4) + 0.0
    fix_update = (update_ns[conflicting]
                  + rng.integers(3600, 7 * 86_400, len(conflicting)) * NS)

    # Rows in delivery order: each repeat right after its original (exact, then corrected).
    perm = np.argsort(np.concatenate([np.arange(n), exact + 0.25, conflicting + 0.5]),
                      kind="stable")
    src = np.concatenate([np.arange(n), exact, conflicting])[perm]
    original = perm < n
    value = np.concatenate([value, value[exact], fix_value])[perm]
    update_ns = np.concatenate([update_ns, update_ns[exact], fix_update])[perm]
    quality = np.concatenate([quality, quality[exact], np.zeros(len(conflicting), np.int64)])
    utc_ns = utc_ns[src]
    _u1_vee_faults(grid, rng, scale, np.concatenate([exact, conflicting]),
                   np.flatnonzero(original), value, utc_ns)

    return pl.DataFrame([
        labels("service_delivery_point_id", [*all_sps, *pop.orphan_sp_ids], sp[src]),
        labels("meter_id", pop.meters.meter_id, grid.meter[src]),
        labels("channel", _CHANNEL_NAMES, grid.channel[src]),
        pl.Series("duration", duration[src]),
        pl.Series("value", value),
        labels("quality", _QUALITIES, quality[perm]),
        local_grid_text("timestamp", utc_ns, int(cal.start_ns.iloc[0]), 300 * NS),
        local_text("last_update_time", update_ns),
        labels("exported_at", ["null"], np.zeros(len(src), dtype=np.int64)),
    ]).select(U1_COLUMNS[U1_INTERVALS])


def _u1_vee_faults(grid: _Grid, rng: np.random.Generator, scale: float, repeated: np.ndarray,
                   positions: np.ndarray, value: np.ndarray, utc_ns: np.ndarray) -> None:
    """Faults the VEE rules must find, drawn after the others so those stay as they were:
    readings stamped off their interval grid (V3; the slot they left is a gap, V1) and
    meters stuck repeating one value (V6). Rows with repeats are left alone. ``value`` and
    ``utc_ns`` are the delivered rows, changed in place; original row i is at
    ``positions[i]``."""
    n = len(grid.meter)
    free = np.ones(n, dtype=bool)
    free[repeated] = False
    shifted = rng.choice(np.flatnonzero(free),
                         fault_count(U1_RATES["interval_misaligned"], n, scale), replace=False)
    free[shifted] = False
    run = U1_FROZEN_RUN
    utc = grid.utc_ns
    head = slice(0, n - run + 1)
    last = np.arange(n - run + 1) + run - 1
    same_series = ((grid.meter[last] == grid.meter[head])
                   & (grid.channel[last] == grid.channel[head])
                   & (utc[last] - utc[head] == (run - 1) * grid.duration[head] * NS))
    all_free = np.convolve(free, np.ones(run, dtype=int), mode="valid") == run
    starts = np.flatnonzero(same_series & all_free
                            & (grid.flow[head] == _FLOWS.index("delivered")))
    starts = rng.choice(starts, min(len(starts), fault_count(
        U1_RATES["interval_frozen_run"], n, scale)), replace=False)
    rows = (starts[:, None] + np.arange(run)).ravel()
    value[positions[rows]] = np.repeat(value[positions[starts]], run)
    utc_ns[positions[shifted]] += U1_MISALIGNMENT_S * NS


def generate_utility1(landing: Path, months: list[str], meters: int = 40, seed: int = 7,
                      faults: str = "realistic") -> list[Path]:
    """Write one complete UTILITY1 drop per month and return the drop folders.

    Per meter and month, every interval of three whole local days is written (the DST change
    day when the month has one), so interval counts per day are checkable without writing
    a month of 5-minute data for every meter.
    """
    scale = check_args(months, meters, faults)
    pop = _u1_population(int(meters), seed)
    folders = []
    for month in months:
        rng = month_rng(seed, month)
        cal = month_calendar(month)
        frames = {
            U1_SERVICE_POINTS: _u1_service_points(pop, cal, rng),
            U1_METERS: _u1_meter_log(pop, cal, rng, scale),
            U1_INTERVALS: _u1_intervals(pop, cal, rng, scale),
        }
        data, rows = ny_files(frames)
        folders.append(write_drop(Path(landing), UTILITY1, month, data, row_counts=rows))
    return folders



GENERATORS = {UTILITY1: generate_utility1}
