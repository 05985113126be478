"""The warehouse in object storage, against a real S3 API (moto's server on 127.0.0.1): every
table a Delta table in the bucket. The pipeline runs into it and the DQ snapshot reads it back
with the accounting reconciling, and a Delta reader outside gridflow (Polars) counts the same
rows; a writer killed or failing mid-partition leaves nothing visible and nothing a reader
reads, and ``vacuum`` removes what a killed writer left; a re-delivered month replaces the
partition in one commit (readers see one delivery whole, time travel the one before);
concurrent writers of different partitions all land, and of one partition (racing, or with
a commit landing inside another's) leave one writer's rows; files a rewrite removed stay for
the retention and go with ``vacuum`` after it; a warehouse URL that cannot be used is exit 2
with one line saying why."""

import json
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from gridflow_assets.app.cli import main
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.store import delta, writers
from gridflow_assets.store.storage import StorageError
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets_tests.s3server import S3Server, free_port

KEY, MONTH = "bronze/readings", "2025-06"
PARTITION = f"wh/bronze/readings/utility=IESCO/month={MONTH}/"


def _frame(rows: int, mark: str) -> pl.DataFrame:
    """``rows`` rows all carrying ``mark``: a read that mixed two versions would show two."""
    return pl.DataFrame(
        {"_source_file": [mark] * rows, "_source_row": list(range(rows)), "_parse_error": None},
        schema={"_source_file": pl.String, "_source_row": pl.Int64, "_parse_error": pl.String},
    )


def _data_files(s3, bucket: str, prefix: str = PARTITION) -> set[str]:
    """The Parquet objects under ``prefix``, committed or not."""
    return {k for k in s3.keys(bucket, prefix) if k.endswith(".parquet")}


def _scan(store: Warehouse, key: str = KEY, **kwargs) -> pl.LazyFrame:
    """The table as a Delta reader outside gridflow sees it."""
    return pl.scan_delta(
        store.table_uri(key), storage_options=delta.storage_options(store.loc), **kwargs
    )


def _instant_before_next_commit() -> datetime:
    """An instant after every commit so far that the next commit is surely later than.

    ``as_of`` finds a version by its log object's LastModified, which S3 keeps to the
    second: a commit in the same second as the instant would count as before it. So the
    instant is taken, then the clock left to pass into the next second (not needed once
    ``as_of`` goes by the commits' own timestamps, which ``history`` shows)."""
    now = time.time()
    time.sleep(1 - now % 1 + 0.01)
    return datetime.fromtimestamp(now, UTC)


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
    # Everything is in the bucket as Delta tables, nothing in a local folder named after
    # the URL, and no pointer file of the old layout.
    keys = s3.keys(bucket)
    for table in ("silver/intervals", "gold/dim_date", "dq/check_results"):
        assert any(re.fullmatch(rf"wh/{table}/_delta_log/\d{{20}}\.json", k) for k in keys), table
    assert any(k.startswith(f"wh/silver/intervals/utility=IESCO/month={MONTH}/part-") for k in keys)
    assert not [k for k in keys if k.endswith("_current.json")]
    assert not (cli_env / "s3:").exists() and not list(cli_env.rglob("*.parquet"))
    # The read paths outside gridflow: the Delta table itself (Polars), and the current
    # files as one pyarrow dataset for DuckDB.
    store = Warehouse(url)
    n = store.row_count("silver/intervals", "IESCO", MONTH)
    assert n > 0 and store.version("silver/intervals") is not None
    scanned = _scan(store, "silver/intervals").filter(pl.col("utility") == "IESCO")
    assert scanned.select(pl.len()).collect().item() == n
    intervals = store.dataset("silver/intervals")  # noqa: F841 (DuckDB finds it by name)
    [(m,)] = duckdb.sql("select count(*) from intervals where utility = 'IESCO'").fetchall()
    assert m == n
    assert all(f.startswith(f"{url}/silver/intervals/") for f in store.files("silver/intervals"))


WRITER = textwrap.dedent("""
    import sys, time, polars as pl
    import gridflow_assets.store.warehouse as wh

    def chunk(mark, rows=2000):
        return pl.DataFrame({"_source_file": [mark] * rows, "_source_row": range(rows),
                             "_parse_error": [None] * rows},
                            schema={"_source_file": pl.String, "_source_row": pl.Int64,
                                    "_parse_error": pl.String})

    def stop_before_committing(*args, **kwargs):
        print("files written", flush=True)
        time.sleep(600)

    store = wh.Warehouse(sys.argv[1])
    if sys.argv[2] == "mid-upload":  # bronze's writer: every bucket's file streamed to S3
        import gridflow_assets.store.writers as wr

        wr.ROW_GROUP = 1000  # each chunk goes to the files as it comes
        writer = store.open_buckets("bronze/readings", "IESCO", "2025-06", 2)
        for n in range(100_000):
            writer.append(chunk("new"), pl.col("_source_row") % 2)
            print("chunk", flush=True)
    else:
        wh.Warehouse.commit = stop_before_committing
        with store.partition_writer("bronze/readings", "IESCO", "2025-06") as w:
            for n in range(3):
                w.write(chunk("new", 1000))
                print("chunk", flush=True)
""")


@pytest.mark.parametrize("moment", ["mid-upload", "before-commit"])
def test_a_writer_killed_mid_partition_leaves_the_old_version_visible(s3, moment):
    """SIGKILL while the partition's files are being uploaded, or after they are complete
    but before the commit that would publish them: the old partition stays visible and
    whole, what the writer left is never read, and ``vacuum`` past the retention removes
    it (and only it); an upload never completed is no object at all."""
    bucket = s3.bucket()
    url = f"s3://{bucket}/wh"
    store = Warehouse(url)
    store.write(KEY, _frame(7, "old"), "IESCO", MONTH)
    old = _data_files(s3, bucket)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, moment], stdout=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        if moment == "before-commit":
            # The chunks finished and the file was uploaded: only the commit is missing.
            while line.startswith("chunk"):
                line = proc.stdout.readline()
            assert line.startswith("files written")
        else:
            assert line.startswith("chunk")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert store.read_pl(KEY, "IESCO", MONTH)["_source_file"].unique().to_list() == ["old"]
    assert store.row_count(KEY, "IESCO", MONTH) == 7 == _scan(store).collect().height
    left = _data_files(s3, bucket) - old
    if moment == "mid-upload":  # the uploads were never completed: no object at all
        assert s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads")
        assert left == set()
        return
    [orphan] = left  # a complete file no commit names: never read
    with store.loc.fs.open_input_file(f"{bucket}/{orphan}") as fh:
        assert pq.ParquetFile(fh).metadata.num_rows == 3000
    # Inside the retention it stays (a writer may still be about to commit it); past it
    # it goes, never the current files.
    assert Warehouse(url).vacuum(dry_run=True) == []
    assert Warehouse(url, retention=0).vacuum() == [f"s3://{bucket}/{orphan}"]
    assert _data_files(s3, bucket) == old and store.row_count(KEY, "IESCO", MONTH) == 7
    assert Warehouse(url).read_pl(KEY, "IESCO", MONTH).height == 7


def test_a_failing_writer_leaves_nothing_in_the_bucket(s3):
    """A writer that fails leaves the bucket as it found it: no data file, and no table
    when it was the table's first write."""
    bucket = s3.bucket()
    store = Warehouse(f"s3://{bucket}/wh")
    with (
        pytest.raises(ValueError, match="checks failed"),
        store.partition_writer(KEY, "IESCO", MONTH) as w,
    ):
        w.write(_frame(500, "new"))
        w.end_bucket()  # a finished file is in the bucket already
        w.write(_frame(500, "new"))
        raise ValueError("checks failed")
    assert s3.keys(bucket) == [] and store.version(KEY) is None
    store.write(KEY, _frame(3, "old"), "IESCO", MONTH)
    before, version = s3.keys(bucket), store.version(KEY)
    with (
        pytest.raises(ValueError, match="checks failed"),
        store.partition_writer(KEY, "IESCO", MONTH) as w,
    ):
        w.write(_frame(500, "new"))
        w.end_bucket()
        w.write(_frame(500, "new"))
        raise ValueError("checks failed")
    assert s3.keys(bucket) == before and store.version(KEY) == version
    assert store.read_pl(KEY, "IESCO", MONTH)["_source_file"].to_list() == ["old"] * 3


def test_a_redelivered_month_replaces_the_partition_atomically(s3):
    """A reader polling the partition while it is rewritten, again and again, sees one
    whole delivery each time: all rows of one delivery, never a mix or a part, whether it
    reads through gridflow or as a Delta reader outside it. A warehouse read as of an
    instant before the rewrites still reads the first delivery."""
    store = Warehouse(f"s3://{s3.bucket()}/wh")
    sizes = {f"delivery-{i}": 200 + 50 * i for i in range(6)}
    store.write(KEY, _frame(sizes["delivery-0"], "delivery-0"), "IESCO", MONTH)
    before = _instant_before_next_commit()
    seen, done = [], threading.Event()

    def reader():
        while not done.is_set() and len(seen) < 500:
            if len(seen) % 2:
                df = Warehouse(store.location).read_pl(KEY, "IESCO", MONTH)
            else:
                df = _scan(store).filter(pl.col("month") == MONTH).collect()
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
    assert len(seen) >= 2
    for marks, height in seen:
        assert len(marks) == 1 and height == sizes[marks[0]], (marks, height)
    assert store.read_pl(KEY, "IESCO", MONTH)["_source_file"].unique().to_list() == [mark]
    assert store.partitions(KEY) == [("IESCO", MONTH)]
    commits = store.history(KEY, "IESCO", MONTH)
    assert [c["rows_added"] for c in commits] == list(sizes.values())[::-1]
    then = Warehouse(store.location, as_of=before)
    assert then.read_pl(KEY, "IESCO", MONTH)["_source_file"].to_list() == ["delivery-0"] * 200


def _in_threads(*calls: tuple) -> None:
    """Run each ``(function, *args)`` in a thread of its own, all at once; a failure is
    raised here."""
    with ThreadPoolExecutor(len(calls)) as pool:
        for future in [pool.submit(*call) for call in calls]:
            future.result()


def test_concurrent_writers_all_land_and_one_partition_has_one_writer(s3):
    """Writers of different partitions of a new table, each its own warehouse object as a
    worker has, all land (one of them creates the table); then writers racing to replace
    one partition leave exactly one writer's rows."""
    store = Warehouse(f"s3://{s3.bucket()}/wh")
    parts = [(u, m) for u in ("IESCO", "UTILITY1") for m in ("2025-05", "2025-06")]

    def write(utility: str, month: str, mark: str, rows: int) -> None:
        with Warehouse(store.location).partition_writer(KEY, utility, month) as w:
            for _ in range(5):
                w.write(_frame(rows, mark))

    _in_threads(*[(write, u, m, f"{u}/{m}", 100 + i) for i, (u, m) in enumerate(parts)])
    assert store.partitions(KEY) == sorted(parts)
    for i, (utility, month) in enumerate(parts):
        df = store.read_pl(KEY, utility, month)
        assert df.height == 5 * (100 + i) == store.row_count(KEY, utility, month)
        assert df["_source_file"].unique().to_list() == [f"{utility}/{month}"]
    _in_threads(*[(write, "IESCO", MONTH, f"writer-{i}", 10 + i) for i in range(2)])
    [winner] = store.read_pl(KEY, "IESCO", MONTH)["_source_file"].unique().to_list()
    assert store.row_count(KEY, "IESCO", MONTH) == 5 * (10 + int(winner[-1]))
    counts = _scan(store).group_by("utility", "month").len().collect()
    assert dict(zip(counts["utility"] + "/" + counts["month"], counts["len"], strict=True)) == {
        **{f"{u}/{m}": 5 * (100 + i) for i, (u, m) in enumerate(parts)},
        f"IESCO/{MONTH}": 5 * (10 + int(winner[-1])),
    }


@pytest.mark.parametrize("existing", [True, False], ids=["existing-partition", "first-write"])
def test_a_commit_racing_another_of_the_same_partition_leaves_one_writer(s3, monkeypatch, existing):
    """Writer A's commit lands while writer B is committing the same partition from the
    log as it read it just before: the partition holds B's rows only, whether it had rows
    before (B's commit conflicts and is retried) or this is its first write (delta-rs sees
    no conflict; B's files stay, A's go)."""
    url = f"s3://{s3.bucket()}/wh"
    Warehouse(url).write(KEY, _frame(2, "other"), "UTILITY1", MONTH)  # the table exists
    if existing:
        Warehouse(url).write(KEY, _frame(1, "old"), "IESCO", MONTH)
    real = DeltaTable.create_write_transaction

    def racing(self, *args, **kwargs):
        monkeypatch.setattr(DeltaTable, "create_write_transaction", real)
        Warehouse(url).write(KEY, _frame(3, "A"), "IESCO", MONTH)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DeltaTable, "create_write_transaction", racing)
    Warehouse(url).write(KEY, _frame(5, "B"), "IESCO", MONTH)
    store = Warehouse(url)
    assert store.read_pl(KEY, "IESCO", MONTH)["_source_file"].to_list() == ["B"] * 5
    assert _scan(store).filter(pl.col("utility") == "IESCO").collect().height == 5


def test_files_a_rewrite_removed_stay_for_the_retention(s3):
    """Files a rewrite removed are still read by time travel, so ``vacuum`` keeps them
    inside the retention; with a retention of 0 they go, the current ones stay, and time
    travel to a version whose files went fails."""
    bucket = s3.bucket()
    url = f"s3://{bucket}/wh"
    store = Warehouse(url)
    store.write(KEY, _frame(4, "first"), "IESCO", MONTH)
    first = store.version(KEY)
    after_first = _instant_before_next_commit()
    for mark in ("second", "third"):
        store.write(KEY, _frame(4, mark), "IESCO", MONTH)
    assert len(_data_files(s3, bucket)) == 3
    assert _scan(store, version=first).collect()["_source_file"].to_list() == ["first"] * 4
    assert Warehouse(url).vacuum() == []  # inside the default retention: all kept
    assert len(_data_files(s3, bucket)) == 3
    [current] = store.files(KEY, "IESCO", MONTH)
    deleted = Warehouse(url, retention=0).vacuum()
    assert len(deleted) == 2 and current not in deleted
    assert all(d.startswith(f"{url}/bronze/readings/utility=IESCO/") for d in deleted)
    assert _data_files(s3, bucket) == {current[len(f"s3://{bucket}/") :]}
    assert store.read_pl(KEY, "IESCO", MONTH)["_source_file"].to_list() == ["third"] * 4
    assert _scan(store).collect()["_source_file"].to_list() == ["third"] * 4
    with pytest.raises(FileNotFoundError):
        _scan(store, version=first).collect()
    with pytest.raises((FileNotFoundError, StorageError)):
        Warehouse(url, as_of=after_first).read_pl(KEY, "IESCO", MONTH)


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
    """Each bucket of a bucketed partition is its own object and comes back alone (the
    reader does not scan the others), across row-group boundaries; an empty bucket is an
    empty file."""
    monkeypatch.setattr(writers, "ROW_GROUP", 4)
    bucket = s3.bucket()
    store = Warehouse(f"s3://{bucket}/wh")
    parts = [_frame(10, "a"), _frame(0, "b"), _frame(3, "c"), _frame(7, "d")]
    _, rows = store.write_buckets(KEY, iter(parts), "IESCO", MONTH)
    assert rows == [10, 0, 3, 7] == store.bucket_rows(KEY, "IESCO", MONTH)
    files = store.files(KEY, "IESCO", MONTH)
    names = [Path(f).name for f in files]
    token = names[0].rsplit("-", 1)[1].removesuffix(".parquet")  # one per write
    for b, name in enumerate(names):
        assert re.fullmatch(rf"part-{b:05d}-000-[0-9a-f]{{16}}-{token}\.parquet", name), name
    assert _data_files(s3, bucket) == {f[len(f"s3://{bucket}/") :] for f in files}
    with store.loc.fs.open_input_file(f"{bucket}/{PARTITION}{names[0]}") as fh:
        assert pq.ParquetFile(fh).metadata.num_row_groups == 3  # 10 rows, groups of 4
    back = list(store.iter_buckets(KEY, "IESCO", MONTH, columns=["_source_file", "_source_row"]))
    for part, got in zip(parts, back, strict=True):
        assert got.to_dict(as_series=False) == part.drop("_parse_error").to_dict(as_series=False)


def test_interleaved_buckets_written_to_object_storage(s3, monkeypatch):
    """A bucket writer fed rows of every bucket at once streams one object per bucket,
    reads them back before publishing, publishes them in one commit, and a writer
    discarded leaves the bucket as it was."""
    monkeypatch.setattr(writers, "ROW_GROUP", 4)
    monkeypatch.setattr(writers, "BUFFER_ROWS", 6)
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
    assert store.version(KEY) is None  # nothing committed yet
    writer.publish()
    assert writer.committed and store.version(KEY) == writer.version
    assert store.history(KEY, "IESCO", MONTH)[0]["rows_added"] == 25
    assert store.bucket_rows(KEY, "IESCO", MONTH) == [9, 8, 8]
    names = [Path(f).name for f in store.files(KEY, "IESCO", MONTH)]
    token = names[0].rsplit("-", 1)[1].removesuffix(".parquet")
    assert names == [f"part-{b:05d}-000-{delta.STREAMED}-{token}.parquet" for b in range(3)]
    assert len(_data_files(s3, bucket)) == 3
    for part, got in zip(expected, store.iter_buckets(KEY, "IESCO", MONTH), strict=True):
        assert got.to_dict(as_series=False) == part.to_dict(as_series=False)
    before, version = s3.keys(bucket), store.version(KEY)
    second = store.open_buckets(KEY, "IESCO", MONTH, 3)
    for block in _frame(25, "b").iter_slices(5):
        second.append(block, by)
    second.discard()
    assert s3.keys(bucket) == before and store.version(KEY) == version
