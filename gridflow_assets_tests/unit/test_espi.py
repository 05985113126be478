"""The ESPI pieces of the Green Button export that need no warehouse: time zone rules,
local days and reading types (the feeds themselves: integration/test_green_button.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from gridflow_assets.publish.espi import ReadingKind, dst_rule, local_day, local_time


def _decode(rule: str) -> tuple[int, ...]:
    """DstRuleType fields as espiDerived.xsd lays out the bits: month, operator, day of
    the month, day of the week (Monday = 1), hour, seconds."""
    v = int(rule, 16)
    return (
        v >> 28,
        (v >> 25) & 0b111,
        (v >> 20) & 0b11111,
        (v >> 17) & 0b111,
        (v >> 12) & 0b11111,
        v & 0xFFF,
    )


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_new_york_is_the_green_button_sample(year):
    # the Green Button sample feed (test_usage_data.xml): DST For North America
    lt = local_time("America/New_York", year)
    assert (lt.tz_offset, lt.dst_offset) == (-18_000, 3_600)
    assert (lt.dst_start_rule, lt.dst_end_rule) == ("360E2000", "B40E2000")
    # second Sunday of March, first Sunday of November, at 02:00
    assert _decode(lt.dst_start_rule) == (3, 3, 0, 7, 2, 0)
    assert _decode(lt.dst_end_rule) == (11, 2, 0, 7, 2, 0)


def test_karachi_has_no_dst_and_says_so_with_the_disabled_rule():
    lt = local_time("Asia/Karachi", 2025)
    assert (lt.tz_offset, lt.dst_offset) == (18_000, 0)
    assert lt.dst_start_rule == lt.dst_end_rule == "FFFFFFFF"


def test_a_last_sunday_rule_and_a_change_at_another_hour():
    lt = local_time("Europe/Berlin", 2025)
    assert (lt.tz_offset, lt.dst_offset) == (3_600, 3_600)
    assert _decode(lt.dst_start_rule) == (3, 7, 0, 7, 2, 0)
    assert _decode(lt.dst_end_rule) == (10, 7, 0, 7, 3, 0)
    # the schema's own example: third Friday in March at 1:45
    assert _decode(dst_rule(datetime(2025, 3, 21, 1, 45))) == (3, 4, 0, 5, 1, 2_700)


def test_local_days_last_23_24_or_25_hours():
    ny = "America/New_York"
    assert local_day(date(2025, 3, 9), ny) == (1_741_496_400, 82_800)
    assert local_day(date(2025, 11, 2), ny)[1] == 90_000
    assert local_day(date(2025, 3, 10), ny)[1] == 86_400
    assert local_day(date(2025, 3, 9), "Asia/Karachi") == (1_741_460_400, 86_400)


def test_reading_kind_names():
    assert ReadingKind("kWh", "delivered", 900).slug == "kWh-delivered-900"
    assert ReadingKind("kWh", "received", 300).title == "5-minute kWh received"
    assert ReadingKind("kVArh", "net", 3600).title == "1-hour kVArh net"
