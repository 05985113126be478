"""The readings of a partition beyond one meter bucket (``GRIDFLOW_CHUNK_READINGS`` below
its readings) land in bronze bucket by bucket as the file is read: every row, each meter
wholly in the bucket silver reads it from, checked as the whole table; and a drop that
fails in any file, even after buckets were written, publishes nothing."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gridflow_assets.defs.definitions import PARTITION_JOB
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.registry.partitions import partition_key
from gridflow_assets.registry.tables import BRONZE_TABLES
from gridflow_assets.silver.adapters import get_utility
from gridflow_assets.silver.pipeline import CHUNK_ENV, bucket_count, meter_bucket
from gridflow_assets.store import landing as landing_mod
from gridflow_assets.store import writers
from gridflow_assets.store.landing import find_drop, read_source
from gridflow_assets.store.warehouse import Warehouse

MONTH = "2025-03"
PER_BUCKET = 1_000
KEYS = [f"bronze/{name}" for name in BRONZE_TABLES]


def _bronze(defs, instance) -> dg.ExecuteInProcessResult:
    """The bronze step of the partition alone (its checks evaluated in the step)."""
    instance.add_dynamic_partitions("utility", ["IESCO"])
    job = defs.resolve_job_def(PARTITION_JOB).get_subset(
        asset_selection={dg.AssetKey(k.split("/")) for k in KEYS}, asset_check_selection=set()
    )
    return job.execute_in_process(
        instance=instance, partition_key=partition_key("IESCO", MONTH), raise_on_error=False
    )


def _state(store: Warehouse) -> dict[str, tuple]:
    """Each bronze table's Delta version and the files in its partition folder, committed
    or not: what a failed run must leave."""
    state = {}
    for key in KEYS:
        part = store.partition_dir(key, "IESCO", MONTH)
        files = sorted(i.base_name for i in store.loc.listing(part))
        state[key] = (Warehouse(store.location).version(key), files)
    return state


@pytest.fixture
def bucketed(defs, folders, instance, monkeypatch):
    """The IESCO drop's bronze written once with buckets of ``PER_BUCKET`` readings."""
    landing, warehouse, _ = folders
    generate_iesco(landing, [MONTH], meters=6, faults="heavy")
    monkeypatch.setenv(CHUNK_ENV, str(PER_BUCKET))
    result = _bronze(defs, instance)
    assert result.success
    return result, Warehouse(warehouse), landing


def test_bucketed_readings_hold_every_row_each_meter_in_its_bucket(bucketed):
    result, store, landing = bucketed
    source = get_utility("IESCO").sources["readings"]
    whole = read_source(find_drop(landing, "IESCO", MONTH), source)
    buckets = bucket_count(len(whole), PER_BUCKET)
    assert buckets > 2
    rows = store.bucket_rows("bronze/readings", "IESCO", MONTH)
    assert len(rows) == buckets and sum(rows) == len(whole)
    hashed = whole.with_columns(_b=meter_bucket("meter_number", buckets))
    for b, got in enumerate(store.iter_buckets("bronze/readings", "IESCO", MONTH)):
        # bucket b is every row of the meters hashed to b, in delivered order
        assert_frame_equal(got, hashed.filter(pl.col("_b") == b).drop("_b"))
    # the small tables are written whole, as before
    assert store.bucket_rows("bronze/meters", "IESCO", MONTH) == [
        store.row_count("bronze/meters", "IESCO", MONTH)
    ]
    [mat] = [
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key.path == ["bronze", "readings"]
    ]
    meta = mat.materialization.metadata
    assert meta["meter_buckets"].value == buckets
    assert meta["ragged_rows"].value == whole["_parse_error"].is_not_null().sum()
    assert meta["dagster/row_count"].value == len(whole)
    checks = {
        e.check_name: e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.path == ["bronze", "readings"]
    }
    assert set(checks) >= {"schema__structure", "duplicates__exact_rows"}
    assert all(e.metadata["total_rows"].value == len(whole) for e in checks.values())
    assert checks["schema__structure"].passed


def test_a_drop_failing_in_any_file_publishes_nothing(bucketed, defs, instance, monkeypatch):
    _, store, landing = bucketed
    before = _state(store)
    folder = landing / "IESCO" / MONTH
    (folder / "manifest.json").unlink()  # the files change: the rows are counted instead
    # bills, read after the readings were written in buckets, has a row that is not UTF-8
    bills = (folder / "bills.csv").read_bytes()
    header, first, rest = bills.split(b"\n", 2)
    bad = first.replace(b",", b",\xff", 1)  # in the second column of the first row
    (folder / "bills.csv").write_bytes(b"\n".join([header, bad, rest]))
    result = _bronze(defs, instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "file bills.csv, column billing_month, row 1: invalid UTF-8" in str(
        failure.event_specific_data.error.to_string()
    )
    assert _state(store) == before
    # the readings themselves, bad in a block read after earlier blocks were written
    (folder / "bills.csv").write_bytes(bills)
    readings = (folder / "readings.csv").read_bytes()
    (folder / "readings.csv").write_bytes(readings[:-40] + b"\xff" + readings[-40:])
    monkeypatch.setattr(landing_mod, "STREAM_BLOCK_SIZE", 16_384)
    monkeypatch.setattr(writers, "BUFFER_ROWS", 500)  # buckets written before the bad block
    result = _bronze(defs, instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "file readings.csv, column" in str(failure.event_specific_data.error.to_string())
    assert _state(store) == before
