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
* **Faults are separate from grid behaviour.** ``faults="none"`` still has load shedding,
  outages and prosumers (real behaviour) but no theft, meter faults or data errors.

Modules: constants, data tables and random streams in :mod:`.iesco_data`; the consumer master
in :mod:`.iesco_master`; energy and hourly reads in :mod:`.iesco_readings`; bills and payments
in :mod:`.iesco_billing`. This one lands the monthly drops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.domain import tariff
from gridflow_assets.domain.names import is_valid_month
from gridflow_assets.generate.common import csv_bytes, write_drop
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
from gridflow_assets.generate.iesco_readings import monthly_targets, opening_register, readings

__all__ = [
    "BILL_COLUMNS",
    "GENERATORS",
    "METER_COLUMNS",
    "PAYMENT_COLUMNS",
    "READING_COLUMNS",
    "UTILITY",
    "generate_iesco",
]


def _month_frames(
    master: Master, month: str, net_by_month: dict[int, np.ndarray], fmt: str
) -> dict[str, pl.DataFrame | pd.DataFrame]:
    """The four files of one month, in delivery order, in format ``fmt``; ``net_by_month``
    caches monthly net energy so that opening registers are summed once per run."""
    year, mon = int(month[:4]), int(month[5:7])
    ordinal = year * 12 + mon - 1
    consumption_wh, solar_wh = monthly_targets(master, ordinal)
    net_by_month[ordinal] = consumption_wh - solar_wh
    opening = opening_register(master, ordinal, net_by_month)
    month_bills, issue, due = bills(master, year, mon, consumption_wh - solar_wh)
    frames = {
        "meters.csv": meters_snapshot(master, year, mon),
        "readings.csv": readings(master, year, mon, opening, consumption_wh, solar_wh),
        "bills.csv": month_bills,
        "payments.csv": payments(master, year, mon, month_bills, issue, due),
    }
    return frames if fmt == STANDARD_FORMAT else legacy_frames(master, frames, year, mon)


def generate_iesco(
    landing: Path,
    months: list[str],
    meters: int = 100,
    seed: int = 7,
    faults: str = "realistic",
    fmt: str = STANDARD_FORMAT,
) -> list[Path]:
    """Write one complete IESCO drop per month to ``<landing>/IESCO/<YYYY-MM>/``.

    Files: ``meters.csv``, ``readings.csv``, ``bills.csv``, ``payments.csv`` (UTF-8, no BOM,
    final newline) plus ``manifest.json`` and ``_SUCCESS`` via :func:`write_drop`. Output is
    byte-identical for the same arguments; each month depends only on seed, meters, faults
    and the month itself. ``fmt="legacy"`` writes the legacy billing export of the same
    data (:mod:`.iesco_legacy`). Returns the drop folders in the order of ``months``.
    """
    if faults not in FAULT_LEVELS:
        raise ValueError(f"faults must be one of {sorted(FAULT_LEVELS)}, got {faults!r}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    if int(meters) < 1:
        raise ValueError(f"meters must be >= 1, got {meters!r}")
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
        frames = _month_frames(master, month, net_by_month, fmt)
        folders.append(
            write_drop(
                Path(landing),
                UTILITY,
                month,
                {name: csv_bytes(df) for name, df in frames.items()},
                row_counts={name: len(df) for name, df in frames.items()},
            )
        )
    return folders


GENERATORS = {"IESCO": generate_iesco}
