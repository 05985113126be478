"""The warehouse in object storage, against a real S3 API (moto's server on 127.0.0.1):
the pipeline runs into it and the DQ snapshot reads it back with the accounting reconciling;
a writer killed or failing mid-partition, a re-delivered month and concurrent writers leave
nothing lost and nothing half-visible; superseded versions go after the grace period; a
warehouse URL that cannot be used is exit 2 with one line saying why."""

import json
import signal
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from gridflow_assets import warehouse
from gridflow_assets.cli import main
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.storage import StorageError
from gridflow_assets.versions import sweep
from gridflow_assets.warehouse import Warehouse
from gridflow_assets_tests.s3server import S3Server, free_port

KEY, MONTH = "bronze/readings", "2025-06"


def _frame(rows: int, mark: str) -> pl.DataFrame:
    """``rows`` rows all carrying ``mark``: a read that mixed two versions would show two."""
    return pl.DataFrame(
        {"_source_file": [mark] * rows, "_source_row": list(range(rows)), "_parse_error": None},
        schema={"_source_file": pl.String, "_source_row": pl.Int64, "_parse_error": pl.String},
    )


def _versions(s3, bucket: str, utility: str = "IESCO") -> set[str]:
    prefix = f"wh/bronze/readings/utility={utility}/month={MONTH}/"
    return {k[len(prefix) :].split("/")[0] for k in s3.keys(bucket, prefix) if "/v=" in k}


@pytest.fixture
def cli_env(s3, tmp_path, monkeypatch):
    for name in ("landing", "reports", "home"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GRIDFLOW_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("GRIDFLOW_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("GRIDFLOW_PII_SECRET", "object-store-test-key")
    return tmp_path


def test_run_and_dq_against_s3_reconcile(s3, cli_env, capsys):
    bucket = s3.bucket()
    url = f"s3://{bucket}/wh"
    generate_iesco(cli_env / "landing", [MONTH], meters=20, seed=3)
    assert main(["run", "--workers", "1", "--warehouse", url]) == 0
    assert "✓" in capsys.readouterr().out
    assert main(["dq", "--warehouse", url, "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    assert snap["partitions"] == [{"utility": "IESCO", "month": MONTH}]
    rows = [a for a in snap["accounting"] if a["utility"] == "IESCO"]
    assert {a["table"] for a in rows} >= {"silver/intervals", "silver/bills", "silver/meters"}
    for row in rows:
        assert (
            row["landed"]
            == (
                row["kept"]
                + row["duplicates_exact"]
                + row["duplicates_conflicting"]
                + row["rejected"]
            )
            > 0
        )
    # Everything is in the bucket, nothing in a local folder named after the URL.
    keys = s3.keys(bucket)
    assert f"wh/silver/intervals/utility=IESCO/month={MONTH}/_current.json" in keys
    assert "wh/gold/dim_date/_current.json" in keys and "wh/dq/check_results/_current.json" in keys
    assert not (cli_env / "s3:").exists() and not list(cli_env.rglob("*.parquet"))
    # The read path outside gridflow: the current files, as one pyarrow dataset for DuckDB.
    store = Warehouse(url)
    intervals = store.dataset("silver/intervals")  # noqa: F841 (DuckDB finds it by name)
    [(n,)] = duckdb.sql("select count(*) from intervals where utility = 'IESCO'").fetchall()
    assert n == store.row_count("silver/intervals", "IESCO", MONTH) > 0
    assert all(f.startswith(f"{url}/silver/intervals/") for f in store.files("silver/intervals"))


WRITER = textwrap.dedent("""
    import sys, time, polars as pl
    import gridflow_assets.warehouse as wh

    def stop_before_publishing(*args, **kwargs):
        print("version written", flush=True)
        time.sleep(600)

    if sys.argv[2] == "before-pointer":
        wh.publish = stop_before_publishing
    store = wh.Warehouse(sys.argv[1])
    with store.partition_writer("bronze/readings", "IESCO", "2025-06") as w:
        for n in range(3 if sys.argv[2] == "before-pointer" else 100_000):
            w.write(pl.DataFrame({"_source_file": ["new"] * 1000, "_source_row": range(1000),
                                  "_parse_error": [None] * 1000},
                                 schema={"_source_file": pl.String, "_source_row": pl.Int64,
                                         "_parse_error": pl.String}))
            print("chunk", flush=True)
""")


@pytest.mark.parametrize("moment", ["mid-file", "before-pointer"])
def test_a_writer_killed_mid_partition_leaves_the_old_version_visible(s3, moment):
    """SIGKILL while the version's file is being uploaded, or after the version is complete
    but before its pointer: the old partition stays visible and whole."""
    bucket = s3.bucket()
    url = f"s3://{bucket}/wh"
    store = Warehouse(url)
    store.write(KEY, _frame(7, "old"), "IESCO", MONTH)
    old = _versions(s3, bucket)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, moment], stdout=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        if moment == "before-pointer":
            # The chunks finished and the file was closed: the version is complete.
            while line.startswith("chunk"):
                line = proc.stdout.readline()
            assert line == "" or line.startswith("version written")
        else:
            assert line.startswith("chunk")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    df = store.read_pl(KEY, "IESCO", MONTH)
    assert df["_source_file"].unique().to_list() == ["old"] and df.height == 7
    assert store.row_count(KEY, "IESCO", MONTH) == 7
    left = _versions(s3, bucket) - old
    if moment == "before-pointer":  # a complete version no pointer names: never read
        [orphan] = left
        path = f"{store.partition_dir(KEY, 'IESCO', MONTH)}/{orphan}/part-0.parquet"
        with store.loc.fs.open_input_file(path) as fh:
            assert pq.ParquetFile(fh).metadata.num_rows == 3000
    else:  # an upload never completed: no object at all
        assert left == set()
    # The orphan is swept once it is older than the grace period, never the current one.
    sweep(store.loc, store.partition_dir(KEY, "IESCO", MONTH), grace_s=0)
    assert _versions(s3, bucket) == old and store.row_count(KEY, "IESCO", MONTH) == 7


def test_a_failing_writer_leaves_nothing_in_the_bucket(s3):
    bucket = s3.bucket()
    store = Warehouse(f"s3://{bucket}/wh")
    store.write(KEY, _frame(3, "old"), "IESCO", MONTH)
    before = s3.keys(bucket)
    with (
        pytest.raises(ValueError, match="checks failed"),
        store.partition_writer(KEY, "IESCO", MONTH) as w,
    ):
        w.write(_frame(500, "new"))
        w.write(_frame(500, "new"))
        raise ValueError("checks failed")
    assert s3.keys(bucket) == before
    assert store.read_pl(KEY, "IESCO", MONTH)["_source_file"].to_list() == ["old"] * 3


def test_a_redelivered_month_replaces_the_partition_atomically(s3):
    """A reader polling the partition while it is rewritten, again and again, sees one
    whole version each time: all rows of one delivery, never a mix or a part."""
    store = Warehouse(f"s3://{s3.bucket()}/wh")
    sizes = {f"delivery-{i}": 200 + 50 * i for i in range(6)}
    store.write(KEY, _frame(sizes["delivery-0"], "delivery-0"), "IESCO", MONTH)
    seen, done = [], threading.Event()

    def reader():
        while not done.is_set() and len(seen) < 500:
            df = Warehouse(store.location).read_pl(KEY, "IESCO", MONTH)
            seen.append((tuple(df["_source_file"].unique().to_list()), df.height))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for mark, rows in list(sizes.items())[1:]:
            with store.partition_writer(KEY, "IESCO", MONTH) as w:
                for start in range(0, rows, 100):
                    w.write(_frame(min(100, rows - start), mark))
    finally:
        done.set()
        thread.join()
    assert seen
    for marks, height in seen:
        assert len(marks) == 1 and height == sizes[marks[0]], (marks, height)
    assert store.read_pl(KEY, "IESCO", MONTH)["_source_file"].unique().to_list() == [mark]
    assert store.partitions(KEY) == [("IESCO", MONTH)]


def test_concurrent_writers_of_different_partitions_all_land(s3):
    store = Warehouse(f"s3://{s3.bucket()}/wh")
    parts = [(u, m) for u in ("IESCO", "UTILITY1") for m in ("2025-05", "2025-06")]

    def write(i: int) -> None:
        utility, month = parts[i]
        with Warehouse(store.location).partition_writer(KEY, utility, month) as w:
            for _ in range(5):
                w.write(_frame(100 + i, f"{utility}/{month}"))

    with ThreadPoolExecutor(len(parts)) as pool:
        list(pool.map(write, range(len(parts))))
    assert store.partitions(KEY) == sorted(parts)
    for i, (utility, month) in enumerate(parts):
        df = store.read_pl(KEY, utility, month)
        assert df.height == 5 * (100 + i) == store.row_count(KEY, utility, month)
        assert df["_source_file"].unique().to_list() == [f"{utility}/{month}"]


def test_superseded_versions_are_deleted_after_the_grace_period(s3):
    bucket = s3.bucket()
    store = Warehouse(f"s3://{bucket}/wh", grace_s=3600)
    for mark in ("first", "second", "third"):
        store.write(KEY, _frame(4, mark), "IESCO", MONTH)
    assert len(_versions(s3, bucket)) == 3  # inside the grace period: all kept
    [current] = [f for f in store.files(KEY, "IESCO", MONTH)]
    deleted = Warehouse(store.location, grace_s=0).vacuum()
    assert len(deleted) == 2 and all("/v=" in d for d in deleted)
    assert _versions(s3, bucket) == {current.split("/")[-2]}
    assert store.read_pl(KEY, "IESCO", MONTH)["_source_file"].to_list() == ["third"] * 4
    # Publishing after the grace period cleans up by itself.
    quick = Warehouse(store.location, grace_s=0)
    quick.write(KEY, _frame(2, "fourth"), "IESCO", MONTH)
    assert len(_versions(s3, bucket)) == 1 and quick.row_count(KEY, "IESCO", MONTH) == 2


def test_unusable_warehouse_urls_exit_2_with_one_line(s3, cli_env, capsys, monkeypatch):
    bucket = s3.bucket()
    cases = [
        (["dq", "--warehouse", "s3://no-such-bucket-here/wh"], "bucket 'no-such-bucket-here'"),
        (["dq", "--warehouse", "ftp://host/wh"], "unsupported scheme 'ftp'"),
        (["run", "--warehouse", "s3://bucket/../wh"], "prefix part '..' is not allowed"),
        (["dq", "--warehouse", "s3:/single-slash/wh"], "not a URL of the form"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.startswith(f"gridflow {argv[0]}: ") and err.count("\n") == 1
    monkeypatch.delenv("GRIDFLOW_PII_SECRET")
    assert main(["run", "--warehouse", f"s3://{bucket}/wh"]) == 2
    assert "needs GRIDFLOW_PII_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("GRIDFLOW_WAREHOUSE", "gs://")  # from the environment, as --warehouse
    assert main(["dq"]) == 2
    assert "warehouse 'gs:': not a URL of the form" in capsys.readouterr().err
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing there
    assert main(["dq", "--warehouse", f"s3://{bucket}-elsewhere/wh"]) == 2
    assert "cannot reach the object store at http://127.0.0.1:" in capsys.readouterr().err
    assert s3.keys(bucket) == [] and not [p for p in Path().iterdir() if ":" in p.name]


def test_credentials_the_store_refuses_exit_2(cli_env, capsys, monkeypatch):
    server = S3Server.start(authenticate=True)
    try:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        assert main(["dq", "--warehouse", "s3://any-bucket/wh"]) == 2
    finally:
        server.stop()
    err = capsys.readouterr().err
    assert (
        "gridflow dq: warehouse s3://any-bucket/wh: the object store refused the credentials" in err
    )


def test_storage_errors_name_the_location(s3):
    with pytest.raises(StorageError, match=r"^warehouse s3://absent-bucket/wh: bucket"):
        Warehouse("s3://absent-bucket/wh").check()


def test_buckets_read_back_from_object_storage(s3, monkeypatch):
    """Each bucket of a bucketed partition comes back alone, from the row groups that hold
    it (the reader does not scan the whole object), across row-group boundaries."""
    monkeypatch.setattr(warehouse, "ROW_GROUP", 4)
    store = Warehouse(f"s3://{s3.bucket()}/wh")
    parts = [_frame(10, "a"), _frame(0, "b"), _frame(3, "c"), _frame(7, "d")]
    _, rows = store.write_buckets(KEY, iter(parts), "IESCO", MONTH)
    assert rows == [10, 0, 3, 7] == store.bucket_rows(KEY, "IESCO", MONTH)
    back = list(store.iter_buckets(KEY, "IESCO", MONTH, columns=["_source_file", "_source_row"]))
    for part, got in zip(parts, back, strict=True):
        assert got.to_dict(as_series=False) == part.drop("_parse_error").to_dict(as_series=False)


def test_interleaved_buckets_written_to_object_storage(s3, monkeypatch):
    """A bucket writer fed rows of every bucket at once writes one object per bucket, reads
    them back before publishing, publishes them as one version, and a writer discarded
    leaves the bucket as it was."""
    monkeypatch.setattr(warehouse, "ROW_GROUP", 4)
    monkeypatch.setattr(warehouse, "BUFFER_ROWS", 6)
    bucket = s3.bucket()
    store = Warehouse(f"s3://{bucket}/wh")
    frame = _frame(25, "a")
    by = pl.col("_source_row") % 3
    writer = store.open_buckets(KEY, "IESCO", MONTH, 3)
    for block in frame.iter_slices(5):
        writer.append(block, by)
    writer.close()
    expected = [frame.filter(by == b) for b in range(3)]
    for part, got in zip(expected, writer.written(), strict=True):
        assert got.to_dict(as_series=False) == part.to_dict(as_series=False)
    writer.publish()
    assert store.bucket_rows(KEY, "IESCO", MONTH) == [9, 8, 8]
    assert [Path(f).name for f in store.files(KEY, "IESCO", MONTH)] == [
        f"part-{b}.parquet" for b in range(3)
    ]
    for part, got in zip(expected, store.iter_buckets(KEY, "IESCO", MONTH), strict=True):
        assert got.to_dict(as_series=False) == part.to_dict(as_series=False)
    before = s3.keys(bucket)
    second = store.open_buckets(KEY, "IESCO", MONTH, 3)
    for block in _frame(25, "b").iter_slices(5):
        second.append(block, by)
    second.discard()
    assert s3.keys(bucket) == before
