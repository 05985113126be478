"""Silver: one standardized model for all utilities, with rejects for everything else."""

import dagster as dg
import pandas as pd

from gridflow_assets.assets.layer import LayerRun, assert_check_order, asset_spec, timed_layer
from gridflow_assets.codes import reason_code_table
from gridflow_assets.partitions import month_utility_partitions
from gridflow_assets.registry.tables import BRONZE_TABLES, SILVER
from gridflow_assets.resources import GridflowPaths, table_metadata
from gridflow_assets.silver.vee import VeeInput, apply_vee, delivered_count
from gridflow_assets.utilities import SilverInput, get_utility

BRONZE_KEYS = [f"bronze/{name}" for name in BRONZE_TABLES]
# Tables of a month × utility partition; the code table is reference data. Rejects first:
# the accounting and VEE checks of the other tables read them.
PARTITIONED = ["rejects", *(n for n, s in SILVER.items() if s.partitioned and n != "rejects")]
assert_check_order([f"silver/{name}" for name in PARTITIONED])


@dg.multi_asset(
    name="silver_tables",
    specs=[asset_spec(f"silver/{name}", deps=BRONZE_KEYS) for name in PARTITIONED],
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
    bronze = {}
    for name in utility.tables:
        df = run.store.read_pl(f"bronze/{name}", run.utility, run.month)
        if df is None:
            raise FileNotFoundError(
                f"bronze/{name} {run.utility}/{run.month} is missing: materialize bronze first"
            )
        bronze[name] = df
    out = utility.to_silver(
        SilverInput(utility=run.utility, month=run.month, timezone=utility.timezone, bronze=bronze)
    )
    extra: dict[str, dict] = {}
    if out.tables.get("intervals") is not None:
        vee = apply_vee(
            out.tables["intervals"],
            out.tables.get("service_points"),
            VeeInput(run.utility, run.month, utility.timezone),
        )
        out.tables["intervals"] = vee.intervals
        extra["intervals"] = {
            "delivered_rows": delivered_count(vee.intervals),
            **{f"vee/{k}": v for k, v in vee.counts.items()},
        }
    by_reason = out.rejects.group_by(["target_table", "reason_code"]).len()
    extra["rejects"] = {f"rejects/{t}/{r}": int(n) for t, r, n in by_reason.iter_rows()}
    for name in PARTITIONED:
        df = out.rejects if name == "rejects" else out.tables.get(name)
        yield from run.publish(f"silver/{name}", df, parents=BRONZE_KEYS, metadata=extra.get(name))


@dg.asset(
    key=["silver", "reason_codes"],
    description=SILVER["reason_codes"].description,
    group_name="silver",
    io_manager_key="warehouse_io",
    metadata=table_metadata("silver/reason_codes"),
    kinds={"parquet", "pandas"},
    owners=["team:data-engineering"],
    tags={"layer": "silver"},
)
def reason_codes() -> pd.DataFrame:
    """Every reason code and rule id, published as data so a steward can look up any code
    found on any row (also in the data dictionary)."""
    return reason_code_table()
