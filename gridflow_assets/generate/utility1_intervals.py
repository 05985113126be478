"""UTILITY1 interval usage: every interval of three whole local days per meter and channel,
with the faults UTILITY1 is known for.

Rows are numpy code arrays until the end (channel, flow, service point and quality as
indices into small tables) and leave as a Polars frame whose text columns are Enums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.generate.common import labels
from gridflow_assets.generate.ny_common import (
    DAY_NS,
    HOUR_NS,
    NS,
    fault_count,
    local_grid_text,
    local_text,
    to_local,
)
from gridflow_assets.generate.utility1_population import (
    U1_CHANNELS,
    U1_COLUMNS,
    U1_DAYS_PER_METER,
    U1_FROZEN_RUN,
    U1_INTERVALS,
    U1_MISALIGNMENT_S,
    U1_RATES,
    U1Population,
)


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


def _u1_interval_grid(pop: U1Population, cal: pd.DataFrame, rng: np.random.Generator) -> _Grid:
    """Every interval of the chosen days: the per-day table is small, the grid vectorised."""
    n_days = len(cal)
    day_ns = (cal.end_ns - cal.start_ns).to_numpy()
    dst_days = np.flatnonzero(day_ns != DAY_NS)
    others = np.setdiff1d(np.arange(n_days), dst_days)
    extra = max(0, U1_DAYS_PER_METER - len(dst_days))
    meter_days = pd.DataFrame(
        [
            (m, d)
            for m in range(len(pop.meters))
            for d in np.concatenate([dst_days, rng.choice(others, size=extra, replace=False)])
        ],
        columns=["meter", "day"],
    )
    meter_days["cloud"] = rng.uniform(0.3, 1.0, len(meter_days))
    combos = (
        pop.channels.merge(meter_days, on="meter")
        .sort_values(["meter", "channel", "day"], kind="stable")
        .reset_index(drop=True)
    )

    start = cal.start_ns.to_numpy()[combos.day]
    dur_ns = combos.duration.to_numpy() * NS
    counts = (cal.end_ns.to_numpy()[combos.day] - start) // dur_ns
    rep = np.repeat(np.arange(len(combos)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    channel = np.array([_CHANNEL_NAMES.index(c) for c in combos.channel], dtype=np.int64)
    flow = np.array([_FLOWS.index(f) for f in combos.flow], dtype=np.int64)
    return _Grid(
        meter=combos.meter.to_numpy()[rep],
        channel=channel[rep],
        duration=combos.duration.to_numpy()[rep],
        flow=flow[rep],
        cloud=combos.cloud.to_numpy()[rep],
        utc_ns=start[rep] + within * dur_ns[rep],
    )


def _u1_values(pop: U1Population, grid: _Grid, rng: np.random.Generator) -> np.ndarray:
    """Energy per interval: a morning and evening peak, solar at midday on net/received."""
    m = grid.meter
    hours = grid.duration / 3600
    hour = (to_local(grid.utc_ns) % DAY_NS) / HOUR_NS + hours / 2
    shape = 0.3 + 0.5 * _bump(hour, 7.5, 1.5) + 1.0 * _bump(hour, 19.0, 2.5)
    load = pop.meters.load_kw.to_numpy()[m] * shape * rng.lognormal(0.0, 0.25, len(m)) * hours
    sun = np.clip(np.sin(np.pi * (hour - 6.0) / 13.0), 0.0, None)
    solar = pop.meters.solar_kw.to_numpy()[m] * sun * grid.cloud * hours
    flow = grid.flow
    return np.select(
        [
            flow == _FLOWS.index("delivered"),
            flow == _FLOWS.index("net"),
            flow == _FLOWS.index("received"),
        ],
        [load, load - solar, solar],
        load * pop.meters.kvar_ratio.to_numpy()[m],
    )


def u1_intervals(
    pop: U1Population, cal: pd.DataFrame, rng: np.random.Generator, scale: float
) -> pl.DataFrame:
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
    spikes = rng.choice(delivered, fault_count(U1_RATES["interval_spike"], n, scale), replace=False)
    value[spikes] = value[spikes] * rng.uniform(15, 40, len(spikes)) + 1.0
    negatives = rng.choice(
        delivered, fault_count(U1_RATES["interval_negative_delivered"], n, scale), replace=False
    )
    value[negatives] = -rng.uniform(0.05, 1.0, len(negatives))
    mismatch = rng.choice(
        n, fault_count(U1_RATES["interval_duration_mismatch"], n, scale), replace=False
    )
    duration[mismatch] = np.where(duration[mismatch] == 900, 300, 900)
    orphans = rng.choice(
        n, fault_count(U1_RATES["interval_orphan_service_point"], n, scale), replace=False
    )
    sp[orphans] = len(all_sps) + rng.choice(len(pop.orphan_sp_ids), len(orphans))
    if len(all_sps) > 1:
        n_moved = fault_count(U1_RATES["meter_on_two_service_points"], len(pop.meters), scale)
        bounds = np.searchsorted(grid.meter, np.arange(len(pop.meters) + 1))
        for m in rng.choice(len(pop.meters), n_moved, replace=False):
            rows = np.arange(bounds[m], bounds[m + 1])
            length = int(rng.integers(4, 13))
            first = int(rng.integers(0, max(1, len(rows) - length)))
            block = rows[first : first + length]
            sp[block] = rng.choice(np.flatnonzero(np.arange(len(all_sps)) != sp_codes[m]))

    value = np.round(value, 4) + 0.0
    quality = (rng.random(n) < 0.05).astype(np.int64)
    exact = rng.choice(
        n, fault_count(U1_RATES["interval_exact_duplicate"], n, scale), replace=False
    )
    conflicting = rng.choice(
        n, fault_count(U1_RATES["interval_conflicting_repeat"], n, scale), replace=False
    )
    changed = np.round(value[conflicting] * rng.uniform(0.5, 1.5, len(conflicting)) + 0.01, 4)
    fix_value = (
        np.round(np.where(changed == value[conflicting], changed + 0.0001, changed), 4) + 0.0
    )
    fix_update = update_ns[conflicting] + rng.integers(3600, 7 * 86_400, len(conflicting)) * NS

    # Rows in delivery order: each repeat right after its original (exact, then corrected).
    perm = np.argsort(
        np.concatenate([np.arange(n), exact + 0.25, conflicting + 0.5]), kind="stable"
    )
    src = np.concatenate([np.arange(n), exact, conflicting])[perm]
    original = perm < n
    value = np.concatenate([value, value[exact], fix_value])[perm]
    update_ns = np.concatenate([update_ns, update_ns[exact], fix_update])[perm]
    quality = np.concatenate([quality, quality[exact], np.zeros(len(conflicting), np.int64)])
    utc_ns = utc_ns[src]
    _u1_vee_faults(
        grid,
        rng,
        scale,
        np.concatenate([exact, conflicting]),
        np.flatnonzero(original),
        value,
        utc_ns,
    )

    return pl.DataFrame(
        [
            labels("service_delivery_point_id", [*all_sps, *pop.orphan_sp_ids], sp[src]),
            labels("meter_id", pop.meters.meter_id, grid.meter[src]),
            labels("channel", _CHANNEL_NAMES, grid.channel[src]),
            pl.Series("duration", duration[src]),
            pl.Series("value", value),
            labels("quality", _QUALITIES, quality[perm]),
            local_grid_text("timestamp", utc_ns, int(cal.start_ns.iloc[0]), 300 * NS),
            local_text("last_update_time", update_ns),
            labels("exported_at", ["null"], np.zeros(len(src), dtype=np.int64)),
        ]
    ).select(U1_COLUMNS[U1_INTERVALS])


def _u1_vee_faults(
    grid: _Grid,
    rng: np.random.Generator,
    scale: float,
    repeated: np.ndarray,
    positions: np.ndarray,
    value: np.ndarray,
    utc_ns: np.ndarray,
) -> None:
    """Faults the VEE rules must find, drawn after the others so those stay as they were:
    readings stamped off their interval grid (V3; the slot they left is a gap, V1) and
    meters stuck repeating one value (V6). Rows with repeats are left alone. ``value`` and
    ``utc_ns`` are the delivered rows, changed in place; original row i is at
    ``positions[i]``."""
    n = len(grid.meter)
    free = np.ones(n, dtype=bool)
    free[repeated] = False
    shifted = rng.choice(
        np.flatnonzero(free), fault_count(U1_RATES["interval_misaligned"], n, scale), replace=False
    )
    free[shifted] = False
    run = U1_FROZEN_RUN
    utc = grid.utc_ns
    head = slice(0, n - run + 1)
    last = np.arange(n - run + 1) + run - 1
    same_series = (
        (grid.meter[last] == grid.meter[head])
        & (grid.channel[last] == grid.channel[head])
        & (utc[last] - utc[head] == (run - 1) * grid.duration[head] * NS)
    )
    all_free = np.convolve(free, np.ones(run, dtype=int), mode="valid") == run
    starts = np.flatnonzero(same_series & all_free & (grid.flow[head] == _FLOWS.index("delivered")))
    starts = rng.choice(
        starts,
        min(len(starts), fault_count(U1_RATES["interval_frozen_run"], n, scale)),
        replace=False,
    )
    rows = (starts[:, None] + np.arange(run)).ravel()
    value[positions[rows]] = np.repeat(value[positions[starts]], run)
    utc_ns[positions[shifted]] += U1_MISALIGNMENT_S * NS
