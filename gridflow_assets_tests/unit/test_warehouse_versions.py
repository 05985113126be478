"""Partitions as versions behind a pointer, on a local disk: readers see the old version or
the new one, never half; a failed writer leaves nothing; superseded versions go after the
grace period; the streaming writer's row groups and schema."""

import re
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from gridflow_assets.registry import table
from gridflow_assets.registry.derive import to_arrow
from gridflow_assets.settings import default_path
from gridflow_assets.storage import Location, StorageError, open_location
from gridflow_assets.versions import POINTER, Manifest, current, sweep
from gridflow_assets.warehouse import Warehouse

KEY, U, M = "bronze/readings", "UTILITY1", "2025-03"


def _frame(rows: int, error: str | None = None, first: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "_source_file": ["f.csv"] * rows,
            "_source_row": list(range(first, first + rows)),
            "_parse_error": [error] * rows,
        },
        schema={"_source_file": pl.String, "_source_row": pl.Int64, "_parse_error": pl.String},
    )


def _versions(store: Warehouse) -> list[str]:
    part = Path(store.partition_dir(KEY, U, M))
    return sorted(p.name for p in part.glob("v=*"))


def test_a_rewrite_publishes_a_new_version_and_keeps_the_old_one_for_the_grace_period(tmp_path):
    store = Warehouse(tmp_path, grace_s=3600)
    store.write(KEY, _frame(3), U, M)
    [first] = _versions(store)
    store.write(KEY, _frame(5), U, M)
    assert store.row_count(KEY, U, M) == 5 == len(store.read_pl(KEY, U, M))
    assert len(_versions(store)) == 2
    manifest = current(store.loc, store.partition_dir(KEY, U, M))
    assert [v for v, _ in manifest.superseded] == [first.removeprefix("v=")]
    assert f"v={manifest.version}" in store.files(KEY, U, M)[0]
    # Past the grace period the superseded version goes; the current one stays.
    assert Warehouse(tmp_path, grace_s=0).vacuum() == [f"{store.partition_dir(KEY, U, M)}/{first}"]
    assert _versions(store) == [f"v={manifest.version}"]
    assert store.row_count(KEY, U, M) == 5


def test_publishing_past_the_grace_period_deletes_what_it_superseded(tmp_path):
    store = Warehouse(tmp_path, grace_s=0)
    for rows in (1, 2, 3):
        store.write(KEY, _frame(rows), U, M)
        assert len(_versions(store)) == 1 and store.row_count(KEY, U, M) == rows


def test_an_exception_inside_the_writer_leaves_the_old_version_and_nothing_else(tmp_path):
    store = Warehouse(tmp_path)
    store.write(KEY, _frame(3), U, M)
    before = _versions(store)
    with pytest.raises(RuntimeError, match="boom"), store.partition_writer(KEY, U, M) as w:
        w.write(_frame(10))
        w.write(_frame(10, first=10))
        raise RuntimeError("boom")
    assert _versions(store) == before
    assert store.read_pl(KEY, U, M)["_source_row"].to_list() == [0, 1, 2]
    with pytest.raises(RuntimeError), store.partition_writer(KEY, "UTILITY2", M) as w:
        w.write(_frame(1))
        raise RuntimeError("first write of a partition fails")
    assert not store.exists(KEY, "UTILITY2", M) and store.partitions(KEY) == [(U, M)]


def test_a_version_no_pointer_names_is_never_read_and_goes_after_the_grace_period(tmp_path):
    """What a writer killed before publishing leaves behind (its files, no pointer)."""
    store = Warehouse(tmp_path, grace_s=3600)
    store.write(KEY, _frame(2), U, M)
    orphan = Path(store.partition_dir(KEY, U, M)) / "v=0123456789abcdef0123456789abcdef"
    orphan.mkdir()
    pq.write_table(to_arrow(_frame(7), table(KEY)), orphan / "part-0.parquet")
    assert store.row_count(KEY, U, M) == 2 == len(store.read(KEY, U, M))
    assert sweep(store.loc, store.partition_dir(KEY, U, M), grace_s=3600) == []  # may be live
    assert orphan.exists()
    gone = sweep(store.loc, store.partition_dir(KEY, U, M), grace_s=0)
    assert gone == ["0123456789abcdef0123456789abcdef"] and not orphan.exists()
    assert store.row_count(KEY, U, M) == 2


def test_streaming_writer_one_row_group_per_write(tmp_path):
    store = Warehouse(tmp_path)
    with store.partition_writer(KEY, U, M) as w:
        written = [w.write(_frame(n, first=10 * i)) for i, n in enumerate((4, 1, 6))]
        assert w.rows == 11 and w.path is None
    assert [t.num_rows for t in written] == [4, 1, 6]
    [path] = store.files(KEY, U, M)
    assert path.startswith(w.path) and Path(path).exists()
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    assert store.row_count(KEY, U, M) == 11
    assert store.scan(KEY, U, M).select(pl.len()).collect().item() == 11


def test_no_write_publishes_an_empty_table_with_the_registry_schema(tmp_path):
    store = Warehouse(tmp_path)
    with store.partition_writer(KEY, U, M) as w:
        pass
    assert w.rows == 0 and store.exists(KEY, U, M)
    arrow = store.read_arrow(KEY, U, M)
    assert arrow.num_rows == 0
    assert arrow.schema.equals(to_arrow(_frame(0), table(KEY)).schema)


def test_a_later_chunk_with_nulls_in_a_not_null_field_still_writes(tmp_path):
    """``_source_file`` is declared not null: the first chunk stores it so; a later chunk
    with a null there goes into a second file of the version, with the field nullable."""
    store = Warehouse(tmp_path)
    bad = _frame(2, first=5).with_columns(pl.lit(None, pl.String).alias("_source_file"))
    with store.partition_writer(KEY, U, M) as w:
        w.write(_frame(3))
        w.write(bad)
        w.write(_frame(1, first=9))
    files = store.files(KEY, U, M)
    assert [Path(f).name for f in files] == ["part-0.parquet", "part-1.parquet"]
    assert not pq.read_schema(files[0]).field("_source_file").nullable
    assert pq.read_schema(files[1]).field("_source_file").nullable
    df = store.read_pl(KEY, U, M)
    assert df["_source_row"].to_list() == [0, 1, 2, 5, 6, 9]
    assert df["_source_file"].null_count() == 2 == df.height - 4
    assert store.row_count(KEY, U, M) == 6
    assert store.scan(KEY, U, M).collect().height == 6


def test_write_table_returns_where_it_published_and_what_it_stored(tmp_path):
    store = Warehouse(tmp_path)
    path, arrow = store.write_table(KEY, _frame(3), U, M)
    assert arrow.num_rows == 3
    assert Path(path).parent == Path(store.partition_dir(KEY, U, M))
    assert Path(path).name.startswith("v=") and (Path(path) / "part-0.parquet").exists()
    assert not list(tmp_path.rglob("*.tmp"))
    pointer = Path(store.partition_dir(KEY, U, M)) / POINTER
    manifest = Manifest.from_json(pointer.read_bytes(), str(pointer))
    assert manifest.rows == 3 and manifest.files == (("part-0.parquet", 3),)


def test_unreadable_pointer_is_an_error_naming_it(tmp_path):
    store = Warehouse(tmp_path)
    store.write(KEY, _frame(1), U, M)
    (Path(store.partition_dir(KEY, U, M)) / POINTER).write_text("{not json")
    with pytest.raises(StorageError, match=r"month=2025-03/_current\.json: not a readable"):
        store.read(KEY, U, M)


def test_partition_names_from_outside_are_validated(tmp_path):
    store = Warehouse(tmp_path)
    with pytest.raises(ValueError, match="not a partition"):
        store.write(KEY, _frame(1), "../X", M)
    with pytest.raises(ValueError, match="not a partition"):
        store.exists(KEY, U, "2025-3")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/wh", "unsupported scheme 'ftp'"),
        ("memory://wh", "unsupported scheme 'memory'"),
        ("s3:/bucket/wh", "not a URL of the form"),
        ("s3://Bad_Bucket/wh", "'Bad_Bucket' is not a bucket name"),
        ("s3://ab/wh", "'ab' is not a bucket name"),
        ("s3://bucket/../etc", "prefix part '..' is not allowed"),
        ("s3://bucket/a//b", "prefix part '' is not allowed"),
        ("s3://bucket/wh?endpoint_override=evil", "prefix part 'wh?endpoint_override=evil'"),
        ("s3://key:secret@bucket/wh", "is not a bucket name"),
    ],
)
def test_unusable_urls_are_one_line_errors(url, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match=re.escape(message)) as err:
        Warehouse(url)
    assert "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())  # never a local folder named after the URL


def test_a_url_from_the_environment_is_kept_as_a_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRIDFLOW_WAREHOUSE", "s3://bucket/wh")
    assert default_path("warehouse") == "s3://bucket/wh"
    monkeypatch.setenv("GRIDFLOW_WAREHOUSE", "wh")
    assert default_path("warehouse") == str(tmp_path / "wh")
    assert open_location(f"file://{tmp_path}/wh").url == str(tmp_path / "wh")


def test_grace_period_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDFLOW_VERSION_GRACE_S", "120")
    assert Warehouse(tmp_path).grace_s == 120
    monkeypatch.setenv("GRIDFLOW_VERSION_GRACE_S", "soon")
    with pytest.raises(StorageError, match="GRIDFLOW_VERSION_GRACE_S='soon'"):
        Warehouse(tmp_path)


def test_a_failed_pointer_put_removes_the_version_unless_it_landed(tmp_path, monkeypatch):
    store = Warehouse(tmp_path)
    store.write(KEY, _frame(2), U, M)
    [old] = _versions(store)
    real_put = Location.put

    def refused(self, path, data):
        raise OSError("connection reset")

    monkeypatch.setattr(Location, "put", refused)
    with pytest.raises(OSError, match="connection reset"):
        store.write(KEY, _frame(9), U, M)
    assert _versions(store) == [old] and store.row_count(KEY, U, M) == 2

    def landed_then_failed(self, path, data):  # the store committed, the answer was lost
        real_put(self, path, data)
        raise OSError("timeout reading the response")

    monkeypatch.setattr(Location, "put", landed_then_failed)
    with pytest.raises(OSError, match="timeout"):
        store.write(KEY, _frame(9), U, M)
    assert len(_versions(store)) == 2 and store.row_count(KEY, U, M) == 9
    assert len(store.read_pl(KEY, U, M)) == 9  # the version the pointer names is still there
