"""Configurable resources: where drops land, where the warehouse and reports live, and the
IO manager that stores the unpartitioned tables (Delta Lake, ``warehouse.py``)."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from gridflow_assets.registry import table
from gridflow_assets.registry.derive import column_schema
from gridflow_assets.registry.model import Table
from gridflow_assets.registry.tables import bronze_for_source
from gridflow_assets.silver.adapters import delivers, get_utility
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


class DeltaIOManager(dg.ConfigurableIOManager):
    """Stores the unpartitioned tables (reference dimensions, reason codes, dq) as Delta
    tables, each written whole in one commit (none when its bytes did not change).

    Month × utility tables do not pass through an IO manager: each layer's step writes and
    checks them itself (``assets/layer.py``) and downstream layers read the warehouse.
    """

    warehouse: str

    def _key(self, context: dg.OutputContext | dg.InputContext) -> str:
        if context.has_asset_partitions:
            raise TypeError(
                f"{context.asset_key.to_user_string()} is partitioned: its layer step writes "
                "it and readers use the warehouse (Warehouse.read_pl), not an IO manager"
            )
        return "/".join(context.asset_key.path)

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | None) -> None:
        if obj is None:
            return
        key = self._key(context)
        store = Warehouse(self.warehouse)
        uri = store.write(key, obj)
        context.add_output_metadata(
            {
                "dagster/uri": uri,
                "dagster/table_name": key.replace("/", "."),
                "delta_version": store.version(key),
                "dagster/row_count": len(obj),
            }
        )

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        key = self._key(context)
        df = Warehouse(self.warehouse).read(key)
        if df is None:
            raise FileNotFoundError(f"{key} has not been materialized yet")
        return df


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
