"""VEE configuration as data: rule parameters per utility and reading type, register pairs,
and the thresholds that grade the ``vee__`` checks.

The tables live beside the other code tables (``utilities/code_tables/vee_*.csv``) so a
steward changes a threshold by editing a row, not code. A parameter row applies to a
reading type when each of its type columns is ``*`` or equal to the type's value; the most
specific matching row wins (utility first, then reading kind, direction, measurement,
interval class).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from gridflow_assets.utilities import code_tables

# Reading-type columns of vee_rules.csv, most significant first: a row naming the utility
# beats any row that does not, whatever else it names.
MATCH_COLUMNS = ("utility", "reading_kind", "direction", "measurement", "interval")
TYPE_COLUMNS = MATCH_COLUMNS[1:]
DAILY_MIN_S = 82_800  # a local day of daily reads lasts 23, 24 or 25 hours

NUMERIC = ("e1_max_gap_s", "like_day_weeks", "spike_iqr_factor", "spike_min_readings",
           "frozen_run_min", "low_limit", "high_limit_kw", "high_limit_load_factor",
           "estimate", "register_tolerance")
TEXT = ("expected_days", "register_column", "outage_statuses")
EXPECTED_DAYS = ("delivered_days", "series_span", "month")


def interval_class(interval_s: pd.Series) -> np.ndarray:
    """``daily`` for reads covering a local day, else ``sub_daily``."""
    return np.where(interval_s.to_numpy(dtype="float64") >= DAILY_MIN_S, "daily", "sub_daily")


@lru_cache(maxsize=None)
def rule_table() -> pd.DataFrame:
    """vee_rules.csv, checked: unknown parameters or modes fail loudly, never silently."""
    rules = code_tables.load("vee_rules")
    unknown = set(rules.parameter) - set(NUMERIC) - set(TEXT)
    if unknown:
        raise ValueError(f"vee_rules.csv: unknown parameters {sorted(unknown)}")
    defaults = rules[(rules[list(MATCH_COLUMNS)] == "*").all(axis=1)]
    missing = (set(NUMERIC) | set(TEXT)) - set(defaults.parameter)
    if missing:
        raise ValueError(f"vee_rules.csv: no default (all '*') row for {sorted(missing)}")
    modes = set(rules.loc[rules.parameter == "expected_days", "value"])
    if not modes <= set(EXPECTED_DAYS):
        raise ValueError(f"vee_rules.csv: expected_days must be one of {EXPECTED_DAYS}")
    return rules


def params_for(utility: str, types: pd.DataFrame) -> pd.DataFrame:
    """One row per row of ``types`` (columns measurement, direction, reading_kind,
    interval), one column per parameter: numbers as floats (NaN = not set), text as text
    (None = not set)."""
    rules = rule_table()
    out = pd.DataFrame(index=types.index)
    if types.empty:
        for name in (*NUMERIC, *TEXT):
            out[name] = pd.Series(dtype="float64" if name in NUMERIC else "object")
        return out
    typed = types.assign(utility=utility)
    cand = typed.reset_index(names="_type").merge(rules, how="cross", suffixes=("", "_rule"))
    score = np.zeros(len(cand), dtype=np.int64)
    ok = np.ones(len(cand), dtype=bool)
    for weight, col in zip((16, 8, 4, 2, 1), MATCH_COLUMNS, strict=True):
        rule_value = cand[f"{col}_rule"].to_numpy()
        exact = rule_value == cand[col].to_numpy()
        ok &= exact | (rule_value == "*")
        score += np.where(exact, weight, 0)
    cand = cand[ok].assign(_score=score[ok])
    best = cand.sort_values(["_type", "parameter", "_score"], kind="stable") \
        .groupby(["_type", "parameter"]).tail(1)
    wide = best.pivot(index="_type", columns="parameter", values="value")
    for name in NUMERIC:
        out[name] = pd.to_numeric(wide[name].replace("", None), errors="raise").reindex(
            out.index).astype("float64")
    for name in TEXT:
        out[name] = wide[name].replace("", None).reindex(out.index)
    return out


def utility_param(utility: str, name: str) -> str | None:
    """A parameter that holds for the whole utility (the all-types row)."""
    row = pd.DataFrame({"measurement": ["*"], "direction": ["*"], "reading_kind": ["*"],
                        "interval": ["*"]})
    return params_for(utility, row)[name].iloc[0]


def register_pairs(utility: str) -> pd.DataFrame:
    """Interval channels and the register channel whose differences they must equal."""
    pairs = code_tables.load("vee_register_pairs")
    mine = pairs[pairs.utility == utility]
    return mine.assign(tolerance=pd.to_numeric(mine.tolerance).astype("float64"))


def thresholds(utility: str) -> dict[str, tuple[float, float]]:
    """measure -> (warn, error) for the ``vee__`` checks; the utility's row beats ``*``.
    An empty level is NaN: never reached."""
    table = code_tables.load("vee_thresholds")
    rows = table[table.utility.isin(["*", utility])].assign(_own=table.utility == utility)
    rows = rows.sort_values("_own", kind="stable").groupby("measure").tail(1)
    level = lambda text: float(text) if text != "" else float("nan")  # noqa: E731
    return {r.measure: (level(r.warn), level(r.error)) for r in rows.itertuples()}


def grade(measure: str, value: float | None, limits: dict[str, tuple[float, float]]) -> str:
    """``PASS``, ``WARN`` or ``ERROR`` for a measure against its (warn, error) limits: a
    ``*_min`` measure fails below them, a ``*_max`` measure above them; a NaN level is
    never reached (delivered-data problems are WARN unless a utility sets an ERROR level)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "PASS"
    warn, error = limits[measure]
    beyond = (lambda limit: value < limit) if measure.endswith("_min") else \
        (lambda limit: value > limit)
    return "ERROR" if beyond(error) else "WARN" if beyond(warn) else "PASS"
