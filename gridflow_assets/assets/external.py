"""External: the published views of a partition, materialized only once a data steward has
approved it (``dq/signoff.py``), and the partition's Green Button files.

The step refuses a partition without an approval in force (never approved, sent back, void,
or changed since): the run fails with one line saying who must sign it off. Tables are
written and checked like every layer's (``assets/layer.py``), then committed; the Green
Button files are written beside them, under ``external/green_button/utility=U/month=M/``.
Withdrawing a partition is ``defs/publishing.py``'s job.
"""

import tempfile
from pathlib import Path

import dagster as dg

from gridflow_assets.assets.layer import LayerRun, asset_spec, layer_attributes, timed_layer
from gridflow_assets.dq.signoff import approval
from gridflow_assets.external import views
from gridflow_assets.publish.green_button import write_feeds
from gridflow_assets.registry.partitions import month_utility_partitions
from gridflow_assets.store.pii import load_secret
from gridflow_assets.store.resources import GridflowPaths
from gridflow_assets.store.warehouse import Warehouse

SPECS = ("external/usage_daily", "external/usage_intervals", "external/billing_summary")
GREEN_BUTTON = "external/green_button"


def green_button_dir(store: Warehouse, utility: str, month: str) -> str:
    """The partition's Green Button folder inside the warehouse's filesystem."""
    store.partition_dir("external/usage_daily", utility, month)  # validates the names
    return store.loc.path("external", "green_button", f"utility={utility}", f"month={month}")


def remove_green_button(store: Warehouse, utility: str, month: str) -> int:
    """Delete the partition's Green Button files; returns how many there were."""
    found = [f for f in store.loc.listing(green_button_dir(store, utility, month)) if f.is_file]
    for f in found:
        store.loc.fs.delete_file(f.path)
    return len(found)


def publish_green_button(store: Warehouse, utility: str, month: str) -> int:
    """The partition's feeds, one per service point, replacing the ones there; returns how
    many were written."""
    folder = green_button_dir(store, utility, month)
    with tempfile.TemporaryDirectory(prefix="gridflow-gb-") as tmp:
        written = write_feeds(store, utility, month, Path(tmp))
        keep = {p.name for p in written}
        for f in store.loc.listing(folder):
            if f.is_file and f.base_name not in keep:
                store.loc.fs.delete_file(f.path)
        for p in written:
            store.loc.put(f"{folder}/{p.name}", p.read_bytes())
    return len(written)


GREEN_BUTTON_SPEC = dg.AssetSpec(
    **layer_attributes(GREEN_BUTTON, "external", {"xml"}),
    description="Green Button (ESPI) Atom feeds, one per service point of an approved "
    "partition: <warehouse>/external/green_button/utility=U/month=M/<service_point_key>.xml. "
    "Files, not a table; publishing writes them, withdrawal deletes them.",
    deps=[
        dg.AssetKey(["silver", "intervals"]),
        dg.AssetKey(["gold", "dim_service_point_external"]),
    ],
    skippable=True,
)


@dg.multi_asset(
    name="external_tables",
    specs=[*(asset_spec(key) for key in SPECS), GREEN_BUTTON_SPEC],
    partitions_def=month_utility_partitions,
)
@timed_layer
def external_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """The partition's external views, if it is approved; else the run fails saying so."""
    run = LayerRun.start(context, paths.store())
    decision, why = approval(run.store, run.utility, run.month)
    if decision is None:
        raise dg.Failure(description=why)
    secret = load_secret(paths.warehouse)
    store, u, m = run.store, run.utility, run.month
    sp = store.read_pl("gold/dim_service_point_external", u, m)
    daily = store.read_pl("experience/daily_summaries", u, m)
    readings = store.read_pl("gold/fact_readings", u, m)
    if sp is None or daily is None or readings is None:
        raise FileNotFoundError(f"{u}/{m}: gold and experience must be built before publishing")
    meta = {"approved_by": decision["steward"], "decision_id": decision["decision_id"]}
    run.publish("external/usage_daily", views.usage_daily(daily, sp, secret), metadata=meta)
    run.publish("external/usage_intervals", views.usage_intervals(readings, secret), metadata=meta)
    bills = store.read_pl("gold/fact_bills", u, m)
    summary = None if bills is None else views.billing_summary(bills, sp, secret)
    run.publish("external/billing_summary", summary, metadata=meta)
    files = publish_green_button(store, u, m)
    folder = store.loc.uri(green_button_dir(store, u, m))
    run.report(GREEN_BUTTON, {**meta, "files": files, "dagster/uri": folder})
    context.log.info(f"{u} {m}: {files} Green Button file(s) written")


EXTERNAL_ASSETS = [external_tables]
