"""VEE editing: what the rules and estimates leave on the rows, and nothing silently.

A delivered row keeps its delivered value in ``value_original`` and its code in
``quality_code_original`` (the adapter set both); VEE rewrites ``value`` and
``quality_code`` only where an estimate replaced a failed reading or a rule failed it, and
appends the ids of the rules that fired to ``rule_ids`` in ``ROW_RULES`` order. A missing
interval that was estimated is added as a new row with no ``source_row`` and no original.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.store.frames import as_polars

METHODS = ("interpolated", "like_day_profile", "scaled_to_register")  # method codes 1, 2, 3
VALIDATION_RULES = ("V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9")
ESTIMATION_RULES = ("E1", "E2", "E3", "E4")
# Order in which VEE appends its ids to a row's rule_ids (after the adapter's ids).
ROW_RULES = ("V3", "V4", "V5", "V6", "V7", "V8", "QUALITY_FAILED", "V1", "E1", "E2", "E3", "E4")
# Columns an added row does not inherit from the delivered row it takes its names from.
NOT_INHERITED = (
    "value_original",
    "quality_code_original",
    "status",
    "voltage_v",
    "current_a",
    "power_factor",
    "frequency_hz",
    "last_update_utc",
    "source_file",
    "source_row",
)


def delivered_count(df: pl.DataFrame | pd.DataFrame) -> int:
    """Rows that came from a landed row. Estimates VEE added did not land, so the row
    accounting (landed = kept + duplicates + rejected) counts only rows with a
    ``source_row``."""
    df = as_polars(df)
    if "source_row" not in df.columns:
        return len(df)
    return len(df) - df["source_row"].null_count()


def rule_bits(flags: dict[str, np.ndarray], n: int) -> np.ndarray:
    """One int per row with bit ``i`` set when rule ``ROW_RULES[i]`` fired on it."""
    bits = np.zeros(n, dtype=np.int32)
    for i, rule in enumerate(ROW_RULES):
        if rule in flags:
            bits |= flags[rule].astype(np.int32) << i
    return bits


def compose_rules(existing: pl.Series, bits: np.ndarray) -> pl.Series:
    """``existing`` with the ids of ``bits`` appended (';'-separated, ``ROW_RULES`` order);
    rows without a bit are untouched. The text is built once per distinct combination and
    only flagged rows are rewritten."""
    rows = np.flatnonzero(bits)
    old = existing.cast(pl.String).alias("rule_ids")
    if not len(rows):
        return old
    combos, which = np.unique(bits[rows], return_inverse=True)
    text = pl.Series(
        [";".join(r for i, r in enumerate(ROW_RULES) if int(b) >> i & 1) for b in combos],
        dtype=pl.String,
    )
    frame = pl.DataFrame({"old": old.gather(rows), "add": text.gather(which)})
    new = frame.select(
        pl.when(pl.col("old").is_null() | (pl.col("old") == ""))
        .then(pl.col("add"))
        .otherwise(pl.col("old") + ";" + pl.col("add"))
    ).to_series()
    return old.clone().scatter(rows, new)


def method_names(codes: np.ndarray) -> pl.Series:
    """``estimation_method`` from method codes (0: not estimated, 1..3: ``METHODS``)."""
    return (
        pl.Series(codes.astype(np.int8))
        .replace_strict(
            pl.Series([1, 2, 3], dtype=pl.Int8),
            pl.Series(METHODS),
            default=None,
            return_dtype=pl.String,
        )
        .alias("estimation_method")
    )


def rule_counts(rule_ids: pl.Series | pd.Series) -> dict[str, int]:
    """Rows per rule id (a ';'-separated list per row), counted over distinct lists."""
    if isinstance(rule_ids, pd.Series):
        rule_ids = pl.from_pandas(rule_ids.astype("object"))
    counts: dict[str, int] = {}
    combos = rule_ids.cast(pl.String).drop_nulls().value_counts(name="n")
    for ids, n in combos.iter_rows():
        for rule in ids.split(";"):
            if rule:
                counts[rule] = counts.get(rule, 0) + int(n)
    return dict(sorted(counts.items()))


def edited(
    df: pl.DataFrame, value: np.ndarray, quality: np.ndarray, bits: np.ndarray, method: np.ndarray
) -> pl.DataFrame:
    """The delivered rows after VEE: new ``value`` and ``quality_code`` (NaN = null),
    rule ids appended, estimates marked. Unchanged columns are shared, not copied."""
    return df.with_columns(
        pl.Series("value", value, nan_to_null=True).cast(df.schema["value"]),
        pl.Series("quality_code", quality, nan_to_null=True).cast(df.schema["quality_code"]),
        compose_rules(df["rule_ids"], bits).cast(df.schema["rule_ids"]),
        pl.Series("is_estimated", method > 0),
        method_names(method),
    )


@dataclass
class Additions:
    """Missing intervals VEE estimated, to be added as rows: the delivered row each takes
    its names from (``src_rows``), instants in epoch seconds, local days since epoch."""

    src_rows: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    day: np.ndarray
    value: np.ndarray
    registers: np.ndarray  # NaN = null
    quality: np.ndarray
    method: np.ndarray
    bits: np.ndarray

    @classmethod
    def concat(cls, parts: list[Additions]) -> Additions:
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))


def added_rows(df: pl.DataFrame, a: Additions) -> pl.DataFrame:
    """Rows for missing intervals that were estimated: names, service point and orphan
    flags from the series' nearest delivered row; no source row; no original value."""
    schema = df.schema

    def instants(seconds: np.ndarray, name: str) -> pl.Series:
        return (
            pl.Series(name, seconds * 1_000_000).cast(pl.Datetime("us", "UTC")).cast(schema[name])
        )

    n = len(a.src_rows)
    return df[a.src_rows].with_columns(
        pl.Series("interval_s", a.end_s - a.start_s).cast(schema["interval_s"]),
        instants(a.start_s, "start_utc"),
        instants(a.end_s, "end_utc"),
        pl.Series("local_date", a.day.astype(np.int32)).cast(pl.Date).cast(schema["local_date"]),
        pl.Series("value", a.value).cast(schema["value"]),
        pl.Series("quality_code", a.quality).cast(schema["quality_code"]),
        pl.Series("register_kwh", a.registers, nan_to_null=True).cast(schema["register_kwh"]),
        compose_rules(pl.Series([None] * n, dtype=pl.String), a.bits).cast(schema["rule_ids"]),
        pl.Series("is_estimated", np.ones(n, dtype=bool)),
        method_names(a.method),
        *(pl.lit(None, schema[c]).alias(c) for c in NOT_INHERITED if c in schema),
    )
