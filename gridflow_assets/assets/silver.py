"""Silver: one standardized model for all utilities, with rejects for everything else."""

import dagster as dg
import pandas as pd

from gridflow_assets.assets.layer import (
    LayerRun,
    assert_check_order,
    asset_spec,
    table_attributes,
    timed_layer,
    upstream,
)
from gridflow_assets.domain.codes import reason_code_table
from gridflow_assets.registry.partitions import month_utility_partitions
from gridflow_assets.registry.tables import SILVER
from gridflow_assets.silver.adapters import get_utility
from gridflow_assets.silver.pipeline import Readings, readings_source, standardize
from gridflow_assets.store.resources import GridflowPaths

# Tables of a month × utility partition; the code table is reference data. Rejects first:
# the accounting and VEE checks of the other tables read them.
PARTITIONED = ["rejects", *(n for n, s in SILVER.items() if s.partitioned and n != "rejects")]
assert_check_order([f"silver/{name}" for name in PARTITIONED])


@dg.multi_asset(
    name="silver_tables",
    specs=[asset_spec(f"silver/{name}") for name in PARTITIONED],
    partitions_def=month_utility_partitions,
)
@timed_layer
def silver_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """Run the utility's adapter over its bronze tables, then VEE over its intervals; write
    the silver tables and rejects.

    The silver tables of one partition are produced together: the interval flags (orphan
    service point, orphan meter, effective-dated service point) and VEE's high limits
    (sanctioned load) need all of them. VEE runs here, after every adapter, so every
    utility's intervals are validated and estimated the same way.
    """
    run = LayerRun.start(context, paths.store())
    utility = get_utility(run.utility)
    source = readings_source(utility)
    small = {
        name: run.store.read_pl(_bronze_key(run, name), run.utility, run.month)
        for name in utility.tables
        if name != source
    }
    readings = None
    if source is not None:
        key = _bronze_key(run, source)
        scan = run.store.scan(key, run.utility, run.month)
        stored = run.store.bucket_rows(key, run.utility, run.month)
        readings = Readings(
            source,
            sum(stored),
            lambda where: (scan if where is None else scan.filter(where)).collect(),
            stored=lambda: run.store.iter_buckets(key, run.utility, run.month),
            stored_buckets=len(stored),
        )
    # The intervals are written bucket by bucket as VEE finishes each, never gathered.
    intervals = run.bucketed("silver/intervals") if readings is not None else None
    try:
        out = standardize(
            utility, run.month, small, readings, sink=intervals.add if intervals else None
        )
    except BaseException:
        if intervals is not None:
            intervals.discard()
        raise
    extra: dict[str, dict] = {}
    if intervals is not None:
        extra["intervals"] = {
            "delivered_rows": out.delivered_rows,
            **{f"vee/{k}": v for k, v in out.vee_counts.items()},
        }
    by_reason = out.rejects.group_by(["target_table", "reason_code"]).len()
    extra["rejects"] = {f"rejects/{t}/{r}": int(n) for t, r, n in by_reason.iter_rows()}
    del small, readings
    for name in PARTITIONED:
        key, meta = f"silver/{name}", extra.get(name)
        if name == "intervals" and intervals is not None:
            run.publish_buckets(intervals, parents=upstream(key), metadata=meta)
            continue
        df = out.rejects if name == "rejects" else out.tables.get(name)
        run.publish(key, df, parents=upstream(key), metadata=meta)


def _bronze_key(run: LayerRun, name: str) -> str:
    """The key of the partition's bronze table ``name``, which must have been written."""
    key = f"bronze/{name}"
    if not run.store.exists(key, run.utility, run.month):
        raise FileNotFoundError(
            f"{key} {run.utility}/{run.month} is missing: materialize bronze first"
        )
    return key


@dg.asset(**table_attributes("silver/reason_codes", engine="pandas"), io_manager_key="warehouse_io")
def reason_codes() -> pd.DataFrame:
    """Every reason code and rule id, published as data so a steward can look up any code
    found on any row (also in the data dictionary)."""
    return reason_code_table()
