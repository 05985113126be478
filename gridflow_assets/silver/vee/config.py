"""VEE configuration as data: rule parameters per utility and reading type, register pairs,
and the thresholds that grade the ``vee__`` checks.

The tables live beside this module (``silver/vee/tables/vee_*.csv``) so a steward changes
a threshold by editing a row, not code. A parameter row applies to a reading type when each
of its type columns is ``*`` or equal to the type's value; the most specific matching row
wins (utility first, then reading kind, direction, measurement, interval class).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.domain.localday import LOCAL_DAY_MIN_S
from gridflow_assets.domain.reference import reference_table
from gridflow_assets.store.frames import as_polars

# Reading-type columns of vee_rules.csv, most significant first: a row naming the utility
# beats any row that does not, whatever else it names.
MATCH_COLUMNS = ("utility", "reading_kind", "direction", "measurement", "interval")
TYPE_COLUMNS = MATCH_COLUMNS[1:]

NUMERIC = (
    "e1_max_gap_s",
    "like_day_weeks",
    "spike_iqr_factor",
    "spike_min_readings",
    "frozen_run_min",
    "low_limit",
    "high_limit_kw",
    "high_limit_load_factor",
    "estimate",
    "register_tolerance",
)
TEXT = ("expected_days", "register_column", "outage_statuses")
EXPECTED_DAYS = ("delivered_days", "series_span", "month")


def interval_class(interval_s: pl.Expr) -> pl.Expr:
    """``daily`` for reads covering a local day, else ``sub_daily``."""
    return (
        pl.when(interval_s >= LOCAL_DAY_MIN_S).then(pl.lit("daily")).otherwise(pl.lit("sub_daily"))
    )


def _table(name: str) -> pl.DataFrame:
    """A VEE table as text columns."""
    return reference_table("gridflow_assets.silver.vee", "tables", f"{name}.csv")


@cache
def rule_table() -> pl.DataFrame:
    """vee_rules.csv, checked: unknown parameters or modes fail loudly, never silently."""
    rules = _table("vee_rules")
    unknown = set(rules["parameter"]) - set(NUMERIC) - set(TEXT)
    if unknown:
        raise ValueError(f"vee_rules.csv: unknown parameters {sorted(unknown)}")
    defaults = rules.filter(pl.all_horizontal(pl.col(c) == "*" for c in MATCH_COLUMNS))
    missing = (set(NUMERIC) | set(TEXT)) - set(defaults["parameter"])
    if missing:
        raise ValueError(f"vee_rules.csv: no default (all '*') row for {sorted(missing)}")
    modes = set(rules.filter(pl.col("parameter") == "expected_days")["value"])
    if not modes <= set(EXPECTED_DAYS):
        raise ValueError(f"vee_rules.csv: expected_days must be one of {EXPECTED_DAYS}")
    return rules.select(*MATCH_COLUMNS, "parameter", "value")


def params_for(utility: str, types: pl.DataFrame | pd.DataFrame) -> pl.DataFrame:
    """One row per row of ``types`` (columns measurement, direction, reading_kind,
    interval), one column per parameter: numbers as Float64, text as String (null = not
    set). Among the rows matching a type, the most specific wins; on a tie, the later row."""
    rows = tuple(as_polars(types).select(TYPE_COLUMNS).iter_rows())
    return _params(utility, rows)


@cache
def _params(utility: str, rows: tuple[tuple[str, ...], ...]) -> pl.DataFrame:
    """``params_for`` of distinct type rows, kept: every meter chunk of a partition asks
    for the same few reading types."""
    types = pl.DataFrame(list(rows), schema=dict.fromkeys(TYPE_COLUMNS, pl.String), orient="row")
    schema = {**dict.fromkeys(NUMERIC, pl.Float64), **dict.fromkeys(TEXT, pl.String)}
    if types.is_empty():
        return pl.DataFrame(schema=schema)
    rules = rule_table().rename({c: f"{c}_rule" for c in MATCH_COLUMNS})
    cand = (
        types.with_row_index("_type").with_columns(utility=pl.lit(utility)).join(rules, how="cross")
    )
    exact = {c: pl.col(f"{c}_rule") == pl.col(c) for c in MATCH_COLUMNS}
    ok = pl.all_horizontal((exact[c] | (pl.col(f"{c}_rule") == "*")) for c in MATCH_COLUMNS)
    score = pl.sum_horizontal(
        exact[c].cast(pl.Int64) * w for w, c in zip((16, 8, 4, 2, 1), MATCH_COLUMNS, strict=True)
    )
    best = (
        cand.with_row_index("_order")
        .filter(ok)
        .with_columns(_score=score)
        .sort(["_type", "parameter", "_score", "_order"])
        .group_by(["_type", "parameter"])
        .agg(pl.col("value").last())
    )
    wide = best.pivot(on="parameter", index="_type", values="value")
    wide = pl.DataFrame({"_type": pl.arange(0, len(types), eager=True, dtype=pl.UInt32)}).join(
        wide, on="_type", how="left"
    )

    def text(name: str) -> pl.Expr:
        return pl.col(name).replace("", None) if name in wide.columns else pl.lit(None, pl.String)

    return wide.select([text(n).cast(t, strict=True).alias(n) for n, t in schema.items()])


def utility_param(utility: str, name: str) -> str | None:
    """A parameter that holds for the whole utility (the all-types row)."""
    row = pl.DataFrame({c: ["*"] for c in TYPE_COLUMNS})
    return params_for(utility, row)[name][0]


def register_columns(utility: str) -> list[str]:
    """Columns holding a cumulative register beside the value (IESCO ``register_kwh``)
    that any of the utility's reading types may name."""
    rules = rule_table().filter(
        (pl.col("parameter") == "register_column")
        & pl.col("utility").is_in(["*", utility])
        & (pl.col("value") != "")
    )
    return sorted(set(rules["value"]))


def register_pairs(utility: str) -> pl.DataFrame:
    """Interval channels and the register channel whose differences they must equal."""
    pairs = _table("vee_register_pairs")
    return pairs.filter(pl.col("utility") == utility).with_columns(
        pl.col("tolerance").cast(pl.Float64)
    )


def thresholds(utility: str) -> dict[str, tuple[float, float]]:
    """measure -> (warn, error) for the ``vee__`` checks; the utility's row beats ``*``.
    An empty level is NaN: never reached."""
    table = _table("vee_thresholds").filter(pl.col("utility").is_in(["*", utility]))
    rows = (
        table.with_row_index("_order")
        .sort(pl.col("utility") == utility, "_order")
        .group_by("measure")
        .agg(pl.col("warn", "error").last())
    )

    def level(text: str) -> float:
        return float(text) if text != "" else float("nan")

    return {r["measure"]: (level(r["warn"]), level(r["error"])) for r in rows.iter_rows(named=True)}


def grade(measure: str, value: float | None, limits: dict[str, tuple[float, float]]) -> str:
    """``PASS``, ``WARN`` or ``ERROR`` for a measure against its (warn, error) limits: a
    ``*_min`` measure fails below them, a ``*_max`` measure above them; a NaN level is
    never reached (delivered-data problems are WARN unless a utility sets an ERROR level)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "PASS"
    warn, error = limits[measure]
    beyond = (
        (lambda limit: value < limit) if measure.endswith("_min") else (lambda limit: value > limit)
    )
    return "ERROR" if beyond(error) else "WARN" if beyond(warn) else "PASS"
