"""What a reading means for usage: quality codes that decide whether a value counts.

Gold aggregates, the daily summaries and the DQ profile all ask the same questions (did a
reading fail validation, was it estimated, is it usage at all), so the answers live here
once, as Polars expressions over the registry's interval columns.
"""

from __future__ import annotations

import polars as pl

from gridflow_assets.domain.quality import ESTIMATES, Quality

# What makes readings addable: values of different types are never summed together.
TYPE_KEYS = ["measurement", "direction", "interval_s", "unit"]


def unresolved(utility: str) -> str:
    """Service point that gathers readings whose service point is unknown."""
    return f"{utility}:UNRESOLVED"


def in_time_order(col: str) -> pl.Expr:
    """``col`` in the order its readings were measured (``start_utc``; ties as delivered).
    Inside a group (a meter's readings) it sorts that group only, never a copy of the
    partition."""
    return pl.col(col).sort_by("start_utc", maintain_order=True)


def is_failed() -> pl.Expr:
    """The reading failed validation (a missing quality code is not a failure)."""
    return pl.col("quality_code").eq_missing(int(Quality.FAILED))


def is_estimated() -> pl.Expr:
    return pl.col("quality_code").is_in([int(q) for q in ESTIMATES]).fill_null(False)


def is_known_interval() -> pl.Expr:
    """An interval (not register) reading of a known quantity: something that may be added."""
    return pl.col("reading_kind").eq_missing("interval") & pl.col("measurement").ne_missing(
        "unknown"
    )


def is_usage() -> pl.Expr:
    """Known interval readings that passed validation: the values usage totals add up."""
    return is_known_interval() & ~is_failed()
