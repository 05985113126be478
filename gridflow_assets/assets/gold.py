"""Gold: the star schema over silver, in one step per partition.

The reference dimensions (utility, date, time) are not partitioned and are built by the
reference job. The partitioned tables are built together, in dependency order, from the
partition's small silver tables held in memory and its intervals read one meter bucket at
a time (fact_readings is written bucket by bucket; dim_meter and the aggregates over the
readings combine what each bucket leaves): each table is written and checked once built, and a table whose in-step parent failed a blocking check is not built. Tables
built from bills or payments are not delivered for utilities that deliver none (the New
York utilities). The logic lives in ``gridflow_assets.gold``; this module only wires it.
"""

import dagster as dg
import polars as pl

from gridflow_assets.assets.layer import (
    BucketedTable,
    LayerRun,
    assert_check_order,
    asset_spec,
    table_attributes,
    timed_layer,
    upstream,
)
from gridflow_assets.gold import aggregates, dims, facts
from gridflow_assets.gold.totals import ReadingTotals
from gridflow_assets.registry import table
from gridflow_assets.registry.partitions import month_utility_partitions
from gridflow_assets.silver.adapters import get_utility
from gridflow_assets.store.pii import load_secret
from gridflow_assets.store.resources import GridflowPaths


def _asset(name: str):
    """An unpartitioned reference dimension, stored by the IO manager."""
    return dg.asset(**table_attributes(f"gold/{name}"), io_manager_key="warehouse_io")


@_asset("dim_utility")
def dim_utility() -> pl.DataFrame:
    """The utility registry as a dimension."""
    return dims.dim_utility()


@_asset("dim_date")
def dim_date() -> pl.DataFrame:
    """Calendar days covering every month the platform partitions, and a margin."""
    return dims.dim_date()


@_asset("dim_time")
def dim_time() -> pl.DataFrame:
    return dims.dim_time()


SILVER_INPUTS = ["service_points", "meters", "bills", "payments"]  # read whole (small)
# The interval columns gold reads (the largest table, one meter bucket at a time: only what
# the facts and dimensions use).
SILVER_COLUMNS = {
    "intervals": [
        c
        for c in table("silver/intervals").column_names
        if c in table("gold/fact_readings").column_names
    ]
}
# The partitioned gold tables in the order they are built and checked (a table's orphan
# checks read the dimensions before it), each with the tables it is built from (silver/… or
# gold/…: what the registry says it reads).
BUILD_ORDER = (
    "dim_location",
    "dim_consumer_type",
    "dim_service_point",
    "dim_service_point_external",
    "dim_meter",
    "fact_readings",
    "fact_bills",
    "fact_payments",
    "agg_monthly_consumption",
    "agg_daily_consumption",
    "agg_consumer_type_summary",
    "agg_payment_summary",
    "agg_location_summary",
)
PARENTS = {name: upstream(f"gold/{name}") for name in BUILD_ORDER}
assert_check_order([f"gold/{name}" for name in PARENTS])
# Built from the intervals' meter buckets, read in one pass before the first of these.
READINGS_PASS = ("dim_meter", "fact_readings")
# Built only when every one of these inputs was delivered (None otherwise).
NEEDS_ALL = {
    "fact_bills": ["silver/bills"],
    "fact_payments": ["silver/payments", "silver/bills"],
    "agg_payment_summary": ["gold/fact_bills", "gold/fact_payments"],
}


def _build(
    name: str, t: dict[str, pl.DataFrame | None], utility: str, secret: bytes
) -> pl.DataFrame | None:
    """One gold table from the frames built so far (``t``: key → frame; the readings'
    tables from what the readings pass gathered: ``reads``, ``totals``)."""
    if any(t.get(k) is None for k in NEEDS_ALL.get(name, [])):
        return None
    if name.startswith("dim_"):
        return _dimension(name, t, utility, secret)
    if name.startswith("fact_"):
        return _fact(name, t)
    return _aggregate(name, t, utility)


def _dimension(name: str, t: dict, utility: str, secret: bytes) -> pl.DataFrame:
    match name:
        case "dim_service_point":
            return dims.dim_service_point(t["silver/service_points"])
        case "dim_service_point_external":
            return dims.dim_service_point_external(t["gold/dim_service_point"], secret)
        case "dim_meter":
            return dims.dim_meter_of(t["silver/meters"], t["reads"], utility)
        case "dim_location":
            return dims.dim_location(t["silver/service_points"])
        case "dim_consumer_type":
            return dims.dim_consumer_type(t["silver/service_points"])
    raise KeyError(name)


def _fact(name: str, t: dict) -> pl.DataFrame:
    match name:
        case "fact_bills":
            return facts.fact_bills(t["silver/bills"], t["gold/dim_service_point"])
        case "fact_payments":
            return facts.fact_payments(t["silver/payments"], t["silver/bills"])
    raise KeyError(name)


def _aggregate(name: str, t: dict, utility: str) -> pl.DataFrame:
    totals = t.get("totals")
    match name:
        case "agg_monthly_consumption":
            return aggregates.agg_monthly_consumption(totals, utility)
        case "agg_daily_consumption":
            return aggregates.agg_daily_consumption(totals, t["gold/dim_service_point"], utility)
        case "agg_consumer_type_summary":
            return aggregates.agg_consumer_type_summary(
                totals,
                t["gold/dim_service_point"],
                t["gold/dim_consumer_type"],
                t.get("gold/fact_bills"),
                utility,
            )
        case "agg_payment_summary":
            return aggregates.agg_payment_summary(t["gold/fact_bills"], t["gold/fact_payments"])
        case "agg_location_summary":
            return aggregates.agg_location_summary(
                totals,
                t["gold/dim_service_point"],
                t["gold/dim_location"],
                t.get("gold/fact_bills"),
                t.get("gold/fact_payments"),
                utility,
            )
    raise KeyError(name)


def _built(blocked: set[str], name: str) -> bool:
    """Whether ``name`` is built: none of its parents failed a blocking check."""
    return not blocked & set(PARENTS[name])


def _read_buckets(
    run: LayerRun, t: dict, fact: BucketedTable | None, dim_service_point: pl.DataFrame | None
) -> None:
    """The readings pass: each meter bucket of silver/intervals becomes a bucket of
    fact_readings (written when ``fact``), and leaves its meters' service points
    (``t["reads"]``) and its partial aggregates (``t["totals"]``; by service point
    attributes only with ``dim_service_point``) for after the last."""
    tz = get_utility(run.utility).timezone
    totals, reads = ReadingTotals(run.utility, dim_service_point), []
    for bucket in run.store.iter_buckets(
        "silver/intervals", run.utility, run.month, columns=SILVER_COLUMNS["intervals"]
    ):
        readings = facts.fact_readings(bucket, tz)
        del bucket
        reads.append(dims.meter_reads(readings))
        totals.add(readings)
        if fact is not None:
            fact.add(readings)
    t["reads"], t["totals"] = pl.concat(reads), totals


@dg.multi_asset(
    name="gold_tables",
    specs=[asset_spec(f"gold/{name}") for name in PARENTS],
    partitions_def=month_utility_partitions,
    can_subset=True,
)
@timed_layer
def gold_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """Build the partition's star schema: dimensions, facts, then aggregates.

    The intervals are read one meter bucket at a time, after the service points'
    dimensions: each bucket of fact_readings is written as it is built, and dim_meter and
    the aggregates keep only what they combine once every bucket is read."""
    run = LayerRun.start(context, paths.store())
    if run.store.bucket_rows("silver/intervals", run.utility, run.month) is None:
        raise FileNotFoundError(
            f"silver/intervals {run.utility}/{run.month} is missing: materialize silver first"
        )
    t: dict = {
        f"silver/{name}": run.store.read_pl(f"silver/{name}", run.utility, run.month)
        for name in SILVER_INPUTS
    }
    secret = load_secret(paths.warehouse)
    selected = {"/".join(k.path) for k in context.selected_asset_keys}
    blocked: set[str] = set()  # failed a blocking check, or built from one that did
    fact = None  # fact_readings while written and not yet published
    try:
        for name, parents in PARENTS.items():
            key = f"gold/{name}"
            if not _built(blocked, name):
                blocked.add(key)
                continue
            if name in READINGS_PASS and "totals" not in t:
                if "gold/fact_readings" in selected:
                    fact = run.bucketed("gold/fact_readings")
                # the aggregates by service point attributes are not built from a blocked one
                dim_sp = (
                    None if "gold/dim_service_point" in blocked else t["gold/dim_service_point"]
                )
                _read_buckets(run, t, fact, dim_sp)
            failed = len(run.failed)
            if name == "fact_readings":
                written, fact = fact, None
                if written is not None:
                    run.publish_buckets(written, parents=parents)
            else:
                t[key] = _build(name, t, run.utility, secret)
                if key in selected:
                    run.publish(key, t[key], parents=parents)
            if len(run.failed) > failed:
                blocked.add(key)
    except BaseException:
        if fact is not None:
            fact.discard()
        raise
