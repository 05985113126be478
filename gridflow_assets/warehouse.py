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

import hashlib
import uuid
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from gridflow_assets.delta import (
    STREAMED,
    DataFile,
    DeltaLog,
    add_action,
    file_name,
    open_log,
    retention_days,
    retention_hours,
    storage_options,
)
from gridflow_assets.domain.names import is_valid_month, is_valid_utility_id
from gridflow_assets.registry import TABLES, Table, table
from gridflow_assets.registry.derive import (
    arrow_of,
    arrow_schema,
    conform_pl,
    from_arrow,
    stored_schema,
    to_arrow,
)
from gridflow_assets.storage import Location, open_location

# Dictionary-encoded, zstd-compressed row groups of 256k rows: small files that DuckDB and
# pyarrow scan fast; no wall-clock metadata so reruns are byte-identical.
PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True}
ROW_GROUP = 262_144
# Rows a ``BucketWriter`` holds at most, over all its buckets, before writing them (about
# 120 MB of bronze text).
BUFFER_ROWS = 2 * ROW_GROUP
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
            arrow = w.append(to_arrow(df, w.spec), ROW_GROUP)
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
        if old and _same_content(old, files):
            _delete(self.loc, [f.path for f in files])
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
        return self._read_pl(paths, columns)

    def _read_pl(self, paths: list[str], columns: list[str] | None) -> pl.DataFrame:
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
            yield self._read_pl([f"{base}/{f.path}" for f in group], columns)

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


class WrittenFile:
    """A data file written for a partition, not yet committed: its path in the filesystem,
    rows, bytes and digest (``delta.STREAMED`` when streamed as written)."""

    __slots__ = ("digest", "path", "rows", "size")

    def __init__(self, path: str, rows: int, size: int, digest: str):
        self.path, self.rows, self.size, self.digest = path, rows, size, digest


def _same_content(old: list[DataFile], new: list[WrittenFile]) -> bool:
    """Whether the new files hold the same bytes, bucket by bucket, as the current ones."""
    names = [f.path.rsplit("/", 1)[-1] for f in new]
    new_keys = [
        (n.split("-")[1], n.split("-")[2], f.digest) for n, f in zip(names, new, strict=True)
    ]
    old_keys = [(f"{f.bucket:05d}", f"{f.seq:03d}", f.digest) for f in old]
    return (
        all(d != STREAMED for _, _, d in new_keys)
        and all(d != STREAMED for _, _, d in old_keys)
        and sorted(new_keys) == sorted(old_keys)
    )


def _delete(loc: Location, paths: list[str]) -> None:
    for path in paths:
        try:
            loc.fs.delete_file(path)
        except FileNotFoundError:
            pass
        except OSError as exc:  # never committed: invisible, and vacuum removes it later
            warnings.warn(f"could not remove {loc.uri(path)}: {exc}")


class VersionWriter:
    """New files of one partition being written: published by one Delta commit
    (``publish``), or removed (``discard``)."""

    def __init__(
        self, store: Warehouse, key: str, utility: str | None, month: str | None, spec: Table
    ):
        self.spec = spec
        self.rows = 0
        self.path: str | None = None  # the table's URI, once published
        self.version: int | None = None  # the Delta version committed (None: unchanged)
        self.committed = False
        self._store = store
        self._key = key
        self._utility = utility
        self._month = month
        self._dir = store.partition_dir(key, utility, month)
        self._token = uuid.uuid4().hex[:16]
        self._written: list[WrittenFile] = []
        self._buckets: list[int] = []

    @property
    def buckets(self) -> list[int]:
        return list(self._buckets)

    def _path(self, bucket: int, seq: int, digest: str = STREAMED) -> str:
        return f"{self._dir}/{file_name(bucket, seq, self._token, digest)}"

    def close(self) -> None:
        """Finish the partition's files (then ``publish``)."""
        raise NotImplementedError

    def _abandon(self) -> None:
        """Close what is open without finishing it (``discard``)."""
        raise NotImplementedError

    @property
    def partition(self) -> tuple[str, str | None, str | None]:
        return (self._key, self._utility, self._month)

    def entries(self) -> list[DataFile]:
        """The files written, as the Delta log will name them once committed."""
        base = self._store.table_dir(self._key) + "/"
        return [
            DataFile(f.path[len(base) :], self._utility, self._month, f.rows) for f in self._written
        ]

    def publish(self) -> None:
        """Commit the files as the partition (one Delta commit), unless it holds the same
        bytes already; on a staging warehouse, stage them for ``commit_staged``."""
        if self._store.staging:
            self._store.stage(self)
            self.path = self._store.table_uri(self._key)
            return
        self.commit()

    def commit(self) -> None:
        """One Delta commit of the files. A failed commit removes them: no commit names
        them."""
        try:
            self.version = self._store.commit(
                self._key, self._utility, self._month, self._written, self.spec
            )
        except BaseException:
            # A commit that failed on the client may still have landed: the files are
            # removed only when the log surely does not name them.
            if not self._maybe_committed():
                self.discard()
            raise
        self.committed = self.version is not None
        if self.version is None:
            self.version = self._store.version(self._key)
        self.path = self._store.table_uri(self._key)

    def _maybe_committed(self) -> bool:
        try:
            log = self._store.delta(self._key)
            log.refresh()
            current = {f.path for f in log.partition(self._utility, self._month) or []}
        except (OSError, ValueError):
            return True
        base = self._store.table_dir(self._key) + "/"
        return any(f.path[len(base) :] in current for f in self._written)

    def discard(self) -> None:
        """Remove the unpublished files (whatever part of them was written)."""
        try:
            self._abandon()
        except (OSError, ValueError):
            pass  # a half-written file is deleted below either way
        _delete(self._store.loc, [f.path for f in self._written])
        self._written = []


class PartitionWriter(VersionWriter):
    """One partition being written (``Warehouse.partition_writer``).

    Each meter bucket (``end_bucket``) is one Parquet file, built in memory and then stored
    under a name with its digest. A chunk with nulls in a field an earlier chunk wrote as not
    nullable cannot go into that file (a Parquet file has one schema): the file is finished
    and the bucket goes on in a next file whose schema has those fields nullable. Readers
    of the partition read its files as one.
    """

    def __init__(
        self, store: Warehouse, key: str, utility: str | None, month: str | None, spec: Table
    ):
        super().__init__(store, key, utility, month, spec)
        self._writer: pq.ParquetWriter | None = None
        self._sink: pa.BufferOutputStream | None = None
        self._file_rows = 0
        self._bucket = 0
        self._seq = 0
        self._bucket_start = 0  # self.rows when the current bucket began

    def append_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Conform a Polars frame to the table's schema and append it in row groups of
        ``ROW_GROUP`` rows, converting one row group at a time to Arrow. Returns the frame
        as stored (conformed)."""
        frame = conform_pl(frame, self.spec)
        schema = stored_schema(frame, self.spec)
        parts = [frame] if frame.height <= ROW_GROUP else frame.iter_slices(ROW_GROUP)
        for part in parts:
            self.append(arrow_of(part, schema), ROW_GROUP)
        return frame

    def end_bucket(self) -> None:
        """Close the current meter bucket (the rows appended since the last one): its files
        are finished, and the next rows start the next bucket."""
        if self._writer is None and self.rows == self._bucket_start:
            self._open(arrow_schema(self.spec))  # a bucket without rows: an empty file
        self._finish_file()
        self._buckets.append(self.rows - self._bucket_start)
        self._bucket += 1
        self._seq = 0
        self._bucket_start = self.rows

    def write(self, frame: pl.DataFrame | pa.Table) -> pa.Table:
        """Conform ``frame`` to the table's schema and append it as one row group; returns
        the Arrow table written."""
        arrow = to_arrow(frame, self.spec)
        return self.append(arrow, max(arrow.num_rows, 1))

    def append(self, arrow: pa.Table, row_group_size: int) -> pa.Table:
        """Append an already conformed Arrow table in row groups of ``row_group_size``."""
        schema = self._writer.schema if self._writer is not None else None
        if schema is None or _widens(schema, arrow.schema):
            self._open(arrow.schema if schema is None else _relaxed(schema, arrow.schema))
        stored = arrow
        if not self._writer.schema.equals(arrow.schema):
            stored = arrow.cast(self._writer.schema)
        if arrow.num_rows:
            self._writer.write_table(stored, row_group_size=row_group_size)
        self._file_rows += arrow.num_rows
        self.rows += arrow.num_rows
        return arrow

    def _open(self, schema: pa.Schema) -> None:
        if self._writer is not None:
            self._finish_file()
            self._seq += 1
        self._sink = pa.BufferOutputStream()
        self._writer = pq.ParquetWriter(self._sink, schema, **PARQUET_OPTIONS)
        self._file_rows = 0

    def _finish_file(self) -> None:
        """Store the file being built under its digest's name."""
        if self._writer is None:
            return
        self._writer.close()
        data = self._sink.getvalue()
        self._writer = self._sink = None
        digest = hashlib.sha256(data).hexdigest()[:16]
        path = self._path(self._bucket, self._seq, digest)
        self._store.loc.ensure_dir(self._dir)
        with self._store.loc.fs.open_output_stream(path) as out:
            out.write(data)
        self._written.append(WrittenFile(path, self._file_rows, data.size, digest))

    def close(self) -> None:
        """Finish the partition's files (an empty file with the registry schema when
        nothing was written)."""
        if self._writer is None and not self._written:
            self._open(arrow_schema(self.spec))
        if self._writer is not None:
            self._finish_file()
            if self._buckets:  # rows after the last end_bucket: one more bucket
                self._buckets.append(self.rows - self._bucket_start)

    def _abandon(self) -> None:
        self._writer = self._sink = None


class BucketWriter(VersionWriter):
    """One partition written as meter buckets whose rows come interleaved (a source read
    block by block, every block holding rows of every bucket): one Parquet file per bucket,
    all open at once and streamed to storage, each bucket's rows in the order they came
    (``Warehouse.open_buckets``).

    Each bucket's rows wait in memory until it has ``ROW_GROUP`` of them, or until all the
    buckets together hold ``BUFFER_ROWS``: then they go to the bucket's file as a row group.
    Every file has the registry's schema (one schema for the partition's files, whatever
    rows a bucket got); file ``b`` is bucket ``b``, so ``iter_buckets`` reads it alone.
    """

    def __init__(
        self,
        store: Warehouse,
        buckets: int,
        key: str,
        utility: str | None,
        month: str | None,
        spec: Table,
    ):
        super().__init__(store, key, utility, month, spec)
        self.schema = arrow_schema(spec)
        self._n = buckets
        self._waiting: list[list[pl.DataFrame]] = [[] for _ in range(buckets)]
        self._held = [0] * buckets  # rows waiting, per bucket
        self._writers: list[pq.ParquetWriter | None] = [None] * buckets
        self._rows = [0] * buckets  # rows written, per bucket
        self._closed = False

    def append(self, frame: pl.DataFrame, bucket: pl.Expr) -> None:
        """Append each row of ``frame`` to the bucket ``bucket`` gives it (0 … n-1)."""
        frame = conform_pl(frame, self.spec)
        nulls = [f.name for f in self.schema if not f.nullable and frame[f.name].null_count()]
        if nulls:
            raise ValueError(f"{self._key}: nulls in not-null columns {nulls}")
        ids = frame.select(bucket.alias("_bucket")).to_series()
        if ids.len() and (ids.min() < 0 or ids.max() >= self._n):
            raise ValueError(f"{self._key}: bucket outside 0 … {self._n - 1}")
        parts = frame.with_columns(ids).partition_by(
            "_bucket", as_dict=True, maintain_order=True, include_key=False
        )
        del frame, ids
        for (b,), part in parts.items():
            self._waiting[b].append(part)
            self._held[b] += part.height
            if self._held[b] >= ROW_GROUP:
                self._flush(b)
        if sum(self._held) >= BUFFER_ROWS:
            for b in range(self._n):
                self._flush(b)

    def _file(self, b: int) -> pq.ParquetWriter:
        if self._writers[b] is None:
            self._store.loc.ensure_dir(self._dir)
            path = self._path(b, 0)
            self._writers[b] = pq.ParquetWriter(
                path, self.schema, filesystem=self._store.loc.fs, **PARQUET_OPTIONS
            )
            self._written.append(WrittenFile(path, 0, 0, STREAMED))
        return self._writers[b]

    def _flush(self, b: int) -> None:
        """The rows bucket ``b`` holds, to its file as one row group."""
        parts, self._waiting[b], self._held[b] = self._waiting[b], [], 0
        if not parts:
            return
        frame = parts[0] if len(parts) == 1 else pl.concat(parts)
        del parts
        self._file(b).write_table(arrow_of(frame, self.schema), row_group_size=ROW_GROUP)
        self._rows[b] += frame.height
        self.rows += frame.height

    def close(self) -> None:
        """Write what the buckets still hold and finish every bucket's file (a bucket
        that got no row is an empty file)."""
        if self._closed:
            return
        for b in range(self._n):
            self._flush(b)
            self._file(b).close()
        self._closed = True
        by_path = {f.path: f for f in self._written}
        files = []
        for b, rows in enumerate(self._rows):
            entry = by_path[self._path(b, 0)]
            entry.rows = rows
            entry.size = self._store.loc.fs.get_file_info(entry.path).size
            files.append(entry)
        self._written = files
        self._buckets = list(self._rows)

    def written(self, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
        """The closed, unpublished buckets read back one at a time, as stored."""
        for entry in self._written:
            yield self._store._read_pl([entry.path], columns)

    def _abandon(self) -> None:
        self._waiting = [[] for _ in range(self._n)]
        writers, self._writers = self._writers, [None] * self._n
        for writer in writers:
            if writer is not None:
                with suppress(OSError, ValueError):  # deleted with the files either way
                    writer.close()


def _widens(schema: pa.Schema, new: pa.Schema) -> bool:
    """Whether ``new`` has a nullable field where ``schema`` has it not nullable."""
    return any(f.nullable and not schema.field(f.name).nullable for f in new)


def _relaxed(schema: pa.Schema, new: pa.Schema) -> pa.Schema:
    fields = [f.with_nullable(True) if new.field(f.name).nullable else f for f in schema]
    return pa.schema(fields, metadata=schema.metadata)
