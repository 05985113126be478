"""UTILITY1 reference data and the small files: service points, meters with their
channels, and the meter read log.

The population depends on the seed only, so every month of a run describes the same
service points and meters; the read log and the service-point snapshot are drawn per month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridflow_assets.generate.ny_common import (
    DAY_NS,
    NS,
    days_since_anchor,
    faker,
    fault_count,
    ny_zip,
    unique_ints,
    utc_iso,
)
from gridflow_assets.silver.adapters.utility1 import SOURCES

UTILITY1 = "UTILITY1"
U1_SERVICE_POINTS = "utility1_service_points.csv"
U1_METERS = "utility1_meters.csv"
U1_INTERVALS = "utility1_intervals.csv"
# Each delivered file's columns, in order, as the adapter declares and reads them.
U1_COLUMNS = {source.filename: list(source.columns) for source in SOURCES.values()}
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
    (("KWH 15 Minute Interval Read Interval", "KWH Net 15 Minute Interval Read Interval"), 0.15),
    (
        ("KWH 15 Minute Interval Read Interval", "KWH Received 5 Minute Interval Read Interval"),
        0.10,
    ),
    (("KWH 5 Minute Interval Read Interval",), 0.15),
    (("KWH 5 Minute Interval Read Interval", "KVARH 5 Minute Interval Read Interval"), 0.15),
    (("KWH 5 Minute Interval Read Interval", "KWH Received 5 Minute Interval Read Interval"), 0.10),
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
class U1Population:
    service_points: pd.DataFrame
    meters: pd.DataFrame
    channels: pd.DataFrame
    orphan_sp_ids: tuple[str, ...]


def _sp_digits(rng: np.random.Generator, zip_code: str, taken: set[str]) -> str:
    """Eight digits, most starting with the ZIP: the leak docs/formats/ warns about."""
    while True:
        if rng.random() < 0.7:
            digits = f"{zip_code}{int(rng.integers(0, 1000)):03d}"
        else:
            digits = f"{int(rng.integers(0, 10**8)):08d}"
        if digits not in taken:
            taken.add(digits)
            return digits


def u1_population(meters: int, seed: int) -> U1Population:
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
        rows.append(
            {
                "SERVICE_POINT_ID": f"SP-{digits}",
                "SERVICE_POINT_NUMBER": int(digits),
                "SERVICE_POINT_STREET": fake.street_address(),
                "SERVICE_POINT_CITY": city,
                "SERVICE_POINT_ZIP": zip_code,
                "SERVICE_POINT_STATE": "NY",
                "INSTALLED_AT": "",
                "REMOVED_AT": "",
                "CREATED": created.strftime("%Y-%m-%d"),
                "UPDATED": updated.strftime("%Y-%m-%d"),
            }
        )
    service_points = pd.DataFrame(rows, columns=U1_COLUMNS[U1_SERVICE_POINTS])
    orphan_sp_ids = tuple(f"SP-{_sp_digits(rng, ny_zip(rng, fake)[0], taken)}" for _ in range(3))

    meter_ids = [f"MTR-{d:08d}" for d in unique_ints(rng, meters, 0, 10**8)]
    sp_index = rng.permutation(
        np.concatenate([np.arange(n_sp), rng.integers(0, n_sp, meters - n_sp)])
    )
    set_index = rng.choice(len(_U1_CHANNEL_SETS), size=meters, p=[w for _, w in _U1_CHANNEL_SETS])
    load_kw = rng.uniform(0.6, 2.0, meters)
    solar_cap = rng.uniform(2.0, 6.0, meters)
    has_solar = np.array(
        [
            any(U1_CHANNELS[c][1] in ("net", "received") for c in _U1_CHANNEL_SETS[i][0])
            for i in set_index
        ]
    )
    meters_df = pd.DataFrame(
        {
            "meter_id": meter_ids,
            "sp_id": service_points.SERVICE_POINT_ID.to_numpy()[sp_index],
            "load_kw": load_kw,
            "solar_kw": np.where(has_solar, solar_cap, 0.0),
            "kvar_ratio": rng.uniform(0.2, 0.45, meters),
            "register0": rng.integers(10_000, 90_000, meters),
            # mean of the daily load shape below is about 0.54 * load_kw, i.e. 13 kWh a day per kW
            "daily_kwh": 13.0 * load_kw,
        }
    )
    channels = pd.DataFrame(
        [
            (m, name, U1_CHANNELS[name][0], U1_CHANNELS[name][1])
            for m, i in enumerate(set_index)
            for name in _U1_CHANNEL_SETS[i][0]
        ],
        columns=["meter", "channel", "duration", "flow"],
    )
    return U1Population(service_points, meters_df, channels, orphan_sp_ids)


def u1_service_points(
    pop: U1Population, cal: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """The full service-point snapshot; a few records were touched during the month."""
    df = pop.service_points.copy()
    touched = rng.random(len(df)) < 0.1
    new = cal.date.dt.strftime("%Y-%m-%d").to_numpy()[rng.integers(0, len(cal), len(df))]
    df["UPDATED"] = np.where(touched & (new > df.UPDATED.to_numpy()), new, df.UPDATED)
    return df


def u1_meter_log(
    pop: U1Population, cal: pd.DataFrame, rng: np.random.Generator, scale: float
) -> pd.DataFrame:
    """About ten register reads per meter at local midnight; the type flips between rows."""
    meters = pop.meters
    reads = rng.integers(9, 12, len(meters))
    meter_idx = np.repeat(np.arange(len(meters)), reads)
    day_idx = np.concatenate([np.sort(rng.choice(len(cal), size=k, replace=False)) for k in reads])
    ts_ns = cal.start_ns.to_numpy()[day_idx]
    first = np.r_[True, meter_idx[1:] != meter_idx[:-1]]
    previous = np.where(first, cal.start_ns.iloc[0] - DAY_NS, np.r_[0, ts_ns[:-1]])
    value = meters.register0.to_numpy()[meter_idx] + np.floor(
        meters.daily_kwh.to_numpy()[meter_idx] * days_since_anchor(ts_ns)
    )
    df = pd.DataFrame(
        {
            "meter_id": meters.meter_id.to_numpy()[meter_idx].astype(object),
            "meter_timestamp": utc_iso(ts_ns),
            "meter_duration": (ts_ns - previous) // NS,
            "meter_value": value.astype(np.int64),
            "meter_type": np.where(rng.random(len(meter_idx)) < 0.3, "Estimation", "Company"),
            "meter_category": "Periodic",
        }
    )
    n = len(df)
    malformed = rng.choice(n, fault_count(U1_RATES["log_malformed_id"], n, scale), replace=False)
    df.loc[malformed, "meter_id"] = "MTR-"
    dups = rng.choice(n, fault_count(U1_RATES["log_exact_duplicate"], n, scale), replace=False)
    order = np.concatenate([np.arange(n), dups + 0.5])
    out = pd.concat([df, df.iloc[dups]], ignore_index=True)
    return out.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
