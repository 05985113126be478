"""Per-utility code tables (channels, quality codes) kept as data beside the adapters."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import polars as pl

HERE = Path(__file__).parent / "code_tables"


@cache
def load_pl(name: str) -> pl.DataFrame:
    """A code table, every column as text (empty fields stay empty strings)."""
    return pl.read_csv(HERE / f"{name}.csv", infer_schema=False).with_columns(
        pl.all().fill_null("")
    )


def load(name: str) -> pd.DataFrame:
    """A pandas copy of ``load_pl``, for callers not yet on Polars (vee_config converts it
    back: it can call ``load_pl`` instead)."""
    return load_pl(name).to_pandas()
