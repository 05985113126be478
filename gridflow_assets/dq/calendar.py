"""The delivery calendar: when each utility's drop for a month is due, what "now" is, and
which months a utility is expected to have delivered by then.

A utility's drop for a month is due by the end of its ``expected_delivery_day`` of the
following month, in the utility's own time zone (a day past the end of that month, 31 in
April, means its last day). The months expected of a utility run from the first month it
delivered to the last month whose drop is due as of now.

"Now" is injectable: ``GRIDFLOW_NOW`` (ISO 8601, UTC unless it names an offset) stands in
for the clock everywhere a state depends on it, so tests and the demo give the same states
on any day.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
from zoneinfo import ZoneInfo

NOW_ENV = "GRIDFLOW_NOW"


def now() -> dt.datetime:
    """``GRIDFLOW_NOW`` when set, else the clock (UTC)."""
    text = os.environ.get(NOW_ENV)
    if not text:
        return dt.datetime.now(dt.UTC)
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{NOW_ENV}={text!r} is not an ISO 8601 date or time") from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def next_month(month: str) -> str:
    year, mon = (int(p) for p in month.split("-"))
    return f"{year + 1}-01" if mon == 12 else f"{year}-{mon + 1:02d}"


def deadline(delivery_day: int, timezone: str, month: str) -> dt.datetime:
    """End of the expected delivery day (local time) in the month after ``month``."""
    due_year, due_month = (int(p) for p in next_month(month).split("-"))
    last_day = calendar.monthrange(due_year, due_month)[1]
    due_day = dt.date(due_year, due_month, min(delivery_day, last_day))
    return dt.datetime.combine(due_day + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(timezone))


def expected_months(first: str, delivery_day: int, timezone: str, when: dt.datetime) -> list[str]:
    """From ``first`` to the last month whose drop is due by ``when``, plus the month after
    it (the next drop, not yet due): the months a utility owes, in order."""
    months, month = [], first
    while deadline(delivery_day, timezone, month) <= when:
        months.append(month)
        month = next_month(month)
    return [*months, month]
