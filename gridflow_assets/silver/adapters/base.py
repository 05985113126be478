"""What a utility is to the platform: identity, time zone, delivered files, and one
function turning its bronze tables into the common silver model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from gridflow_assets.store.landing import SourceFile


@dataclass(frozen=True)
class SilverInput:
    utility: str
    month: str
    timezone: str
    bronze: dict[str, pl.DataFrame]  # bronze table name -> frame (only delivered tables)
    # silver tables already built from this partition's small files: a later meter bucket
    # brings only its readings, and the adapter takes its service points and meters from here
    built: dict[str, pl.DataFrame] = field(default_factory=dict)

    def table(self, name: str, build: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        """The silver table ``name``: as already built for this partition, else ``build()``."""
        frame = self.built.get(name)
        return build() if frame is None else frame


@dataclass
class SilverOutput:
    # silver table name -> frame (rejects excluded), typed as the registry says
    tables: dict[str, pl.DataFrame]
    rejects: pl.DataFrame


@dataclass(frozen=True)
class Utility:
    """One entry of the utility registry. Adding a utility = one of these + its adapter."""

    utility_id: str
    name: str
    country: str
    timezone: str
    currency: str | None
    vocabulary: str
    sources: dict[str, SourceFile]  # bronze table -> delivered file
    to_silver: Callable[[SilverInput], SilverOutput]
    expected_delivery_day: int = 10  # day of the following month the drop is due
    # silver table -> bronze table it accounts for, where it differs from the registry's
    # default (IESCO's service points come from its meters file)
    silver_sources: dict[str, str] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    # the bronze readings column naming the meter: every per-meter rule keys on it, and a
    # large partition is processed in buckets of it (``silver.pipeline``)
    meter_column: str = "meter_id"

    @property
    def tables(self) -> list[str]:
        return list(self.sources)

    def source_of(self, silver_table: str, default: str | None) -> str | None:
        """The bronze table whose rows ``silver_table`` must account for."""
        return self.silver_sources.get(silver_table, default)
