"""Configurable resources: where drops land, where the warehouse and reports live, and the
IO manager that stores every table as hive-partitioned Parquet."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from gridflow_assets.partitions import split_key
from gridflow_assets.registry import table
from gridflow_assets.registry.derive import column_schema
from gridflow_assets.registry.model import Table
from gridflow_assets.registry.tables import bronze_for_source
from gridflow_assets.utilities import delivers, get_utility
from gridflow_assets.warehouse import Warehouse


class GridflowPaths(dg.ConfigurableResource):
    """Folders of the platform (see docs/architecture.md; env vars override the defaults)."""

    landing: str
    warehouse: str
    reports: str

    def store(self) -> Warehouse:
        return Warehouse(self.warehouse)


def storage_spec(key: str, utility: str | None) -> Table:
    """The registry table to store ``key`` with: bronze tables take the utility's columns."""
    spec = table(key)
    if spec.layer == "bronze" and utility is not None:
        source = get_utility(utility).sources[spec.name]
        return bronze_for_source(spec.name, source.columns, source.pii_columns)
    return spec


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


def _parents(context: dg.OutputContext) -> list[str]:
    """Upstream asset keys (layer/name) of the asset being stored, from the job's graph."""
    node = context.step_context.job_def.asset_layer.get(context.asset_key)
    return sorted("/".join(k.path) for k in node.parent_keys)


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores each partition as one Parquet file, swapped in atomically.

    Outputs of runs over several partitions at once may be a dict of partition key → frame.
    """

    warehouse: str

    def _key(self, context) -> str:
        return "/".join(context.asset_key.path)

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | dict | None) -> None:
        if obj is None:
            return
        key = self._key(context)
        store = Warehouse(self.warehouse)
        if not context.has_asset_partitions:
            path = store.write(key, obj)
            context.add_output_metadata({"path": str(path), "dagster/row_count": len(obj)})
            return
        frames = obj if isinstance(obj, dict) else {context.asset_partition_key: obj}
        rows = 0
        for pkey, frame in frames.items():
            utility, month = split_key(pkey)
            spec = storage_spec(key, utility)
            store.write(key, frame, utility, month, spec=spec)
            rows += len(frame)
        meta = {"dagster/row_count": rows, "path": str(store.table_dir(key))}
        if len(frames) == 1:
            lineage = column_lineage(key, _parents(context), utility)
            if lineage is not None:
                meta["dagster/column_lineage"] = lineage
        context.add_output_metadata(meta)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | dict:
        key = self._key(context)
        store = Warehouse(self.warehouse)
        if not context.has_asset_partitions:
            df = store.read(key)
            if df is None:
                raise FileNotFoundError(f"{key} has not been materialized yet")
            return df
        keys = context.asset_partition_keys
        frames = {}
        for pkey in keys:
            utility, month = split_key(pkey)
            df = store.read(key, utility, month)
            if df is None and not delivered(key, utility):
                frames[pkey] = None  # the utility does not deliver what this table needs
                continue
            if df is None:
                raise FileNotFoundError(
                    f"{key} partition {utility}/{month} has not been materialized yet"
                )
            frames[pkey] = df
        return frames[keys[0]] if len(keys) == 1 else frames


def delivered(key: str, utility: str) -> bool:
    """Whether ``utility`` delivers the bronze tables ``key`` is built from."""
    return delivers(utility, table(key).requires)


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
