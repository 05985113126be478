"""Coverage (V1/V9): how much of the grid's expected intervals arrived.

Coverage counts delivered readings only: intervals VEE added are estimates. A day is
**covered** when at least half its intervals are present (CalTRACK). Two meanings of
"expected days" are in use and give different figures, so each has its own function:
``coverage`` (VEE: the days each utility's ``expected_days`` mode expects) and
``month_coverage`` (DQ profile: every day of the month for every series seen).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.domain.localday import month_days
from gridflow_assets.silver.vee.grid import (
    JUDGED_KINDS,
    VeeInput,
    build_grid,
    expected_intervals,
    intervals_per_day,
    nominal_interval,
)
from gridflow_assets.store.frames import as_polars

EMPTY_COVERAGE = {
    "expected_intervals": 0,
    "present_intervals": 0,
    "missing_intervals": 0,
    "interval_coverage": None,
    "expected_days": 0,
    "covered_days": 0,
    "day_coverage": None,
    "incomplete_days": 0,
    "series": 0,
    "series_below_half": 0,
    "days_by_length": {},
}


def coverage(df: pl.DataFrame | pd.DataFrame, inp: VeeInput) -> dict:
    """V1 and V9 as VEE sees them (the days each series is expected on follow the
    utility's ``expected_days`` mode): expected and present intervals, days covered, and
    the series-days by length (23/24/25-hour days). Delivered readings only."""
    return coverage_total([coverage_counts(df, inp)])


def coverage_counts(df: pl.DataFrame | pd.DataFrame, inp: VeeInput) -> dict:
    """The counts ``coverage`` is made of, for a frame holding whole series (a meter
    bucket): every count adds up over buckets, so ``coverage_total`` of the buckets' counts
    is the partition's coverage."""
    df = as_polars(df)
    counts = dict.fromkeys(_SUMMED, 0) | {"days_by_length": {}}
    if df.is_empty():
        return counts
    e = expected_intervals(build_grid(df, inp))
    found = np.minimum(e.found, e.expected)
    s_found = np.bincount(e.sid, weights=found)
    s_expected = np.bincount(e.sid, weights=e.expected)
    in_series = s_expected > 0
    hours = e.day_len // 3600
    counts.update(
        expected_intervals=int(e.expected.sum()),
        present_intervals=int(found.sum()),
        expected_days=len(e.sid),
        covered_days=int((found >= 0.5 * e.expected).sum()),
        incomplete_days=int((found < e.expected).sum()),
        series=int(in_series.sum()),
        series_below_half=int((s_found < 0.5 * s_expected)[in_series].sum()),
        days_by_length={
            int(h): (
                int((hours == h).sum()),
                int(e.expected[hours == h].sum()),
                int(found[hours == h].sum()),
            )
            for h in np.unique(hours)
        },
    )
    return counts


_SUMMED = (
    "expected_intervals",
    "present_intervals",
    "expected_days",
    "covered_days",
    "incomplete_days",
    "series",
    "series_below_half",
)


def coverage_total(parts: list[dict]) -> dict:
    """``coverage`` from the ``coverage_counts`` of the buckets of a partition."""
    total = {k: sum(p[k] for p in parts) for k in _SUMMED}
    by_length: dict[int, list[int]] = {}
    for part in parts:
        for h, figures in part["days_by_length"].items():
            by_length[h] = [
                a + b for a, b in zip(by_length.get(h, [0, 0, 0]), figures, strict=True)
            ]
    expected, present, days = (
        total["expected_intervals"],
        total["present_intervals"],
        total["expected_days"],
    )
    if not days:
        return {**EMPTY_COVERAGE, "days_by_length": {}}
    return {
        "expected_intervals": expected,
        "present_intervals": present,
        "missing_intervals": expected - present,
        "interval_coverage": present / expected if expected else None,
        "expected_days": days,
        "covered_days": total["covered_days"],
        "day_coverage": total["covered_days"] / days,
        "incomplete_days": total["incomplete_days"],
        "series": total["series"],
        "series_below_half": total["series_below_half"],
        "days_by_length": {
            f"{h} h": {
                "series_days": n,
                "expected_intervals": exp,
                "present_intervals": pres,
            }
            for h, (n, exp, pres) in sorted(by_length.items())
        },
    }


def month_coverage(
    iv: pl.DataFrame | pd.DataFrame | Iterable[pl.DataFrame], month: str, tz: str
) -> dict:
    """Coverage as the DQ profile reports it (not VEE's figures): ``interval_coverage`` =
    readings present / expected inside the local days each series delivered (a gap inside
    a day); ``day_coverage`` = days with at least half their readings over every day of
    the month for every series seen (a day not delivered at all counts). Series are meter
    × channel × nominal interval; delivered interval and register readings only.

    ``iv``: the partition's intervals, or its meter buckets one after another (each
    series is within one bucket, so the readings per series-day of the buckets add up)."""
    days = month_days(month, tz)
    if isinstance(iv, pl.DataFrame | pd.DataFrame):
        iv = [iv]
    parts = [_present(bucket, days) for bucket in iv]
    return _month_coverage(pl.concat(parts) if parts else pl.DataFrame(), days)


def _present(iv: pl.DataFrame | pd.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """Readings present and expected per series and local day of the month."""
    known = (
        as_polars(iv)
        .lazy()
        .filter(
            pl.col("source_row").is_not_null()
            & pl.col("reading_kind").is_in(JUDGED_KINDS)
            & pl.col("local_date").cast(pl.Date).is_in(days["local_date"].implode())
        )
    )
    return (
        known.group_by(
            "meter_id",
            "channel",
            nominal_interval(pl.col("interval_s")).alias("interval_s"),
            pl.col("local_date").cast(pl.Date),
        )
        .agg(present=pl.len())
        .join(days.lazy(), on="local_date", how="left")
        .with_columns(expected=intervals_per_day(pl.col("day_s"), pl.col("interval_s")))
        .collect()
    )


def _month_coverage(present: pl.DataFrame, days: pl.DataFrame) -> dict:
    if present.is_empty():
        return {
            "interval_coverage": None,
            "day_coverage": None,
            "series": 0,
            "channels_with_gaps": 0,
            "days_in_month": len(days),
        }
    series = ["meter_id", "channel", "interval_s"]
    n_series = present.select(series).n_unique()
    gappy = present.filter(pl.col("present") < pl.col("expected")).select(series).n_unique()
    found = present.select(pl.min_horizontal("present", "expected")).to_series().sum()
    covered = int((present["present"] >= 0.5 * present["expected"]).sum())
    return {
        "interval_coverage": float(found / present["expected"].sum()),
        "day_coverage": covered / (n_series * len(days)),
        "series": n_series,
        "channels_with_gaps": gappy,
        "days_in_month": len(days),
    }
