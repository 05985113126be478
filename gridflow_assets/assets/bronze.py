"""Bronze: every landed row of a complete drop, as delivered (text) plus lineage."""

import time

import dagster as dg

from gridflow_assets.assets.layer import LayerRun, asset_spec, timed_layer
from gridflow_assets.landing import find_drop, read_source, verify_manifest
from gridflow_assets.partitions import month_utility_partitions
from gridflow_assets.registry.tables import BRONZE_TABLES
from gridflow_assets.resources import GridflowPaths
from gridflow_assets.utilities import get_utility

KEYS = {f"bronze/{name}": name for name in BRONZE_TABLES}


@dg.multi_asset(
    name="bronze_tables",
    specs=[asset_spec(key) for key in KEYS],
    partitions_def=month_utility_partitions,
    can_subset=True,
)
@timed_layer
def bronze_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """Read the partition's drop: manifest first, then every file, and only then write.

    All files are read before any table is written, so a drop with one unreadable file
    changes nothing in the warehouse. A utility that does not deliver a table (the New York
    utilities send no bills) gets no partition of it.
    """
    run = LayerRun.start(context, paths.store())
    utility = get_utility(run.utility)
    drop = find_drop(paths.landing, run.utility, run.month)
    verify_manifest(drop)
    selected = {"/".join(k.path) for k in context.selected_asset_keys}
    frames, seconds = {}, {}
    for key, name in KEYS.items():
        if key in selected and name in utility.sources:
            started = time.perf_counter()
            frames[key] = read_source(drop, utility.sources[name])
            seconds[key] = round(time.perf_counter() - started, 3)
    for key, name in KEYS.items():
        if key not in selected:
            continue
        df = frames.get(key)
        meta = {"drop": drop.name}
        if df is not None:
            meta.update(
                {
                    "source_file": utility.sources[name].filename,
                    "read_seconds": seconds[key],
                    "ragged_rows": len(df) - df["_parse_error"].null_count(),
                }
            )
        yield from run.publish(key, df, metadata=meta)
