"""``dq/deliveries``: every drop a run read, and what came of it.

The bronze step records a row for each drop it reads: ``landed``, or ``drop rejected`` with
the file, column, row and reason of the ``DropError`` (the rejected drop changes no data
table, so without this row it would be invisible to the steward). The same drop read again
with the same outcome adds nothing (an identical rerun commits nothing). The table is
append-only; the latest row of a partition is its delivery's current outcome. It is read without Dagster,
on a local folder and on ``s3://`` alike.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from gridflow_assets.dq.calendar import deadline
from gridflow_assets.registry.dq import DELIVERIES
from gridflow_assets.store.landing import SUCCESS_MARKER, Drop, DropError, fingerprint
from gridflow_assets.store.warehouse import Warehouse

KEY = DELIVERIES.key
LANDED, REJECTED = "landed", "drop rejected"


def arrived_at(drop: Drop) -> dt.datetime | None:
    """When the drop was marked complete: its ``_SUCCESS`` marker's modification time."""
    try:
        stamp = (Path(drop.path) / SUCCESS_MARKER).stat().st_mtime
    except OSError:
        return None
    return dt.datetime.fromtimestamp(stamp, dt.UTC)


def record(
    store: Warehouse,
    drop: Drop,
    delivery_day: int,
    timezone: str,
    run_id: str | None,
    error: DropError | None = None,
) -> None:
    """Append the outcome of reading ``drop`` (``error``: why it was rejected)."""
    try:
        fp = fingerprint(drop)
    except OSError:
        fp = None
    row = {
        "fingerprint": fp,
        "drop_name": drop.name,
        "arrived_at_utc": arrived_at(drop),
        "due_at_utc": deadline(delivery_day, timezone, drop.month).astimezone(dt.UTC),
        "due_day": delivery_day,
        "timezone": timezone,
        "seen_at_utc": dt.datetime.now(dt.UTC),
        "run_id": run_id,
        "outcome": REJECTED if error is not None else LANDED,
        "file": getattr(error, "file", None),
        "column_name": getattr(error, "column", None),
        "row_number": getattr(error, "row", None),
        "reason": getattr(error, "reason", None) if error is not None else None,
    }
    if _same_as_last(store, drop, row):
        return  # the same drop read again with the same outcome: nothing new to record
    store.append(KEY, [row], drop.utility, drop.month)


def _same_as_last(store: Warehouse, drop: Drop, row: dict) -> bool:
    """Whether the partition's latest delivery is this drop (fingerprint) with this outcome
    and reason: a rerun of the same drop then commits nothing."""
    seen = store.read_pl(KEY, drop.utility, drop.month)
    if seen is None or seen.is_empty():
        return False
    last = seen.sort("seen_at_utc").row(-1, named=True)
    return all(last[k] == row[k] for k in ("fingerprint", "outcome", "reason"))


def latest(store: Warehouse) -> dict[tuple[str, str], dict]:
    """The latest delivery row of every partition, by ``(utility, month)``."""
    frame = store.read_table(KEY)
    if frame is None or frame.is_empty():
        return {}
    frame = frame.sort("seen_at_utc")
    out = {}
    for row in frame.unique(["utility", "month"], keep="last", maintain_order=True).iter_rows(
        named=True
    ):
        out[(row["utility"], row["month"])] = row
    return out


def first_months(rows: dict[tuple[str, str], dict], extra: list[tuple[str, str]]) -> dict:
    """The first month each utility delivered (a delivery row or a partition of data)."""
    first: dict[str, str] = {}
    for u, m in [*rows, *extra]:
        if u not in first or m < first[u]:
            first[u] = m
    return first
