"""The drop sensor: a complete drop in the landing folder becomes one run of its partition.

Each tick scans the landing folder (``scan_landing``, shared with ``gridflow run``), and for
every runnable drop (registered utility, month within the partitions) whose files changed
since it was last launched, adds the utility to the dynamic ``utility`` dimension if it is
new and requests one ``partition_job`` run for that month × utility partition.

Two guards keep a drop from launching twice. The cursor remembers the fingerprint
(``landing.fingerprint``: names, sizes, modification times) of every drop launched, so an
unchanged drop is not even looked at again; and each request carries the run key
``<UTILITY>/<YYYY-MM>@<fingerprint>``, so the daemon drops a repeat even if the cursor is
reset. A re-delivered month has new files, hence a new fingerprint and run key: it launches
again and its run replaces the partition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from gridflow_assets.assets.jobs import PARTITION_JOB
from gridflow_assets.defs.drops import (
    LandingScan,
    drop_tags,
    new_utilities,
    scan_landing,
)
from gridflow_assets.registry.partitions import partition_key, utility_partitions
from gridflow_assets.store.landing import Drop, DropError, fingerprint, verify_manifest
from gridflow_assets.store.migrate import refusal, unconverted
from gridflow_assets.store.resources import GridflowPaths
from gridflow_assets.store.storage import open_location

DROP_SENSOR = "drop_sensor"
TICK_SECONDS = 30


@dataclass
class DropCursor:
    """What the sensor has acted on, as ``drop name -> fingerprint``.

    ``launched``: a run was requested for these files (or one had already materialized
    them). ``rejected``: the manifest did not match these files; remembered so a bad drop is
    not re-hashed every tick, and retried as soon as it is re-delivered.
    """

    launched: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> DropCursor:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(launched=dict(data.get("launched", {})), rejected=dict(data.get("rejected", {})))

    def dumps(self) -> str:
        return json.dumps({"launched": self.launched, "rejected": self.rejected}, sort_keys=True)

    def is_handled(self, drop: Drop, fp: str) -> bool:
        """Whether these exact files were already launched or rejected."""
        return fp in (self.launched.get(drop.name), self.rejected.get(drop.name))


def drop_run_key(drop: Drop, fp: str) -> str:
    """Run key of one delivery of one drop: a re-delivery (new files) gets a new key."""
    return f"{drop.name}@{fp}"


def drop_run_request(drop: Drop, fp: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=drop_run_key(drop, fp),
        partition_key=partition_key(drop.utility, drop.month),
        tags=drop_tags(drop, fp),
    )


def materialized_by(instance: dg.DagsterInstance, drop: Drop, fp: str) -> str | None:
    """Id of a successful run that already materialized these exact files, if any.

    ``gridflow run`` tags its runs like the sensor does: after ``make demo``, starting the
    UI does not materialize every drop a second time.
    """
    records = instance.get_run_records(
        dg.RunsFilter(
            job_name=PARTITION_JOB,
            statuses=[dg.DagsterRunStatus.SUCCESS],
            tags=drop_tags(drop, fp),
        ),
        limit=1,
    )
    return records[0].dagster_run.run_id if records else None


def _log_ignored(context: dg.SensorEvaluationContext, scan: LandingScan) -> None:
    for folder, reason in scan.skipped:
        context.log.info(f"skipped {folder}: {reason}")
    for drop, reason in scan.unrunnable:
        context.log.warning(f"skipped {drop.name}: {reason}")


def _request_for(
    context: dg.SensorEvaluationContext, cursor: DropCursor, drop: Drop
) -> dg.RunRequest | None:
    """The run request for ``drop`` if its files are new to the platform; notes it in the
    cursor either way."""
    fp = fingerprint(drop)
    if cursor.is_handled(drop, fp):
        return None
    run_id = materialized_by(context.instance, drop, fp)
    if run_id:
        cursor.launched[drop.name] = fp
        context.log.info(f"skipped {drop.name}: these files were materialized by run {run_id}")
        return None
    try:
        verify_manifest(drop)
    except DropError as exc:
        cursor.rejected[drop.name] = fp
        context.log.warning(f"skipped {drop.name}: {exc}")
        return None
    cursor.rejected.pop(drop.name, None)
    cursor.launched[drop.name] = fp
    context.log.info(f"requested {drop.name} (files {fp})")
    return drop_run_request(drop, fp)


def evaluate_drops(context: dg.SensorEvaluationContext, landing: Path) -> dg.SensorResult:
    """One tick: run requests for new or re-delivered drops, new utility partitions."""
    cursor = DropCursor.parse(context.cursor)
    scan = scan_landing(landing)
    _log_ignored(context, scan)
    requested = [
        (drop, request)
        for drop in scan.runnable
        if (request := _request_for(context, cursor, drop)) is not None
    ]
    new = new_utilities(context.instance, [drop for drop, _ in requested])
    return dg.SensorResult(
        run_requests=[request for _, request in requested],
        dynamic_partitions_requests=[utility_partitions.build_add_request(new)] if new else [],
        cursor=cursor.dumps(),
        skip_reason=None if requested else "no new or re-delivered complete drop",
    )


@dg.sensor(
    name=DROP_SENSOR,
    job_name=PARTITION_JOB,
    minimum_interval_seconds=TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches partition_job for every complete drop (new or re-delivered) in the "
    "landing folder and registers new utilities as partitions.",
)
def drop_sensor(context: dg.SensorEvaluationContext, paths: GridflowPaths) -> dg.SensorResult:
    # a warehouse still in the pointer layout is converted first (``gridflow migrate``):
    # a run would write Delta tables beside partitions no Delta reader sees
    old = unconverted(open_location(paths.warehouse))
    if old:
        return dg.SensorResult(skip_reason=refusal(old))
    return evaluate_drops(context, Path(paths.landing))
