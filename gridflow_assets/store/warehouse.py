"""The warehouse, on a local disk or in object storage: every table a Delta Lake table
(``delta.py``), a month × utility table partitioned by ``utility`` and ``month``.

``<root>/<layer>/<table>/`` is a table folder with its ``_delta_log/``; a partition's files are
under ``utility=<U>/month=<YYYY-MM>/``. ``root`` is a folder or a URL (``storage.py``). A
writer writes a partition's Parquet files, then publishes them with one Delta commit that
replaces exactly that partition: readers (this class, or any Delta reader outside gridflow)
see the old partition or the new one, never half, and a rerun replaces exactly that
partition. A partition whose files would be the same bytes is not committed again.

This class reads the files the Delta log names itself (pyarrow and Polars over the
location's filesystem): the hot path never converts through delta-rs's own readers.
``Warehouse(root, as_of=…)`` reads every table as it stood at one instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from gridflow_assets.domain.names import is_valid_month, is_valid_utility_id
from gridflow_assets.registry import TABLES, Table, table
from gridflow_assets.registry.derive import (
    arrow_schema,
    from_arrow,
    to_arrow,
)
from gridflow_assets.store import writers
from gridflow_assets.store.delta import (
    DataFile,
    DeltaLog,
    add_action,
    open_log,
    retention_days,
    retention_hours,
    storage_options,
)
from gridflow_assets.store.storage import Location, open_location
from gridflow_assets.store.writers import (
    BucketWriter,
    PartitionWriter,
    VersionWriter,
    WrittenFile,
    delete_files,
    same_content,
)

HIVE = ds.partitioning(pa.schema([("utility", pa.string()), ("month", pa.string())]), flavor="hive")
Partition = tuple[str | None, str | None]


class Warehouse:
    def __init__(
        self,
        root: str | Path,
        retention: float | None = None,
        as_of: datetime | None = None,
    ):
        self.loc: Location = open_location(root)
        self.retention_days = retention_days(retention)
        self.as_of = as_of
        # what every commit of this writer records beside the partition (run id, drop)
        self.commit_info: dict[str, str] = {}
        self._options = storage_options(self.loc)
        self._seen: set[str] = set()  # tables whose log this object has read
        # Staging (a layer step): a published writer waits here, closed but uncommitted, and
        # this object reads it as the partition (read-your-writes), until ``commit_staged``
        # commits every staged table back to back, or ``discard_staged`` removes them.
        self.staging = False
        self._staged: dict[tuple[str, str | None, str | None], VersionWriter] = {}

    @property
    def location(self) -> str:
        """The root as a person names it: an absolute folder or a URL."""
        return self.loc.url

    def check(self) -> Warehouse:
        """Reach the storage once (bucket, credentials, endpoint); ``StorageError`` if not."""
        self.loc.check()
        return self

    def table_dir(self, key: str) -> str:
        layer, name = key.split("/")
        return self.loc.path(layer, name)

    def table_uri(self, key: str) -> str:
        """The table as a Delta reader outside gridflow names it (folder or URL)."""
        return self.loc.uri(self.table_dir(key))

    def partition_dir(self, key: str, utility: str | None = None, month: str | None = None) -> str:
        """The folder of one partition inside the filesystem (``table_dir`` when the table is
        not partitioned)."""
        if utility is None:
            return self.table_dir(key)
        if not (is_valid_utility_id(utility) and is_valid_month(month)):
            raise ValueError(f"{key}: not a partition: utility {utility!r}, month {month!r}")
        return f"{self.table_dir(key)}/utility={utility}/month={month}"

    def delta(self, key: str) -> DeltaLog:
        """The Delta log of a table: opened once per thread and shared by its warehouse
        objects; each object reads what is new in it at its first use of the table."""
        log = open_log(self.table_uri(key), self._options, self.as_of)
        if key not in self._seen:
            self._seen.add(key)
            log.stale()
        return log

    def version(self, key: str) -> int | None:
        """The table's Delta version (None: no table)."""
        return self.delta(key).version()

    def tables(self) -> list[str]:
        """The registry tables that exist in this warehouse."""
        return [key for key in TABLES if self.delta(key).version() is not None]

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def partition_writer(
        self,
        key: str,
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> Iterator[PartitionWriter]:
        """Stream one partition: each ``w.write(frame)`` appends one row group. On a clean
        exit the partition is published in one commit; on an exception nothing becomes
        visible and the files written are removed. No write at all publishes an empty
        table."""
        writer = self.open_partition(key, utility, month, spec)
        try:
            yield writer
            writer.close()
        except BaseException:
            writer.discard()
            raise
        writer.publish()

    def open_partition(
        self,
        key: str,
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> PartitionWriter:
        """A partition writer for a caller that publishes it later than a ``with`` block
        allows (``close`` then ``publish``, or ``discard``)."""
        return PartitionWriter(self, key, utility, month, spec or table(key))

    def open_buckets(
        self,
        key: str,
        utility: str | None,
        month: str | None,
        buckets: int,
        spec: Table | None = None,
    ) -> BucketWriter:
        """A writer of one partition in ``buckets`` meter buckets whose rows come
        interleaved (``append`` then ``close`` and ``publish``, or ``discard``)."""
        return BucketWriter(self, buckets, key, utility, month, spec or table(key))

    def write(
        self,
        key: str,
        df: pd.DataFrame | pl.DataFrame | pa.Table,
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> str:
        """Write one partition atomically; returns the table's URI."""
        return self.write_table(key, df, utility, month, spec)[0]

    def write_table(
        self,
        key: str,
        df: pd.DataFrame | pl.DataFrame | pa.Table,
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> tuple[str, pa.Table]:
        """Write one partition atomically; returns the table's URI and the Arrow table
        stored (what a reader gets back, for checks that run on it without reading the
        file again)."""
        with self.partition_writer(key, utility, month, spec) as w:
            arrow = w.append(to_arrow(df, w.spec), writers.ROW_GROUP)
        return w.path, arrow

    def frame_writer(
        self,
        key: str,
        frame: pl.DataFrame,
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> PartitionWriter:
        """Write one partition atomically from a Polars frame, one row group at a time: only
        one row group's Arrow copy exists beside the frame (the file is the one
        ``write_table`` writes, byte for byte). Returns the published writer (its URI,
        rows, Delta version, and whether it committed)."""
        with self.partition_writer(key, utility, month, spec) as w:
            w.append_frame(frame)
        return w

    def write_buckets(
        self,
        key: str,
        frames: Iterable[pl.DataFrame],
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> tuple[str, list[int]]:
        """Write one partition atomically from its meter buckets, one frame each, as they
        come (only one bucket in memory), each bucket its own files, so ``iter_buckets``
        reads them back one by one. Returns the table's URI and the rows of each bucket."""
        with self.partition_writer(key, utility, month, spec) as w:
            for frame in frames:
                w.append_frame(frame)
                w.end_bucket()
        return w.path, w.buckets

    def commit(
        self,
        key: str,
        utility: str | None,
        month: str | None,
        files: list[WrittenFile],
        spec: Table,
    ) -> int | None:
        """Publish ``files`` (written under the partition's folder) as the partition, in one
        commit. Returns the version committed, or None when the partition already holds the
        same bytes (the new files are then removed and nothing is committed)."""
        log = self.delta(key)
        part = (utility, month) if utility is not None else None
        log.ensure(arrow_schema(spec), part is not None, self.retention_days)
        old = log.partition(utility, month) or []
        if old and same_content(old, files):
            delete_files(self.loc, [f.path for f in files])
            return None
        base = self.table_dir(key) + "/"
        adds = [add_action(f.path[len(base) :], f.size, part, f.rows) for f in files]
        info = {
            **self.commit_info,
            "partition": f"{utility}/{month}" if part else "",
            "rows_added": sum(f.rows for f in files),
            "rows_removed": sum(f.rows for f in old),
        }
        version = log.commit(adds, part, info)
        return version

    def append(self, key: str, rows: list[dict], utility: str, month: str) -> int:
        """Add ``rows`` (dicts of the registry's columns) to one partition of an append-only
        table, in one commit; returns the version committed."""
        spec = table(key)
        assert spec.append_only and spec.partitioned, f"{key} is not an append-only table"
        self.partition_dir(key, utility, month)  # validates names from outside
        arrow = to_arrow(pd.DataFrame(rows, columns=spec.column_names), spec)
        n = arrow.num_rows
        arrow = arrow.append_column("utility", pa.array([utility] * n, pa.string()))
        arrow = arrow.append_column("month", pa.array([month] * n, pa.string()))
        log = self.delta(key)
        log.ensure(arrow_schema(spec), True, self.retention_days, append_only=True)
        info = {**self.commit_info, "partition": f"{utility}/{month}", "rows_added": n}
        return log.append(arrow, True, info)

    def read_table(self, key: str) -> pl.DataFrame | None:
        """Every current row of a table, with ``utility`` and ``month`` for a partitioned
        one, in one read (for the small DQ tables); None when the table does not exist."""
        if self.delta(key).version() is None:
            return None
        return pl.from_arrow(self.dataset(key).to_table())

    def stage(self, writer: VersionWriter) -> None:
        self._staged[writer.partition] = writer

    def commit_staged(self) -> list[VersionWriter]:
        """Commit every staged table in the order staged (one commit each, back to back),
        and return their writers."""
        done = []
        while self._staged:
            writer = self._staged.pop(next(iter(self._staged)))
            writer.commit()
            done.append(writer)
        return done

    def discard_staged(self) -> None:
        """Remove the files of every staged table (the step failed before committing)."""
        staged, self._staged = list(self._staged.values()), {}
        for writer in staged:
            writer.discard()

    def vacuum(self, dry_run: bool = False) -> list[str]:
        """Delete, in every table, the files no version inside the retention reads and the
        log entries past it; also files no commit ever named (a writer killed before its
        commit) once older than the retention. Returns the files' URIs."""
        hours = retention_hours(self.retention_days)
        deleted = []
        for key in self.tables():
            dt = self.delta(key).table()
            for path in dt.vacuum(
                retention_hours=hours,
                dry_run=dry_run,
                enforce_retention_duration=False,
                full=True,
            ):
                if path.endswith(".parquet"):  # not an object store's folder marker
                    deleted.append(path if "://" in path else f"{self.table_uri(key)}/{path}")
            if not dry_run:
                dt.cleanup_metadata()
        return deleted

    # -- reading ---------------------------------------------------------------------------

    def history(self, key: str, utility: str | None = None, month: str | None = None) -> list[dict]:
        """A table's commits, newest first (one partition's, given one): see
        ``DeltaLog.history``."""
        if utility is not None:
            self.partition_dir(key, utility, month)  # validates names from outside
        return self.delta(key).history(utility, month)

    def exists(self, key: str, utility: str | None = None, month: str | None = None) -> bool:
        """Whether the partition has rows (without ``utility``: whether the table has any)."""
        if utility is None and table(key).partitioned:
            return bool(self.delta(key).files())
        return self._entries(key, utility, month) is not None

    def files(self, key: str, utility: str | None = None, month: str | None = None) -> list[str]:
        """The current files of one partition, or of every partition of the table when
        ``utility`` is None, as paths or URLs."""
        if utility is None:
            return [self.loc.uri(p) for p in self._table_files(key)]
        return [self.loc.uri(p) for p in self._files(key, utility, month) or []]

    def dataset(self, key: str) -> ds.Dataset:
        """Every current file of a table as one pyarrow dataset (``utility`` and ``month``
        columns from the partition folders of a partitioned table)."""
        partitioned = table(key).partitioned
        return ds.dataset(
            self._table_files(key),
            filesystem=self.loc.fs,
            format="parquet",
            partitioning=HIVE if partitioned else None,
            partition_base_dir=self.table_dir(key) if partitioned else None,
        )

    def read(
        self,
        key: str,
        utility: str | None = None,
        month: str | None = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame | None:
        """One partition as a pandas frame (for people and reports), or None when never
        written."""
        arrow = self.read_arrow(key, utility, month, columns)
        return None if arrow is None else from_arrow(arrow)

    def read_pl(
        self,
        key: str,
        utility: str | None = None,
        month: str | None = None,
        columns: list[str] | None = None,
    ) -> pl.DataFrame | None:
        """One partition as a Polars frame (the engine's form), or None when never written.
        On a local disk, Polars' own reader: the text lands as Polars strings directly,
        without an Arrow copy to convert (the same frame, tested)."""
        paths = self._files(key, utility, month)
        if paths is None:
            return None
        return self.read_files(paths, columns)

    def read_files(self, paths: list[str], columns: list[str] | None) -> pl.DataFrame:
        """Files of a table (paths inside the filesystem) read as one Polars frame."""
        if self.loc.local:
            return pl.read_parquet(paths, columns=columns)
        return pl.from_arrow(self._read_arrow(paths, columns))

    def read_arrow(
        self,
        key: str,
        utility: str | None = None,
        month: str | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table | None:
        """One partition's current files as Arrow (no partition columns added), or None
        when never written."""
        paths = self._files(key, utility, month)
        return None if paths is None else self._read_arrow(paths, columns)

    def _read_arrow(self, paths: list[str], columns: list[str] | None) -> pa.Table:
        parts = []
        for path in paths:
            with self.loc.fs.open_input_file(path) as fh:
                parts.append(pq.ParquetFile(fh).read(columns=columns))
        # Files of one partition differ at most in nullability (PartitionWriter).
        return (
            parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="permissive")
        )

    def scan(
        self, key: str, utility: str | None = None, month: str | None = None
    ) -> pl.LazyFrame | None:
        """One partition as a lazy Polars scan (for work that streams or needs few columns)."""
        paths = self._files(key, utility, month)
        if paths is None:
            return None
        if self.loc.local:
            return pl.scan_parquet(paths)
        return pl.scan_pyarrow_dataset(ds.dataset(paths, filesystem=self.loc.fs, format="parquet"))

    def bucket_rows(
        self, key: str, utility: str | None = None, month: str | None = None
    ) -> list[int] | None:
        """Rows of each meter bucket of a partition (one entry, all its rows, for a
        partition written whole), or None when never written."""
        groups = self._buckets(key, utility, month)
        return None if groups is None else [sum(f.rows for f in g) for g in groups]

    def iter_buckets(
        self,
        key: str,
        utility: str | None = None,
        month: str | None = None,
        columns: list[str] | None = None,
    ) -> Iterator[pl.DataFrame]:
        """A partition's meter buckets one at a time (the whole partition once when it
        was written whole), all from the version current when iteration starts: each
        bucket is its own files. Nothing when never written."""
        groups = self._buckets(key, utility, month)
        base = self.table_dir(key)
        for group in groups or []:
            yield self.read_files([f"{base}/{f.path}" for f in group], columns)

    def _buckets(
        self, key: str, utility: str | None, month: str | None
    ) -> list[list[DataFile]] | None:
        entries = self._entries(key, utility, month)
        if entries is None:
            return None
        groups: list[list[DataFile]] = []
        for entry in entries:
            if groups and groups[-1][0].bucket == entry.bucket:
                groups[-1].append(entry)
            else:
                groups.append([entry])
        return groups

    def partitions(self, key: str) -> list[tuple[str, str]]:
        """``(utility, month)`` of every published partition of a table, sorted."""
        return sorted(p for p in self.delta(key).files() if p[0] is not None)

    def read_all(self, key: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Every partition of a table, with ``utility`` and ``month`` columns added."""
        spec: Table = table(key)
        if not spec.partitioned:
            df = self.read(key, columns=columns)
            return df if df is not None else pd.DataFrame(columns=columns or spec.column_names)
        frames = []
        for utility, month in self.partitions(key):
            df = self.read(key, utility, month, columns=columns)
            if df is not None:
                frames.append(df.assign(utility=utility, month=month))
        if not frames:
            return pd.DataFrame(columns=(columns or spec.column_names) + ["utility", "month"])
        return pd.concat(frames, ignore_index=True)

    def row_count(self, key: str, utility: str | None = None, month: str | None = None) -> int:
        """Rows of one partition, from the Delta log (no data file opened); 0 when never
        written."""
        return sum(f.rows for f in self._entries(key, utility, month) or [])

    def _entries(self, key: str, utility: str | None, month: str | None) -> list[DataFile] | None:
        if utility is not None:
            self.partition_dir(key, utility, month)  # validates names from outside
        staged = self._staged.get((key, utility, month))
        if staged is not None:
            return staged.entries()
        return self.delta(key).partition(utility, month)

    def _files(self, key: str, utility: str | None, month: str | None) -> list[str] | None:
        entries = self._entries(key, utility, month)
        if entries is None:
            return None
        base = self.table_dir(key)
        return [f"{base}/{f.path}" for f in entries]

    def _table_files(self, key: str) -> list[str]:
        """The current files of every partition of a table (of the table, unpartitioned)."""
        base = self.table_dir(key)
        return [f"{base}/{f.path}" for fs in self.delta(key).files().values() for f in fs]
