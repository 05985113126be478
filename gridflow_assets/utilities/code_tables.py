"""Per-utility code tables (channels, quality codes) kept as data beside the adapters."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent / "code_tables"


@lru_cache(maxsize=None)
def load(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / f"{name}.csv", dtype=str, keep_default_na=False)
