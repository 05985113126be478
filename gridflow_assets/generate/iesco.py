"""Synthetic IESCO drops: consumer master, hourly smart-meter reads, bills and payments.

The generator exists so the pipeline can be exercised end to end on data that behaves like
an IESCO delivery (drop-formats.md, domain.md): realistic consumer mixes per area, feeder-wide
load shedding, outages, prosumers, theft, meter faults, and bills priced with the tariff in
force for the month (:mod:`gridflow_assets.domain.tariff`). Everything descriptive (consumer
types, areas, load profiles, climate, names) is data under ``gridflow_assets/domain``.

Design choices that matter to consumers of the data:

* **Determinism per month.** Every random draw comes from a stream keyed by
  ``(seed, purpose, year, month)``, so a month is byte-identical whether it is generated
  alone or inside a longer run, and fault levels never shift the clean parts of the data.
* **Registers continue across months without generating earlier months.** Each meter's
  monthly energy is drawn first in closed form (profile x calendar x climate x noise); the
  hourly grid only decides how that energy is spread over the hours that had supply. A
  month's opening register is therefore the meter's register at 2024-01 (the first tariff
  month) plus the closed-form totals of the months in between. Energy is handled in integer
  Wh so register increments equal consumption exactly.
* **Vectorized.** All reading work is numpy over a meters x hours grid; Python loops only
  run over months, profiles, slots or bills' behaviour groups, never over readings.
* **Faults are separate from grid behaviour.** ``faults="none"`` still has load shedding,
  outages and prosumers (real behaviour) but no theft, meter faults or data errors.
"""

from __future__ import annotations

import io
import math
import re
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from gridflow_assets.domain import tariff
from gridflow_assets.generate.common import csv_bytes, write_drop

UTILITY = "IESCO"

METER_COLUMNS = (
    "consumer_id", "meter_number", "reference_no", "name", "father_name", "address",
    "tariff_category", "connection_date", "connected_load_kw", "division", "sub_division",
    "feeder_name", "phase_type", "meter_type", "meter_make", "installation_date",
    "warranty_expiry", "last_maintenance_date", "latitude", "longitude", "status",
    "sanctioned_load_kw", "consumer_type", "district",
)
READING_COLUMNS = (
    "meter_number", "timestamp", "reading_kwh", "consumption_kwh", "voltage_v", "current_a",
    "power_factor", "frequency_hz", "status",
)
BILL_COLUMNS = (
    "bill_id", "billing_month", "issue_date", "due_date", "units_consumed",
    "variable_charges", "fixed_charges", "gst", "electricity_duty", "tv_fee",
    "late_payment_surcharge", "total_amount", "amount_within_due_date",
    "amount_after_due_date", "tariff_applied", "reference_no", "meter_number", "consumer_id",
    "consumer_name", "address",
)
PAYMENT_COLUMNS = (
    "payment_id", "bill_id", "meter_number", "bill_amount", "amount_paid", "payment_date",
    "payment_method", "status",
)

# Multiplier applied to FAULT_RATES: "heavy" is about three times "realistic".
FAULT_LEVELS = {"none": 0, "realistic": 1, "heavy": 3}

# Injected faults at the "realistic" level. Each kind present at all is injected at least
# once (counts are rounded up) so that every check downstream has something to find.
FAULT_RATES = {
    "tamper_consumers": 0.01,     # consumers stealing (persistent from a start month)
    "tamper_event_hours": 0.02,   # share of a thief's hours the meter flags as `tamper`
    "frozen_meters": 0.01,        # meters per month with a frozen register (`meter_fault`)
    "missing_block_meters": 0.02,  # meters per month losing a block of rows (rows removed)
    "estimated_meters": 0.01,     # meters per month with head-end estimated rows
    "pf_above_one_rows": 0.0002,  # readings with power_factor > 1
    "zero_voltage_rows": 0.0002,  # readings with voltage 0 outside any outage
    "duplicate_rows": 0.0005,     # readings delivered twice (exact repeats)
    "tampered_bills": 0.01,       # bills whose printed arithmetic does not add up
    "overpayments": 0.01,         # payments exceeding the amount due
}

CONSUMER_STATUS = {"Active": 0.955, "Suspended": 0.03, "Disconnected": 0.015}
METER_MAKES = {"Microtech": 0.35, "PEL": 0.2, "Hexing": 0.2, "Landis+Gyr": 0.1, "Inaam": 0.15}
PAYMENT_METHODS = {"online": 0.2, "bank": 0.4, "cash": 0.2, "mobile_app": 0.2}
PROSUMER_SHARE = 0.03
FEMALE_CONSUMER_SHARE = 0.12
SOLAR_PERFORMANCE_RATIO = 0.78
MONTH_NOISE_SD = 0.08
CONSUMER_SCALE_SD = 0.35
# Smart meters replaced older meters between the rollout and the first tariff month, so
# every register already runs when the first drop month starts.
EARLIEST_CONNECTION = "1990-01-01"
SMART_METER_ROLLOUT = "2019-01-01"
LAST_INSTALLATION = "2023-12-15"
WARRANTY_DAYS = 1096
BILL_ISSUE_LAG_DAYS = 2
BILL_DUE_AFTER_DAYS = 10

# Payment behaviour per payer class: shares of on-time, late, two instalments, one partial
# payment, unpaid, and no payment record yet.
BEHAVIOURS = ("on_time", "late", "installments", "partial", "unpaid", "no_record")
PAYER_CLASSES = {
    "reliable": (0.75, (0.86, 0.06, 0.04, 0.01, 0.02, 0.01)),
    "irregular": (0.20, (0.45, 0.30, 0.05, 0.08, 0.10, 0.02)),
    "defaulter": (0.05, (0.10, 0.25, 0.00, 0.15, 0.45, 0.05)),
}

NORMAL, LOAD_SHEDDING, OUTAGE, TAMPER, METER_FAULT, ESTIMATED = range(6)
STATUS_NAMES = np.array(
    ["normal", "load_shedding", "outage", "tamper", "meter_fault", "estimated"], dtype=object)

# Bills print the month as e.g. "JAN 24"; spelled out so the system locale cannot change it.
MONTH_ABBREVIATIONS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                       "NOV", "DEC")

_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# --------------------------------------------------------------------------- data tables

@dataclass(frozen=True)
class _Data:
    types: pd.DataFrame
    areas: pd.DataFrame
    districts: pd.DataFrame
    profiles: pd.DataFrame
    climate: pd.DataFrame
    names: dict[str, np.ndarray]


def _csv(name: str) -> pd.DataFrame:
    text = resources.files("gridflow_assets.domain").joinpath(name).read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), dtype={"subdiv_code": str}, keep_default_na=False)


@cache
def _data() -> _Data:
    names = _csv("iesco_names.csv")
    return _Data(
        types=_csv("iesco_consumer_types.csv"),
        areas=_csv("iesco_areas.csv"),
        districts=_csv("iesco_districts.csv"),
        profiles=_csv("iesco_load_profiles.csv").set_index("profile"),
        climate=_csv("iesco_climate.csv").set_index("month"),
        names={k: g["value"].to_numpy(dtype=object) for k, g in names.groupby("kind")},
    )


def _rng(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    """Independent stream per purpose and month (crc32, not hash(): stable across runs)."""
    return np.random.default_rng([seed % 2**32, zlib.crc32(purpose.encode()), *keys])


def _fault_count(rate_key: str, n: int, level: int) -> int:
    if level == 0 or n == 0:
        return 0
    return min(n, math.ceil(FAULT_RATES[rate_key] * level * n))


def _choice_by_weight(rng: np.random.Generator, options: dict[str, float], size: int) -> np.ndarray:
    keys = np.array(list(options), dtype=object)
    p = np.array(list(options.values()), dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def _dates(values: np.ndarray) -> np.ndarray:
    """datetime64[D] array → ``YYYY-MM-DD`` strings (NaT → empty)."""
    out = np.datetime_as_string(values.astype("datetime64[D]"), unit="D").astype(object)
    out[np.isnat(values)] = ""
    return out


# ------------------------------------------------------------------------ consumer master

@dataclass
class _Master:
    """Everything about the consumers that does not change from month to month."""

    n: int
    seed: int
    level: int
    table: pd.DataFrame          # meters.csv columns except last_maintenance_date
    profile: np.ndarray          # row in the profiles table
    district: np.ndarray         # index into districts
    feeder: np.ndarray           # global feeder index
    feeder_shedding: np.ndarray  # scheduled load-shedding hours per day, per feeder
    feeder_voltage: np.ndarray   # per-feeder voltage level factor
    feeder_rural: np.ndarray
    phases: np.ndarray
    scale: np.ndarray            # kWh/day at season factor 1
    pf_base: np.ndarray
    active: np.ndarray
    prosumer: np.ndarray
    solar_kwp: np.ndarray
    thief: np.ndarray
    tamper_factor: np.ndarray
    tamper_start: np.ndarray     # month ordinal (year * 12 + month - 1)
    reg0_wh: np.ndarray          # register at the epoch month's start
    protected: np.ndarray
    lifeline: np.ndarray
    tv_fee: np.ndarray
    payer_class: np.ndarray
    batch: np.ndarray
    installed: np.ndarray        # datetime64[D]
    maintenance_days: np.ndarray


def _epoch_ordinal() -> int:
    first = tariff.earliest_effective_date()
    return first.year * 12 + first.month - 1


def _build_master(n: int, seed: int, level: int) -> _Master:
    data = _data()
    types, areas, districts, profiles = data.types, data.areas, data.districts, data.profiles
    rng = _rng(seed, "master")

    weights = areas["consumer_weight"].to_numpy(float)
    area = rng.choice(len(areas), size=n, p=weights / weights.sum())
    area_type = areas["area_type"].to_numpy(object)[area]
    u = rng.random(n)
    ctype = np.zeros(n, dtype=int)
    for kind in ("urban", "peri_urban", "rural"):
        w = types[f"weight_{kind}"].to_numpy(float)
        rows = area_type == kind
        cdf = np.cumsum(w) / w.sum()
        ctype[rows] = np.minimum(np.searchsorted(cdf, u[rows], side="right"), len(w) - 1)
    t = types.iloc[ctype].reset_index(drop=True)
    a = areas.iloc[area].reset_index(drop=True)

    localities = [s.split("|") for s in areas["localities"]]
    n_feeders = areas["feeders"].to_numpy(int)
    feeder_offset = np.concatenate([[0], np.cumsum(n_feeders)[:-1]])
    locality = np.floor(rng.random(n) * np.array([len(localities[i]) for i in area])).astype(int)
    feeder = feeder_offset[area] + locality % n_feeders[area]
    feeder_area = np.repeat(np.arange(len(areas)), n_feeders)
    feeder_names = np.array([f"{localities[i][k]} 11kV Feeder"
                             for i in range(len(areas)) for k in range(n_feeders[i])], dtype=object)
    feeder_rural = areas["area_type"].to_numpy(object)[feeder_area] == "rural"
    feeder_shedding = areas["shedding_hours_per_day"].to_numpy(float)[feeder_area] * \
        rng.uniform(0.6, 1.4, len(feeder_area))
    feeder_voltage = np.where(feeder_rural, rng.uniform(0.92, 1.0, len(feeder_area)),
                              rng.uniform(0.96, 1.03, len(feeder_area)))

    district_pos = {d: i for i, d in enumerate(districts["district"])}
    district = np.array([district_pos[d] for d in a["district"]], dtype=int)
    box = districts.iloc[district].reset_index(drop=True)
    spread = a["spread_deg"].to_numpy(float)
    lat = a["latitude"].to_numpy(float) + np.clip(rng.normal(0, 1, n), -3, 3) * spread
    lon = a["longitude"].to_numpy(float) + np.clip(rng.normal(0, 1, n), -3, 3) * spread
    lat = np.clip(lat, box["lat_min"].to_numpy(float), box["lat_max"].to_numpy(float)).round(6)
    lon = np.clip(lon, box["lon_min"].to_numpy(float), box["lon_max"].to_numpy(float)).round(6)

    meter_numbers = (10**10 + rng.choice(9 * 10**10, size=n, replace=False)).astype(str)
    accounts = 10**6 + rng.choice(9 * 10**6, size=n, replace=False)
    consumer_ids = 10**8 + rng.choice(9 * 10**8, size=n, replace=False)
    batch = rng.integers(1, 21, n)
    suffix = np.where(area_type == "rural", "R", "U")
    reference = [f"{b:02d} {code} {acc} {s}" for b, code, acc, s in
                 zip(batch, a["subdiv_code"], accounts, suffix)]

    male, female, surnames = data.names["male_first"], data.names["female_first"], \
        data.names["surname"]
    female_pick = rng.random(n) < FEMALE_CONSUMER_SHARE
    first = np.where(female_pick, female[rng.integers(0, len(female), n)],
                     male[rng.integers(0, len(male), n)])
    surname = surnames[rng.integers(0, len(surnames), n)]
    father = male[rng.integers(0, len(male), n)] + " " + surname
    person = first + " " + surname
    loc_name = np.array([localities[i][k] for i, k in zip(area, locality)], dtype=object)
    city = a["city"].to_numpy(object)
    style = t["name_style"].to_numpy(object)
    names = np.array([tpl.format(person=p, surname=s, locality=lc, city=c) for tpl, p, s, lc, c in
                      zip(t["name_template"], person, surname, loc_name, city)], dtype=object)
    father = np.where(style == "person", father, "")
    house = rng.integers(1, 1200, n)
    street = rng.integers(1, 60, n)
    district_title = box["title"].to_numpy(object)
    address_style = np.where(style == "person", a["address_style"].to_numpy(object), "plot")
    address = np.array([
        f"House No. {h}, Street {s}, {lc}, {c}" if st == "sector" else
        f"House No. {h}, Mohallah {lc}, {c}" if st == "mohallah" else
        f"Village {lc}, Tehsil {c}, District {d}" if st == "village" else
        f"Plot No. {h}, {lc}, {c}"
        for st, h, s, lc, c, d in zip(address_style, house, street, loc_name, city, district_title)
    ], dtype=object)

    sanctioned = rng.uniform(t["load_kw_min"], t["load_kw_max"]).round(1)
    connected = (sanctioned * rng.uniform(0.8, 1.25, n)).round(2)
    phases = t["phases"].to_numpy(int)
    pf_base = rng.uniform(t["pf_min"], t["pf_max"])
    scale = t["scale_kwh_day"].to_numpy(float) * \
        np.exp(rng.normal(0, CONSUMER_SCALE_SD, n) - CONSUMER_SCALE_SD**2 / 2)
    status = _choice_by_weight(rng, CONSUMER_STATUS, n)
    active = status == "Active"
    tv_fee = rng.random(n) < t["tv_fee_share"].to_numpy(float)
    payer_keys = list(PAYER_CLASSES)
    payer_class = rng.choice(len(payer_keys), size=n,
                             p=[PAYER_CLASSES[k][0] for k in payer_keys])

    day = np.timedelta64(1, "D")
    connection = np.datetime64(EARLIEST_CONNECTION) + rng.integers(0, 12_000, n) * day
    smart_era = np.maximum(connection, np.datetime64(SMART_METER_ROLLOUT))
    span = (np.datetime64(LAST_INSTALLATION) - smart_era) / day
    installed = smart_era + np.floor(rng.random(n) * span).astype(int) * day
    warranty = installed + WARRANTY_DAYS * day
    maintenance_days = rng.choice([180, 365, 730], size=n)
    make = _choice_by_weight(rng, METER_MAKES, n)

    profile = np.array([profiles.index.get_loc(name) for name in t["profile"]], dtype=int)
    cooling = profiles["cooling_sensitivity"].to_numpy(float)[profile]
    epoch = np.datetime64(tariff.earliest_effective_date().isoformat(), "D")
    months_installed = (epoch - installed) / day / 30.44
    reg0_wh = np.rint((scale * 30.44 * (1 + 0.4 * cooling) * months_installed *
                       rng.uniform(0.8, 1.2, n) + rng.uniform(50, 500, n)) * 1000).astype(np.int64)

    # Prosumers and thieves come from their own streams so that changing the fault level
    # never changes anybody else's data.
    prng = _rng(seed, "prosumers")
    eligible = np.flatnonzero((t["prosumer_eligible"].to_numpy(int) == 1) & active)
    prosumer = np.zeros(n, dtype=bool)
    ratio = prng.uniform(0.4, 0.8, n)
    if len(eligible):
        count = min(len(eligible), max(1, round(PROSUMER_SHARE * n)))
        prosumer[prng.permutation(eligible)[:count]] = True
    mean_psh = data.climate["solar_psh"].mean()
    solar_kwp = np.where(prosumer, np.maximum(1.0, np.round(
        2 * ratio * scale * (1 + 0.4 * cooling) / (mean_psh * SOLAR_PERFORMANCE_RATIO)) / 2), 0.0)

    trng = _rng(seed, "tamper")
    candidates = trng.permutation(np.flatnonzero(active & ~prosumer))
    tamper_factor = trng.uniform(0.15, 0.35, n)
    tamper_start = _epoch_ordinal() + trng.integers(-6, 12, n)
    thief = np.zeros(n, dtype=bool)
    thief[candidates[:_fault_count("tamper_consumers", n, level)]] = True

    meter_type = np.where(phases == 1, "AMI Single Phase", "AMI Three Phase").astype(object)
    meter_type[sanctioned > 70] = "AMI CT-Operated"
    meter_type[prosumer] = "AMI Bidirectional (Net Metering)"

    table = pd.DataFrame({
        "consumer_id": [f"C{c}" for c in consumer_ids],
        "meter_number": meter_numbers,
        "reference_no": reference,
        "name": names,
        "father_name": father,
        "address": address,
        "tariff_category": t["tariff_category"].to_numpy(object),
        "connection_date": _dates(connection),
        "connected_load_kw": connected,
        "division": a["division"].to_numpy(object),
        "sub_division": a["sub_division"].to_numpy(object),
        "feeder_name": feeder_names[feeder],
        "phase_type": np.where(phases == 1, "Single Phase", "Three Phase"),
        "meter_type": meter_type,
        "meter_make": make,
        "installation_date": _dates(installed),
        "warranty_expiry": _dates(warranty),
        "last_maintenance_date": "",
        "latitude": lat,
        "longitude": lon,
        "status": status,
        "sanctioned_load_kw": sanctioned,
        "consumer_type": t["consumer_type"].to_numpy(object),
        "district": a["district"].to_numpy(object),
    })
    return _Master(
        n=n, seed=seed, level=level, table=table, profile=profile, district=district,
        feeder=feeder, feeder_shedding=feeder_shedding, feeder_voltage=feeder_voltage,
        feeder_rural=feeder_rural, phases=phases, scale=scale, pf_base=pf_base, active=active,
        prosumer=prosumer, solar_kwp=solar_kwp, thief=thief, tamper_factor=tamper_factor,
        tamper_start=tamper_start, reg0_wh=reg0_wh,
        protected=t["protected"].to_numpy(int) == 1, lifeline=t["lifeline"].to_numpy(int) == 1,
        tv_fee=tv_fee, payer_class=payer_class, batch=batch, installed=installed,
        maintenance_days=maintenance_days,
    )


# -------------------------------------------------------------------- monthly energy totals

def _tampering(master: _Master, ordinal: int) -> np.ndarray:
    return master.thief & (ordinal >= master.tamper_start)


def _monthly_targets(master: _Master, ordinal: int) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form monthly energy per meter in Wh: (consumption, solar generation).

    Cheap enough to evaluate for every month since the epoch, which is what lets a month's
    opening register be known without generating the months before it.
    """
    data = _data()
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

    rng = _rng(master.seed, "month_total", year, month)
    noise = np.exp(rng.normal(0, MONTH_NOISE_SD, master.n) - MONTH_NOISE_SD**2 / 2)
    solar_noise = np.exp(rng.normal(0, MONTH_NOISE_SD, master.n) - MONTH_NOISE_SD**2 / 2)
    theft = np.where(_tampering(master, ordinal), master.tamper_factor, 1.0)
    consumption = expected * noise * theft * master.active
    solar = master.solar_kwp * start.days_in_month * climate.loc[month, "solar_psh"] * \
        SOLAR_PERFORMANCE_RATIO * solar_noise * master.active
    return (np.rint(consumption * 1000).astype(np.int64),
            np.rint(solar * 1000).astype(np.int64))


def _opening_register(master: _Master, ordinal: int, cache_: dict[int, np.ndarray]) -> np.ndarray:
    """Register (Wh) at the start of a month: epoch register + closed-form net totals since."""
    total = master.reg0_wh.copy()
    for k in range(_epoch_ordinal(), ordinal):
        if k not in cache_:
            consumption, solar = _monthly_targets(master, k)
            cache_[k] = consumption - solar
        total += cache_[k]
    return total


# ------------------------------------------------------------------------- hourly helpers

def _interval_mask(n_rows: int, n_hours: int, rows: np.ndarray, starts: np.ndarray,
                   lengths: np.ndarray) -> np.ndarray:
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
    cumulative = np.rint(np.cumsum(weights, axis=1) / sums[:, None] * total_wh[:, None])
    cumulative = cumulative.astype(np.int64)
    cumulative[:, -1] = total_wh
    return np.diff(cumulative, axis=1, prepend=0)


def _load_shedding(master: _Master, rng: np.random.Generator, month: int, days: int) -> np.ndarray:
    """Feeder x hours mask of scheduled load shedding: fixed daily slots, 1-2 hours each."""
    slots = 4
    n_feeders = len(master.feeder_shedding)
    start_hour = rng.integers(0, 24, (n_feeders, slots))
    length = rng.integers(1, 3, (n_feeders, slots))
    factor = _data().climate.loc[month, "shedding_factor"]
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


def _blocks(rng: np.random.Generator, count: int, candidates: np.ndarray, n_hours: int,
            min_len: int, max_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = rng.choice(candidates, size=min(count, len(candidates)), replace=False)
    starts = rng.integers(0, n_hours, len(rows))
    lengths = rng.integers(min_len, max_len + 1, len(rows))
    return rows, starts, lengths


# ----------------------------------------------------------------------------- one month

@dataclass
class _Month:
    readings: pd.DataFrame
    bills: pd.DataFrame
    payments: pd.DataFrame
    meters: pd.DataFrame


def _readings(master: _Master, year: int, month: int, opening_wh: np.ndarray,
              consumption_wh: np.ndarray, solar_wh: np.ndarray) -> pd.DataFrame:
    data = _data()
    profiles, climate = data.profiles, data.climate
    n = master.n
    start = pd.Timestamp(year=year, month=month, day=1)
    days = start.days_in_month
    n_hours = days * 24
    hour = np.tile(np.arange(24), days)
    day = np.repeat(np.arange(days), 24)
    weekday = pd.date_range(start, periods=days, freq="D").dayofweek.to_numpy()
    p = master.profile

    # Shape of demand: profile hour shape x weekday x season, plus cooling on hot days.
    rng = _rng(master.seed, "hourly", year, month)
    hours_cols = [f"h{h:02d}" for h in range(24)]
    shapes = profiles[hours_cols].to_numpy(float)
    shapes = shapes / shapes.sum(axis=1, keepdims=True)
    cooling_shape = shapes[profiles.index.get_loc("cooling_load")]
    dow = profiles[[c for c in profiles.columns if c.startswith("dow_")]].to_numpy(float)
    season = profiles[f"m{month:02d}"].to_numpy(float)
    sensitivity = profiles["cooling_sensitivity"].to_numpy(float)
    day_on_prob = profiles["day_on_prob"].to_numpy(float)
    noise_sd = profiles["noise_sd"].to_numpy(float)
    heat = np.exp(rng.normal(0, 0.15, (len(data.districts), days)))
    day_on = rng.random((n, days)) < day_on_prob[p][:, None]
    base = shapes[p][:, hour] * dow[p][:, weekday[day]] * season[p][:, None] * day_on[:, day]
    cool = (sensitivity[p] * climate.loc[month, "cooling_index"])[:, None] * \
        cooling_shape[hour][None, :] * heat[master.district][:, day]
    sd = noise_sd[p][:, None]
    noise = np.exp(rng.standard_normal((n, n_hours)) * sd - sd**2 / 2)

    sunrise, sunset = climate.loc[month, "sunrise_h"], climate.loc[month, "sunset_h"]
    sun = np.clip(np.sin(np.pi * (np.arange(24) + 0.5 - sunrise) / (sunset - sunrise)), 0, None)
    sun[(np.arange(24) + 0.5 < sunrise) | (np.arange(24) + 0.5 > sunset)] = 0.0
    clouds = np.clip(rng.normal(1.0, 0.2, (len(data.districts), days)), 0.2, 1.2)
    solar_weights = sun[hour][None, :] * clouds[master.district][:, day]

    # Grid events: real behaviour, present at every fault level.
    grid = _rng(master.seed, "grid", year, month)
    shedding = _load_shedding(master, grid, month, days)[master.feeder]
    n_feeders = len(master.feeder_shedding)
    rate = climate.loc[month, "feeder_outages_per_month"] * np.where(master.feeder_rural, 1.5, 1.0)
    events = grid.poisson(rate)
    f_rows = np.repeat(np.arange(n_feeders), events)
    feeder_outage = _interval_mask(n_feeders, n_hours, f_rows,
                                   grid.integers(0, n_hours, len(f_rows)),
                                   grid.integers(1, 7, len(f_rows)))[master.feeder]
    m_events = grid.poisson(0.15, n)
    m_rows = np.repeat(np.arange(n), m_events)
    outage = feeder_outage | _interval_mask(n, n_hours, m_rows,
                                            grid.integers(0, n_hours, len(m_rows)),
                                            grid.integers(2, 11, len(m_rows)))
    outage &= ~shedding

    # Device faults and theft flags: only with faults enabled.
    level = master.level
    frng = _rng(master.seed, "faults", year, month)
    everyone = np.arange(n)
    frozen = _interval_mask(n, n_hours, *_blocks(
        frng, _fault_count("frozen_meters", n, level), everyone, n_hours, 6, 36))
    missing = _interval_mask(n, n_hours, *_blocks(
        frng, _fault_count("missing_block_meters", n, level), everyone, n_hours, 2, 12))
    estimated = _interval_mask(n, n_hours, *_blocks(
        frng, _fault_count("estimated_meters", n, level), everyone, n_hours, 2, 8))
    thieving = _tampering(master, year * 12 + month - 1)
    tamper_flag = thieving[:, None] & \
        (frng.random((n, n_hours)) < FAULT_RATES["tamper_event_hours"] * max(level, 1))

    no_supply = shedding | outage
    zero = no_supply | frozen
    noise[estimated] = 1.0
    weights = np.where(zero, 0.0, (base + cool) * noise)
    used = _spread(consumption_wh, weights)
    generated = _spread(solar_wh, np.where(zero, 0.0, solar_weights)) if solar_wh.any() \
        else np.zeros_like(used)
    net_wh = used - generated
    register_wh = opening_wh[:, None] + np.cumsum(net_wh, axis=1)

    status = np.full((n, n_hours), NORMAL, dtype=np.int8)
    status[tamper_flag] = TAMPER
    status[estimated] = ESTIMATED
    status[frozen] = METER_FAULT
    status[outage] = OUTAGE
    status[shedding] = LOAD_SHEDDING

    # Electrical quantities: feeder voltage sags with the evening peak; current from power.
    erng = _rng(master.seed, "electrical", year, month)
    peak = shapes[profiles.index.get_loc("residential")]
    sag = 1 - 0.04 * (peak - peak.min()) / (peak.max() - peak.min())
    nominal = np.where(master.phases == 1, 230.0, 400.0)
    feeder_v = nominal * master.feeder_voltage[master.feeder]
    voltage = feeder_v[:, None] * sag[hour][None, :] * (1 + erng.normal(0, 0.008, (n, n_hours)))
    pf = np.clip(master.pf_base[:, None] + erng.normal(0, 0.015, (n, n_hours)), 0.7, 1.0)
    frequency = np.clip(50 + erng.normal(0, 0.05, n_hours)[None, :] +
                        erng.normal(0, 0.005, (n, n_hours)), 49.6, 50.4)
    voltage = voltage.round(1)
    pf = pf.round(3)
    root = np.where(master.phases == 1, 1.0, math.sqrt(3))[:, None]
    current = np.abs(net_wh) / (root * voltage * pf)
    voltage[no_supply] = 0.0
    current[no_supply] = 0.0
    pf[no_supply] = np.nan
    frequency[no_supply] = np.nan

    # Data errors on otherwise normal rows.
    clean = (status == NORMAL) & ~missing
    candidates = np.flatnonzero(clean.ravel())
    cells = n * n_hours
    pf_rows = frng.choice(candidates, _fault_count("pf_above_one_rows", cells, level),
                          replace=False)
    pf.ravel()[pf_rows] = frng.uniform(1.01, 1.3, len(pf_rows)).round(3)
    volt_rows = frng.choice(candidates, _fault_count("zero_voltage_rows", cells, level),
                            replace=False)
    voltage.ravel()[volt_rows] = 0.0

    kept = np.flatnonzero(~missing.ravel())
    duplicates = frng.choice(kept, _fault_count("duplicate_rows", cells, level), replace=False)
    order = np.sort(np.concatenate([kept, duplicates]), kind="stable")
    meter_of, hour_of = np.divmod(order, n_hours)
    stamps = pd.date_range(start, periods=n_hours, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    return pd.DataFrame({
        "meter_number": master.table["meter_number"].to_numpy(object)[meter_of],
        "timestamp": stamps.to_numpy(object)[hour_of],
        "reading_kwh": register_wh.ravel()[order] / 1000,
        "consumption_kwh": net_wh.ravel()[order] / 1000,
        "voltage_v": voltage.ravel()[order],
        "current_a": current.ravel()[order].round(2),
        "power_factor": pf.ravel()[order],
        "frequency_hz": frequency.ravel()[order].round(2),
        "status": STATUS_NAMES[status.ravel()[order]],
    }, columns=list(READING_COLUMNS))


def _bills(master: _Master, year: int, month: int,
           net_wh: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Bills priced with the tariff in force; returns issue and due dates for payments."""
    start = pd.Timestamp(year=year, month=month, day=1)
    month_end = (start + pd.offsets.MonthEnd(0)).to_datetime64().astype("datetime64[D]")
    day = np.timedelta64(1, "D")
    issue = month_end + (BILL_ISSUE_LAG_DAYS + (master.batch - 1) // 4) * day
    due = issue + BILL_DUE_AFTER_DAYS * day
    units = np.maximum(0, np.floor(net_wh / 1000 + 0.5)).astype(np.int64)
    table = master.table
    priced = tariff.compute_bills(pd.DataFrame({
        "units": units,
        "category": table["tariff_category"],
        "billing_month": start,
        "protected": master.protected,
        "lifeline": master.lifeline,
        "tv_fee_applies": master.tv_fee,
    }))

    frng = _rng(master.seed, "bill_faults", year, month)
    tampered = frng.choice(master.n, _fault_count("tampered_bills", master.n, master.level),
                           replace=False)
    inflate_total = frng.random(len(tampered)) < 0.5
    delta = frng.uniform(50, 2000, len(tampered)).round(2)
    after_factor = tariff.rates_in_force(start.date())["after_due_factor"]
    rows = priced.index[tampered[inflate_total]]
    priced.loc[rows, "total_amount"] = (priced.loc[rows, "total_amount"] +
                                        delta[inflate_total]).round(2)
    priced.loc[rows, "amount_within_due_date"] = priced.loc[rows, "total_amount"]
    priced.loc[rows, "amount_after_due_date"] = (priced.loc[rows, "total_amount"] *
                                                 after_factor).round(2)
    rows = priced.index[tampered[~inflate_total]]
    priced.loc[rows, "gst"] = (priced.loc[rows, "gst"] * 1.25 + delta[~inflate_total]).round(2)

    yyyymm = f"{year:04d}{month:02d}"
    bills = pd.DataFrame({
        "bill_id": "BILL-" + table["meter_number"] + "-" + yyyymm,
        "billing_month": f"{MONTH_ABBREVIATIONS[month - 1]} {year % 100:02d}",
        "issue_date": _dates(issue),
        "due_date": _dates(due),
        "units_consumed": units,
        **{c: priced[c].to_numpy() for c in tariff.BILL_COLUMNS},
        "tariff_applied": table["tariff_category"],
        "reference_no": table["reference_no"],
        "meter_number": table["meter_number"],
        "consumer_id": table["consumer_id"],
        "consumer_name": table["name"],
        "address": table["address"],
    }, columns=list(BILL_COLUMNS))
    return bills, issue, due


def _payments(master: _Master, year: int, month: int, bills: pd.DataFrame,
              issue: np.ndarray, due: np.ndarray) -> pd.DataFrame:
    """Zero or more payments per bill; late ones owe the surcharge in force on the due date."""
    rng = _rng(master.seed, "payments", year, month)
    n = len(bills)
    total = bills["total_amount"].to_numpy(float)
    mixes = np.array([PAYER_CLASSES[k][1] for k in PAYER_CLASSES])[master.payer_class]
    behaviour = (rng.random(n)[:, None] > np.cumsum(mixes, axis=1)).sum(axis=1)
    behaviour = np.minimum(behaviour, len(BEHAVIOURS) - 1)
    behaviour[total <= 0] = BEHAVIOURS.index("no_record")
    day = np.timedelta64(1, "D")
    window = ((due - issue) / day).astype(int)

    def pick(name: str) -> np.ndarray:
        return np.flatnonzero(behaviour == BEHAVIOURS.index(name))

    parts: list[dict[str, np.ndarray]] = []

    def add(rows: np.ndarray, paid_on: np.ndarray, amount: np.ndarray, due_amount: np.ndarray,
            status: str, seq: int) -> None:
        parts.append({"bill": rows, "seq": np.full(len(rows), seq), "date": paid_on,
                      "bill_amount": due_amount, "amount": amount,
                      "status": np.full(len(rows), status, dtype=object)})

    rows = pick("on_time")
    add(rows, issue[rows] + np.floor(rng.random(len(rows)) * (window[rows] + 1)).astype(int) * day,
        total[rows], total[rows], "paid", 0)

    rows = pick("late")
    paid_on = due[rows] + rng.integers(1, 37, len(rows)) * day
    owed = (total[rows] + tariff.late_surcharges(total[rows], due[rows], paid_on)).round(2)
    add(rows, paid_on, owed, owed, "paid", 0)

    rows = pick("installments")
    first_on = issue[rows] + rng.integers(0, 4, len(rows)) * day
    first = (total[rows] * rng.uniform(0.3, 0.7, len(rows))).round(0)
    second_on = first_on + np.floor(rng.random(len(rows)) *
                                    ((due[rows] - first_on) / day + 1)).astype(int) * day
    add(rows, first_on, first, total[rows], "partial", 0)
    add(rows, second_on, (total[rows] - first).round(2), total[rows], "paid", 1)

    rows = pick("partial")
    late = rng.random(len(rows)) < 0.5
    paid_on = np.where(late, due[rows] + rng.integers(1, 30, len(rows)) * day,
                       issue[rows] + np.floor(rng.random(len(rows)) *
                                              (window[rows] + 1)).astype(int) * day)
    owed = (total[rows] + tariff.late_surcharges(total[rows], due[rows], paid_on)).round(2)
    add(rows, paid_on, np.maximum(10, (owed * rng.uniform(0.2, 0.8, len(rows))).round(-1)),
        owed, "partial", 0)

    rows = pick("unpaid")
    add(rows, np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[D]"),
        np.zeros(len(rows)), total[rows], "unpaid", 0)

    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((merged["seq"], merged["bill"]))
    merged = {k: v[order] for k, v in merged.items()}
    count = len(order)

    paid_rows = np.flatnonzero(merged["status"] == "paid")
    over = rng.choice(paid_rows, _fault_count("overpayments", len(paid_rows), master.level),
                      replace=False)
    merged["amount"][over] = (merged["amount"][over] + rng.uniform(100, 5000, len(over))).round(2)

    method = _choice_by_weight(rng, PAYMENT_METHODS, count)
    method[merged["status"] == "unpaid"] = ""
    yyyymm = f"{year:04d}{month:02d}"
    return pd.DataFrame({
        "payment_id": [f"PAY-{yyyymm}-{i:06d}" for i in range(1, count + 1)],
        "bill_id": bills["bill_id"].to_numpy(object)[merged["bill"]],
        "meter_number": bills["meter_number"].to_numpy(object)[merged["bill"]],
        "bill_amount": merged["bill_amount"].round(2),
        "amount_paid": merged["amount"].round(2),
        "payment_date": _dates(merged["date"].astype("datetime64[D]")),
        "payment_method": method,
        "status": merged["status"],
    }, columns=list(PAYMENT_COLUMNS))


def _meters_snapshot(master: _Master, year: int, month: int) -> pd.DataFrame:
    """meters.csv as of the month: last maintenance is the latest visit before month end."""
    start = pd.Timestamp(year=year, month=month, day=1)
    month_end = (start + pd.offsets.MonthEnd(0)).to_datetime64().astype("datetime64[D]")
    day = np.timedelta64(1, "D")
    visits = ((month_end - master.installed) / day // master.maintenance_days).astype(int)
    last = master.installed + visits * master.maintenance_days * day
    last = np.where(visits > 0, last, np.datetime64("NaT"))
    meters = master.table.copy()
    meters["last_maintenance_date"] = _dates(last.astype("datetime64[D]"))
    return meters[list(METER_COLUMNS)]


def _generate_month(master: _Master, month: str, cache_: dict[int, np.ndarray]) -> _Month:
    year, mon = int(month[:4]), int(month[5:7])
    ordinal = year * 12 + mon - 1
    consumption_wh, solar_wh = _monthly_targets(master, ordinal)
    cache_[ordinal] = consumption_wh - solar_wh
    opening = _opening_register(master, ordinal, cache_)
    readings = _readings(master, year, mon, opening, consumption_wh, solar_wh)
    bills, issue, due = _bills(master, year, mon, consumption_wh - solar_wh)
    payments = _payments(master, year, mon, bills, issue, due)
    return _Month(readings=readings, bills=bills, payments=payments,
                  meters=_meters_snapshot(master, year, mon))


def generate_iesco(landing: Path, months: list[str], meters: int = 100, seed: int = 7,
                   faults: str = "realistic") -> list[Path]:
    """Write one complete IESCO drop per month to ``<landing>/IESCO/<YYYY-MM>/``.

    Files: ``meters.csv``, ``readings.csv``, ``bills.csv``, ``payments.csv`` (UTF-8, no BOM,
    final newline) plus ``manifest.json`` and ``_SUCCESS`` via :func:`write_drop`. Output is
    byte-identical for the same arguments; each month depends only on seed, meters, faults
    and the month itself. Returns the drop folders in the order of ``months``.
    """
    if faults not in FAULT_LEVELS:
        raise ValueError(f"faults must be one of {sorted(FAULT_LEVELS)}, got {faults!r}")
    if int(meters) < 1:
        raise ValueError(f"meters must be >= 1, got {meters!r}")
    first = tariff.earliest_effective_date()
    for month in months:
        if not _MONTH_RE.match(month):
            raise ValueError(f"month must look like YYYY-MM, got {month!r}")
        if (int(month[:4]), int(month[5:7])) < (first.year, first.month):
            raise ValueError(f"IESCO month {month} predates the first tariff in force "
                             f"({first.isoformat()})")
    master = _build_master(int(meters), int(seed), FAULT_LEVELS[faults])
    cache_: dict[int, np.ndarray] = {}
    folders = []
    for month in months:
        data = _generate_month(master, month, cache_)
        frames = {"meters.csv": data.meters, "readings.csv": data.readings,
                  "bills.csv": data.bills, "payments.csv": data.payments}
        folders.append(write_drop(
            Path(landing), UTILITY, month,
            {name: csv_bytes(df) for name, df in frames.items()},
            row_counts={name: len(df) for name, df in frames.items()},
        ))
    return folders


GENERATORS = {"IESCO": generate_iesco}
