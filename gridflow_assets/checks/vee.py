"""The ``vee__`` checks of ``silver/intervals``: what VEE found and did in a partition.

Pure functions over the stored partition (a Polars frame; a pandas one is converted at
entry) and its rejects, returning a ``GradedResult``:
counts by rule, coverage, estimated share, a sample of rows, and a severity graded against
``silver/vee/tables/vee_thresholds.csv`` (PASS / WARN / ERROR). They describe what a
utility delivered, so the checks never block downstream assets; ERROR says the partition
is not fit for billing sign-off. ``PLANS``: the checks that run them, by the table they
cover, meter bucket by meter bucket (every figure is a count that adds up over buckets:
VEE's series are meter × channel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.checks.plan import WARN, CheckInput, CheckPlan, bucket_plan, same_partition
from gridflow_assets.checks.rules import SAMPLE_ROWS, RuleResult
from gridflow_assets.domain.quality import ESTIMATES
from gridflow_assets.silver.adapters import get_utility
from gridflow_assets.silver.vee import (
    ESTIMATION_RULES,
    METHODS,
    VALIDATION_RULES,
    VeeInput,
    coverage,
    coverage_counts,
    coverage_total,
    rule_counts,
)
from gridflow_assets.silver.vee import config as vee_config
from gridflow_assets.store.frames import as_pandas, as_polars

FAILING_RULES = ("V3", "V4", "V5", "V6", "QUALITY_FAILED")
SAMPLE_COLUMNS = [
    "meter_id",
    "channel",
    "start_utc",
    "local_date",
    "value",
    "value_original",
    "quality_code",
    "rule_ids",
    "estimation_method",
]


@dataclass
class GradedResult(RuleResult):
    """A rule result whose severity depends on how far a measure is from its thresholds."""

    severity: str = "WARN"


def _has_rule(rule_ids: pl.Series, rules: tuple[str, ...]) -> np.ndarray:
    """Rows whose rule_ids list one of ``rules`` (decided once per distinct list)."""
    lists = [
        ids for ids in rule_ids.drop_nulls().unique() if any(p in rules for p in ids.split(";"))
    ]
    return rule_ids.is_in(pl.Series(lists, dtype=pl.String).implode()).fill_null(False).to_numpy()


def _delivered(df: pl.DataFrame) -> np.ndarray:
    return df["source_row"].is_not_null().to_numpy()


def _sample(df: pl.DataFrame, mask: np.ndarray) -> pl.DataFrame:
    """A few of the rows at issue in one bucket, copied: a slice of the filtered bucket
    would keep every row at issue (and the bucket's text) alive for as long as the tally
    is kept, i.e. until the last bucket, so memory grew with the partition."""
    cols = [c for c in SAMPLE_COLUMNS if c in df.columns]
    first = df.filter(pl.Series(mask)).select(cols).head(SAMPLE_ROWS)
    return pl.DataFrame(first.to_dicts(), schema=first.schema, orient="row")


def _samples(tallies: list[dict]) -> pd.DataFrame:
    """The first rows at issue over the buckets, in bucket order, for the steward (pandas:
    where a person reads them)."""
    frames = [t["sample"] for t in tallies if t["sample"].height] or [tallies[0]["sample"]]
    return as_pandas(pl.concat(frames, how="vertical_relaxed").head(SAMPLE_ROWS))


def _summed(tallies: list[dict], name: str) -> dict:
    """Counts by key (a rule, a method, a channel) added up over the buckets."""
    total: dict = {}
    for t in tallies:
        for k, n in t[name].items():
            total[k] = total.get(k, 0) + n
    return total


def _graded(
    measures: dict[str, float | None],
    limits: dict[str, tuple[float, float]],
    failed: int,
    total: int,
    sample: pd.DataFrame,
    details: dict,
) -> GradedResult:
    grades = {m: vee_config.grade(m, v, limits) for m, v in measures.items()}
    worst = (
        "ERROR" if "ERROR" in grades.values() else "WARN" if "WARN" in grades.values() else "PASS"
    )

    def level(x: float) -> float | None:
        return None if np.isnan(x) else x  # JSON has no NaN

    details = {
        **details,
        "measures": measures,
        "grades": grades,
        "thresholds": {
            m: {"warn": level(limits[m][0]), "error": level(limits[m][1])} for m in measures
        },
    }
    return GradedResult(
        worst == "PASS",
        failed,
        total,
        sample,
        details,
        severity="ERROR" if worst == "ERROR" else "WARN",
    )


def _duplicates(rejects: pl.DataFrame | pd.DataFrame | None) -> dict[str, int]:
    """V2: interval rows the adapter set aside as exact and as conflicting repeats."""
    rejects = as_polars(rejects)
    if rejects is None or rejects.is_empty():
        return {}
    mine = rejects.filter(pl.col("target_table") == "intervals")["category"]
    return {
        "exact": int((mine == "duplicate_exact").sum()),
        "conflicting": int((mine == "duplicate_conflicting").sum()),
    }


def by_rule(rows: dict[str, int], duplicates: int, cov: dict) -> dict[str, int]:
    """Count of every VEE rule in the partition: V1 missing intervals, V2 duplicates set
    aside, V3–V8 and E1–E4 rows carrying the id (``rows``: ``rule_counts``), V9 expected
    days not covered."""
    counts = {rule: rows.get(rule, 0) for rule in VALIDATION_RULES + ESTIMATION_RULES}
    counts["V1"] = cov["missing_intervals"]
    counts["V2"] = duplicates
    counts["V9"] = cov["expected_days"] - cov["covered_days"]
    return counts


def validation_tally(df: pl.DataFrame | pd.DataFrame) -> dict:
    """What ``validation`` counts in one meter bucket."""
    df = as_polars(df)
    delivered = _delivered(df)
    failing = _has_rule(df["rule_ids"], FAILING_RULES) & delivered
    return {
        "failing": int(failing.sum()),
        "delivered": int(delivered.sum()),
        "rules": rule_counts(df["rule_ids"]),
        "sample": _sample(df, failing),
    }


def validation_found(
    tallies: list[dict], rejects: pl.DataFrame | pd.DataFrame | None, inp: VeeInput, cov: dict
) -> GradedResult:
    """``validation`` of the partition whose buckets gave ``tallies``."""
    n = sum(t["delivered"] for t in tallies)
    failing = sum(t["failing"] for t in tallies)
    rows = _summed(tallies, "rules")
    dup = _duplicates(rejects)
    details = {
        "by_rule": by_rule(rows, sum(dup.values()), cov),
        "V2_duplicates": dup,
        "delivered_failed": rows.get("QUALITY_FAILED", 0),
        "delivered_rows": n,
    }
    return _graded(
        {"failed_share_max": failing / n if n else None},
        vee_config.thresholds(inp.utility),
        failing,
        n,
        _samples(tallies),
        details,
    )


def validation(
    df: pl.DataFrame | pd.DataFrame,
    rejects: pl.DataFrame | pd.DataFrame | None,
    inp: VeeInput,
    cov: dict | None = None,
) -> GradedResult:
    """V1–V9: readings that failed validation (V3–V6, or delivered as failed) are the
    failures; details hold the count of every rule (the DQ scorecard reads them).
    ``cov``: the partition's ``coverage``, when the caller has it already."""
    cov = cov if cov is not None else coverage(df, inp)
    return validation_found([validation_tally(df)], rejects, inp, cov)


def coverage_check(
    df: pl.DataFrame | pd.DataFrame | None, inp: VeeInput, cov: dict | None = None
) -> GradedResult:
    """V1/V9: share of expected intervals delivered, and share of expected days covered
    (at least half their intervals delivered); 23- and 25-hour days counted apart."""
    cov = cov if cov is not None else coverage(df, inp)
    missing = cov["missing_intervals"]
    return _graded(
        {
            "interval_coverage_min": cov["interval_coverage"],
            "day_coverage_min": cov["day_coverage"],
        },
        vee_config.thresholds(inp.utility),
        missing,
        cov["expected_intervals"],
        pd.DataFrame(),
        cov,
    )


def estimation_tally(df: pl.DataFrame | pd.DataFrame) -> dict:
    """What ``estimation`` counts in one meter bucket."""
    df = as_polars(df)
    ours = df["is_estimated"].fill_null(False).to_numpy()
    any_estimate = df["quality_code"].is_in(list(ESTIMATES)).fill_null(False).to_numpy()
    delivered = _delivered(df)
    return {
        "rows": len(df),
        "ours": int(ours.sum()),
        "any_estimate": int(any_estimate.sum()),
        "added": int((ours & ~delivered).sum()),
        "edited": int((ours & delivered).sum()),
        "by_utility": int((any_estimate & ~ours).sum()),
        "rules": rule_counts(df["rule_ids"]),
        "methods": dict(df["estimation_method"].drop_nulls().value_counts(name="n").iter_rows()),
        "sample": _sample(df, ours),
    }


def estimation_found(tallies: list[dict], inp: VeeInput) -> GradedResult:
    """``estimation`` of the partition whose buckets gave ``tallies``."""
    n = sum(t["rows"] for t in tallies)
    ours = sum(t["ours"] for t in tallies)
    any_estimate = sum(t["any_estimate"] for t in tallies)
    rows, methods = _summed(tallies, "rules"), _summed(tallies, "methods")
    details = {
        "by_rule": {rule: rows.get(rule, 0) for rule in ESTIMATION_RULES},
        "by_method": {m: int(methods.get(m, 0)) for m in METHODS},
        "estimated_by_vee": ours,
        "added_rows": sum(t["added"] for t in tallies),
        "edited_rows": sum(t["edited"] for t in tallies),
        "estimated_by_utility": sum(t["by_utility"] for t in tallies),
        "estimated_share": any_estimate / n if n else None,
    }
    return _graded(
        {"estimated_share_max": details["estimated_share"]},
        vee_config.thresholds(inp.utility),
        ours,
        n,
        _samples(tallies),
        details,
    )


def estimation(df: pl.DataFrame | pd.DataFrame, inp: VeeInput) -> GradedResult:
    """E1–E4: readings estimated by VEE (added or edited), by rule and method, and the
    share of all estimated readings (quality 8/9, by the utility or by VEE)."""
    return estimation_found([estimation_tally(df)], inp)


def register_tally(df: pl.DataFrame | pd.DataFrame) -> dict:
    """What ``register_consistency`` counts in one meter bucket."""
    df = as_polars(df)
    interval = (df["reading_kind"] == "interval").fill_null(False).to_numpy() & _delivered(df)
    mismatch = _has_rule(df["rule_ids"], ("V7",)) & interval
    by_channel = df.filter(pl.Series(mismatch))["channel"].value_counts(name="n")
    return {
        "interval": int(interval.sum()),
        "mismatch": int(mismatch.sum()),
        "channels": {str(k): int(v) for k, v in by_channel.iter_rows()},
        "sample": _sample(df, mismatch),
    }


def register_found(tallies: list[dict], inp: VeeInput) -> GradedResult:
    """``register_consistency`` of the partition whose buckets gave ``tallies``."""
    n = sum(t["interval"] for t in tallies)
    mismatch = sum(t["mismatch"] for t in tallies)
    return _graded(
        {"register_mismatch_share_max": mismatch / n if n else None},
        vee_config.thresholds(inp.utility),
        mismatch,
        n,
        _samples(tallies),
        {"by_channel": dict(sorted(_summed(tallies, "channels").items()))},
    )


def register_consistency(df: pl.DataFrame | pd.DataFrame, inp: VeeInput) -> GradedResult:
    """V7: interval readings whose value disagrees with the register difference across
    them (IESCO register_kwh, UTILITY2 register channels)."""
    return register_found([register_tally(df)], inp)


def _context(inp: CheckInput) -> VeeInput:
    return VeeInput(inp.utility, inp.month, get_utility(inp.utility).timezone)


def _coverage(inp: CheckInput) -> dict:
    """V1/V9 counts of the bucket, computed once for the two checks that report them."""
    if "vee_coverage" not in inp.memo:
        inp.memo["vee_coverage"] = coverage_counts(inp.df, _context(inp))
    return inp.memo["vee_coverage"]


def _validation_tally(inp: CheckInput) -> dict:
    return {**validation_tally(inp.df), "coverage": _coverage(inp)}


def _validation(inp: CheckInput, tallies: list[dict]) -> GradedResult:
    rejects = same_partition(inp, "silver/rejects", ["target_table", "category"])
    cov = coverage_total([t["coverage"] for t in tallies])
    return validation_found(tallies, rejects, _context(inp), cov)


PLANS: dict[str, list[CheckPlan]] = {
    "silver/intervals": [
        bucket_plan(
            "vee__validation",
            "vee",
            WARN,
            "V1-V9: readings failing validation (V3-V6 or delivered as failed) and "
            "the count of every VEE rule",
            _validation_tally,
            _validation,
            deps=("silver/rejects",),
        ),
        bucket_plan(
            "vee__coverage",
            "vee",
            WARN,
            "V1/V9: expected intervals delivered and days covered (half their "
            "intervals; 23/25-hour days counted)",
            _coverage,
            lambda inp, tallies: coverage_check(None, _context(inp), coverage_total(tallies)),
        ),
        bucket_plan(
            "vee__estimation",
            "vee",
            WARN,
            "E1-E4: readings estimated, by rule and method, and the estimated share",
            lambda inp: estimation_tally(inp.df),
            lambda inp, tallies: estimation_found(tallies, _context(inp)),
        ),
        bucket_plan(
            "vee__register_consistency",
            "vee",
            WARN,
            "V7: interval values equal the register difference across them",
            lambda inp: register_tally(inp.df),
            lambda inp, tallies: register_found(tallies, _context(inp)),
        ),
    ],
}
