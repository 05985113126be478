"""The warehouse's table format: every table a Delta Lake table (``deltalake``, delta-rs).

A table is the folder ``<root>/<layer>/<name>/`` with its ``_delta_log/``; a month × utility
table is partitioned by ``utility`` and ``month`` (strings, ``month`` as ``YYYY-MM``), which
Delta keeps in its log rather than in the files. gridflow writes the Parquet files of a
partition itself (``warehouse.py``) and publishes them with one commit that replaces exactly
that partition (an overwrite whose partition filter is that partition): every Delta reader
(Polars ``scan_delta``, DuckDB ``delta_scan``, Spark, Trino, pandas through deltalake) sees
the old partition or the new one, never half, and never a file no commit names.

A data file's name says where it belongs and what it holds::

    part-<bucket:05>-<seq:03>-<digest>-<token>.parquet

``bucket``: the meter bucket (0 for a partition written whole); ``seq``: the file's place in
its bucket; ``digest``: the first 16 hex digits of the file's SHA-256 (``-`` where the file
was streamed to storage as written), so that a partition whose files would be the same
bytes is not committed again; ``token``: unique per write, so a new file never has the
name of one it replaces.

Each commit carries in its metadata the Dagster run, the drop's fingerprint, gridflow's
version, the partition and the rows it added and removed (``gridflow history``).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import metadata as importlib_metadata

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, CommitProperties, RemoveAction

from gridflow_assets.store.storage import ENDPOINT_ENV, Location, StorageError, open_location

log = logging.getLogger(__name__)

PARTITION_COLUMNS = ("utility", "month")
RETENTION_ENV = "GRIDFLOW_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30
COMMIT_ATTEMPTS = 12
# A read within this many seconds of the last one reuses it (a step reads the same tables
# many times over); a commit always reads the log anew first.
FRESH_S = 0.5
LOG_DIR = "_delta_log"
STREAMED = "stream"  # the digest of a file streamed to storage as written
META_PREFIX = "gridflow."
# commits made by this process and the seconds they took (the bench reports them)
COMMIT_STATS = {"commits": 0, "seconds": 0.0}


def retention_days(value: float | None = None) -> float:
    """How long superseded versions stay readable: ``value`` if given, else
    ``GRIDFLOW_RETENTION_DAYS``, else 30 days."""
    if value is not None:
        return float(value)
    text = os.environ.get(RETENTION_ENV)
    if text is None:
        return float(DEFAULT_RETENTION_DAYS)
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if days < 0:
        raise StorageError(f"{RETENTION_ENV}={text!r}: not a number of days >= 0")
    return days


def table_configuration(days: float) -> dict[str, str]:
    """Delta table properties for a retention of ``days``: the log and the files a commit
    removed are both kept that long, so time travel reaches back ``days``."""
    interval = f"interval {retention_hours(days)} hours"
    return {
        "delta.logRetentionDuration": interval,
        "delta.deletedFileRetentionDuration": interval,
    }


def retention_hours(days: float) -> int:
    return max(round(days * 24), 0)


@cache
def gridflow_version() -> str:
    try:
        return importlib_metadata.version("gridflow")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def storage_options(loc: Location) -> dict[str, str] | None:
    """delta-rs's options for the location: none for a local folder. For an object store,
    delta-rs reads the endpoint, credentials and region from the same standard ``AWS_*``
    variables as pyarrow; plain http is allowed only when the endpoint says http. Commits
    use S3's conditional writes (If-None-Match), so concurrent writers need no lock service."""
    if loc.local:
        return None
    for name in ENDPOINT_ENV:
        endpoint = os.environ.get(name)
        if endpoint:
            opts = {"AWS_ENDPOINT_URL": endpoint}
            if endpoint.startswith("http://"):
                opts["AWS_ALLOW_HTTP"] = "true"
            return opts
    return {}


@dataclass(frozen=True)
class DataFile:
    """One file of a table's current version: its path inside the table folder, its
    partition (None, None for a table that is not partitioned), rows and bytes. Bucket,
    place and digest are read from its name (``file_name``)."""

    path: str
    utility: str | None
    month: str | None
    rows: int
    size: int = 0

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def bucket(self) -> int:
        return _name_field(self.name, 1)

    @property
    def seq(self) -> int:
        return _name_field(self.name, 2)

    @property
    def digest(self) -> str:
        parts = self.name.split("-")
        return parts[3] if len(parts) >= 5 else STREAMED


def _name_field(name: str, i: int) -> int:
    parts = name.split("-")
    try:
        return int(parts[i])
    except (IndexError, ValueError):
        return 0


def file_name(bucket: int, seq: int, token: str, digest: str = STREAMED) -> str:
    return f"part-{bucket:05d}-{seq:03d}-{digest}-{token}.parquet"


def delta_schema(schema: pa.Schema, partitioned: bool) -> pa.Schema:
    """The table's Delta schema: the registry's columns, nullable (not-null is a check of
    the registry's, reported to the steward, not a writer's refusal), then the partition
    columns."""
    if not partitioned:
        return pa.schema([f.with_nullable(True) for f in schema])
    fields = [f.with_nullable(True) for f in schema if f.name not in PARTITION_COLUMNS]
    fields += [pa.field(name, pa.string(), nullable=True) for name in PARTITION_COLUMNS]
    return pa.schema(fields)


# The logs this thread has open, by table URI and instant (``open_log``): every warehouse
# object of a process reads a table's log once and then only what is new. Per thread,
# because a delta-rs table handle is not shared between threads; bounded, as tests open
# many warehouses.
_OPEN = threading.local()
OPEN_LOGS = 128


def open_log(uri: str, options: dict[str, str] | None, as_of: datetime | None) -> DeltaLog:
    """The thread's ``DeltaLog`` of a table, opened at first use."""
    logs: OrderedDict = getattr(_OPEN, "logs", None) or OrderedDict()
    _OPEN.logs = logs
    key = (uri, as_of, tuple(sorted((options or {}).items())))
    found = logs.get(key)
    if found is None:
        found = logs[key] = DeltaLog(uri, options, as_of)
        if len(logs) > OPEN_LOGS:
            logs.popitem(last=False)
    else:
        logs.move_to_end(key)
    return found


class DeltaLog:
    """One table's Delta log, opened lazily and kept up to date between calls (or pinned to
    an instant, ``as_of``): its current files by partition, commits and history."""

    def __init__(
        self,
        uri: str,
        options: dict[str, str] | None,
        as_of: datetime | None = None,
    ):
        self.uri = uri
        self.options = options
        self.as_of = as_of
        self._dt: DeltaTable | None = None
        self._read_at = 0.0  # when the log was last read (time.monotonic)
        self._files: tuple[int, dict[tuple[str | None, str | None], list[DataFile]]] | None = None
        self._loc: Location | None = None  # the table's folder, to read log entries

    def table(self) -> DeltaTable | None:
        """The table at its newest version (or at ``as_of``), None when it does not exist
        (yet, or at ``as_of``)."""
        try:
            if self._dt is None:
                dt = DeltaTable(self.uri, storage_options=self.options)
                if self.as_of is not None:
                    version = _version_at(dt, self.as_of)
                    if version is None:
                        return None  # the table was created after ``as_of``
                    dt.load_as_version(version)
                self._dt = dt
                self._read_at = time.monotonic()
            elif self.as_of is None and time.monotonic() - self._read_at > FRESH_S:
                self._dt.update_incremental()
                self._read_at = time.monotonic()
        except TableNotFoundError:
            return None
        except DeltaError as exc:
            if self.as_of is not None and "version" in str(exc).lower():
                return None  # the table was created after ``as_of``
            raise StorageError(f"{self.uri}: {exc}") from None
        except OSError as exc:
            raise StorageError(f"{self.uri}: {exc}") from None
        return self._dt

    def stale(self) -> None:
        """The next read reads what is new in the log (without reopening it)."""
        self._read_at = 0.0

    def refresh(self) -> None:
        """Forget what was read of the log: the next call reads it anew."""
        self._dt = None
        self._files = None
        self._read_at = 0.0

    def version(self) -> int | None:
        dt = self.table()
        return None if dt is None else dt.version()

    def files(self) -> dict[tuple[str | None, str | None], list[DataFile]]:
        """The current files of every partition, each partition's in bucket order."""
        dt = self.table()
        if dt is None:
            return {}
        if self._files is not None and self._files[0] == dt.version():
            return self._files[1]
        found = _grouped(dt)
        self._files = (dt.version(), found)
        return found

    def partition(self, utility: str | None, month: str | None) -> list[DataFile] | None:
        """The current files of one partition, None when it has none."""
        return self.files().get((utility, month))

    def ensure(
        self, schema: pa.Schema, partitioned: bool, days: float, append_only: bool = False
    ) -> DeltaTable:
        """The table, created when missing (by this writer or a concurrent one) and its
        schema widened by the columns ``schema`` adds (a bronze table takes each utility's
        delivered columns). ``append_only``: created with ``delta.appendOnly``, so that no
        writer, ours or another, can remove or update a row."""
        if self.as_of is not None:
            raise StorageError(f"{self.uri}: a warehouse read as of {self.as_of} is read-only")
        wanted = delta_schema(schema, partitioned)
        self.stale()  # a writer reads the newest log
        dt = self.table()
        if dt is None:
            try:
                # "error", not "ignore": two creators racing with "ignore" can both commit
                # a CREATE (the second as version 1, with a new table id)
                DeltaTable.create(
                    self.uri,
                    wanted,
                    mode="error",
                    partition_by=list(PARTITION_COLUMNS) if partitioned else None,
                    configuration={
                        **table_configuration(days),
                        **({"delta.appendOnly": "true"} if append_only else {}),
                    },
                    storage_options=self.options,
                    commit_properties=_properties({"operation": "create"}),
                )
            except DeltaError as exc:  # a concurrent writer created it first
                log.info("%s: created concurrently (%s)", self.uri, exc)
            self._dt = None
            dt = self.table()
            if dt is None:
                raise StorageError(f"{self.uri}: could not create the Delta table")
        have = {f.name for f in pa.schema(dt.schema())}
        added = [f for f in wanted if f.name not in have]
        if added:
            from deltalake.schema import Field

            dt.alter.add_columns([Field.from_arrow(f) for f in added])
            dt.update_incremental()
        return dt

    def commit(
        self,
        adds: list[AddAction],
        partition: tuple[str, str] | None,
        info: dict[str, str],
    ) -> int:
        """Replace ``partition`` (the whole table when None) by the files ``adds`` names, in
        one commit. A conflict with a concurrent commit is retried (bounded, logged): the
        log is read again and the partition replaced as it then stands. Returns the table
        version committed."""
        dt = self.table()
        assert dt is not None, "ensure() first"
        info = {**info, "commit_id": uuid.uuid4().hex}
        filters = None
        if partition is not None:
            filters = [("utility", "=", partition[0]), ("month", "=", partition[1])]
        wanted = pa.schema(dt.schema())
        started = time.perf_counter()
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            base = dt.version()
            try:
                dt.create_write_transaction(
                    adds,
                    mode="overwrite",
                    schema=wanted,
                    partition_by=list(PARTITION_COLUMNS) if partition is not None else None,
                    partition_filters=filters,
                    commit_properties=_properties(info),
                )
                break
            except CommitFailedError as exc:
                if attempt == COMMIT_ATTEMPTS:
                    raise StorageError(
                        f"{self.uri}: commit failed after {attempt} attempts: {exc}"
                    ) from None
                log.warning(
                    "%s: commit conflict (attempt %d of %d), retrying: %s",
                    self.uri,
                    attempt,
                    COMMIT_ATTEMPTS,
                    exc,
                )
                time.sleep(random.uniform(0.01, 0.05) * attempt)
                dt.update_incremental()
        # the handle does not move to the version it committed: find it by the commit's id,
        # in the log's own entries (``history()``'s version labels can be off while other
        # writers commit: two writers were told the same version)
        dt.update_incremental()
        version = self._version_of(info["commit_id"], base, dt.version())
        if version is None:  # the handle did not see its own commit yet: read the log anew
            dt = DeltaTable(self.uri, storage_options=self.options)
            version = self._version_of(info["commit_id"], base, dt.version())
        if version is None:
            raise StorageError(f"{self.uri}: commit {info['commit_id']} is not in the log")
        log.debug("%s: %s committed as version %d (read %d)", self.uri, partition, version, base)
        # other commits landed between our read and our commit, or we retried after one
        if version - base > 1 or attempt > 1:
            self._settle(version, adds, partition, info)
        self._dt = dt
        self._read_at = time.monotonic()
        COMMIT_STATS["commits"] += 1
        COMMIT_STATS["seconds"] += time.perf_counter() - started
        return version

    def append(self, data: pa.Table, partitioned: bool, info: dict[str, str]) -> int:
        """Add ``data``'s rows to the table in one commit (an append never conflicts with
        another); returns the version committed. The table must exist (``ensure``)."""
        dt = self.table()
        assert dt is not None, "ensure() first"
        wanted = pa.schema(dt.schema())
        write_deltalake(
            dt,
            data.select(wanted.names).cast(wanted),
            mode="append",
            partition_by=list(PARTITION_COLUMNS) if partitioned else None,
            commit_properties=_properties({**info, "commit_id": uuid.uuid4().hex}),
        )
        self.stale()
        COMMIT_STATS["commits"] += 1
        return self.table().version()

    def _version_of(self, commit_id: str, base: int, newest: int) -> int | None:
        """The version whose log entry holds ``commit_id``, among base+1 … newest."""
        if self._loc is None:
            self._loc = open_location(self.uri)
        loc = self._loc
        for version in range(base + 1, newest + 1):
            entry = loc.bytes_or_none(loc.path("_delta_log", f"{version:020d}.json"))
            if entry is not None and commit_id.encode() in entry:
                return version
        return None

    def _settle(
        self,
        version: int,
        adds: list[AddAction],
        partition: tuple[str, str] | None,
        info: dict[str, str],
    ) -> None:
        """Commits landed between this writer's read of the log and its commit. delta-rs
        reports a conflict when one of them removed what this overwrite read, but not when
        one added files to the partition (a first write of it, above all): those files
        would stay beside this writer's. So the partition as this commit left it (its
        version) is read back, and files another writer committed into it before this
        commit are removed by a second commit: the last writer wins whole. (A writer that
        committed after this one does the same against it.)"""
        ours = {a.path for a in adds}
        at = DeltaTable(self.uri, version=version, storage_options=self.options)
        before = {path for path, _ in _in_partition(at, partition)} - ours
        values = dict(zip(PARTITION_COLUMNS, partition, strict=True)) if partition else {}
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            if not before:
                return
            latest = DeltaTable(self.uri, storage_options=self.options)
            others = [(p, size) for p, size in _in_partition(latest, partition) if p in before]
            if not others:
                return
            log.warning(
                "%s: partition %s was written concurrently; removing the earlier writer's "
                "%d file(s)",
                self.uri,
                "/".join(partition or ("(whole table)",)),
                len(others),
            )
            now = int(time.time() * 1000)
            removes = [RemoveAction(path, True, now, size, values) for path, size in others]
            try:
                latest.create_write_transaction(
                    removes,
                    mode="append",
                    schema=pa.schema(latest.schema()),
                    partition_by=list(PARTITION_COLUMNS) if partition else None,
                    commit_properties=_properties(
                        {**info, "commit_id": uuid.uuid4().hex, "operation": "settle"}
                    ),
                )
                return
            except DeltaError as exc:  # another writer settled at the same time
                log.warning("%s: settling conflicted (attempt %d): %s", self.uri, attempt, exc)
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise StorageError(f"{self.uri}: could not settle partition {partition} after retries")

    def history(self, utility: str | None = None, month: str | None = None) -> list[dict]:
        """The table's commits, newest first (those of one partition when ``utility`` is
        given): version, time, operation, partition, run, drop fingerprint, gridflow's
        version, rows added and removed (None where a commit did not record them)."""
        dt = self.table()
        found = []
        for entry in [] if dt is None else dt.history():
            meta = {k[len(META_PREFIX) :]: v for k, v in entry.items() if k.startswith(META_PREFIX)}
            part = meta.get("partition", "")
            if utility is not None and part != f"{utility}/{month}":
                continue
            found.append(
                {
                    "version": entry["version"],
                    "time": datetime.fromtimestamp(entry["timestamp"] / 1000, UTC),
                    "operation": entry.get("operation", ""),
                    "partition": part,
                    "run_id": meta.get("run_id", ""),
                    "drop_fingerprint": meta.get("drop_fingerprint", ""),
                    "gridflow_version": meta.get("gridflow_version", ""),
                    "rows_added": _int(meta.get("rows_added")),
                    "rows_removed": _int(meta.get("rows_removed")),
                }
            )
        return found


def _int(text: str | None) -> int | None:
    return None if text in (None, "") else int(text)


def _version_at(dt: DeltaTable, when: datetime) -> int | None:
    """The newest version committed at or before ``when``, by the commits' own timestamps
    (an object store's listing times are whole seconds: delta-rs's ``load_as_version`` by
    datetime would take a version committed later in the same second)."""
    limit = when.timestamp() * 1000
    for entry in dt.history():
        if entry["timestamp"] <= limit:
            return int(entry["version"])
    return None


def _actions(dt: DeltaTable) -> dict[str, list]:
    """The loaded version's files: path, size_bytes, num_records and, for a partitioned
    table, utility and month. (Unflattened: flattening converts every column's statistics,
    with their field metadata, which costs ~40 ms on a wide table.)"""
    table = pa.table(dt.get_add_actions(flatten=False))
    out = table.select(["path", "size_bytes", "num_records"]).to_pydict()
    if "partition" in table.column_names:
        part = table.column("partition").combine_chunks()
        for name in PARTITION_COLUMNS:
            out[name] = part.field(name).to_pylist()
    return out


def _grouped(dt: DeltaTable) -> dict[tuple[str | None, str | None], list[DataFile]]:
    """The loaded version's files by partition ((None, None): a table not partitioned),
    each partition's in bucket order."""
    actions = _actions(dt)
    n = len(actions["path"])
    found: dict[tuple[str | None, str | None], list[DataFile]] = {}
    for path, utility, month, rows, size in zip(
        actions["path"],
        actions.get("utility", [None] * n),
        actions.get("month", [None] * n),
        actions["num_records"],
        actions["size_bytes"],
        strict=True,
    ):
        found.setdefault((utility, month), []).append(
            DataFile(path, utility, month, int(rows or 0), int(size))
        )
    for entries in found.values():
        entries.sort(key=lambda f: (f.bucket, f.seq, f.name))
    return found


def _in_partition(dt: DeltaTable, partition: tuple[str, str] | None) -> list[tuple[str, int]]:
    """(path, size) of the files of one partition (of the whole table: None) in the
    table's loaded version."""
    grouped = _grouped(dt)
    files = grouped.get(partition, []) if partition else [f for fs in grouped.values() for f in fs]
    return [(f.path, f.size) for f in files]


def _properties(info: dict[str, str]) -> CommitProperties:
    meta = {f"{META_PREFIX}{k}": str(v) for k, v in info.items()}
    meta[f"{META_PREFIX}gridflow_version"] = gridflow_version()
    # delta-rs itself retries a commit that only races commits of other partitions; a
    # conflict it cannot resolve (the same partition) is retried, and logged, by ``commit``
    return CommitProperties(custom_metadata=meta)


def add_action(path: str, size: int, partition: tuple[str, str] | None, rows: int) -> AddAction:
    values = dict(zip(PARTITION_COLUMNS, partition, strict=True)) if partition else {}
    return AddAction(
        path, size, values, int(time.time() * 1000), True, json.dumps({"numRecords": rows})
    )
