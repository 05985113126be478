"""Synthetic UTILITY2 drops: versioned premises, effective-dated meter installations and
heavily repeated daily integer reads (the "premise" vocabulary of drop-formats.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gridflow_assets.generate.common import write_drop
from gridflow_assets.generate.ny_common import (
    ANCHOR,
    DAY_NS,
    NS,
    check_args,
    fault_count,
    month_calendar,
    month_rng,
    ny_files,
    utc_iso,
)
from gridflow_assets.generate.utility2_population import (
    U2_COLUMNS,
    U2_EXACT_SHARE_OF_REPEATS,
    U2_INTERVALS,
    U2_METERS,
    U2_PROFILES,
    U2_QUALITY,
    U2_RATES,
    U2_REGISTER_CHANNELS,
    U2_REPEAT_SHARE,
    U2_SERVICE_POINTS,
    UTILITY2,
    U2Population,
    cum_delivered,
    cum_received,
    u2_population,
)


def _u2_meters_file(pop: U2Population, cal: pd.DataFrame, rng: np.random.Generator,
                    scale: float) -> pd.DataFrame:
    """The installation history as of this month, with this month's retirements and
    not-yet-installed meters that nevertheless send reads."""
    inst = pop.installs.copy()
    month_start = int(cal.start_ns.iloc[0])
    month_end = int(cal.end_ns.iloc[-1])
    sending = np.flatnonzero(pop.meters.role.to_numpy() == "sending")
    n = len(sending)
    retired = rng.choice(sending, fault_count(U2_RATES["retired_still_sending"], n, scale),
                         replace=False)
    rest = np.setdiff1d(sending, retired)
    not_yet = rng.choice(rest, fault_count(U2_RATES["not_yet_installed"], n, scale),
                         replace=False)
    current = inst.groupby("meter").tail(1)
    last_row = pd.Series(current.index, index=current.meter.to_numpy())
    created = inst.installed_ns + inst.created_lag
    for m in retired:
        r = last_row[m]
        gap = int(rng.integers(1, 90)) * DAY_NS
        inst.at[r, "removed_ns"] = max(month_start - gap, inst.at[r, "installed_ns"] + DAY_NS)
        inst.at[r, "status"] = "Retired"
    for m in not_yet:
        r = last_row[m]
        before = inst[(inst.meter == m) & (inst.index < r)].removed_ns
        planned = month_start + int(rng.integers(3, 45)) * DAY_NS + int(
            rng.integers(0, 86_400)) * NS
        inst.at[r, "installed_ns"] = max([planned, *before.tolist()])
        created.at[r] = month_start + int(rng.integers(0, 3 * 86_400)) * NS
    removed = inst.removed_ns.to_numpy()
    is_open = removed < 0
    updated = np.where(is_open, created + inst.updated_lag,
                       removed + inst.created_lag)
    updated = np.maximum(np.minimum(updated, month_end - NS), created)
    meters = pop.meters.iloc[inst.meter.to_numpy()]
    return pd.DataFrame({
        "premise_id": inst.premise_id.to_numpy(),
        "meter_id": meters.meter_id.to_numpy(),
        "meter_number": meters.meter_number.to_numpy(),
        "meter_type": meters.meter_type.to_numpy(),
        "meter_status": inst.status.to_numpy(),
        "meter_channel": meters.meter_channel.to_numpy(),
        "installed_at": utc_iso(inst.installed_ns.to_numpy()),
        "removed_at": utc_iso(np.where(is_open, 0, removed), empty=is_open),
        "created": utc_iso(created.to_numpy()),
        "updated": utc_iso(updated),
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
    edges = np.floor(cum_delivered(meter.rate, t_edges)).astype(np.int64)
    usage = _allocate(int(edges[-1] - edges[0]), day_factor * rng.lognormal(0, 0.25, n))
    cum = edges[0] + np.cumsum(usage)
    solar_edges = np.floor(cum_received(meter.solar, t_edges)).astype(np.int64)
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
    return {ch: values[ch] for ch in U2_PROFILES[meter.profile][0]}


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


def _u2_intervals(pop: U2Population, cal: pd.DataFrame, rng: np.random.Generator,
                  faults: str, scale: float) -> pd.DataFrame:
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
    picked = rng.choice(usage, fault_count(U2_RATES["usage_days_missing"], len(usage), scale),
                        replace=False)
    drop = np.zeros(len(df), dtype=bool)
    for series in picked:  # a handful of faults, not a loop over readings
        first, length = int(rng.integers(1, n_days - 5)), int(rng.integers(2, 5))
        drop |= (key == series).to_numpy() & np.isin(df.timestamp, dates[first:first + length])
    registers = np.unique(key[channel == 9])
    stuck = rng.choice(registers, fault_count(U2_RATES["register_frozen"], len(registers),
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
    scale = check_args(months, meters, faults)
    pop = u2_population(int(meters), seed, scale)
    folders = []
    for month in months:
        rng = month_rng(seed, month)
        cal = month_calendar(month)
        frames = {
            U2_SERVICE_POINTS: pop.premises,
            U2_METERS: _u2_meters_file(pop, cal, rng, scale),
            U2_INTERVALS: _u2_intervals(pop, cal, rng, faults, scale),
        }
        data, rows = ny_files(frames)
        folders.append(write_drop(Path(landing), UTILITY2, month, data, row_counts=rows))
    return folders


GENERATORS = {UTILITY2: generate_utility2}
