"""The Parquet warehouse, on a local disk or in object storage: hive-style partition folders,
each partition a version published atomically by a pointer (``versions.py``).

``<root>/<layer>/<table>/utility=<U>/month=<YYYY-MM>/`` for month × utility tables,
``<root>/<layer>/<table>/`` for the others; inside, ``_current.json`` names the current
``v=<id>/part-0.parquet``. ``root`` is a folder or a URL (``storage.py``). Readers follow
the pointer, so they see the old partition or the new one, never half, and a rerun
replaces exactly that partition.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from gridflow_assets.domain.names import is_valid_month, is_valid_utility_id
from gridflow_assets.registry import Table, table
from gridflow_assets.registry.derive import (
    arrow_of,
    arrow_schema,
    conform_pl,
    from_arrow,
    polars_schema,
    stored_schema,
    to_arrow,
)
from gridflow_assets.storage import Location, open_location
from gridflow_assets.versions import (
    POINTER,
    current,
    current_files,
    grace_seconds,
    new_version,
    publish,
    sweep,
    version_dir,
)

# Dictionary-encoded, zstd-compressed row groups of 256k rows: small files that DuckDB and
# pyarrow scan fast; no wall-clock metadata so reruns are byte-identical.
PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True}
ROW_GROUP = 262_144
# Rows a ``BucketWriter`` holds at most, over all its buckets, before writing them (about
# 120 MB of bronze text).
BUFFER_ROWS = 2 * ROW_GROUP
HIVE = ds.partitioning(pa.schema([("utility", pa.string()), ("month", pa.string())]), flavor="hive")


class Warehouse:
    def __init__(self, root: str | Path, grace_s: float | None = None):
        self.loc: Location = open_location(root)
        self.grace_s = grace_seconds(grace_s)

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

    def partition_dir(self, key: str, utility: str | None = None, month: str | None = None) -> str:
        """The folder of one partition inside the filesystem (``table_dir`` when the table is
        not partitioned)."""
        if utility is None:
            return self.table_dir(key)
        if not (is_valid_utility_id(utility) and is_valid_month(month)):
            raise ValueError(f"{key}: not a partition: utility {utility!r}, month {month!r}")
        return f"{self.table_dir(key)}/utility={utility}/month={month}"

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
        exit the partition is published atomically; on an exception nothing becomes visible
        and the partial version is removed. No write at all publishes an empty table."""
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
        """Write one partition atomically; returns where it was published."""
        return self.write_table(key, df, utility, month, spec)[0]

    def write_table(
        self,
        key: str,
        df: pd.DataFrame | pl.DataFrame | pa.Table,
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> tuple[str, pa.Table]:
        """Write one partition atomically; returns where it was published and the Arrow
        table stored (what a reader gets back, for checks that run on it without reading the
        file again)."""
        with self.partition_writer(key, utility, month, spec) as w:
            arrow = w.append(to_arrow(df, w.spec), ROW_GROUP)
        return w.path, arrow

    def write_frame(
        self,
        key: str,
        frame: pl.DataFrame,
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> str:
        """Write one partition atomically from a Polars frame, one row group at a time: only
        one row group's Arrow copy exists beside the frame (the file is the one
        ``write_table`` writes, byte for byte). Returns where it was published."""
        with self.partition_writer(key, utility, month, spec) as w:
            w.append_frame(frame)
        return w.path

    def write_buckets(
        self,
        key: str,
        frames: Iterable[pl.DataFrame],
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> tuple[str, list[int]]:
        """Write one partition atomically from its meter buckets, one frame each, as they
        come (only one bucket in memory); a bucket's rows are contiguous and no row group
        spans two buckets, so ``iter_buckets`` reads them back one by one. Returns where it
        was published and the rows of each bucket."""
        with self.partition_writer(key, utility, month, spec) as w:
            for frame in frames:
                w.append_frame(frame)
                w.end_bucket()
        return w.path, w.buckets

    def vacuum(self) -> list[str]:
        """Delete every superseded version past the grace period in the whole warehouse
        (publishing a partition does this for that partition). Returns their folders."""
        deleted = []
        for info in self.loc.listing(self.loc.base, recursive=True):
            if info.is_file and info.base_name == POINTER:
                part_dir = info.path.rsplit("/", 1)[0]
                for version in sweep(self.loc, part_dir, self.grace_s):
                    deleted.append(self.loc.uri(version_dir(part_dir, version)))
        return deleted

    # -- reading ---------------------------------------------------------------------------

    def exists(self, key: str, utility: str | None = None, month: str | None = None) -> bool:
        return current(self.loc, self.partition_dir(key, utility, month)) is not None

    def files(self, key: str, utility: str | None = None, month: str | None = None) -> list[str]:
        """The current files of one partition, or of every partition of the table when
        ``utility`` is None, as paths or URLs: what DuckDB's ``read_parquet`` takes."""
        if utility is None:
            return [self.loc.uri(p) for p in self._table_files(key)]
        return [self.loc.uri(p) for p in self._files(key, utility, month) or []]

    def dataset(self, key: str) -> ds.Dataset:
        """Every current file of a table as one pyarrow dataset (``utility`` and ``month``
        columns from the folders of a partitioned table): DuckDB queries it directly on any
        filesystem."""
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
        if self.loc.local:
            return pl.read_parquet(paths, columns=columns)
        return pl.from_arrow(self.read_arrow(key, utility, month, columns))

    def read_arrow(
        self,
        key: str,
        utility: str | None = None,
        month: str | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table | None:
        """One partition's current version as Arrow (no hive columns added), or None when
        never written."""
        paths = self._files(key, utility, month)
        if paths is None:
            return None
        parts = []
        for path in paths:
            with self.loc.fs.open_input_file(path) as fh:
                parts.append(pq.ParquetFile(fh).read(columns=columns))
        # Files of one version differ at most in nullability (PartitionWriter).
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
        manifest = current(self.loc, self.partition_dir(key, utility, month))
        if manifest is None:
            return None
        return list(manifest.buckets) or [manifest.rows]

    def iter_buckets(
        self,
        key: str,
        utility: str | None = None,
        month: str | None = None,
        columns: list[str] | None = None,
    ) -> Iterator[pl.DataFrame]:
        """A partition's meter buckets one at a time (the whole partition once when it
        was written whole), all from the version current when iteration starts. Reads only
        the row groups of the bucket at hand; nothing when never written."""
        part_dir = self.partition_dir(key, utility, month)
        manifest = current(self.loc, part_dir)
        if manifest is None:
            return
        folder = version_dir(part_dir, manifest.version)
        files, start = [], 0  # (path, first row, rows) of each file
        for name, rows in manifest.files:
            files.append((f"{folder}/{name}", start, rows))
            start += rows
        offset = 0
        for rows in manifest.buckets or [manifest.rows]:
            # only the files holding rows of the bucket (a bucket's own file, when each
            # bucket was written to one: ``BucketWriter``)
            held = [f for f in files if f[1] < offset + rows and offset < f[1] + f[2]] or files
            yield self._rows([p for p, _, _ in held], offset - held[0][1], rows, columns)
            offset += rows

    def _rows(
        self, paths: list[str], offset: int, rows: int, columns: list[str] | None
    ) -> pl.DataFrame:
        """Rows ``offset`` … ``offset + rows`` of a version's files read as one table."""
        if self.loc.local:
            scan = pl.scan_parquet(paths)
            return (scan if columns is None else scan.select(columns)).slice(offset, rows).collect()
        parts, start = [], 0
        for path in paths:
            with self.loc.fs.open_input_file(path) as fh:
                pf = pq.ParquetFile(fh)
                if not parts:
                    parts.append(
                        pf.schema_arrow.empty_table().select(columns or pf.schema_arrow.names)
                    )
                for group in range(pf.num_row_groups):
                    n = pf.metadata.row_group(group).num_rows
                    lo, hi = max(offset - start, 0), min(offset + rows - start, n)
                    if lo < hi:
                        parts.append(pf.read_row_group(group, columns=columns).slice(lo, hi - lo))
                    start += n
        return pl.from_arrow(pa.concat_tables(parts, promote_options="permissive"))

    def partitions(self, key: str) -> list[tuple[str, str]]:
        """``(utility, month)`` of every published partition of a table, sorted."""
        base = self.table_dir(key) + "/"
        found = []
        for info in self.loc.listing(self.table_dir(key), recursive=True):
            parts = info.path[len(base) :].split("/")
            if (
                len(parts) == 3
                and parts[2] == POINTER
                and parts[0].startswith("utility=")
                and parts[1].startswith("month=")
            ):
                found.append((parts[0].removeprefix("utility="), parts[1].removeprefix("month=")))
        return sorted(found)

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
        """Rows of one partition, from its pointer (no data file opened); 0 when never
        written."""
        manifest = current(self.loc, self.partition_dir(key, utility, month))
        return 0 if manifest is None else manifest.rows

    def _files(self, key: str, utility: str | None, month: str | None) -> list[str] | None:
        return current_files(self.loc, self.partition_dir(key, utility, month))

    def _table_files(self, key: str) -> list[str]:
        """The current files of every partition of a table (of the table, unpartitioned)."""
        if not table(key).partitioned:
            return self._files(key, None, None) or []
        return [p for u, m in self.partitions(key) for p in self._files(key, u, m) or []]


class VersionWriter:
    """A new version of one partition being written: published atomically by the pointer
    (``publish``: the files and the rows of each meter bucket), or removed (``discard``)."""

    def __init__(
        self, store: Warehouse, key: str, utility: str | None, month: str | None, spec: Table
    ):
        self.spec = spec
        self.rows = 0
        self.path: str | None = None
        self._store = store
        self._key = key
        self._part_dir = store.partition_dir(key, utility, month)
        self._version = new_version()
        self._dir = version_dir(self._part_dir, self._version)
        self._files: list[tuple[str, int]] = []
        self._buckets: list[int] = []

    @property
    def buckets(self) -> list[int]:
        return list(self._buckets)

    def _parquet(self, name: str, schema: pa.Schema) -> pq.ParquetWriter:
        """A new file of the version."""
        self._store.loc.ensure_dir(self._dir)
        return pq.ParquetWriter(
            f"{self._dir}/{name}", schema, filesystem=self._store.loc.fs, **PARQUET_OPTIONS
        )

    def close(self) -> None:
        """Finish the version's files (then ``publish``)."""
        raise NotImplementedError

    def _abandon(self) -> None:
        """Close what is open without finishing it (``discard``)."""
        raise NotImplementedError

    def publish(self) -> None:
        try:
            publish(
                self._store.loc,
                self._part_dir,
                self._version,
                self._files,
                self._store.grace_s,
                buckets=tuple(self._buckets),
            )
        except BaseException:
            # A PUT that failed on the client may still have landed: remove the version
            # only when the pointer surely does not name it (else the sweep decides later).
            if not self._maybe_current():
                self.discard()
            raise
        self.path = self._store.loc.uri(self._dir)

    def _maybe_current(self) -> bool:
        try:
            manifest = current(self._store.loc, self._part_dir)
        except (OSError, ValueError):
            return True
        return manifest is not None and manifest.version == self._version

    def discard(self) -> None:
        """Remove the unpublished version (whatever part of it was written)."""
        try:
            self._abandon()
        except (OSError, ValueError):
            pass  # a half-written file is deleted below either way
        try:
            self._store.loc.delete_dir(self._dir)
        except FileNotFoundError:
            pass
        except OSError as exc:  # unpublished either way; sweep deletes it after the grace period
            warnings.warn(f"could not remove {self._store.loc.uri(self._dir)}: {exc}")


class PartitionWriter(VersionWriter):
    """One partition being written as a new version (``Warehouse.partition_writer``).

    The version is one Parquet file, one row group per ``write``. A chunk with nulls in a
    field an earlier chunk wrote as not nullable cannot go into that file (a Parquet file
    has one schema): the file is closed and the version goes on in a next file whose schema
    has those fields nullable. Readers of the partition read the version's files as one.
    """

    def __init__(
        self, store: Warehouse, key: str, utility: str | None, month: str | None, spec: Table
    ):
        super().__init__(store, key, utility, month, spec)
        self._writer: pq.ParquetWriter | None = None

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
        """Close the current meter bucket: the rows appended since the last one."""
        self._buckets.append(self.rows - sum(self._buckets))

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
        self._files[-1] = (self._files[-1][0], self._files[-1][1] + arrow.num_rows)
        self.rows += arrow.num_rows
        return arrow

    def _open(self, schema: pa.Schema) -> None:
        self._close_file()
        name = f"part-{len(self._files)}.parquet"
        self._writer = self._parquet(name, schema)
        self._files.append((name, 0))

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        """Finish the version's files (an empty table with the registry schema when nothing
        was written)."""
        if not self._files:
            self.append(to_arrow(pl.DataFrame(schema=polars_schema(self.spec)), self.spec), 1)
        self._close_file()

    def _abandon(self) -> None:
        try:
            self._close_file()
        finally:
            self._writer = None


class BucketWriter(VersionWriter):
    """One partition written as meter buckets whose rows come interleaved (a source read
    block by block, every block holding rows of every bucket): one Parquet file per bucket,
    all open at once, each bucket's rows in the order they came (``Warehouse.open_buckets``).

    Each bucket's rows wait in memory until it has ``ROW_GROUP`` of them, or until all the
    buckets together hold ``BUFFER_ROWS``: then they go to the bucket's file as a row group.
    Every file has the registry's schema (one schema for the version's files, whatever rows
    a bucket got); the manifest names the files in bucket order and their rows as the
    buckets', so ``iter_buckets`` reads bucket ``b`` from file ``b`` alone.
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

    def _flush(self, b: int) -> None:
        """The rows bucket ``b`` holds, to its file as one row group."""
        parts, self._waiting[b], self._held[b] = self._waiting[b], [], 0
        if not parts:
            return
        frame = parts[0] if len(parts) == 1 else pl.concat(parts)
        del parts
        if self._writers[b] is None:
            self._writers[b] = self._parquet(_bucket_file(b), self.schema)
        self._writers[b].write_table(arrow_of(frame, self.schema), row_group_size=ROW_GROUP)
        self._rows[b] += frame.height
        self.rows += frame.height

    def close(self) -> None:
        """Write what the buckets still hold and finish every bucket's file (a bucket
        that got no row is an empty file)."""
        if self._closed:
            return
        for b in range(self._n):
            self._flush(b)
            if self._writers[b] is None:
                self._writers[b] = self._parquet(_bucket_file(b), self.schema)
            self._writers[b].close()
        self._closed = True
        self._files = [(_bucket_file(b), n) for b, n in enumerate(self._rows)]
        self._buckets = list(self._rows)

    def written(self, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
        """The closed, unpublished buckets read back one at a time, as stored."""
        for name, rows in self._files:
            yield self._store._rows([f"{self._dir}/{name}"], 0, rows, columns)

    def _abandon(self) -> None:
        self._waiting = [[] for _ in range(self._n)]
        writers, self._writers = self._writers, [None] * self._n
        for writer in writers:
            if writer is not None:
                with suppress(OSError, ValueError):  # deleted with the version either way
                    writer.close()


def _bucket_file(bucket: int) -> str:
    return f"part-{bucket}.parquet"


def _widens(schema: pa.Schema, new: pa.Schema) -> bool:
    """Whether ``new`` has a nullable field where ``schema`` has it not nullable."""
    return any(f.nullable and not schema.field(f.name).nullable for f in new)


def _relaxed(schema: pa.Schema, new: pa.Schema) -> pa.Schema:
    fields = [f.with_nullable(True) if new.field(f.name).nullable else f for f in schema]
    return pa.schema(fields, metadata=schema.metadata)
