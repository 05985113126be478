"""Check results as data: every asset-check evaluation the Dagster instance recorded.

The instance is the only place that knows the history of a check (reruns, fixes,
regressions); the warehouse only holds the current partitions. Reading the event log
directly keeps this independent of which code location produced the checks.
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from gridflow_assets.dq.checklist import CHECK_RESULT_COLUMNS, stored_history
from gridflow_assets.registry.partitions import split_key

# Evaluations recorded this long before the newest one stored are read again (and the
# duplicates dropped): the stored time is rounded to the microsecond, and runs of other
# processes may record theirs a little out of order.
OVERLAP_S = 5.0


def _evaluation_records(instance: dg.DagsterInstance, since: float | None = None) -> list:
    """Every ASSET_CHECK_EVALUATION record of the instance (recorded after ``since``, POSIX
    seconds, when given).

    ``get_event_records`` is deprecated for 2.0 but Dagster 1.13 has no other public query
    over all check evaluations (``fetch_*`` cover materializations and observations only).
    No id paging: on the default run-sharded SQLite storage, storage ids restart in every
    run. There a query opens every run's file, so ``since`` also bounds the runs opened to
    those updated after it (``RunShardedEventsCursor``; its id 0 filters nothing on other
    storages).
    """
    cursor = None
    if since is not None:
        cursor = dg.RunShardedEventsCursor(
            id=0, run_updated_after=datetime.fromtimestamp(since, UTC)
        )
    query = dg.EventRecordsFilter(
        event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        after_timestamp=since,
        after_cursor=cursor,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return list(instance.get_event_records(query, ascending=True))


def sample_keys(rows: list[dict] | None) -> list[dict]:
    """A check's failing-row sample (stored as JSON rows in its metadata) as the text cells
    the steward's tables show, one dict per row."""
    return [{str(k): str(v)[:80] for k, v in row.items()} for row in rows or []]


def _value(meta: dict, key: str):
    return meta[key].value if key in meta else None


def _row(rec) -> dict:
    ev = rec.event_log_entry.dagster_event.event_specific_data
    meta = ev.metadata
    utility, month = _value(meta, "utility"), _value(meta, "month")
    if utility is None and ev.partition and "|" in ev.partition:
        utility, month = split_key(ev.partition)
    total = _value(meta, "total_rows")
    failed = int(_value(meta, "failed_count") or 0)
    rate = _value(meta, "failure_rate")
    return {
        "evaluation_id": rec.storage_id,
        "asset": "/".join(ev.asset_key.path),
        "check_name": ev.check_name,
        "kind": _value(meta, "kind") or ev.check_name.split("__")[0],
        "utility_id": utility,
        "month": month,
        "partition_key": ev.partition,
        "passed": bool(ev.passed),
        "severity": ev.severity.value,
        "is_blocking": ev.blocking,
        "failed_count": failed,
        "total_rows": None if total is None else int(total),
        "failure_rate": rate if rate is not None else (failed / total if total else None),
        "sample_keys": json.dumps(sample_keys(_value(meta, "sample_rows")), ensure_ascii=False),
        "details": json.dumps(_value(meta, "details") or {}, ensure_ascii=False, default=str),
        "description": ev.description,
        "violation": None if ev.passed else _value(meta, "violation"),
        "run_id": rec.event_log_entry.run_id,
        # Parquet stores microseconds; the instance's float seconds carry noise below that.
        "evaluated_at_utc": pd.Timestamp(round(rec.timestamp * 1e6), unit="us", tz="UTC"),
    }


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    """Oldest first, with ``is_latest`` marking the evaluation a partition is judged on: the
    last one of each check of each partition (a rerun supersedes, it does not erase)."""
    df = df.sort_values(
        ["evaluated_at_utc", "run_id", "evaluation_id"], kind="stable", ignore_index=True
    )
    keys = df[["asset", "check_name", "partition_key"]].fillna("")
    df["is_latest"] = ~keys.duplicated(keep="last")
    return df[CHECK_RESULT_COLUMNS]


def check_history(instance: dg.DagsterInstance, since: float | None = None) -> pd.DataFrame:
    """Every check evaluation (recorded after ``since``, when given) as a row of
    ``dq/check_results``, oldest first, ``is_latest`` among these rows."""
    rows = [_row(rec) for rec in _evaluation_records(instance, since)]
    df = pd.DataFrame(rows, columns=[c for c in CHECK_RESULT_COLUMNS if c != "is_latest"])
    return _ordered(df)


def refreshed_history(
    instance: dg.DagsterInstance, store
) -> tuple[pd.DataFrame, set[tuple[str | None, str | None]]]:
    """The whole history, as stored in the DQ tables plus what the instance recorded since,
    and the partitions (utility, month; None, None for the reference tables) that gained an
    evaluation. Only evaluations newer than the stored ones are read from the instance, so
    a refresh costs the same whatever the history holds."""
    stored = stored_history(store)
    since = None
    if not stored.empty:
        since = pd.Timestamp(stored["evaluated_at_utc"].max()).timestamp() - OVERLAP_S
    fresh = check_history(instance, since)
    known = set(zip(stored["run_id"], stored["evaluation_id"], strict=True))
    fresh = fresh[
        [k not in known for k in zip(fresh["run_id"], fresh["evaluation_id"], strict=True)]
    ]
    touched = {
        (None if pd.isna(u) else u, None if pd.isna(m) else m)
        for u, m in zip(fresh["utility_id"], fresh["month"], strict=True)
    }
    parts = [part for part in (stored, fresh) if not part.empty] or [stored]
    merged = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return _ordered(merged), touched
