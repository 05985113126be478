"""The warehouse's Polars write and read paths store and return exactly what the Arrow
paths do: ``write_frame`` (row group by row group) writes the file ``write_table`` writes,
byte for byte, and ``read_pl`` (Polars' reader) returns the frame ``read_arrow`` gives."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from gridflow_assets import warehouse as wh
from gridflow_assets.generate.ny import generate_utility2
from gridflow_assets.landing import find_drop, read_source
from gridflow_assets.utilities import get_utility
from gridflow_assets.utilities.chunked import standardize

MONTH = "2025-03"


@pytest.fixture(scope="module")
def silver(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    generate_utility2(landing, [MONTH], meters=12, faults="heavy")
    u = get_utility("UTILITY2")
    drop = find_drop(landing, "UTILITY2", MONTH)
    bronze = {name: read_source(drop, src) for name, src in u.sources.items()}
    out = standardize(u, MONTH, bronze, None)
    return {"silver/rejects": out.rejects} | {f"silver/{k}": v for k, v in out.tables.items()}


def test_frame_writes_equal_table_writes(tmp_path, monkeypatch, silver):
    monkeypatch.setattr(wh, "ROW_GROUP", 1_000)  # several row groups per table
    store = wh.Warehouse(tmp_path)
    for key, df in silver.items():
        store.write_table(key, df, "UTILITY2", "2025-01")
        store.write_frame(key, df, "UTILITY2", "2025-02")
        [by_table] = store.files(key, "UTILITY2", "2025-01")
        [by_frame] = store.files(key, "UTILITY2", "2025-02")
        assert Path(by_frame).read_bytes() == Path(by_table).read_bytes(), key
        assert pq.ParquetFile(by_frame).metadata.num_row_groups == -(-max(len(df), 1) // 1_000)


def test_polars_reads_what_arrow_reads(tmp_path, silver):
    store = wh.Warehouse(tmp_path)
    for key, df in silver.items():
        store.write_frame(key, df, "UTILITY2", MONTH)
        via_arrow = pl.from_arrow(store.read_arrow(key, "UTILITY2", MONTH))
        assert_frame_equal(store.read_pl(key, "UTILITY2", MONTH), via_arrow)
        cols = via_arrow.columns[:3]
        assert_frame_equal(store.read_pl(key, "UTILITY2", MONTH, columns=cols), via_arrow[cols])


def test_a_null_in_a_not_null_column_is_stored_for_the_check(tmp_path, silver):
    df = silver["silver/intervals"].with_columns(meter_id=pl.lit(None, pl.String))
    store = wh.Warehouse(tmp_path)
    store.write_frame("silver/intervals", df, "UTILITY2", MONTH)
    [path] = store.files("silver/intervals", "UTILITY2", MONTH)
    field = pq.read_schema(path).field("meter_id")
    assert field.nullable and pq.read_table(path)["meter_id"].null_count == len(df)


def _bucketed(df: pl.DataFrame, buckets: int) -> list[pl.DataFrame]:
    """``df`` cut into ``buckets`` frames by meter (one empty when a bucket has no meter)."""
    ids = sorted(df["meter_id"].unique().to_list())
    return [df.filter(pl.col("meter_id").is_in(ids[b::buckets])) for b in range(buckets)]


@pytest.mark.parametrize("row_group", [1_000, wh.ROW_GROUP])
def test_buckets_are_read_back_one_by_one(tmp_path, monkeypatch, silver, row_group):
    monkeypatch.setattr(wh, "ROW_GROUP", row_group)
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
    store.write_frame("silver/intervals", df, "UTILITY2", MONTH)
    assert store.bucket_rows("silver/intervals", "UTILITY2", MONTH) == [len(df)]
    [whole] = store.iter_buckets("silver/intervals", "UTILITY2", MONTH)
    assert_frame_equal(whole, df)
