"""Silver: one standardized model for all utilities, with rejects for everything else."""


import dagster as dg

from gridflow_assets.partitions import month_utility_partitions, split_key
from gridflow_assets.registry.tables import BRONZE_TABLES, SILVER
from gridflow_assets.resources import GridflowPaths, table_metadata
from gridflow_assets.utilities import SilverInput, get_utility


@dg.multi_asset(
    name="silver_tables",
    outs={
        name: dg.AssetOut(
            key=["silver", name], io_manager_key="warehouse_io",
            description=spec.description, group_name="silver",
            metadata=table_metadata(f"silver/{name}"), kinds={"parquet", "pandas"},
            owners=["team:data-engineering"], tags={"layer": "silver"},
        )
        for name, spec in SILVER.items()
    },
    deps=[dg.AssetKey(["bronze", name]) for name in BRONZE_TABLES],
    partitions_def=month_utility_partitions,
)
def silver_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """Run the utility's adapter over its bronze tables; emit silver tables and rejects.

    The silver tables of one partition are produced together: the interval flags (orphan
    service point, orphan meter, effective-dated service point) need all of them.
    """
    utility_id, month = split_key(context.partition_key)
    utility = get_utility(utility_id)
    store = paths.store()
    bronze = {}
    for name in utility.tables:
        df = store.read(f"bronze/{name}", utility_id, month)
        if df is None:
            raise FileNotFoundError(f"bronze/{name} {utility_id}/{month} is missing: "
                                    "materialize bronze first")
        bronze[name] = df
    out = utility.to_silver(SilverInput(utility=utility_id, month=month,
                                        timezone=utility.timezone, bronze=bronze))
    for name in SILVER:
        if name == "rejects":
            continue
        df = out.tables.get(name)
        if df is None:
            # Not delivered by this utility (NY: no bills): no data, no partition written,
            # and downstream steps still run.
            yield dg.Output(None, output_name=name, metadata={"delivered": False,
                                                                "dagster/row_count": 0})
        else:
            yield dg.Output(df, output_name=name, metadata={"dagster/row_count": len(df)})
    by_reason = out.rejects.groupby(["target_table", "reason_code"]).size()
    yield dg.Output(out.rejects, output_name="rejects", metadata={
        "dagster/row_count": len(out.rejects),
        **{f"rejects/{t}/{r}": int(n) for (t, r), n in by_reason.items()},
    })
