"""The schedules: monthly drop freshness, daily warehouse vacuum.

Freshness: after every utility's expected delivery day, judge last month's drops
(``freshness.check_drop_freshness``). It runs once a month, on the day after the latest
expected delivery day in the delivery calendar, so every live utility's drop for the
previous month is due by then; a utility whose deadline has not passed (one registered
later with a later day) is reported "not yet due" rather than flagged.

Vacuum: every day at 03:30 UTC, ``vacuum_job`` deletes in every table of the warehouse the
files no version inside the retention reads (``Warehouse.vacuum``, as ``gridflow vacuum``):
superseded partitions and files of writers that died before their commit, once older than
``GRIDFLOW_RETENTION_DAYS`` (default 30).
"""

import datetime as dt

import dagster as dg

from gridflow_assets.defs.freshness import (
    FRESHNESS_OP,
    delivery_calendar,
    freshness_job,
    previous_month,
)
from gridflow_assets.store.resources import GridflowPaths

FRESHNESS_SCHEDULE = "monthly_drop_freshness"
LATEST_CRON_DAY = 28  # every month has it
HOUR_UTC = 12  # after local midnight in every time zone from UTC-12 to UTC+14


def freshness_day(calendar: dict[str, int]) -> int:
    """Day of the month to judge: the day after the latest expected delivery day."""
    return min(max(calendar.values(), default=0) + 1, LATEST_CRON_DAY)


def freshness_run_request(when: dt.datetime) -> dg.RunRequest:
    """Judge the month before ``when`` as of ``when``; one run per month (run key)."""
    month = previous_month(when)
    return dg.RunRequest(
        run_key=f"freshness:{month}",
        run_config={"ops": {FRESHNESS_OP: {"config": {"month": month, "as_of": when.isoformat()}}}},
        tags={"gridflow/month": month},
    )


@dg.schedule(
    name=FRESHNESS_SCHEDULE,
    job=freshness_job,
    cron_schedule=f"0 {HOUR_UTC} {freshness_day(delivery_calendar())} * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Monthly: flags every live utility whose drop for last month has not arrived "
    "by its expected delivery day.",
)
def monthly_drop_freshness(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return freshness_run_request(context.scheduled_execution_time)


VACUUM_OP = "vacuum_warehouse"
VACUUM_JOB = "vacuum_job"
VACUUM_SCHEDULE = "warehouse_vacuum"
VACUUM_CRON = "30 3 * * *"  # 03:30 UTC: after the night's drops, before the working day


class VacuumConfig(dg.Config):
    dry_run: bool = False  # report what would be deleted, delete nothing


@dg.op(name=VACUUM_OP, out=dg.Out(dg.Nothing))
def vacuum_warehouse(
    context: dg.OpExecutionContext, config: VacuumConfig, paths: GridflowPaths
) -> dg.Output:
    """``Warehouse.vacuum`` over the configured warehouse; refused (a failure naming
    ``gridflow migrate``) while the warehouse is in the old pointer layout, whose version
    folders Delta's vacuum would take for files no commit names."""
    from gridflow_assets.store.migrate import refusal, unconverted

    store = paths.store()
    waiting = unconverted(store)
    if waiting:
        raise dg.Failure(description=f"{store.location}: {refusal(waiting)}")
    deleted = store.vacuum(dry_run=config.dry_run)
    verb = "would delete" if config.dry_run else "deleted"
    context.log.info(
        f"{verb} {len(deleted)} file(s) from {store.location} "
        f"(retention {store.retention_days:g} days)"
    )
    return dg.Output(
        None,
        metadata={
            "warehouse": store.location,
            "files_deleted": 0 if config.dry_run else len(deleted),
            "files_found": len(deleted),
            "retention_days": float(store.retention_days),
            "dry_run": config.dry_run,
        },
    )


@dg.job(
    name=VACUUM_JOB,
    executor_def=dg.in_process_executor,
    description="Deletes, in every warehouse table, the files no version inside the "
    "retention ($GRIDFLOW_RETENTION_DAYS, default 30 days) reads (as `gridflow vacuum`).",
)
def vacuum_job() -> None:
    vacuum_warehouse()


@dg.schedule(
    name=VACUUM_SCHEDULE,
    job=vacuum_job,
    cron_schedule=VACUUM_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: vacuums the warehouse (files of superseded versions past the "
    "retention, files of writers that died before their commit).",
)
def warehouse_vacuum(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(run_key=f"vacuum:{day}")
