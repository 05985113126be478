"""The schema registry: one declaration per table, everything else generated from it."""

from __future__ import annotations

from gridflow_assets.registry.billing import BILLING
from gridflow_assets.registry.dq import DQ
from gridflow_assets.registry.external import EXTERNAL
from gridflow_assets.registry.gold import EXPERIENCE, GOLD
from gridflow_assets.registry.model import Column, ForeignKey, Table
from gridflow_assets.registry.tables import BRONZE, SILVER

TABLES: dict[str, Table] = {
    t.key: t
    for group in (BRONZE, SILVER, GOLD, BILLING, EXPERIENCE, DQ, EXTERNAL)
    for t in group.values()
}


# Layers of utility data: partitioned tables of these the DQ layer judges.
DATA_LAYERS = ("bronze", "silver", "gold", "experience")


def data_tables() -> dict[str, Table]:
    """Partitioned registry tables that hold utility data (the dq layer judges them)."""
    return {k: t for k, t in TABLES.items() if t.partitioned and t.layer in DATA_LAYERS}


def table(key: str) -> Table:
    """Look a table up by ``layer/name``."""
    try:
        return TABLES[key]
    except KeyError:
        raise KeyError(f"no table {key!r} in the registry; known: {sorted(TABLES)}") from None


__all__ = ["DATA_LAYERS", "TABLES", "Column", "ForeignKey", "Table", "data_tables", "table"]
