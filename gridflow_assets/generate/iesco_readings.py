"""IESCO hourly smart-meter reads: monthly energy in closed form, spread over the hours.

Each meter's monthly energy is drawn first (profile x calendar x climate x noise); the hourly
grid only decides how that energy is spread over the hours that had supply, so a month's
opening register is known without generating the months before it. Energy is integer Wh, so
register increments equal consumption exactly. All work is numpy over a meters x hours grid,
one chunk of meters at a time (:func:`readings` of a chunk): a month's readings are written as
they are made, so memory is bounded by the chunk, not by the population.

Chunks and random streams: chunk 0 draws from the month's streams in the order a drop of one
chunk always has (so every drop of at most one chunk of meters is what it was); chunk ``k``
draws its meters' values from streams keyed by ``k`` too. What is common to all meters of the
month (district heat and clouds, feeder load shedding and outages, the grid frequency) is
drawn once, by chunk 0, and shared (:class:`MonthDraws`); faults are drawn per chunk at the
same rates (``fault_count`` of the chunk's meters or cells).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.generate.common import labels
from gridflow_assets.generate.iesco_data import (
    ESTIMATED,
    FAULT_RATES,
    LOAD_SHEDDING,
    METER_FAULT,
    MONTH_NOISE_SD,
    NORMAL,
    OUTAGE,
    READING_COLUMNS,
    SOLAR_PERFORMANCE_RATIO,
    STATUS_NAMES,
    TAMPER,
    fault_count,
    stream,
    tables,
)
from gridflow_assets.generate.iesco_master import Master, epoch_ordinal

FEEDER_FIELDS = {"feeder_shedding", "feeder_voltage", "feeder_rural"}
"""The master's per-feeder arrays; every other array holds one value per meter."""


def meter_slice(master: Master, start: int, stop: int) -> Master:
    """The consumers ``start`` to ``stop - 1`` of ``master`` (feeders unchanged)."""
    rows = slice(start, stop)
    sliced = {
        f.name: getattr(master, f.name)[rows]
        for f in fields(master)
        if f.name not in FEEDER_FIELDS and isinstance(getattr(master, f.name), np.ndarray)
    }
    n = len(range(*rows.indices(master.n)))
    return replace(master, n=n, table=master.table.iloc[rows], **sliced)


@dataclass
class MonthDraws:
    """Draws common to every chunk of meters of one month: made by the first chunk, in its
    streams' order, and reused by the others."""

    values: dict[str, np.ndarray] = field(default_factory=dict)

    def take(self, name: str, draw: Callable[[], np.ndarray]) -> np.ndarray:
        if name not in self.values:
            self.values[name] = draw()
        return self.values[name]


def chunk_stream(master: Master, purpose: str, year: int, month: int, chunk: int):
    """The month's stream for ``purpose`` as chunk ``chunk`` draws it (chunk 0: the month's)."""
    keys = (year, month) if chunk == 0 else (year, month, chunk)
    return stream(master.seed, purpose, *keys)


def tampering(master: Master, ordinal: int) -> np.ndarray:
    return master.thief & (ordinal >= master.tamper_start)


def monthly_targets(master: Master, ordinal: int) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form monthly energy per meter in Wh: (consumption, solar generation).

    Cheap enough to evaluate for every month since the epoch, which is what lets a month's
    opening register be known without generating the months before it.
    """
    data = tables()
    year, month = divmod(ordinal, 12)
    month += 1
    profiles, climate = data.profiles, data.climate
    start = pd.Timestamp(year=year, month=month, day=1)
    weekdays = pd.date_range(start, periods=start.days_in_month, freq="D").dayofweek.to_numpy()
    dow = profiles[[c for c in profiles.columns if c.startswith("dow_")]].to_numpy(float)
    dow_sum = dow[:, weekdays].sum(axis=1)
    season = profiles[f"m{month:02d}"].to_numpy(float)
    cooling = profiles["cooling_sensitivity"].to_numpy(float) * climate.loc[month, "cooling_index"]
    day_on = profiles["day_on_prob"].to_numpy(float)
    p = master.profile
    expected = master.scale * dow_sum[p] * (season[p] * day_on[p] + cooling[p])

    rng = stream(master.seed, "month_total", year, month)
    noise = np.exp(rng.normal(0, MONTH_NOISE_SD, master.n) - MONTH_NOISE_SD**2 / 2)
    solar_noise = np.exp(rng.normal(0, MONTH_NOISE_SD, master.n) - MONTH_NOISE_SD**2 / 2)
    theft = np.where(tampering(master, ordinal), master.tamper_factor, 1.0)
    consumption = expected * noise * theft * master.active
    solar = (
        master.solar_kwp
        * start.days_in_month
        * climate.loc[month, "solar_psh"]
        * SOLAR_PERFORMANCE_RATIO
        * solar_noise
        * master.active
    )
    return (np.rint(consumption * 1000).astype(np.int64), np.rint(solar * 1000).astype(np.int64))


def opening_register(master: Master, ordinal: int, cache_: dict[int, np.ndarray]) -> np.ndarray:
    """Register (Wh) at the start of a month: epoch register + closed-form net totals since."""
    total = master.reg0_wh.copy()
    for k in range(epoch_ordinal(), ordinal):
        if k not in cache_:
            consumption, solar = monthly_targets(master, k)
            cache_[k] = consumption - solar
        total += cache_[k]
    return total


# ------------------------------------------------------------------------- hourly helpers


def _interval_mask(
    n_rows: int, n_hours: int, rows: np.ndarray, starts: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """Boolean rows x hours mask of [start, start + length) blocks, built without loops."""
    diff = np.zeros((n_rows, n_hours + 1), dtype=np.int32)
    starts = np.clip(starts, 0, n_hours)
    ends = np.clip(starts + lengths, 0, n_hours)
    np.add.at(diff, (rows, starts), 1)
    np.add.at(diff, (rows, ends), -1)
    return np.cumsum(diff[:, :n_hours], axis=1) > 0


def _spread(total_wh: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split integer monthly Wh over hours in proportion to weights, summing exactly.

    Rounding the *cumulative* share keeps every hour non-negative, gives zero-weight hours
    exactly zero and makes the row sum equal the total, so registers stay consistent.
    """
    sums = weights.sum(axis=1)
    empty = sums <= 0
    if empty.any():
        weights = weights.copy()
        weights[empty] = 1.0
        sums = weights.sum(axis=1)
    share = np.cumsum(weights, axis=1)
    share /= sums[:, None]
    share *= total_wh[:, None]
    cumulative = np.rint(share, out=share).astype(np.int64)
    del share
    cumulative[:, -1] = total_wh
    return np.diff(cumulative, axis=1, prepend=0)


def _load_shedding(master: Master, rng: np.random.Generator, month: int, days: int) -> np.ndarray:
    """Feeder x hours mask of scheduled load shedding: fixed daily slots, 1-2 hours each."""
    slots = 4
    n_feeders = len(master.feeder_shedding)
    start_hour = rng.integers(0, 24, (n_feeders, slots))
    length = rng.integers(1, 3, (n_feeders, slots))
    factor = tables().climate.loc[month, "shedding_factor"]
    p_active = np.clip(master.feeder_shedding * factor / (slots * 1.5), 0, 0.95)
    active = rng.random((n_feeders, days, slots)) < p_active[:, None, None]
    mask = np.zeros((n_feeders, days * 24), dtype=bool)
    rows = np.arange(n_feeders)[:, None]
    for s in range(slots):
        for offset in (0, 1):
            hour = start_hour[:, s] + offset
            valid = (offset < length[:, s]) & (hour < 24)
            cols = np.arange(days)[None, :] * 24 + np.minimum(hour, 23)[:, None]
            mask[rows, cols] |= active[:, :, s] & valid[:, None]
    return mask


def _feeder_outages(
    master: Master, rng: np.random.Generator, month: int, n_hours: int
) -> np.ndarray:
    """Feeder x hours mask of unscheduled feeder outages (more on rural feeders)."""
    n_feeders = len(master.feeder_shedding)
    rural = np.where(master.feeder_rural, 1.5, 1.0)
    events = rng.poisson(tables().climate.loc[month, "feeder_outages_per_month"] * rural)
    rows = np.repeat(np.arange(n_feeders), events)
    starts = rng.integers(0, n_hours, len(rows))
    return _interval_mask(n_feeders, n_hours, rows, starts, rng.integers(1, 7, len(rows)))


def _blocks(
    rng: np.random.Generator,
    count: int,
    candidates: np.ndarray,
    n_hours: int,
    min_len: int,
    max_len: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = rng.choice(candidates, size=min(count, len(candidates)), replace=False)
    starts = rng.integers(0, n_hours, len(rows))
    lengths = rng.integers(min_len, max_len + 1, len(rows))
    return rows, starts, lengths


def readings(
    master: Master,
    year: int,
    month: int,
    opening_wh: np.ndarray,
    consumption_wh: np.ndarray,
    solar_wh: np.ndarray,
    chunk: int = 0,
    shared: MonthDraws | None = None,
) -> pl.DataFrame:
    """The hourly reads of ``master``'s meters (one chunk of the month's consumers: chunk
    number ``chunk``, with the month's common draws ``shared``; the defaults are a whole
    population in one chunk).

    Built in phases, each dropping its working arrays when done, so that a chunk's peak
    is a few meters x hours arrays, not every intermediate at once."""
    shared = MonthDraws() if shared is None else shared
    start = pd.Timestamp(year=year, month=month, day=1)
    n, n_hours = master.n, start.days_in_month * 24
    shedding, outage = _grid_events(master, year, month, chunk, shared)
    frng = chunk_stream(master, "faults", year, month, chunk)
    frozen, missing, estimated, tamper_flag = _device_faults(master, frng, year, month, n_hours)
    no_supply = shedding | outage
    net_wh = _net_energy(
        master,
        (year, month, chunk),
        shared,
        no_supply | frozen,
        estimated,
        consumption_wh,
        solar_wh,
    )
    del consumption_wh, solar_wh

    status = np.full((n, n_hours), NORMAL, dtype=np.int8)
    status[tamper_flag] = TAMPER
    status[estimated] = ESTIMATED
    status[frozen] = METER_FAULT
    status[outage] = OUTAGE
    status[shedding] = LOAD_SHEDDING
    del tamper_flag, estimated, frozen, outage, shedding

    cells = _electrical(master, (year, month, chunk), shared, net_wh, no_supply)
    del no_supply
    # Data errors on otherwise normal rows.
    level = master.level
    candidates = np.flatnonzero(((status == NORMAL) & ~missing).ravel())
    pf, voltage = cells["power_factor"].ravel(), cells["voltage_v"].ravel()
    pf_rows = frng.choice(
        candidates, fault_count("pf_above_one_rows", pf.size, level), replace=False
    )
    pf[pf_rows] = frng.uniform(1.01, 1.3, len(pf_rows)).round(3)
    volt_rows = frng.choice(
        candidates, fault_count("zero_voltage_rows", voltage.size, level), replace=False
    )
    voltage[volt_rows] = 0.0
    del candidates, pf, voltage

    kept = np.flatnonzero(~missing.ravel())
    duplicates = frng.choice(kept, fault_count("duplicate_rows", n * n_hours, level), replace=False)
    # kept is sorted: each repeat goes right after its original, a merge rather than a sort
    repeats = np.sort(duplicates)
    order = np.insert(kept, np.searchsorted(kept, repeats, side="right"), repeats)
    del kept, duplicates, repeats, missing
    cells["reading_kwh"] = opening_wh[:, None] + np.cumsum(net_wh, axis=1)
    cells["consumption_kwh"] = net_wh
    del net_wh
    return _frame(master, start, order, cells, status)


def _grid_events(
    master: Master, year: int, month: int, chunk: int, shared: MonthDraws
) -> tuple[np.ndarray, np.ndarray]:
    """Meters x hours masks (load shedding, outage): real behaviour, at every fault level."""
    n, n_hours = master.n, pd.Timestamp(year=year, month=month, day=1).days_in_month * 24
    grid = chunk_stream(master, "grid", year, month, chunk)
    shedding = shared.take("shedding", lambda: _load_shedding(master, grid, month, n_hours // 24))
    shedding = shedding[master.feeder]
    feeder_outage = shared.take("outage", lambda: _feeder_outages(master, grid, month, n_hours))
    m_events = grid.poisson(0.15, n)
    m_rows = np.repeat(np.arange(n), m_events)
    outage = feeder_outage[master.feeder] | _interval_mask(
        n,
        n_hours,
        m_rows,
        grid.integers(0, n_hours, len(m_rows)),
        grid.integers(2, 11, len(m_rows)),
    )
    outage &= ~shedding
    return shedding, outage


def _device_faults(
    master: Master, frng: np.random.Generator, year: int, month: int, n_hours: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Meters x hours masks (frozen, missing, estimated, tamper flag): device faults and
    theft flags, only with faults enabled."""
    n, level = master.n, master.level
    everyone = np.arange(n)
    frozen = _interval_mask(
        n, n_hours, *_blocks(frng, fault_count("frozen_meters", n, level), everyone, n_hours, 6, 36)
    )
    missing = _interval_mask(
        n,
        n_hours,
        *_blocks(frng, fault_count("missing_block_meters", n, level), everyone, n_hours, 2, 12),
    )
    estimated = _interval_mask(
        n,
        n_hours,
        *_blocks(frng, fault_count("estimated_meters", n, level), everyone, n_hours, 2, 8),
    )
    thieving = tampering(master, year * 12 + month - 1)
    tamper_flag = thieving[:, None] & (
        frng.random((n, n_hours)) < FAULT_RATES["tamper_event_hours"] * max(level, 1)
    )
    return frozen, missing, estimated, tamper_flag


def _net_energy(
    master: Master,
    when: tuple[int, int, int],
    shared: MonthDraws,
    zero: np.ndarray,
    estimated: np.ndarray,
    consumption_wh: np.ndarray,
    solar_wh: np.ndarray,
) -> np.ndarray:
    """Meters x hours net energy (Wh): the month's consumption spread over the demand shape
    (profile hour shape x weekday x season, plus cooling on hot days) of the hours that are
    not ``zero``, less the solar generation spread over the sunny hours."""
    year, month, chunk = when
    data = tables()
    profiles, climate = data.profiles, data.climate
    n, p = master.n, master.profile
    start = pd.Timestamp(year=year, month=month, day=1)
    days = start.days_in_month
    hour = np.tile(np.arange(24), days)
    day = np.repeat(np.arange(days), 24)
    weekday = pd.date_range(start, periods=days, freq="D").dayofweek.to_numpy()

    rng = chunk_stream(master, "hourly", year, month, chunk)
    shapes = _hour_shapes()
    cooling_shape = shapes[profiles.index.get_loc("cooling_load")]
    dow = profiles[[c for c in profiles.columns if c.startswith("dow_")]].to_numpy(float)
    season = profiles[f"m{month:02d}"].to_numpy(float)
    sensitivity = profiles["cooling_sensitivity"].to_numpy(float)
    day_on_prob = profiles["day_on_prob"].to_numpy(float)
    noise_sd = profiles["noise_sd"].to_numpy(float)
    heat = shared.take("heat", lambda: np.exp(rng.normal(0, 0.15, (len(data.districts), days))))
    day_on = rng.random((n, days)) < day_on_prob[p][:, None]
    demand = shapes[p][:, hour] * dow[p][:, weekday[day]] * season[p][:, None] * day_on[:, day]
    demand += (
        (sensitivity[p] * climate.loc[month, "cooling_index"])[:, None]
        * cooling_shape[hour][None, :]
        * heat[master.district][:, day]
    )
    sd = noise_sd[p][:, None]
    noise = np.exp(rng.standard_normal((n, days * 24)) * sd - sd**2 / 2)
    noise[estimated] = 1.0
    noise *= demand
    del demand
    used = _spread(consumption_wh, np.where(zero, 0.0, noise))
    del noise

    sunrise, sunset = climate.loc[month, "sunrise_h"], climate.loc[month, "sunset_h"]
    sun = np.clip(np.sin(np.pi * (np.arange(24) + 0.5 - sunrise) / (sunset - sunrise)), 0, None)
    sun[(np.arange(24) + 0.5 < sunrise) | (np.arange(24) + 0.5 > sunset)] = 0.0
    clouds = shared.take(
        "clouds", lambda: np.clip(rng.normal(1.0, 0.2, (len(data.districts), days)), 0.2, 1.2)
    )
    if solar_wh.any():
        solar_weights = sun[hour][None, :] * clouds[master.district][:, day]
        used -= _spread(solar_wh, np.where(zero, 0.0, solar_weights))
    return used


def _hour_shapes() -> np.ndarray:
    """Profiles x 24 hour shapes, each summing to one."""
    profiles = tables().profiles
    shapes = profiles[[f"h{h:02d}" for h in range(24)]].to_numpy(float)
    return shapes / shapes.sum(axis=1, keepdims=True)


def _electrical(
    master: Master,
    when: tuple[int, int, int],
    shared: MonthDraws,
    net_wh: np.ndarray,
    no_supply: np.ndarray,
) -> dict[str, np.ndarray]:
    """Meters x hours voltage, current, power factor and frequency: feeder voltage sags with
    the evening peak; current from power; nothing measured without supply."""
    year, month, chunk = when
    n, n_hours = net_wh.shape
    hour = np.tile(np.arange(24), n_hours // 24)
    erng = chunk_stream(master, "electrical", year, month, chunk)
    peak = _hour_shapes()[tables().profiles.index.get_loc("residential")]
    sag = 1 - 0.04 * (peak - peak.min()) / (peak.max() - peak.min())
    nominal = np.where(master.phases == 1, 230.0, 400.0)
    feeder_v = nominal * master.feeder_voltage[master.feeder]
    voltage = feeder_v[:, None] * sag[hour][None, :] * (1 + erng.normal(0, 0.008, (n, n_hours)))
    pf = np.clip(master.pf_base[:, None] + erng.normal(0, 0.015, (n, n_hours)), 0.7, 1.0)
    frequency = np.clip(
        50
        + shared.take("frequency", lambda: erng.normal(0, 0.05, n_hours))[None, :]
        + erng.normal(0, 0.005, (n, n_hours)),
        49.6,
        50.4,
    )
    voltage = voltage.round(1)
    pf = pf.round(3)
    root = np.where(master.phases == 1, 1.0, math.sqrt(3))[:, None]
    current = np.abs(net_wh) / (root * voltage * pf)
    voltage[no_supply] = 0.0
    current[no_supply] = 0.0
    pf[no_supply] = np.nan
    frequency[no_supply] = np.nan
    return {
        "voltage_v": voltage,
        "current_a": current,
        "power_factor": pf,
        "frequency_hz": frequency,
    }


_FINISH = {
    "reading_kwh": lambda wh: wh / 1000,
    "consumption_kwh": lambda wh: wh / 1000,
    "current_a": lambda amps: amps.round(2),
    "frequency_hz": lambda hz: hz.round(2),
}
"""How a meters x hours array becomes its column (kWh of Wh; rounding)."""
_NAN_AS_NULL = {"power_factor", "frequency_hz"}  # NaN (no supply) is an empty field


def _frame(
    master: Master,
    start: pd.Timestamp,
    order: np.ndarray,
    cells: dict[str, np.ndarray],
    status: np.ndarray,
) -> pl.DataFrame:
    """The readings frame: rows ``order`` (flat meter x hour cells) of every array in
    ``cells`` (emptied on the way, so each array goes once its column is made)."""
    n_hours = status.shape[1]
    meter_of, hour_of = np.divmod(order, n_hours)
    stamps = pd.date_range(start, periods=n_hours, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    columns = [
        labels("meter_number", master.table["meter_number"], meter_of),
        labels("timestamp", stamps, hour_of),
        labels("status", STATUS_NAMES, status.ravel()[order]),
    ]
    del meter_of, hour_of
    for name in list(cells):
        values = cells.pop(name).ravel()[order]
        values = _FINISH.get(name, lambda v: v)(values)
        columns.append(pl.Series(name, values, nan_to_null=name in _NAN_AS_NULL))
    return pl.DataFrame(columns).select(READING_COLUMNS)
