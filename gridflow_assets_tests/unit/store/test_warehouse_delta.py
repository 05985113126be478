"""Every table a Delta table, on a local disk: a partition is replaced by one commit that
readers see whole or not at all; a failed writer leaves nothing; the same bytes are not
committed again; history, time travel and retention; the streaming writer's row groups and
schema; concurrent writers."""

import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from gridflow_assets.registry import table
from gridflow_assets.registry.derive import SchemaMismatch, to_arrow
from gridflow_assets.store import delta
from gridflow_assets.store.settings import default_path
from gridflow_assets.store.storage import StorageError, open_location
from gridflow_assets.store.warehouse import Warehouse

KEY, U, M = "bronze/readings", "UTILITY1", "2025-03"


def _frame(rows: int, error: str | None = None, first: int = 0, mark: str = "f.csv"):
    return pl.DataFrame(
        {
            "_source_file": [mark] * rows,
            "_source_row": list(range(first, first + rows)),
            "_parse_error": [error] * rows,
        },
        schema={"_source_file": pl.String, "_source_row": pl.Int64, "_parse_error": pl.String},
    )


def _parquet(store: Warehouse, key: str = KEY) -> list[str]:
    """Every data file under the table's folder, committed or not."""
    return sorted(str(p) for p in Path(store.table_dir(key)).rglob("*.parquet"))


def test_a_rewrite_replaces_the_partition_in_one_commit_and_history_keeps_the_old(tmp_path):
    store = Warehouse(tmp_path)
    store.commit_info.update(run_id="run-1", drop_fingerprint="fp-1")
    store.write(KEY, _frame(3), U, M)
    store.write(KEY, _frame(2), "UTILITY2", M)
    between = datetime.now(UTC)
    time.sleep(0.02)
    store.commit_info.update(run_id="run-2")
    store.write(KEY, _frame(5, mark="second"), U, M)
    assert store.row_count(KEY, U, M) == 5 == len(store.read_pl(KEY, U, M))
    assert store.row_count(KEY, "UTILITY2", M) == 2  # the other partition untouched
    uri = store.table_uri(KEY)
    assert pl.scan_delta(uri).select(pl.len()).collect().item() == 7
    # the version before the rewrite, by number and by time
    assert len(DeltaTable(uri, version=2).to_pandas()) == 5
    old = Warehouse(tmp_path, as_of=between)
    assert old.row_count(KEY, U, M) == 3
    assert old.read_pl(KEY, U, M)["_source_file"].to_list() == ["f.csv"] * 3
    with pytest.raises(StorageError, match="read-only"):
        old.write(KEY, _frame(1), U, M)
    commits = [c for c in store.history(KEY, U, M)]
    assert [c["run_id"] for c in commits] == ["run-2", "run-1"]
    assert [(c["rows_added"], c["rows_removed"]) for c in commits] == [(5, 3), (3, 0)]
    assert commits[0]["drop_fingerprint"] == "fp-1" and commits[0]["gridflow_version"]
    assert len(_parquet(store)) == 3  # the replaced file stays for time travel


def test_the_same_bytes_are_not_committed_again(tmp_path):
    store = Warehouse(tmp_path)
    store.write(KEY, _frame(3), U, M)
    version, files = store.version(KEY), _parquet(store)
    w = store.frame_writer(KEY, _frame(3), U, M)
    assert not w.committed and w.version == version == store.version(KEY)
    assert _parquet(store) == files  # the new files were removed, nothing committed
    assert store.frame_writer(KEY, _frame(4), U, M).committed
    assert store.version(KEY) == version + 1


def test_an_exception_inside_the_writer_leaves_the_old_partition_and_nothing_else(tmp_path):
    store = Warehouse(tmp_path)
    store.write(KEY, _frame(3), U, M)
    before, version = _parquet(store), store.version(KEY)
    with pytest.raises(RuntimeError, match="boom"), store.partition_writer(KEY, U, M) as w:
        w.write(_frame(10))
        w.end_bucket()  # a finished file is in storage already
        w.write(_frame(10, first=10))
        raise RuntimeError("boom")
    assert _parquet(store) == before and store.version(KEY) == version
    assert store.read_pl(KEY, U, M)["_source_row"].to_list() == [0, 1, 2]
    with pytest.raises(RuntimeError), store.partition_writer(KEY, "UTILITY2", M) as w:
        w.write(_frame(1))
        raise RuntimeError("first write of a partition fails")
    assert not store.exists(KEY, "UTILITY2", M) and store.partitions(KEY) == [(U, M)]


def test_a_file_no_commit_names_is_never_read_and_vacuum_removes_it(tmp_path):
    """What a writer killed before its commit leaves behind: files, no commit."""
    store = Warehouse(tmp_path)
    store.write(KEY, _frame(2), U, M)
    orphan = Path(store.partition_dir(KEY, U, M)) / "part-00000-000-stream-dead.parquet"
    pq.write_table(to_arrow(_frame(7), table(KEY)), orphan)
    assert store.row_count(KEY, U, M) == 2 == len(store.read(KEY, U, M))
    assert pl.scan_delta(store.table_uri(KEY)).collect().height == 2
    assert Warehouse(tmp_path).vacuum() == [] and orphan.exists()  # inside the retention
    store.write(KEY, _frame(4), U, M)  # the first file is now a removed one
    gone = Warehouse(tmp_path, retention=0).vacuum()
    assert len(gone) == 2 and not orphan.exists()
    assert store.row_count(KEY, U, M) == 4 == len(store.read_pl(KEY, U, M))


def test_retention_sets_the_table_properties_and_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDFLOW_RETENTION_DAYS", "7")
    store = Warehouse(tmp_path)
    store.write(KEY, _frame(1), U, M)
    config = DeltaTable(store.table_uri(KEY)).metadata().configuration
    assert config["delta.logRetentionDuration"] == "interval 168 hours"
    assert config["delta.deletedFileRetentionDuration"] == "interval 168 hours"
    monkeypatch.setenv("GRIDFLOW_RETENTION_DAYS", "soon")
    with pytest.raises(StorageError, match="GRIDFLOW_RETENTION_DAYS='soon'"):
        Warehouse(tmp_path)


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
    with a null there goes into a second file of the partition, with the field nullable."""
    store = Warehouse(tmp_path)
    bad = _frame(2, first=5).with_columns(pl.lit(None, pl.String).alias("_source_file"))
    with store.partition_writer(KEY, U, M) as w:
        w.write(_frame(3))
        w.write(bad)
        w.write(_frame(1, first=9))
    files = store.files(KEY, U, M)
    assert [Path(f).name[:14] for f in files] == ["part-00000-000", "part-00000-001"]
    assert not pq.read_schema(files[0]).field("_source_file").nullable
    assert pq.read_schema(files[1]).field("_source_file").nullable
    df = store.read_pl(KEY, U, M)
    assert df["_source_row"].to_list() == [0, 1, 2, 5, 6, 9]
    assert df["_source_file"].null_count() == 2 == df.height - 4
    assert store.row_count(KEY, U, M) == 6
    assert pl.scan_delta(store.table_uri(KEY)).collect().height == 6


def test_frames_are_checked_against_the_registry_and_categoricals_stored_as_text(tmp_path):
    store = Warehouse(tmp_path)
    with pytest.raises(SchemaMismatch, match="unexpected"):
        store.write(KEY, _frame(1).with_columns(extra=pl.lit(1)), U, M)
    assert store.version(KEY) is None  # nothing written, no table created
    store.write(KEY, _frame(2).with_columns(pl.col("_source_file").cast(pl.Categorical)), U, M)
    assert pl.scan_delta(store.table_uri(KEY)).collect()["_source_file"].dtype == pl.String


def test_write_table_returns_the_table_and_what_it_stored(tmp_path):
    store = Warehouse(tmp_path)
    uri, arrow = store.write_table(KEY, _frame(3), U, M)
    assert arrow.num_rows == 3 and uri == store.table_uri(KEY)
    assert (Path(uri) / "_delta_log").is_dir()
    [name] = [Path(f).name for f in store.files(KEY, U, M)]
    assert re.fullmatch(r"part-00000-000-[0-9a-f]{16}-[0-9a-f]{16}\.parquet", name)
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_commit_that_fails_removes_its_files_unless_it_landed(tmp_path, monkeypatch):
    store = Warehouse(tmp_path)
    store.write(KEY, _frame(2), U, M)
    before = _parquet(store)
    real = delta.DeltaLog.commit

    def refused(self, *args, **kwargs):
        raise OSError("connection reset")

    monkeypatch.setattr(delta.DeltaLog, "commit", refused)
    with pytest.raises(OSError, match="connection reset"):
        store.write(KEY, _frame(9), U, M)
    assert _parquet(store) == before and store.row_count(KEY, U, M) == 2

    def landed_then_failed(self, *args, **kwargs):  # committed, the answer was lost
        real(self, *args, **kwargs)
        raise OSError("timeout reading the response")

    monkeypatch.setattr(delta.DeltaLog, "commit", landed_then_failed)
    with pytest.raises(OSError, match="timeout"):
        store.write(KEY, _frame(9), U, M)
    assert store.row_count(KEY, U, M) == 9 == len(store.read_pl(KEY, U, M))


def test_concurrent_writers_all_land_and_one_partition_has_one_writer(tmp_path):
    """Threads of one process stand for workers: every partition of one table lands; two
    writers of one partition leave exactly one writer's rows."""
    months = [f"2025-{m:02d}" for m in range(4, 12)]  # not M: M is written by four at once

    def write(month: str, mark: str, rows: int) -> None:
        Warehouse(tmp_path).write(KEY, _frame(rows, mark=mark), U, month)

    threads = [threading.Thread(target=write, args=(m, m, 3)) for m in months]
    threads += [threading.Thread(target=write, args=(M, f"w{i}", 5 + i)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = Warehouse(tmp_path)
    assert store.partitions(KEY) == sorted({(U, m) for m in months} | {(U, M)})
    marks = store.read_pl(KEY, U, M)["_source_file"].unique().to_list()
    assert len(marks) == 1 and store.row_count(KEY, U, M) == 5 + int(marks[0][1])
    counts = pl.scan_delta(store.table_uri(KEY)).group_by("month").len().collect()
    assert counts.height == len(months) + 1


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
