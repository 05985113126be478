"""A partition's bronze → silver work, whole or in meter buckets.

Every rule an adapter applies to readings (malformed rows, ids, timestamps, duplicates of a
meter and time, orphan meters) and every VEE rule works within one meter: so a large
partition can be cut into buckets of meters, run bucket by bucket through the adapter and
VEE, and give the same silver rows, rejects and VEE counts as the whole partition at once,
with the working memory of one bucket (bronze text, parsing columns, VEE's grid). Only the
silver tables themselves are gathered.

A bucket is a hash of the meter id with everything an adapter could clean away removed
(case, whitespace, a BOM, punctuation, leading zeros): two spellings an adapter reads as the
same meter always fall in the same bucket, so duplicates are found across them as before.
The small tables (service points, meters, bills, payments) are built once, by the first
bucket's run; a later run gets only its readings and the service points and meters already
built (``SilverInput.built``: rebuilding them per bucket made the silver step quadratic in
the meters), and keeps only its readings' silver rows and rejects.

Partitions up to ``GRIDFLOW_CHUNK_READINGS`` readings (default 500,000) run whole, exactly
as before; the order of silver rows in a bucketed partition is bucket by bucket.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import polars as pl

from gridflow_assets.registry import table
from gridflow_assets.silver.adapters.base import SilverInput, Utility
from gridflow_assets.silver.vee import VeeInput, apply_vee, delivered_count

CHUNK_ENV = "GRIDFLOW_CHUNK_READINGS"
CHUNK_READINGS = 500_000
INTERVALS = "intervals"
INTERVAL_PARENTS = (INTERVALS, "service_points", "meters")


def chunk_readings() -> int:
    """Readings per bucket (``GRIDFLOW_CHUNK_READINGS``, a positive integer)."""
    text = os.environ.get(CHUNK_ENV)
    if text is None:
        return CHUNK_READINGS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{CHUNK_ENV} must be a positive integer of readings, not {text!r}")
    return int(text)


def bucket_count(readings: int, per_bucket: int) -> int:
    return max(1, math.ceil(readings / per_bucket))


def meter_bucket(column: str, buckets: int) -> pl.Expr:
    """The bucket (0 … buckets-1) of each row's meter id in ``column``."""
    key = (
        pl.col(column)
        .fill_null("")
        .str.replace_all(r"[^0-9A-Za-z]", "")
        .str.to_uppercase()
        .str.strip_chars_start("0")
    )
    return (key.hash(seed=0) % buckets).cast(pl.Int64)


@dataclass
class Readings:
    """The partition's bronze readings: how many, and how to fetch the rows a filter keeps
    (a lazy scan of the bronze file, so a bucket decodes only its own rows). ``stored``:
    the buckets the bronze table was written in, when it was (read one by one instead)."""

    source: str  # bronze table name
    rows: int
    fetch: Callable[[pl.Expr | None], pl.DataFrame]
    stored: Callable[[], Iterator[pl.DataFrame]] | None = None
    stored_buckets: int = 1

    def buckets(self, meter_column: str, per_bucket: int) -> tuple[int, Iterator[pl.DataFrame]]:
        """How many buckets, and each bucket's rows in turn: the buckets bronze was
        written in, else ``bucket_count`` buckets filtered from the scan."""
        if self.stored is not None and self.stored_buckets > 1:
            return self.stored_buckets, self.stored()
        n = bucket_count(self.rows, per_bucket)
        if n == 1:
            return 1, iter([self.fetch(None)])
        return n, (self.fetch(meter_bucket(meter_column, n) == b) for b in range(n))


@dataclass
class Standardized:
    tables: dict[str, pl.DataFrame]  # silver table -> frame (intervals after VEE)
    rejects: pl.DataFrame
    vee_counts: dict[str, int] = field(default_factory=dict)
    delivered_rows: int = 0
    buckets: int = 1


def _vee(out_tables: dict, utility: Utility, month: str) -> tuple[pl.DataFrame, dict]:
    vee = apply_vee(
        out_tables[INTERVALS],
        out_tables.get("service_points"),
        VeeInput(utility.utility_id, month, utility.timezone),
    )
    return vee.intervals, vee.counts


def standardize(
    utility: Utility,
    month: str,
    small: dict[str, pl.DataFrame],
    readings: Readings | None,
    per_bucket: int | None = None,
    sink: Callable[[pl.DataFrame], None] | None = None,
) -> Standardized:
    """The partition's silver tables and rejects, with VEE run over its intervals: in one
    go up to ``per_bucket`` readings, in meter buckets beyond. With a ``sink``, each
    bucket's intervals go to it as soon as VEE is done with them (and are not gathered:
    ``tables`` then has no intervals)."""
    per_bucket = per_bucket or chunk_readings()
    buckets, frames = 1, iter([None])
    if readings is not None:
        buckets, frames = readings.buckets(utility.meter_column, per_bucket)
    parts: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    counts: dict[str, int] = {}
    tables: dict[str, pl.DataFrame] = {}
    delivered = 0
    for b, frame in enumerate(frames):
        # A later bucket brings only its readings: the service points and meters its
        # intervals are flagged against are the first bucket's (built once, not per bucket).
        bronze = dict(small) if b == 0 else {}
        built = {} if b == 0 else {k: tables[k] for k in INTERVAL_PARENTS[1:] if k in tables}
        if readings is not None:
            bronze[readings.source] = frame
        del frame
        out = utility.to_silver(
            SilverInput(utility.utility_id, month, utility.timezone, bronze, built)
        )
        if b == 0:  # the small tables (the intervals go through VEE below)
            tables = {k: v for k, v in out.tables.items() if k != INTERVALS}
            rejects.append(out.rejects)
        else:
            rejects.append(out.rejects.filter(pl.col("target_table") == INTERVALS))
        if out.tables.get(INTERVALS) is None:
            continue
        intervals, bucket_counts = _vee(out.tables, utility, month)
        delivered += delivered_count(intervals)
        for rule, n in bucket_counts.items():
            counts[rule] = counts.get(rule, 0) + n
        del bronze, out
        if sink is None:
            parts.append(intervals)
        else:
            sink(intervals)
        del intervals
    if parts:
        tables[INTERVALS] = parts[0] if len(parts) == 1 else pl.concat(parts, rechunk=False)
    rejects_all = pl.concat(rejects, how="vertical")
    return Standardized(tables, rejects_all, counts, delivered, buckets)


def readings_source(utility: Utility) -> str | None:
    """The bronze table silver/intervals accounts for, when the utility delivers it."""
    source = utility.source_of(INTERVALS, table(f"silver/{INTERVALS}").source)
    return source if source in utility.sources else None
