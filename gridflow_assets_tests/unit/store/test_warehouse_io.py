"""The warehouse's Polars write and read paths store and return exactly what the Arrow
paths do: ``write_frame`` (row group by row group) writes the file ``write_table`` writes,
byte for byte, and ``read_pl`` (Polars' reader) returns the frame ``read_arrow`` gives.
A partition written in meter buckets (whole buckets, or rows of every bucket interleaved)
reads back one bucket at a time."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from gridflow_assets.generate.ny import generate_utility2
from gridflow_assets.silver.adapters import get_utility, storage_spec
from gridflow_assets.silver.pipeline import meter_bucket, standardize
from gridflow_assets.store import warehouse as wh
from gridflow_assets.store import writers
from gridflow_assets.store.landing import find_drop, read_source

MONTH = "2025-03"


@pytest.fixture(scope="module")
def bronze(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    generate_utility2(landing, [MONTH], meters=12, faults="heavy")
    drop = find_drop(landing, "UTILITY2", MONTH)
    return {name: read_source(drop, src) for name, src in get_utility("UTILITY2").sources.items()}


@pytest.fixture(scope="module")
def silver(bronze):
    out = standardize(get_utility("UTILITY2"), MONTH, bronze, None)
    return {"silver/rejects": out.rejects} | {f"silver/{k}": v for k, v in out.tables.items()}


def test_frame_writes_equal_table_writes(tmp_path, monkeypatch, silver):
    monkeypatch.setattr(writers, "ROW_GROUP", 1_000)  # several row groups per table
    store = wh.Warehouse(tmp_path)
    for key, df in silver.items():
        store.write_table(key, df, "UTILITY2", "2025-01")
        store.frame_writer(key, df, "UTILITY2", "2025-02")
        [by_table] = store.files(key, "UTILITY2", "2025-01")
        [by_frame] = store.files(key, "UTILITY2", "2025-02")
        assert Path(by_frame).read_bytes() == Path(by_table).read_bytes(), key
        assert pq.ParquetFile(by_frame).metadata.num_row_groups == -(-max(len(df), 1) // 1_000)


def test_polars_reads_what_arrow_reads(tmp_path, silver):
    store = wh.Warehouse(tmp_path)
    for key, df in silver.items():
        store.frame_writer(key, df, "UTILITY2", MONTH)
        via_arrow = pl.from_arrow(store.read_arrow(key, "UTILITY2", MONTH))
        assert_frame_equal(store.read_pl(key, "UTILITY2", MONTH), via_arrow)
        cols = via_arrow.columns[:3]
        assert_frame_equal(store.read_pl(key, "UTILITY2", MONTH, columns=cols), via_arrow[cols])


def test_a_null_in_a_not_null_column_is_stored_for_the_check(tmp_path, silver):
    df = silver["silver/intervals"].with_columns(meter_id=pl.lit(None, pl.String))
    store = wh.Warehouse(tmp_path)
    store.frame_writer("silver/intervals", df, "UTILITY2", MONTH)
    [path] = store.files("silver/intervals", "UTILITY2", MONTH)
    field = pq.read_schema(path).field("meter_id")
    assert field.nullable and pq.read_table(path)["meter_id"].null_count == len(df)


def _bucketed(df: pl.DataFrame, buckets: int) -> list[pl.DataFrame]:
    """``df`` cut into ``buckets`` frames by meter (one empty when a bucket has no meter)."""
    ids = sorted(df["meter_id"].unique().to_list())
    return [df.filter(pl.col("meter_id").is_in(ids[b::buckets])) for b in range(buckets)]


@pytest.mark.parametrize("row_group", [1_000, writers.ROW_GROUP])
def test_buckets_are_read_back_one_by_one(tmp_path, monkeypatch, silver, row_group):
    monkeypatch.setattr(writers, "ROW_GROUP", row_group)
    df = silver["silver/intervals"]
    parts = [*_bucketed(df, 3), df.clear()]  # the last bucket holds no meter
    store = wh.Warehouse(tmp_path)
    _, rows = store.write_buckets("silver/intervals", iter(parts), "UTILITY2", MONTH)
    assert (
        rows == [len(p) for p in parts] == store.bucket_rows("silver/intervals", "UTILITY2", MONTH)
    )
    back = list(store.iter_buckets("silver/intervals", "UTILITY2", MONTH))
    for part, got in zip(parts, back, strict=True):
        assert_frame_equal(got, part)
    cols = ["meter_id", "value"]
    narrow = list(store.iter_buckets("silver/intervals", "UTILITY2", MONTH, columns=cols))
    assert [len(p) for p in narrow] == rows and narrow[1].columns == cols
    # the partition reads as one table, as a partition written whole
    assert_frame_equal(store.read_pl("silver/intervals", "UTILITY2", MONTH), pl.concat(parts))
    # no row group spans two buckets
    assert all(len(buckets) == 1 for buckets in _row_group_buckets(store, rows))


def _row_group_buckets(store: wh.Warehouse, rows: list[int]) -> list[set]:
    """For each row group of the partition's files, the buckets its rows belong to."""
    bounds = [sum(rows[: i + 1]) for i in range(len(rows))]
    start, found = 0, []
    for path in store.files("silver/intervals", "UTILITY2", MONTH):
        meta = pq.ParquetFile(path).metadata
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            first = next(i for i, b in enumerate(bounds) if start < b)
            last = next(i for i, b in enumerate(bounds) if start + n <= b)
            found.append({first, last})
            start += n
    return found


def test_a_partition_written_whole_is_one_bucket(tmp_path, silver):
    df = silver["silver/intervals"]
    store = wh.Warehouse(tmp_path)
    assert store.bucket_rows("silver/intervals", "UTILITY2", MONTH) is None
    assert list(store.iter_buckets("silver/intervals", "UTILITY2", MONTH)) == []
    store.frame_writer("silver/intervals", df, "UTILITY2", MONTH)
    assert store.bucket_rows("silver/intervals", "UTILITY2", MONTH) == [len(df)]
    [whole] = store.iter_buckets("silver/intervals", "UTILITY2", MONTH)
    assert_frame_equal(whole, df)


READINGS = "bronze/readings"


def _write_interleaved(store: wh.Warehouse, df: pl.DataFrame, buckets: int) -> writers.BucketWriter:
    """``df`` appended block by block (every block holding rows of every bucket) to a
    bucket writer of ``buckets`` meter buckets, closed, not published."""
    spec = storage_spec(READINGS, "UTILITY2")
    writer = store.open_buckets(READINGS, "UTILITY2", MONTH, buckets, spec)
    for block in df.iter_slices(97):
        writer.append(block, meter_bucket("meter_id", buckets))
    writer.close()
    return writer


def test_interleaved_buckets_hold_each_meter_whole_in_delivered_order(
    tmp_path, monkeypatch, bronze
):
    monkeypatch.setattr(writers, "ROW_GROUP", 150)  # buckets written in several row groups
    monkeypatch.setattr(writers, "BUFFER_ROWS", 400)  # and all of them flushed now and then
    df = bronze["readings"]
    store = wh.Warehouse(tmp_path)
    writer = _write_interleaved(store, df, 4)
    assert not store.exists(READINGS, "UTILITY2", MONTH)  # closed is not published
    written = list(writer.written())
    writer.publish()
    back = list(store.iter_buckets(READINGS, "UTILITY2", MONTH))
    assert len(back) == 4 and sum(map(len, back)) == len(df) > 400
    bucket = df.with_columns(_b=meter_bucket("meter_id", 4))
    for b, (got, read) in enumerate(zip(back, written, strict=True)):
        expected = bucket.filter(pl.col("_b") == b).drop("_b")
        assert_frame_equal(got, expected)  # every row of its meters, in delivered order
        assert_frame_equal(read, expected)
    assert store.bucket_rows(READINGS, "UTILITY2", MONTH) == [len(p) for p in back]
    files = store.files(READINGS, "UTILITY2", MONTH)
    assert len(files) == 4  # one file per bucket, one schema for all
    assert len({pq.read_schema(f) for f in files}) == 1
    assert max(pq.ParquetFile(f).metadata.num_row_groups for f in files) > 1
    whole = store.read_pl(READINGS, "UTILITY2", MONTH)
    assert_frame_equal(whole.sort("_source_row"), df)


def test_a_bucket_without_rows_and_a_discarded_writer(tmp_path, bronze):
    df = bronze["readings"]
    meters = df["meter_id"].unique()
    one = df.filter(pl.col("meter_id") == meters[0])
    store = wh.Warehouse(tmp_path)
    writer = _write_interleaved(store, one, 3)
    writer.publish()
    rows = store.bucket_rows(READINGS, "UTILITY2", MONTH)
    assert sorted(rows) == [0, 0, len(one)]
    back = list(store.iter_buckets(READINGS, "UTILITY2", MONTH))
    assert [len(b) for b in back] == rows and all(b.columns == df.columns for b in back)
    # a writer discarded (the drop failed) leaves the published version as it was
    second = _write_interleaved(store, df, 3)
    second.discard()
    assert store.bucket_rows(READINGS, "UTILITY2", MONTH) == rows
    part = Path(store.partition_dir(READINGS, "UTILITY2", MONTH))
    assert sorted(p.name for p in part.iterdir()) == sorted(
        f.rsplit("/", 1)[-1] for f in store.files(READINGS, "UTILITY2", MONTH)
    )


def test_a_bucket_writer_refuses_a_null_lineage(tmp_path, bronze):
    df = bronze["readings"].with_columns(_source_row=pl.lit(None, pl.Int64))
    with pytest.raises(ValueError, match="nulls in not-null columns"):
        _write_interleaved(wh.Warehouse(tmp_path), df, 2)
