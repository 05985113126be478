"""Green Button (ESPI) feeds of real partitions, read back without gridflow's export code.

Drops generated for UTILITY1 (New York: 2025-03 holds the 23-hour 9 March, 2025-11 the
25-hour 2 November) and IESCO (Asia/Karachi, no daylight saving), run through the pipeline
behind ``gridflow run`` (an in-memory instance); every partition exported with
``write_feeds``. The files are checked with lxml against the Green Button Alliance's schemas
(``fixtures/espi/``, through the validator ``gridflow_assets_tests/espi.py``), followed link by
link, and added up against ``experience/daily_summaries``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from gridflow_assets.app.runner import run_drops
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.generate.ny import generate_utility1
from gridflow_assets.publish.green_button import write_feeds
from gridflow_assets.store.pii import ENV_SECRET, SecretMissing, pseudonymize
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets_tests import espi as validator
from gridflow_assets_tests import worlds

ATOM, ESPI = "http://www.w3.org/2005/Atom", "http://naesb.org/espi"
NS = {"a": ATOM, "e": ESPI}
REPO = Path(__file__).resolve().parents[2]
PUBLISH = REPO / "gridflow_assets" / "publish"
PARTITIONS = {
    ("UTILITY1", "2025-03"): "America/New_York",
    ("UTILITY1", "2025-11"): "America/New_York",
    ("IESCO", "2025-03"): "Asia/Karachi",
}
SECRET = "green-button-test-key"
# ESPI codes back to gridflow's reading types (espiDerived.xsd: UnitSymbolKind,
# FlowDirectionKind)
UNIT = {"72": "kWh", "73": "kVArh"}
DIRECTION = {"1": "delivered", "19": "received", "4": "net"}
FAILED = "10"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with worlds.world(tmp_path_factory, "green_button", "feeds") as (dirs, instance, mp):
        mp.setenv(ENV_SECRET, SECRET)
        generate_utility1(dirs["landing"], ["2025-03", "2025-11"], meters=3, seed=1)
        generate_iesco(dirs["landing"], ["2025-03"], meters=3, seed=1)
        # the export reads the partitions only: no DQ refresh needed
        outcome = run_drops(
            instance,
            str(dirs["landing"]),
            str(dirs["warehouse"]),
            out=lambda _: None,
            refresh=False,
        )
        assert {(p.utility, p.month): p.ok for p in outcome.partitions} == dict.fromkeys(
            PARTITIONS, True
        )
        store = Warehouse(dirs["warehouse"])
        feeds = {
            (u, m): write_feeds(store, u, m, dirs["feeds"] / f"{u}-{m}") for u, m in PARTITIONS
        }
        yield SimpleNamespace(store=store, feeds=feeds, dirs=dirs)


def _all_files(world) -> list[Path]:
    return [p for paths in world.feeds.values() for p in paths]


def _entries(doc: etree._ElementTree) -> list[dict]:
    """Each entry: its links by rel and its one ESPI resource."""
    found = []
    for entry in doc.getroot().iterfind("a:entry", NS):
        links = defaultdict(list)
        for link in entry.iterfind("a:link", NS):
            links[link.get("rel")].append(link.get("href"))
        (resource,) = entry.find("a:content", NS)
        found.append({"self": links["self"][0], "links": links, "resource": resource})
    return found


def _text(element: etree._Element, path: str) -> str:
    return element.find(path, NS).text


# -- 1. the schema ------------------------------------------------------------------------


def test_every_feed_and_every_resource_validates(world):
    schema = validator.schema()
    files = _all_files(world)
    assert len(files) == 9
    for path in files:
        assert validator.validate(path) == [], path.name
        doc = etree.parse(str(path))
        resources = [e["resource"] for e in _entries(doc)]
        assert {etree.QName(r).localname for r in resources} >= {
            "UsagePoint",
            "LocalTimeParameters",
            "MeterReading",
            "ReadingType",
            "IntervalBlock",
        }
        for resource in resources:
            assert etree.QName(resource).namespace == ESPI
            assert schema.validate(resource), (path.name, schema.error_log.last_error)


def test_the_validator_rejects_a_fractional_value_and_a_wrong_order(world):
    schema = validator.schema()
    path = world.feeds[("UTILITY1", "2025-03")][0]
    doc = etree.parse(str(path))
    value = doc.find(".//e:IntervalReading/e:value", NS)
    value.text = "12.5"
    assert not schema.validate(doc)
    assert "Int48" in str(schema.error_log.last_error)
    assert not schema.validate(value.getparent().getparent())  # the IntervalBlock alone
    doc = etree.parse(str(path))
    reading = doc.find(".//e:IntervalReading", NS)
    reading.append(reading.find("e:ReadingQuality", NS))  # after value: out of sequence
    assert not schema.validate(doc)


def test_the_validator_command(world, tmp_path, capsys):
    """``python -m gridflow_assets_tests.espi FOLDER...`` (as ``make demo`` runs it): every
    feed under the folder valid, exit 0; one value 12.5, exit 1 naming the file and the
    error; no file, exit 1."""
    done = subprocess.run(
        [sys.executable, "-m", "gridflow_assets_tests.espi", str(world.dirs["feeds"])],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (
        0,
        "9 Green Button file(s) valid against espiDerived.xsd "
        "(Green Button Alliance, 0.7.20131008)\n",
    ), done.stderr[-2000:]
    good = world.feeds[("IESCO", "2025-03")][0]
    bad = tmp_path / "feeds" / "utility=IESCO" / "bad.xml"
    bad.parent.mkdir(parents=True)
    text = good.read_text(encoding="utf-8")
    value = text.index("<value>")
    bad.write_text(
        text[:value] + "<value>12.5</value>" + text[text.index("</value>", value) + 8 :],
        encoding="utf-8",
    )
    (tmp_path / "feeds" / "good.xml").write_bytes(good.read_bytes())
    assert validator.main([str(tmp_path / "feeds")]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("1 of 2 Green Button file(s) invalid against espiDerived.xsd")
    assert str(bad) in err and "Int48" in err and "good.xml" not in err
    assert validator.main([str(tmp_path / "empty"), str(tmp_path / "feeds" / "none")]) == 1
    assert "no Green Button file" in capsys.readouterr().err


# -- 2. the round trip --------------------------------------------------------------------


def _usage(path: Path, tz: str) -> tuple[dict, dict, list[dict]]:
    """From one feed, following its links only: per (reading type, local day) the valid
    total in kWh and the number of readings; the local time parameters; the blocks."""
    entries = _entries(etree.parse(str(path)))
    by_self = {e["self"]: e for e in entries}
    totals: dict = defaultdict(float)
    counts: dict = defaultdict(int)
    blocks = []
    zone = ZoneInfo(tz)
    for e in entries:
        block = e["resource"]
        if etree.QName(block).localname != "IntervalBlock":
            continue
        (collection,) = e["links"]["up"]
        (reading,) = [r for r in entries if collection in r["links"]["related"]]
        assert etree.QName(reading["resource"]).localname == "MeterReading"
        (type_href,) = [h for h in reading["links"]["related"] if h != collection]
        rt = by_self[type_href]["resource"]
        assert etree.QName(rt).localname == "ReadingType"
        kind = (
            UNIT[_text(rt, "e:uom")],
            DIRECTION[_text(rt, "e:flowDirection")],
            int(_text(rt, "e:intervalLength")),
        )
        scale = 10 ** int(_text(rt, "e:powerOfTenMultiplier")) / 1000  # Wh → kWh
        start = int(_text(block, "e:interval/e:start"))
        length = int(_text(block, "e:interval/e:duration"))
        blocks.append({"start": start, "duration": length, "kind": kind})
        for r in block.iterfind("e:IntervalReading", NS):
            r_start = int(_text(r, "e:timePeriod/e:start"))
            assert start <= r_start < start + length
            assert int(_text(r, "e:timePeriod/e:duration")) == kind[2]
            day = datetime.fromtimestamp(r_start, zone).date()
            counts[kind, day] += 1
            if _text(r, "e:ReadingQuality/e:quality") == FAILED:
                counts["failed"] += 1
                continue
            totals[kind, day] += int(_text(r, "e:value")) * scale
    (ltp,) = [e["resource"] for e in entries if e["self"].endswith("/LocalTimeParameters/1")]
    local = {etree.QName(c).localname: c.text for c in ltp}
    return {"totals": totals, "counts": counts}, local, blocks


def test_feeds_add_up_to_the_daily_summaries(world):
    compared = set()
    failed = 0
    for (utility, month), tz in PARTITIONS.items():
        store = world.store
        dim = store.read_pl("gold/dim_service_point", utility, month)
        key_of = dict(
            zip(
                dim["service_point_id"],
                pseudonymize(dim["service_point_id"], SECRET.encode()),
                strict=False,
            )
        )
        daily = store.read_pl("experience/daily_summaries", utility, month)
        expected = defaultdict(dict)
        for row in daily.iter_rows(named=True):
            if row["service_point_id"] in key_of:
                assert row["unit"] == "kWh"
                kind = (row["measurement"], row["direction"], row["interval_s"])
                expected[key_of[row["service_point_id"]]][kind, row["local_date"]] = row
        files = {p.stem: p for p in world.feeds[(utility, month)]}
        assert set(files) == set(key_of.values())
        for key, path in files.items():
            usage, local, blocks = _usage(path, tz)
            failed += usage["counts"].pop("failed", 0)
            want = expected.get(key, {})
            assert set(usage["counts"]) == set(want), (utility, month, key)
            for day_key, row in want.items():
                readings = row["interval_count"] + row["failed_count"]
                assert usage["counts"][day_key] == readings, (utility, month, key, day_key)
                got = usage["totals"].get(day_key, 0.0)
                assert got == pytest.approx(row["total_value"] or 0.0, abs=0.0005 * readings)
                compared.add((utility, day_key[1], readings * day_key[0][2] / 3600))  # hours
            if tz == "Asia/Karachi":
                assert local == {
                    "dstEndRule": "FFFFFFFF",
                    "dstOffset": "0",
                    "dstStartRule": "FFFFFFFF",
                    "tzOffset": "18000",
                }
            else:
                assert local == {
                    "dstEndRule": "B40E2000",
                    "dstOffset": "3600",
                    "dstStartRule": "360E2000",
                    "tzOffset": "-18000",
                }
            lengths = {
                datetime.fromtimestamp(b["start"], ZoneInfo(tz)).date(): b["duration"]
                for b in blocks
            }
            assert all(
                datetime.fromtimestamp(b["start"], ZoneInfo(tz)).time().hour == 0 for b in blocks
            )
            dst_days = {date(2025, 3, 9): 82_800, date(2025, 11, 2): 90_000}
            for day, length in lengths.items():
                ny = tz == "America/New_York"
                assert length == (dst_days.get(day, 86_400) if ny else 86_400)
    # the DST days were compared, whole (23 and 25 hours of readings), and so was Karachi
    assert ("UTILITY1", date(2025, 3, 9), 23) in compared
    assert ("UTILITY1", date(2025, 11, 2), 25) in compared
    assert any(u == "IESCO" for u, _, _ in compared)
    assert failed >= 1  # failed readings are exported, flagged 10, and left out above


# -- 3. names and ids ---------------------------------------------------------------------


def test_files_are_named_by_pseudonym_and_hold_no_utility_id(world):
    store = world.store
    for (utility, month), paths in world.feeds.items():
        keys = set(
            store.read_pl("gold/dim_service_point_external", utility, month)["service_point_key"]
        )
        assert {p.stem for p in paths} == keys
        assert all(p.name == f"{p.stem}.xml" for p in paths)
        ids = set(store.read_pl("gold/dim_service_point", utility, month)["service_point_id"])
        readings = store.read_pl("silver/intervals", utility, month)
        ids |= set(readings["service_point_id"].drop_nulls()) | set(readings["meter_id"])
        raw = ids | {i.split(":", 1)[1] for i in ids}
        assert all(len(r) >= 5 for r in raw)
        for path in paths:
            text = path.read_text(encoding="utf-8")
            leaked = [r for r in raw if r in text]
            assert leaked == [], (path.name, leaked[:3])


# -- 4. one service point -----------------------------------------------------------------


def test_service_point_selects_one_feed_and_an_unknown_one_raises(world, tmp_path):
    partition = ("UTILITY1", "2025-11")
    whole = world.feeds[partition]
    key = whole[1].stem
    (one,) = write_feeds(world.store, *partition, tmp_path / "one", service_point=key)
    assert one == tmp_path / "one" / f"{key}.xml"
    assert [p.name for p in (tmp_path / "one").iterdir()] == [one.name]
    assert one.read_bytes() == whole[1].read_bytes()  # deterministic: the same bytes again
    with pytest.raises(ValueError) as raised:
        write_feeds(world.store, *partition, tmp_path / "none", service_point="sp_nosuchkey")
    message = str(raised.value)
    assert "3 service points known" in message
    assert not any(p.stem in message for p in whole)
    assert not (tmp_path / "none").exists()


def test_the_export_imports_no_dagster():
    """The export runs where Dagster is not loaded: a fresh interpreter imports it alone."""
    code = "import sys, gridflow_assets.publish.green_button; print('dagster' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr[-2000:]
    for path in PUBLISH.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                names.append(getattr(node, "module", None) or "")
                assert not any(n.split(".")[0] == "dagster" for n in names), path.name


def test_no_export_without_the_key_gold_was_built_with(world, tmp_path, monkeypatch):
    partition = ("IESCO", "2025-03")
    monkeypatch.delenv(ENV_SECRET)
    with pytest.raises(SecretMissing):
        write_feeds(world.store, *partition, tmp_path / "nokey")
    assert not (world.dirs["warehouse"].parent / ".pii_secret").exists()  # none made up
    monkeypatch.setenv(ENV_SECRET, "another-key")
    with pytest.raises(ValueError, match="not those of gold/dim_service_point_external"):
        write_feeds(world.store, *partition, tmp_path / "otherkey")
    assert not (tmp_path / "nokey").exists() and not (tmp_path / "otherkey").exists()
