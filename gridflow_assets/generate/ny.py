"""Synthetic monthly drops for the two New York utilities, UTILITY1 and UTILITY2.

The pipeline has to accept real deliveries in these formats, quirks included, and every data
quality check has to be shown failing on purpose and passing on clean data. So these
generators write files in the delivered shape (``drop-formats.md``: BOM, LF, no final
newline, text IDs, local offsets, integer dates) and add the faults real files carry, at a
rate chosen by ``faults``:

* ``"none"``: clean data. Format quirks stay, because they are the format, not faults.
* ``"realistic"``: the rates seen in real deliveries.
* ``"heavy"``: about three times those rates (UTILITY2 repeats: 93 % of rows instead of 86 %).

Reference data (service points, premises, meters, channels, installation history) depends
only on the seed. Every month of a run therefore describes the same population, and a month
generated alone is byte-identical to the same month generated as part of a range. Month data
comes from ``numpy.random.default_rng([seed, year, month])``: a seed *sequence*, so that
(seed 7, month m+1) never shares a stream with (seed 8, month m) as ``seed + index`` would.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from faker import Faker

from gridflow_assets.generate.common import csv_bytes, write_drop

TIMEZONE = "America/New_York"
FAULT_SCALES = {"none": 0.0, "realistic": 1.0, "heavy": 3.0}

_NS = 1_000_000_000
_HOUR_NS = 3_600 * _NS
_DAY_NS = 86_400 * _NS
_ANCHOR = pd.Timestamp("2020-01-01")
# Cumulative registers are six-dial: they reach just under 999,999 at this date, so they
# read "near 999,999", increase daily and never roll over for months before it.
_REGISTER_HORIZON = pd.Timestamp("2028-01-01")
_MONTH_RE = re.compile(r"^\d{4}-\d{2}$")

# Real New York ZIPs with leading zeros: they prove that ZIPs are read as text.
_LEADING_ZERO_ZIPS = (("00501", "Holtsville"), ("00544", "Holtsville"),
                      ("06390", "Fishers Island"))


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------

def _fault_scale(faults: str) -> float:
    """Multiplier on every fault rate; unknown levels fail loudly instead of generating junk."""
    if not isinstance(faults, str) or faults not in FAULT_SCALES:
        raise ValueError(f"faults must be one of {', '.join(FAULT_SCALES)}; got {faults!r}")
    return FAULT_SCALES[faults]


def _check_args(months: list[str], meters: int, faults: str) -> float:
    """Validate everything before the first file is written, so a bad call lands nothing."""
    scale = _fault_scale(faults)
    if int(meters) < 1:
        raise ValueError(f"meters must be at least 1; got {meters}")
    for month in months:
        if not isinstance(month, str) or not _MONTH_RE.match(month):
            raise ValueError(f"months must be YYYY-MM; got {month!r}")
        pd.Period(month, "M")
    return scale


def _fault_count(rate: float, n: int, scale: float) -> int:
    """How many items a fault touches: none when faults are off, else at least one so that a
    small sample still shows every fault."""
    if scale == 0 or n == 0:
        return 0
    return min(n, max(1, round(rate * scale * n)))


def _month_rng(seed: int, month: str) -> np.random.Generator:
    period = pd.Period(month, "M")
    return np.random.default_rng([seed, period.year, period.month])


def _faker(seed: int) -> Faker:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return fake


def _calendar(month: str) -> pd.DataFrame:
    """Local days of the month with their UTC bounds: a DST day is 23 or 25 hours long."""
    period = pd.Period(month, "M")
    midnights = pd.date_range(period.start_time, periods=period.days_in_month + 1, freq="D")
    utc = midnights.tz_localize(TIMEZONE).tz_convert("UTC").as_unit("ns").asi8
    return pd.DataFrame({"date": midnights[:-1], "start_ns": utc[:-1], "end_ns": utc[1:]})


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _to_local(utc_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local wall-clock nanoseconds and ISO 8601 text with a ``-05:00``-style offset."""
    utc = pd.to_datetime(np.asarray(utc_ns, dtype=np.int64), utc=True)
    wall = utc.tz_convert(TIMEZONE).tz_localize(None).as_unit("ns")
    wall_ns = wall.asi8
    offset_min = (wall_ns - utc.as_unit("ns").asi8) // (60 * _NS)
    suffix = pd.Series(offset_min).map({int(o): _offset_text(int(o))
                                        for o in np.unique(offset_min)})
    text = np.datetime_as_string(wall.values.astype("datetime64[s]"), unit="s")
    return wall_ns, np.char.add(text, suffix.to_numpy(dtype=str))


def _utc_iso(ns: np.ndarray, empty: np.ndarray | None = None) -> np.ndarray:
    """ISO 8601 UTC text with ``Z``; ``empty`` marks values delivered as an empty field."""
    values = np.asarray(ns, dtype=np.int64).astype("datetime64[ns]")
    text = np.char.add(np.datetime_as_string(values, unit="s"), "Z").astype(object)
    if empty is not None:
        text[np.asarray(empty, dtype=bool)] = ""
    return text


def _unique_ints(rng: np.random.Generator, n: int, low: int, high: int,
                 taken: set[int] | None = None) -> list[int]:
    """``n`` distinct integers in ``[low, high)``, none of them in ``taken``."""
    taken = set() if taken is None else taken
    out: list[int] = []
    while len(out) < n:
        value = int(rng.integers(low, high))
        if value not in taken:
            taken.add(value)
            out.append(value)
    return out


def _ny_zip(rng: np.random.Generator, fake: Faker) -> tuple[str, str]:
    """A New York-style ZIP and its city; about one in ten has leading zeros."""
    if rng.random() < 0.1:
        return _LEADING_ZERO_ZIPS[int(rng.integers(len(_LEADING_ZERO_ZIPS)))]
    return f"{int(rng.integers(10001, 14926)):05d}", fake.city()


def _days_since_anchor(ns: np.ndarray) -> np.ndarray:
    return (np.asarray(ns, dtype=np.int64) - _ANCHOR.value) / _DAY_NS


def _files(frames: dict[str, pd.DataFrame]) -> tuple[dict[str, bytes], dict[str, int]]:
    """Both New York utilities deliver UTF-8 with BOM, LF and no final newline."""
    data = {name: csv_bytes(df, bom=True, final_newline=False) for name, df in frames.items()}
    return data, {name: len(df) for name, df in frames.items()}


# --------------------------------------------------------------------------------------------
# UTILITY1: service points, a meter read log, 5/15-minute intervals with local offsets
# --------------------------------------------------------------------------------------------

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
    fake = _faker(seed)
    n_sp = max(1, math.ceil(meters * 0.8))
    taken: set[str] = set()
    rows = []
    for _ in range(n_sp):
        zip_code, city = _ny_zip(rng, fake)
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
    orphan_sp_ids = tuple(f"SP-{_sp_digits(rng, _ny_zip(rng, fake)[0], taken)}"
                          for _ in range(3))

    meter_ids = [f"MTR-{d:08d}" for d in _unique_ints(rng, meters, 0, 10**8)]
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
    previous = np.where(first, cal.start_ns.iloc[0] - _DAY_NS, np.r_[0, ts_ns[:-1]])
    value = (meters.register0.to_numpy()[meter_idx]
             + np.floor(meters.daily_kwh.to_numpy()[meter_idx] * _days_since_anchor(ts_ns)))
    df = pd.DataFrame({
        "meter_id": meters.meter_id.to_numpy()[meter_idx].astype(object),
        "meter_timestamp": _utc_iso(ts_ns),
        "meter_duration": (ts_ns - previous) // _NS,
        "meter_value": value.astype(np.int64),
        "meter_type": np.where(rng.random(len(meter_idx)) < 0.3, "Estimation", "Company"),
        "meter_category": "Periodic",
    })
    n = len(df)
    malformed = rng.choice(n, _fault_count(U1_RATES["log_malformed_id"], n, scale),
                           replace=False)
    df.loc[malformed, "meter_id"] = "MTR-"
    dups = rng.choice(n, _fault_count(U1_RATES["log_exact_duplicate"], n, scale),
                      replace=False)
    order = np.concatenate([np.arange(n), dups + 0.5])
    out = pd.concat([df, df.iloc[dups]], ignore_index=True)
    return out.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


def _bump(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-(((x - centre) / width) ** 2))


def _u1_interval_grid(pop: _U1Population, cal: pd.DataFrame,
                      rng: np.random.Generator) -> pd.DataFrame:
    """One row per interval of each chosen local day, meter and channel (vectorised)."""
    n_days = len(cal)
    day_ns = (cal.end_ns - cal.start_ns).to_numpy()
    dst_days = np.flatnonzero(day_ns != _DAY_NS)
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
    dur_ns = combos.duration.to_numpy() * _NS
    counts = (cal.end_ns.to_numpy()[combos.day] - start) // dur_ns
    rep = np.repeat(np.arange(len(combos)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    grid = combos.iloc[rep].reset_index(drop=True)
    grid["utc_ns"] = start[rep] + within * dur_ns[rep]
    return grid


def _u1_values(pop: _U1Population, grid: pd.DataFrame, wall_ns: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Energy per interval: a morning and evening peak, solar at midday on net/received."""
    m = grid.meter.to_numpy()
    hours = grid.duration.to_numpy() / 3600
    hour = (wall_ns % _DAY_NS) / _HOUR_NS + hours / 2
    shape = 0.3 + 0.5 * _bump(hour, 7.5, 1.5) + 1.0 * _bump(hour, 19.0, 2.5)
    load = (pop.meters.load_kw.to_numpy()[m] * shape
            * rng.lognormal(0.0, 0.25, len(grid)) * hours)
    sun = np.clip(np.sin(np.pi * (hour - 6.0) / 13.0), 0.0, None)
    solar = pop.meters.solar_kw.to_numpy()[m] * sun * grid.cloud.to_numpy() * hours
    flow = grid.flow.to_numpy()
    return np.select(
        [flow == "delivered", flow == "net", flow == "received"],
        [load, load - solar, solar],
        load * pop.meters.kvar_ratio.to_numpy()[m])


def _u1_intervals(pop: _U1Population, cal: pd.DataFrame, rng: np.random.Generator,
                  scale: float) -> pd.DataFrame:
    """Interval file with the faults UTILITY1 is known for. A corrected repeat follows its
    original with a later ``last_update_time``, so the V2 rule "latest update wins" has
    something to decide; values keep at most 4 decimals (``+ 0.0`` turns -0.0 into 0.0)."""
    grid = _u1_interval_grid(pop, cal, rng)
    n = len(grid)
    utc_ns = grid.utc_ns.to_numpy()
    wall_ns, _ = _to_local(utc_ns)
    value = _u1_values(pop, grid, wall_ns, rng)
    duration = grid.duration.to_numpy().copy()
    sp_id = pop.meters.sp_id.to_numpy()[grid.meter].astype(object)
    update_ns = utc_ns + duration * _NS + rng.integers(2 * 3600, 36 * 3600, n) * _NS

    delivered = np.flatnonzero(grid.flow.to_numpy() == "delivered")
    spikes = rng.choice(delivered, _fault_count(U1_RATES["interval_spike"], n, scale),
                        replace=False)
    value[spikes] = value[spikes] * rng.uniform(15, 40, len(spikes)) + 1.0
    negatives = rng.choice(
        delivered, _fault_count(U1_RATES["interval_negative_delivered"], n, scale),
        replace=False)
    value[negatives] = -rng.uniform(0.05, 1.0, len(negatives))
    mismatch = rng.choice(n, _fault_count(U1_RATES["interval_duration_mismatch"], n, scale),
                          replace=False)
    duration[mismatch] = np.where(duration[mismatch] == 900, 300, 900)
    orphans = rng.choice(n, _fault_count(U1_RATES["interval_orphan_service_point"], n, scale),
                         replace=False)
    sp_id[orphans] = rng.choice(pop.orphan_sp_ids, len(orphans))
    all_sps = pop.service_points.SERVICE_POINT_ID.to_numpy()
    if len(all_sps) > 1:
        n_moved = _fault_count(U1_RATES["meter_on_two_service_points"], len(pop.meters), scale)
        for m in rng.choice(len(pop.meters), n_moved, replace=False):
            rows = np.flatnonzero(grid.meter.to_numpy() == m)
            length = int(rng.integers(4, 13))
            first = int(rng.integers(0, max(1, len(rows) - length)))
            block = rows[first:first + length]
            other = all_sps[all_sps != pop.meters.sp_id.iloc[m]]
            sp_id[block] = rng.choice(other)

    value = np.round(value, 4) + 0.0
    base = pd.DataFrame({
        "service_delivery_point_id": sp_id, "meter_id": pop.meters.meter_id.to_numpy()[
            grid.meter].astype(object),
        "channel": grid.channel.to_numpy(), "duration": duration, "value": value,
        "quality": np.where(rng.random(n) < 0.05, "NV", "VAL"),
        "utc_ns": utc_ns, "update_ns": update_ns, "order": np.arange(n, dtype=float),
    })
    exact = rng.choice(n, _fault_count(U1_RATES["interval_exact_duplicate"], n, scale),
                       replace=False)
    conflicting = rng.choice(
        n, _fault_count(U1_RATES["interval_conflicting_repeat"], n, scale), replace=False)
    dup = base.iloc[exact].assign(order=exact + 0.25)
    fix = base.iloc[conflicting].assign(order=conflicting + 0.5)
    changed = np.round(fix.value.to_numpy() * rng.uniform(0.5, 1.5, len(fix)) + 0.01, 4)
    fix["value"] = np.round(
        np.where(changed == fix.value.to_numpy(), changed + 0.0001, changed), 4) + 0.0
    fix["update_ns"] = (fix.update_ns.to_numpy()
                        + rng.integers(3600, 7 * 86_400, len(fix)) * _NS)
    fix["quality"] = "VAL"
    df = pd.concat([base, dup, fix], ignore_index=True).sort_values("order", kind="stable")
    df = _u1_vee_faults(df, grid, rng, scale, np.concatenate([exact, conflicting]))

    _, start_text = _to_local(df.utc_ns.to_numpy())
    _, update_text = _to_local(df.update_ns.to_numpy())
    df = df.assign(timestamp=start_text, last_update_time=update_text, exported_at="null")
    return df[U1_COLUMNS[U1_INTERVALS]].reset_index(drop=True)


def _u1_vee_faults(df: pd.DataFrame, grid: pd.DataFrame, rng: np.random.Generator,
                   scale: float, repeated: np.ndarray) -> pd.DataFrame:
    """Faults the VEE rules must find, drawn after the others so those stay as they were:
    readings stamped off their interval grid (V3; the slot they left is a gap, V1) and
    meters stuck repeating one value (V6). Rows with repeats are left alone."""
    n = len(grid)
    free = np.ones(n, dtype=bool)
    free[repeated] = False
    positions = np.flatnonzero((df.order.to_numpy() % 1) == 0)  # original row i at [i]
    shifted = rng.choice(np.flatnonzero(free),
                         _fault_count(U1_RATES["interval_misaligned"], n, scale), replace=False)
    free[shifted] = False
    run = U1_FROZEN_RUN
    utc = grid.utc_ns.to_numpy()
    last = np.arange(n - run + 1) + run - 1
    same_series = ((grid.meter.to_numpy()[last] == grid.meter.to_numpy()[:n - run + 1])
                   & (grid.channel.to_numpy()[last] == grid.channel.to_numpy()[:n - run + 1])
                   & (utc[last] - utc[:n - run + 1]
                      == (run - 1) * grid.duration.to_numpy()[:n - run + 1] * _NS))
    all_free = np.convolve(free, np.ones(run, dtype=int), mode="valid") == run
    starts = np.flatnonzero(same_series & all_free
                            & (grid.flow.to_numpy()[:n - run + 1] == "delivered"))
    starts = rng.choice(starts, min(len(starts), _fault_count(
        U1_RATES["interval_frozen_run"], n, scale)), replace=False)
    rows = (starts[:, None] + np.arange(run)).ravel()
    value = df.value.to_numpy().copy()
    value[positions[rows]] = np.repeat(value[positions[starts]], run)
    utc_ns = df.utc_ns.to_numpy().copy()
    utc_ns[positions[shifted]] += U1_MISALIGNMENT_S * _NS
    return df.assign(value=value, utc_ns=utc_ns)


def generate_utility1(landing: Path, months: list[str], meters: int = 40, seed: int = 7,
                      faults: str = "realistic") -> list[Path]:
    """Write one complete UTILITY1 drop per month and return the drop folders.

    Per meter and month, every interval of three whole local days is written (the DST change
    day when the month has one), so interval counts per day are checkable without writing
    a month of 5-minute data for every meter.
    """
    scale = _check_args(months, meters, faults)
    pop = _u1_population(int(meters), seed)
    folders = []
    for month in months:
        rng = _month_rng(seed, month)
        cal = _calendar(month)
        frames = {
            U1_SERVICE_POINTS: _u1_service_points(pop, cal, rng),
            U1_METERS: _u1_meter_log(pop, cal, rng, scale),
            U1_INTERVALS: _u1_intervals(pop, cal, rng, scale),
        }
        data, rows = _files(frames)
        folders.append(write_drop(Path(landing), UTILITY1, month, data, row_counts=rows))
    return folders


# --------------------------------------------------------------------------------------------
# UTILITY2: versioned premises, effective-dated meter installations, daily integer reads
# --------------------------------------------------------------------------------------------

UTILITY2 = "UTILITY2"
U2_SERVICE_POINTS = "utility2_service_points.csv"
U2_METERS = "utility2_meters.csv"
U2_INTERVALS = "utility2_intervals.csv"
U2_COLUMNS = {
    U2_SERVICE_POINTS: ["premise_id", "created_date", "premise_house_num", "premise_street",
                        "premise_house_supp", "premise_city", "premise_zip", "premise_region"],
    U2_METERS: ["premise_id", "meter_id", "meter_number", "meter_type", "meter_status",
                "meter_channel", "installed_at", "removed_at", "created", "updated"],
    U2_INTERVALS: ["channel", "duration", "meter_id", "quality", "timestamp", "value"],
}
# Channel sets by kind of customer (codes as in utilities/code_tables/utility2_channels.csv).
_U2_PROFILES: dict[str, tuple[tuple[int, ...], float, tuple[str, ...]]] = {
    "residential": ((1, 9), 0.55, ("KWH", "L+G Self-Cont Mesh", "AMI Cell")),
    "solar": ((1, 3, 7, 9, 10), 0.20, ("KWH", "L+G Self-Cont Mesh", "AMI Cell")),
    "commercial": ((1, 8, 9, 11, 16), 0.12, ("KV2", "KV2-R", "Sentinel")),
    "tou": ((1, 13, 14, 15, 9, 23, 24), 0.13, ("KWH", "L+G Self-Cont Mesh", "AMI Cell")),
}
U2_REGISTER_CHANNELS = (9, 10, 11, 23, 24)
# Share of interval rows that repeat an existing (meter_id, timestamp, channel) key.
U2_REPEAT_SHARE = {"none": 0.0, "realistic": 0.86, "heavy": 0.93}
U2_EXACT_SHARE_OF_REPEATS = 0.04
# Quality code mix: 51 is a "no read" placeholder (value 0), so it only appears with faults.
U2_QUALITY = {
    "none": {1: 0.95, 2: 0.03, 3: 0.01, 4: 0.01},
    "realistic": {1: 0.935, 2: 0.025, 3: 0.01, 4: 0.01, 51: 0.015, 53: 0.005},
    "heavy": {1: 0.895, 2: 0.025, 3: 0.01, 4: 0.01, 51: 0.045, 53: 0.015},
}
U2_RATES = {
    "orphan_premise": 0.2,  # per installation row
    "retired_still_sending": 0.08,  # per meter and month
    "not_yet_installed": 0.05,  # per meter and month
    "unknown_meter": 0.05,  # per meter: extra meter ids absent from the meters file
    "usage_days_missing": 0.05,  # per usage channel and month: 2-4 days not delivered
    "register_frozen": 0.05,  # per delivered-register channel and month: stuck 3-5 days
}
CURLY_APOSTROPHE = "\u2019"  # U+2019, as delivered in UTILITY2 street names
_APOSTROPHE_NAMES = tuple(f"{a}{CURLY_APOSTROPHE}{b}" for a, b in (
    ("O", "Connor"), ("O", "Brien"), ("O", "Neill"), ("D", "Amico"), ("O", "Rourke"),
    ("D", "Angelo")))
_SUPPLEMENTS = ("APT", "UNIT", "FL", "STE")


@dataclass(frozen=True)
class _U2Population:
    premises: pd.DataFrame
    meters: pd.DataFrame
    installs: pd.DataFrame


def _u2_street(rng: np.random.Generator, fake: Faker) -> str:
    if rng.random() < 0.12:
        name = _APOSTROPHE_NAMES[int(rng.integers(len(_APOSTROPHE_NAMES)))]
        return f"{name} {('St', 'Ave', 'Pl', 'Rd')[int(rng.integers(4))]}"
    return fake.street_name()


def _u2_supplement(rng: np.random.Generator) -> str:
    kind = _SUPPLEMENTS[int(rng.integers(len(_SUPPLEMENTS)))]
    if kind == "APT":
        return f"APT {int(rng.integers(1, 20))}{'ABCDEF'[int(rng.integers(6))]}"
    return f"{kind} {int(rng.integers(1, 30))}"


def _u2_address(rng: np.random.Generator, fake: Faker) -> dict[str, object]:
    zip_code, city = _ny_zip(rng, fake)
    return {"premise_house_num": int(rng.integers(1, 9999)),
            "premise_street": _u2_street(rng, fake),
            "premise_house_supp": _u2_supplement(rng) if rng.random() < 0.3 else "",
            "premise_city": city, "premise_zip": zip_code}


def _u2_variant(rng: np.random.Generator, fake: Faker,
                previous: dict[str, object]) -> dict[str, object]:
    """Next address version of a premise: a new unit, a re-keyed street, or a new address."""
    kind = rng.choice(3, p=[0.4, 0.3, 0.3])
    if kind == 0:
        new = {**previous, "premise_house_supp": _u2_supplement(rng)}
    elif kind == 1:
        street = str(previous["premise_street"])
        new = {**previous,
               "premise_street": street.title() if street.isupper() else street.upper()}
    else:
        new = _u2_address(rng, fake)
    if new == previous:
        supp = "" if previous["premise_house_supp"] else "APT 1A"
        new = {**previous, "premise_house_supp": supp}
    return new


def _u2_premises(rng: np.random.Generator, fake: Faker, n: int) -> pd.DataFrame:
    ids = [f"PREM-{d:08d}" for d in _unique_ints(rng, n, 0, 10**8)]
    first_day, span = pd.Timestamp("2005-01-01"), 19 * 365
    rows = []
    for premise_id in ids:
        versions = int(rng.choice([2, 3, 4, 5, 6, 7], p=[0.35, 0.25, 0.15, 0.1, 0.1, 0.05]))
        days = np.sort(rng.choice(span, size=versions, replace=False))
        address = _u2_address(rng, fake)
        for k, day in enumerate(days):
            if k:
                address = _u2_variant(rng, fake, address)
            created = (first_day + pd.Timedelta(days=int(day))).strftime("%Y-%m-%d")
            rows.append({"premise_id": premise_id, "created_date": created, **address,
                         "premise_region": "NY"})
    df = pd.DataFrame(rows, columns=U2_COLUMNS[U2_SERVICE_POINTS])
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)


def _cum_delivered(rate: np.ndarray | float, t: np.ndarray | float) -> np.ndarray:
    """Cumulative kWh since the anchor: winter and summer peaks, never decreasing."""
    return rate * (t + 0.25 * 365 / (4 * np.pi) * np.sin(4 * np.pi * t / 365))


def _cum_received(rate: np.ndarray | float, t: np.ndarray | float) -> np.ndarray:
    """Cumulative solar kWh since the anchor: low in winter, high in summer."""
    return rate * (t - 0.6 * 365 / (2 * np.pi) * np.sin(2 * np.pi * t / 365))


def _u2_meters(rng: np.random.Generator, n_sending: int, n_unknown: int,
               n_retired: int) -> pd.DataFrame:
    """Meters that send reads, meters unknown to the meters file, long-retired meters."""
    n = n_sending + n_unknown + n_retired
    ids = _unique_ints(rng, n, 10**8, 10**10)
    numbers = np.array(ids, dtype=np.int64)
    differs = rng.random(n) < 0.06
    delta = rng.integers(1, 1000, n)
    numbers = np.where(differs, np.where(numbers + delta < 10**10, numbers + delta,
                                         numbers - delta), numbers)
    names = list(_U2_PROFILES)
    profile = rng.choice(len(names), size=n, p=[_U2_PROFILES[p][1] for p in names])
    kind = np.array(names)[profile]
    type_pick = rng.integers(0, 3, n)
    commercial = kind == "commercial"
    t_ref = (_REGISTER_HORIZON - _ANCHOR).days
    rate = np.where(commercial, rng.uniform(30, 50, n), rng.uniform(8, 35, n))
    solar = np.where(kind == "solar", rng.uniform(10, 30, n), 0.0)
    kvar = rng.uniform(0.2, 0.5, n)
    target = 999_999 - rng.integers(0, 5_000, (n, len(U2_REGISTER_CHANNELS)))
    at_ref = {9: np.floor(_cum_delivered(rate, t_ref)),
              10: np.floor(_cum_received(solar, t_ref)),
              11: np.floor(kvar * np.floor(_cum_delivered(rate, t_ref))),
              23: np.floor(0.4 * np.floor(_cum_delivered(rate, t_ref))),
              24: np.floor(_cum_delivered(rate, t_ref))
              - np.floor(0.4 * np.floor(_cum_delivered(rate, t_ref)))}
    df = pd.DataFrame({
        "meter_id": [str(i) for i in ids],
        "meter_number": [str(x) for x in numbers],
        "meter_type": [_U2_PROFILES[k][2][t] for k, t in zip(kind, type_pick, strict=True)],
        "meter_channel": np.where(rng.random(n) < 0.65, "MT", ""),
        "profile": kind, "rate": rate, "solar": solar, "kvar": kvar,
        "role": ["sending"] * n_sending + ["unknown"] * n_unknown + ["retired"] * n_retired,
    })
    for j, ch in enumerate(U2_REGISTER_CHANNELS):
        df[f"offset_{ch}"] = target[:, j] - at_ref[ch].astype(np.int64)
    return df


def _u2_installs(rng: np.random.Generator, meters: pd.DataFrame, premise_ids: np.ndarray,
                 ghost_ids: np.ndarray, orphan_share: float) -> pd.DataFrame:
    """Effective-dated, non-overlapping installations: a meter moves between premises."""
    lo = pd.Timestamp("2012-01-01").value
    span_days = (pd.Timestamp("2023-06-30") - pd.Timestamp("2012-01-01")).days
    rows = []
    for m in np.flatnonzero(meters.role.to_numpy() != "unknown"):
        k = int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))
        starts = (lo + np.sort(rng.choice(span_days, size=k, replace=False)) * _DAY_NS
                  + rng.integers(0, 86_400, k) * _NS)
        real = rng.choice(premise_ids, size=k, replace=False)
        ghost = rng.choice(ghost_ids, size=k)
        orphan = rng.random(k) < orphan_share
        historic_status = np.where(rng.random(k) < 0.5, "Customer", "")
        for i in range(k):
            if i + 1 < k:
                room = (starts[i + 1] - starts[i]) // 2
                removed = starts[i + 1] - int(rng.integers(0, max(1, min(room, 30 * _DAY_NS))))
                status = historic_status[i]
            elif meters.role.iat[m] == "retired":
                removed = starts[i] + int(rng.integers(100, 900)) * _DAY_NS
                status = "Retired"
            else:
                removed, status = -1, "Customer"
            rows.append({"meter": m, "premise_id": ghost[i] if orphan[i] else real[i],
                         "installed_ns": int(starts[i]), "removed_ns": int(removed),
                         "status": status,
                         "created_lag": int(rng.integers(0, 3 * 86_400)) * _NS,
                         "updated_lag": int(rng.integers(0, 400 * 86_400)) * _NS})
    return pd.DataFrame(rows)


def _u2_population(meters: int, seed: int, scale: float) -> _U2Population:
    """Premises, meters and installations: seed only (plus the orphan share), so every month
    shares them. The pool of unknown meters is sized for "heavy"; lighter levels use part."""
    rng = np.random.default_rng(seed)
    fake = _faker(seed)
    premises = _u2_premises(rng, fake, max(2, meters + meters // 4))
    taken = {int(p[5:]) for p in premises.premise_id}
    ghosts = np.array([f"PREM-{d:08d}" for d in
                       _unique_ints(rng, max(2, meters // 2), 0, 10**8, taken)])
    n_unknown = _fault_count(U2_RATES["unknown_meter"], meters, FAULT_SCALES["heavy"])
    meter_df = _u2_meters(rng, meters, n_unknown, max(1, meters // 20))
    installs = _u2_installs(rng, meter_df, premises.premise_id.unique(), ghosts,
                            min(0.6, U2_RATES["orphan_premise"] * scale))
    return _U2Population(premises, meter_df, installs)


def _u2_meters_file(pop: _U2Population, cal: pd.DataFrame, rng: np.random.Generator,
                    scale: float) -> pd.DataFrame:
    """The installation history as of this month, with this month's retirements and
    not-yet-installed meters that nevertheless send reads."""
    inst = pop.installs.copy()
    month_start = int(cal.start_ns.iloc[0])
    month_end = int(cal.end_ns.iloc[-1])
    sending = np.flatnonzero(pop.meters.role.to_numpy() == "sending")
    n = len(sending)
    retired = rng.choice(sending, _fault_count(U2_RATES["retired_still_sending"], n, scale),
                         replace=False)
    rest = np.setdiff1d(sending, retired)
    not_yet = rng.choice(rest, _fault_count(U2_RATES["not_yet_installed"], n, scale),
                         replace=False)
    current = inst.groupby("meter").tail(1)
    last_row = pd.Series(current.index, index=current.meter.to_numpy())
    created = inst.installed_ns + inst.created_lag
    for m in retired:
        r = last_row[m]
        gap = int(rng.integers(1, 90)) * _DAY_NS
        inst.at[r, "removed_ns"] = max(month_start - gap, inst.at[r, "installed_ns"] + _DAY_NS)
        inst.at[r, "status"] = "Retired"
    for m in not_yet:
        r = last_row[m]
        before = inst[(inst.meter == m) & (inst.index < r)].removed_ns
        planned = month_start + int(rng.integers(3, 45)) * _DAY_NS + int(
            rng.integers(0, 86_400)) * _NS
        inst.at[r, "installed_ns"] = max([planned, *before.tolist()])
        created.at[r] = month_start + int(rng.integers(0, 3 * 86_400)) * _NS
    removed = inst.removed_ns.to_numpy()
    is_open = removed < 0
    updated = np.where(is_open, created + inst.updated_lag,
                       removed + inst.created_lag)
    updated = np.maximum(np.minimum(updated, month_end - _NS), created)
    meters = pop.meters.iloc[inst.meter.to_numpy()]
    return pd.DataFrame({
        "premise_id": inst.premise_id.to_numpy(),
        "meter_id": meters.meter_id.to_numpy(),
        "meter_number": meters.meter_number.to_numpy(),
        "meter_type": meters.meter_type.to_numpy(),
        "meter_status": inst.status.to_numpy(),
        "meter_channel": meters.meter_channel.to_numpy(),
        "installed_at": _utc_iso(inst.installed_ns.to_numpy()),
        "removed_at": _utc_iso(np.where(is_open, 0, removed), empty=is_open),
        "created": _utc_iso(created.to_numpy()),
        "updated": _utc_iso(updated),
    }, columns=U2_COLUMNS[U2_METERS])


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total into integer parts proportional to ``weights`` (largest
    remainder), so that daily usage adds up exactly to the register's advance."""
    raw = total * weights / weights.sum()
    parts = np.floor(raw).astype(np.int64)
    short = int(total - parts.sum())
    if short > 0:
        parts[np.argsort(parts - raw, kind="stable")[:short]] += 1
    return parts


def _u2_meter_channels(meter: pd.Series, t_edges: np.ndarray, weekend: np.ndarray,
                       rng: np.random.Generator) -> dict[int, np.ndarray]:
    """True daily values of one meter's channels for the month; registers and usage agree."""
    n = len(t_edges) - 1
    commercial = meter.profile == "commercial"
    day_factor = np.where(weekend, 0.5 if commercial else 1.1, 1.0)
    edges = np.floor(_cum_delivered(meter.rate, t_edges)).astype(np.int64)
    usage = _allocate(int(edges[-1] - edges[0]), day_factor * rng.lognormal(0, 0.25, n))
    cum = edges[0] + np.cumsum(usage)
    solar_edges = np.floor(_cum_received(meter.solar, t_edges)).astype(np.int64)
    received = _allocate(int(solar_edges[-1] - solar_edges[0]), rng.uniform(0.2, 1.2, n))
    on_peak = np.floor(0.35 * usage + 0.5).astype(np.int64)
    off_peak = np.floor(0.45 * usage + 0.5).astype(np.int64)
    peak_cum = np.floor(0.4 * cum).astype(np.int64)
    values = {
        1: usage, 3: received, 7: usage - received,
        8: np.floor(meter.kvar * usage + 0.5).astype(np.int64),
        9: meter.offset_9 + cum,
        10: meter.offset_10 + solar_edges[0] + np.cumsum(received),
        11: meter.offset_11 + np.floor(meter.kvar * cum).astype(np.int64),
        13: on_peak, 14: off_peak, 15: usage - on_peak - off_peak,
        16: rng.integers(0, 4, n),
        23: meter.offset_23 + peak_cum, 24: meter.offset_24 + cum - peak_cum,
    }
    return {ch: values[ch] for ch in _U2_PROFILES[meter.profile][0]}


def _distinct_versions(src: np.ndarray, value: np.ndarray, quality: np.ndarray,
                       base_value: np.ndarray, base_quality: np.ndarray, spread: np.ndarray,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Nudge conflicting repeats until each differs from its key's other rows, so exact
    duplicates stay the few drawn on purpose. A clashing "no read" (51, value 0) becomes an
    estimate (2) with a value, keeping the rule that 51 always carries 0."""
    value, quality = value.copy(), quality.copy()
    base = pd.DataFrame({"src": np.arange(len(base_value)), "value": base_value,
                         "quality": base_quality})
    for _ in range(100):
        versions = pd.concat([base, pd.DataFrame({"src": src, "value": value,
                                                  "quality": quality})], ignore_index=True)
        clash = versions.duplicated().to_numpy()[len(base):]
        if not clash.any():
            break
        quality[clash & (quality == 51)] = 2
        value[clash] += rng.integers(1, spread[clash] + 1)
    return value, quality


def _u2_intervals(pop: _U2Population, cal: pd.DataFrame, rng: np.random.Generator,
                  faults: str, scale: float) -> pd.DataFrame:
    """One true row per meter, channel and local day, then the repeats: their number is set
    so that repeats make up ``U2_REPEAT_SHARE`` of the file, spread over keys with
    exponential weights (most keys a few repeats, some dozens); each repeat follows its
    original."""
    role = pop.meters.role.to_numpy()
    unknown = np.flatnonzero(role == "unknown")
    n_unknown = _fault_count(U2_RATES["unknown_meter"], int((role == "sending").sum()), scale)
    senders = np.concatenate([np.flatnonzero(role == "sending"), unknown[:n_unknown]])
    t0 = (cal.date.iloc[0] - _ANCHOR).days
    t_edges = t0 + np.arange(len(cal) + 1, dtype=float)
    weekend = cal.date.dt.dayofweek.to_numpy() >= 5
    dates = cal.date.dt.strftime("%Y%m%d").astype(np.int64).to_numpy()
    parts: list[tuple[str, int, np.ndarray]] = []
    for m in senders:
        meter = pop.meters.iloc[m]
        for ch, vals in _u2_meter_channels(meter, t_edges, weekend, rng).items():
            parts.append((meter.meter_id, ch, vals))
    n_days = len(cal)
    true_value = np.concatenate([v for _, _, v in parts]).astype(np.int64)
    base = pd.DataFrame({
        "channel": np.repeat([ch for _, ch, _ in parts], n_days),
        "duration": 0,
        "meter_id": np.repeat(np.array([mid for mid, _, _ in parts], dtype=object), n_days),
        "timestamp": np.tile(dates, len(parts)),
    })
    codes = np.array(list(U2_QUALITY[faults]))
    probs = np.array(list(U2_QUALITY[faults].values()))
    b = len(base)
    quality = rng.choice(codes, size=b, p=probs)
    base["quality"] = quality
    base["value"] = np.where(quality == 51, 0, true_value)

    share = U2_REPEAT_SHARE[faults]
    repeats = round(b * share / (1 - share))
    # Exponential weights: most keys repeat a few times, some dozens of times.
    weights = rng.gamma(1.0, size=b)
    counts = rng.multinomial(repeats, weights / weights.sum())
    src = np.repeat(np.arange(b), counts)
    rep = base.iloc[src].reset_index(drop=True)
    exact = rng.random(len(rep)) < U2_EXACT_SHARE_OF_REPEATS
    register = np.isin(rep.channel.to_numpy(), U2_REGISTER_CHANNELS)
    truth = true_value[src]
    spread = np.where(register, 40, np.maximum(2, np.abs(truth) * 3 // 10 + 1))
    delta = rng.integers(1, spread + 1) * rng.choice([-1, 1], size=len(rep))
    new_value = truth + delta
    can_go_negative = register | (rep.channel.to_numpy() == 7)
    new_value = np.where(can_go_negative, new_value, np.maximum(new_value, 0))
    new_quality = rng.choice(codes, size=len(rep), p=probs)
    new_value = np.where(new_quality == 51, 0, new_value)
    new_value, new_quality = _distinct_versions(
        src[~exact], new_value[~exact], new_quality[~exact], base.value.to_numpy(),
        quality, spread[~exact], rng)
    rep.loc[~exact, "value"] = new_value
    rep.loc[~exact, "quality"] = new_quality

    order = np.argsort(np.concatenate([np.arange(b), src]), kind="stable")
    out = pd.concat([base, rep], ignore_index=True).iloc[order].reset_index(drop=True)
    out = _u2_vee_faults(out, dates, rng, scale)
    return out[U2_COLUMNS[U2_INTERVALS]].reset_index(drop=True)


def _u2_vee_faults(df: pd.DataFrame, dates: np.ndarray, rng: np.random.Generator,
                   scale: float) -> pd.DataFrame:
    """Faults the VEE rules must find, drawn after the others so those stay as they were:
    a usage channel not delivered for 2-4 days while its register keeps reading (V1, V9;
    E2 and E3 estimate it), and a delivered-kWh register stuck on one value for 3-5 days
    (V6). A stuck register takes every version of its days, so whichever version wins the
    conflict rule is stuck too; "no read" rows (51) keep their placeholder 0."""
    channel = df.channel.to_numpy()
    key = df.meter_id.astype(str) + "|" + df.channel.astype(str)
    n_days = len(dates)
    usage = np.unique(key[~np.isin(channel, U2_REGISTER_CHANNELS)])
    picked = rng.choice(usage, _fault_count(U2_RATES["usage_days_missing"], len(usage), scale),
                        replace=False)
    drop = np.zeros(len(df), dtype=bool)
    for series in picked:  # a handful of faults, not a loop over readings
        first, length = int(rng.integers(1, n_days - 5)), int(rng.integers(2, 5))
        drop |= (key == series).to_numpy() & np.isin(df.timestamp, dates[first:first + length])
    registers = np.unique(key[channel == 9])
    stuck = rng.choice(registers, _fault_count(U2_RATES["register_frozen"], len(registers),
                                               scale), replace=False)
    value = df.value.to_numpy().copy()
    for series in stuck:
        first, length = int(rng.integers(0, n_days - 5)), int(rng.integers(3, 6))
        rows = (key == series).to_numpy() & np.isin(df.timestamp, dates[first:first + length])
        value[rows & (df.quality.to_numpy() != 51)] = value[np.flatnonzero(
            (key == series).to_numpy() & (df.timestamp.to_numpy() == dates[first]))[0]]
    return df.assign(value=value)[~drop]


def generate_utility2(landing: Path, months: list[str], meters: int = 40, seed: int = 7,
                      faults: str = "realistic") -> list[Path]:
    """Write one complete UTILITY2 drop per month and return the drop folders.

    Installation dates lie between 2012 and mid-2023 and registers stay below 999,999 until
    2028, so months from 2023-07 to 2027-12 are clean under ``faults="none"``.
    """
    scale = _check_args(months, meters, faults)
    pop = _u2_population(int(meters), seed, scale)
    folders = []
    for month in months:
        rng = _month_rng(seed, month)
        cal = _calendar(month)
        frames = {
            U2_SERVICE_POINTS: pop.premises,
            U2_METERS: _u2_meters_file(pop, cal, rng, scale),
            U2_INTERVALS: _u2_intervals(pop, cal, rng, faults, scale),
        }
        data, rows = _files(frames)
        folders.append(write_drop(Path(landing), UTILITY2, month, data, row_counts=rows))
    return folders


GENERATORS = {UTILITY1: generate_utility1, UTILITY2: generate_utility2}
