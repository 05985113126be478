"""Keys into the date and time dimensions, and the registry's shape of every output table."""

from __future__ import annotations

import polars as pl

from gridflow_assets.registry import table
from gridflow_assets.registry.derive import conform_pl


def date_key(col: str | pl.Expr) -> pl.Expr:
    """A date (or local datetime) as YYYYMMDD, the key of ``gold/dim_date``."""
    e = pl.col(col) if isinstance(col, str) else col
    year, month, day = (part.cast(pl.Int64) for part in (e.dt.year(), e.dt.month(), e.dt.day()))
    return year * 10000 + month * 100 + day


def time_key(col: str | pl.Expr) -> pl.Expr:
    """A local datetime's minute of the day as HHMM, the key of ``gold/dim_time``."""
    e = pl.col(col) if isinstance(col, str) else col
    return e.dt.hour().cast(pl.Int64) * 100 + e.dt.minute().cast(pl.Int64)


def shaped(df: pl.DataFrame, name: str) -> pl.DataFrame:
    """Exactly the registry's columns of ``gold/<name>`` (or of a full key such as
    ``experience/daily_summaries``), in order and type; helper columns are left behind."""
    key = name if "/" in name else f"gold/{name}"
    return conform_pl(df.select(table(key).column_names), table(key))
