"""UTILITY2 daily reads: true values per meter, channel and local day, then the repeats.

Registers and usage agree (a register's daily advance is that day's usage), repeats carry
other values, and the VEE faults are drawn last. All work is on arrays indexed by *part*
(one sending meter's channel): a row's part and day say everything about it, and only the
few random draws per meter run in a loop, in the order the meters are listed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.generate.common import labels
from gridflow_assets.generate.ny_common import ANCHOR, fault_count
from gridflow_assets.generate.utility2_population import (
    U2_COLUMNS,
    U2_EXACT_SHARE_OF_REPEATS,
    U2_INTERVALS,
    U2_PROFILES,
    U2_QUALITY,
    U2_RATES,
    U2_REGISTER_CHANNELS,
    U2_REPEAT_SHARE,
    U2Population,
    cum_delivered,
    cum_received,
)


def _allocate(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split each row's integer total into integer parts proportional to its weights
    (largest remainder), so that daily usage adds up exactly to the register's advance."""
    raw = totals[:, None] * weights / weights.sum(axis=1, keepdims=True)
    parts = np.floor(raw).astype(np.int64)
    short = totals - parts.sum(axis=1)
    rank = np.argsort(np.argsort(parts - raw, axis=1, kind="stable"), axis=1, kind="stable")
    return parts + (rank < short[:, None])


def _true_values(
    meters: pd.DataFrame, t_edges: np.ndarray, weekend: np.ndarray, rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """True daily values (meters x days) of every channel code for the given meters.

    Each meter draws its usage weights, solar weights and demand-register noise in turn, as
    one stream per month, so the values do not depend on how the arithmetic is batched.
    """
    n_meters, n = len(meters), len(t_edges) - 1
    draws = [
        (rng.lognormal(0, 0.25, n), rng.uniform(0.2, 1.2, n), rng.integers(0, 4, n))
        for _ in range(n_meters)
    ]
    usage_w, solar_w, demand = (
        np.array([d[k] for d in draws]).reshape(n_meters, n) for k in range(3)
    )
    commercial = (meters.profile.to_numpy() == "commercial")[:, None]
    day_factor = np.where(weekend[None, :], np.where(commercial, 0.5, 1.1), 1.0)
    rate, kvar = meters.rate.to_numpy()[:, None], meters.kvar.to_numpy()[:, None]
    edges = np.floor(cum_delivered(rate, t_edges[None, :])).astype(np.int64)
    usage = _allocate(edges[:, -1] - edges[:, 0], day_factor * usage_w)
    cum = edges[:, :1] + np.cumsum(usage, axis=1)
    solar_edges = np.floor(cum_received(meters.solar.to_numpy()[:, None], t_edges[None, :])).astype(
        np.int64
    )
    received = _allocate(solar_edges[:, -1] - solar_edges[:, 0], solar_w)
    on_peak = np.floor(0.35 * usage + 0.5).astype(np.int64)
    off_peak = np.floor(0.45 * usage + 0.5).astype(np.int64)
    peak_cum = np.floor(0.4 * cum).astype(np.int64)

    def offset(channel: int) -> np.ndarray:
        return meters[f"offset_{channel}"].to_numpy()[:, None]

    return {
        1: usage,
        3: received,
        7: usage - received,
        8: np.floor(kvar * usage + 0.5).astype(np.int64),
        9: offset(9) + cum,
        10: offset(10) + solar_edges[:, :1] + np.cumsum(received, axis=1),
        11: offset(11) + np.floor(kvar * cum).astype(np.int64),
        13: on_peak,
        14: off_peak,
        15: usage - on_peak - off_peak,
        16: demand,
        23: offset(23) + peak_cum,
        24: offset(24) + cum - peak_cum,
    }


def _repeated(src: np.ndarray, value: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """True where a (src, value, quality) row equals an earlier row (``keep="first"``).

    The three integers are packed into one int64 when they fit (they do for any drop this
    generator writes), so the check is one stable sort; otherwise rows are compared whole.
    """
    v, q = value - value.min(initial=0), quality - quality.min(initial=0)
    v_span, q_span = int(v.max(initial=0)) + 1, int(q.max(initial=0)) + 1
    if (int(src.max(initial=0)) + 1) * v_span * q_span < 2**62:
        key = (src * v_span + v) * q_span + q
        order = np.argsort(key, kind="stable")  # equal keys keep their delivery order
        ordered = key[order]
        repeated = np.zeros(len(key), dtype=bool)
        repeated[order[1:]] = ordered[1:] == ordered[:-1]
        return repeated
    frame = pl.DataFrame({"src": src, "value": value, "quality": quality})
    return ~frame.select(pl.struct(pl.all()).is_first_distinct()).to_series().to_numpy()


def _distinct_versions(
    src: np.ndarray,
    value: np.ndarray,
    quality: np.ndarray,
    base_value: np.ndarray,
    base_quality: np.ndarray,
    spread: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Nudge conflicting repeats until each differs from its key's other rows, so exact
    duplicates stay the few drawn on purpose. A clashing "no read" (51, value 0) becomes an
    estimate (2) with a value, keeping the rule that 51 always carries 0.

    Whether a row clashes depends only on the rows of its own key (``src``), so after the
    first pass only the keys that were just nudged are checked again."""
    value, quality = value.copy(), quality.copy()
    touched = np.ones(len(base_value), dtype=bool)
    rows = np.arange(len(src))
    for _ in range(100):
        rows = rows[touched[src[rows]]]
        keys = np.flatnonzero(touched)
        repeated = _repeated(
            np.concatenate([keys, src[rows]]),
            np.concatenate([base_value[keys], value[rows]]),
            np.concatenate([base_quality[keys], quality[rows]]),
        )
        clash = rows[repeated[len(keys) :]]
        if not len(clash):
            break
        quality[clash[quality[clash] == 51]] = 2
        value[clash] += rng.integers(1, spread[clash] + 1)
        touched[:] = False
        touched[src[clash]] = True
    return value, quality


def u2_intervals(
    pop: U2Population, cal: pd.DataFrame, rng: np.random.Generator, faults: str, scale: float
) -> pl.DataFrame:
    """One true row per meter, channel and local day, then the repeats: their number is set
    so that repeats make up ``U2_REPEAT_SHARE`` of the file, spread over keys with
    exponential weights (most keys a few repeats, some dozens); each repeat follows its
    original."""
    role = pop.meters.role.to_numpy()
    unknown = np.flatnonzero(role == "unknown")
    n_unknown = fault_count(U2_RATES["unknown_meter"], int((role == "sending").sum()), scale)
    senders = np.concatenate([np.flatnonzero(role == "sending"), unknown[:n_unknown]])
    t0 = (cal.date.iloc[0] - ANCHOR).days
    t_edges = t0 + np.arange(len(cal) + 1, dtype=float)
    weekend = cal.date.dt.dayofweek.to_numpy() >= 5
    dates = cal.date.dt.strftime("%Y%m%d").astype(np.int64).to_numpy()
    sending = pop.meters.iloc[senders]
    truth_by_channel = _true_values(sending, t_edges, weekend, rng)
    # A part is one sending meter's channel, in the order meters and their channels are listed.
    part_sender, part_channel = (
        np.array(a, dtype=np.int64)
        for a in zip(
            *[
                (k, ch)
                for k, profile in enumerate(sending.profile)
                for ch in U2_PROFILES[profile][0]
            ],
            strict=False,
        )
    )
    n_days = len(cal)
    true_value = np.concatenate(
        [truth_by_channel[ch][k] for k, ch in zip(part_sender, part_channel, strict=False)]
    ).astype(np.int64)
    part_of = np.repeat(np.arange(len(part_sender)), n_days)
    channel = part_channel[part_of]
    codes = np.array(list(U2_QUALITY[faults]))
    probs = np.array(list(U2_QUALITY[faults].values()))
    b = len(part_of)
    quality = rng.choice(codes, size=b, p=probs)
    value = np.where(quality == 51, 0, true_value)

    share = U2_REPEAT_SHARE[faults]
    repeats = round(b * share / (1 - share))
    # Exponential weights: most keys repeat a few times, some dozens of times.
    weights = rng.gamma(1.0, size=b)
    counts = rng.multinomial(repeats, weights / weights.sum())
    src = np.repeat(np.arange(b), counts)
    exact = rng.random(len(src)) < U2_EXACT_SHARE_OF_REPEATS
    register = np.isin(channel[src], U2_REGISTER_CHANNELS)
    truth = true_value[src]
    spread = np.where(register, 40, np.maximum(2, np.abs(truth) * 3 // 10 + 1))
    delta = rng.integers(1, spread + 1) * rng.choice([-1, 1], size=len(src))
    new_value = truth + delta
    can_go_negative = register | (channel[src] == 7)
    new_value = np.where(can_go_negative, new_value, np.maximum(new_value, 0))
    new_quality = rng.choice(codes, size=len(src), p=probs)
    new_value = np.where(new_quality == 51, 0, new_value)
    rep_value, rep_quality = value[src], quality[src]
    rep_value[~exact], rep_quality[~exact] = _distinct_versions(
        src[~exact], new_value[~exact], new_quality[~exact], value, quality, spread[~exact], rng
    )

    order = np.argsort(np.concatenate([np.arange(b), src]), kind="stable")
    row = np.concatenate([np.arange(b), src])[order]
    value = np.concatenate([value, rep_value])[order]
    quality = np.concatenate([quality, rep_quality])[order]
    day = dates[row % n_days]
    keep = _u2_vee_faults(
        part_of[row],
        part_channel,
        pop.meters.meter_id.to_numpy()[senders][part_sender],
        day,
        quality,
        value,
        dates,
        rng,
        scale,
    )
    row = row[keep]
    return pl.DataFrame(
        [
            pl.Series("channel", channel[row]),
            pl.Series("duration", np.zeros(len(row), dtype=np.int64)),
            labels("meter_id", sending.meter_id, part_sender[part_of[row]]),
            pl.Series("quality", quality[keep]),
            pl.Series("timestamp", day[keep]),
            pl.Series("value", value[keep]),
        ]
    ).select(U2_COLUMNS[U2_INTERVALS])


def _u2_vee_faults(
    part: np.ndarray,
    part_channel: np.ndarray,
    part_meter: np.ndarray,
    day: np.ndarray,
    quality: np.ndarray,
    value: np.ndarray,
    dates: np.ndarray,
    rng: np.random.Generator,
    scale: float,
) -> np.ndarray:
    """Faults the VEE rules must find, drawn after the others so those stay as they were:
    a usage channel not delivered for 2-4 days while its register keeps reading (V1, V9;
    E2 and E3 estimate it), and a delivered-kWh register stuck on one value for 3-5 days
    (V6). A stuck register takes every version of its days, so whichever version wins the
    conflict rule is stuck too; "no read" rows (51) keep their placeholder 0.

    Rows are grouped by ``part`` (non-decreasing); series are drawn from their
    ``meter_id|channel`` keys in sorted order. ``value`` changes in place; returns the rows
    that stay delivered."""
    keys = np.array(
        [f"{m}|{c}" for m, c in zip(part_meter, part_channel, strict=False)], dtype=object
    )
    by_key = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(part, np.arange(len(keys) + 1))
    n_days = len(dates)
    usage = by_key[~np.isin(part_channel[by_key], U2_REGISTER_CHANNELS)]
    picked = rng.choice(
        usage, fault_count(U2_RATES["usage_days_missing"], len(usage), scale), replace=False
    )
    keep = np.ones(len(part), dtype=bool)
    for series in picked:  # a handful of faults, not a loop over readings
        first, length = int(rng.integers(1, n_days - 5)), int(rng.integers(2, 5))
        rows = slice(bounds[series], bounds[series + 1])
        keep[rows] &= ~np.isin(day[rows], dates[first : first + length])
    registers = by_key[part_channel[by_key] == 9]
    stuck = rng.choice(
        registers, fault_count(U2_RATES["register_frozen"], len(registers), scale), replace=False
    )
    for series in stuck:
        first, length = int(rng.integers(0, n_days - 5)), int(rng.integers(3, 6))
        lo, hi = bounds[series], bounds[series + 1]
        rows = lo + np.flatnonzero(
            np.isin(day[lo:hi], dates[first : first + length]) & (quality[lo:hi] != 51)
        )
        value[rows] = value[lo + np.flatnonzero(day[lo:hi] == dates[first])[0]]
    return keep
