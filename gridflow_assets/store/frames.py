"""The engine's frame type at module boundaries.

Per-partition work runs on Polars frames (Arrow memory). While the layers move to Polars one
by one, a function that may still receive a pandas frame converts it here, once, at its
entry; pandas stays only where a person meets the data (examples, notebook helpers).
"""

from __future__ import annotations

import pandas as pd
import polars as pl

from gridflow_assets.registry import table
from gridflow_assets.registry.derive import polars_schema


def as_polars(df: pl.DataFrame | pd.DataFrame | None) -> pl.DataFrame | None:
    """A Polars frame of ``df`` (None stays None; a Polars frame is returned as is)."""
    if df is None or isinstance(df, pl.DataFrame):
        return df
    return pl.from_pandas(df)


def as_pandas(df: pl.DataFrame | pd.DataFrame | None) -> pd.DataFrame | None:
    """A pandas frame of ``df``, for where a person reads the data (None stays None)."""
    if df is None or isinstance(df, pd.DataFrame):
        return df
    return df.to_pandas()


def as_polars_typed(df: pl.DataFrame | pd.DataFrame | None, key: str) -> pl.DataFrame | None:
    """``as_polars``, with the columns the registry declares for table ``key`` cast to their
    Polars types: a pandas frame carries dates as datetimes and timestamps in ns, and a
    function joining it with a frame read as Polars must see one type per column."""
    out = as_polars(df)
    if out is None:
        return None
    schema = polars_schema(table(key))
    return out.with_columns(
        pl.col(n).cast(t) for n, t in schema.items() if n in out.columns and out.schema[n] != t
    )
