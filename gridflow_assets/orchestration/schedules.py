"""The monthly freshness schedule: after every utility's expected delivery day, judge last
month's drops (``freshness.check_drop_freshness``).

It runs once a month, on the day after the latest expected delivery day in the delivery
calendar, so every live utility's drop for the previous month is due by then; a utility
whose deadline has not passed (one registered later with a later day) is reported "not yet
due" rather than flagged.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from gridflow_assets.orchestration.freshness import (
    FRESHNESS_OP,
    delivery_calendar,
    freshness_job,
    previous_month,
)

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
