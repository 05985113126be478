"""Synthetic IESCO drops: consumer master, hourly smart-meter reads, bills and payments.

The generator exists so the pipeline can be exercised end to end on data that behaves like
an IESCO delivery (docs/formats/, docs/formats/domain-rules.md): realistic consumer mixes per area, feeder-wide
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
  run over months, profiles, slots or bills' behaviour groups, never over readings. Readings
  leave as a Polars frame whose text columns are Enums, written by Polars' CSV writer.
* **Bounded memory.** Readings are made and written one chunk of ``chunk_meters`` meters
  at a time (default :data:`CHUNK_METERS`), appended to ``readings.csv`` in pieces while the
  manifest's sha256 and row count are kept on the way: a 100,000-meter month (72 M
  readings) needs the memory of one chunk. A drop of at most one chunk is exactly what a
  whole-population drop is (:mod:`.iesco_readings` says how larger ones draw).
* **Faults are separate from grid behaviour.** ``faults="none"`` still has load shedding,
  outages and prosumers (real behaviour) but no theft, meter faults or data errors.

Modules: constants, data tables and random streams in :mod:`.iesco_data`; the consumer master
in :mod:`.iesco_master`; energy and hourly reads in :mod:`.iesco_readings`; bills and payments
in :mod:`.iesco_billing`. This one lands the monthly drops.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.domain import tariff
from gridflow_assets.domain.names import is_valid_month
from gridflow_assets.generate.common import DropWriter, csv_bytes
from gridflow_assets.generate.iesco_billing import bills, payments
from gridflow_assets.generate.iesco_data import (
    BILL_COLUMNS,
    FAULT_LEVELS,
    METER_COLUMNS,
    PAYMENT_COLUMNS,
    READING_COLUMNS,
    UTILITY,
)
from gridflow_assets.generate.iesco_legacy import FORMATS, STANDARD_FORMAT, legacy_frames
from gridflow_assets.generate.iesco_master import Master, build_master, meters_snapshot
from gridflow_assets.generate.iesco_readings import (
    MonthDraws,
    meter_slice,
    monthly_targets,
    opening_register,
    readings,
)

__all__ = [
    "BILL_COLUMNS",
    "CHUNK_METERS",
    "GENERATORS",
    "METER_COLUMNS",
    "PAYMENT_COLUMNS",
    "READING_COLUMNS",
    "UTILITY",
    "generate_iesco",
]


CHUNK_METERS = 10_000
"""Meters whose readings are made and written at a time (7.2 M readings of a 30-day month,
about 1 GiB of working memory): larger than every drop the tests and the 10,000-meter
benchmark land, which are therefore one chunk."""


def _month_frames(
    master: Master, month: str, net_by_month: dict[int, np.ndarray], fmt: str, chunk_meters: int
) -> dict[str, pl.DataFrame | pd.DataFrame | Iterator[pl.DataFrame]]:
    """The four files of one month, in delivery order, in format ``fmt``; ``net_by_month``
    caches monthly net energy so that opening registers are summed once per run. The
    readings are an iterator of frames of ``chunk_meters`` meters each, made as it is read."""
    year, mon = int(month[:4]), int(month[5:7])
    ordinal = year * 12 + mon - 1
    consumption_wh, solar_wh = monthly_targets(master, ordinal)
    net_by_month[ordinal] = consumption_wh - solar_wh
    opening = opening_register(master, ordinal, net_by_month)
    month_bills, issue, due = bills(master, year, mon, consumption_wh - solar_wh)
    frames = {
        "meters.csv": meters_snapshot(master, year, mon),
        "readings.csv": _readings_chunks(
            master, year, mon, (opening, consumption_wh, solar_wh), chunk_meters
        ),
        "bills.csv": month_bills,
        "payments.csv": payments(master, year, mon, month_bills, issue, due),
    }
    return frames if fmt == STANDARD_FORMAT else legacy_frames(master, frames, year, mon)


def _readings_chunks(
    master: Master,
    year: int,
    month: int,
    energy: tuple[np.ndarray, np.ndarray, np.ndarray],
    chunk_meters: int,
) -> Iterator[pl.DataFrame]:
    """The month's readings, ``chunk_meters`` meters at a time, in meter order; ``energy``
    is (opening register, consumption, solar generation) in Wh per meter."""
    shared = MonthDraws()
    for chunk, start in enumerate(range(0, master.n, chunk_meters)):
        stop = min(start + chunk_meters, master.n)
        part = meter_slice(master, start, stop) if chunk_meters < master.n else master
        opening, consumption, solar = (values[start:stop] for values in energy)
        yield readings(part, year, month, opening, consumption, solar, chunk, shared)


def generate_iesco(
    landing: Path,
    months: list[str],
    meters: int = 100,
    seed: int = 7,
    faults: str = "realistic",
    fmt: str = STANDARD_FORMAT,
    chunk_meters: int = CHUNK_METERS,
) -> list[Path]:
    """Write one complete IESCO drop per month to ``<landing>/IESCO/<YYYY-MM>/``.

    Files: ``meters.csv``, ``readings.csv``, ``bills.csv``, ``payments.csv`` (UTF-8, no BOM,
    final newline) plus ``manifest.json`` and ``_SUCCESS`` via :class:`DropWriter`. Output
    is byte-identical for the same arguments; each month depends only on seed, meters,
    faults, chunk size and the month itself (the chunk size only once meters exceed it). ``fmt="legacy"`` writes the legacy billing export of the same
    data (:mod:`.iesco_legacy`). Readings are made and written ``chunk_meters`` meters at a
    time: memory is bounded by the chunk. Returns the drop folders in the order of ``months``.
    """
    if faults not in FAULT_LEVELS:
        raise ValueError(f"faults must be one of {sorted(FAULT_LEVELS)}, got {faults!r}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    if int(meters) < 1:
        raise ValueError(f"meters must be >= 1, got {meters!r}")
    if int(chunk_meters) < 1:
        raise ValueError(f"chunk_meters must be >= 1, got {chunk_meters!r}")
    first = tariff.earliest_effective_date()
    for month in months:
        if not is_valid_month(month):
            raise ValueError(f"month must look like YYYY-MM, got {month!r}")
        if (int(month[:4]), int(month[5:7])) < (first.year, first.month):
            raise ValueError(
                f"IESCO month {month} predates the first tariff in force ({first.isoformat()})"
            )
    master = build_master(int(meters), int(seed), FAULT_LEVELS[faults])
    net_by_month: dict[int, np.ndarray] = {}
    folders = []
    for month in months:
        frames = _month_frames(master, month, net_by_month, fmt, int(chunk_meters))
        writer = DropWriter(Path(landing), UTILITY, month)
        for name, frame in frames.items():
            if isinstance(frame, Iterator):
                writer.write_csv(name, frame)
            else:
                writer.write(name, [csv_bytes(frame)], len(frame))
        folders.append(writer.close())
    return folders


GENERATORS = {"IESCO": generate_iesco}
