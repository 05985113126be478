"""What the two New York generators (UTILITY1, UTILITY2) share: arguments, fault counts,
random streams, the local calendar and the text forms of New York times.

Both write files in the delivered shape (``docs/formats/``: BOM, LF, no final newline,
text IDs, local offsets, integer dates) and add the faults real files carry, at a rate chosen
by ``faults``:

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

import numpy as np
import pandas as pd
import polars as pl
from faker import Faker

from gridflow_assets.domain.names import is_valid_month
from gridflow_assets.generate.common import clock_text, csv_bytes, labels

TIMEZONE = "America/New_York"
FAULT_SCALES = {"none": 0.0, "realistic": 1.0, "heavy": 3.0}

NS = 1_000_000_000
HOUR_NS = 3_600 * NS
DAY_NS = 86_400 * NS
ANCHOR = pd.Timestamp("2020-01-01")

# Real New York ZIPs with leading zeros: they prove that ZIPs are read as text.
_LEADING_ZERO_ZIPS = (("00501", "Holtsville"), ("00544", "Holtsville"), ("06390", "Fishers Island"))


def _fault_scale(faults: str) -> float:
    """Multiplier on every fault rate; unknown levels fail loudly instead of generating junk."""
    if not isinstance(faults, str) or faults not in FAULT_SCALES:
        raise ValueError(f"faults must be one of {', '.join(FAULT_SCALES)}; got {faults!r}")
    return FAULT_SCALES[faults]


def check_args(months: list[str], meters: int, faults: str) -> float:
    """Validate everything before the first file is written, so a bad call lands nothing."""
    scale = _fault_scale(faults)
    if int(meters) < 1:
        raise ValueError(f"meters must be at least 1; got {meters}")
    for month in months:
        if not is_valid_month(month):
            raise ValueError(f"months must be YYYY-MM; got {month!r}")
        pd.Period(month, "M")
    return scale


def fault_count(rate: float, n: int, scale: float) -> int:
    """How many items a fault touches: none when faults are off, else at least one so that a
    small sample still shows every fault."""
    if scale == 0 or n == 0:
        return 0
    return min(n, max(1, round(rate * scale * n)))


def month_rng(seed: int, month: str) -> np.random.Generator:
    period = pd.Period(month, "M")
    return np.random.default_rng([seed, period.year, period.month])


def faker(seed: int) -> Faker:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return fake


def month_calendar(month: str) -> pd.DataFrame:
    """Local days of the month with their UTC bounds: a DST day is 23 or 25 hours long."""
    period = pd.Period(month, "M")
    midnights = pd.date_range(period.start_time, periods=period.days_in_month + 1, freq="D")
    utc = midnights.tz_localize(TIMEZONE).tz_convert("UTC").as_unit("ns").asi8
    return pd.DataFrame({"date": midnights[:-1], "start_ns": utc[:-1], "end_ns": utc[1:]})


def local_offsets(utc_ns: np.ndarray) -> np.ndarray:
    """New York's UTC offset in nanoseconds at each instant.

    The offset changes only at DST switches, which fall on whole UTC hours, so it is looked
    up per hour of the span covered rather than converted per value.
    """
    hours = np.asarray(utc_ns, dtype=np.int64) // HOUR_NS
    if not len(hours):
        return np.zeros(0, dtype=np.int64)
    first = hours.min()
    grid = pd.DatetimeIndex(np.arange(first, hours.max() + 1) * HOUR_NS, tz="UTC")
    wall = grid.tz_convert(TIMEZONE).tz_localize(None).as_unit("ns").asi8
    return (wall - grid.as_unit("ns").asi8)[hours - first]


def to_local(utc_ns: np.ndarray) -> np.ndarray:
    """Local wall-clock nanoseconds of UTC instants."""
    return np.asarray(utc_ns, dtype=np.int64) + local_offsets(utc_ns)


def local_text(name: str, utc_ns: np.ndarray) -> pl.Series:
    """ISO 8601 local time with a ``-05:00``-style offset, as UTILITY1 delivers it."""
    offset = local_offsets(utc_ns)
    return clock_text(
        name, np.asarray(utc_ns, dtype=np.int64) + offset, offset_minutes=offset // (60 * NS)
    )


def local_grid_text(name: str, utc_ns: np.ndarray, origin_ns: int, step_ns: int) -> pl.Series:
    """:func:`local_text` of instants that mostly sit on a grid (interval starts): each grid
    slot and each distinct off-grid instant is formatted once, rows gather their text."""
    utc_ns = np.asarray(utc_ns, dtype=np.int64)
    relative = utc_ns - origin_ns
    on_grid = (relative >= 0) & (relative % step_ns == 0)
    slot = np.where(on_grid, relative // step_ns, 0)
    n_slots = int(slot.max(initial=-1)) + 1
    off_values, off_codes = np.unique(utc_ns[~on_grid], return_inverse=True)
    slot[~on_grid] = n_slots + off_codes
    instants = np.concatenate([origin_ns + np.arange(n_slots) * step_ns, off_values])
    return labels(name, local_text(name, instants), slot)


def utc_iso(ns: np.ndarray, empty: np.ndarray | None = None) -> np.ndarray:
    """ISO 8601 UTC text with ``Z``; ``empty`` marks values delivered as an empty field."""
    text = clock_text("utc", np.asarray(ns, dtype=np.int64), zulu=True).to_numpy()
    text = text.astype(object)
    if empty is not None:
        text[np.asarray(empty, dtype=bool)] = ""
    return text


def unique_ints(
    rng: np.random.Generator, n: int, low: int, high: int, taken: set[int] | None = None
) -> list[int]:
    """``n`` distinct integers in ``[low, high)``, none of them in ``taken``."""
    taken = set() if taken is None else taken
    out: list[int] = []
    while len(out) < n:
        value = int(rng.integers(low, high))
        if value not in taken:
            taken.add(value)
            out.append(value)
    return out


def ny_zip(rng: np.random.Generator, fake: Faker) -> tuple[str, str]:
    """A New York-style ZIP and its city; about one in ten has leading zeros."""
    if rng.random() < 0.1:
        return _LEADING_ZERO_ZIPS[int(rng.integers(len(_LEADING_ZERO_ZIPS)))]
    return f"{int(rng.integers(10001, 14926)):05d}", fake.city()


def days_since_anchor(ns: np.ndarray) -> np.ndarray:
    return (np.asarray(ns, dtype=np.int64) - ANCHOR.value) / DAY_NS


def ny_files(frames: dict[str, pd.DataFrame]) -> tuple[dict[str, bytes], dict[str, int]]:
    """Both New York utilities deliver UTF-8 with BOM, LF and no final newline."""
    data = {name: csv_bytes(df, bom=True, final_newline=False) for name, df in frames.items()}
    return data, {name: len(df) for name, df in frames.items()}
