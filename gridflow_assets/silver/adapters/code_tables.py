"""Per-utility code tables (channels, quality codes) kept as data beside the adapters."""

from __future__ import annotations

import polars as pl

from gridflow_assets.domain.reference import reference_table


def load_pl(name: str) -> pl.DataFrame:
    """A code table, every column as text (empty fields stay empty strings)."""
    return reference_table("gridflow_assets.silver.adapters", "code_tables", f"{name}.csv")


def mapping(name: str, value: str) -> dict[str, str]:
    """A code table's ``code`` → ``value`` column."""
    t = load_pl(name)
    return dict(zip(t["code"].to_list(), t[value].to_list(), strict=True))
