"""The ESPI pieces of the Green Button export that need no warehouse: time zone rules,
local days, reading types, the feed's text and ids, and the validator's offline schema
resolution (the feeds themselves: integration/test_green_button.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import polars as pl
import pytest
from lxml import etree

from gridflow_assets.publish import espi
from gridflow_assets.publish.espi import ReadingKind, dst_rule, local_day, local_time
from gridflow_assets.publish.green_button import _Context
from gridflow_assets_tests import espi as validator


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


def test_the_validator_reads_the_xml_namespace_schema_locally(tmp_path):
    """A schema naming the W3C's xml.xsd by its web address compiles without the network:
    the validator (gridflow_assets_tests/espi.py) reads the vendored xml.xsd instead."""
    xsd = tmp_path / "lang.xsd"
    xsd.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">'
        '<xs:import namespace="http://www.w3.org/XML/1998/namespace"'
        ' schemaLocation="http://www.w3.org/2001/xml.xsd"/>'
        '<xs:element name="a"><xs:complexType><xs:attribute ref="xml:lang"/>'
        "</xs:complexType></xs:element></xs:schema>",
        encoding="utf-8",
    )
    with pytest.raises(etree.XMLSchemaParseError):  # lxml alone does not fetch it
        etree.XMLSchema(etree.parse(str(xsd), etree.XMLParser(no_network=True)))
    schema = etree.XMLSchema(etree.parse(str(xsd), validator.parser()))
    assert schema.validate(etree.fromstring(b'<a xmlns="urn:t" xml:lang="en-GB"/>'))
    assert not schema.validate(etree.fromstring(b'<a xmlns="urn:t" xml:lang="not a tag"/>'))


def test_interval_block_text_is_what_elementtree_writes():
    """The feeds' interval blocks are written as text (a month holds millions of readings):
    the same bytes as the ElementTree tree of the block, indented with one space at its
    depth in a feed, with a quality code and a value missing too."""
    readings = [(1_741_496_400, 900, 1_234_567, 0), (1_741_497_300, 900, None, None)]
    readings += [(1_741_498_200, 900, -5, 10)]
    block = espi.espi("IntervalBlock")
    period = espi.sub(block, "interval")
    espi.sub(period, "duration", 82_800)
    espi.sub(period, "start", 1_741_496_400)
    for start, duration, value, quality in readings:
        reading = espi.sub(block, "IntervalReading")
        if quality is not None:
            espi.sub(espi.sub(reading, "ReadingQuality"), "quality", quality)
        period = espi.sub(reading, "timePeriod")
        espi.sub(period, "duration", duration)
        espi.sub(period, "start", start)
        espi.sub(reading, "value", value)
    frame = pl.DataFrame(readings, schema=["s", "d", "v", "q"], orient="row")
    texts = frame.select(
        espi.interval_readings(pl.col("s"), pl.col("d"), pl.col("v"), pl.col("q"))
    ).to_series()
    text = espi.interval_block(1_741_496_400, 82_800, espi.READING_SEPARATOR.join(texts))
    assert text == espi.fragment(block, 3)
    assert "<value />" in text and text.count("<ReadingQuality>") == 2
    empty = espi.espi("IntervalBlock")  # no readings
    period = espi.sub(empty, "interval")
    espi.sub(period, "duration", 3_600)
    espi.sub(period, "start", 0)
    assert espi.interval_block(0, 3_600, "") == espi.fragment(empty, 3)


def test_feed_text_escapes_as_elementtree_does():
    title = 'a & b < c > "d"\tè'
    entry = espi.entry("urn:x", '/r/1?a="&b"\n', title, "<R />", "2025-01-01T00:00:00Z")
    assert '<title>a &amp; b &lt; c &gt; "d"\tè</title>' in entry
    assert 'href="/r/1?a=&quot;&amp;b&quot;&#10;"' in entry
    assert espi.leaf("value", None) == espi.leaf("value", "") == "<value />"


def test_feed_ids_are_uuid5_of_the_export_and_the_href():
    ctx = _Context("IESCO", "2024-06", "Asia/Karachi", datetime(2024, 7, 1, tzinfo=UTC))
    for href in ("/espi/1_1/resource/LocalTimeParameters/1", "/x/é", ""):
        name = f"gridflow:green-button:IESCO:2024-06:{href}"
        assert ctx.uid(href) == f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
