"""Small Polars frames of a registry table, for tests of the Polars logic: give the columns a
test cares about, every other column of the table is null."""

from __future__ import annotations

import polars as pl

from gridflow_assets.registry import table
from gridflow_assets.registry.derive import conform_pl, polars_schema


def frame(key: str, **columns: list) -> pl.DataFrame:
    """Rows of table ``key`` (e.g. ``silver/bills``) in the registry's Polars types."""
    schema = polars_schema(table(key))
    unknown = set(columns) - set(schema)
    assert not unknown, f"{key} has no columns {unknown}"
    n = len(next(iter(columns.values())))
    return pl.DataFrame({name: columns.get(name, [None] * n) for name in schema}, schema=schema)


def time_frame(**overrides: list) -> pl.DataFrame:
    """gold/dim_time, four good rows (``overrides`` replace whole columns)."""
    df = pl.DataFrame(
        {
            "time_key": [0, 15, 30, 45],
            "hour": [0, 0, 0, 0],
            "minute": [0, 15, 30, 45],
            "label": ["00:00", "00:15", "00:30", "00:45"],
            "day_part": ["night"] * 4,
        }
    )
    changed = df.with_columns(**{k: pl.Series(v) for k, v in overrides.items()})
    return conform_pl(changed, table("gold/dim_time"))
