"""IESCO generator constants, the descriptive data tables and the random streams.

Everything descriptive (consumer types, areas, load profiles, climate, names) is data under
``gridflow_assets/domain``; the fault rates and behaviour mixes are here, in one place, so
the master, readings and billing modules draw from the same definitions.
"""

from __future__ import annotations

import io
import math
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from gridflow_assets.silver.adapters.iesco import SOURCES

UTILITY = "IESCO"

# The delivered files' columns, as the adapter declares and reads them: one declaration.
METER_COLUMNS = tuple(SOURCES["meters"].columns)
READING_COLUMNS = tuple(SOURCES["readings"].columns)
BILL_COLUMNS = tuple(SOURCES["bills"].columns)
PAYMENT_COLUMNS = tuple(SOURCES["payments"].columns)

# Multiplier applied to FAULT_RATES: "heavy" is about three times "realistic".
FAULT_LEVELS = {"none": 0, "realistic": 1, "heavy": 3}

# Injected faults at the "realistic" level. Each kind present at all is injected at least
# once (counts are rounded up) so that every check downstream has something to find.
FAULT_RATES = {
    "tamper_consumers": 0.01,  # consumers stealing (persistent from a start month)
    "tamper_event_hours": 0.02,  # share of a thief's hours the meter flags as `tamper`
    "frozen_meters": 0.01,  # meters per month with a frozen register (`meter_fault`)
    "missing_block_meters": 0.02,  # meters per month losing a block of rows (rows removed)
    "estimated_meters": 0.01,  # meters per month with head-end estimated rows
    "pf_above_one_rows": 0.0002,  # readings with power_factor > 1
    "zero_voltage_rows": 0.0002,  # readings with voltage 0 outside any outage
    "duplicate_rows": 0.0005,  # readings delivered twice (exact repeats)
    "tampered_bills": 0.01,  # bills whose printed arithmetic does not add up
    "overpayments": 0.01,  # payments exceeding the amount due
    # legacy format only: consumers whose district (and others whose consumer type) the
    # legacy export gives no way to derive
    "underivable_consumers": 0.01,
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
    ["normal", "load_shedding", "outage", "tamper", "meter_fault", "estimated"], dtype=object
)

# Bills print the month as e.g. "JAN 24"; spelled out so the system locale cannot change it.
MONTH_ABBREVIATIONS = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)

# --------------------------------------------------------------------------- data tables


@dataclass(frozen=True)
class Data:
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
def tables() -> Data:
    names = _csv("iesco_names.csv")
    return Data(
        types=_csv("iesco_consumer_types.csv"),
        areas=_csv("iesco_areas.csv"),
        districts=_csv("iesco_districts.csv"),
        profiles=_csv("iesco_load_profiles.csv").set_index("profile"),
        climate=_csv("iesco_climate.csv").set_index("month"),
        names={k: g["value"].to_numpy(dtype=object) for k, g in names.groupby("kind")},
    )


def stream(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    """Independent stream per purpose and month (crc32, not hash(): stable across runs)."""
    return np.random.default_rng([seed % 2**32, zlib.crc32(purpose.encode()), *keys])


def fault_count(rate_key: str, n: int, level: int) -> int:
    if level == 0 or n == 0:
        return 0
    return min(n, math.ceil(FAULT_RATES[rate_key] * level * n))


def choice_by_weight(rng: np.random.Generator, options: dict[str, float], size: int) -> np.ndarray:
    keys = np.array(list(options), dtype=object)
    p = np.array(list(options.values()), dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def dates(values: np.ndarray) -> np.ndarray:
    """datetime64[D] array → ``YYYY-MM-DD`` strings (NaT → empty)."""
    out = np.datetime_as_string(values.astype("datetime64[D]"), unit="D").astype(object)
    out[np.isnat(values)] = ""
    return out
