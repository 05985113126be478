"""Writing a partition's files before its commit (``Warehouse`` commits them): a partition
written whole or bucket by bucket (``PartitionWriter``: each file built in memory and stored
under its digest's name), or in meter buckets whose rows come interleaved (``BucketWriter``:
one file per bucket, streamed to storage as written). Until the commit no reader sees the
files; ``discard`` removes them.
"""

from __future__ import annotations

import hashlib
import uuid
import warnings
from collections.abc import Iterator
from contextlib import suppress
from typing import Protocol

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from gridflow_assets.registry import Table
from gridflow_assets.registry.derive import (
    arrow_of,
    arrow_schema,
    conform_pl,
    stored_schema,
    to_arrow,
)
from gridflow_assets.store.delta import STREAMED, DataFile, file_name
from gridflow_assets.store.storage import Location


class Warehouse(Protocol):
    """What a writer needs of the warehouse it writes to (``warehouse.Warehouse``, which
    imports this module: the writers name it by what they use)."""

    loc: Location
    staging: bool

    def partition_dir(self, key: str, utility: str | None, month: str | None) -> str: ...
    def table_dir(self, key: str) -> str: ...
    def table_uri(self, key: str) -> str: ...
    def version(self, key: str) -> int | None: ...
    def delta(self, key: str): ...
    def stage(self, writer: VersionWriter) -> None: ...
    def commit(self, key, utility, month, files, spec) -> int | None: ...
    def read_files(self, paths: list[str], columns: list[str] | None) -> pl.DataFrame: ...


# Dictionary-encoded, zstd-compressed row groups of 256k rows: small files that DuckDB and
# pyarrow scan fast; no wall-clock metadata so reruns are byte-identical.
PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True}
ROW_GROUP = 262_144
# Rows a ``BucketWriter`` holds at most, over all its buckets, before writing them (about
# 120 MB of bronze text).
BUFFER_ROWS = 2 * ROW_GROUP


class WrittenFile:
    """A data file written for a partition, not yet committed: its path in the filesystem
    (named by ``delta.file_name``), rows and bytes."""

    __slots__ = ("path", "rows", "size")

    def __init__(self, path: str, rows: int, size: int):
        self.path, self.rows, self.size = path, rows, size

    def entry(self) -> DataFile:
        """The file as the log names it (no partition: it is not committed)."""
        return DataFile(self.path, None, None, self.rows, self.size)


def same_content(old: list[DataFile], new: list[WrittenFile]) -> bool:
    """Whether the new files hold the same bytes, bucket by bucket, as the current ones:
    the digests in their names (none for a file streamed as written)."""
    fresh = [f.entry() for f in new]

    def keys(files: list[DataFile]) -> list[tuple[int, int, str]]:
        return sorted((f.bucket, f.seq, f.digest) for f in files)

    return all(f.digest != STREAMED for f in (*old, *fresh)) and keys(old) == keys(fresh)


def delete_files(loc: Location, paths: list[str]) -> None:
    for path in paths:
        try:
            loc.fs.delete_file(path)
        except FileNotFoundError:
            pass
        except OSError as exc:  # never committed: invisible, and vacuum removes it later
            warnings.warn(f"could not remove {loc.uri(path)}: {exc}", stacklevel=2)


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
        with suppress(OSError, ValueError):  # a half-written file is deleted below either way
            self._abandon()
        delete_files(self._store.loc, [f.path for f in self._written])
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
        self._written.append(WrittenFile(path, self._file_rows, data.size))

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
            self._written.append(WrittenFile(path, 0, 0))
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
            yield self._store.read_files([entry.path], columns)

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
