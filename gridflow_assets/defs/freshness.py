"""Drop freshness: did each live utility deliver last month's drop by its expected day?

The delivery calendar is data: each utility's registry entry says on which day of the
following month its drop is due (``Utility.expected_delivery_day``); the deadline is the end
of that day in the utility's own time zone. A drop has arrived when its ``_SUCCESS`` marker
exists; its arrival time is the marker's modification time.

The result is recorded as the asset check evaluation ``freshness__drop_delivered`` on
``bronze/readings`` for the month × utility partition (severity WARN: a late delivery is the
utility's problem and blocks nothing). The steward sees it in the run's log in the UI and in
``gridflow dq`` / the DQ dashboard, which read every check evaluation of the instance.
"""

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import dagster as dg

from gridflow_assets.domain.names import is_valid_month
from gridflow_assets.dq.calendar import deadline as due_at
from gridflow_assets.registry.partitions import UTILITY_DIMENSION, partition_key
from gridflow_assets.silver.adapters import Utility, all_utilities, get_utility
from gridflow_assets.store.landing import SUCCESS_MARKER, DropError, find_drop
from gridflow_assets.store.resources import GridflowPaths

FRESHNESS_CHECK = "freshness__drop_delivered"
FRESHNESS_ASSET = dg.AssetKey(["bronze", "readings"])
FRESHNESS_OP = "check_drop_freshness"
FRESHNESS_JOB = "freshness_job"


class Delivery(Enum):
    ON_TIME = "on time"
    LATE = "delivered late"
    MISSING = "missing and overdue"
    NOT_DUE = "not yet due"


def delivery_calendar() -> dict[str, int]:
    """``utility id -> day of the following month its drop is due``, from the registry."""
    return {u.utility_id: u.expected_delivery_day for u in all_utilities()}


def previous_month(when: dt.datetime | dt.date) -> str:
    """``YYYY-MM`` of the month before ``when``: the month whose drop is due in ``when``'s."""
    first = dt.date(when.year, when.month, 1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def deadline(utility: Utility, month: str) -> dt.datetime:
    """End of the expected delivery day (utility's local time) in the month after ``month``
    (``dq.calendar.deadline``)."""
    return due_at(utility.expected_delivery_day, utility.timezone, month)


def arrival_time(landing: Path, utility_id: str, month: str) -> dt.datetime | None:
    """When the drop was marked complete (``_SUCCESS`` written), or None if it is not."""
    try:
        drop = find_drop(landing, utility_id, month)
    except DropError:
        return None
    return dt.datetime.fromtimestamp((drop.path / SUCCESS_MARKER).stat().st_mtime, dt.UTC)


@dataclass(frozen=True)
class Freshness:
    """The delivery of one utility's drop for one month, judged at ``as_of``."""

    utility: str
    month: str
    deadline: dt.datetime
    arrived_at: dt.datetime | None
    as_of: dt.datetime

    @property
    def delivery(self) -> Delivery:
        if self.arrived_at is not None:
            return Delivery.ON_TIME if self.arrived_at < self.deadline else Delivery.LATE
        return Delivery.MISSING if self.as_of >= self.deadline else Delivery.NOT_DUE

    @property
    def passed(self) -> bool:
        return self.delivery in (Delivery.ON_TIME, Delivery.NOT_DUE)


def judge(landing: Path, utility: Utility, month: str, as_of: dt.datetime) -> Freshness:
    return Freshness(
        utility.utility_id,
        month,
        deadline(utility, month),
        arrival_time(landing, utility.utility_id, month),
        as_of,
    )


def check_evaluation(result: Freshness) -> dg.AssetCheckEvaluation:
    """The steward-facing record: same shape as the check factory's (utility, month, counts)."""
    arrived = result.arrived_at.isoformat() if result.arrived_at else "not arrived"
    return dg.AssetCheckEvaluation(
        asset_key=FRESHNESS_ASSET,
        check_name=FRESHNESS_CHECK,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.WARN,
        partition=partition_key(result.utility, result.month),
        description=f"{result.utility} drop for {result.month}: {result.delivery.value}",
        metadata={
            "kind": "freshness",
            "utility": result.utility,
            "month": result.month,
            "delivery": result.delivery.value,
            "deadline": result.deadline.isoformat(),
            "arrived_at": arrived,
            "as_of": result.as_of.isoformat(),
            "failed_count": 0 if result.passed else 1,
            "total_rows": 1,
        },
    )


def live_utilities(instance: dg.DagsterInstance) -> list[Utility]:
    """Utilities that have delivered before (a ``utility`` partition) and have an adapter.

    A registered utility that never delivered is not onboarded yet; flagging it every month
    would be noise.
    """
    live = []
    for utility_id in sorted(instance.get_dynamic_partitions(UTILITY_DIMENSION)):
        try:
            live.append(get_utility(utility_id))
        except KeyError:
            continue
    return live


class FreshnessConfig(dg.Config):
    """Which month to judge and at what time. The schedule passes its tick time, so a
    re-executed run reaches the same verdict; launched by hand without it, now."""

    month: str
    as_of: str | None = None  # ISO-8601 with a UTC offset

    def as_of_time(self) -> dt.datetime:
        if self.as_of is None:
            return dt.datetime.now(dt.UTC)
        when = dt.datetime.fromisoformat(self.as_of)
        if when.tzinfo is None:
            raise ValueError(f"as_of {self.as_of!r} needs a UTC offset")
        return when


@dg.op(name=FRESHNESS_OP)
def check_drop_freshness(
    context: dg.OpExecutionContext, config: FreshnessConfig, paths: GridflowPaths
) -> None:
    """Judge every live utility's drop for ``config.month``; record one evaluation each."""
    if not is_valid_month(config.month):
        raise ValueError(f"month {config.month!r} is not YYYY-MM")
    as_of = config.as_of_time()
    for utility in live_utilities(context.instance):
        result = judge(Path(paths.landing), utility, config.month, as_of)
        context.log_event(check_evaluation(result))
        message = (
            f"{utility.utility_id} {config.month}: {result.delivery.value} "
            f"(due before {result.deadline.isoformat()})"
        )
        if result.passed:
            context.log.info(message)
        else:
            context.log.warning(message)


@dg.job(
    name=FRESHNESS_JOB,
    executor_def=dg.in_process_executor,
    description="Flags live utilities whose drop for a month has not arrived by their "
    "expected delivery day (check freshness__drop_delivered on bronze/readings).",
)
def freshness_job() -> None:
    check_drop_freshness()
