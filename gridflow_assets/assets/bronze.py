"""Bronze: every landed row of a complete drop, as delivered (text) plus lineage."""

import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl

from gridflow_assets.assets.layer import BucketedTable, LayerRun, asset_spec, timed_layer
from gridflow_assets.checks.factory import TableChecks
from gridflow_assets.dq import deliveries
from gridflow_assets.registry.partitions import month_utility_partitions
from gridflow_assets.registry.tables import BRONZE_TABLES
from gridflow_assets.silver.adapters import get_utility, storage_spec
from gridflow_assets.silver.pipeline import (
    bucket_count,
    chunk_readings,
    meter_bucket,
    readings_source,
)
from gridflow_assets.store.landing import (
    Drop,
    DropError,
    SourceFile,
    expected_rows,
    find_drop,
    iter_source,
    read_source,
    verify_manifest,
)
from gridflow_assets.store.resources import GridflowPaths
from gridflow_assets.store.writers import BucketWriter

KEYS = {f"bronze/{name}": name for name in BRONZE_TABLES}


@dataclass
class Landed:
    """One bronze table read from the drop, not yet published: the whole frame, or (the
    readings of a partition beyond one meter bucket) a writer holding its buckets."""

    frame: pl.DataFrame | None
    writer: BucketWriter | None
    ragged_rows: int
    seconds: float


@dg.multi_asset(
    name="bronze_tables",
    specs=[asset_spec(key) for key in KEYS],
    partitions_def=month_utility_partitions,
    can_subset=True,
)
@timed_layer
def bronze_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """Read the partition's drop: manifest first, then every file, and only then publish.

    All files are read before any table is published, so a drop with one unreadable file
    changes nothing in the warehouse. A utility that does not deliver a table (the New York
    utilities send no bills) gets no partition of it. The readings of a partition of more
    than ``GRIDFLOW_CHUNK_READINGS`` readings are never held whole: they are written as
    they are read, each row to its meter's bucket (the buckets silver reads one by one),
    and the table's checks are fed the buckets read back one at a time.
    """
    run = LayerRun.start(context, paths.store())
    utility = get_utility(run.utility)
    drop = Drop(run.utility, run.month, Path(paths.landing) / run.utility / run.month)
    try:
        drop = find_drop(paths.landing, run.utility, run.month)
        _land_all(run, utility, drop)
    except DropError as exc:
        _record(paths, utility, drop, context.run_id, exc)
        raise
    _record(paths, utility, drop, context.run_id)


def _record(
    paths: GridflowPaths, utility, drop: Drop, run_id: str, error: DropError | None = None
) -> None:
    """The drop's outcome into ``dq/deliveries``, committed at once (outside the step's
    staged tables): a rejected drop is then seen by the steward though it wrote nothing."""
    deliveries.record(
        paths.store(), drop, utility.expected_delivery_day, utility.timezone, run_id, error
    )


def _land_all(run: LayerRun, utility, drop: Drop) -> None:
    """Read every delivered file of the drop, then publish its tables."""
    context = run.context
    manifest = verify_manifest(drop)
    selected = {"/".join(k.path) for k in context.selected_asset_keys}
    landed: dict[str, Landed] = {}
    try:
        for key, name in KEYS.items():
            if key in selected and name in utility.sources:
                source = utility.sources[name]
                readings = name == readings_source(utility)
                landed[key] = _land(run, key, drop, source, manifest, readings)
        for key, name in KEYS.items():
            if key in selected:
                _publish(run, key, landed.pop(key, None), drop, utility.sources.get(name))
    except BaseException:
        _discard(landed)
        raise


def _publish(
    run: LayerRun, key: str, table: Landed | None, drop: Drop, source: SourceFile | None
) -> None:
    """Publish one landed table (None: not delivered by the utility), materialize it and
    report its checks: a bucketed one's checks fed its buckets read back one by one."""
    meta = {"drop": drop.name}
    if table is None:
        run.publish(key, None, metadata=meta)
        return
    meta.update(
        {
            "source_file": source.filename,
            "read_seconds": table.seconds,
            "ragged_rows": table.ragged_rows,
        }
    )
    if table.writer is None:
        run.publish(key, table.frame, metadata=meta)
        return
    try:
        checks = TableChecks(run.context, run.store, key, run.utility, run.month, run.published)
        for bucket in table.writer.written():
            checks.add(bucket)
    except BaseException:
        table.writer.discard()
        raise
    run.publish_buckets(BucketedTable(key, table.writer, checks), metadata=meta)


def _land(
    run: LayerRun, key: str, drop: Drop, source: SourceFile, manifest: dict | None, readings: bool
) -> Landed:
    """Read one delivered file: whole, or (the readings) in meter buckets when its rows are
    more than one bucket's. The rows known before reading plan the buckets; should the rows
    read give another count (a quoted field spanning lines), the file is read again into
    the count they give: the count silver buckets the table with."""
    started = time.perf_counter()
    per_bucket = chunk_readings()
    buckets = bucket_count(expected_rows(drop, source, manifest), per_bucket) if readings else 1
    while buckets > 1:
        writer, ragged = _write_buckets(run, key, drop, source, buckets)
        if bucket_count(writer.rows, per_bucket) == buckets:
            return Landed(None, writer, ragged, round(time.perf_counter() - started, 3))
        writer.discard()
        buckets = bucket_count(writer.rows, per_bucket)
    frame = read_source(drop, source)
    ragged = len(frame) - frame["_parse_error"].null_count()
    return Landed(frame, None, ragged, round(time.perf_counter() - started, 3))


def _write_buckets(
    run: LayerRun, key: str, drop: Drop, source: SourceFile, buckets: int
) -> tuple[BucketWriter, int]:
    """The file's rows written block by block to their meters' buckets (closed, not
    published) and the number of ragged rows among them."""
    utility = get_utility(run.utility)
    spec = storage_spec(key, run.utility)
    writer = run.store.open_buckets(key, run.utility, run.month, buckets, spec)
    bucket = meter_bucket(utility.meter_column, buckets)
    ragged = 0
    try:
        for block in iter_source(drop, source):
            ragged += block.height - block["_parse_error"].null_count()
            writer.append(block, bucket)
        writer.close()
    except BaseException:
        writer.discard()
        raise
    return writer, ragged


def _discard(landed: dict[str, Landed]) -> None:
    """Remove the buckets written of tables not published (the step failed before)."""
    for table in landed.values():
        if table.writer is not None:
            table.writer.discard()
