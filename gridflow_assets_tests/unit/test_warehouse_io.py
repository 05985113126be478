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
