"""Silver: one standardized model for all utilities, with rejects for everything else."""


import dagster as dg
import pandas as pd

from gridflow_assets.codes import reason_code_table
from gridflow_assets.frames import as_pandas
from gridflow_assets.partitions import month_utility_partitions, split_key
from gridflow_assets.registry.tables import BRONZE_TABLES, SILVER
from gridflow_assets.resources import GridflowPaths, table_metadata
from gridflow_assets.silver.vee import VeeInput, apply_vee, delivered_count
from gridflow_assets.utilities import SilverInput, get_utility

# Tables of a month × utility partition; the code table is reference data.
PARTITIONED = {name: spec for name, spec in SILVER.items() if spec.partitioned}


@dg.multi_asset(
    name="silver_tables",
    outs={
        name: dg.AssetOut(
            key=["silver", name], io_manager_key="warehouse_io",
            description=spec.description, group_name="silver",
            metadata=table_metadata(f"silver/{name}"), kinds={"parquet", "pandas"},
            owners=["team:data-engineering"], tags={"layer": "silver"},
        )
        for name, spec in PARTITIONED.items()
    },
    deps=[dg.AssetKey(["bronze", name]) for name in BRONZE_TABLES],
    partitions_def=month_utility_partitions,
)
def silver_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """Run the utility's adapter over its bronze tables, then VEE over its intervals; emit
    silver tables and rejects.

    The silver tables of one partition are produced together: the interval flags (orphan
    service point, orphan meter, effective-dated service point) and VEE's high limits
    (sanctioned load) need all of them. VEE runs here, after every adapter, so every
    utility's intervals are validated and estimated the same way.
    """
    utility_id, month = split_key(context.partition_key)
    utility = get_utility(utility_id)
    store = paths.store()
    bronze = {}
    for name in utility.tables:
        df = store.read_pl(f"bronze/{name}", utility_id, month)
        if df is None:
            raise FileNotFoundError(f"bronze/{name} {utility_id}/{month} is missing: "
                                    "materialize bronze first")
        bronze[name] = df
    out = utility.to_silver(SilverInput(utility=utility_id, month=month,
                                        timezone=utility.timezone, bronze=bronze))
    # Bridge until VEE and the IO manager take Polars frames: the adapters return Polars.
    out.tables = {name: as_pandas(df) for name, df in out.tables.items()}
    out.rejects = as_pandas(out.rejects)
    extra: dict[str, dict] = {}
    if out.tables.get("intervals") is not None:
        vee = apply_vee(out.tables["intervals"], out.tables.get("service_points"),
                        VeeInput(utility_id, month, utility.timezone))
        out.tables["intervals"] = vee.intervals
        extra["intervals"] = {"delivered_rows": delivered_count(vee.intervals),
                              **{f"vee/{k}": v for k, v in vee.counts.items()}}
    for name in PARTITIONED:
        if name == "rejects":
            continue
        df = out.tables.get(name)
        if df is None:
            # Not delivered by this utility (NY: no bills): no data, no partition written,
            # and downstream steps still run.
            yield dg.Output(None, output_name=name, metadata={"delivered": False,
                                                                "dagster/row_count": 0})
        else:
            yield dg.Output(df, output_name=name, metadata={"dagster/row_count": len(df),
                                                            **extra.get(name, {})})
    by_reason = out.rejects.groupby(["target_table", "reason_code"]).size()
    yield dg.Output(out.rejects, output_name="rejects", metadata={
        "dagster/row_count": len(out.rejects),
        **{f"rejects/{t}/{r}": int(n) for (t, r), n in by_reason.items()},
    })


@dg.asset(
    key=["silver", "reason_codes"], description=SILVER["reason_codes"].description,
    group_name="silver", io_manager_key="warehouse_io",
    metadata=table_metadata("silver/reason_codes"), kinds={"parquet", "pandas"},
    owners=["team:data-engineering"], tags={"layer": "silver"},
)
def reason_codes() -> pd.DataFrame:
    """Every reason code and rule id, published as data so a steward can look up any code
    found on any row (also in the data dictionary)."""
    return reason_code_table()
