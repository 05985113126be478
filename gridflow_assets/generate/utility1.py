"""Synthetic UTILITY1 drops: service points, a meter read log, 5/15-minute intervals with
local offsets (the "service point" vocabulary of docs/formats/)."""

from __future__ import annotations

from pathlib import Path

from gridflow_assets.generate.common import write_drop
from gridflow_assets.generate.ny_common import check_args, month_calendar, month_rng, ny_files
from gridflow_assets.generate.utility1_intervals import u1_intervals
from gridflow_assets.generate.utility1_population import (
    U1_CHANNELS,
    U1_COLUMNS,
    U1_INTERVALS,
    U1_METERS,
    U1_SERVICE_POINTS,
    UTILITY1,
    u1_meter_log,
    u1_population,
    u1_service_points,
)

__all__ = ["GENERATORS", "U1_CHANNELS", "U1_COLUMNS", "UTILITY1", "generate_utility1"]


def generate_utility1(
    landing: Path, months: list[str], meters: int = 40, seed: int = 7, faults: str = "realistic"
) -> list[Path]:
    """Write one complete UTILITY1 drop per month and return the drop folders.

    Per meter and month, every interval of three whole local days is written (the DST change
    day when the month has one), so interval counts per day are checkable without writing
    a month of 5-minute data for every meter.
    """
    scale = check_args(months, meters, faults)
    pop = u1_population(int(meters), seed)
    folders = []
    for month in months:
        rng = month_rng(seed, month)
        cal = month_calendar(month)
        frames = {
            U1_SERVICE_POINTS: u1_service_points(pop, cal, rng),
            U1_METERS: u1_meter_log(pop, cal, rng, scale),
            U1_INTERVALS: u1_intervals(pop, cal, rng, scale),
        }
        data, rows = ny_files(frames)
        folders.append(write_drop(Path(landing), UTILITY1, month, data, row_counts=rows))
    return folders


GENERATORS = {UTILITY1: generate_utility1}
