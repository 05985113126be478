"""Keeping the tables built from every partition fresh: a refresh job the sensor chains.

A drop's ``partition_job`` run already materializes its whole partition, bronze → silver →
gold → experience, with every check (blocking checks stop downstream inside the run), so
partitioned tables need nothing more. What it does not touch are the unpartitioned tables:
the reference dimensions (``dim_utility`` lists every registered utility) and the DQ assets
(``dq/check_results`` reads every check evaluation of the instance, ``dq/partition_scorecard``
and the dashboard summarize every partition). They are rebuilt as a whole by
``refresh_job``, which ``refresh_sensor`` requests once drop runs have finished.

Why not declarative automation: ``dq/check_results`` depends on check evaluations, not on an
asset, so no dependency-based condition sees it go stale; and a burst of drop runs (a year
being backfilled) should cost one refresh, not one per run. The sensor waits until no
``partition_job`` run is queued or running and then requests a single refresh covering
every run that finished since the last one, failed runs included: their check results are
what the steward most needs to see.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from gridflow_assets.assets.dq import DQ_ASSETS
from gridflow_assets.assets.gold import dim_date, dim_time, dim_utility
from gridflow_assets.assets.jobs import PARTITION_JOB
from gridflow_assets.defs.sensors import TICK_SECONDS

REFRESH_JOB = "refresh_job"
REFRESH_SENSOR = "refresh_sensor"

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]

refresh_job = dg.define_asset_job(
    REFRESH_JOB,
    selection=dg.AssetSelection.assets(dim_utility, dim_date, dim_time, *DQ_ASSETS),
    description="Tables built from every partition: reference dimensions, DQ check results, "
    "partition scorecard and dashboard. Requested by refresh_sensor after drop "
    "runs.",
    executor_def=dg.in_process_executor,
)


def _runs(
    instance: dg.DagsterInstance,
    job_name: str,
    statuses: list[dg.DagsterRunStatus],
    after: float | None = None,
) -> list[dg.RunRecord]:
    """Runs of ``job_name`` in ``statuses``, last updated after the timestamp ``after``."""
    updated_after = dt.datetime.fromtimestamp(after, dt.UTC) if after is not None else None
    return list(
        instance.get_run_records(
            dg.RunsFilter(job_name=job_name, statuses=statuses, updated_after=updated_after)
        )
    )


def evaluate_refresh(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """One refresh for every batch of drop runs that finished since the last refresh.

    The cursor is the update time of the last drop run a refresh was requested for.
    """
    after = float(context.cursor) if context.cursor else None
    finished = _runs(context.instance, PARTITION_JOB, FINISHED, after)
    if not finished:
        return dg.SkipReason("no drop run finished since the last refresh")
    running = _runs(context.instance, PARTITION_JOB, UNFINISHED)
    if running:
        return dg.SkipReason(f"waiting for {len(running)} drop run(s) to finish")
    if _runs(context.instance, REFRESH_JOB, UNFINISHED):
        return dg.SkipReason("waiting for the running refresh to finish")
    last = max(finished, key=lambda r: r.update_timestamp.timestamp())
    context.log.info(
        f"{len(finished)} drop run(s) finished; refreshing after {last.dagster_run.run_id}"
    )
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"refresh-after:{last.dagster_run.run_id}")],
        cursor=str(last.update_timestamp.timestamp()),
    )


@dg.sensor(
    name=REFRESH_SENSOR,
    job=refresh_job,
    minimum_interval_seconds=TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After drop runs finish (success or failure), rebuilds the reference "
    "dimensions and the DQ tables and dashboard once per batch.",
)
def refresh_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    return evaluate_refresh(context)
