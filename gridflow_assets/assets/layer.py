"""The run shape: one Dagster step per layer and partition, data written in the step, every
table's checks evaluated there on the frame in memory.

A partition run used to be ~40 steps (one per asset, one per table's checks) writing ~550
events; each check step read its table back from disk. Here a layer's asset step writes
each table (``MaterializeResult``: no IO-manager, input or output-handling events), then
evaluates that table's checks and reports them as asset-check evaluations of the partition
(``checks.factory.report_checks``). A failed blocking (ERROR) check stops what is built from
that table in the step, and Dagster fails the step after it (as for a blocking check step),
so the downstream layers are skipped and the run fails.

Asset specs come from the registry: description, group (= layer), kinds, owners, tags,
column schema and deps (the tables it reads) are the table's declaration, turned into Dagster
attributes once here (``table_attributes``, ``asset_spec``) rather than at every asset.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import wraps

import dagster as dg
import pandas as pd
import polars as pl

from gridflow_assets.checks.factory import TableChecks, against_latest, plans_for, report_checks
from gridflow_assets.registry import table
from gridflow_assets.registry.derive import column_schema, conform_pl
from gridflow_assets.registry.partitions import split_key
from gridflow_assets.silver.adapters import storage_spec
from gridflow_assets.store.frames import as_polars
from gridflow_assets.store.landing import FINGERPRINT_TAG
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets.store.writers import VersionWriter

# Seconds spent in gridflow's own code per run id, in this process (the runner reads it to
# tell the data work from Dagster's bookkeeping around it). A long-lived code server keeps
# the last few hundred runs only.
OWN_SECONDS: dict[str, float] = {}
OWN_SECONDS_KEPT = 512

# Who owns each layer's assets; a layer not named here is data engineering's.
OWNERS = {"experience": "team:analytics", "dq": "team:data-stewards"}
DATA_ENGINEERING = "team:data-engineering"
ENGINE = "polars"


def table_metadata(key: str) -> dict:
    """Static metadata for an asset: column schema (from the registry), PII columns."""
    spec = table(key)
    meta = {
        "dagster/column_schema": column_schema(spec),
        "grain": spec.grain,
        "primary_key": ", ".join(spec.primary_key) or "—",
    }
    if spec.pii_columns:
        meta["pii_columns"] = ", ".join(spec.pii_columns)
    return meta


def column_lineage(
    key: str, parents: list[str], utility: str | None
) -> dg.TableColumnLineage | None:
    """Column lineage where it is cheap: a column depends on the column of the same name in
    each upstream table that has one (ids, keys, measures carried through the layers).
    Renamed or derived columns (bronze text → silver types) are not traced here; their row
    lineage is ``source_file`` / ``source_row``."""
    own = storage_spec(key, utility).column_names
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for parent in parents:
        try:
            theirs = set(storage_spec(parent, utility).column_names)
        except KeyError:  # an upstream that is not a registry table
            continue
        for name in own:
            if name in theirs:
                deps.setdefault(name, []).append(
                    dg.TableColumnDep(asset_key=dg.AssetKey(parent.split("/")), column_name=name)
                )
    return dg.TableColumnLineage(deps_by_column=deps) if deps else None


def upstream(key: str) -> tuple[str, ...]:
    """The tables (``layer/name``) the registry table ``key`` is built from."""
    return table(key).reads


def layer_attributes(key: str, layer: str, kinds: set[str]) -> dict:
    """What every asset of ``layer`` declares (as ``dg.AssetSpec`` and ``dg.asset`` take
    it): key, group (= layer), kinds, owners and tags."""
    return {
        "key": dg.AssetKey(key.split("/")),
        "group_name": layer,
        "kinds": kinds,
        "owners": [OWNERS.get(layer, DATA_ENGINEERING)],
        "tags": {"layer": layer},
    }


def table_attributes(
    key: str,
    deps: Iterable[str] | None = None,
    engine: str = ENGINE,
    metadata: dict | None = None,
) -> dict:
    """A registry table (``layer/name``) as Dagster asset attributes: its layer's, its
    description, its column schema (``table_metadata``, unless ``metadata``) and as deps the
    tables it reads (unless ``deps``)."""
    spec = table(key)
    return {
        **layer_attributes(key, spec.layer, {"deltalake", engine}),
        "description": spec.description,
        "metadata": table_metadata(key) if metadata is None else metadata,
        "deps": [dg.AssetKey(d.split("/")) for d in (upstream(key) if deps is None else deps)],
    }


def asset_spec(key: str, skippable: bool = True, **attributes) -> dg.AssetSpec:
    """The Dagster spec of a registry table (``layer/name``; ``attributes``: those of
    ``table_attributes``). ``skippable``: a layer step may leave it unwritten."""
    return dg.AssetSpec(**table_attributes(key, **attributes), skippable=skippable)


def table_location(key: str, writer: VersionWriter) -> dict:
    """Where a materialization's table is (``dagster/uri``, ``dagster/table_name``), its
    Delta version after the write, and whether the write committed (False: the partition
    already held the same bytes)."""
    return {
        "dagster/uri": str(writer.path),
        "dagster/table_name": key.replace("/", "."),
        "delta_version": -1 if writer.version is None else writer.version,
        "committed": writer.committed,
    }


def assert_check_order(keys: list[str]) -> None:
    """A layer writes and checks its tables in this order, and a check reads the other
    tables it needs (an orphan check's parent, the accounting's rejects) from the
    warehouse: each of those in the same layer must come first."""
    for i, key in enumerate(keys):
        later = {d for plan in plans_for(table(key)) for d in plan.deps} & set(keys[i + 1 :])
        if later:
            raise ValueError(f"{key} is checked against {sorted(later)}, built after it")


def timed_layer(body: Callable[..., None]) -> Callable[..., Iterator]:
    """A layer step: its tables are written and checked by the body, then committed back to
    back (``LayerRun.finish``), and only then are their materializations and checks
    reported. An exception in the body removes every table it wrote; nothing is committed.

    Also counts the time spent inside the body and the commits (our code) apart from the
    time Dagster spends storing what is yielded, into ``OWN_SECONDS`` of the run."""

    @wraps(body)
    def wrapper(context: dg.AssetExecutionContext, *args, **kwargs) -> Iterator:
        run_id = context.run_id
        started = time.perf_counter()
        run = None
        try:
            body(context, *args, **kwargs)
            run = _ACTIVE.pop(id(context), None)
            if run is not None:
                run.store.commit_staged()
        except BaseException:
            run = run or _ACTIVE.pop(id(context), None)
            if run is not None:
                run.store.discard_staged()
            raise
        finally:
            OWN_SECONDS[run_id] = OWN_SECONDS.pop(run_id, 0.0) + time.perf_counter() - started
            if len(OWN_SECONDS) > OWN_SECONDS_KEPT:
                del OWN_SECONDS[next(iter(OWN_SECONDS))]  # the oldest run
        if run is not None:
            yield from run.events()

    return wrapper


# the LayerRun of each layer step under way in this process, by its context
_ACTIVE: dict[int, LayerRun] = {}


@dataclass
class LayerRun:
    """One layer step of one partition: writes tables, reports their checks, and knows
    whether a blocking check has failed."""

    context: dg.AssetExecutionContext
    store: Warehouse
    utility: str | None = None
    month: str | None = None
    failed: list[str] = field(default_factory=list)
    # tables written by this step, as stored: later checks of the step read them from here
    published: dict[str, pl.DataFrame] = field(default_factory=dict)
    # the step's events, reported once its tables are committed (``finish``)
    _events: list = field(default_factory=list)

    @classmethod
    def start(cls, context: dg.AssetExecutionContext, store: Warehouse) -> LayerRun:
        utility = month = None
        if context.has_partition_key:
            utility, month = split_key(context.partition_key)
        store.commit_info.update(run_id=context.run_id)
        drop = context.run.tags.get(FINGERPRINT_TAG)
        if drop:
            store.commit_info["drop_fingerprint"] = drop
        store.staging = True
        run = cls(context, store, utility, month)
        _ACTIVE[id(context)] = run
        return run

    def events(self) -> Iterator[dg.MaterializeResult | dg.AssetCheckEvaluation]:
        """The step's events, once its tables are committed (in the order they were built:
        a table's parents before it, so dimensions, facts, aggregates): each table's
        materialization with its Delta version, then its checks, pointed at it."""
        pending, self._events = self._events, []
        checks: list[dg.AssetCheckEvaluation] = []
        for item in pending:
            if isinstance(item, dg.AssetCheckEvaluation):
                checks.append(item)
                continue
            yield from against_latest(self.context, checks)
            checks = []
            if isinstance(item, _Materialized):
                meta = {**item.meta, **table_location(item.key, item.writer)}
                item = dg.MaterializeResult(
                    asset_key=dg.AssetKey(item.key.split("/")), metadata=meta
                )
            yield item
        yield from against_latest(self.context, checks)

    def report(self, key: str, metadata: dict) -> None:
        """The materialization of an asset the step wrote that is not a table (files),
        reported with the step's tables."""
        self._events.append(
            dg.MaterializeResult(asset_key=dg.AssetKey(key.split("/")), metadata=metadata)
        )

    def _collect(self, gen: Iterator) -> list[str]:
        """Keep the events of ``gen`` for ``finish``; returns its return value."""
        while True:
            try:
                self._events.append(next(gen))
            except StopIteration as stop:
                return stop.value

    @property
    def blocked(self) -> bool:
        return bool(self.failed)

    def bucketed(self, key: str) -> BucketedTable:
        """A table of this partition to be written meter bucket by meter bucket
        (``BucketedTable.add``), published later with ``publish_buckets``."""
        spec = storage_spec(key, self.utility)
        writer = self.store.open_partition(key, self.utility, self.month, spec)
        checks = TableChecks(
            self.context, self.store, key, self.utility, self.month, self.published
        )
        return BucketedTable(key, writer, checks)

    def publish_buckets(
        self, table_: BucketedTable, parents: Iterable[str] = (), metadata: dict | None = None
    ) -> None:
        """Publish a bucketed table (every bucket added), materialize it and report its
        checks, read the other tables from ``published`` or the warehouse."""
        writer = table_.writer
        writer.close()
        writer.publish()
        meta = {
            "dagster/row_count": writer.rows,
            "meter_buckets": len(writer.buckets),
            **(metadata or {}),
        }
        self._materialized(table_.key, parents, meta, writer)
        self.failed += self._collect(table_.checks.report())

    def _materialized(
        self, key: str, parents: Iterable[str], meta: dict, writer: VersionWriter
    ) -> None:
        lineage = column_lineage(key, sorted(parents), self.utility)
        if lineage is not None:
            meta["dagster/column_lineage"] = lineage
        self._events.append(_Materialized(key, meta, writer))

    def publish(
        self,
        key: str,
        df: pd.DataFrame | pl.DataFrame | None,
        parents: Iterable[str] = (),
        metadata: dict | None = None,
    ) -> None:
        """Write ``df`` as this partition of ``key``, materialize it, evaluate its checks.

        ``None``: the utility does not deliver what the table is built from (the New York
        utilities send no bills): nothing is written and nothing is checked, and the
        materialization says why the table is empty.
        """
        asset_key = dg.AssetKey(key.split("/"))
        if df is None:
            self._events.append(
                dg.MaterializeResult(
                    asset_key=asset_key,
                    metadata={"delivered": False, "dagster/row_count": 0, **(metadata or {})},
                )
            )
            return
        spec = storage_spec(key, self.utility)
        # The frame as stored (registry order and Polars types: what a reader of the file
        # gets back), which the checks then judge without converting the Arrow table back.
        frame = conform_pl(as_polars(df), spec)
        writer = self.store.frame_writer(key, frame, self.utility, self.month, spec=spec)
        self.published[key] = frame
        self._materialized(
            key, parents, {"dagster/row_count": frame.height, **(metadata or {})}, writer
        )
        self.failed += self._collect(
            report_checks(
                self.context, self.store, key, frame, self.utility, self.month, self.published
            )
        )


@dataclass
class _Materialized:
    """A table's materialization, reported once the table is committed."""

    key: str
    meta: dict
    writer: VersionWriter


@dataclass
class BucketedTable:
    """A table being written bucket by bucket: each bucket is appended to the unpublished
    partition and fed to the table's checks, then dropped (``LayerRun.bucketed``)."""

    key: str
    writer: VersionWriter
    checks: TableChecks

    def add(self, frame: pl.DataFrame) -> None:
        stored = self.writer.append_frame(frame)  # conformed once, as the checks judge it
        self.writer.end_bucket()
        self.checks.add(stored)

    def discard(self) -> None:
        """Remove what was written (the step failed before publishing)."""
        self.writer.discard()
