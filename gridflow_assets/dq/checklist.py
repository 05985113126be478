"""Check evaluations as the snapshot lists them: the latest of each check of each partition,
in the snapshot's vocabulary, and the history the DQ tables store. Light (no Dagster):
``gridflow dq`` reads the stored ``dq/check_results`` with it, the DQ refresh adds the
instance's newer evaluations to it (``dq/history.py``)."""

from __future__ import annotations

import json

import pandas as pd

from gridflow_assets.domain.localday import DAY_S
from gridflow_assets.registry.dq import CHECK_RESULTS, REFERENCE_CHECKS

# The history frame: the table's columns and the partition it belongs to (the table stores
# the partition as its Delta partition columns ``utility`` and ``month``).
CHECK_RESULT_COLUMNS = ["utility_id", "month", *CHECK_RESULTS.column_names]

INTERVAL_LABELS = {60: "1 min", 300: "5 min", 900: "15 min", 1800: "30 min", 3600: "1 h"}


def interval_label(seconds: int) -> str:
    """A reading interval in words: '15 min', '1 day'."""
    seconds = int(seconds)
    return "1 day" if seconds == DAY_S else INTERVAL_LABELS.get(seconds, f"{seconds} s")


def latest(history: pd.DataFrame) -> pd.DataFrame:
    """The latest evaluation of every check of every partition."""
    return history[history.is_latest.astype(bool)].reset_index(drop=True)


def check_dicts(history: pd.DataFrame) -> list[dict]:
    """Latest evaluation of every check, in the snapshot's vocabulary (``check``,
    ``utility``), details parsed."""
    rows = []
    for r in latest(history).itertuples(index=False):
        rows.append(
            {
                "asset": r.asset,
                "check": r.check_name,
                "kind": r.kind,
                "utility": None if pd.isna(r.utility_id) else r.utility_id,
                "month": None if pd.isna(r.month) else r.month,
                "passed": bool(r.passed),
                "severity": r.severity,
                "failed_count": int(r.failed_count),
                "total_rows": None if pd.isna(r.total_rows) else int(r.total_rows),
                "details": json.loads(r.details) if isinstance(r.details, str) else {},
                "description": r.description,
                "evaluated_at": pd.Timestamp(r.evaluated_at_utc).isoformat(),
                "run_id": r.run_id,
                "violation": getattr(r, "violation", None) or None,
            }
        )
    return rows


def stored_history(store) -> pd.DataFrame:
    """The evaluations ``dq/check_results`` and ``dq/reference_checks`` hold (a
    ``Warehouse``), as ``dq.history.check_history``'s frame. Empty when a table lacks a column the
    registry declares (written by an earlier gridflow): the refresh then reads the whole
    history from the instance again and rewrites every partition in today's layout."""
    frames = []
    for table in (CHECK_RESULTS, REFERENCE_CHECKS):
        rows = store.read_table(table.key)
        if rows is None or rows.is_empty():
            continue
        if set(table.column_names) - set(rows.columns):
            return pd.DataFrame(columns=CHECK_RESULT_COLUMNS)
        df = rows.to_pandas()
        df["utility_id"] = df.get("utility")
        df["month"] = df.get("month")
        frames.append(df[CHECK_RESULT_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=CHECK_RESULT_COLUMNS)
    return pd.concat(frames, ignore_index=True)
