"""UTILITY2 reference data: versioned premises, meters and effective-dated installations.

It depends on the seed only (plus the orphan share of the fault level), so every month of a
run describes the same population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from faker import Faker

from gridflow_assets.generate.ny_common import (
    ANCHOR,
    DAY_NS,
    FAULT_SCALES,
    NS,
    faker,
    fault_count,
    ny_zip,
    unique_ints,
)
from gridflow_assets.silver.adapters.utility2 import SOURCES

UTILITY2 = "UTILITY2"
U2_SERVICE_POINTS = "utility2_service_points.csv"
U2_METERS = "utility2_meters.csv"
U2_INTERVALS = "utility2_intervals.csv"
# Each delivered file's columns, in order, as the adapter declares and reads them.
U2_COLUMNS = {source.filename: list(source.columns) for source in SOURCES.values()}
# Channel sets by kind of customer (codes as in silver/adapters/code_tables/utility2_channels.csv).
U2_PROFILES: dict[str, tuple[tuple[int, ...], float, tuple[str, ...]]] = {
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
_APOSTROPHE_NAMES = tuple(
    f"{a}{CURLY_APOSTROPHE}{b}"
    for a, b in (
        ("O", "Connor"),
        ("O", "Brien"),
        ("O", "Neill"),
        ("D", "Amico"),
        ("O", "Rourke"),
        ("D", "Angelo"),
    )
)
_SUPPLEMENTS = ("APT", "UNIT", "FL", "STE")


# Cumulative registers are six-dial: they reach just under 999,999 at this date, so they
# read "near 999,999", increase daily and never roll over for months before it.
REGISTER_HORIZON = pd.Timestamp("2028-01-01")


@dataclass(frozen=True)
class U2Population:
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
    zip_code, city = ny_zip(rng, fake)
    return {
        "premise_house_num": int(rng.integers(1, 9999)),
        "premise_street": _u2_street(rng, fake),
        "premise_house_supp": _u2_supplement(rng) if rng.random() < 0.3 else "",
        "premise_city": city,
        "premise_zip": zip_code,
    }


def _u2_variant(
    rng: np.random.Generator, fake: Faker, previous: dict[str, object]
) -> dict[str, object]:
    """Next address version of a premise: a new unit, a re-keyed street, or a new address."""
    kind = rng.choice(3, p=[0.4, 0.3, 0.3])
    if kind == 0:
        new = {**previous, "premise_house_supp": _u2_supplement(rng)}
    elif kind == 1:
        street = str(previous["premise_street"])
        new = {**previous, "premise_street": street.title() if street.isupper() else street.upper()}
    else:
        new = _u2_address(rng, fake)
    if new == previous:
        supp = "" if previous["premise_house_supp"] else "APT 1A"
        new = {**previous, "premise_house_supp": supp}
    return new


def _u2_premises(rng: np.random.Generator, fake: Faker, n: int) -> pd.DataFrame:
    ids = [f"PREM-{d:08d}" for d in unique_ints(rng, n, 0, 10**8)]
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
            rows.append(
                {
                    "premise_id": premise_id,
                    "created_date": created,
                    **address,
                    "premise_region": "NY",
                }
            )
    df = pd.DataFrame(rows, columns=U2_COLUMNS[U2_SERVICE_POINTS])
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)


def cum_delivered(rate: np.ndarray | float, t: np.ndarray | float) -> np.ndarray:
    """Cumulative kWh since the anchor: winter and summer peaks, never decreasing."""
    return rate * (t + 0.25 * 365 / (4 * np.pi) * np.sin(4 * np.pi * t / 365))


def cum_received(rate: np.ndarray | float, t: np.ndarray | float) -> np.ndarray:
    """Cumulative solar kWh since the anchor: low in winter, high in summer."""
    return rate * (t - 0.6 * 365 / (2 * np.pi) * np.sin(2 * np.pi * t / 365))


def _u2_meters(
    rng: np.random.Generator, n_sending: int, n_unknown: int, n_retired: int
) -> pd.DataFrame:
    """Meters that send reads, meters unknown to the meters file, long-retired meters."""
    n = n_sending + n_unknown + n_retired
    ids = unique_ints(rng, n, 10**8, 10**10)
    numbers = np.array(ids, dtype=np.int64)
    differs = rng.random(n) < 0.06
    delta = rng.integers(1, 1000, n)
    numbers = np.where(
        differs, np.where(numbers + delta < 10**10, numbers + delta, numbers - delta), numbers
    )
    names = list(U2_PROFILES)
    profile = rng.choice(len(names), size=n, p=[U2_PROFILES[p][1] for p in names])
    kind = np.array(names)[profile]
    type_pick = rng.integers(0, 3, n)
    commercial = kind == "commercial"
    t_ref = (REGISTER_HORIZON - ANCHOR).days
    rate = np.where(commercial, rng.uniform(30, 50, n), rng.uniform(8, 35, n))
    solar = np.where(kind == "solar", rng.uniform(10, 30, n), 0.0)
    kvar = rng.uniform(0.2, 0.5, n)
    target = 999_999 - rng.integers(0, 5_000, (n, len(U2_REGISTER_CHANNELS)))
    at_ref = {
        9: np.floor(cum_delivered(rate, t_ref)),
        10: np.floor(cum_received(solar, t_ref)),
        11: np.floor(kvar * np.floor(cum_delivered(rate, t_ref))),
        23: np.floor(0.4 * np.floor(cum_delivered(rate, t_ref))),
        24: np.floor(cum_delivered(rate, t_ref))
        - np.floor(0.4 * np.floor(cum_delivered(rate, t_ref))),
    }
    df = pd.DataFrame(
        {
            "meter_id": [str(i) for i in ids],
            "meter_number": [str(x) for x in numbers],
            "meter_type": [U2_PROFILES[k][2][t] for k, t in zip(kind, type_pick, strict=True)],
            "meter_channel": np.where(rng.random(n) < 0.65, "MT", ""),
            "profile": kind,
            "rate": rate,
            "solar": solar,
            "kvar": kvar,
            "role": ["sending"] * n_sending + ["unknown"] * n_unknown + ["retired"] * n_retired,
        }
    )
    for j, ch in enumerate(U2_REGISTER_CHANNELS):
        df[f"offset_{ch}"] = target[:, j] - at_ref[ch].astype(np.int64)
    return df


def _u2_installs(
    rng: np.random.Generator,
    meters: pd.DataFrame,
    premise_ids: np.ndarray,
    ghost_ids: np.ndarray,
    orphan_share: float,
) -> pd.DataFrame:
    """Effective-dated, non-overlapping installations: a meter moves between premises."""
    lo = pd.Timestamp("2012-01-01").value
    span_days = (pd.Timestamp("2023-06-30") - pd.Timestamp("2012-01-01")).days
    rows = []
    for m in np.flatnonzero(meters.role.to_numpy() != "unknown"):
        k = int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))
        starts = (
            lo
            + np.sort(rng.choice(span_days, size=k, replace=False)) * DAY_NS
            + rng.integers(0, 86_400, k) * NS
        )
        real = rng.choice(premise_ids, size=k, replace=False)
        ghost = rng.choice(ghost_ids, size=k)
        orphan = rng.random(k) < orphan_share
        historic_status = np.where(rng.random(k) < 0.5, "Customer", "")
        for i in range(k):
            if i + 1 < k:
                room = (starts[i + 1] - starts[i]) // 2
                removed = starts[i + 1] - int(rng.integers(0, max(1, min(room, 30 * DAY_NS))))
                status = historic_status[i]
            elif meters.role.iat[m] == "retired":
                removed = starts[i] + int(rng.integers(100, 900)) * DAY_NS
                status = "Retired"
            else:
                removed, status = -1, "Customer"
            rows.append(
                {
                    "meter": m,
                    "premise_id": ghost[i] if orphan[i] else real[i],
                    "installed_ns": int(starts[i]),
                    "removed_ns": int(removed),
                    "status": status,
                    "created_lag": int(rng.integers(0, 3 * 86_400)) * NS,
                    "updated_lag": int(rng.integers(0, 400 * 86_400)) * NS,
                }
            )
    return pd.DataFrame(rows)


def u2_population(meters: int, seed: int, scale: float) -> U2Population:
    """Premises, meters and installations: seed only (plus the orphan share), so every month
    shares them. The pool of unknown meters is sized for "heavy"; lighter levels use part."""
    rng = np.random.default_rng(seed)
    fake = faker(seed)
    premises = _u2_premises(rng, fake, max(2, meters + meters // 4))
    taken = {int(p[5:]) for p in premises.premise_id}
    ghosts = np.array(
        [f"PREM-{d:08d}" for d in unique_ints(rng, max(2, meters // 2), 0, 10**8, taken)]
    )
    n_unknown = fault_count(U2_RATES["unknown_meter"], meters, FAULT_SCALES["heavy"])
    meter_df = _u2_meters(rng, meters, n_unknown, max(1, meters // 20))
    installs = _u2_installs(
        rng,
        meter_df,
        premises.premise_id.unique(),
        ghosts,
        min(0.6, U2_RATES["orphan_premise"] * scale),
    )
    return U2Population(premises, meter_df, installs)
