"""Configurable resources: where drops land, where the warehouse and reports live, and the
IO manager that stores the unpartitioned tables (Delta Lake, ``warehouse.py``). Dagster
binds them in ``defs/definitions.py``."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from gridflow_assets.store.warehouse import Warehouse


class GridflowPaths(dg.ConfigurableResource):
    """Folders of the platform (see docs/architecture.md; env vars override the defaults)."""

    landing: str
    warehouse: str
    reports: str

    def store(self) -> Warehouse:
        return Warehouse(self.warehouse)


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
