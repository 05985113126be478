"""Synthetic UTILITY2 drops: versioned premises, effective-dated meter installations and
heavily repeated daily integer reads (the "premise" vocabulary of docs/formats/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gridflow_assets.generate.common import write_drop
from gridflow_assets.generate.ny_common import (
    DAY_NS,
    NS,
    check_args,
    fault_count,
    month_calendar,
    month_rng,
    ny_files,
    utc_iso,
)
from gridflow_assets.generate.utility2_intervals import u2_intervals
from gridflow_assets.generate.utility2_population import (
    U2_COLUMNS,
    U2_INTERVALS,
    U2_METERS,
    U2_RATES,
    U2_SERVICE_POINTS,
    UTILITY2,
    U2Population,
    u2_population,
)


def _u2_meters_file(
    pop: U2Population, cal: pd.DataFrame, rng: np.random.Generator, scale: float
) -> pd.DataFrame:
    """The installation history as of this month, with this month's retirements and
    not-yet-installed meters that nevertheless send reads."""
    inst = pop.installs.copy()
    month_start = int(cal.start_ns.iloc[0])
    month_end = int(cal.end_ns.iloc[-1])
    sending = np.flatnonzero(pop.meters.role.to_numpy() == "sending")
    n = len(sending)
    retired = rng.choice(
        sending, fault_count(U2_RATES["retired_still_sending"], n, scale), replace=False
    )
    rest = np.setdiff1d(sending, retired)  # with very few meters, all may have retired
    not_yet = rng.choice(
        rest, min(len(rest), fault_count(U2_RATES["not_yet_installed"], n, scale)), replace=False
    )
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
        planned = (
            month_start + int(rng.integers(3, 45)) * DAY_NS + int(rng.integers(0, 86_400)) * NS
        )
        inst.at[r, "installed_ns"] = max([planned, *before.tolist()])
        created.at[r] = month_start + int(rng.integers(0, 3 * 86_400)) * NS
    removed = inst.removed_ns.to_numpy()
    is_open = removed < 0
    updated = np.where(is_open, created + inst.updated_lag, removed + inst.created_lag)
    updated = np.maximum(np.minimum(updated, month_end - NS), created)
    meters = pop.meters.iloc[inst.meter.to_numpy()]
    return pd.DataFrame(
        {
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
        },
        columns=U2_COLUMNS[U2_METERS],
    )


def generate_utility2(
    landing: Path, months: list[str], meters: int = 40, seed: int = 7, faults: str = "realistic"
) -> list[Path]:
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
            U2_INTERVALS: u2_intervals(pop, cal, rng, faults, scale),
        }
        data, rows = ny_files(frames)
        folders.append(write_drop(Path(landing), UTILITY2, month, data, row_counts=rows))
    return folders


GENERATORS = {UTILITY2: generate_utility2}
