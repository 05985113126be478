"""Which drops in the landing folder can run: shared by the drop sensor and ``gridflow run``.

Both paths must agree on what is runnable, otherwise a drop the CLI processes could be
ignored by the sensor (or the reverse). ``landing.discover_drops`` decides what is complete
and well named; this module adds what only the platform knows: is there an adapter for the
utility, and is the month one of the partitions (from 2024-01 to the current month)?
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from gridflow_assets.registry.partitions import UTILITY_DIMENSION, month_partitions
from gridflow_assets.silver.adapters import get_utility
from gridflow_assets.store.landing import FINGERPRINT_TAG, Drop, discover_drops

DROP_TAG = "gridflow/drop"


@dataclass
class LandingScan:
    """The landing folder sorted into drops to run and folders left alone, with reasons."""

    runnable: list[Drop] = field(default_factory=list)
    # complete drops the platform cannot run (no adapter, month not a partition): (drop, why)
    unrunnable: list[tuple[Drop, str]] = field(default_factory=list)
    # folders that are not complete, well-named drops: (folder, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def unrunnable_reason(drop: Drop) -> str | None:
    """Why the platform cannot run this complete drop, or None if it can."""
    try:
        get_utility(drop.utility)
    except KeyError as exc:
        return str(exc.args[0])
    if not month_partitions.has_partition_key(drop.month):
        first = month_partitions.get_first_partition_key()
        last = month_partitions.get_last_partition_key()
        return f"month {drop.month} is not a partition ({first} … {last})"
    return None


def scan_landing(landing: str | Path) -> LandingScan:
    """Complete drops split by whether the platform can run them."""
    drops, skipped = discover_drops(Path(landing))
    scan = LandingScan(skipped=skipped)
    for drop in drops:
        reason = unrunnable_reason(drop)
        if reason is None:
            scan.runnable.append(drop)
        else:
            scan.unrunnable.append((drop, reason))
    return scan


def new_utilities(instance: dg.DagsterInstance, drops: list[Drop]) -> list[str]:
    """Utilities of ``drops`` that are not yet keys of the dynamic ``utility`` dimension."""
    known = set(instance.get_dynamic_partitions(UTILITY_DIMENSION))
    return sorted({d.utility for d in drops} - known)


def only(scan: LandingScan, utility: str | None, month: str | None) -> LandingScan:
    """The scan restricted to one utility and/or month (``None``: all)."""

    def keep(drop: Drop) -> bool:
        return (utility is None or drop.utility == utility) and (
            month is None or drop.month == month
        )

    return LandingScan(
        runnable=[d for d in scan.runnable if keep(d)],
        unrunnable=[(d, r) for d, r in scan.unrunnable if keep(d)],
        skipped=scan.skipped,
    )


def drop_tags(drop: Drop, fp: str) -> dict[str, str]:
    """Run tags naming the drop and the exact files a run materialized.

    Set by the sensor and by ``gridflow run`` alike, so either can tell that a delivery was
    already materialized by the other.
    """
    return {DROP_TAG: drop.name, FINGERPRINT_TAG: fp}
