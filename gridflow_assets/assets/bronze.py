"""Bronze: every landed row of a complete drop, as delivered (text) plus lineage."""


import time

import dagster as dg

from gridflow_assets.landing import find_drop, read_source, verify_manifest
from gridflow_assets.partitions import month_utility_partitions, split_key
from gridflow_assets.registry.tables import BRONZE, BRONZE_TABLES
from gridflow_assets.resources import GridflowPaths, table_metadata
from gridflow_assets.utilities import get_utility


@dg.multi_asset(
    name="bronze_tables",
    outs={
        name: dg.AssetOut(
            key=["bronze", name], io_manager_key="warehouse_io",
            description=BRONZE[name].description, group_name="bronze",
            metadata=table_metadata(f"bronze/{name}"), kinds={"parquet", "csv"},
            owners=["team:data-engineering"], tags={"layer": "bronze"},
        )
        for name in BRONZE_TABLES
    },
    partitions_def=month_utility_partitions,
    can_subset=True,
)
def bronze_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """Read the partition's drop: manifest first, then every file, and only then emit.

    All files are read before any output is yielded, so a drop with one unreadable file
    changes nothing in the warehouse. A utility that does not deliver a table (the New York
    utilities send no bills) gets no partition of it: the output carries no data, the IO
    manager writes nothing, and the checks of that table report nothing for the partition.
    """
    utility_id, month = split_key(context.partition_key)
    utility = get_utility(utility_id)
    drop = find_drop(paths.landing, utility_id, month)
    verify_manifest(drop)
    frames = {}
    for name, source in utility.sources.items():
        if name not in context.selected_output_names:
            continue
        started = time.perf_counter()
        frames[name] = read_source(drop, source)
        context.log.info(f"{drop.name}/{source.filename}: {len(frames[name]):,} rows in "
                         f"{time.perf_counter() - started:.2f}s")
    for name in context.selected_output_names:
        if name not in frames:
            # Not delivered by this utility: emit no data (no partition folder is written)
            # so downstream steps still run; the metadata says why it is empty.
            yield dg.Output(None, output_name=name, metadata={
                "delivered": False, "dagster/row_count": 0, "drop": drop.name})
    for name, df in frames.items():
        ragged = len(df) - df["_parse_error"].null_count()
        yield dg.Output(df, output_name=name, metadata={
            "dagster/row_count": len(df), "source_file": utility.sources[name].filename,
            "ragged_rows": ragged, "drop": drop.name,
        })
