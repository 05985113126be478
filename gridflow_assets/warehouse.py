"""The Parquet warehouse on disk: hive-style partition folders, atomic partition swaps.

``<root>/<layer>/<table>/utility=<U>/month=<YYYY-MM>/part-0.parquet`` for month × utility
tables, ``<root>/<layer>/<table>/part-0.parquet`` for the others. A partition is one file
written aside and moved into place with ``os.replace``, so a reader sees the old partition or
the new one, never half of either, and a rerun replaces exactly that partition.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from gridflow_assets.registry import Table, table
from gridflow_assets.registry.derive import (
    arrow_of,
    conform_pl,
    from_arrow,
    stored_schema,
    to_arrow,
)

PART_FILE = "part-0.parquet"
ROW_GROUP_ROWS = 262_144


class Warehouse:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def table_dir(self, key: str) -> Path:
        layer, name = key.split("/")
        return self.root / layer / name

    def partition_path(
        self, key: str, utility: str | None = None, month: str | None = None
    ) -> Path:
        base = self.table_dir(key)
        if utility is None:
            return base / PART_FILE
        return base / f"utility={utility}" / f"month={month}" / PART_FILE

    def write(
        self,
        key: str,
        df: pd.DataFrame | pl.DataFrame | pa.Table,
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> Path:
        """Write one partition atomically; returns its path."""
        return self.write_table(key, df, utility, month, spec)[0]

    def write_table(
        self,
        key: str,
        df: pd.DataFrame | pl.DataFrame | pa.Table,
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> tuple[Path, pa.Table]:
        """Write one partition atomically; returns its path and the Arrow table stored (what
        a reader gets back, for checks that run on it without reading the file again)."""
        arrow = to_arrow(df, spec or table(key))
        return self.write_arrow(arrow, self.partition_path(key, utility, month)), arrow

    def write_frame(
        self,
        key: str,
        frame: pl.DataFrame,
        utility: str | None = None,
        month: str | None = None,
        spec: Table | None = None,
    ) -> Path:
        """Write one partition atomically from a Polars frame, one row group at a time: only
        one row group's Arrow copy exists besides the frame (the file is the one
        ``write_table`` writes, byte for byte)."""
        spec = spec or table(key)
        frame = conform_pl(frame, spec)
        schema = stored_schema(frame, spec)
        parts = (arrow_of(part, schema) for part in frame.iter_slices(ROW_GROUP_ROWS))
        if frame.height <= ROW_GROUP_ROWS:
            parts = iter([arrow_of(frame, schema)])
        return self._write_parts(parts, schema, self.partition_path(key, utility, month))

    @staticmethod
    def write_arrow(arrow: pa.Table, path: Path) -> Path:
        return Warehouse._write_parts(iter([arrow]), arrow.schema, path)

    @staticmethod
    def _write_parts(parts: Iterator[pa.Table], schema: pa.Schema, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
        try:
            # Dictionary-encoded, zstd-compressed row groups of 256k rows: small files that
            # DuckDB and pyarrow scan fast; no wall-clock metadata so reruns are byte-identical.
            with pq.ParquetWriter(tmp, schema, compression="zstd", write_statistics=True) as writer:
                for part in parts:
                    writer.write_table(part, row_group_size=ROW_GROUP_ROWS)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def exists(self, key: str, utility: str | None = None, month: str | None = None) -> bool:
        return self.partition_path(key, utility, month).exists()

    def read(
        self,
        key: str,
        utility: str | None = None,
        month: str | None = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame | None:
        """One partition as a pandas frame (for people and reports), or None when never
        written."""
        arrow = self.read_arrow(key, utility, month, columns)
        return None if arrow is None else from_arrow(arrow)

    def read_pl(
        self,
        key: str,
        utility: str | None = None,
        month: str | None = None,
        columns: list[str] | None = None,
    ) -> pl.DataFrame | None:
        """One partition as a Polars frame (the engine's form), or None when never written.
        Polars' own reader: the text lands as Polars strings directly, without an Arrow
        copy to convert (same frame as ``pl.from_arrow(read_arrow(...))``, tested)."""
        path = self.partition_path(key, utility, month)
        return pl.read_parquet(path, columns=columns) if path.exists() else None

    def read_arrow(
        self,
        key: str,
        utility: str | None = None,
        month: str | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table | None:
        """One partition's file as Arrow (no hive columns added), or None when never
        written."""
        path = self.partition_path(key, utility, month)
        return pq.ParquetFile(path).read(columns=columns) if path.exists() else None

    def scan(
        self, key: str, utility: str | None = None, month: str | None = None
    ) -> pl.LazyFrame | None:
        """One partition as a lazy Polars scan (for work that streams or needs few columns)."""
        path = self.partition_path(key, utility, month)
        return pl.scan_parquet(path) if path.exists() else None

    def partitions(self, key: str) -> list[tuple[str, str]]:
        """``(utility, month)`` of every partition of a table on disk, sorted."""
        base = self.table_dir(key)
        found = []
        for path in base.glob(f"utility=*/month=*/{PART_FILE}"):
            utility = path.parent.parent.name.removeprefix("utility=")
            month = path.parent.name.removeprefix("month=")
            found.append((utility, month))
        return sorted(found)

    def read_all(self, key: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Every partition of a table, with ``utility`` and ``month`` columns added."""
        spec: Table = table(key)
        if not spec.partitioned:
            df = self.read(key, columns=columns)
            return df if df is not None else pd.DataFrame(columns=columns or spec.column_names)
        frames = []
        for utility, month in self.partitions(key):
            df = self.read(key, utility, month, columns=columns)
            frames.append(df.assign(utility=utility, month=month))
        if not frames:
            return pd.DataFrame(columns=(columns or spec.column_names) + ["utility", "month"])
        return pd.concat(frames, ignore_index=True)

    def row_count(self, key: str, utility: str | None = None, month: str | None = None) -> int:
        path = self.partition_path(key, utility, month)
        return pq.ParquetFile(path).metadata.num_rows if path.exists() else 0
